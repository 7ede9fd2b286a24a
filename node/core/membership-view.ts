// This node's view of the cluster: the member entries gossip merged (its own included), a failure detector
// per peer, the current ring and the earlier rings whose handoff is not confirmed yet. It answers "who is
// healthy", "who are a key's homes" and "what does a request for a key need", and moves the ring forward;
// gossip (gossip.ts) feeds it, and persisting it is the caller's (metadata.ts).
import type { NodeConfig } from './config.js';
import type { CoreEnv, NodeId } from './env.js';
import { PhiAccrualDetector } from './failure-detector.js';
import {
  type Liveness,
  type MemberEntry,
  type VersionedRing,
  addHash,
  entryHash,
  nextRing,
  pickRing,
  ringCandidates,
  ringMatchesCandidates,
  sameRing,
  subHash,
  transitionOver,
} from './membership.js';
import { type PlanInput, type QuorumPlan, type Target, planFor, targetsFor } from './quorum-plan.js';
import { partitionOf } from './hash.js';
import { homesForPartition, partitionsReplicatedBy } from './ring.js';
import { SuspicionTable } from './suspicions.js';

/** Earlier rings a node keeps while their handoff is unconfirmed; beyond this the oldest is dropped. */
const maxPastRings = 8;

/**
 * Peers a node pings per gossip round beyond its gossip target. Up to this many peers each is pinged every
 * round; a larger cluster probes one peer a round instead (probe.ts), so a round costs a node O(1)
 * messages and the cluster O(members) rather than O(members²). Also the bound on the peers a ring push or
 * a start's greeting goes to.
 */
export const maxPingsPerRound = 16;

/** Changes of the member table kept for deltas (MemberTable.delta); between this and twice this are kept. */
const maxLoggedChanges = 256;

/**
 * The member entries by id, counting its changes: what is derived from the table (the list gossip sends,
 * the live peers) is then built once per change rather than once per message or per round. It also keeps
 * the table's digest (the sum of its entry hashes), updated per change in O(1): gossip sends the digest
 * and the entries only to a peer whose last digest differed (gossip.ts).
 */
export class MemberTable extends Map<NodeId, MemberEntry> {
  /** Bumped on every change of an entry. */
  version = 0;
  /**
   * The entry of the member named at construction (the view's own node), kept in step with the table:
   * refreshSelf reads it before every probe, ack and gossip sent, and a lookup there was one of the
   * dearer lines of a large cluster's round.
   */
  watched: MemberEntry | undefined;
  /** Bumped when a member appears, disappears, or leaves or comes back (what livePeers depends on). */
  rosterVersion = 0;
  private hashSum = 0;
  /** digest() as last built, and the version it was built at. */
  private digestText = '';
  private digestVersion = -1;
  /**
   * The last changes, oldest first (the member changed and the table's digest after it; `logBase` is the
   * first one's position in the table's history), and the latest position of each digest among them: a peer
   * whose digest is one of these has the table as it was then, and needs only what changed since (delta).
   */
  private log: { readonly id: NodeId; readonly hash: number }[] = [];
  private logBase = 0;
  /** By hash sum alone (a string per change cost more than the rest of the change). */
  private readonly logAt = new Map<number, number>();

  constructor(private readonly watchedId?: NodeId) {
    super();
  }

  override set(id: NodeId, e: MemberEntry): this {
    const before = super.get(id);
    if (before === e) return this;
    if (id === this.watchedId) this.watched = e;
    this.version++;
    if (before === undefined || (before.status === 'left') !== (e.status === 'left')) this.rosterVersion++;
    if (before !== undefined) this.hashSum = subHash(this.hashSum, entryHash(before));
    this.hashSum = addHash(this.hashSum, entryHash(e));
    super.set(id, e);
    this.logChange(id);
    return this;
  }

  private logChange(id: NodeId): void {
    const hash = this.hashSum;
    this.logAt.set(hash, this.logBase + this.log.length);
    this.log.push({ id, hash });
    if (this.log.length < 2 * maxLoggedChanges) return;
    // Trimmed in halves, so a change costs O(1) amortised.
    const dropped = this.log.splice(0, maxLoggedChanges);
    this.logBase += maxLoggedChanges;
    for (const d of dropped) if ((this.logAt.get(d.hash) ?? Number.POSITIVE_INFINITY) < this.logBase) this.logAt.delete(d.hash);
  }

