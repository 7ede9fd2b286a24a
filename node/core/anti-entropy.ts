// Merkle anti-entropy: each round this node sends one healthy peer that shares partitions with it the
// Merkle root of every partition both replicate; partitions whose roots differ exchange leaf hashes, then
// the key hashes of the differing buckets, and finally only the states one side lacks.
import type { NodeId } from './env.js';
import { type Kind, type State, splitMkey } from './local-store.js';
import { diffBuckets } from './merkle.js';
import type { AeHashesMsg, AeLeavesMsg, AeRootsMsg, AeStatesMsg, StateEntry } from './messages.js';
import type { NodeContext } from './node-context.js';

/** Partitions whose keys one anti-entropy round may exchange, so a round's messages stay bounded. */
const aeMaxPartitionsPerRound = 32;

export class AntiEntropy {
  constructor(private readonly ctx: NodeContext) {}

  /**
   * One anti-entropy round: pick a healthy peer that shares partitions with this node and send it the
   * Merkle root of every partition both replicate. The peer answers, for each partition whose root
   * differs (at most aeMaxPartitionsPerRound), with that partition's leaf hashes, and the bucket and key
   * exchange below moves only the differing keys. Comparing every shared partition per round matters:
   * syncing one random partition per round left replicas apart for minutes once a node held a few hundred
   * partitions.
   */
  tick(): void {
    const { faults, view, store, counters } = this.ctx;
    if (faults.noRepair || !this.ctx.config.antiEntropy) return;
    const mine = view.replicatedPartitions();
    const shared = new Map<NodeId, number[]>();
    for (const p of mine) {
      for (const h of view.homeOfPartition(p)) {
        if (h === this.ctx.id) continue;
        let list = shared.get(h);
        if (list === undefined) shared.set(h, (list = []));
        list.push(p);
      }
    }
    const candidates = [...shared.keys()].filter((h) => view.isHealthy(h)).sort();
    const peer = candidates.length === 0 ? undefined : candidates[Math.floor(this.ctx.env.random.next() * candidates.length)];
    if (peer === undefined) return;
    const roots: Record<string, string> = {};
    for (const p of shared.get(peer)!) roots[p] = store.tree(p).root();
    counters.aeRounds += 1;
    this.ctx.send(peer, { type: 'ae-roots', roots });
  }

  onRoots(from: NodeId, msg: AeRootsMsg): void {
    // QL_ANTI_ENTROPY=0 also means not answering a peer that still runs it: no Merkle exchange at all.
    if (this.ctx.faults.noRepair || !this.ctx.config.antiEntropy) return;
    const mine = new Set(this.ctx.view.replicatedPartitions());
    let budget = aeMaxPartitionsPerRound;
    for (const [key, root] of Object.entries(msg.roots)) {
      const p = Number(key);
      if (!Number.isInteger(p) || !mine.has(p)) continue;
      const tree = this.ctx.store.tree(p);
      if (tree.root() === root) continue;
      this.ctx.send(from, { type: 'ae-leaves', p, leaves: tree.leafHashes() });
      if (--budget === 0) break;
    }
  }

  onLeaves(from: NodeId, msg: AeLeavesMsg): void {
    const tree = this.ctx.store.tree(msg.p);
    const buckets = diffBuckets(tree.leafHashes(), msg.leaves as string[]);
    if (buckets.length > 0) this.ctx.send(from, { type: 'ae-hashes', p: msg.p, buckets, hashes: Object.fromEntries(tree.entriesInBuckets(buckets)) });
  }

  /** Initiator: compares key hashes in the differing buckets, pushes what the peer lacks, asks for the rest. */
  async onHashes(from: NodeId, msg: AeHashesMsg): Promise<void> {
    const theirs = msg.hashes;
    const mine = Object.fromEntries(this.ctx.store.tree(msg.p).entriesInBuckets(msg.buckets as number[]));
    const push = Object.keys(mine).filter((k) => theirs[k] !== mine[k]);
    const want = Object.keys(theirs).filter((k) => mine[k] !== theirs[k]);
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
