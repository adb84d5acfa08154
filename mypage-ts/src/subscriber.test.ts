import assert from "node:assert/strict";
import { test } from "node:test";
import type { MyPage, OrderFact } from "./app.js";
import { Subscriber } from "./subscriber.js";

const placed = (orderId: string) => ({
  eventId: `OrderPlaced-${orderId}`,
  eventType: "OrderPlaced",
  occurredAt: "2026-01-01T10:00:00Z",
  orderId,
  customerId: "alice",
  productId: "apple",
  qty: 2,
});
const cloudEvent = (data: unknown) => ({ specversion: "1.0", id: "ce-1", type: "com.dapr.event.sent", topic: "orders", data });

test("a bulk delivery is answered event by event", async () => {
  const recorded: string[] = [];
  const app = {
    record: async (f: OrderFact) => {
      if (f.orderId === "down") throw new Error("store down");
      recorded.push(f.orderId);
    },
  } as unknown as MyPage;
  const bulk = {
    id: "bulk-1",
    type: "com.dapr.event.sent.bulk",
    topic: "orders",
    pubsubname: "pubsub",
    entries: [
      { entryId: "e0", event: cloudEvent(placed("o1")) },
      { entryId: "e1", event: cloudEvent(placed("down")) },
      { entryId: "e2", event: cloudEvent({ ...placed("o3"), qty: 0 }) },
      { entryId: "e3", event: JSON.stringify(cloudEvent(placed("o4"))) },
      { entryId: "e4", event: "not a CloudEvent" },
    ],
  };
  const answer = await new Subscriber(app).answer("orders", JSON.stringify(bulk));
  assert.deepEqual(answer, {
    statuses: [
      { entryId: "e0", status: "SUCCESS" },
      { entryId: "e1", status: "RETRY" },
      { entryId: "e2", status: "DROP" },
      { entryId: "e3", status: "SUCCESS" },
      { entryId: "e4", status: "DROP" },
    ],
  });
  assert.deepEqual(recorded.sort(), ["o1", "o4"]);

  // A delivery of its own is answered as before.
  assert.deepEqual(await new Subscriber(app).answer("orders", JSON.stringify(cloudEvent(placed("o5")))), { status: "SUCCESS" });
});
