// An in-memory cluster for core tests: virtual time with a timer queue, an in-memory storage per node,
// a message network with per-link partitions and small seeded delays (delivered through the same
// virtual timers), and seeded randomness. Everything is deterministic for a given seed, so a failing
// test replays exactly.
import type { CoreEnv, LogLevel, NodeId, PeerMessage, Storage, StorageWrite, TimerHandle } from '../node/core/env.js';
import { type NodeConfig, defaultNodeConfig } from '../node/core/config.js';
import { DynamoNode } from '../node/core/node.js';
import { deriveSeed, seededRandom } from '../node/core/random.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A manual clock with a queue of one-shot timers; `advance` runs due timers in time order. */
export class VirtualTime {
  nowMs = 0;
  private seq = 0;
  private queue: Timer[] = [];
  private readonly cancelled = new Set<number>();

  schedule(fn: () => void, delayMs: number): TimerHandle {
    const t: Timer = { id: ++this.seq, at: this.nowMs + Math.max(0, delayMs), seq: this.seq, fn };
    // Insertion keeps the queue sorted by (time, creation order), so equal-time timers run FIFO.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.queue[mid] as Timer;
      if (m.at < t.at || (m.at === t.at && m.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, t);
    return { id: t.id };
  }

  clear(handle: TimerHandle): void {
    this.cancelled.add(handle.id);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Pops the next due timer at or before `untilMs`, moving the clock to it. */
  popDue(untilMs: number): Timer | undefined {
    while (this.queue.length > 0) {
      const t = this.queue[0] as Timer;
      if (t.at > untilMs) return undefined;
      this.queue.shift();
      if (this.cancelled.delete(t.id)) continue;
      this.nowMs = Math.max(this.nowMs, t.at);
      return t;
    }
    return undefined;
  }
}

/** Lets every pending promise chain (storage awaits, handlers) run to completion. */
export async function settle(rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export class MemoryStorage implements Storage {
  readonly data = new Map<string, Map<string, Uint8Array>>();
  writes = 0;
  /** Bumped by crash(): batches still waiting for their simulated fsync are then lost. */
  private generation = 0;

  /** With fsyncMs > 0 a batch becomes durable (and visible) only after that much virtual time. */
  constructor(
    private readonly time?: VirtualTime,
    private readonly fsyncMs = 0,
  ) {}

  private ns(ns: string): Map<string, Uint8Array> {
    let m = this.data.get(ns);
    if (m === undefined) this.data.set(ns, (m = new Map()));
    return m;
  }

  async get(ns: string, key: string): Promise<Uint8Array | undefined> {
    const v = this.data.get(ns)?.get(key);
    return v === undefined ? undefined : new Uint8Array(v);
  }

  private apply(batch: readonly StorageWrite[]): void {
    this.writes += 1;
    for (const w of batch) {
      if (w.type === 'put') this.ns(w.ns).set(w.key, new Uint8Array(w.value ?? new Uint8Array(0)));
      else this.ns(w.ns).delete(w.key);
    }
  }

  async write(batch: readonly StorageWrite[]): Promise<void> {
    if (this.time === undefined || this.fsyncMs <= 0) return this.apply(batch);
    const copy = batch.map((w) => ({ ...w, ...(w.value ? { value: new Uint8Array(w.value) } : {}) }));
    const gen = this.generation;
    return new Promise<void>((resolve) => {
      (this.time as VirtualTime).schedule(() => {
        // A crash in between loses the batch and its promise never resolves, as with a dead process.
        if (gen !== this.generation) return;
        this.apply(copy);
        resolve();
      }, this.fsyncMs);
    });
  }

  /** Models a process crash: every batch not yet durable is lost. */
  crash(): void {
    this.generation += 1;
  }

  async *scan(ns: string, prefix = ''): AsyncIterable<[string, Uint8Array]> {
    const m = this.data.get(ns);
    if (m === undefined) return;
    const keys = [...m.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const k of keys) {
      const v = m.get(k);
      if (v !== undefined) yield [k, new Uint8Array(v)];
    }
  }

  count(ns: string): number {
    return this.data.get(ns)?.size ?? 0;
  }
}

export interface ClusterOptions {
  readonly seed?: number;
  /** Message delay range in virtual ms (uniform). */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Simulated fsync latency of every storage write, in virtual ms (default 0: immediate). */
  readonly fsyncMs?: number;
  /** Print node logs at or above this level (default: none). */
  readonly logLevel?: LogLevel;
}

export interface MemoryCluster {
  readonly time: VirtualTime;
  readonly ids: NodeId[];
  node(id: NodeId): DynamoNode;
  storage(id: NodeId): MemoryStorage;
  /** Messages delivered so far, per type (for assertions on traffic). */
  readonly delivered: Map<string, number>;
  advance(ms: number): Promise<void>;
  /** Advances virtual time in small steps until the promise settles (bounded). */
  run<T>(p: Promise<T>, maxMs?: number): Promise<T>;
  partition(a: NodeId, b: NodeId): void;
  /** Cuts every link between the node and the rest. */
  isolate(id: NodeId): void;
  heal(): void;
  crash(id: NodeId): void;
  /** Restarts on the same storage, or on an empty one with `wipe` (a replaced disk). */
  restart(id: NodeId, options?: { wipe?: boolean }): Promise<void>;
  /** Starts a brand-new node that joins through the initial seeds. */
  addNode(id: NodeId, overrides?: Partial<NodeConfig>): Promise<DynamoNode>;
  /** Whether every live node sees every live node "up", all agree on the ring, and no ring transition is open. */
  converged(): boolean;
  stopAll(): void;
}

const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];

export async function makeCluster(n: number, overrides: Partial<NodeConfig> = {}, options: ClusterOptions = {}): Promise<MemoryCluster> {
  const seed = options.seed ?? 1;
  const minDelay = options.minDelayMs ?? 1;
  const maxDelay = options.maxDelayMs ?? 5;
  const time = new VirtualTime();
  const netRandom = seededRandom(deriveSeed(seed, 'network'));
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const addrOf = (id: NodeId): string => `127.0.0.1:${7000 + Number(id.replace(/\D/g, '') || 0)}`;
  const seeds = ids.map((id) => ({ id, addr: addrOf(id) }));
  const nodes = new Map<NodeId, DynamoNode>();
  const storages = new Map<NodeId, MemoryStorage>();
  const configs = new Map<NodeId, NodeConfig>();
  const crashed = new Set<NodeId>();
  const blocked = new Set<string>();
  const delivered = new Map<string, number>();
  const linkKey = (a: NodeId, b: NodeId): string => (a < b ? `${a}|${b}` : `${b}|${a}`);
  const minLevel = options.logLevel === undefined ? Infinity : levels.indexOf(options.logLevel);

  const envFor = (id: NodeId): CoreEnv => ({
    clock: { wallMs: () => 1_700_000_000_000 + time.nowMs, monoMs: () => time.nowMs },
    timers: { setTimeout: (fn, ms) => time.schedule(fn, ms), clearTimeout: (h) => time.clear(h) },
    random: { next: seededRandom(deriveSeed(seed, `node:${id}:${time.nowMs}`)) },
    transport: {
      send(to: NodeId, message: PeerMessage) {
        if (crashed.has(id) || blocked.has(linkKey(id, to))) return;
        // A JSON round trip, as every real transport frames messages: catches anything not serialisable.
        const copy = JSON.parse(JSON.stringify(message)) as PeerMessage;
        const delay = minDelay + Math.floor(netRandom() * (maxDelay - minDelay + 1));
        time.schedule(() => {
          const target = nodes.get(to);
          if (target === undefined || crashed.has(to) || crashed.has(id) || blocked.has(linkKey(id, to))) return;
          delivered.set(copy.type, (delivered.get(copy.type) ?? 0) + 1);
          target.receive(id, copy);
        }, delay);
      },
      learnPeer() {},
    },
    storage: storages.get(id) as MemoryStorage,
    logger: {
      log(level, event, fields) {
        if (levels.indexOf(level) >= minLevel) console.error(`[${time.nowMs}] ${id} ${level} ${event} ${JSON.stringify(fields ?? {})}`);
      },
    },
  });

  const startNode = async (id: NodeId): Promise<DynamoNode> => {
    if (!storages.has(id)) storages.set(id, new MemoryStorage(time, options.fsyncMs ?? 0));
    const node = new DynamoNode(configs.get(id) as NodeConfig, envFor(id));
    nodes.set(id, node);
    crashed.delete(id);
    // start() awaits storage, which with a simulated fsync needs virtual time to pass.
    let started = false;
    const p = node.start().then(() => {
      started = true;
    });
    await settle();
    for (let i = 0; !started && i < 10_000; i++) await advance(1);
    await p;
    return node;
  };

  async function advance(ms: number): Promise<void> {
    const end = time.nowMs + ms;
    for (;;) {
      const t = time.popDue(end);
      if (t === undefined) break;
      t.fn();
      await settle(1);
    }
    time.nowMs = end;
    await settle();
  }

  const makeConfig = (id: NodeId, extra: Partial<NodeConfig> = {}): NodeConfig => ({
    ...defaultNodeConfig,
    partitions: 32,
    ...overrides,
    ...extra,
    id,
    peerAddr: addrOf(id),
    seeds,
  });

  for (const id of ids) configs.set(id, makeConfig(id));
  for (const id of ids) await startNode(id);

  const cluster: MemoryCluster = {
    time,
    ids,
    delivered,
    node: (id) => nodes.get(id) as DynamoNode,
    storage: (id) => storages.get(id) as MemoryStorage,
    advance,
    async run<T>(p: Promise<T>, maxMs = 30_000): Promise<T> {
      let done = false;
      let value: T | undefined;
      let error: unknown;
      let failed = false;
      p.then(
        (v) => {
          done = true;
          value = v;
        },
        (e: unknown) => {
          done = true;
          failed = true;
          error = e;
        },
      );
      await settle();
      const start = time.nowMs;
      while (!done && time.nowMs - start < maxMs) await advance(5);
      if (!done) throw new Error(`operation did not settle within ${maxMs} virtual ms`);
      if (failed) throw error;
      return value as T;
    },
    partition(a, b) {
      blocked.add(linkKey(a, b));
    },
    isolate(id) {
      for (const other of nodes.keys()) if (other !== id) blocked.add(linkKey(id, other));
    },
    heal() {
      blocked.clear();
    },
    crash(id) {
      nodes.get(id)?.stop();
      storages.get(id)?.crash();
      crashed.add(id);
    },
    async restart(id, restartOptions = {}) {
      nodes.get(id)?.stop();
      if (restartOptions.wipe === true) storages.set(id, new MemoryStorage(time, options.fsyncMs ?? 0));
      await startNode(id);
      await settle();
    },
    async addNode(id, extra = {}) {
      configs.set(id, makeConfig(id, extra));
      const node = await startNode(id);
      await settle();
      return node;
    },
    converged() {
      const live = [...nodes.keys()].filter((id) => !crashed.has(id));
      const rings = new Set<string>();
      for (const id of live) {
        const s = (nodes.get(id) as DynamoNode).status();
        for (const other of live) if (!s.members.some((m) => m.id === other && m.status === 'up')) return false;
        // Settled means no earlier ring still awaits its handoff confirmations either.
        if ((s['ringTransition'] as unknown[]).length > 0) return false;
        rings.add(String(s.ringHash));
      }
      return rings.size === 1;
    },
    stopAll() {
      for (const node of nodes.values()) node.stop();
    },
  };
  return cluster;
}

/** Advances until the cluster converged (bounded); returns the virtual ms it took. */
export async function waitConverged(c: MemoryCluster, maxMs = 20_000): Promise<number> {
  const start = c.time.nowMs;
  while (!c.converged()) {
    if (c.time.nowMs - start > maxMs) throw new Error(`cluster did not converge within ${maxMs} virtual ms`);
    await c.advance(50);
  }
  return c.time.nowMs - start;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
