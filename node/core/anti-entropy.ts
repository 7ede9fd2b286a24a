// Merkle anti-entropy: each round this node sends one healthy peer that shares partitions with it the
// Merkle root of every partition both replicate; partitions whose roots differ exchange leaf hashes, then
// the key hashes of the differing buckets, and finally only the states one side lacks. A round runs in
// slices bounded by work counts, one per event-loop turn, so it never blocks the node's requests for long.
import type { NodeId } from './env.js';
import { type Kind, type State, splitMkey } from './local-store.js';
import { DEFAULT_MERKLE_BUCKETS, diffBuckets } from './merkle.js';
import type { AeHashesMsg, AeLeavesMsg, AeRootsMsg, AeStatesMsg, StateEntry } from './messages.js';
import type { NodeContext } from './node-context.js';

/**
 * The bounds of one slice of anti-entropy work, so that no slice holds the event loop for more than about
 * a millisecond. Slices are bounded by work counts, never by time (the core has no clock to read); the next
 * slice of a round is a 0 ms timer, so requests and replies queued meanwhile run between two slices.
 * Under PUT load one unsliced round (every shared partition's root, up to 32 partitions' leaves, their
 * keys) held a node's loop for tens of milliseconds on this 2-core machine.
 */
/** Partition roots per ae-roots message: one slice of a round. */
const aeSlicePartitions = 16;
/** Merkle buckets rehashed per slice, on either side; at least a tree's bucket count, so a slice always completes one tree. */
const aeSliceBuckets = DEFAULT_MERKLE_BUCKETS;
/** Partitions one ae-roots message may be answered with leaves for, so the replies to one slice stay bounded. */
const aeLeavesPerSlice = 4;
/** Keys one partition's exchange (ae-hashes, and the states pushed and asked for) may carry. */
const aeSliceKeys = 256;

interface Round {
  readonly peer: NodeId;
  readonly partitions: readonly number[];
  /** Index of the next partition whose root goes out. */
  next: number;
  /** Anti-entropy ticks that found this round still going; a round outliving two is dropped (see tick). */
  ticksSeen: number;
}

export class AntiEntropy {
  private round: Round | undefined;
  /** Rotates where a responder starts among the differing partitions, so none is always the one left out. */
  private answered = 0;

  /** layout() as last built, and the ring it was built for. */
  private layoutCache: { ring: unknown; mine: ReadonlySet<number>; shared: ReadonlyMap<NodeId, readonly number[]> } | undefined;

  constructor(private readonly ctx: NodeContext) {}

  /**
   * The partitions this node replicates and, per peer, those both replicate: a function of the ring, so
   * built once per ring (each round walked every replicated partition's homes anew, and each ae-roots
   * received built the set again: 154 partitions a node at 20 nodes and Q = 1024).
   */
  private layout(): { mine: ReadonlySet<number>; shared: ReadonlyMap<NodeId, readonly number[]> } {
    const view = this.ctx.view;
    const cached = this.layoutCache;
    if (cached !== undefined && cached.ring === view.ring && view.ring !== undefined) return cached;
    const parts = view.replicatedPartitions();
    const shared = new Map<NodeId, number[]>();
    for (const p of parts) {
      for (const h of view.homeOfPartition(p)) {
        if (h === this.ctx.id) continue;
        let list = shared.get(h);
        if (list === undefined) shared.set(h, (list = []));
        list.push(p);
      }
    }
    this.layoutCache = { ring: view.ring, mine: new Set(parts), shared };
    return this.layoutCache;
  }

  /**
   * Starts one anti-entropy round: pick a healthy peer that shares partitions with this node and send it the
   * Merkle root of every partition both replicate, in slices (`step`). The peer answers each slice with the
   * leaf hashes of up to aeLeavesPerSlice partitions whose root differs, and the bucket and key exchange
   * below moves only the differing keys. Comparing every shared partition per round matters: syncing one
   * random partition per round left replicas apart for minutes once a node held a few hundred partitions.
   */
  tick(): void {
    const { faults, view, counters } = this.ctx;
    if (faults.noRepair || !this.ctx.config.antiEntropy) return;
    if (this.round !== undefined && ++this.round.ticksSeen < 2) return;
    // A round still going a whole period later is replaced: under extreme load (or after a stop cleared its
    // slice timer) a new round with a fresh peer beats one that never ends.
    this.round = undefined;
    const { shared } = this.layout();
    const candidates = [...shared.keys()].filter((h) => view.isHealthy(h)).sort();
    const peer = candidates.length === 0 ? undefined : candidates[Math.floor(this.ctx.env.random.next() * candidates.length)];
    if (peer === undefined) return;
    counters.aeRounds += 1;
    this.round = { peer, partitions: shared.get(peer)!, next: 0, ticksSeen: 0 };
    this.step(this.round);
  }

