// Instants as the events carry them (RFC 3339, up to nanoseconds), kept as text so that no
// precision is lost, and compared exactly.

const rfc3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

export interface Instant {
  text: string; // normalized: upper-case T and Z, no trailing zeros in the fraction
  seconds: number; // since the Unix epoch
  nanos: number;
}

export function parseInstant(s: string): Instant | undefined {
  const m = rfc3339.exec(s);
  if (!m) return undefined;
  const zone = m[4].toUpperCase();
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  const fraction = (m[3] ?? "").replace(/0+$/, "");
  return {
    text: `${m[1]}T${m[2]}${fraction ? "." + fraction : ""}${zone}`,
    seconds: Math.floor(ms / 1000),
    nanos: Number(fraction.padEnd(9, "0")),
  };
}

export function before(a: Instant, b: Instant): boolean {
  return a.seconds < b.seconds || (a.seconds === b.seconds && a.nanos < b.nanos);
}