  /**
   * The entries that changed since the table had digest `peerDigest` (a peer's), or undefined when that is
   * not a recent state of this table (or a member was dropped since): then the peer needs every entry. A
   * peer that has a recent state lacks only these, so gossip sends them alone (O(changes), not O(members)).
   */
  delta(peerDigest: string | undefined): readonly MemberEntry[] | undefined {
    if (peerDigest === undefined) return undefined;
    const colon = peerDigest.indexOf(':');
    const at = colon < 0 ? undefined : this.logAt.get(Number.parseInt(peerDigest.slice(colon + 1), 16));
    if (at === undefined) return undefined;
    const ids = new Set<NodeId>();
    for (let i = at + 1 - this.logBase; i < this.log.length; i++) ids.add((this.log[i] as { id: NodeId }).id);
    const out: MemberEntry[] = [];
    for (const id of ids) {
      const e = super.get(id);
      if (e === undefined) return undefined;
      out.push(e);
    }
    return out;
  }

  override delete(id: NodeId): boolean {
    const before = super.get(id);
    if (before === undefined || !super.delete(id)) return false;
    if (id === this.watchedId) this.watched = undefined;
    this.version++;
    this.rosterVersion++;
    this.hashSum = subHash(this.hashSum, entryHash(before));
    this.logChange(id);
    return true;
  }

  override clear(): void {
    if (this.size === 0) return;
    super.clear();
    this.watched = undefined;
    this.version++;
    this.rosterVersion++;
    this.hashSum = 0;
    this.logBase += this.log.length;
    this.log = [];
    this.logAt.clear();
  }

  /** Equal tables have equal digests; different ones, all but surely (52 bits of SHA-256 per entry, summed). */
  digest(): string {
    // Asked for every ping and gossip sent and received: built once per change.
    if (this.digestVersion !== this.version) {
      this.digestText = `${this.size}:${this.hashSum.toString(16)}`;
      this.digestVersion = this.version;
    }
    return this.digestText;
  }
}

/**
 * What a node keeps of one peer: the failure detector its messages feed (from the first one, or from a
 * hearsay heartbeat: Gossip.onGossip) and the ring and member-table digests it last sent (gossip.ts: what
 * it is sent depends on them; cleared for a sender without them).
 */
export interface PeerState {
  detector: PhiAccrualDetector | undefined;
  ringDigest: string | undefined;
  membersDigest: string | undefined;
}

/** The live peers at a roster version (MemberTable.rosterVersion) and what is derived from their number. */
interface Roster {
  readonly rosterVersion: number;
  readonly peers: readonly NodeId[];
  /** The members that left (usually none: a health check then needs no entry lookup). */
  readonly left: ReadonlySet<NodeId>;
  readonly probing: boolean;
  readonly suspicionTimeoutMs: number;
  readonly minMeanMs: number;
}

export class MembershipView {
  readonly members: MemberTable;
  ring: VersionedRing | undefined;
  /** Earlier rings, oldest first, whose members have not all confirmed their handoff (see plan). */
  pastRings: VersionedRing[] = [];
  /** The ring version up to which this node holds nothing it does not replicate; gossiped in its entry. */
  handedOff = 0;
  /** Set late in a leave whose new homes are not all up: hand off to the healthy ones rather than to none. */
  partialHandoff = false;
  incarnation = 0;
  heartbeat = 0;
  selfStatus: MemberEntry['status'] = 'up';
  /** What this node keeps per peer (PeerState), and the one last asked for (a message's handlers ask in turn). */
  private readonly peers = new Map<NodeId, PeerState>();
  private lastPeerId: NodeId | undefined;
  private lastPeer: PeerState | undefined;
  /** Suspicions and alive notices, in a cluster that probes (probing(); suspicions.ts). */
  readonly suspicions: SuspicionTable;
  private replicatedCache: { version: number; parts: number[] } | undefined;
  private rosterCache: Roster | undefined;
  private entriesCache: { version: number; entries: readonly MemberEntry[] } | undefined;
  private matchCache: { ring: VersionedRing; version: number; matches: boolean } | undefined;

  constructor(
    private readonly id: NodeId,
    private readonly config: NodeConfig,
    private readonly env: CoreEnv,
    private readonly stopped: () => boolean,
    /** Persists the view soon (metadata.ts); called when pruning earlier rings changed it. */
    private readonly persistSoon: () => void,
    /** This life's boot nonce (actor-ids.ts; '' before boot): it goes into this node's entry. */
    private readonly bootNonce: () => string = () => '',
  ) {
    this.members = new MemberTable(id);
    this.suspicions = new SuspicionTable(id, (p) => this.members.get(p), () => this.incarnation, () => 2 * this.suspicionTimeoutMs());
  }

