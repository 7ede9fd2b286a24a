// The read coordinator: sends a read to the plan's targets, answers once the replies meet the quorum, keeps
// listening until every target answered or the deadline passed, then repairs the home replicas that were
// behind (read repair). Tombstones are reaped by tombstone-reaper.ts, which asks this coordinator whether a
// read of a key is still open: its replies may hold a version the repair would send on.
import type { BadRequest, CartReadResult, GetResult, QuorumError, RequestOptions } from './api.js';
import { type CartState, cartView } from './cart.js';
import { encodeCartContext, encodeKvContext } from './context.js';
import type { NodeId } from './env.js';
import { checkKey } from './limits.js';
import type { Kind, State } from './local-store.js';
import { type ReplyMessage, decodeState } from './messages.js';
import type { NodeContext } from './node-context.js';
import { type QuorumPlan, isTarget, quorumMet } from './quorum-plan.js';
import type { CloseReason, OpenRequest, RequestSpec } from './requests.js';
import { badRequest, quorumError, quorumOf } from './results.js';
import { type Versions, versionsClientContext, versionsLive } from './versions.js';

export class ReadCoordinator {
  /** Open kv reads per key: their replies are in memory, and their read repair is still to come. */
  private readonly open = new Map<string, number>();

  constructor(readonly ctx: NodeContext) {}

  async get(key: string, options: RequestOptions = {}): Promise<GetResult> {
    const res = await this.read('kv', key, options);
    if (!res.ok) return res;
    const v = res.state as Versions;
    const values = versionsLive(v).map((s) => s.value as Uint8Array);
    if (v.siblings.length === 0) return { ok: true, values };
    return { ok: true, values, context: encodeKvContext(versionsClientContext(v, this.ctx.config.clockPruneEntries), this.ctx.secret, key) };
  }

  async cartRead(key: string, options: RequestOptions = {}): Promise<CartReadResult> {
    const res = await this.read('cart', key, options);
    if (!res.ok) return res;
    const { items, observed } = cartView(res.state as CartState);
    return { ok: true, items, context: encodeCartContext(observed, this.ctx.secret, key) };
  }

  /** A read of `key` with the request's R (checked against N) and timeout; refused before sending when invalid. */
  private read(kind: Kind, key: string, options: RequestOptions): Promise<{ ok: true; state: State } | QuorumError | BadRequest> {
    const bad = checkKey(key);
    if (bad !== undefined) return Promise.resolve(badRequest(bad));
    const r = quorumOf(options.r, this.ctx.config.r, 'r', this.ctx.config.n);
    if (typeof r === 'string') return Promise.resolve(badRequest(r));
    return this.coordinate(kind, key, r, options.timeoutMs ?? this.ctx.config.requestTimeoutMs);
  }

  /**
   * Sends a read to the targets and answers once `needed` replied (or one, under the
   * 'read-fewer-than-r' fault). It keeps listening until every target answered or the timeout fires,
   * then repairs the replicas that were behind.
   */
  private coordinate(kind: Kind, key: string, needed: number, timeoutMs: number): Promise<{ ok: true; state: State } | QuorumError> {
    const { view, requests } = this.ctx;
    const plan = view.plan(key);
    const targets = plan.targets;
    if (kind === 'kv') this.open.set(key, (this.open.get(key) ?? 0) + 1);
    return new Promise((resolve) => {
      const read = new OpenRead(this, kind, key, plan, needed, timeoutMs, resolve);
      const req = requests.start(read);
      read.request = req;
      // One message for every target: messages are immutable once sent.
      const msg = { type: 'read', req: req.id, kind, key } as const;
      for (const x of targets) this.ctx.send(x.node, msg);
      // No homes at all (a joining node that has not learned the ring yet): nothing can answer.
      if (targets.length === 0) req.finish();
    });
  }

