// Tombstone reaping without reads, on anti-entropy's timer. A home replica holding a tombstone (a kv state
// of deletes only) asks every member of the cluster about it; the tombstone is reaped once two such checks,
// at least the grace period (QL_TOMBSTONE_GRACE_MS) apart, both found it the only state of its key anywhere.
//
// Why this cannot bring a deleted value back. A value comes back when an older state of the key reaches a
// replica after the tombstone that covered it was dropped there. An older state can only be (1) stored on
// some node, (2) a hint on some node, (3) in the replies of a read that some node still coordinates (its
// read repair is still to come), or (4) in a message under way. A check passes only if
//   - every member that has not left the cluster answered (a member that is down, paused or cut off
//     answers nothing, so it blocks every reap until it is back): a replica that missed the delete cannot
//     be passed over, and is repaired by anti-entropy before the next check can pass (Riak's rule of
//     waiting for all primaries, rather than Cassandra's "repair within gc_grace or risk resurrection");
//   - every one of them is on this node's ring version with no ring transition open, so all agree on who
//     the homes are and no earlier owner still hands data over;
//   - each holds either exactly this tombstone (the same Merkle value hash) or nothing at all for the key:
//     no stored state, no hint (whoever it is for), no open read of it,
// which rules out (1) to (3) at the moment each answered. Messages under way at that moment arrive within
// the transport's delay bound (the process drops peer frames later than QL_PEER_MAX_DELAY_MS; hint offers
// are retried only after a request timeout), hence the grace period between the two checks: anything under
// way at the first check has arrived before the second. Arriving at a home it merges into the tombstone,
// which covers it (a state the tombstone does not cover makes a sibling, changes the hash and fails the
// second check); arriving anywhere else it becomes a hint or a stored state, and fails the second check.
// A home may already hold nothing: a reap message was lost, or the delete never reached it but neither did
// anything it deleted. A member that left with an incomplete handoff ('leave-handoff-incomplete') is no
// longer asked; bringing such a node back with its old disk after a reap is the one case this cannot cover
// (Cassandra's node down for longer than gc_grace): wipe its disk first.
import type { NodeId } from './env.js';
import type { ReapCheckMsg, ReapCheckReplyMsg } from './messages.js';
import type { NodeContext } from './node-context.js';

/** Tombstones one check asks about, so a check's messages stay bounded; the rest wait for later rounds. */
const reapCheckBatch = 256;

export class TombstoneReaper {
  /** Tombstones whose last check passed: the hash that check saw, and when it completed (monotonic). */
  private readonly passed = new Map<string, { h: string; atMs: number }>();
  private checking = false;
  /** Where the next batch starts in the sorted list of candidates, so every tombstone gets its turn. */
  private cursor = '';

  constructor(
    private readonly ctx: NodeContext,
    /** Whether this node coordinates an open kv read of the key (read-coordinator.ts). */
    private readonly reading: (key: string) => boolean,
  ) {}

  /** Tombstones whose first check passed and wait for the grace period (for /admin/status). */
  get waiting(): number {
    return this.passed.size;
  }

