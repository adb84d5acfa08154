import assert from "node:assert/strict";
import { test } from "node:test";
import { deliveryStatus, facts, fromStored, learn, newRow, orderStatus, toStored, view, type Fact } from "./page.js";
import { before, parseInstant } from "./time.js";

const at = (s: string) => parseInstant(s)!;

test("every arrival order of an order's facts ends in the same row", () => {
  const times: Record<Fact, string> = {
    OrderPlaced: "2026-01-01T10:00:00.000000001Z",
    DeliveryStarted: "2026-01-01T10:00:01Z",
    OrderCancelled: "2026-01-01T10:00:02Z",
    DeliveryCancelled: "2026-01-01T10:00:03.5Z",
  };
  const permutations = (xs: readonly Fact[]): Fact[][] =>
    xs.length <= 1 ? [[...xs]] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  const rows = permutations(facts).map((order) => {
    const r = newRow("alice", "o1");
    for (const f of order) learn(r, f, "apple", 2, at(times[f]));
    return JSON.stringify(view(r));
  });
  assert.equal(new Set(rows).size, 1);
  assert.deepEqual(JSON.parse(rows[0]), {
    orderId: "o1",
    productId: "apple",
    qty: 2,
    orderStatus: "CANCELLED",
    deliveryStatus: "CANCELLED",
    createdAt: "2026-01-01T10:00:00.000000001Z",
    updatedAt: "2026-01-01T10:00:03.5Z",
  });
});

test("a fact heard again changes nothing", () => {
  const r = newRow("alice", "o1");
  assert.equal(learn(r, "OrderPlaced", "apple", 2, at("2026-01-01T10:00:00Z")), true);
  assert.equal(learn(r, "OrderPlaced", "pear", 9, at("2026-01-01T11:00:00Z")), false);
  assert.equal(r.productId, "apple");
  assert.equal(r.updatedAt!.text, "2026-01-01T10:00:00Z");
});

test("a delivery heard of before its order shows as started", () => {
  const r = newRow("zed", "o2");
  learn(r, "DeliveryStarted", "apple", 2, at("2026-01-01T10:00:01Z"));
  assert.equal(orderStatus(r), "DELIVERY_STARTED");
  assert.equal(deliveryStatus(r), "STARTED");
  learn(r, "OrderPlaced", "apple", 2, at("2026-01-01T10:00:00Z"));
  assert.equal(orderStatus(r), "DELIVERY_STARTED");
  assert.equal(r.createdAt!.text, "2026-01-01T10:00:00Z");
});

test("a row survives being stored, and a corrupt one is refused", () => {
  const r = newRow("alice", "o1");
  learn(r, "OrderPlaced", "apple", 2, at("2026-01-01T10:00:00.120Z"));
  r.listed = true;
  const doc = toStored(r);
  assert.deepEqual(doc.Heard, { OrderPlaced: true });
  assert.equal(doc.CreatedAt, "2026-01-01T10:00:00.12Z");
  assert.deepEqual(view(fromStored(JSON.parse(JSON.stringify(doc)))), view(r));
  assert.throws(() => fromStored({ ...doc, Heard: { OrderShipped: true } }));
  assert.throws(() => fromStored({ ...doc, Qty: 0 }));
});

test("instants compare to the nanosecond, across zones", () => {
  assert.ok(before(at("2026-01-01T10:00:00.000000001Z"), at("2026-01-01T10:00:00.000000002Z")));
  assert.ok(before(at("2026-01-01T10:00:00+01:00"), at("2026-01-01T09:30:00Z")));
  assert.equal(parseInstant("2026-01-01 10:00:00Z"), undefined);
});
