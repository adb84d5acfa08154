// mypage's HTTP API: the public REST paths (mypage/api/openapi.yaml), the event routes only the
// sidecar may call, the operators' dead letters, the probes and the metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { MyPage } from "./app.js";
import { fromSidecar, type Guard } from "./auth.js";
import type { DeadLetters } from "./deadletters.js";
import { internal, refusalOf } from "./door.js";
import { maxEventBytes } from "./events.js";
import { inTrace, log } from "./log.js";
import { httpDuration, httpRequests, registry } from "./metrics.js";
import { sendJSON, sendProblem, type Refusal } from "./problem.js";
import type { Subscriber } from "./subscriber.js";
import { newTrace, traceOf } from "./trace.js";

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  path: string; // decoded
  vars: string[];
  query: URLSearchParams;
}

interface Route {
  method: string;
  template: string; // as the metrics label it
  pattern: RegExp;
  serve: (r: Request) => Promise<void>;
}

export interface Deps {
  app: MyPage;
  guard: Guard;
  subscriber: Subscriber;
  deadLetters: DeadLetters;
  appApiToken: string;
  ready: () => Promise<Refusal | undefined>; // undefined when ready
  stopping: () => boolean;
}

const segment = "([^/]+)";

export function routes(d: Deps): Route[] {
  const route = (method: string, template: string, serve: Route["serve"]): Route => ({
    method,
    template,
    pattern: new RegExp("^" + template.replace(/\{[^}]+\}/g, segment) + "$"),
    serve,
  });
  const sidecarOnly = (serve: Route["serve"]): Route["serve"] => async (r) => {
    if (!fromSidecar(r.req.headers["dapr-api-token"], d.appApiToken)) {
      log.warn("call without the app API token refused", { method: r.req.method, path: r.path, remote: r.req.socket.remoteAddress });
      sendProblem(r.res, { status: 403, slug: "forbidden", title: "Forbidden", detail: "Only the Dapr sidecar may call this route." }, r.path);
      return;
    }
    await serve(r);
  };
  const event = (topic: string) =>
    sidecarOnly(async (r) => sendJSON(r.res, 200, { status: await d.subscriber.deliver(topic, await body(r.req)) }));
  const probe = async (r: Request, refusal: Refusal | undefined) =>
    refusal ? sendProblem(r.res, refusal, r.path) : sendJSON(r.res, 200, { status: "ready" });

  return [
    route("GET", "/mypage/{customerId}/orders", async (r) => {
      const who = await d.guard.principal(r.req.headers.authorization);
      const { orders, next } = await d.app.page(who, r.vars[0], r.query.get("cursor") ?? "");
      const page: Record<string, unknown> = { customerId: r.vars[0], orders };
      if (next) page.nextCursor = next;
      sendJSON(r.res, 200, page);
    }),
    route("GET", "/mypage/{customerId}/orders/{orderId}", async (r) => {
      const who = await d.guard.principal(r.req.headers.authorization);
      sendJSON(r.res, 200, await d.app.order(who, r.vars[0], r.vars[1]));
    }),
    route("POST", "/events/orders", event("orders")),
    route("POST", "/events/deliveries", event("deliveries")),
    route("POST", "/events/deadletters", sidecarOnly(async (r) => sendJSON(r.res, 200, { status: await d.deadLetters.arrive(await body(r.req)) }))),
    route("GET", "/deadletters", async (r) => {
      await d.guard.admin(r.req.headers.authorization);
      sendJSON(r.res, 200, await d.deadLetters.list(r.query.get("cursor") ?? ""));
    }),
    route("POST", "/deadletters/replay", async (r) => {
      await d.guard.admin(r.req.headers.authorization);
      sendJSON(r.res, 200, await d.deadLetters.replay());
    }),
    route("GET", "/healthz", async (r) => sendJSON(r.res, 200, { status: "alive" })),
    route("GET", "/readyz", async (r) =>
      probe(r, d.stopping() ? { status: 503, slug: "shutting-down", title: "Not ready", detail: "shutting down" } : await d.ready()),
    ),
    route("GET", "/readyz/events", async (r) => probe(r, await d.ready())),
    route("GET", "/metrics", async (r) => {
      const text = await registry.metrics();
      r.res.writeHead(200, { "Content-Type": registry.contentType });
      r.res.end(text);
    }),
  ];
}

// body reads a request's body, at most maxEventBytes of it.
async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (size < maxEventBytes) chunks.push(chunk.subarray(0, maxEventBytes - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function server(d: Deps): Server {
  const table = routes(d);
  return createServer((req, res) => {
    serve(table, d, req, res).catch((err) => {
      log.error("request failed", { method: req.method, path: req.url, status: 500, err });
      if (!res.headersSent) sendProblem(res, internal, req.url ?? "");
      else res.end();
    });
  });
}

async function serve(table: Route[], d: Deps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Once stopping, every answer closes its connection, so that clients move on.
  if (d.stopping()) res.setHeader("Connection", "close");
  const url = new URL(req.url ?? "/", "http://mypage");
  let path: string;
  try {
    path = url.pathname.split("/").map(decodeURIComponent).join("/");
  } catch {
    path = url.pathname;
  }
  const method = req.method ?? "GET";
  const onPath = table.filter((r) => r.pattern.test(url.pathname));
  const route = onPath.find((r) => r.method === method);
  if (!route) {
    if (onPath.length === 0) {
      sendProblem(res, { status: 404, slug: "not-found", title: "Not found", detail: `no such resource: ${path}` }, path);
    } else {
      sendProblem(res, { status: 405, slug: "method-not-allowed", title: "Method not allowed", detail: `${method} is not supported on ${path}` }, path);
    }
    return;
  }
  const vars = (route.pattern.exec(url.pathname) ?? []).slice(1).map((v) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  });
  const started = performance.now();
  await inTrace(traceOf(header(req.headers.traceparent)) ?? newTrace(), async () => {
    try {
      await route.serve({ req, res, path, vars, query: url.searchParams });
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal.status >= 500) log.error("request failed", { method, path, status: refusal.status, err });
      if (refusal.slug === "invalid-token") log.info("token refused", { method, path, err });
      if (!res.headersSent) sendProblem(res, refusal, path);
      else res.end();
    }
  });
  httpRequests.inc({ route: route.template, method, code: String(res.statusCode) });
  httpDuration.observe({ route: route.template, method }, (performance.now() - started) / 1000);
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? undefined : v;
}
