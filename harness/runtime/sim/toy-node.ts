// A deliberately small quorum register that implements CoreNode, used to test the simulator itself
// (scheduler, network, storage, faults) independently of the reference node. It is NOT a Dynamo: static
// membership, last-writer-wins by wall clock, carts as grow-only item counters, and a coordinator that
// retries unacknowledged replica writes until they land (a stand-in for hinted handoff).
import type {
  CartReadResult,
  CartWriteResult,
  CoreNode,
  GetResult,
  LocalState,
  NodeStatus,
  PutResult,
  RequestOptions,
} from '../../../node/core/api.js';
import type { NodeConfig } from '../../../node/core/config.js';
import type { CoreEnv, NodeId, PeerMessage, TimerHandle } from '../../../node/core/env.js';
import { hash32 } from '../../../node/core/hash.js';

interface Stored {
  /** base64 value, or a JSON cart counter map for cart keys. */
  readonly value: string;
  readonly ts: number;
  readonly origin: NodeId;
}

interface Waiter {
  readonly needed: number;
  replied: number;
  readonly results: Stored[];
  readonly done: (ok: boolean) => void;
}

const newer = (a: Stored | undefined, b: Stored | undefined): Stored | undefined => {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.ts > a.ts || (b.ts === a.ts && b.origin > a.origin) ? b : a;
};

export class ToyQuorumNode implements CoreNode {
  readonly id: NodeId;
  private readonly members: NodeId[];
  private readonly waiters = new Map<number, Waiter>();
  private nextReq = 1;
  private readonly retries = new Map<string, { to: NodeId; key: string; stored: Stored }>();
  private retryTimer: TimerHandle | undefined;
  private stopped = false;
  counters = { hintsDelivered: 0 };

