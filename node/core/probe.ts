// SWIM-style probing (Das, Gupta and Motivala 2002) for clusters beyond maxPingsPerRound peers, in place of
// pinging many peers a round. Each gossip round this node probes one peer, in a shuffled order that passes
// through every peer before it repeats (so each peer is probed by someone about once a round, and by this
// node within two passes); the peer answers with an ack. A probe unanswered by the next round is sent again,
// directly and through `indirectProbes` other peers (each probes the member for this node and relays its
// ack). If only a relay got through, this node alone cannot reach the member and reports it down itself;
// if nothing did, it also suspects it and gossips the suspicion (membership-view.ts holds it). A node that
// hears of a suspicion reports the member down once the suspicion is suspicionTimeoutMs old, unless the
// member refutes it first: a member hearing of a suspicion of its current entry moves its entry on, and the
// newer entry, wherever it arrives, ends the suspicion; any message from the member itself ends it too.
// A round then costs a node a probe and an ack (plus the indirect ones after a miss) whatever the cluster's
// size, where pinging every peer in turn cost maxPingsPerRound messages and stretched the gap between two
// pings of a peer, and so the time to detect its crash, with the cluster. Phi stays as a backstop
// (membership-view.ts minMeanMs) and as the judge of smaller clusters, which ping every peer each round.
import type { NodeId } from './env.js';
import { ringDigest } from './membership.js';
import type { OutMessage, PingMsg } from './messages.js';
import type { NodeContext } from './node-context.js';

/** Peers asked to probe a member for this node after its direct probe went unanswered (SWIM's k). */
export const indirectProbes = 3;

interface Probe {
  readonly target: NodeId;
  readonly seq: number;
}

export class Prober {
  /** The probe order: a shuffle of `orderOf` (the live peers it was drawn from), walked by `cursor`. */
  private order: NodeId[] = [];
  private orderOf: readonly NodeId[] | undefined;
  private cursor = 0;
  private seq = 0;
  /** This round's direct probe, until it is answered. */
  private direct: (Probe & { acked: boolean }) | undefined;
  /** The probe again, directly and through others, after a miss; `acked` says by which way it was answered. */
  private indirect: (Probe & { acked: 'no' | 'relayed' | 'direct' }) | undefined;

  constructor(
    private readonly ctx: NodeContext,
    /** Pushes this node's view (its suspicions, or its refuting entry) to a few peers at once. */
    private readonly spread: () => void,
  ) {}

  /** One probe round over `peers` (the live peers, sorted; one shared array per roster). */
  round(peers: readonly NodeId[]): void {
    const { view, env } = this.ctx;
    const now = env.clock.monoMs();
    const ind = this.indirect;
    this.indirect = undefined;
    if (ind !== undefined && ind.acked !== 'direct') {
      const at = view.suspicions.current(ind.target);
      // Reached only through others: down here, but not suspected, since the others reach it.
      const failed = ind.acked === 'no';
      if (at !== undefined && view.suspicions.suspect({ id: ind.target, ...at }, now, true, failed) && failed) {
        env.logger.log('info', 'member-suspected', { member: ind.target, ...at });
        this.spread();
      }
    }
    const dir = this.direct;
    this.direct = undefined;
    // A member this node suspects already is not probed indirectly again (its plain probes go on, and an
    // ack ends the suspicion): in a partition every probe of the other side misses, and each miss cost
    // seven more messages.
    if (dir !== undefined && !dir.acked && !view.suspicions.has(dir.target)) {
      const seq = ++this.seq;
      this.indirect = { target: dir.target, seq, acked: 'no' };
      // Sent again directly too, so one lost message does not make the member look unreachable from here.
      this.send(dir.target, { probe: seq });
      for (const h of this.helpers(peers, dir.target)) this.send(h, { probe: seq, target: dir.target });
    }
    // A suspected member is probed again now and then, so its end is seen without waiting for its turn.
    if (view.suspicions.size > 0 && env.random.next() < 0.5) {
      const suspected = view.suspicions.suspected();
      if (suspected.length > 0) this.send(suspected[Math.floor(env.random.next() * suspected.length)] as NodeId, { probe: ++this.seq });
    }
    const target = this.next(peers);
    if (target === undefined) return;
    const seq = ++this.seq;
    this.direct = { target, seq, acked: false };
    this.send(target, { probe: seq });
  }

  /** Answers probes, relays indirect ones and their acks, and records acks of this node's own probes. */
  onPing(from: NodeId, msg: PingMsg): void {
    const self = this.ctx.id;
    if (msg.probe !== undefined) {
      if (msg.target !== undefined) {
        if (msg.target !== self && msg.target !== from) this.send(msg.target, { probe: msg.probe, origin: from });
        return;
      }
      this.send(from, { ack: msg.probe, ...(msg.origin !== undefined ? { origin: msg.origin } : {}) });
      return;
    }
    if (msg.ack === undefined) return;
    if (msg.origin !== undefined) {
      // An ack of a probe this node made for `origin`: forwarded to it, naming who answered.
      if (msg.origin !== self && msg.origin !== from) this.send(msg.origin, { ack: msg.ack, target: from });
      return;
    }
    const relayed = msg.target !== undefined;
    const target = msg.target ?? from;
    const dir = this.direct;
    if (dir !== undefined && !relayed && dir.seq === msg.ack && dir.target === target) dir.acked = true;
    const ind = this.indirect;
    if (ind !== undefined && ind.seq === msg.ack && ind.target === target) ind.acked = relayed ? (ind.acked === 'direct' ? 'direct' : 'relayed') : 'direct';
  }

  private send(to: NodeId, fields: Omit<PingMsg, 'type' | 'membersDigest' | 'ringDigest' | 'suspects' | 'alive'>): void {
    // Probes and acks carry the digests, as pings do (a probed peer whose digests differ starts a gossip
    // exchange: Gossip.onPing), and the suspicions and notices, which spread on them as on gossip.
    const view = this.ctx.view;
    view.refreshSelf();
    const msg: OutMessage = {
      type: 'ping', membersDigest: view.members.digest(), ringDigest: ringDigest(view.ring), ...fields,
      ...view.suspicions.piggyback(this.ctx.env.clock.monoMs()),
    };
    this.ctx.send(to, msg);
  }

  /** The next peer in the probe order; a new shuffle after each pass and whenever the roster changed. */
  private next(peers: readonly NodeId[]): NodeId | undefined {
    if (peers.length === 0) return undefined;
    if (this.orderOf !== peers || this.cursor >= this.order.length) {
      this.order = [...peers];
      const random = this.ctx.env.random;
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(random.next() * (i + 1));
        const x = this.order[i] as NodeId;
        this.order[i] = this.order[j] as NodeId;
        this.order[j] = x;
      }
      this.orderOf = peers;
      this.cursor = 0;
    }
    return this.order[this.cursor++];
  }

  /**
   * Up to indirectProbes distinct healthy peers other than `target`, drawn uniformly: a bounded number of
   * draws, not a health check of every peer (a partition makes every round's probe of the other side miss,
   * and checking all peers for helpers each time was most of a round's cost).
   */
  private helpers(peers: readonly NodeId[], target: NodeId): NodeId[] {
    const out: NodeId[] = [];
    const random = this.ctx.env.random;
    for (let i = 0; i < 4 * indirectProbes && out.length < indirectProbes; i++) {
      const p = peers[Math.floor(random.next() * peers.length)] as NodeId;
      if (p !== target && !out.includes(p) && this.ctx.view.isHealthy(p)) out.push(p);
    }
    return out;
  }
}