  /**
   * One slice of a round: brings up to aeSliceBuckets stale Merkle buckets up to date and sends the roots of
   * the (at most aeSlicePartitions) partitions it completed; the rest of the round follows on a 0 ms timer.
   */
  private step(round: Round): void {
    if (this.round !== round) return;
    const { store } = this.ctx;
    if (this.ctx.faults.noRepair || !this.ctx.config.antiEntropy) {
      this.round = undefined;
      return;
    }
    const roots: Record<string, string> = {};
    let budget = aeSliceBuckets;
    let sent = 0;
    while (round.next < round.partitions.length && sent < aeSlicePartitions) {
      const p = round.partitions[round.next] as number;
      const tree = store.tree(p);
      // A tree that would overrun this slice's budget waits for the next slice, which starts with a full one.
      if (sent > 0 && tree.dirtyBuckets > budget) break;
      budget -= tree.refreshSome(budget);
      if (tree.dirtyBuckets > 0) break;
      roots[p] = tree.root();
      round.next += 1;
      sent += 1;
    }
    if (sent > 0) this.ctx.send(round.peer, { type: 'ae-roots', roots });
    if (round.next < round.partitions.length) this.ctx.timers.after(0, () => this.step(round));
    else this.round = undefined;
  }

  onRoots(from: NodeId, msg: AeRootsMsg): void {
    // QL_ANTI_ENTROPY=0 also means not answering a peer that still runs it: no Merkle exchange at all.
    if (this.ctx.faults.noRepair || !this.ctx.config.antiEntropy) return;
    const { mine } = this.layout();
    const entries = Object.entries(msg.roots);
    // Bounded like a slice of the sender's: at most aeSliceBuckets stale buckets rehashed here (one tree at
    // least), and leaves for at most aeLeavesPerSlice differing partitions. Partitions left unanswered are
    // compared again next round; the starting point rotates so that none is always the one left out.
    const start = entries.length === 0 ? 0 : this.answered++ % entries.length;
    let rehashed = 0;
    let leaves = 0;
    for (let i = 0; i < entries.length && leaves < aeLeavesPerSlice; i++) {
      const [key, root] = entries[(start + i) % entries.length] as [string, string];
      const p = Number(key);
      if (!Number.isInteger(p) || !mine.has(p)) continue;
      const tree = this.ctx.store.tree(p);
      if (rehashed > 0 && rehashed + tree.dirtyBuckets > aeSliceBuckets) break;
      rehashed += tree.dirtyBuckets;
      if (tree.root() === root) continue;
      this.ctx.send(from, { type: 'ae-leaves', p, leaves: tree.leafHashes() });
      leaves += 1;
    }
  }

  /**
   * Initiator: lists its key hashes in the buckets that differ, as many buckets as fit in aeSliceKeys keys
   * (one at least); the rest differ again next round. Where the list starts rotates with the rounds.
   */
  onLeaves(from: NodeId, msg: AeLeavesMsg): void {
    const tree = this.ctx.store.tree(msg.p);
    const differing = diffBuckets(tree.leafHashes(), msg.leaves as string[]);
    if (differing.length === 0) return;
    const start = this.ctx.counters.aeRounds % differing.length;
    const buckets: number[] = [];
    let keys = 0;
    for (let i = 0; i < differing.length; i++) {
      const b = differing[(start + i) % differing.length] as number;
      const n = tree.bucketSize(b);
      if (buckets.length > 0 && keys + n > aeSliceKeys) break;
      buckets.push(b);
      keys += n;
    }
    this.ctx.send(from, { type: 'ae-hashes', p: msg.p, buckets, hashes: Object.fromEntries(tree.entriesInBuckets(buckets)) });
  }

  /** Initiator: compares key hashes in the differing buckets, pushes what the peer lacks, asks for the rest. */
  async onHashes(from: NodeId, msg: AeHashesMsg): Promise<void> {
    const theirs = msg.hashes;
    const mine = Object.fromEntries(this.ctx.store.tree(msg.p).entriesInBuckets(msg.buckets as number[]));
    // Bounded like the rest of a slice; keys left out still differ, and the next round exchanges them.
    const push = Object.keys(mine).filter((k) => theirs[k] !== mine[k]).slice(0, aeSliceKeys);
    const want = Object.keys(theirs).filter((k) => mine[k] !== theirs[k]).slice(0, aeSliceKeys);
    this.ctx.send(from, { type: 'ae-states', p: msg.p, entries: await this.entriesFor(push), want });
  }

  async onStates(from: NodeId, msg: AeStatesMsg<State>): Promise<void> {
    if (this.ctx.faults.noRepair) return;
    for (const e of msg.entries) {
      const { changed } = await this.ctx.store.merge(e.kind, e.key, e.s, this.ctx.faults.durable);
      if (changed) this.ctx.counters.keysRepaired += 1;
    }
    if (msg.want.length > 0) {
      this.ctx.send(from, { type: 'ae-states', p: msg.p, entries: await this.entriesFor(msg.want), want: [] });
    }
  }

  private async entriesFor(mkeys: readonly string[]): Promise<StateEntry<unknown>[]> {
    const out: { kind: Kind; key: string; s: unknown }[] = [];
    for (const m of mkeys) {
      const { kind, key } = splitMkey(m);
      if (kind !== 'kv' && kind !== 'cart') continue;
      const s = await this.ctx.store.get(kind, key);
      if (s !== undefined) out.push({ kind, key, s: this.ctx.encodeState(kind, s) });
    }
    return out;
  }
}