  constructor(
    private readonly config: NodeConfig,
    private readonly env: CoreEnv,
  ) {
    this.id = config.id;
    this.members = [...new Set([config.id, ...config.seeds.map((s) => s.id)])].sort();
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.armRetry();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) this.env.timers.clearTimeout(this.retryTimer);
  }

  preflist(key: string): NodeId[] {
    const start = hash32(key) % this.members.length;
    return Array.from({ length: Math.min(this.config.n, this.members.length) }, (_, i) => this.members[(start + i) % this.members.length]!);
  }

  receive(from: NodeId, message: PeerMessage): void {
    const req = message['req'] as number;
    switch (message.type) {
      case 'toy-put': {
        const stored = message['stored'] as Stored;
        void this.store(message['key'] as string, stored).then(() => this.env.transport.send(from, { type: 'toy-put-ack', req, key: message['key'], stored }));
        break;
      }
      case 'toy-get':
        void this.load(message['key'] as string).then((stored) => this.env.transport.send(from, { type: 'toy-get-reply', req, stored: stored ?? null }));
        break;
      case 'toy-put-ack':
        if (this.retries.delete(`${from}\u0000${message['key'] as string}\u0000${(message['stored'] as Stored).ts}`) && req === 0) {
          this.counters.hintsDelivered++;
        }
        this.reply(req, undefined);
        break;
      case 'toy-get-reply':
        this.reply(req, (message['stored'] as Stored | null) ?? undefined);
        break;
      default:
        this.env.logger.log('warn', 'toy.unknown-message', { type: message.type, from });
    }
  }

  async get(key: string, options?: RequestOptions): Promise<GetResult> {
    const r = options?.r ?? this.config.r;
    const res = await this.quorum(this.preflist(key), r, (req) => ({ type: 'toy-get', req, key }), options?.timeoutMs);
    if (!res.ok) return { ok: false, error: 'quorum', needed: r, replied: res.replied };
    const latest = res.results.reduce<Stored | undefined>(newer, undefined);
    if (latest === undefined) return { ok: true, values: [] };
    return { ok: true, values: [new Uint8Array(Buffer.from(latest.value, 'base64'))], context: `${latest.ts}` };
  }

  async put(key: string, value: Uint8Array, _context: string | undefined, options?: RequestOptions): Promise<PutResult> {
    const stored: Stored = { value: Buffer.from(value).toString('base64'), ts: this.env.clock.wallMs(), origin: this.id };
    return this.write(key, stored, options);
  }

  async delete(key: string, context: string | undefined, options?: RequestOptions): Promise<PutResult> {
    return this.put(key, new Uint8Array(0), context, options);
  }

  async cartRead(key: string, options?: RequestOptions): Promise<CartReadResult> {
    const res = await this.get(key, options);
    if (!res.ok) return res;
    const text = res.values[0] === undefined ? '{}' : Buffer.from(res.values[0]).toString('utf8');
    return { ok: true, items: text === '' ? {} : (JSON.parse(text) as Record<string, number>), context: res.context ?? '' };
  }

  async cartAdd(key: string, item: string, qty: number, options?: RequestOptions): Promise<CartWriteResult> {
    // Read-modify-write: fine for a toy, racy by design (LWW can lose concurrent adds).
    const read = await this.cartRead(key, options);
    if (!read.ok) return read;
    const items = { ...read.items, [item]: (read.items[item] ?? 0) + qty };
    const res = await this.put(key, new Uint8Array(Buffer.from(JSON.stringify(items))), undefined, options);
    return res.ok ? { ok: true } : res;
  }

  async cartRemove(_key: string, _item: string, _context: string): Promise<CartWriteResult> {
    return { ok: false, error: 'bad-request', message: 'the toy node does not remove cart items' };
  }

  status(): NodeStatus {
    return {
      id: this.id,
      members: this.members.map((id) => ({ id, addr: `sim:${id}`, status: 'up' as const })),
      ring: { vnodes: 1, partitions: this.members.length, owned: 1, version: 1 },
      hints: { pending: this.retries.size, delivered: this.counters.hintsDelivered },
      antiEntropy: { rounds: 0, keysRepaired: 0 },
      readRepair: { repairs: 0 },
      config: { n: this.config.n, r: this.config.r, w: this.config.w, sloppy: this.config.sloppy, conflicts: 'lww' },
    };
  }

  async local(key: string): Promise<LocalState | undefined> {
    const stored = await this.load(key);
    if (stored === undefined) return undefined;
    return { kind: 'kv', versions: [{ value: new Uint8Array(Buffer.from(stored.value, 'base64')), clock: { [stored.origin]: stored.ts }, tombstone: false }] };
  }

  async *keys(): AsyncIterable<string> {
    for await (const [k] of this.env.storage.scan('kv')) yield k;
  }

  async digest(): Promise<Record<string, string>> {
    return {};
  }

  async leave(): Promise<void> {
    this.stop();
  }

  private async write(key: string, stored: Stored, options?: RequestOptions): Promise<PutResult> {
    const w = options?.w ?? this.config.w;
    const replicas = this.preflist(key);
    for (const to of replicas) this.retries.set(`${to}\u0000${key}\u0000${stored.ts}`, { to, key, stored });
    const res = await this.quorum(replicas, w, (req) => ({ type: 'toy-put', req, key, stored }), options?.timeoutMs);
    if (!res.ok) return { ok: false, error: 'quorum', needed: w, replied: res.replied };
    return { ok: true, context: `${stored.ts}` };
  }

  /** Sends a request to each replica and resolves when `needed` answered or the timeout passed. */
  private quorum(
    replicas: NodeId[],
    needed: number,
    message: (req: number) => PeerMessage,
    timeoutMs: number | undefined,
  ): Promise<{ ok: boolean; replied: number; results: Stored[] }> {
    return new Promise((resolve) => {
      const req = this.nextReq++;
      const waiter: Waiter = {
        needed,
        replied: 0,
        results: [],
        done: (ok) => {
          this.waiters.delete(req);
          this.env.timers.clearTimeout(timer);
          resolve({ ok, replied: waiter.replied, results: waiter.results });
        },
      };
      this.waiters.set(req, waiter);
      const timer = this.env.timers.setTimeout(() => waiter.done(false), timeoutMs ?? this.config.requestTimeoutMs);
      for (const to of replicas) {
        // The coordinator talks to itself through the network too: simple, and it exercises the sim.
        this.env.transport.send(to, message(req));
      }
    });
  }

  private reply(req: number, stored: Stored | undefined): void {
    const waiter = this.waiters.get(req);
    if (waiter === undefined) return;
    waiter.replied++;
    if (stored !== undefined) waiter.results.push(stored);
    if (waiter.replied >= waiter.needed) waiter.done(true);
  }

  private armRetry(): void {
    if (this.stopped) return;
    this.retryTimer = this.env.timers.setTimeout(() => {
      for (const { to, key, stored } of this.retries.values()) {
        this.env.transport.send(to, { type: 'toy-put', req: 0, key, stored });
      }
      this.armRetry();
    }, this.config.hintIntervalMs);
  }

  private async store(key: string, stored: Stored): Promise<void> {
    const current = await this.load(key);
    if (newer(current, stored) === current && current !== undefined) return;
    await this.env.storage.write([{ type: 'put', ns: 'kv', key, value: new Uint8Array(Buffer.from(JSON.stringify(stored))) }]);
  }

  private async load(key: string): Promise<Stored | undefined> {
    const bytes = await this.env.storage.get('kv', key);
    return bytes === undefined ? undefined : (JSON.parse(Buffer.from(bytes).toString('utf8')) as Stored);
  }
}
