// A customer's list of orders, newest first, a page of 100 at a time. Only the newest page
// (the head, key customer-<id>) is ever rewritten; a full page is stored once as
// customer-page-<id>/<n> and never changes again.
import { InvalidInput } from "./errors.js";
import { Exists, type Store } from "./store.js";

export const pageSize = 100;

interface Head {
  ids: string[];
  pages?: number;
  prev?: string[];
}

const headKey = (customerId: string) => `customer-${customerId}`;
const pageKey = (customerId: string, n: number) => `customer-page-${customerId}/${n}`;

export class Lists {
  constructor(private readonly store: Store) {}

  // add puts an order on the customer's list, once. A full head is first stored as a page of
  // its own, then the head starts over.
  async add(customerId: string, orderId: string): Promise<void> {
    await this.store.update<Head>(headKey(customerId), async (head) => {
      let { ids = [], pages = 0, prev = [] } = head ?? {};
      if (ids.includes(orderId) || prev.includes(orderId)) return undefined;
      if (ids.length >= pageSize) {
        try {
          await this.store.create(pageKey(customerId, pages), { ids });
        } catch (err) {
          if (!(err instanceof Exists)) throw err;
        }
        [prev, ids, pages] = [ids, [], pages + 1];
      }
      const next: Head = { ids: [...ids, orderId] };
      if (pages > 0) next.pages = pages;
      if (prev.length > 0) next.prev = prev;
      return next;
    });
  }

  // page is the order ids on one page of the list, newest first, and the cursor of the next
  // (older) page, "" on the last. cursor "" is the newest page; "p<n>" a stored one.
  async page(customerId: string, cursor: string): Promise<{ ids: string[]; next: string }> {
    if (cursor === "") {
      const head = (await this.store.read(headKey(customerId)))?.value as Head | undefined;
      const pages = head?.pages ?? 0;
      return { ids: [...(head?.ids ?? [])].reverse(), next: pages > 0 ? `p${pages - 1}` : "" };
    }
    const n = /^p\+?\d+$/.test(cursor) ? Number(cursor.slice(1)) : NaN;
    if (!Number.isSafeInteger(n)) throw new InvalidInput(`no such page: cursor ${JSON.stringify(cursor)}`);
    const page = (await this.store.read(pageKey(customerId, n)))?.value as Head | undefined;
    if (!page) throw new InvalidInput(`no such page: cursor ${JSON.stringify(cursor)}`);
    return { ids: [...(page.ids ?? [])].reverse(), next: n > 0 ? `p${n - 1}` : "" };
  }
}
