// Hinted handoff storage: a fallback replica keeps a write meant for an unreachable home node in the
// "hint" namespace (durably, before it acknowledges) and offers it to that node once it looks healthy.
// Hints for the same (owner, kind, key) are merged into one, so a long outage costs one entry per key.
import type { CoreEnv, NodeId } from './env.js';
import { type DataType, type Kind, type State, KeyedLock, fromB64, toB64 } from './local-store.js';

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

export function hintId(owner: NodeId, kind: Kind, key: string): string {
  return JSON.stringify([owner, kind, key]);
}

export class HintStore {
  private readonly hints = new Map<string, Hint>();
  private readonly byKey = new Map<string, Set<string>>();
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
    for await (const [id, bytes] of this.env.storage.scan('hint')) {
      try {
        const j = JSON.parse(new TextDecoder().decode(bytes)) as { owner: string; kind: Kind; key: string; s: string };
        if (j.kind !== 'kv' && j.kind !== 'cart') continue;
        this.index({ id, owner: j.owner, kind: j.kind, key: j.key, state: this.types[j.kind].decode(fromB64(j.s)), version: ++this.versionSeq });
      } catch (err) {
        this.env.logger.log('warn', 'hint-undecodable', { id, error: (err as Error).message });
      }
    }
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
      const value = utf8.encode(JSON.stringify({ owner, kind, key, s: toB64(t.encode(merged)) }));
      const done = this.env.storage.write([{ type: 'put', ns: 'hint', key: id, value }]);
      if (durable) await done;
      else done.catch(() => undefined);
    });
  }

  /** Deletes a hint, but only if it still is the version that was delivered (nothing merged in since). */
  async remove(id: string, version?: number): Promise<boolean> {
    return this.lock.run(id, async () => {
      const cur = this.hints.get(id);
      if (cur === undefined || (version !== undefined && cur.version !== version)) return false;
      this.unindex(id);
      await this.env.storage.write([{ type: 'del', ns: 'hint', key: id }]);
      return true;
    });
  }

  get(id: string): Hint | undefined {
    return this.hints.get(id);
  }
}
