// Dead letters: events that failed every delivery are kept (at most maxParked, each a document
// of its own) until an operator, after a fix, replays them through the same handlers.
import { createHash } from "node:crypto";
import { log } from "./log.js";
import { deadLettersHandledOnArrival, deadLettersParked, deadLettersReplayed } from "./metrics.js";
import { Refused } from "./problem.js";
import { envelope, poisonous, type Reply } from "./events.js";
import { Exists, type Store } from "./store.js";

export const maxParked = 1000;
const listPage = 100;
const lotKey = "deadletters-index";
const letterKey = (id: string) => `deadletter-${id}`;

interface Lot {
  ids: string[] | null;
}
interface Letter {
  id: string;
  body: string; // base64 of the delivery as it came
  parkedAt: string;
}

class LotFull extends Error {}

const cannotRead = () =>
  new Refused({ status: 503, slug: "unavailable", title: "Dead letters cannot be read now", detail: "Try again in a moment." });

export class DeadLetters {
  constructor(
    private readonly store: Store,
    private readonly handle: (body: string) => Promise<void>,
  ) {}

  // arrive takes a delivery of the dead-letter topic: handled now if it can be, else parked.
  async arrive(body: string): Promise<Reply> {
    try {
      await this.handle(body);
      deadLettersHandledOnArrival.inc();
      log.info("a dead letter was handled on arrival; not parked");
      return "SUCCESS";
    } catch (err) {
      if (!poisonous(err)) log.warn("a dead letter still fails", { err });
    }
    try {
      await this.park(body);
      return "SUCCESS";
    } catch (err) {
      if (err instanceof LotFull) {
        log.error("the dead-letter lot is full; the event stays on the dead-letter topic", { parked: maxParked });
      } else {
        log.warn("could not park a dead letter; it will be delivered again", { err });
      }
      return "RETRY";
    }
  }

  private async park(body: string): Promise<void> {
    let id = "";
    try {
      id = envelope(body).id;
    } catch {
      // no id to go by
    }
    if (!id) id = createHash("sha256").update(body).digest().subarray(0, 16).toString("hex");
    const lot = ((await this.store.read(lotKey))?.value as Lot | undefined)?.ids ?? [];
    deadLettersParked.set(lot.length);
    if (lot.includes(id)) return;
    if (lot.length >= maxParked) throw new LotFull();
    const letter: Letter = { id, body: Buffer.from(body).toString("base64"), parkedAt: new Date().toISOString() };
    try {
      await this.store.create(letterKey(id), letter);
    } catch (err) {
      if (!(err instanceof Exists)) throw err;
    }
    const after = await this.store.update<Lot>(lotKey, (cur) => {
      const ids = cur?.ids ?? [];
      if (ids.includes(id)) return undefined;
      if (ids.length >= maxParked) throw new LotFull();
      return { ids: [...ids, id] };
    });
    deadLettersParked.set(after?.ids?.length ?? 0);
    log.warn("dead letter parked; replay it with POST /deadletters/replay after a fix", { id });
  }

  // list is a page of the parked dead letters, oldest first.
  async list(cursor: string) {
    let from = 0;
    if (cursor !== "") {
      from = /^\d+$/.test(cursor) ? Number(cursor) : NaN;
      if (!Number.isSafeInteger(from)) {
        throw new Refused({ status: 422, slug: "invalid-input", title: "Invalid input", detail: "cursor must be one this listing handed out" });
      }
    }
    let ids: string[];
    let letters;
    try {
      ids = ((await this.store.read(lotKey))?.value as Lot | undefined)?.ids ?? [];
      letters = await this.store.readMany(ids.slice(from, from + listPage).map(letterKey));
    } catch {
      throw cannotRead();
    }
    const deadLetters = [];
    for (const id of ids.slice(from, from + listPage)) {
      const l = letters.get(letterKey(id))?.value as Letter | undefined;
      if (l) deadLetters.push({ event: Buffer.from(l.body, "base64").toString("utf8"), id: l.id, parkedAt: l.parkedAt });
    }
    const page: { deadLetters: unknown[]; nextCursor?: string; total: number } = { deadLetters, total: ids.length };
    if (from + listPage < ids.length) page.nextCursor = String(from + listPage);
    return page;
  }

  // replay runs every parked dead letter through its handler again; the handled ones go.
  async replay() {
    let ids: string[];
    try {
      ids = ((await this.store.read(lotKey))?.value as Lot | undefined)?.ids ?? [];
    } catch {
      throw cannotRead();
    }
    const done = new Set<string>();
    const stillFailing: string[] = [];
    chunks: for (let at = 0; at < ids.length; at += listPage) {
      const chunk = ids.slice(at, at + listPage);
      let letters;
      try {
        letters = await this.store.readMany(chunk.map(letterKey));
      } catch {
        throw cannotRead();
      }
      const handled: { id: string; etag: string }[] = [];
      for (const id of chunk) {
        const found = letters.get(letterKey(id));
        if (!found) {
          done.add(id);
          continue;
        }
        const l = found.value as Letter;
        try {
          await this.handle(Buffer.from(l.body, "base64").toString("utf8"));
          handled.push({ id, etag: found.etag });
          deadLettersReplayed.inc({ outcome: "handled" });
        } catch (err) {
          const text = err instanceof Error ? err.message : String(err);
          stillFailing.push(`${id}: ${poisonous(err) ? text : `still failing: ${text}`}`);
          deadLettersReplayed.inc({ outcome: "failed" });
        }
      }
      for (const h of handled) {
        try {
          await this.store.remove(letterKey(h.id), h.etag);
        } catch {
          break chunks;
        }
        done.add(h.id);
      }
    }
    try {
      const after = await this.store.update<Lot>(lotKey, (cur) => {
        const left = (cur?.ids ?? []).filter((id) => !done.has(id));
        return left.length === (cur?.ids ?? []).length ? undefined : { ids: left };
      });
      deadLettersParked.set(after?.ids?.length ?? 0);
    } catch {
      throw new Refused({
        status: 503,
        slug: "unavailable",
        title: "Replayed, but could not update the dead letters",
        detail: "The replayed events were handled; replaying again is safe.",
      });
    }
    log.info("dead letters replayed", { handled: done.size, stillFailing: stillFailing.length });
    return { replayed: done.size, stillFailing };
  }
}
