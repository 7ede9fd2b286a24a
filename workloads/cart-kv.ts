// The Dynamo paper's shopping cart done on the client over /kv. The stored value is a JSON list of add
// entries "<item>#<add id>" (each add is unique, so quantities count adds as the server cart does); a read
// merges siblings by union of entries; an add writes (the entries its read saw) + a new entry, a remove
// writes (the entries its read saw) − every entry of the item, both with that read's context. A remove
// therefore only supersedes the versions its read observed: a concurrent sibling that still holds the item
// brings it back on the next merge — the "deleted items can resurface" anomaly the paper admits. The
// checkers and the report show it.
import type { HistoryOp } from '../checkers/history.js';
import type { NodeClient, ReplicaState } from './client.js';
import { createCartLikeWorkload, sortedItems, type CartMix } from './cart.js';
import { decodeText, encodeText, type OpCompletion, type OpRequest, type Workload, type WorkloadOptions } from './workload.js';

/** Parses one stored cart version; a version that is not a JSON list of strings is reported, not guessed. */
export function parseCartVersion(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
  } catch {
    // Fall through: malformed versions are reported by the caller.
  }
  return undefined;
}

/** The item an entry adds ("sku-3#4-17" → "sku-3"; an entry without an id is the item itself). */
export function itemOfEntry(entry: string): string {
  const hash = entry.lastIndexOf('#');
  return hash < 0 ? entry : entry.slice(0, hash);
}

/** Items map of a set of entries: each live entry is one unit of its item. */
export function itemsOfEntries(entries: Iterable<string>): Record<string, number> {
  const items: Record<string, number> = {};
  for (const entry of entries) {
    const item = itemOfEntry(entry);
    items[item] = (items[item] ?? 0) + 1;
  }
  return sortedItems(items);
}

/** Union of sibling carts' entries (the paper's merge), with a count of versions that did not parse. */
export function mergeSiblings(siblings: readonly Uint8Array[]): { entries: string[]; items: Record<string, number>; malformed: number } {
  const entries = new Set<string>();
  let malformed = 0;
  for (const bytes of siblings) {
    const list = parseCartVersion(decodeText(bytes));
    if (list === undefined) {
      malformed++;
      continue;
    }
    for (const entry of list) entries.add(entry);
  }
  const sorted = [...entries].sort();
  return { entries: sorted, items: itemsOfEntries(sorted), malformed };
}

function encodeCart(entries: Iterable<string>): Uint8Array {
  return encodeText(JSON.stringify([...new Set(entries)].sort()));
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

export function createCartKvWorkload(options: WorkloadOptions & { mix?: CartMix; itemCount?: number }): Workload {
  const clientOptions = options.clientOptions;
  const inner = createCartLikeWorkload('cart-kv', options, {
    async read(client: NodeClient, key: string): Promise<OpCompletion> {
      const out = await client.get(key, clientOptions);
      if (out.type !== 'ok') return { type: out.type, error: out.error };
      const merged = mergeSiblings(out.value.values);
      return {
        type: 'ok',
        value: merged.items,
        ...(out.value.context !== undefined ? { context: out.value.context } : {}),
        // The entries are what the next add or remove citing this read writes back, so they are recorded.
        extra: { siblings: out.value.values.length, entries: merged.entries, ...(merged.malformed > 0 ? { malformed: merged.malformed } : {}) },
      };
    },
    async add(client: NodeClient, op: OpRequest): Promise<OpCompletion> {
      const entry = `${String(op.value)}#${String(op.extra?.['addId'])}`;
      const out = await client.put(op.key, encodeCart([...stringList(op.extra?.['seenEntries']), entry]), op.context, clientOptions);
      if (out.type !== 'ok') return { type: out.type, error: out.error };
      return { type: 'ok', value: op.value };
    },
    async remove(client: NodeClient, op: OpRequest): Promise<OpCompletion> {
      const keep = stringList(op.extra?.['seenEntries']).filter((entry) => itemOfEntry(entry) !== op.value);
      const out = await client.put(op.key, encodeCart(keep), op.context, clientOptions);
      if (out.type !== 'ok') return { type: out.type, error: out.error };
      return { type: 'ok', value: op.value };
    },
    decodeLocal(state: ReplicaState): Record<string, number> {
      if (state.kind !== 'kv') return {};
      return mergeSiblings(state.versions.filter((v) => !v.tombstone).map((v) => v.value)).items;
    },
  });
  // The client-side cart writes whole carts, so every add and remove carries the entries of the read it
  // builds on (the chooser records which read that was as readIndex); we remember each read's entries.
  const readsByIndex = new Map<number, string[]>();
  const addCount = new Map<number, number>();
  return {
    ...inner,
    next(process, nodes, nowNs) {
      const op = inner.next(process, nodes, nowNs);
      const extra: Record<string, unknown> = { ...op.extra };
      if (op.readIndex !== undefined) extra['seenEntries'] = readsByIndex.get(op.readIndex) ?? [];
      if (op.f === 'add') {
        const n = (addCount.get(process) ?? 0) + 1;
        addCount.set(process, n);
        extra['addId'] = `${process}-${n}`;
      }
      return Object.keys(extra).length > 0 ? { ...op, extra } : op;
    },
    observe(op: HistoryOp) {
      inner.observe(op);
      if (op.type === 'ok' && op.f === 'read' && op.final !== true) {
        // Only the latest read per key is ever cited, so older entries can go.
        while (readsByIndex.size > 256) readsByIndex.delete(readsByIndex.keys().next().value!);
        readsByIndex.set(op.index, stringList(op['entries']));
      }
    },
  };
}
