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
import { decodeState } from './messages.js';
import type { NodeContext } from './node-context.js';
import { quorumMet } from './quorum-plan.js';
import { badRequest, quorumError, quorumOf } from './results.js';
import { type Versions, versionsClientContext, versionsLive } from './versions.js';

export class ReadCoordinator {
  /** Open kv reads per key: their replies are in memory, and their read repair is still to come. */
  private readonly open = new Map<string, number>();

  constructor(private readonly ctx: NodeContext) {}

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
    const { view, types, faults, requests } = this.ctx;
    const t = types[kind];
    const plan = view.plan(key);
    const targets = plan.targets;
    const home = view.homeOf(key);
    const replies = new Map<NodeId, State | undefined>();
    const fewer = faults.readFewerThanR;
    if (kind === 'kv') this.open.set(key, (this.open.get(key) ?? 0) + 1);
    return new Promise((resolve) => {
      let answered = false;
      // The fold of the replies in arrival order, kept: replies only ever grow, so the answer's merge
      // is extended rather than redone when the read closes (the same merges, in the same order).
      let folded = t.empty;
      let foldedCount = 0;
      const merged = (): State => {
        let i = 0;
        for (const r of replies.values()) {
          if (i++ < foldedCount) continue;
          if (r !== undefined) folded = t.merge(folded, r);
        }
        foldedCount = i;
        return folded;
      };
      const req = requests.start({
        deadlineMs: timeoutMs,
        onReply: (from, msg) => {
          if (msg.type !== 'read-reply' || replies.has(from) || !targets.some((x) => x.node === from)) return;
          const d = decodeState(types, kind, msg.s);
          if (!d.ok) {
            this.ctx.counters.malformedMessages += 1;
            return;
          }
          replies.set(from, d.state);
          if (!answered && (fewer ? replies.size >= 1 : quorumMet(plan, replies, needed))) {
            answered = true;
            resolve({ ok: true, state: merged() });
          }
          if (replies.size === targets.length) req.finish();
        },
        onClose: () => {
          if (kind === 'kv') {
            const left = (this.open.get(key) ?? 1) - 1;
            if (left <= 0) this.open.delete(key);
            else this.open.set(key, left);
          }
          if (!answered) {
            answered = true;
            resolve(quorumError(needed, replies.size));
            return;
          }
          this.afterRead(kind, key, merged(), replies, home);
        },
      });
      for (const x of targets) this.ctx.send(x.node, { type: 'read', req: req.id, kind, key });
      // No homes at all (a joining node that has not learned the ring yet): nothing can answer.
      if (targets.length === 0) req.finish();
    });
  }

  /** Whether a kv read of `key` this node coordinates is still open (its repair not sent yet). */
  reading(key: string): boolean {
    return this.open.has(key);
  }

  private afterRead(kind: Kind, key: string, merged: State, replies: Map<NodeId, State | undefined>, home: NodeId[]): void {
    const { types, faults, counters, config } = this.ctx;
    const t = types[kind];
    // Read repair switched off (QL_READ_REPAIR=0): the answer came from the first R replies and nobody is
    // repaired.
    if (!faults.noRepair && config.readRepair && !t.isEmpty(merged)) {
      for (const [node, s] of replies) {
        if (!home.includes(node)) continue;
        if (s !== undefined && (t.equal(s, merged) || t.equal(s, t.merge(s, merged)))) continue;
        counters.readRepairs += 1;
        // The replica's reply says what it holds, so it is sent only what it lacks (for a cart, a delta
        // rather than the whole, ever larger cart; a register's versions go whole).
        const repair = s === undefined ? merged : t.missing(merged, s);
        this.ctx.send(node, { type: 'write', kind, key, s: this.ctx.encodeState(kind, repair) });
      }
    }
  }
}
