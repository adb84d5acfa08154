// Logs: one JSON object a line on stderr, as every SK MALL service writes them, with the trace
// the work runs in (traceId) when there is one.
import { AsyncLocalStorage } from "node:async_hooks";

const levels = { debug: 0, info: 1, warn: 2, error: 3 } as const;
type Level = keyof typeof levels;

let threshold: number = levels.info;
const traces = new AsyncLocalStorage<string>();

export function setLevel(name: string): void {
  threshold = levels[name.toLowerCase() as Level] ?? levels.info;
}

// inTrace runs fn with every line it logs carrying traceId.
export function inTrace<T>(traceId: string, fn: () => T): T {
  return traces.run(traceId, fn);
}

export function currentTrace(): string | undefined {
  return traces.getStore();
}

function write(level: Level, msg: string, attrs: Record<string, unknown>): void {
  if (levels[level] < threshold) return;
  const line: Record<string, unknown> = { time: new Date().toISOString(), level: level.toUpperCase(), msg, service: "mypage" };
  for (const [k, v] of Object.entries(attrs)) {
    line[k] = v instanceof Error ? v.message : v;
  }
  const trace = traces.getStore();
  if (trace) line.traceId = trace;
  process.stderr.write(JSON.stringify(line) + "\n");
}

export const log = {
  debug: (msg: string, attrs: Record<string, unknown> = {}) => write("debug", msg, attrs),
  info: (msg: string, attrs: Record<string, unknown> = {}) => write("info", msg, attrs),
  warn: (msg: string, attrs: Record<string, unknown> = {}) => write("warn", msg, attrs),
  error: (msg: string, attrs: Record<string, unknown> = {}) => write("error", msg, attrs),
};