  selfEntry(): MemberEntry {
    const boot = this.bootNonce();
    return {
      id: this.id, addr: this.config.peerAddr, status: this.selfStatus, incarnation: this.incarnation, heartbeat: this.heartbeat, handedOff: this.handedOff,
      ...(boot === '' ? {} : { boot }),
    };
  }

  /**
   * Refreshes this node's own entry in the member map (before it is gossiped or ring candidates are read).
   * An entry that changed within the incarnation gets the next heartbeat, so it beats the one it replaces.
   */
  refreshSelf(): void {
    const cur = this.members.watched;
    const boot = this.bootNonce();
    if (cur !== undefined && cur.incarnation === this.incarnation && cur.heartbeat >= this.heartbeat) {
      // An unchanged entry is kept, so the table (and what is derived from it) changes only when it must.
      if (cur.addr === this.config.peerAddr && cur.status === this.selfStatus && cur.handedOff === this.handedOff && (cur.boot ?? '') === boot) {
        this.heartbeat = cur.heartbeat;
        return;
      }
      this.heartbeat = cur.heartbeat + 1;
    }
    this.members.set(this.id, this.selfEntry());
  }

  /** Every member entry, this node's as last refreshed: one shared array per version of the table (callers must not change it). */
  entries(): readonly MemberEntry[] {
    if (this.entriesCache?.version !== this.members.version) this.entriesCache = { version: this.members.version, entries: [...this.members.values()] };
    return this.entriesCache.entries;
  }

  /** The peers not known to have left, sorted: one shared array per roster (callers must not change it). */
  livePeers(): readonly NodeId[] {
    return this.roster().peers;
  }

  /** The live peers and what follows from their number, built once per roster (asked for every health check). */
  private roster(): Roster {
    const c = this.rosterCache;
    if (c !== undefined && c.rosterVersion === this.members.rosterVersion) return c;
    const peers = [...this.members.values()].filter((m) => m.id !== this.id && m.status !== 'left').map((m) => m.id).sort();
    const left = new Set<NodeId>();
    for (const m of this.members.values()) if (m.status === 'left') left.add(m.id);
    const n = peers.length;
    const g = this.config.gossipIntervalMs;
    const probing = n > maxPingsPerRound;
    // See probing(), suspicionTimeoutMs() and minMeanMs().
    return (this.rosterCache = {
      rosterVersion: this.members.rosterVersion, peers, left, probing,
      suspicionTimeoutMs: g * Math.max(3, Math.ceil(Math.log2(n + 1))), minMeanMs: probing ? 2 * n * g : 0,
    });
  }

  /**
   * The state this node keeps of `peer`, made on first use. A message received asks for it twice (its
   * heartbeat, then the digests it carries): the second time is no lookup.
   */
  peerState(peer: NodeId): PeerState {
    if (peer === this.lastPeerId) return this.lastPeer as PeerState;
    let s = this.peers.get(peer);
    if (s === undefined) {
      s = { detector: undefined, ringDigest: undefined, membersDigest: undefined };
      this.peers.set(peer, s);
    }
    this.lastPeerId = peer;
    this.lastPeer = s;
    return s;
  }

  /** The state kept of `peer`, if any (not made). */
  knownPeer(peer: NodeId): PeerState | undefined {
    return peer === this.lastPeerId ? this.lastPeer : this.peers.get(peer);
  }

  hasDetector(peer: NodeId): boolean {
    return this.knownPeer(peer)?.detector !== undefined;
  }

  detectorOf(peer: NodeId): PhiAccrualDetector | undefined {
    return this.knownPeer(peer)?.detector;
  }

  detector(peer: NodeId): PhiAccrualDetector {
    const s = this.peerState(peer);
    if (s.detector === undefined) {
      const g = this.config.gossipIntervalMs;
      s.detector = new PhiAccrualDetector({ firstHeartbeatEstimateMs: g, minStdDevMs: Math.max(20, g / 2), acceptablePauseMs: g, windowSize: 200 });
    }
    return s.detector;
  }

  /**
   * A message came from `peer` itself: its detector's heartbeat, and the end of any suspicion of it held
   * here (it is alive, and this node reaches it); a gossiped one is returned (see Gossip.remind).
   */
  heard(peer: NodeId, nowMs: number): Liveness | undefined {
    this.detector(peer).heartbeat(nowMs);
    this.lastHeardMs = nowMs;
    return this.suspicions.size === 0 ? undefined : this.suspicions.heard(peer);
  }

