import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, envelope, Poison } from "./events.js";
import { parseDuration } from "./config.js";

const placed = {
  eventId: "OrderPlaced-o1",
  eventType: "OrderPlaced",
  occurredAt: "2026-01-01T10:00:00Z",
  orderId: "o1",
  customerId: "alice",
  productId: "apple",
  qty: 2,
};

test("a CloudEvent's data may come as JSON, as text or in base64", () => {
  const json = JSON.stringify(placed);
  assert.equal(envelope(JSON.stringify({ id: "1", data: placed })).payload, json);
  assert.equal(envelope(JSON.stringify({ id: "1", data: json })).payload, json);
  assert.equal(envelope(JSON.stringify({ id: "1", data_base64: Buffer.from(json).toString("base64") })).payload, json);
  assert.equal(envelope(JSON.stringify({ ID: "1", TraceParent: "00-x", data: placed })).traceparent, "00-x");
  assert.throws(() => envelope(JSON.stringify({ id: "1" })), Poison);
  assert.throws(() => envelope("not json"), Poison);
});

test("events are checked against their schema", () => {
  assert.equal(decode(JSON.stringify(placed)).orderId, "o1");
  for (const bad of [
    { ...placed, qty: 0 },
    { ...placed, eventType: "OrderShipped" },
    { ...placed, extra: 1 },
    { ...placed, occurredAt: "yesterday" },
    { ...placed, deliveryId: "d1" },
    { ...placed, eventType: "DeliveryStarted" },
  ]) {
    assert.throws(() => decode(JSON.stringify(bad)), Poison, JSON.stringify(bad));
  }
  assert.throws(() => decode('"this is not JSON"'), Poison);
});

test("durations read as Go writes them", () => {
  assert.equal(parseDuration("1s"), 1000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("5"), undefined);
});