  /** One round: checks a batch of the tombstones this node holds as a home replica. */
  tick(): void {
    const { view, store, config } = this.ctx;
    if (this.checking) return;
    if (view.ring === undefined || view.pastRings.length > 0) {
      // A ring transition voids every earlier check: the homes are changing.
      this.passed.clear();
      return;
    }
    const candidates = store.tombstones().filter((k) => view.homeOf(k).includes(this.ctx.id));
    const held = new Set(candidates);
    for (const k of [...this.passed.keys()]) if (!held.has(k)) this.passed.delete(k);
    if (candidates.length === 0) return;
    const start = candidates.findIndex((k) => k > this.cursor);
    const rotated = start <= 0 ? candidates : [...candidates.slice(start), ...candidates.slice(0, start)];
    const batch = rotated.slice(0, reapCheckBatch);
    this.cursor = batch.length < candidates.length ? (batch[batch.length - 1] as string) : '';
    const keys: { key: string; h: string }[] = [];
    for (const key of batch) {
      const h = store.hashOf('kv', key);
      if (h !== undefined) keys.push({ key, h });
    }
    const members = [...view.members.values()].filter((m) => m.id !== this.ctx.id && m.status !== 'left').map((m) => m.id);
    const ringVersion = view.ring.version;
    const sentAtMs = this.ctx.env.clock.monoMs();
    const replies = new Map<NodeId, ReapCheckReplyMsg>();
    this.checking = true;
    const req = this.ctx.requests.start({
      deadlineMs: config.requestTimeoutMs,
      onReply: (from, msg) => {
        if (msg.type !== 'reap-check-reply' || !members.includes(from)) return;
        replies.set(from, msg);
        if (replies.size === members.length) req.finish();
      },
      onClose: () => {
        this.checking = false;
        void this.conclude(keys, members, replies, ringVersion, sentAtMs).catch((err: unknown) =>
          this.ctx.env.logger.log('error', 'reap-check-failed', { error: String(err) }),
        );
      },
    });
    for (const m of members) this.ctx.send(m, { type: 'reap-check', req: req.id, keys });
    if (members.length === 0) req.finish();
  }

  /** A member's side of a check: which of the keys it holds exactly as asked, and of which it holds nothing. */
  onCheck(from: NodeId, msg: ReapCheckMsg): void {
    const { view } = this.ctx;
    const held: string[] = [];
    const absent: string[] = [];
    for (const { key, h } of msg.keys) {
      const verdict = this.localVerdict(key, h);
      if (verdict === 'held') held.push(key);
      else if (verdict === 'absent') absent.push(key);
    }
    this.ctx.send(from, { type: 'reap-check-reply', req: msg.req, ring: view.ring?.version ?? 0, transition: view.pastRings.length > 0, held, absent });
  }

  /** What this node holds of a key the reaper asks about: exactly that tombstone, nothing at all, or other. */
  private localVerdict(key: string, h: string): 'held' | 'absent' | 'other' {
    const { store, hints } = this.ctx;
    if (this.reading(key) || hints.statesFor('kv', key).length > 0) return 'other';
    const mine = store.hashOf('kv', key);
    if (mine === undefined) return 'absent';
    return mine === h && store.isTombstone(key) ? 'held' : 'other';
  }

  /**
   * Ends a check. A key passes when every member answered on this ring with no transition open and each
   * holds exactly this tombstone or nothing of the key (and so does this node). The first pass starts the
   * grace period, counted from when that check completed; a pass whose questions went out at least the
   * grace period later reaps the tombstone on every node that holds it. A failed check starts over.
   */
  private async conclude(
    keys: { key: string; h: string }[],
    members: NodeId[],
    replies: Map<NodeId, ReapCheckReplyMsg>,
    ringVersion: number,
    sentAtMs: number,
  ): Promise<void> {
    const { view, store, config, env } = this.ctx;
    const now = env.clock.monoMs();
    const answers = [...replies.entries()].map(([from, r]) => ({ from, held: new Set(r.held), absent: new Set(r.absent) }));
    const agreed =
      replies.size === members.length &&
      view.ring?.version === ringVersion &&
      view.pastRings.length === 0 &&
      [...replies.values()].every((r) => r.ring === ringVersion && !r.transition);
    for (const { key, h } of keys) {
      const ok = agreed && this.localVerdict(key, h) === 'held' && answers.every((a) => a.held.has(key) || a.absent.has(key));
      if (!ok) {
        this.passed.delete(key);
        continue;
      }
      const first = this.passed.get(key);
      if (first === undefined || first.h !== h) {
        this.passed.set(key, { h, atMs: now });
        continue;
      }
      if (sentAtMs - first.atMs < config.tombstoneGraceMs) continue;
      this.passed.delete(key);
      const s = await store.get('kv', key);
      if (s === undefined || store.hashOf('kv', key) !== h) continue;
      const encoded = this.ctx.encodeState('kv', s);
      for (const a of answers) if (a.held.has(key)) this.ctx.send(a.from, { type: 'reap', key, s: encoded });
      this.ctx.send(this.ctx.id, { type: 'reap', key, s: encoded });
    }
  }
}