  /**
   * Whether this node probes its peers one a round (probe.ts) instead of pinging them: beyond
   * maxPingsPerRound live peers. Its judgement of a peer is then the probes' (a probe unanswered twice) and
   * the suspicions gossip brings, with phi as a backstop; below, phi alone.
   */
  probing(): boolean {
    return this.roster().probing;
  }

  /**
   * How long a suspicion from gossip waits before this node reports the member down: the time for the
   * suspicion to reach the member and its refutation to come back, a round per doubling of the cluster
   * (SWIM's λ·log n), at least three rounds.
   */
  suspicionTimeoutMs(): number {
    return this.roster().suspicionTimeoutMs;
  }

  /** Whether a peer looks alive: phi below the threshold. A peer never heard from is given the benefit of the doubt. */
  isHealthy(peer: NodeId): boolean {
    return this.healthyAt(peer, this.env.clock.monoMs(), this.minMeanMs());
  }

  /**
   * Probing, a peer may speak to this node only when one of the two probes the other, up to twice a pass
   * through all peers apart: phi is then a backstop behind the probes and suspicions. Pinged every round
   * (probing() false), a peer's usual interval is what phi learnt.
   */
  private minMeanMs(): number {
    return this.roster().minMeanMs;
  }

  private healthyAt(peer: NodeId, now: number, minMeanMs: number): boolean {
    if (peer === this.id) return !this.stopped();
    const { left, probing, suspicionTimeoutMs } = this.roster();
    if (left.size > 0 && left.has(peer)) return false;
    if (this.suspicions.size > 0 && this.suspicions.has(peer) && probing && this.suspicions.isDown(peer, now, suspicionTimeoutMs)) return false;
    // Probing, a node that heard from no peer at all for a suspicion timeout is the one cut off (it gets
    // probes and acks every round otherwise): every peer is down for it. Its own probes alone would find
    // that out one peer a round (a whole pass: 20 s at 100 nodes), and no suspicion reaches it.
    if (now - Math.max(this.lastHeardMs, this.startedMs) > suspicionTimeoutMs && probing) return false;
    const d = this.knownPeer(peer)?.detector;
    return d === undefined || d.isAvailable(now, this.config.phiThreshold, minMeanMs);
  }

  /**
   * The peers of `peers` that look alive (isHealthy of each, in order), with the clock and the ping
   * interval read once: the gossip round asks it of every live peer.
   */
  healthyOf(peers: readonly NodeId[]): NodeId[] {
    const now = this.env.clock.monoMs();
    const minMean = this.minMeanMs();
    return peers.filter((p) => this.healthyAt(p, now, minMean));
  }


  homeOf(key: string): NodeId[] {
    return this.ring === undefined ? [] : homesForPartition(this.ring.ring, partitionOf(key, this.ring.ring.partitions), this.config.n);
  }

  homeOfPartition(p: number): NodeId[] {
    return this.ring === undefined ? [] : homesForPartition(this.ring.ring, p, this.config.n);
  }

  targetsFor(key: string): Target[] {
    return targetsFor(this.planInput(), key);
  }

  /** The targets and quorum groups of a request for `key` (quorum-plan.ts planFor). */
  plan(key: string): QuorumPlan {
    return planFor(this.planInput(), key);
  }

  replicatedPartitions(): number[] {
    if (this.ring === undefined) return [];
    if (this.replicatedCache?.version !== this.ring.version) {
      this.replicatedCache = { version: this.ring.version, parts: partitionsReplicatedBy(this.ring.ring, this.id, this.config.n) };
    }
    return this.replicatedCache.parts;
  }

  /**
   * Whether this node may found a ring of its own: a seed (or a node with no other seeds) may, since the
   * cluster starts from its seeds. A node that joins through seeds may not: on its own ring it would be the
   * only home of every key and answer reads with nothing, so until gossip brings it the cluster's ring it
   * has no homes at all and refuses requests.
   */
  private mayFoundRing(): boolean {
    const seeds = this.config.seeds;
    // Asked every round and for every gossip until a ring is known, of a list that may name every node.
    this.foundsRings ??= seeds.some((s) => s.id === this.id) || seeds.every((s) => s.id === this.id);
    if (!this.foundsRings) return false;
    // Many seeds starting together (a large cluster that lists every node): a seed that founded a ring of
    // itself at once, then one per member it heard of, walked the cluster through hundreds of distinct
    // rings of O(Q) each before they converged. A seed waits a few rounds first, time for the greetings to
    // tell it of every member: the seeds then found the same ring (one assignment, shared through nextRing's
    // cache), and a ring gossiped to it in the meantime is adopted as any is.
    return seeds.length <= maxPingsPerRound || this.env.clock.monoMs() - this.startedMs >= this.foundingDelayMs();
  }

