// A fake Runtime for the run's tests: one in-memory, linearizable store behind every "node", on a virtual
// clock, so a whole run takes milliseconds and replays exactly. Partitions make the cut-off nodes answer
// reads with fail and writes with info (applied anyway: an info may have happened); killed or paused nodes
// answer info without applying. `bugs.loseAdds` drops every third cart add while acknowledging it, so a
// test can see the checkers catch a lost write.
import type { ClusterSpec, Grudge, Runtime, RuntimeCapabilities } from '../../harness/runtime/runtime.js';
import type { CartRead, ClientOptions, KvRead, NodeClient, Outcome, ReplicaState } from '../../workloads/client.js';

interface Timer { at: number; seq: number; resolve: () => void }

export class FakeRuntime implements Runtime {
  readonly kind = 'sim' as const;
  private nowMs = 0;
  private seq = 0;
  private timers: Timer[] = [];
  private ids: string[] = [];
  private n = 3;
  private readonly down = new Set<string>();
  private cut = new Set<string>();
  private readonly kv = new Map<string, { values: string[]; version: number }>();
  // An observed-remove cart: every add is a tag; a read's context lists the tags it saw; a remove drops only those.
  private readonly carts = new Map<string, Map<string, Set<number>>>();
  private tags = 0;
  private addCount = 0;
  readonly calls: string[] = [];
  tornDown = false;
  /** The spec setup was given (tests check what the run passed through). */
  spec: ClusterSpec | undefined;

  /** `membership`: nodes can join and leave; a client of a removed node throws, as the local runtime's does. */
  constructor(private readonly bugs: { loseAdds?: boolean; failSetup?: string; membership?: boolean } = {}) {}

