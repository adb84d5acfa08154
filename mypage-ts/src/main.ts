// mypage in TypeScript: a customer's page built from the shop's events, on the same contracts,
// components and sidecar as the Go mypage (MYPAGE=ts picks it for make run and the tests).
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { MyPage } from "./app.js";
import { Guard } from "./auth.js";
import { ConfigError, loadConfig, redacted } from "./config.js";
import { DeadLetters } from "./deadletters.js";
import { grpcServer } from "./grpc.js";
import { server } from "./http.js";
import { log, setLevel } from "./log.js";
import type { Refusal } from "./problem.js";
import { Sidecar } from "./sidecar.js";
import { Store } from "./store.js";
import { Subscriber } from "./subscriber.js";

async function main(): Promise<void> {
  const cfg = loadConfig();
  setLevel(cfg.logLevel);
  log.info("configuration", redacted(cfg));
  const guard = new Guard({
    jwks: cfg.authJwks,
    issuer: cfg.authIssuer,
    audience: cfg.authAudience,
    algorithms: cfg.authAlgorithms,
    leewayS: cfg.authLeewayS,
  });
  const sidecar = new Sidecar(cfg.daprHost, cfg.daprHttpPort, cfg.daprApiToken, cfg.stateStore);
  await waitForSidecar(sidecar, cfg.daprWaitMs);

  const store = new Store(sidecar);
  const app = new MyPage(store);
  const subscriber = new Subscriber(app);
  const deadLetters = new DeadLetters(store, (body) => subscriber.handle(body));
  let stopping = false;
  const ready = async (): Promise<Refusal | undefined> => {
    try {
      await sidecar.get("readiness-probe", 2000);
      return undefined;
    } catch (err) {
      return { status: 503, slug: "not-ready", title: "Not ready", detail: `state store ${cfg.stateStore}: ${err instanceof Error ? err.message : err}` };
    }
  };

  const http = server({ app, guard, subscriber, deadLetters, appApiToken: cfg.appApiToken, ready, stopping: () => stopping });
  http.requestTimeout = 15_000;
  http.headersTimeout = 5_000;
  http.keepAliveTimeout = 120_000;
  const grpc = grpcServer(app, guard, fileURLToPath(new URL("./contracts/mypage.proto", import.meta.url)));
  await new Promise<void>((resolve, reject) => http.once("error", reject).listen(cfg.port, () => resolve()));
  log.info("listening", { addr: `:${cfg.port}` });
  await grpc.start(cfg.grpcPort);
  log.info("listening (gRPC)", { addr: `:${cfg.grpcPort}` });

  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  // Not ready at once, so that no new work is routed here; serve what still comes for
  // SHUTDOWN_DELAY, then until the sidecar has stopped (it forwards invocations and events
  // until then), then drain: the last two within SHUTDOWN_DRAIN.
  log.info("shutting down");
  stopping = true;
  const grpcStopped = grpc.stop(cfg.shutdownDrainMs);
  await sleep(cfg.shutdownDelayMs);
  const until = Date.now() + cfg.shutdownDrainMs;
  for (;;) {
    if (await sidecar.stopped()) {
      log.info("the Dapr sidecar has stopped");
      break;
    }
    if (Date.now() > until) {
      log.warn("stopping while the Dapr sidecar still answers");
      break;
    }
    await sleep(250);
  }
  const drained = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeIdleConnections();
  await Promise.race([Promise.all([drained, grpcStopped]), sleep(Math.max(0, until - Date.now()))]);
  http.closeAllConnections();
  log.info("stopped");
}

// waitForSidecar waits until the sidecar's API answers, for at most waitMs.
async function waitForSidecar(sidecar: Sidecar, waitMs: number): Promise<void> {
  const until = Date.now() + waitMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    if (await sidecar.answers()) return;
    if (Date.now() > until) throw new Error(`the Dapr sidecar did not answer within ${waitMs / 1000}s`);
    await sleep(wait);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`mypage: ${err instanceof ConfigError ? "configuration: " : ""}${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  },
);
