// The service's settings, from the environment, with the same names and defaults as every
// SK MALL service (see the README's table of mypage's settings).

export interface Config {
  port: number;
  grpcPort: number;
  stateStore: string;
  logLevel: string;
  daprHost: string;
  daprHttpPort: number;
  daprApiToken: string;
  appApiToken: string;
  daprWaitMs: number;
  shutdownDelayMs: number;
  shutdownDrainMs: number;
  authJwks: string;
  authIssuer: string;
  authAudience: string;
  authAlgorithms: string[];
  authLeewayS: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const required = (name: string): string => {
    const v = env[name];
    if (!v) throw new ConfigError(`required key ${name} missing value`);
    return v;
  };
  const text = (name: string, dflt: string): string => env[name] || dflt;
  const int = (name: string, dflt: number): number => {
    const v = env[name];
    if (!v) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name}: ${JSON.stringify(v)} is not a port number`);
    return n;
  };
  const duration = (name: string, dflt: string): number => {
    const v = text(name, dflt);
    const ms = parseDuration(v);
    if (ms === undefined) throw new ConfigError(`${name}: ${JSON.stringify(v)} is not a duration (such as 500ms, 5s or 1m)`);
    return ms;
  };
  const daprApiToken = required("DAPR_API_TOKEN");
  const appApiToken = env.APP_API_TOKEN;
  if (!appApiToken) {
    throw new ConfigError("APP_API_TOKEN is required: it is how the app tells its sidecar from anyone else");
  }
  const algorithms = text("AUTH_ALGORITHMS", "ES256,RS256").split(",").map((a) => a.trim()).filter(Boolean);
  for (const a of algorithms) {
    if (!/^(RS|PS|ES)/.test(a) && a !== "EdDSA") {
      throw new ConfigError(`AUTH_ALGORITHMS: ${JSON.stringify(a)} is not an asymmetric signature algorithm`);
    }
  }
  return {
    port: int("APP_PORT", 8084),
    grpcPort: int("GRPC_PORT", 9084),
    stateStore: text("STATE_STORE", "mypage-store"),
    logLevel: text("LOG_LEVEL", "info"),
    daprHost: text("DAPR_HOST", "127.0.0.1"),
    daprHttpPort: int("DAPR_HTTP_PORT", 3500),
    daprApiToken,
    appApiToken,
    daprWaitMs: duration("DAPR_WAIT", "60s"),
    shutdownDelayMs: duration("SHUTDOWN_DELAY", "5s"),
    shutdownDrainMs: duration("SHUTDOWN_DRAIN", "10s"),
    authJwks: required("AUTH_JWKS"),
    authIssuer: required("AUTH_ISSUER"),
    authAudience: text("AUTH_AUDIENCE", "skmall"),
    authAlgorithms: algorithms,
    authLeewayS: duration("AUTH_LEEWAY", "30s") / 1000,
  };
}

const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// parseDuration reads a duration as Go writes one (1h30m, 500ms, 5s) into milliseconds.
export function parseDuration(s: string): number | undefined {
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) return undefined;
    ms += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  return at > 0 ? ms : undefined;
}

// redacted is the configuration as the start-up log shows it: no secrets.
export function redacted(c: Config): Record<string, unknown> {
  return { ...c, daprApiToken: "***", appApiToken: "***" };
}
