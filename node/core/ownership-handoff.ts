// Ownership handoff on ring changes: a node streams every partition it holds but no longer replicates to
// all of that partition's current homes, deletes a key only after they all acknowledged it and only if it
// did not change meanwhile, and confirms the ring version in its gossiped entry once nothing is left.
import type { NodeId } from './env.js';
import { type Kind, type State, mkey, splitMkey } from './local-store.js';
import type { HandoffMsg, StateEntry } from './messages.js';
import type { NodeContext } from './node-context.js';

/** Keys per handoff message, so one message stays small and one lost message costs little. */
const handoffChunk = 64;
/**
 * Partitions handed off at once. Each streams one chunk per acknowledgement, so this bounds the keys read,
 * encoded and sent in one event-loop turn (handoffParallel × handoffChunk); starting every partition a node
 * gives up at once (a leave, a join taking a third of the ring) put all their first chunks in one turn.
 */
const handoffParallel = 4;

export class OwnershipHandoff {
  private readonly inFlight = new Set<number>();
  /** Partitions this node no longer replicates whose keys all new homes acknowledged, with the ring version. */
  private readonly handedOffPartitions = new Map<number, number>();

  constructor(private readonly ctx: NodeContext) {}

  /**
   * Streams every partition this node holds but no longer replicates to all of its current home replicas,
   * and deletes a key only after they all acknowledged it and only if it did not change meanwhile: writes
   * that reach an old owner during the change are forwarded on the next round, never lost. A tick that
   * finds nothing left to hand off confirms the ring version in this node's gossiped entry.
   */
  tick(): void {
    const { view, store, env } = this.ctx;
    if (view.ring === undefined) return;
    const version = view.ring.version;
    let pending = this.inFlight.size > 0;
    const held = store.partitionsHeld();
    if (this.handedOffPartitions.size > 0) {
      const holding = new Set(held);
      for (const p of this.handedOffPartitions.keys()) if (!holding.has(p)) this.handedOffPartitions.delete(p);
    }
    // Partitions not yet acknowledged in full under this ring go first: with at most handoffParallel in
    // flight, re-sending an acknowledged partition's late writes must not hold back one never handed off.
    const order = [...held].sort((a, b) => Number(this.handedOffPartitions.get(a) === version) - Number(this.handedOffPartitions.get(b) === version) || a - b);
    let waiting = false;
    for (const p of order) {
      if (this.inFlight.has(p)) continue;
      const home = view.homeOfPartition(p);
      if (home.includes(this.ctx.id)) continue;
      // A partition every new home acknowledged in full under this ring no longer holds the confirmation
      // back, even while it still has keys: those keep changing when writes still reach this node through
      // an earlier ring's quorum, and such writes reach W of the new homes too. Waiting for the partition to
      // empty instead would never end under load, since the writes stop only once the transition ends.
      if (this.handedOffPartitions.get(p) !== version) pending = true;
      // Every new home must have acknowledged a key before this copy is deleted: handing off to the
      // healthy ones only and deleting would leave fewer than N replicas, and a read quorum of the new
      // ring could then miss a write the old ring acknowledged. So it waits until all of them look up,
      // except late in a leave, where a partial handoff beats taking the data away with the node.
      const healthy = home.filter((h) => view.isHealthy(h));
      const targets = healthy.length === home.length || view.partialHandoff ? healthy : [];
      if (targets.length === 0) continue;
      if (this.inFlight.size >= handoffParallel) {
        waiting = true;
        continue;
      }
      this.inFlight.add(p);
      this.handoffPartition(p, targets)
        .then((complete) => {
          if (complete && targets.length === home.length && view.ring?.version === version) this.handedOffPartitions.set(p, version);
        })
        .catch((err: unknown) => env.logger.log('error', 'handoff-failed', { partition: p, error: String(err) }))
        .finally(() => {
          this.inFlight.delete(p);
          // A partition left waiting for a slot starts now rather than at the next tick.
          if (waiting) this.ctx.timers.after(0, () => this.tick());
        });
    }
    // Confirmed only from a tick that found nothing left to hand off, so every key the confirmation covers
    // has been acknowledged by all its new homes. Gossip carries it; peers then end the transition.
    if (!pending && view.handedOff !== version) {
      view.handedOff = version;
      view.prunePastRings();
    }
  }

  /** The new home's side: merge every entry durably, then acknowledge the chunk. */
  async onHandoff(from: NodeId, msg: HandoffMsg<State>): Promise<void> {
    for (const e of msg.entries) await this.ctx.store.merge(e.kind, e.key, e.s, this.ctx.faults.durable);
    this.ctx.send(from, { type: 'handoff-ack', req: msg.req });
  }

  /** Hands a partition's keys to `targets`; true when every chunk was acknowledged by all of them. */
  private async handoffPartition(p: number, targets: NodeId[]): Promise<boolean> {
    const { store, actor, counters } = this.ctx;
    const keys = store.keysOf(p);
    for (let i = 0; i < keys.length; i += handoffChunk) {
      const chunk = keys.slice(i, i + handoffChunk);
      const entries: { kind: Kind; key: string; s: unknown; h: string }[] = [];
      for (const m of chunk) {
        const { kind, key } = splitMkey(m);
        const s = await store.get(kind, key);
        const h = store.hashOf(kind, key);
        if (s !== undefined && h !== undefined) entries.push({ kind, key, s: this.ctx.encodeState(kind, s), h });
      }
      if (entries.length === 0) continue;
      const ok = await this.send(targets, entries.map(({ kind, key, s }) => ({ kind, key, s })));
      if (!ok || this.ctx.stopped()) return false;
      for (const e of entries) {
        await store.lock.run(mkey(e.kind, e.key), async () => {
          if (store.hashOf(e.kind, e.key) !== e.h) return;
          // Dots this node minted for the key are about to be forgotten here: never mint them again.
          await actor.freshEpoch();
          await store.del(e.kind, e.key);
          counters.handoffKeys += 1;
        });
      }
    }
    return true;
  }

  /** Sends one chunk to every target; true once all of them acknowledged it. */
  private send(targets: NodeId[], entries: StateEntry<unknown>[]): Promise<boolean> {
    return new Promise((resolve) => {
      const acked = new Set<NodeId>();
      let ok = false;
      const req = this.ctx.requests.start({
        deadlineMs: this.ctx.config.requestTimeoutMs * 3,
        onReply: (from) => {
          if (!targets.includes(from)) return;
          acked.add(from);
          if (acked.size === targets.length) {
            ok = true;
            req.finish();
          }
        },
        onClose: () => resolve(ok),
      });
      for (const t of targets) this.ctx.send(t, { type: 'handoff', req: req.id, entries });
    });
  }
}