  /** Whether this node is a seed or has no other seeds (mayFoundRing; the config never changes). */
  private foundsRings: boolean | undefined;

  /** A round per doubling of the seed list: the rounds an epidemic takes to reach every seed. */
  private foundingDelayMs(): number {
    return this.config.gossipIntervalMs * Math.ceil(Math.log2(this.config.seeds.length));
  }

  /** When this life started (monotonic ms): a ring is founded only some rounds after it (mayFoundRing). */
  startedMs = 0;

  /** When this node last heard from any peer (monotonic ms; its start before it heard any). */
  private lastHeardMs = Number.NEGATIVE_INFINITY;

  /** Recomputes the ring when the members that should own partitions differ from its members (callers persist). */
  recomputeRing(): boolean {
    if (this.ring === undefined && !this.mayFoundRing()) return false;
    this.refreshSelf();
    if (this.ring !== undefined && this.matchesCandidates(this.ring)) return false;
    const next = nextRing(this.ring, ringCandidates(this.members.values()), this.config.partitions);
    if (next === undefined) return false;
    this.adoptRing(next);
    this.env.logger.log('info', 'ring-changed', { version: this.ring?.version, members: this.ring?.ring.members });
    return true;
  }

  /**
   * ringMatchesCandidates for the ring and the table as they are, remembered per (ring, table version):
   * asked every round and for every gossip received, and O(members) each time.
   */
  private matchesCandidates(ring: VersionedRing): boolean {
    const c = this.matchCache;
    if (c !== undefined && c.ring === ring && c.version === this.members.version) return c.matches;
    const matches = ringMatchesCandidates(ring.ring, this.members.values());
    this.matchCache = { ring, version: this.members.version, matches };
    return matches;
  }

  /**
   * Takes `candidate` when it wins over the current ring, keeping the ring it replaces as a past ring:
   * until every member of that ring confirms its handoff, acknowledged writes may live only on its homes.
   * Callers persist the change.
   */
  adoptRing(candidate: VersionedRing | undefined): boolean {
    const before = this.ring;
    const winner = pickRing(before, candidate);
    if (winner === before || winner === undefined) return false;
    this.ring = winner;
    if (before !== undefined && !this.pastRings.some((r) => sameRing(r, before))) {
      this.pastRings.push(before);
      if (this.pastRings.length > maxPastRings) this.pastRings.shift();
    }
    this.pastRings = this.pastRings.filter((r) => !sameRing(r, winner));
    return true;
  }

  /**
   * Takes a peer's earlier rings that are still in transition. A node that joins adopts the cluster's ring
   * with itself already in it, so it never saw the ring before: without this it would coordinate with the
   * current homes alone and, being one of them and still empty, answer a read with nothing.
   */
  learnPastRings(rings: readonly VersionedRing[] | undefined): boolean {
    const current = this.ring;
    if (rings === undefined || current === undefined) return false;
    const before = this.pastRings.length;
    for (const past of rings) {
      if (past.version >= current.version || this.pastRings.some((p) => sameRing(p, past))) continue;
      if (transitionOver(past, current.version, this.members)) continue;
      this.pastRings.push(past);
    }
    if (this.pastRings.length === before) return false;
    this.pastRings.sort((a, b) => a.version - b.version);
    while (this.pastRings.length > maxPastRings) this.pastRings.shift();
    return true;
  }

  /** Drops the past rings whose members all confirmed their handoff up to the current ring. */
  prunePastRings(): void {
    const current = this.ring;
    if (current === undefined || this.pastRings.length === 0) return;
    this.refreshSelf();
    const left = this.pastRings.filter((r) => !transitionOver(r, current.version, this.members));
    if (left.length === this.pastRings.length) return;
    this.pastRings = left;
    this.env.logger.log('info', 'ring-transition-progress', { version: current.version, pastRings: left.map((r) => r.version) });
    this.persistSoon();
  }

  private planInput(): PlanInput {
    return { ring: this.ring, pastRings: this.pastRings, n: this.config.n, sloppy: this.config.sloppy, isHealthy: (n) => this.isHealthy(n) };
  }
}
