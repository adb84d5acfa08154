// A customer's page: one row per order, built from the order's and delivery's events alone.
// A row remembers which facts it has heard, so that duplicates change nothing and any arrival
// order ends in the same row.
import { InvalidInput } from "./errors.js";
import { before, parseInstant, type Instant } from "./time.js";

export const facts = ["OrderPlaced", "OrderCancelled", "DeliveryStarted", "DeliveryCancelled"] as const;
export type Fact = (typeof facts)[number];

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkId(what: string, id: string): string {
  if (!idPattern.test(id)) {
    throw new InvalidInput(`${what} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got ${JSON.stringify(id)}`);
  }
  return id;
}

export interface Row {
  customerId: string;
  orderId: string;
  productId: string;
  qty: number;
  createdAt?: Instant;
  updatedAt?: Instant;
  heard: Set<Fact>;
  listed: boolean; // on the customer's list already
}

export function newRow(customerId: string, orderId: string): Row {
  return { customerId, orderId, productId: "", qty: 0, heard: new Set(), listed: false };
}

// learn takes in one fact about the order; it says whether the row changed. The first fact
// heard fixes the product and quantity; OrderPlaced (or any earlier fact) fixes when the order
// was made, the latest fact when it last changed.
export function learn(row: Row, fact: Fact, productId: string, qty: number, at: Instant): boolean {
  if (row.heard.has(fact)) return false;
  if (row.heard.size === 0) {
    row.productId = productId;
    row.qty = qty;
    row.createdAt = at;
  }
  row.heard.add(fact);
  if (fact === "OrderPlaced" || (row.createdAt && before(at, row.createdAt))) row.createdAt = at;
  if (!row.updatedAt || before(row.updatedAt, at)) row.updatedAt = at;
  return true;
}

export function orderStatus(row: Row): "PLACED" | "DELIVERY_STARTED" | "CANCELLED" {
  if (row.heard.has("OrderCancelled") || row.heard.has("DeliveryCancelled")) return "CANCELLED";
  if (row.heard.has("DeliveryStarted")) return "DELIVERY_STARTED";
  return "PLACED";
}

export function deliveryStatus(row: Row): "" | "STARTED" | "CANCELLED" {
  if (row.heard.has("DeliveryCancelled")) return "CANCELLED";
  if (row.heard.has("DeliveryStarted")) return "STARTED";
  return "";
}

// The row as the API shows it.
export function view(row: Row) {
  return {
    orderId: row.orderId,
    productId: row.productId,
    qty: row.qty,
    orderStatus: orderStatus(row),
    deliveryStatus: deliveryStatus(row),
    createdAt: row.createdAt?.text ?? "",
    updatedAt: row.updatedAt?.text ?? "",
  };
}

// The stored document (key row-<orderId>), in the form every mypage implementation reads and
// writes: a replica of the other implementation may share the store.
export interface StoredRow {
  Customer: string;
  OrderID: string;
  ProductID: string;
  Qty: number;
  CreatedAt: string;
  UpdatedAt: string;
  Heard: Record<string, boolean>;
  listed?: boolean;
}

export function toStored(row: Row): StoredRow {
  const heard: Record<string, boolean> = {};
  for (const f of [...row.heard].sort()) heard[f] = true;
  const doc: StoredRow = {
    Customer: row.customerId,
    OrderID: row.orderId,
    ProductID: row.productId,
    Qty: row.qty,
    CreatedAt: row.createdAt?.text ?? "0001-01-01T00:00:00Z",
    UpdatedAt: row.updatedAt?.text ?? "0001-01-01T00:00:00Z",
    Heard: heard,
  };
  if (row.listed) doc.listed = true;
  return doc;
}

export class CorruptRow extends Error {}

// fromStored restores a stored row; a document that does not make a valid row is CorruptRow.
export function fromStored(doc: unknown): Row {
  const d = doc as Partial<StoredRow> | null;
  if (!d || typeof d !== "object") throw new CorruptRow("a stored row is not an object");
  const ok = (s: unknown) => typeof s === "string" && idPattern.test(s);
  if (!ok(d.Customer) || !ok(d.OrderID) || !ok(d.ProductID) || !Number.isInteger(d.Qty) || d.Qty! < 1 || d.Qty! > 1000) {
    throw new CorruptRow(`stored row ${JSON.stringify(d.OrderID)} has bad ids or quantity`);
  }
  const heard = new Set<Fact>();
  for (const [name, yes] of Object.entries(d.Heard ?? {})) {
    if (!facts.includes(name as Fact)) throw new CorruptRow(`stored row ${d.OrderID} has heard of ${JSON.stringify(name)}`);
    if (yes) heard.add(name as Fact);
  }
  const createdAt = parseInstant(String(d.CreatedAt));
  const updatedAt = parseInstant(String(d.UpdatedAt));
  if (!createdAt || !updatedAt) throw new CorruptRow(`stored row ${d.OrderID} has bad times`);
  return {
    customerId: d.Customer!,
    orderId: d.OrderID!,
    productId: d.ProductID!,
    qty: d.Qty!,
    createdAt,
    updatedAt,
    heard,
    listed: d.listed === true,
  };
}
