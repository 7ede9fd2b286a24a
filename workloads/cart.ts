// The cart workload over the server-side CRDT (/cart): adds of a small pool of items (so the same item
// is re-added, often while a remove of it is in flight), removes that send back the context of the latest
// ok read of the cart (recorded as `readIndex`), and reads. No acknowledged add may ever be lost.
import type { HistoryOp } from '../checkers/history.js';
import type { NodeClient, ReplicaState } from './client.js';
import { thrownToInfo, type OpCompletion, type OpRequest, type Workload, type WorkloadOptions } from './workload.js';

/** The latest ok read of a cart the workload saw, with its history index (a remove cites it). */
export interface SeenCart {
  readonly index: number;
  readonly items: Record<string, number>;
  readonly context: string | undefined;
}

export interface CartMix {
  readonly read: number;
  readonly add: number;
  readonly remove: number;
}

export const defaultCartMix: CartMix = { read: 0.35, add: 0.45, remove: 0.2 };

/** What differs between the server CRDT cart and the client-side cart over /kv: how ops reach the node. */
export interface CartAccess {
  read(client: NodeClient, key: string): Promise<OpCompletion>;
  add(client: NodeClient, op: OpRequest): Promise<OpCompletion>;
  remove(client: NodeClient, op: OpRequest): Promise<OpCompletion>;
  decodeLocal(state: ReplicaState): Record<string, number>;
}

/** Shared op choice for both cart flavours; `access` performs them. */
export function createCartLikeWorkload(
  name: 'cart' | 'cart-kv',
  options: WorkloadOptions & { mix?: CartMix; itemCount?: number },
  access: CartAccess,
): Workload {
  const random = options.random;
  const keyCount = options.keyCount ?? 3;
  const itemCount = options.itemCount ?? 8;
  const mix = options.mix ?? defaultCartMix;
  const keys = Array.from({ length: keyCount }, (_, i) => `cart-${i}`);
  const items = Array.from({ length: itemCount }, (_, i) => `sku-${i}`);
  const lastRead = new Map<string, SeenCart>();
  const total = mix.read + mix.add + mix.remove;

  function pick<T>(from: readonly T[]): T {
    return from[Math.floor(random() * from.length)]!;
  }

  return {
    name,
    checkerWorkload: name,
    keys: () => [...keys],
    next(): OpRequest {
      const key = pick(keys);
      let x = random() * total;
      if ((x -= mix.read) < 0) return { f: 'read', key };
      const seen = lastRead.get(key);
      const present = seen === undefined ? [] : Object.keys(seen.items).sort();
      if ((x -= mix.add) < 0) {
        // Re-adding an item the cart holds (and that a remove may be taking away right now) is the case
        // add-wins semantics is about, so a third of adds pick from the last read's items.
        const item = present.length > 0 && random() < 1 / 3 ? pick(present) : pick(items);
        const base = seen === undefined ? {} : { readIndex: seen.index, context: seen.context };
        return name === 'cart-kv' ? { f: 'add', key, value: item, ...base } : { f: 'add', key, value: item };
      }
      if (seen === undefined || seen.context === undefined || present.length === 0) return { f: 'read', key };
      return { f: 'remove', key, value: pick(present), context: seen.context, readIndex: seen.index };
    },
    async perform(client: NodeClient, op: OpRequest): Promise<OpCompletion> {
      try {
        if (op.f === 'read') return await access.read(client, op.key);
        if (op.f === 'add') return await access.add(client, op);
        if (op.f === 'remove') return await access.remove(client, op);
        return { type: 'fail', error: `${name} workload cannot perform f=${op.f}` };
      } catch (error) {
        return thrownToInfo(error);
      }
    },
    observe(op: HistoryOp): void {
      if (op.type === 'ok' && op.f === 'read' && op.key !== undefined && op.value !== null && typeof op.value === 'object') {
        lastRead.set(op.key, { index: op.index, items: { ...(op.value as Record<string, number>) }, context: op.context });
      }
    },
    finalRead: (key: string): OpRequest => ({ f: 'read', key, final: true }),
    decodeLocal: (state) => access.decodeLocal(state),
  };
}

/** Items in sorted key order, so identical carts serialise identically. */
export function sortedItems(items: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(items).sort()) out[k] = items[k]!;
  return out;
}

export function createCartWorkload(options: WorkloadOptions & { mix?: CartMix; itemCount?: number }): Workload {
  const clientOptions = options.clientOptions;
  return createCartLikeWorkload('cart', options, {
    async read(client, key) {
      const out = await client.cartRead(key, clientOptions);
      if (out.type !== 'ok') return { type: out.type, error: out.error };
      return { type: 'ok', value: sortedItems(out.value.items), context: out.value.context };
    },
    async add(client, op) {
      const out = await client.cartAdd(op.key, String(op.value), 1, clientOptions);
      if (out.type !== 'ok') return { type: out.type, error: out.error };
      return { type: 'ok', value: op.value };
    },
    async remove(client, op) {
      if (op.context === undefined) return { type: 'fail', error: 'a remove needs the context of a read' };
      const out = await client.cartRemove(op.key, String(op.value), op.context, clientOptions);
      if (out.type !== 'ok') return { type: out.type, error: out.error };
      return { type: 'ok', value: op.value };
    },
    decodeLocal(state) {
      return state.kind === 'cart' ? sortedItems(state.items) : {};
    },
  });
}
