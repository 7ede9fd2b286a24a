// Gossip membership: each round this node sends its member entries and ring to one healthy peer (a seed
// now and then, to heal a split view) and pings the rest to feed their failure detectors (in a cluster of
// more than maxPingsPerRound peers it probes one peer a round instead, SWIM-style: probe.ts, with the
// suspicions and alive notices of suspicions.ts riding on gossip); a gossip it
// receives is merged entry by entry (newest wins), and a ring change is pushed to every peer at once.
// A membership change is acted on at once, but a node computes at most one ring of its own per gossip
// interval: the changes that arrive within an interval of its last ring wait for the next round and go
// into one ring. Computed on every gossip, a forming cluster walks each node through a ring per member it
// hears of, and the nodes, hearing in different orders, through different rings: O(members²) rings of
// O(Q) each where a few suffice.
// The ring (O(Q)) is sent only to a peer whose last gossip named another ring: each gossip carries the
// sender's ring digest, a peer that has the same ring gets the digest alone, and a node told of a ring it
// does not have answers with its own ring and asks for the sender's. Earlier rings still in transition
// always travel: they are few, short-lived, and a node must never miss one (quorums of a transition).
// The member entries (O(members)) travel the same way, behind a digest of the member table: a node's entry
// changes only when its state does (not every round), so in a settled cluster every table is the same and
// a gossip carries two digests. Without this every gossip carried, and every receiver checked and merged,
// every entry: O(members²) a round for the cluster. A peer whose digest is a recent state of our table gets
// only the entries changed since (MemberTable.delta).
import type { NodeId } from './env.js';
import type { SeedPeer } from './config.js';
import { type Liveness, type MemberEntry, type VersionedRing, entryNewer, ringDigest, ringToJson } from './membership.js';
import { maxPingsPerRound } from './membership-view.js';
import type { GossipMsg, OutMessage, PingMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import { Prober } from './probe.js';

/**
 * The members `entries` name when they are as many distinct members as `digest` (MemberTable.digest: count,
 * colon, hash) counts — the sender's whole table; undefined otherwise.
 */
function wholeTable(entries: readonly MemberEntry[], digest: string | undefined): ReadonlySet<NodeId> | undefined {
  if (digest === undefined) return undefined;
  const colon = digest.indexOf(':');
  if (colon < 0 || Number(digest.slice(0, colon)) !== entries.length) return undefined;
  const ids = new Set<NodeId>();
  for (const e of entries) ids.add(e.id);
  return ids.size === entries.length ? ids : undefined;
}

/** Peers a raised suspicion or a refuting notice is pushed to at once; gossip carries it on from them. */
const spreadFanout = 4;

export class Gossip {
  /** When this node last computed a ring of its own (monotonic ms). */
  private lastOwnRingMs = Number.NEGATIVE_INFINITY;
  /** Suspicion and notice lists already taken (onLiveness). */
  private readonly seenLists = new WeakSet<readonly Liveness[]>();
  /** Probes in place of pings beyond maxPingsPerRound peers (probe.ts). */
  private readonly prober: Prober;
  /** The seeds but this node (the config never changes): every round may gossip to one, and a list of all nodes is long. */
  private readonly otherSeeds: readonly SeedPeer[];

  constructor(
    private readonly ctx: NodeContext,
    /** Called when a gossip changed the ring, before the change is pushed on (ownership handoff). */
    private readonly onRingChanged: () => void,
  ) {
    this.prober = new Prober(ctx, () => this.spread());
    this.otherSeeds = ctx.config.seeds.filter((s) => s.id !== ctx.id);
  }

  /**
   * This node's view for `to`: the ring and the entries only if `to` did not name the same ones last (the
   * entries that changed since, when its table is a recent state of ours). `digestsOnly` leaves both out
   * whatever `to` named: a peer that has others asks (onGossip).
   */
  message(to: NodeId, reply: boolean, digestsOnly = false, lacking?: readonly MemberEntry[]): OutMessage {
    const view = this.ctx.view;
    view.refreshSelf();
    if (digestsOnly) return this.build(reply, false, undefined);
    const peer = view.knownPeer(to);
    const known = peer?.membersDigest;
    // Deltas only where the cluster probes: in a smaller one they changed the default 5-node run's history
    // (same verdict; the receiver merges the same entries, in another order), and there every gossip is
    // small anyway. `lacking` (onGossip: what a peer that just sent its whole table lacks) is exact.
    const members = known === view.members.digest() ? undefined : (lacking ?? (view.probing() ? view.members.delta(known) : undefined) ?? view.entries());
    return this.build(reply, peer?.ringDigest !== ringDigest(view.ring), members);
  }

  /** The gossip message; both callers refresh this node's entry first (they read the digests from it). */
  private build(reply: boolean, withRing: boolean, members: readonly MemberEntry[] | undefined): OutMessage {
    const view = this.ctx.view;
    return {
      type: 'gossip', reply, ...(members !== undefined ? { members } : {}), membersDigest: view.members.digest(), ringDigest: ringDigest(view.ring),
      ...(withRing ? { ring: view.ring === undefined ? null : ringToJson(view.ring) } : {}),
      ...(view.pastRings.length > 0 ? { pastRings: view.pastRings.map(ringToJson) } : {}),
      ...view.suspicions.piggyback(this.ctx.env.clock.monoMs()),
    };
  }

  /**
   * Pushes a suspicion this node raised, or its notice refuting one of it, to a few live peers at once: it
   * must not wait for one gossip a round to start spreading. Digests only, without ring or entries: what
   * this node knows of a peer's digests may be rounds old (probes are rare), and a peer whose digests differ
   * asks (onGossip).
   */
  private spread(): void {
    const msg = this.light();
    this.sample(this.ctx.view.livePeers(), spreadFanout, (p) => this.ctx.send(p, msg));
  }

  /** A gossip with the digests, suspicions and notices but neither ring nor entries, asking for no answer. */
  private light(): OutMessage {
    this.ctx.view.refreshSelf();
    return this.build(false, false, undefined);
  }

  /** Pushes this node's view to every live peer, asking for no answer. */
  broadcast(): void {
    // At most four messages for all, with and without the ring and the entries: building one is
    // O(members), and the ring's O(Q).
    const view = this.ctx.view;
    const peers = view.livePeers();
    if (peers.length === 0) return;
    view.refreshSelf();
    const ring = ringDigest(view.ring);
    const members = view.members.digest();
    const built: (OutMessage | undefined)[] = [];
    const probing = view.probing();
    const push = (p: NodeId): void => {
      const known = view.knownPeer(p);
      const withRing = known?.ringDigest !== ring;
      const withMembers = known?.membersDigest !== members;
      // Probing, a peer whose table is a recent state of ours gets what changed since (as message() sends).
      const delta = withMembers && probing ? view.members.delta(known?.membersDigest) : undefined;
      if (delta !== undefined) return this.ctx.send(p, this.build(false, withRing, delta));
      const k = (withRing ? 1 : 0) + (withMembers ? 2 : 0);
      this.ctx.send(p, (built[k] ??= this.build(false, withRing, withMembers ? view.entries() : undefined)));
    };
    if (peers.length <= maxPingsPerRound) {
      for (const p of peers) push(p);
      return;
    }
    // In a large cluster every node that takes a new ring would otherwise push it to every peer: O(members²)
    // messages per ring version, most of a forming cluster's traffic. Here it goes to at most
    // maxPingsPerRound peers, drawn among those not known to have this ring and table; each of them pushes it
    // on when it takes it, so it still reaches everyone within a few hops (log base maxPingsPerRound of the
    // members), and the digests in pings and gossip repair any peer it misses.
    this.sample(peers.filter((p) => { const known = view.knownPeer(p); return known?.ringDigest !== ring || known.membersDigest !== members; }), maxPingsPerRound, push);
  }

  /** The first gossip of a node that just started: to its seeds, asking for theirs. */
  greetSeeds(): void {
    const seeds = this.otherSeeds;
    if (seeds.length <= maxPingsPerRound) {
      for (const s of seeds) this.ctx.send(s.id, this.message(s.id, true));
      return;
    }
    // A node that restarts knowing a large cluster (its table read from disk) greets with the digests alone:
    // a seed whose table differs answers with its whole table and asks for ours, and this node's answer
    // then holds only what the seed lacks (onGossip). Greeting with the whole table made a restart of every
    // node carry each table four times per greeting (there and back), nearly all of it already known.
    const digestsOnly = this.ctx.view.probing();
    // Many seeds (a large cluster that lists every node): greeting all of them made each start cost the
    // cluster O(members²) entry merges, and a crash of many nodes at once a storm of full-table messages.
    // A few answers give this node the cluster's view, and its new entry spreads by gossip as any change does.
    this.sample(seeds, maxPingsPerRound, (s) => this.ctx.send(s.id, this.message(s.id, true, digestsOnly)));
  }

  /** Calls `f` on `k` distinct elements of `xs` drawn at random (a partial Fisher–Yates shuffle of a copy). */
  private sample<T>(xs: readonly T[], k: number, f: (x: T) => void): void {
    const pool = [...xs];
    const random = this.ctx.env.random;
    for (let i = 0; i < pool.length && i < k; i++) {
      const j = i + Math.floor(random.next() * (pool.length - i));
      const x = pool[j] as T;
      pool[j] = pool[i] as T;
      f(x);
    }
  }

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.ctx.env.random.next() * xs.length)];
  }

  tick(): void {
    const view = this.ctx.view;
    if (this.recompute()) {
      this.ringChanged();
      return;
    }
    const peers = view.livePeers();
    // A cluster that probes sends no gossip of its own a round: the probe carries the digests, and a probed
    // peer whose digests differ starts the exchange (onPing), so a settled cluster's round is a probe and
    // its ack. What it knows of a given peer's digests is rounds old, so the seed's gossip below starts with
    // the digests alone, and the peer answers with what differs (the entries changed since our table's
    // state, when it is a recent one) and asks for ours: sent on stale knowledge, every gossip after a
    // change carried every entry and the ring for seconds.
    const probing = peers.length > maxPingsPerRound;
    const target = probing ? undefined : this.target(peers);
    if (target !== undefined) this.ctx.send(target, this.message(target, true));
    // A seed now and then heals a split view; always while we know nobody.
    const seeds = this.otherSeeds;
    if (seeds.length > 0 && (peers.length === 0 || this.ctx.env.random.next() < 0.2)) {
      const s = this.pick(seeds);
      if (s !== undefined && s.id !== target) this.ctx.send(s.id, this.message(s.id, true, probing));
    }
    // Small pings to every member feed the failure detectors even when gossip picks someone else; a larger
    // cluster probes one member a round instead (probe.ts).
    if (probing) this.prober.round(peers);
    else this.ping(peers, target);
  }

  /**
   * A random healthy peer (any peer when none looks healthy). In a large cluster a few uniform draws among
   * all peers come first, the first healthy one winning (still uniform among the healthy): checking every
   * peer's detector each round made the round O(members) per node and O(members²) for the cluster.
   */
  private target(peers: readonly NodeId[]): NodeId | undefined {
    const view = this.ctx.view;
    if (peers.length > maxPingsPerRound) {
      for (let i = 0; i < 4; i++) {
        const p = this.pick(peers) as NodeId;
        if (view.isHealthy(p)) return p;
      }
    }
    const healthy = view.healthyOf(peers);
    return this.pick(healthy.length > 0 ? healthy : peers);
  }

  private ping(peers: readonly NodeId[], target: NodeId | undefined): void {
    // Pings carry the digests too: a peer's record of what this node has must not wait for the rare
    // gossip between the two (1 in members a round), or every gossip after a change would carry entries.
    const view = this.ctx.view;
    view.refreshSelf();
    const ping: OutMessage = { type: 'ping', membersDigest: view.members.digest(), ringDigest: ringDigest(view.ring) };
    for (const p of peers) if (p !== target) this.ctx.send(p, ping);
  }

  /** A ping's digests say what the peer has now (a ping without them, from an older node, says nothing). */
  onPing(from: NodeId, msg: PingMsg): void {
    if (msg.membersDigest !== undefined || msg.ringDigest !== undefined) {
      // The sender's state, which receiving the message just looked up (its heartbeat): no second lookup.
      const known = this.ctx.view.peerState(from);
      if (msg.membersDigest !== undefined) known.membersDigest = msg.membersDigest;
      if (msg.ringDigest !== undefined) known.ringDigest = msg.ringDigest;
    }
    if (msg.suspects !== undefined || msg.alive !== undefined) this.onLiveness(msg.suspects, msg.alive);
    if (msg.probe === undefined && msg.ack === undefined) return;
    this.prober.onPing(from, msg);
    // A direct probe whose digests differ from ours: we know what the prober has (just now), so our side
    // goes at once (the ring, and the entries or their delta, where they differ), asking for its side.
    const view = this.ctx.view;
    if (msg.probe === undefined || msg.target !== undefined || msg.origin !== undefined || !view.probing()) return;
    if (msg.membersDigest === undefined || msg.ringDigest === undefined) return;
    view.refreshSelf();
    if (msg.membersDigest !== view.members.digest() || msg.ringDigest !== ringDigest(view.ring)) this.ctx.send(from, this.message(from, true));
  }

  onGossip(from: NodeId, msg: GossipMsg<VersionedRing | undefined, VersionedRing>): void {
    const { view, env, actor } = this.ctx;
    const known = view.peerState(from);
    known.ringDigest = msg.ringDigest;
    known.membersDigest = msg.membersDigest;
    let statusChanged = false;
    // A sender whose table has our table's digest has our entries: merging them would change nothing (our
    // own entry there is one we wrote, not newer than ours), so the O(members) walk is skipped.
    const sameTable = msg.membersDigest !== undefined && msg.membersDigest === view.members.digest();
    const received = sameTable ? [] : (msg.members ?? []);
    // A gossip that carries the sender's whole table (as many distinct members as its digest counts) says
    // exactly what the sender has: in a cluster that probes, an answer holds only the entries it lacks or
    // holds older (Scuttlebutt's reconciliation, with the table itself as the digest), not our whole table.
    const named = msg.reply && received.length > 0 && view.probing() ? wholeTable(received, msg.membersDigest) : undefined;
    const lacking: MemberEntry[] | undefined = named !== undefined ? [] : undefined;
    for (const e of received) {
      if (e.id === this.ctx.id) {
        // Someone remembers a newer entry of ours, or one of another life with our incarnation (we lost
        // our meta): move past it, or our own entry would lose every merge and the cluster would keep its
        // stale view of us. Only this node ever advances its entry, so any such one means a lost disk.
        const self = view.selfEntry();
        if (entryNewer(e, self) || (e.incarnation === self.incarnation && e.boot !== undefined && self.boot !== undefined && e.boot !== self.boot)) {
          view.incarnation = Math.max(e.incarnation, self.incarnation) + 1;
          view.heartbeat = 0;
          statusChanged = true;
          // We had an earlier life whose dots this disk no longer knows: never mint under that actor again.
          actor.lostState(this.ctx.faults.actorReuse);
          env.logger.log('warn', 'lost-state-detected', { incarnation: view.incarnation, actor: actor.base });
        }
        continue;
      }
      const cur = view.members.get(e.id);
      if (lacking !== undefined && cur !== undefined && entryNewer(cur, e)) lacking.push(cur);
      if (cur === undefined || entryNewer(e, cur)) {
        if (cur === undefined || cur.status !== e.status || cur.addr !== e.addr) statusChanged = true;
        view.members.set(e.id, e);
        if (cur === undefined || cur.addr !== e.addr) env.transport.learnPeer?.(e.id, e.addr);
        // A member heard of only indirectly starts with one heartbeat now: if it never speaks to us
        // itself, its phi grows and we report it down instead of trusting hearsay forever.
        if (cur === undefined && !view.hasDetector(e.id)) view.detector(e.id).heartbeat(env.clock.monoMs());
      }
    }
    if (msg.suspects !== undefined || msg.alive !== undefined) this.onLiveness(msg.suspects, msg.alive);
    const adopted = view.adoptRing(msg.ring);
    const now = env.clock.monoMs();
    const ringChanged = (now - this.lastOwnRingMs >= this.ctx.config.gossipIntervalMs && this.recompute()) || adopted;
    const learned = view.learnPastRings(msg.pastRings);
    if (ringChanged) {
      this.ringChanged();
      return;
    }
    view.prunePastRings();
    if (statusChanged || learned) this.ctx.meta.persistSoon();
    // The sender left its ring or its entries out, believing we have them, but ours are others: send ours
    // and ask for its.
    const ringMismatch = msg.ringOmitted === true && msg.ringDigest !== undefined && msg.ringDigest !== ringDigest(view.ring);
    let mismatch = ringMismatch;
    if (!mismatch && msg.membersOmitted === true && msg.membersDigest !== undefined) {
      view.refreshSelf();
      mismatch = msg.membersDigest !== view.members.digest();
    }
    if (mismatch || (msg.reply && !this.nothingToAnswer(msg))) this.ctx.send(from, this.message(from, mismatch, false, lacking === undefined || named === undefined ? undefined : this.completeLacking(lacking, received, named)));
  }

  /**
   * `lacking` (our entries newer than those a whole table brought) with ours the table did not name (`named`),
   * this node's own entry among them when the sender's was older or missing.
   */
  private completeLacking(lacking: MemberEntry[], received: readonly MemberEntry[], named: ReadonlySet<NodeId>): readonly MemberEntry[] {
    const view = this.ctx.view;
    view.refreshSelf();
    const own = view.members.watched;
    const theirs = received.find((e) => e.id === this.ctx.id);
    if (own !== undefined && (theirs === undefined || entryNewer(own, theirs))) lacking.push(own);
    // Every member the table named is in ours now (merged above): any more are members it did not name.
    if (view.members.size > received.length) {
      for (const m of view.members.values()) if (!named.has(m.id) && m.id !== this.ctx.id) lacking.push(m);
    }
    return lacking;
  }

  /**
   * Takes a peer's alive notices, then its suspicions: one of this node is answered with a notice (pushed to
   * a few peers at once); one of a member this node heard from within the last round is not taken (it is
   * alive and reached from here).
   */
  private onLiveness(suspects: readonly Liveness[] | undefined, alive: readonly Liveness[] | undefined): void {
    const { view, env, id, config } = this.ctx;
    if (!view.probing()) return;
    const table = view.suspicions;
    const now = env.clock.monoMs();
    // A list taken once is not walked again (in simulation a sender's list is one shared object until it
    // changes, and every probe and ack carries it): its notices are known here, and its suspicions were
    // taken, or ended since by what this node heard.
    if (alive !== undefined && !this.seenLists.has(alive)) {
      this.seenLists.add(alive);
      for (const n of alive) table.takeNotice(n, now);
    }
    if (suspects === undefined || this.seenLists.has(suspects)) return;
    this.seenLists.add(suspects);
    let refuted = false;
    for (const s of suspects) {
      if (s.id === id) {
        if (table.refute(s, now)) refuted = true;
        continue;
      }
      if (table.holds(s)) continue;
      const last = view.detectorOf(s.id)?.lastHeartbeatMs;
      if (last !== undefined && now - last < config.gossipIntervalMs) continue;
      table.suspect(s, now, false, true);
    }
    if (refuted) {
      env.logger.log('info', 'suspicion-refuted', { incarnation: view.incarnation });
      this.spread();
    }
  }

  /**
   * A member this node suspected spoke to it: the suspicion ends here, but the others that took it may
   * no longer be gossiping it (membership-view.ts suspects), so the member is told, and refutes it.
   */
  remind(to: NodeId, s: Liveness): void {
    const msg = this.light();
    if (msg.type === 'gossip') this.ctx.send(to, { ...msg, suspects: [...(msg.suspects ?? []), s] });
  }

  /**
   * Whether a round's gossip in a cluster that probes (digests alone, gossip.ts tick) needs no answer: it
   * named our ring and our table, and we have no suspicions or notices to spread. The answer would repeat
   * the digests back, and made up half of a settled large cluster's gossip.
   */
  private nothingToAnswer(msg: GossipMsg<VersionedRing | undefined, VersionedRing>): boolean {
    const { view, env } = this.ctx;
    if (msg.ringOmitted !== true || msg.membersOmitted !== true || !view.probing()) return false;
    const now = env.clock.monoMs();
    return view.suspicions.suspects(now).length === 0 && view.suspicions.aliveNotices(now).length === 0;
  }

  /** Recomputes the ring from the members now known (membership-view.ts); true when it changed. */
  private recompute(): boolean {
    if (!this.ctx.view.recomputeRing()) return false;
    this.lastOwnRingMs = this.ctx.env.clock.monoMs();
    return true;
  }

  private ringChanged(): void {
    // A node with nothing to hand off confirms the new ring at once, so the gossip pushed below carries it.
    this.onRingChanged();
    this.ctx.view.prunePastRings();
    this.ctx.meta.persistSoon();
    // A new ring is pushed to everyone at once: the ring must converge in a round, not in a random walk.
    this.broadcast();
  }
}
