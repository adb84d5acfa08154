// What mypage does with each event daprd delivers: record it, and tell daprd how it went.
import type { MyPage } from "./app.js";
import { decode, envelope, factOf, poisonous, type Reply, type ShopEvent } from "./events.js";
import { currentTrace, inTrace, log } from "./log.js";
import { eventDuration, eventsHandled } from "./metrics.js";
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
