// W3C trace context: the trace a request or an event runs in.
import { randomBytes } from "node:crypto";

const traceparent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

// traceOf is the trace id of a valid traceparent, or undefined.
export function traceOf(header: string | undefined): string | undefined {
  const m = header ? traceparent.exec(header) : null;
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return undefined;
  return m[1];
}

export function newTrace(): string {
  return randomBytes(16).toString("hex");
}
