// Refusals as RFC 9457 problem details (application/problem+json), the shape every SK MALL
// service answers with.
import type { ServerResponse } from "node:http";

export const problemBase = "https://skmall.example/problems/";

export interface Refusal {
  status: number;
  slug: string;
  title: string;
  detail?: string;
  retryAfter?: number; // seconds
  headers?: Record<string, string>;
}

export function sendJSON(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + "\n";
  res.writeHead(status, { ...headers, "Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendProblem(res: ServerResponse, r: Refusal, instance: string): void {
  const body: Record<string, unknown> = { type: problemBase + r.slug, title: r.title, status: r.status };
  if (r.detail) body.detail = r.detail;
  if (instance) body.instance = instance;
  const text = JSON.stringify(body) + "\n";
  const headers: Record<string, string | number> = {
    ...r.headers,
    "Content-Type": "application/problem+json",
    "X-Content-Type-Options": "nosniff",
    "Content-Length": Buffer.byteLength(text),
  };
  if (r.retryAfter !== undefined) headers["Retry-After"] = String(r.retryAfter);
  res.writeHead(r.status, headers);
  res.end(text);
}

// Refused: an error that is its own refusal.
export class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.detail ?? refusal.title);
  }
}
