// Documents changed safely by any number of replicas: read with the ETag, decide, write over
// that version; a write that loses to another is decided again on what won.
import { setTimeout as sleep } from "node:timers/promises";
import { Unavailable } from "./errors.js";
import { Sidecar, type Item } from "./sidecar.js";

const maxConflicts = 200;
const outage = { first: 5, max: 250, attempts: 12, withinMs: 5000 };

export class Contended extends Error {}
export class Exists extends Error {}

export class Store {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(readonly sidecar: Sidecar) {}

  // read is the document at key (undefined when none), waiting out a short outage.
  async read(key: string): Promise<Item | undefined> {
    return this.patiently(() => this.sidecar.get(key));
  }

  async readMany(keys: string[]): Promise<Map<string, Item>> {
    return this.patiently(() => this.sidecar.getBulk(keys));
  }

  // update changes the document at key: decide gets what is stored (undefined when nothing)
  // and returns what to store, or undefined to leave it. It returns what is stored after.
  async update<T>(key: string, decide: (current: T | undefined) => T | undefined | Promise<T | undefined>): Promise<T | undefined> {
    return this.serially(key, async () => {
      for (let conflicts = 0; ; conflicts++) {
        const current = await this.read(key);
        const next = await decide(current?.value as T | undefined);
        if (next === undefined) return current?.value as T | undefined;
        try {
          await this.sidecar.save(key, next, current?.etag);
          return next;
        } catch {
          // Most likely another writer won; if the store is down, the next read says so.
          if (conflicts >= maxConflicts) throw new Contended("document changed by others too often");
          await sleep(1 + Math.random() * 4 * Math.min(conflicts + 1, 10));
        }
      }
    });
  }

  // create stores a document at key only if there is none; the same document already there
  // counts as created, another one is Exists.
  async create(key: string, doc: unknown): Promise<void> {
    await this.patiently(async () => {
      try {
        await this.sidecar.save(key, doc);
        return;
      } catch (err) {
        const there = await this.sidecar.get(key);
        if (!there) throw err;
        if (JSON.stringify(there.value) !== JSON.stringify(doc)) throw new Exists(`${key} holds another document`);
      }
    });
  }

  async remove(key: string, etag: string): Promise<void> {
    await this.sidecar.delete(key, etag);
  }

  // patiently retries fn through a short outage, then gives up with Unavailable.
  private async patiently<T>(fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    let wait = outage.first;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof Exists) throw err;
        // A document that is not JSON will not become JSON by asking again.
        if (err instanceof SyntaxError) throw new Unavailable(err);
        if (attempt >= outage.attempts || Date.now() - started > outage.withinMs) throw new Unavailable(err);
        await sleep(wait * (0.5 + Math.random()));
        wait = Math.min(wait * 2, outage.max);
      }
    }
  }

  // serially runs the updates of one key in this process one after another.
  private async serially<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}
