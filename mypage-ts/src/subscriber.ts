// What mypage does with each event daprd delivers: record it, and tell daprd how it went.
import type { MyPage } from "./app.js";
import { bulkEntries, decode, envelope, factOf, poisonous, type Reply, type ShopEvent } from "./events.js";
import { currentTrace, inTrace, log } from "./log.js";
import { eventDeliveries, eventDuration, eventsHandled } from "./metrics.js";
import { newTrace, traceOf } from "./trace.js";

export class Subscriber {
  constructor(private readonly app: MyPage) {}

  // handle records what one delivery says, in the trace the event carries; it throws Poison
  // (or InvalidInput) for an event that can never be processed.
  async handle(body: string, topic = "deadletter-mypage", seen?: (e: ShopEvent) => void): Promise<void> {
    const env = envelope(body);
    await inTrace(traceOf(env.traceparent) ?? currentTrace() ?? newTrace(), async () => {
      const e = decode(env.payload);
      seen?.(e);
      await this.app.record(factOf(e));
      log.debug("event handled", { topic, orderId: e.orderId, eventType: e.eventType, eventId: e.eventId });
    });
  }

  // answer is what the subscription of topic answers daprd for a delivery: the status of its
  // event, or for a bulk delivery (bulkSubscribe) the status of each entry, whose events are
  // handled at the same time, each as it would be alone.
  async answer(topic: string, body: string): Promise<{ status: Reply } | { statuses: { entryId: string; status: Reply }[] }> {
    const entries = bulkEntries(body);
    eventDeliveries.inc({ topic, form: entries ? "bulk" : "single" });
    if (!entries) return { status: await this.deliver(topic, body) };
    const statuses = await Promise.all(entries.map(async (e) => ({ entryId: e.entryId, status: await this.deliver(topic, e.body) })));
    return { statuses };
  }

  // deliver is handle as the subscription of topic answers daprd: SUCCESS, RETRY (deliver it
  // again) or DROP (dead-letter it).
  async deliver(topic: string, body: string): Promise<Reply> {
    const started = performance.now();
    let event: ShopEvent | undefined;
    let outcome: "success" | "retry" | "deadletter";
    let reply: Reply;
    try {
      await this.handle(body, topic, (e) => (event = e));
      [outcome, reply] = ["success", "SUCCESS"];
    } catch (err) {
      const about = event ? { orderId: event.orderId, eventType: event.eventType, eventId: event.eventId } : {};
      if (poisonous(err)) {
        [outcome, reply] = ["deadletter", "DROP"];
        log.error("dead-lettering an event that cannot be processed", { topic, ...about, err });
      } else {
        [outcome, reply] = ["retry", "RETRY"];
        log.warn("event handling failed; daprd will deliver it again", { topic, ...about, err });
      }
    }
    eventsHandled.inc({ topic, type: event?.eventType ?? "invalid", outcome });
    eventDuration.observe({ topic }, (performance.now() - started) / 1000);
    return reply;
  }
}