  /** A kv read of `key` closed: it no longer holds replies back from the reaper. */
  closed(kind: Kind, key: string): void {
    if (kind !== 'kv') return;
    const left = (this.open.get(key) ?? 1) - 1;
    if (left <= 0) this.open.delete(key);
    else this.open.set(key, left);
  }

  /** Whether a kv read of `key` this node coordinates is still open (its repair not sent yet). */
  reading(key: string): boolean {
    return this.open.has(key);
  }

  afterRead(kind: Kind, key: string, merged: State, replies: ReadonlyMap<NodeId, State | undefined>, home: readonly NodeId[]): void {
    const { types, faults, counters, config } = this.ctx;
    const t = types[kind];
    // Read repair switched off (QL_READ_REPAIR=0): the answer came from the first R replies and nobody is
    // repaired.
    if (!faults.noRepair && config.readRepair && !t.isEmpty(merged)) {
      for (const [node, s] of replies) {
        if (!home.includes(node)) continue;
        // `merged` is the merge of every reply, this one's too, so merging it into this one gives `merged`
        // again: the replica lacks something exactly when its state is not `merged`. (Asking that of
        // merge(s, merged) as well cost a whole cart merge per lagging replica, for the same answer.)
        if (s !== undefined && t.equal(s, merged)) continue;
        counters.readRepairs += 1;
        // The replica's reply says what it holds, so it is sent only what it lacks (for a cart, a delta
        // rather than the whole, ever larger cart; a register's versions go whole).
        const repair = s === undefined ? merged : t.missing(merged, s);
        this.ctx.send(node, { type: 'write', kind, key, s: this.ctx.encodeState(kind, repair) });
      }
    }
  }
}

/**
 * One read in flight, as its request's own spec (its methods are the request's callbacks, so a read opens
 * no closures of its own). The fold of the replies in arrival order is kept: replies only ever grow, so
 * the answer's merge is extended rather than redone when the read closes (the same merges, in the same
 * order).
 */
class OpenRead implements RequestSpec {
  private readonly replies = new Map<NodeId, State | undefined>();
  private answered = false;
  private folded: State;
  private foldedCount = 0;
  request: OpenRequest | undefined;

  constructor(
    private readonly coordinator: ReadCoordinator,
    private readonly kind: Kind,
    private readonly key: string,
    private readonly plan: QuorumPlan,
    private readonly needed: number,
    readonly deadlineMs: number,
    private readonly resolve: (result: { ok: true; state: State } | QuorumError) => void,
  ) {
    this.folded = coordinator.ctx.types[kind].empty;
  }

  private merged(): State {
    const t = this.coordinator.ctx.types[this.kind];
    let i = 0;
    for (const r of this.replies.values()) {
      if (i++ < this.foldedCount) continue;
      if (r !== undefined) this.folded = t.merge(this.folded, r);
    }
    this.foldedCount = i;
    return this.folded;
  }

  onReply(from: NodeId, msg: ReplyMessage): void {
    const { replies, plan } = this;
    if (msg.type !== 'read-reply' || replies.has(from) || !isTarget(plan.targets, from)) return;
    const ctx = this.coordinator.ctx;
    const d = decodeState(ctx.types, this.kind, msg.s);
    if (!d.ok) {
      ctx.counters.malformedMessages += 1;
      return;
    }
    replies.set(from, d.state);
    if (!this.answered && (ctx.faults.readFewerThanR ? replies.size >= 1 : quorumMet(plan, replies, this.needed))) {
      this.answered = true;
      this.resolve({ ok: true, state: this.merged() });
    }
    if (replies.size === plan.targets.length) this.request?.finish();
  }

  onClose(_reason: CloseReason): void {
    this.coordinator.closed(this.kind, this.key);
    if (!this.answered) {
      this.answered = true;
      this.resolve(quorumError(this.needed, this.replies.size));
      return;
    }
    this.coordinator.afterRead(this.kind, this.key, this.merged(), this.replies, this.plan.home);
  }
}