  capabilities(): RuntimeCapabilities {
    const membership = this.bugs.membership === true ? true : { unavailable: 'the fake runtime has fixed membership' };
    return { partition: true, clock: true, crash: true, pause: true, membership, 'disk-loss': { unavailable: 'the fake runtime keeps no disk' } };
  }
  async setup(spec: ClusterSpec): Promise<void> {
    this.spec = spec;
    if (this.bugs.failSetup !== undefined) throw new Error(this.bugs.failSetup);
    this.ids = Array.from({ length: spec.nodes }, (_, i) => `n${i + 1}`);
    this.n = spec.n;
  }
  nodeIds(): string[] {
    return [...this.ids];
  }
  nowNs(): number {
    return this.nowMs * 1e6;
  }
  /** Virtual time: a timer fires once nothing else can run (after the current macrotask). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ at: this.nowMs + Math.max(0, ms), seq: this.seq++, resolve });
      setImmediate(() => this.fireEarliest());
    });
  }
  private fireEarliest(): void {
    if (this.timers.length === 0) return;
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const t = this.timers.shift()!;
    this.nowMs = Math.max(this.nowMs, t.at);
    t.resolve();
  }
  async partition(grudge: Grudge): Promise<void> {
    this.calls.push('partition');
    this.cut = new Set(Object.entries(grudge).filter(([, v]) => v.length > 0).map(([k]) => k));
  }
  async heal(): Promise<void> {
    this.calls.push('heal');
    this.cut = new Set();
  }
  async kill(id: string): Promise<void> { this.calls.push(`kill ${id}`); this.down.add(id); }
  async restart(id: string): Promise<void> { this.calls.push(`restart ${id}`); this.down.delete(id); }
  async wipe(id: string): Promise<void> { throw new Error(`the fake runtime keeps no disk; cannot wipe ${id} (definite: nothing was done)`); }
  async pause(id: string): Promise<void> { this.calls.push(`pause ${id}`); this.down.add(id); }
  async resume(id: string): Promise<void> { this.calls.push(`resume ${id}`); this.down.delete(id); }
  async setClockOffset(id: string, offsetMs: number): Promise<void> { this.calls.push(`clock ${id} ${offsetMs}`); }
  private joined = 0;
  async addNode(): Promise<string> {
    if (this.bugs.membership !== true) throw new Error('fixed membership');
    const id = `n${(this.spec?.nodes ?? 0) + ++this.joined}`;
    this.calls.push(`join ${id}`);
    this.ids.push(id);
    return id;
  }
  async removeNode(id: string): Promise<void> {
    if (this.bugs.membership !== true) throw new Error('fixed membership');
    this.calls.push(`leave ${id}`);
    this.ids = this.ids.filter((x) => x !== id);
  }
  logFiles(): Record<string, string> { return {}; }
  async teardown(): Promise<void> { this.tornDown = true; }

  /** A cart's items: each item with a live add, its quantity the number of live adds. */
  itemsOf(key: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [item, tags] of this.carts.get(key) ?? []) if (tags.size > 0) out[item] = tags.size;
    return out;
  }

  client(nodeId: string): NodeClient {
    if (!this.ids.includes(nodeId)) throw new Error(`no such node "${nodeId}" in this cluster (definite: nothing was done)`);
    const rt = this;
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    // Every request takes 2 ms of virtual time, then sees the world as it is.
    const reach = async (): Promise<'up' | 'cut' | 'down'> => {
      await rt.sleep(2);
      return rt.down.has(nodeId) ? 'down' : rt.cut.has(nodeId) ? 'cut' : 'up';
    };
    const readOutcome = <T>(state: 'cut' | 'down'): Outcome<T> =>
      state === 'down' ? { type: 'info', error: 'timeout' } : { type: 'fail', error: 'quorum: needed 2, replied 1' };
    const writeKv = (key: string, value: string | undefined, context: string | undefined): string => {
      const cur = rt.kv.get(key) ?? { values: [], version: 0 };
      // A blind write beside an existing value makes a sibling; a write with the current context replaces.
      const values = value === undefined ? [] : context === String(cur.version) || cur.values.length === 0 ? [value] : [...cur.values, value];
      const next = { values, version: cur.version + 1 };
      rt.kv.set(key, next);
      return String(next.version);
    };
    return {
      nodeId,
      async get(key: string, _o?: ClientOptions): Promise<Outcome<KvRead>> {
        const s = await reach();
        if (s !== 'up') return readOutcome(s);
        const cur = rt.kv.get(key);
        return { type: 'ok', value: { values: (cur?.values ?? []).map((v) => enc.encode(v)), ...(cur ? { context: String(cur.version) } : {}) } };
      },
      async put(key, value, context) {
        const s = await reach();
        if (s === 'down') return { type: 'info', error: 'timeout' };
        const ctx = writeKv(key, dec.decode(value), context);
        return s === 'cut' ? { type: 'info', error: 'quorum: needed 2, replied 1' } : { type: 'ok', value: { context: ctx } };
      },
      async delete(key, context) {
        const s = await reach();
        if (s === 'down') return { type: 'info', error: 'timeout' };
        const ctx = writeKv(key, undefined, context);
        return s === 'cut' ? { type: 'info', error: 'quorum' } : { type: 'ok', value: { context: ctx } };
      },
      async cartRead(key): Promise<Outcome<CartRead>> {
        const s = await reach();
        if (s !== 'up') return readOutcome(s);
        const cart = rt.carts.get(key) ?? new Map<string, Set<number>>();
        const seen = [...cart.values()].flatMap((tags) => [...tags]);
        return { type: 'ok', value: { items: rt.itemsOf(key), context: JSON.stringify(seen) } };
      },
      async cartAdd(key, item, qty) {
        const s = await reach();
        if (s === 'down') return { type: 'info', error: 'timeout' };
        rt.addCount++;
        if (!(rt.bugs.loseAdds === true && rt.addCount % 3 === 0)) {
          const cart = rt.carts.get(key) ?? new Map<string, Set<number>>();
          const tags = cart.get(item) ?? new Set<number>();
          for (let i = 0; i < qty; i++) tags.add(++rt.tags);
          cart.set(item, tags);
          rt.carts.set(key, cart);
        }
        return s === 'cut' ? { type: 'info', error: 'quorum' } : { type: 'ok', value: undefined };
      },
      async cartRemove(key, item, context) {
        const s = await reach();
        if (s === 'down') return { type: 'info', error: 'timeout' };
        const observed = new Set(JSON.parse(context) as number[]);
        const tags = rt.carts.get(key)?.get(item);
        for (const tag of [...(tags ?? [])]) if (observed.has(tag)) tags!.delete(tag);
        return s === 'cut' ? { type: 'info', error: 'quorum' } : { type: 'ok', value: undefined };
      },
      async adminStatus() {
        return { type: 'ok', value: { id: nodeId } };
      },
      async adminLocal(key): Promise<Outcome<ReplicaState>> {
        if (rt.down.has(nodeId)) return { type: 'info', error: 'timeout' };
        if (rt.carts.has(key)) return { type: 'ok', value: { kind: 'cart', items: rt.itemsOf(key) } };
        const cur = rt.kv.get(key);
        if (cur === undefined) return { type: 'ok', value: { kind: 'none' } };
        return { type: 'ok', value: { kind: 'kv', versions: cur.values.map((v) => ({ value: enc.encode(v), clock: { n1: cur.version }, tombstone: false })) } };
      },
      async adminPreflist() {
        return { type: 'ok', value: rt.ids.slice(0, rt.n) };
      },
      async adminLeave() {
        return { type: 'fail', error: 'fixed membership' };
      },
    };
  }
}
