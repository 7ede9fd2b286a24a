// Hinted handoff storage: a fallback replica keeps a write meant for an unreachable home node in the
// "hint" namespace (durably, before it acknowledges) and offers it to that node once it looks healthy.
// Hints for the same (owner, kind, key) are merged into one, so a long outage costs one entry per key.
// A hint is stored as the local store stores a cart: a base (namespace "hint": owner, kind, key and the
// merged state) and, for each hinted write merged into it since, that write's state as it arrived
// (namespace "hint-delta", keyed by the hint's id and a sequence number). Rewriting the whole merged state
// on every hinted write made a fallback's write cost O(the hint) — a cart's whole encoding, base64 and JSON
// per add during an outage; appending costs O(the write). Merging is a join, so base ⊔ deltas is the
// merged state; once the deltas outweigh the base, the next write stores the merge as the new base and
// deletes them, so the bytes stay within twice the hint's encoding.
import type { CoreEnv, NodeId, StorageWrite } from './env.js';
import { type DataType, type Kind, type State, KeyedLock, deltaKey, fromB64, scanDeltas, toB64 } from './local-store.js';

export interface Hint {
  readonly id: string;
  readonly owner: NodeId;
  readonly kind: Kind;
  readonly key: string;
  readonly state: State;
  /** sha-like identity of the state, to delete the hint only if nothing new arrived since it was offered. */
  readonly version: number;
}

const noStates: readonly State[] = Object.freeze([]);
const utf8 = new TextEncoder();
/** Where the hinted writes merged into a stored hint go (see the header). */
export const hintDeltaNamespace = 'hint-delta';
const deltaNs = hintDeltaNamespace;

/** What storage holds of one hint besides its base. */
interface HintLayout {
  /** The base's size; 0 after a failed write, so the next one stores the whole state again. */
  baseBytes: number;
  deltaKeys: string[];
  deltaBytes: number;
  nextSeq: number;
}

export function hintId(owner: NodeId, kind: Kind, key: string): string {
  return JSON.stringify([owner, kind, key]);
}

/** A stored hint: its base (owner, kind, key, state) with its deltas merged in, in order. Throws if undecodable. */
export function decodeStoredHint(types: Record<Kind, DataType>, base: Uint8Array, deltas: readonly Uint8Array[]): { owner: NodeId; kind: Kind; key: string; state: State } | undefined {
  const j = JSON.parse(new TextDecoder().decode(base)) as { owner: string; kind: Kind; key: string; s: string };
  if (j.kind !== 'kv' && j.kind !== 'cart') return undefined;
  const t = types[j.kind];
  let state = t.decode(fromB64(j.s));
  for (const v of deltas) state = t.merge(state, t.decode(v));
  return { owner: j.owner, kind: j.kind, key: j.key, state };
}

export class HintStore {
  private readonly hints = new Map<string, Hint>();
  private readonly byKey = new Map<string, Set<string>>();
  private readonly layouts = new Map<string, HintLayout>();
  private readonly lock = new KeyedLock();
  private versionSeq = 0;

  constructor(
    private readonly env: CoreEnv,
    private readonly types: Record<Kind, DataType>,
  ) {}

  get size(): number {
    return this.hints.size;
  }

  all(): Hint[] {
    return [...this.hints.values()];
  }

  async load(): Promise<void> {
    const deltas = await scanDeltas(this.env.storage, deltaNs);
    for await (const [id, bytes] of this.env.storage.scan('hint')) {
      const d = deltas.get(id);
      deltas.delete(id);
      try {
        const h = decodeStoredHint(this.types, bytes, d?.values ?? []);
        if (h === undefined) continue;
        this.index({ id, ...h, version: ++this.versionSeq });
        this.layouts.set(id, { baseBytes: bytes.byteLength, deltaKeys: d?.keys ?? [], deltaBytes: d?.bytes ?? 0, nextSeq: (d?.last ?? -1) + 1 });
      } catch (err) {
        this.env.logger.log('warn', 'hint-undecodable', { id, error: (err as Error).message });
      }
    }
    // Deltas whose base is gone (a hint deleted while a write of its delta failed midway) belong to no
    // hint: they would only be merged into a later hint of the same id, harmlessly (a join), but are dropped.
    const orphans: StorageWrite[] = [];
    for (const d of deltas.values()) for (const key of d.keys) orphans.push({ type: 'del', ns: deltaNs, key });
    if (orphans.length > 0) await this.env.storage.write(orphans);
  }

