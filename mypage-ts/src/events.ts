// Events as daprd delivers them: a CloudEvent whose data is one of the shop's events
// (contracts/schemas). An event that can never be processed is dropped, which makes daprd
// dead-letter it; one that failed for now is handed back to be delivered again.
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import formatsModule from "ajv-formats";
import { InvalidInput } from "./errors.js";
import { facts, type Fact } from "./page.js";
import { parseInstant } from "./time.js";
import type { OrderFact } from "./app.js";

// Poison: the event can never be processed as it is.
export class Poison extends Error {}

export type Reply = "SUCCESS" | "RETRY" | "DROP";

export const maxEventBytes = 256 * 1024;

const addFormats = formatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: false, strict: false });
addFormats(ajv);
const schemas = new Map<string, ValidateFunction>();
for (const type of facts) {
  const raw = readFileSync(new URL(`./contracts/${type}.schema.json`, import.meta.url), "utf8");
  schemas.set(type, ajv.compile(JSON.parse(raw)));
}

export interface Envelope {
  id: string;
  traceparent?: string;
  payload: string;
}

// envelope reads a CloudEvent; its payload is data_base64, data as text, or data as JSON.
export function envelope(body: string): Envelope {
  let ce: Record<string, unknown>;
  try {
    ce = lowerKeys(JSON.parse(body));
  } catch {
    throw new Poison("the delivery is not a JSON CloudEvent");
  }
  const id = ce.id ?? "";
  if (typeof id !== "string") throw new Poison("the CloudEvent's id is not a string");
  const traceparent = typeof ce.traceparent === "string" ? ce.traceparent : undefined;
  if (typeof ce.data_base64 === "string" && ce.data_base64 !== "") {
    return { id, traceparent, payload: Buffer.from(ce.data_base64, "base64").toString("utf8") };
  }
  if (typeof ce.data === "string") return { id, traceparent, payload: ce.data };
  if (ce.data === undefined || ce.data === null) throw new Poison(`CloudEvent ${JSON.stringify(id)} has no data`);
  return { id, traceparent, payload: JSON.stringify(ce.data) };
}

function lowerKeys(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Poison("the delivery is not a JSON object");
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) out[k.toLowerCase()] = val;
  return out;
}

export interface ShopEvent {
  eventId: string;
  eventType: Fact;
  occurredAt: string;
  orderId: string;
  customerId: string;
  productId: string;
  qty: number;
  deliveryId?: string;
}

// decode checks a payload against the schema of its event type.
export function decode(payload: string): ShopEvent {
  let doc: unknown;
  try {
    doc = JSON.parse(payload);
  } catch {
    throw new Poison("the event is not JSON");
  }
  const type = doc && typeof doc === "object" ? (doc as { eventType?: unknown }).eventType : undefined;
  const validate = typeof type === "string" ? schemas.get(type) : undefined;
  if (!validate) throw new Poison(`unknown event type ${JSON.stringify(type)}`);
  if (!validate(doc)) throw new Poison(`the ${type} event breaks its schema: ${ajv.errorsText(validate.errors)}`);
  return doc as ShopEvent;
}

export function factOf(e: ShopEvent): OrderFact {
  const occurredAt = parseInstant(e.occurredAt);
  if (!occurredAt) throw new InvalidInput(`occurredAt ${JSON.stringify(e.occurredAt)} is not an RFC 3339 time`);
  return { fact: e.eventType, orderId: e.orderId, customerId: e.customerId, productId: e.productId, qty: e.qty, occurredAt };
}

// poisonous says whether an error means the event can never be processed.
export const poisonous = (err: unknown): boolean => err instanceof Poison || err instanceof InvalidInput;
