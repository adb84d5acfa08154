// mypage's use cases: record what an event says about an order, and show a customer's page.
import { Forbidden, InvalidInput, Unavailable, UnknownOrder } from "./errors.js";
import { Lists, pageSize } from "./lists.js";
import { checkId, CorruptRow, fromStored, learn, newRow, toStored, view, type Fact, type StoredRow } from "./page.js";
import { isAdmin, type Principal } from "./auth.js";
import type { Store } from "./store.js";
import type { Instant } from "./time.js";

export interface OrderFact {
  fact: Fact;
  orderId: string;
  customerId: string;
  productId: string;
  qty: number;
  occurredAt: Instant;
}

const rowKey = (orderId: string) => `row-${orderId}`;

export class MyPage {
  private readonly lists: Lists;

  constructor(private readonly store: Store) {
    this.lists = new Lists(store);
  }

  // record takes in a fact about an order: the order's row learns it, and the order goes on
  // its customer's list (once). Safe to repeat: a fact heard before changes nothing. A new row
  // is listed first, then written marked listed, as the Go mypage does: a listed order whose
  // row is not written yet is skipped when the list is read.
  async record(f: OrderFact): Promise<void> {
    await this.store.update<StoredRow>(rowKey(f.orderId), async (doc) => {
      const r = doc === undefined ? newRow(f.customerId, f.orderId) : restore(doc);
      if (r.customerId !== f.customerId) {
        throw new InvalidInput(`order ${f.orderId} belongs to ${r.customerId}, not ${f.customerId}`);
      }
      if (!learn(r, f.fact, f.productId, f.qty, f.occurredAt)) return undefined;
      if (!r.listed) {
        await this.lists.add(f.customerId, f.orderId);
        r.listed = true;
      }
      return toStored(r);
    });
  }

  // page is one page of a customer's orders, newest first.
  async page(who: Principal, customerId: string, cursor: string) {
    ownPage(who, customerId);
    checkId("customerId", customerId);
    const { ids, next } = await this.lists.page(customerId, cursor);
    const docs = await this.store.readMany(ids.slice(0, pageSize).map(rowKey));
    const orders = [];
    for (const id of ids) {
      const doc = docs.get(rowKey(id));
      if (!doc) continue;
      const r = restore(doc.value);
      if (r.customerId === customerId) orders.push(view(r));
    }
    return { orders, next };
  }

  // order is one of a customer's orders.
  async order(who: Principal, customerId: string, orderId: string) {
    ownPage(who, customerId);
    checkId("customerId", customerId);
    try {
      checkId("orderId", orderId);
    } catch {
      throw new UnknownOrder(customerId, orderId);
    }
    const doc = await this.store.read(rowKey(orderId));
    const r = doc && restore(doc.value);
    if (!r || r.customerId !== customerId) throw new UnknownOrder(customerId, orderId);
    return view(r);
  }
}

// A customer reads only their own page; an admin anyone's.
function ownPage(who: Principal, customerId: string): void {
  if (!isAdmin(who) && (customerId === "" || who.sub !== customerId)) {
    throw new Forbidden("A customer reads only their own page.");
  }
}

function restore(doc: unknown) {
  try {
    return fromStored(doc);
  } catch (err) {
    if (err instanceof CorruptRow) throw new Unavailable(err);
    throw err;
  }
}