  private index(h: Hint): void {
    this.hints.set(h.id, h);
    const k = `${h.kind}/${h.key}`;
    let s = this.byKey.get(k);
    if (s === undefined) this.byKey.set(k, (s = new Set()));
    s.add(h.id);
  }

  private unindex(id: string): void {
    const h = this.hints.get(id);
    if (h === undefined) return;
    this.hints.delete(id);
    const k = `${h.kind}/${h.key}`;
    const s = this.byKey.get(k);
    s?.delete(id);
    if (s !== undefined && s.size === 0) this.byKey.delete(k);
  }

  /** Every hinted state held for a key, whoever it is for (a fallback answers reads with them too). */
  statesFor(kind: Kind, key: string): readonly State[] {
    // Every read a replica answers asks, and almost always there are none: no key string, no array then.
    if (this.byKey.size === 0) return noStates;
    const ids = this.byKey.get(`${kind}/${key}`);
    return ids === undefined ? noStates : [...ids].map((id) => (this.hints.get(id) as Hint).state);
  }

  /** Merges a hinted write and persists it; resolves once durable (unless durable is false). */
  async add(owner: NodeId, kind: Kind, key: string, state: State, durable = true): Promise<void> {
    const id = hintId(owner, kind, key);
    await this.lock.run(id, async () => {
      const t = this.types[kind];
      const cur = this.hints.get(id);
      const merged = cur === undefined ? state : t.merge(cur.state, state);
      if (cur !== undefined && t.equal(cur.state, merged)) return;
      this.index({ id, owner, kind, key, state: merged, version: ++this.versionSeq });
      const done = this.env.storage.write(this.writesFor(id, owner, kind, key, t, cur === undefined ? undefined : state, merged));
      // What storage holds after a failed write is unknown: the next write stores the whole state.
      const failed = done.catch((err: unknown) => {
        const layout = this.layouts.get(id);
        if (layout !== undefined) layout.baseBytes = 0;
        throw err;
      });
      if (durable) await failed;
      else failed.catch(() => undefined);
    });
  }

  /**
   * The writes that make `merged` the stored hint: `write` alone as a delta when it was merged into a stored
   * hint and the deltas stay lighter than the base, else the whole merge as the new base, deltas deleted.
   */
  private writesFor(id: string, owner: NodeId, kind: Kind, key: string, t: DataType, write: State | undefined, merged: State): StorageWrite[] {
    const layout = this.layouts.get(id);
    if (write !== undefined && layout !== undefined) {
      const value = t.encode(write);
      if (layout.deltaBytes + value.byteLength <= layout.baseBytes) {
        const k = deltaKey(id, layout.nextSeq++);
        layout.deltaKeys.push(k);
        layout.deltaBytes += value.byteLength;
        return [{ type: 'put', ns: deltaNs, key: k, value }];
      }
    }
    const value = utf8.encode(JSON.stringify({ owner, kind, key, s: toB64(t.encode(merged)) }));
    const ops: StorageWrite[] = [{ type: 'put', ns: 'hint', key: id, value }];
    for (const k of layout?.deltaKeys ?? []) ops.push({ type: 'del', ns: deltaNs, key: k });
    this.layouts.set(id, { baseBytes: value.byteLength, deltaKeys: [], deltaBytes: 0, nextSeq: layout?.nextSeq ?? 0 });
    return ops;
  }

  /** Deletes a hint, but only if it still is the version that was delivered (nothing merged in since). */
  async remove(id: string, version?: number): Promise<boolean> {
    return this.lock.run(id, async () => {
      const cur = this.hints.get(id);
      if (cur === undefined || (version !== undefined && cur.version !== version)) return false;
      this.unindex(id);
      const ops: StorageWrite[] = [{ type: 'del', ns: 'hint', key: id }];
      for (const key of this.layouts.get(id)?.deltaKeys ?? []) ops.push({ type: 'del', ns: deltaNs, key });
      this.layouts.delete(id);
      await this.env.storage.write(ops);
      return true;
    });
  }

  get(id: string): Hint | undefined {
    return this.hints.get(id);
  }
}
