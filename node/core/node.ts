// The Dynamo node as a sans-IO state machine: gossip membership and a versioned ring, per-request
// coordinators for get/put/delete and the cart with N/R/W quorums (strict or sloppy), read repair,
// hinted handoff, Merkle anti-entropy, tombstone reaping and ownership handoff on ring changes. Every
// effect goes through the injected CoreEnv, so the simulation, the local process and Docker run this
// same code.
import type {
  CartReadResult,
  CartWriteResult,
  CoreNode,
  GetResult,
  LocalState,
  NodeStatus,
  PutResult,
  QuorumError,
  RequestOptions,
} from './api.js';
import { type CartState, cartAddDelta, cartItems, cartObserved, cartObservedAll, cartRemoveDelta } from './cart.js';
import type { NodeConfig, TestFault } from './config.js';
import { decodeCartContext, decodeKvContext, defaultClusterSecret, encodeCartContext, encodeKvContext } from './context.js';
import type { CoreEnv, NodeId, PeerMessage, TimerHandle } from './env.js';
import { PhiAccrualDetector } from './failure-detector.js';
import { partitionOf, sha256Hex } from './hash.js';
import { HintStore } from './hints.js';
import { type DataType, type Kind, type State, LocalStore, dataTypes, fromB64, mkey, splitMkey, toB64 } from './local-store.js';
import { diffBuckets } from './merkle.js';
import {
  type MemberEntry,
  type VersionedRing,
  entryNewer,
  isMemberEntry,
  nextRing,
  pickRing,
  ringCandidates,
  ringFromJson,
  ringToJson,
  sameRing,
  transitionOver,
} from './membership.js';
import { partitionsOwnedBy, partitionsReplicatedBy, preferenceList, preferenceListForPartition } from './ring.js';
import { type VersionVector, isVersionVector, vvAddDot } from './version-vector.js';
import { type Versions, emptyVersions, lwwWrite, versionsClientContext, versionsContext, versionsLive, versionsWrite } from './versions.js';

/** Where a coordinator sends a request: a node, and for a sloppy fallback the home node it stands in for. */
interface Target {
  readonly node: NodeId;
  readonly hint?: NodeId;
}

/**
 * Where a request goes and when it has its quorum: `needed` answers from every group. Normally there is
 * one group, the targets. During a ring transition (strict mode) there is one more group per earlier ring
 * whose handoff is not confirmed, holding that ring's home replicas of the key, so a read meets every
 * write quorum an earlier ring acknowledged and a write lands where an earlier ring's reads look.
 */
interface QuorumPlan {
  readonly targets: Target[];
  readonly groups: readonly (readonly NodeId[])[];
}

/** Whether `have` holds `needed` members of every group (of a smaller group, all of it). */
function quorumMet(plan: QuorumPlan, have: ReadonlySet<NodeId> | ReadonlyMap<NodeId, unknown>, needed: number): boolean {
  return plan.groups.every((g, i) => {
    let n = 0;
    for (const id of g) if (have.has(id)) n++;
    // The current ring's group needs the full quorum; an earlier ring with fewer distinct nodes than N
    // stored each key on all of them, so all of them is its quorum.
    return n >= (i === 0 ? needed : Math.min(needed, g.length));
  });
}

/** Earlier rings a node keeps while their handoff is unconfirmed; beyond this the oldest is dropped. */
const maxPastRings = 8;

type Handler = (from: NodeId, msg: Record<string, unknown>) => void;

const maxKeyBytes = 1024;
const maxValueBytes = 1024 * 1024;
const handoffChunk = 64;

function quorumError(needed: number, replied: number): QuorumError {
  return { ok: false, error: 'quorum', needed, replied };
}

function badRequest(message: string): { ok: false; error: 'bad-request'; message: string } {
  return { ok: false, error: 'bad-request', message };
}


/** Partitions whose keys one anti-entropy round may exchange, so a round's messages stay bounded. */
const aeMaxPartitionsPerRound = 32;

export class DynamoNode implements CoreNode {
  readonly id: NodeId;
  private readonly secret: string;
  private readonly faults: ReadonlySet<TestFault>;
  private readonly types: Record<Kind, DataType>;
  private readonly store: LocalStore;
  private readonly hints: HintStore;
  private readonly arm: (fn: () => void, delayMs: number) => TimerHandle;

  private members = new Map<NodeId, MemberEntry>();
  private ring: VersionedRing | undefined;
  /** Earlier rings, oldest first, whose members have not all confirmed their handoff (see planFor). */
  private pastRings: VersionedRing[] = [];
  /** The ring version up to which this node holds nothing it does not replicate; gossiped in its entry. */
  private handedOff = 0;
  /** Set late in a leave whose new homes are not all up: hand off to the healthy ones rather than to none. */
  private partialHandoff = false;
  /** Partitions this node no longer replicates whose keys all new homes acknowledged, with the ring version. */
  private readonly handedOffPartitions = new Map<number, number>();
  private readonly detectors = new Map<NodeId, PhiAccrualDetector>();
  private incarnation = 0;
  private heartbeat = 0;
  private selfStatus: MemberEntry['status'] = 'up';
  /**
   * The actor id this node mints dots under is `${id}#${epoch}` (plain id for epoch 0). Before it deletes
   * a key it holds (handoff, reap) it makes sure the current epoch has never minted anything, bumping it
   * durably if it has, so a later write of that key can never repeat a dot it no longer remembers.
   */
  private actorEpoch = 0;
  private epochFresh = false;
  /** This node's id, or `${id}@${nonce}` once it learned it lost its disk (its old dots are unknown). */
  private actorBase = '';
  private bootNonce = '';
  private seq = 0;
  private cartCounter = 0;
  private stopped = true;
  private readonly timers = new Set<TimerHandle>();
  private readonly handlers = new Map<string, Handler>();
  private readonly cancels = new Set<() => void>();
  private metaWrite: Promise<void> = Promise.resolve();
  private readonly hintsInFlight = new Set<string>();
  private readonly handoffsInFlight = new Set<number>();
  private readonly reapsScheduled = new Set<string>();
  private replicatedCache: { version: number; parts: number[] } | undefined;
  private counters = { hintsDelivered: 0, aeRounds: 0, keysRepaired: 0, readRepairs: 0, handoffKeys: 0, reaped: 0 };

  constructor(
    readonly config: NodeConfig,
    private readonly env: CoreEnv,
  ) {
    this.id = config.id;
    this.secret = config.secret ?? defaultClusterSecret;
    this.faults = new Set(config.testFaults ?? []);
    this.types = dataTypes(config.conflicts === 'lww' || this.faults.has('lww-in-vclock'));
    this.store = new LocalStore(env, this.types, (key) => partitionOf(key, config.partitions));
    this.hints = new HintStore(env, this.types);
    // Bound once so the timers are always called with their own receiver.
    this.arm = env.timers.setTimeout.bind(env.timers);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async start(): Promise<void> {
    const meta = await this.env.storage.get('meta', 'state');
    if (meta !== undefined) {
      try {
        const m = JSON.parse(new TextDecoder().decode(meta)) as Record<string, unknown>;
        if (Number.isSafeInteger(m.incarnation)) this.incarnation = m.incarnation as number;
        if (Number.isSafeInteger(m.actorEpoch)) this.actorEpoch = m.actorEpoch as number;
        if (typeof m.actorBase === 'string' && m.actorBase !== '') this.actorBase = m.actorBase;
        if (Array.isArray(m.members)) for (const e of m.members) if (isMemberEntry(e) && e.id !== this.id) this.members.set(e.id, e);
        this.ring = ringFromJson(m.ring, this.config.partitions);
        if (Array.isArray(m.pastRings)) {
          for (const r of m.pastRings) {
            const past = ringFromJson(r, this.config.partitions);
            if (past !== undefined) this.pastRings.push(past);
          }
        }
      } catch (err) {
        this.env.logger.log('warn', 'meta-undecodable', { error: (err as Error).message });
      }
    }
    this.incarnation += 1;
    // A coordinator sends a new version to the other replicas while its own durable write is still in
    // flight, so a crash can leave dots on peers that this disk never recorded. A node with an earlier
    // life therefore mints under a fresh actor epoch (persisted below, before any client is served) and
    // can never repeat such a dot.
    if (meta !== undefined) {
      this.actorEpoch += 1;
      this.epochFresh = true;
    }
    this.heartbeat = 0;
    if (this.actorBase === '') this.actorBase = this.id;
    this.selfStatus = 'up';
    this.bootNonce = `${this.incarnation.toString(36)}.${Math.floor(this.env.random.next() * 2 ** 32).toString(36)}`;
    this.members.set(this.id, this.selfEntry());
    await this.persistMeta();
    await this.store.load();
    await this.hints.load();
    this.stopped = false;
    for (const s of this.config.seeds) if (s.id !== this.id) this.env.transport.learnPeer?.(s.id, s.addr);
    for (const m of this.members.values()) if (m.id !== this.id) this.env.transport.learnPeer?.(m.id, m.addr);
    if (this.recomputeRing()) this.persistMetaSoon();
    for (const s of this.config.seeds) if (s.id !== this.id) this.send(s.id, this.gossipMessage(true));
    this.every(this.config.gossipIntervalMs, () => this.gossipTick());
    this.every(this.config.hintIntervalMs, () => {
      this.hintTick();
      this.handoffTick();
    });
    this.every(this.config.antiEntropyIntervalMs, () => this.antiEntropyTick());
    this.env.logger.log('info', 'node-started', { incarnation: this.incarnation, members: this.members.size });
  }

  stop(): void {
    this.stopped = true;
    this.store.stopLazyFlush();
    for (const t of this.timers) this.env.timers.clearTimeout(t);
    this.timers.clear();
    for (const c of [...this.cancels]) c();
    this.cancels.clear();
    this.handlers.clear();
  }

  private after(delayMs: number, fn: () => void): TimerHandle {
    const h = this.arm(() => {
      this.timers.delete(h);
      if (!this.stopped) fn();
    }, Math.max(0, delayMs));
    this.timers.add(h);
    return h;
  }

  private cancel(h: TimerHandle): void {
    this.timers.delete(h);
    this.env.timers.clearTimeout(h);
  }

  /** A periodic task, first run after a random fraction of the period so nodes do not move in lockstep. */
  private every(periodMs: number, fn: () => void): void {
    const loop = (): void => {
      try {
        fn();
      } catch (err) {
        this.env.logger.log('error', 'periodic-task-failed', { error: (err as Error).message });
      }
      this.after(periodMs, loop);
    };
    this.after(Math.floor(this.env.random.next() * periodMs) + 1, loop);
  }

  private nextId(): string {
    return `${this.id}:${this.bootNonce}:${++this.seq}`;
  }

  private send(to: NodeId, message: PeerMessage): void {
    if (this.stopped) return;
    if (to === this.id) {
      // Local delivery goes through the same handlers, asynchronously, as a message would.
      void Promise.resolve().then(() => this.receive(this.id, message));
      return;
    }
    this.env.transport.send(to, message);
  }

  // ---- membership, gossip, ring ------------------------------------------------------------------

  private selfEntry(): MemberEntry {
    return { id: this.id, addr: this.config.peerAddr, status: this.selfStatus, incarnation: this.incarnation, heartbeat: this.heartbeat, handedOff: this.handedOff };
  }

  private gossipMessage(reply: boolean): PeerMessage {
    this.members.set(this.id, this.selfEntry());
    return {
      type: 'gossip', reply, members: [...this.members.values()], ring: this.ring === undefined ? null : ringToJson(this.ring),
      ...(this.pastRings.length > 0 ? { pastRings: this.pastRings.map(ringToJson) } : {}),
    };
  }

  private livePeers(): NodeId[] {
    return [...this.members.values()].filter((m) => m.id !== this.id && m.status !== 'left').map((m) => m.id).sort();
  }

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.env.random.next() * xs.length)];
  }

  private gossipTick(): void {
    this.heartbeat += 1;
    const peers = this.livePeers();
    const healthy = peers.filter((p) => this.isHealthy(p));
    const target = this.pick(healthy.length > 0 ? healthy : peers);
    if (target !== undefined) this.send(target, this.gossipMessage(true));
    // A seed now and then heals a split view; always while we know nobody.
    const seeds = this.config.seeds.filter((s) => s.id !== this.id);
    if (seeds.length > 0 && (peers.length === 0 || this.env.random.next() < 0.2)) {
      const s = this.pick(seeds);
      if (s !== undefined && s.id !== target) this.send(s.id, this.gossipMessage(true));
    }
    // Small pings to every member feed the failure detectors even when gossip picks someone else.
    for (const p of peers) if (p !== target) this.send(p, { type: 'ping' });
  }

  private onGossip(from: NodeId, msg: Record<string, unknown>): undefined {
    let statusChanged = false;
    if (Array.isArray(msg.members)) {
      for (const e of msg.members) {
        if (!isMemberEntry(e)) continue;
        if (e.id === this.id) {
          // Someone remembers a newer entry of ours (we lost our meta): move past it, or our own
          // entry would lose every merge and the cluster would keep its stale view of us.
          // Only this node ever advances its entry, so any newer one means a lost disk.
          if (entryNewer(e, this.selfEntry())) {
            this.incarnation = e.incarnation + 1;
            this.heartbeat = 0;
            statusChanged = true;
            // We had an earlier life whose dots this disk no longer knows: never mint under that actor again.
            this.actorBase = `${this.id}@${this.bootNonce}`;
            this.actorEpoch = 0;
            this.env.logger.log('warn', 'lost-state-detected', { incarnation: this.incarnation, actor: this.actorBase });
          }
          continue;
        }
        const cur = this.members.get(e.id);
        if (cur === undefined || entryNewer(e, cur)) {
          if (cur === undefined || cur.status !== e.status || cur.addr !== e.addr) statusChanged = true;
          this.members.set(e.id, e);
          if (cur === undefined || cur.addr !== e.addr) this.env.transport.learnPeer?.(e.id, e.addr);
          // A member heard of only indirectly starts with one heartbeat now: if it never speaks to us
          // itself, its phi grows and we report it down instead of trusting hearsay forever.
          if (cur === undefined && !this.detectors.has(e.id)) this.detector(e.id).heartbeat(this.env.clock.monoMs());
        }
      }
    }
    const adopted = this.adoptRing(ringFromJson(msg.ring, this.config.partitions));
    const ringChanged = this.recomputeRing() || adopted;
    const learned = this.learnPastRings(msg.pastRings);
    // A node with nothing to hand off confirms the new ring at once, so the gossip pushed below carries it.
    if (ringChanged) this.handoffTick();
    this.prunePastRings();
    if (statusChanged || ringChanged || learned) this.persistMetaSoon();
    if (ringChanged) {
      // A new ring is pushed to everyone at once: the ring must converge in a round, not in a random walk.
      for (const p of this.livePeers()) this.send(p, this.gossipMessage(false));
    } else if (msg.reply === true) {
      this.send(from, this.gossipMessage(false));
    }
    return undefined;
  }

  /**
   * Whether this node may found a ring of its own: a seed (or a node with no other seeds) may, since the
   * cluster starts from its seeds. A node that joins through seeds may not: on its own ring it would be the
   * only home of every key and answer reads with nothing, so until gossip brings it the cluster's ring it
   * has no homes at all and refuses requests.
   */
  private mayFoundRing(): boolean {
    const seeds = this.config.seeds;
    return seeds.some((s) => s.id === this.id) || seeds.every((s) => s.id === this.id);
  }

  /** Recomputes the ring when the members that should own partitions differ from its members (callers persist). */
  private recomputeRing(): boolean {
    if (this.ring === undefined && !this.mayFoundRing()) return false;
    this.members.set(this.id, this.selfEntry());
    const next = nextRing(this.ring, ringCandidates(this.members.values()), this.config.partitions);
    if (next === undefined) return false;
    this.adoptRing(next);
    this.env.logger.log('info', 'ring-changed', { version: this.ring?.version, members: this.ring?.ring.members });
    return true;
  }

  /**
   * Takes `candidate` when it wins over the current ring, keeping the ring it replaces as a past ring:
   * until every member of that ring confirms its handoff, acknowledged writes may live only on its homes.
   * Callers persist the change.
   */
  private adoptRing(candidate: VersionedRing | undefined): boolean {
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
  private learnPastRings(x: unknown): boolean {
    const current = this.ring;
    if (!Array.isArray(x) || current === undefined) return false;
    const before = this.pastRings.length;
    for (const r of x) {
      const past = ringFromJson(r, this.config.partitions);
      if (past === undefined || past.version >= current.version || this.pastRings.some((p) => sameRing(p, past))) continue;
      if (transitionOver(past, current.version, this.members)) continue;
      this.pastRings.push(past);
    }
    if (this.pastRings.length === before) return false;
    this.pastRings.sort((a, b) => a.version - b.version);
    while (this.pastRings.length > maxPastRings) this.pastRings.shift();
    return true;
  }

  /** Drops the past rings whose members all confirmed their handoff up to the current ring. */
  private prunePastRings(): void {
    const current = this.ring;
    if (current === undefined || this.pastRings.length === 0) return;
    this.members.set(this.id, this.selfEntry());
    const left = this.pastRings.filter((r) => !transitionOver(r, current.version, this.members));
    if (left.length === this.pastRings.length) return;
    this.pastRings = left;
    this.env.logger.log('info', 'ring-transition-progress', { version: current.version, pastRings: left.map((r) => r.version) });
    this.persistMetaSoon();
  }

  private persistMeta(): Promise<void> {
    const body = {
      incarnation: this.incarnation,
      actorEpoch: this.actorEpoch,
      actorBase: this.actorBase,
      members: [...this.members.values()].filter((m) => m.id !== this.id),
      ring: this.ring === undefined ? null : ringToJson(this.ring),
      pastRings: this.pastRings.map(ringToJson),
    };
    const value = new TextEncoder().encode(JSON.stringify(body));
    this.metaWrite = this.metaWrite.then(
      () => this.env.storage.write([{ type: 'put', ns: 'meta', key: 'state', value }]),
      () => this.env.storage.write([{ type: 'put', ns: 'meta', key: 'state', value }]),
    );
    return this.metaWrite;
  }

  private persistMetaSoon(): void {
    this.persistMeta().catch((err: unknown) => this.env.logger.log('error', 'meta-write-failed', { error: String(err) }));
  }

  private detector(peer: NodeId): PhiAccrualDetector {
    let d = this.detectors.get(peer);
    if (d === undefined) {
      const g = this.config.gossipIntervalMs;
      d = new PhiAccrualDetector({ firstHeartbeatEstimateMs: g, minStdDevMs: Math.max(20, g / 2), acceptablePauseMs: g, windowSize: 200 });
      this.detectors.set(peer, d);
    }
    return d;
  }

  /** Whether a peer looks alive: phi below the threshold. A peer never heard from is given the benefit of the doubt. */
  private isHealthy(peer: NodeId): boolean {
    if (peer === this.id) return !this.stopped;
    if (this.members.get(peer)?.status === 'left') return false;
    const d = this.detectors.get(peer);
    return d === undefined || d.isAvailable(this.env.clock.monoMs(), this.config.phiThreshold);
  }

  private homeOf(key: string): NodeId[] {
    return this.ring === undefined ? [] : preferenceList(this.ring.ring, key).slice(0, this.config.n);
  }

  private homeOfPartition(p: number): NodeId[] {
    return this.ring === undefined ? [] : preferenceListForPartition(this.ring.ring, p).slice(0, this.config.n);
  }

  /**
   * Strict: the N home replicas whatever their health. Sloppy: the first N healthy nodes of the whole
   * preference list, each fallback carrying the home node it stands in for; padded with unhealthy home
   * nodes when fewer than N nodes are healthy, so a request still has a chance.
   */
  private targetsFor(key: string): Target[] {
    const all = this.ring === undefined ? [] : preferenceList(this.ring.ring, key);
    const home = all.slice(0, this.config.n);
    if (!this.config.sloppy) return home.map((node) => ({ node }));
    const chosen = all.filter((n) => this.isHealthy(n)).slice(0, this.config.n);
    const missing = home.filter((h) => !chosen.includes(h));
    const out: Target[] = chosen.map((node) => (home.includes(node) ? { node } : { node, hint: missing.shift() as NodeId }));
    while (out.length < home.length && missing.length > 0) out.push({ node: missing.shift() as NodeId });
    return out;
  }

  /**
   * The targets and quorum groups of a request for `key`. Strict mode adds, per earlier ring still in
   * transition whose homes for the key differ, those homes as a target group of their own (Raft's joint
   * consensus applied to Dynamo's quorums): a read then meets the replicas of every write an earlier ring
   * acknowledged, and a write also reaches the replicas an earlier ring's reads consult, however the ring
   * moved. Sloppy mode promises availability, not intersection, so it keeps its one group: a down home of
   * an earlier ring must not block it.
   */
  private planFor(key: string): QuorumPlan {
    const targets = this.targetsFor(key);
    const current = targets.map((x) => x.node);
    if (this.config.sloppy || this.pastRings.length === 0) return { targets, groups: [current] };
    const groups: NodeId[][] = [current];
    const all = [...targets];
    for (const past of this.pastRings) {
      const home = preferenceList(past.ring, key).slice(0, this.config.n);
      if (groups.some((g) => g.length === home.length && g.every((id) => home.includes(id)))) continue;
      groups.push(home);
      for (const node of home) if (!all.some((x) => x.node === node)) all.push({ node });
    }
    return { targets: all, groups };
  }

  // ---- message dispatch --------------------------------------------------------------------------

  receive(from: NodeId, message: PeerMessage): void {
    if (this.stopped) return;
    if (from !== this.id) this.detector(from).heartbeat(this.env.clock.monoMs());
    const msg = message as Record<string, unknown>;
    const failed = (err: unknown): void =>
      this.env.logger.log('warn', 'bad-peer-message', { from, type: message.type, error: err instanceof Error ? err.message : String(err) });
    try {
      // Async handlers must never leave a rejected promise behind: a malformed peer message or a storage
      // error is logged, and the sender's own timeout deals with the missing answer.
      const pending = this.dispatch(from, message.type, msg);
      if (pending !== undefined) pending.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  private dispatch(from: NodeId, type: string, msg: Record<string, unknown>): Promise<void> | undefined {
    switch (type) {
      case 'ping':
        return undefined;
      case 'gossip':
        return this.onGossip(from, msg);
      case 'read':
        return this.onRead(from, msg);
      case 'write':
        return this.onWrite(from, msg);
      case 'fwd-put':
        return this.onForwardedPut(from, msg);
      case 'hint':
        return this.onHint(from, msg);
      case 'reap':
        return this.onReap(msg);
      case 'ae-roots':
        return this.onAeRoots(from, msg);
      case 'ae-leaves':
        return this.onAeLeaves(from, msg);
      case 'ae-hashes':
        return this.onAeHashes(from, msg);
      case 'ae-states':
        return this.onAeStates(from, msg);
      case 'handoff':
        return this.onHandoff(from, msg);
      default: {
        // Replies are routed to the request that is waiting for them.
        const req = msg.req;
        if (typeof req === 'string') this.handlers.get(req)?.(from, msg);
        return undefined;
      }
    }
  }

  private kindOf(msg: Record<string, unknown>): Kind {
    if (msg.kind !== 'kv' && msg.kind !== 'cart') throw new Error('message has no valid kind');
    return msg.kind;
  }

  /** States travel as their JSON form inside messages; decoding validates them (throws when malformed). */
  private stateOf(kind: Kind, s: unknown): State {
    if (s === null || s === undefined) throw new Error('message carries no state');
    return this.types[kind].fromJson(s);
  }

  private encodeState(kind: Kind, s: State): unknown {
    return this.types[kind].toJson(s);
  }

  private get durable(): boolean {
    return !this.faults.has('ack-not-durable');
  }

  /** A replica's answer to a read: its own state merged with any hints it holds for the key. */
  private async readLocal(kind: Kind, key: string): Promise<State | undefined> {
    let s = await this.store.get(kind, key);
    for (const h of this.hints.statesFor(kind, key)) s = this.types[kind].merge(s ?? this.types[kind].empty, h);
    return s;
  }

  private async onRead(from: NodeId, msg: Record<string, unknown>): Promise<void> {
    const kind = this.kindOf(msg);
    const key = String(msg.key);
    const s = await this.readLocal(kind, key);
    this.send(from, { type: 'read-reply', req: msg.req, s: s === undefined ? null : this.encodeState(kind, s) });
  }

  /** A replica write: merged and persisted (as a hint when we stand in for another node), then acknowledged. */
  private async onWrite(from: NodeId, msg: Record<string, unknown>): Promise<void> {
    const kind = this.kindOf(msg);
    const key = String(msg.key);
    let state = this.stateOf(kind, msg.s);
    if (kind === 'cart' && typeof msg.removeAllOf === 'string') {
      // Test fault 'remove-unobserved': the replica removes every add of the item it knows.
      const local = (await this.readLocal('cart', key)) as CartState | undefined;
      if (local !== undefined) state = this.types.cart.merge(state, cartRemoveDelta(msg.removeAllOf, cartObserved(local, msg.removeAllOf)));
    }
    const ack = (): void => {
      if (typeof msg.req === 'string') this.send(from, { type: 'write-ack', req: msg.req });
    };
    if (!this.durable) ack();
    if (typeof msg.hint === 'string' && msg.hint !== this.id) await this.hints.add(msg.hint, kind, key, state, this.durable);
    else await this.store.merge(kind, key, state, this.durable);
    if (this.durable) ack();
  }

  // ---- reads -------------------------------------------------------------------------------------

  private checkKey(key: string): string | undefined {
    if (typeof key !== 'string' || key.length === 0) return 'key must be a non-empty string';
    if (Buffer.byteLength(key, 'utf8') > maxKeyBytes) return `key longer than ${maxKeyBytes} bytes`;
    return undefined;
  }

  private quorumOf(value: number | undefined, fallback: number, name: string): number | string {
    const q = value ?? fallback;
    if (!Number.isInteger(q) || q < 1 || q > this.config.n) return `${name} must be an integer from 1 to N=${this.config.n}, got ${q}`;
    return q;
  }

  /**
   * Sends a read to the targets and answers once `needed` replied (or one, under the
   * 'read-fewer-than-r' fault). It keeps listening until every target answered or the timeout fires,
   * then repairs the replicas that were behind and, for a tombstone seen everywhere, schedules a reap.
   */
  private coordinateRead(kind: Kind, key: string, needed: number, timeoutMs: number): Promise<{ ok: true; state: State } | QuorumError> {
    const t = this.types[kind];
    const plan = this.planFor(key);
    const targets = plan.targets;
    const home = this.homeOf(key);
    const replies = new Map<NodeId, State | undefined>();
    const req = this.nextId();
    const fewer = this.faults.has('read-fewer-than-r');
    return new Promise((resolve) => {
      let answered = false;
      let done = false;
      const merged = (): State => {
        let s = t.empty;
        for (const r of replies.values()) if (r !== undefined) s = t.merge(s, r);
        return s;
      };
      const finish = (): void => {
        if (done) return;
        done = true;
        this.cancel(timer);
        this.handlers.delete(req);
        this.cancels.delete(cancelFn);
        if (!answered) {
          answered = true;
          resolve(quorumError(needed, replies.size));
          return;
        }
        this.afterRead(kind, key, merged(), replies, home);
      };
      const cancelFn = (): void => finish();
      const timer = this.after(timeoutMs, finish);
      this.cancels.add(cancelFn);
      this.handlers.set(req, (from, msg) => {
        if (done || replies.has(from) || !targets.some((x) => x.node === from)) return;
        try {
          replies.set(from, msg.s === null ? undefined : this.stateOf(kind, msg.s));
        } catch {
          return;
        }
        if (!answered && (fewer ? replies.size >= 1 : quorumMet(plan, replies, needed))) {
          answered = true;
          resolve({ ok: true, state: merged() });
        }
        if (replies.size === targets.length) finish();
      });
      for (const x of targets) this.send(x.node, { type: 'read', req, kind, key });
      // No homes at all (a joining node that has not learned the ring yet): nothing can answer.
      if (targets.length === 0) finish();
    });
  }

  private afterRead(kind: Kind, key: string, merged: State, replies: Map<NodeId, State | undefined>, home: NodeId[]): void {
    const t = this.types[kind];
    if (!this.faults.has('no-repair') && !t.isEmpty(merged)) {
      for (const [node, s] of replies) {
        if (!home.includes(node)) continue;
        if (s !== undefined && (t.equal(s, merged) || t.equal(s, t.merge(s, merged)))) continue;
        this.counters.readRepairs += 1;
        this.send(node, { type: 'write', kind, key, s: this.encodeState(kind, merged) });
      }
    }
    // A tombstone is reaped only once every home holds it; during a ring transition an earlier ring's homes
    // may still hold older versions, so reaping waits for the transition to end.
    if (kind !== 'kv' || this.pastRings.length > 0) return;
    const v = merged as Versions;
    if (v.siblings.length === 0 || v.siblings.some((s) => s.value !== null)) return;
    const allHome = home.length === this.config.n && home.every((h) => {
      const s = replies.get(h);
      return s !== undefined && t.equal(s, merged);
    });
    if (!allHome || this.reapsScheduled.has(key)) return;
    this.reapsScheduled.add(key);
    this.after(this.config.tombstoneReapDelayMs, () => {
      this.reapsScheduled.delete(key);
      for (const h of home) this.send(h, { type: 'reap', key, s: this.encodeState('kv', merged) });
    });
  }

  private async onReap(msg: Record<string, unknown>): Promise<void> {
    const key = String(msg.key);
    const expected = this.stateOf('kv', msg.s);
    await this.store.lock.run(mkey('kv', key), async () => {
      const cur = await this.store.get('kv', key);
      if (cur === undefined || !this.types.kv.equal(cur, expected)) return;
      await this.freshEpoch();
      await this.store.del('kv', key);
      this.counters.reaped += 1;
    });
  }

  async get(key: string, options: RequestOptions = {}): Promise<GetResult> {
    const bad = this.checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    const r = this.quorumOf(options.r, this.config.r, 'r');
    if (typeof r === 'string') return badRequest(r);
    const res = await this.coordinateRead('kv', key, r, options.timeoutMs ?? this.config.requestTimeoutMs);
    if (!res.ok) return res;
    const v = res.state as Versions;
    const values = versionsLive(v).map((s) => s.value as Uint8Array);
    if (v.siblings.length === 0) return { ok: true, values };
    return { ok: true, values, context: encodeKvContext(versionsClientContext(v, this.config.clockPruneEntries), this.secret, key) };
  }

  async cartRead(key: string, options: RequestOptions = {}): Promise<CartReadResult> {
    const bad = this.checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    const r = this.quorumOf(options.r, this.config.r, 'r');
    if (typeof r === 'string') return badRequest(r);
    const res = await this.coordinateRead('cart', key, r, options.timeoutMs ?? this.config.requestTimeoutMs);
    if (!res.ok) return res;
    const c = res.state as CartState;
    return { ok: true, items: cartItems(c), context: encodeCartContext(cartObservedAll(c), this.secret, key) };
  }

  // ---- writes ------------------------------------------------------------------------------------

  /**
   * Sends a state to the plan's targets (skipping `skip`, already written) and resolves once the acks meet
   * the plan's quorum of `needed`, counting this node once `selfWrite` (the coordinator's own durable
   * write, running concurrently) completes. 'ack-before-w' resolves on the first ack instead.
   */
  private replicate(kind: Kind, key: string, encoded: unknown, plan: QuorumPlan, skip: NodeId | undefined, needed: number, timeoutMs: number, extra: Record<string, unknown> = {}, selfWrite?: Promise<void>): Promise<boolean | number> {
    const targets = plan.targets;
    const early = this.faults.has('ack-before-w');
    const met = (acked: ReadonlySet<NodeId>): boolean => (early ? acked.size >= 1 : quorumMet(plan, acked, needed));
    const req = this.nextId();
    return new Promise((resolve) => {
      const acked = new Set<NodeId>();
      let done = false;
      const finish = (ok: boolean): void => {
        if (done) return;
        done = true;
        this.cancel(timer);
        this.handlers.delete(req);
        this.cancels.delete(cancelFn);
        resolve(ok ? true : acked.size);
      };
      const cancelFn = (): void => finish(false);
      const timer = this.after(timeoutMs, () => finish(false));
      this.cancels.add(cancelFn);
      this.handlers.set(req, (from, msg) => {
        if (msg.type !== 'write-ack' || acked.has(from) || !targets.some((x) => x.node === from)) return;
        acked.add(from);
        if (met(acked)) finish(true);
      });
      for (const x of targets) {
        if (x.node === skip) continue;
        this.send(x.node, { type: 'write', req, kind, key, s: encoded, ...(x.hint ? { hint: x.hint } : {}), ...extra });
      }
      // No homes at all (a joining node that has not learned the ring yet): nothing can acknowledge.
      if (targets.length === 0) finish(false);
      // The coordinator's own write, running alongside the others, is one more ack once durable; a
      // failed local write simply does not count.
      selfWrite?.then(
        () => {
          if (done) return;
          acked.add(this.id);
          if (met(acked)) finish(true);
        },
        () => undefined,
      );
    });
  }

  /** The actor for a dot minted now; call it under the key's lock, in the same turn as the mint. */
  private ownActor(): NodeId {
    this.epochFresh = false;
    return this.actorEpoch === 0 ? this.actorBase : `${this.actorBase}#${this.actorEpoch}`;
  }

  /** Called under the key's lock right before local data is deleted. */
  private async freshEpoch(): Promise<void> {
    if (this.epochFresh) return;
    this.actorEpoch += 1;
    this.epochFresh = true;
    await this.persistMeta();
  }

  async put(key: string, value: Uint8Array, context: string | undefined, options: RequestOptions = {}): Promise<PutResult> {
    if (!(value instanceof Uint8Array)) return badRequest('value must be bytes');
    if (value.length > maxValueBytes) return badRequest(`value larger than ${maxValueBytes} bytes`);
    return this.write(key, value, context, options);
  }

  async delete(key: string, context: string | undefined, options: RequestOptions = {}): Promise<PutResult> {
    return this.write(key, null, context, options);
  }

  private async write(key: string, value: Uint8Array | null, context: string | undefined, options: RequestOptions): Promise<PutResult> {
    const bad = this.checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    const w = this.quorumOf(options.w, this.config.w, 'w');
    if (typeof w === 'string') return badRequest(w);
    let ctx: VersionVector = {};
    if (context !== undefined && context !== '') {
      const d = decodeKvContext(context, this.secret, key);
      if ('error' in d && typeof d.error === 'string' && !isVersionVector(d)) return { ok: false, error: 'bad-context', message: d.error as string };
      ctx = d as VersionVector;
    }
    const timeoutMs = options.timeoutMs ?? this.config.requestTimeoutMs;
    const home = this.homeOf(key);
    // The coordinator must be a home replica: it mints the dot from its own latest state, so the dot is unique.
    if (home.includes(this.id)) return this.coordinatePut(key, value, ctx, w, timeoutMs, undefined);
    const healthyHome = home.filter((h) => this.isHealthy(h));
    for (const h of healthyHome) {
      const res = await this.forwardPut(h, key, value, ctx, w, timeoutMs);
      if (res !== undefined) return res;
      // No answer at all: the home node may still have coordinated it; we cannot tell, so report it as
      // an indefinite quorum failure rather than writing again under another actor.
      return quorumError(w, 0);
    }
    // No home node reachable: coordinate with a fresh actor id that can never collide with anyone's dots.
    return this.coordinatePut(key, value, ctx, w, timeoutMs, this.freshActor());
  }

  private forwardPut(to: NodeId, key: string, value: Uint8Array | null, ctx: VersionVector, w: number, timeoutMs: number): Promise<PutResult | undefined> {
    const req = this.nextId();
    return new Promise((resolve) => {
      const finish = (res: PutResult | undefined): void => {
        this.cancel(timer);
        this.handlers.delete(req);
        this.cancels.delete(cancelFn);
        resolve(res);
      };
      const cancelFn = (): void => finish(undefined);
      const timer = this.after(timeoutMs, () => finish(undefined));
      this.cancels.add(cancelFn);
      this.handlers.set(req, (from, msg) => {
        if (from !== to || msg.type !== 'fwd-put-reply') return;
        const r = msg.result as Record<string, unknown> | null;
        if (r === null || typeof r !== 'object') return finish(undefined);
        if (r.ok === true && typeof r.context === 'string') return finish({ ok: true, context: r.context });
        if (r.error === 'quorum') return finish(quorumError(Number(r.needed), Number(r.replied)));
        return finish({ ok: false, error: r.error === 'bad-context' ? 'bad-context' : 'bad-request', message: String(r.message) });
      });
      // The home coordinator gets a shorter budget so its answer can travel back before we give up.
      this.send(to, { type: 'fwd-put', req, key, v: value === null ? null : toB64(value), ctx, w, timeoutMs: Math.max(1, Math.floor(timeoutMs * 0.8)) });
    });
  }

  private async onForwardedPut(from: NodeId, msg: Record<string, unknown>): Promise<void> {
    const key = String(msg.key);
    const value = msg.v === null ? null : fromB64(String(msg.v));
    const ctx = isVersionVector(msg.ctx) ? msg.ctx : {};
    const w = Number(msg.w);
    const timeoutMs = Number(msg.timeoutMs) || this.config.requestTimeoutMs;
    let result: PutResult;
    if (!Number.isInteger(w) || w < 1 || w > this.config.n) result = badRequest('bad forwarded quorum');
    else if (this.homeOf(key).includes(this.id)) result = await this.coordinatePut(key, value, ctx, w, timeoutMs, undefined);
    else result = await this.coordinatePut(key, value, ctx, w, timeoutMs, this.freshActor());
    this.send(from, { type: 'fwd-put-reply', req: msg.req, result });
  }

  /** A one-off actor id no other write will ever use, for a coordinator that holds no replica of the key. */
  private freshActor(): NodeId {
    return `${this.id}~${this.bootNonce}.${++this.seq}`;
  }

  /**
   * Coordinates a put or delete. Without `fixedActor` this node is a home replica: the new version is
   * minted under its own actor from its own durable state (under the key's lock) and written locally
   * before anyone else sees it. With a fixed (fresh) actor, the written version alone is sent.
   */
  private async coordinatePut(key: string, value: Uint8Array | null, ctx: VersionVector, w: number, timeoutMs: number, fixedActor: NodeId | undefined): Promise<PutResult> {
    const storesFirst = fixedActor === undefined;
    const plan = this.planFor(key);
    const lww = this.config.conflicts === 'lww';
    const wallMs = this.env.clock.wallMs();
    const mint = (cur: Versions, actor: NodeId): { versions: Versions; context: VersionVector } => {
      if (lww) {
        const r = lwwWrite(cur, value, actor, wallMs);
        return { versions: r.versions, context: versionsContext(r.versions) };
      }
      const r = versionsWrite(cur, ctx, value, actor, wallMs);
      // A version vector cannot express a gap: when this coordinator minted dots the client never read
      // (concurrent writes through it), adding the new dot would raise its entry over them and the next
      // write with this context would silently drop them. Then the context stays what the client read,
      // and its own write remains a sibling until a read covers it, which loses nothing.
      const d = r.written.dot;
      const contiguous = d.counter === (ctx[d.node] ?? 0) + 1;
      return { versions: r.versions, context: contiguous ? vvAddDot(ctx, d) : ctx };
    };
    let minted: { versions: Versions; context: VersionVector };
    // The coordinator's own durable write; it counts as an ack once it has completed.
    let localWrite: Promise<void> | undefined;
    if (fixedActor === undefined) {
      // The version is minted under the key's lock from this node's latest state (in memory until its
      // write is durable), and the lock is held until the local write is durable, so writes of one key
      // through this node stay ordered. The other replicas need not wait for that fsync: they get the
      // version as soon as it is minted, and the local write counts as one ack when it completes.
      const started = await new Promise<{ m: { versions: Versions; context: VersionVector }; done: Promise<void> }>((resolve, reject) => {
        this.store.lock
          .run(mkey('kv', key), async () => {
            const cur = ((await this.store.get('kv', key)) as Versions | undefined) ?? emptyVersions;
            const m = mint(cur, this.ownActor());
            const done = this.store.put('kv', key, m.versions, this.durable);
            resolve({ m, done });
            await done.catch(() => undefined);
          })
          .catch(reject);
      });
      minted = started.m;
      localWrite = started.done.catch((err: unknown) => {
        // The minted dot may now live on other replicas but not here: mint under a new epoch from now on,
        // so it is never minted again with another value.
        this.actorEpoch += 1;
        this.epochFresh = true;
        this.persistMetaSoon();
        this.env.logger.log('error', 'local-write-failed', { key, error: err instanceof Error ? err.message : String(err) });
        throw err;
      });
      // Whoever awaits it handles the failure; this keeps it from ever being an unhandled rejection.
      localWrite.catch(() => undefined);
    } else {
      minted = mint(emptyVersions, fixedActor);
    }
    let context = minted.context;
    if (this.faults.has('context-overcovers')) {
      const over: Record<string, number> = {};
      for (const [n, c] of Object.entries(versionsContext(minted.versions))) over[n] = c + 1;
      context = over;
    }
    const selfIn = storesFirst && plan.targets.some((x) => x.node === this.id);
    const res = await this.replicate('kv', key, this.encodeState('kv', minted.versions), plan, storesFirst ? this.id : undefined, w, timeoutMs, {}, selfIn ? localWrite : undefined);
    if (res === true) return { ok: true, context: encodeKvContext(context, this.secret, key) };
    return quorumError(w, res as number);
  }

  async cartAdd(key: string, item: string, qty: number, options: RequestOptions = {}): Promise<CartWriteResult> {
    const bad = this.checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    if (typeof item !== 'string' || item.length === 0) return badRequest('item must be a non-empty string');
    if (!Number.isSafeInteger(qty) || qty < 1) return badRequest('qty must be a positive integer');
    const w = this.quorumOf(options.w, this.config.w, 'w');
    if (typeof w === 'string') return badRequest(w);
    // Dots are unique by construction (node, boot nonce, counter), so any node may coordinate an add.
    const delta = cartAddDelta(item, qty, `${this.id}:${this.bootNonce}:${++this.cartCounter}`);
    const res = await this.replicate('cart', key, this.encodeState('cart', delta), this.planFor(key), undefined, w, options.timeoutMs ?? this.config.requestTimeoutMs);
    return res === true ? { ok: true } : quorumError(w, res as number);
  }

  async cartRemove(key: string, item: string, context: string, options: RequestOptions = {}): Promise<CartWriteResult> {
    const bad = this.checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    if (typeof item !== 'string' || item.length === 0) return badRequest('item must be a non-empty string');
    const w = this.quorumOf(options.w, this.config.w, 'w');
    if (typeof w === 'string') return badRequest(w);
    const observed = decodeCartContext(context, this.secret, key);
    if ('error' in observed && typeof observed.error === 'string') return { ok: false, error: 'bad-context', message: observed.error };
    const dots = (observed as Record<string, string[]>)[item] ?? [];
    const delta = cartRemoveDelta(item, dots);
    const extra = this.faults.has('remove-unobserved') ? { removeAllOf: item } : {};
    const res = await this.replicate('cart', key, this.encodeState('cart', delta), this.planFor(key), undefined, w, options.timeoutMs ?? this.config.requestTimeoutMs, extra);
    return res === true ? { ok: true } : quorumError(w, res as number);
  }

  // ---- hinted handoff ----------------------------------------------------------------------------

  private hintTick(): void {
    for (const h of this.hints.all()) {
      if (this.faults.has('drop-hints')) {
        this.hints.remove(h.id).catch((err: unknown) => this.env.logger.log('error', 'hint-delete-failed', { error: String(err) }));
        continue;
      }
      if (this.hintsInFlight.has(h.id)) continue;
      let to = h.owner;
      if (this.members.get(h.owner)?.status === 'left') {
        // The owner left for good: the write belongs to whoever replicates the key now.
        const alt = this.homeOf(h.key).find((n) => this.isHealthy(n));
        if (alt === undefined) continue;
        to = alt;
      } else if (!this.isHealthy(h.owner)) {
        continue;
      }
      this.hintsInFlight.add(h.id);
      const req = this.nextId();
      const timer = this.after(this.config.requestTimeoutMs, () => {
        this.handlers.delete(req);
        this.hintsInFlight.delete(h.id);
      });
      this.handlers.set(req, () => {
        this.cancel(timer);
        this.handlers.delete(req);
        this.hints.remove(h.id, h.version).then(
          (removed) => {
            this.hintsInFlight.delete(h.id);
            if (removed) this.counters.hintsDelivered += 1;
          },
          (err: unknown) => {
            this.hintsInFlight.delete(h.id);
            this.env.logger.log('error', 'hint-delete-failed', { error: String(err) });
          },
        );
      });
      this.send(to, { type: 'hint', req, kind: h.kind, key: h.key, s: this.encodeState(h.kind, h.state) });
    }
  }

  private async onHint(from: NodeId, msg: Record<string, unknown>): Promise<void> {
    const kind = this.kindOf(msg);
    await this.store.merge(kind, String(msg.key), this.stateOf(kind, msg.s), this.durable);
    this.send(from, { type: 'hint-ack', req: msg.req });
  }

  // ---- ownership handoff -------------------------------------------------------------------------

  /**
   * Streams every partition this node holds but no longer replicates to all of its current home replicas,
   * and deletes a key only after they all acknowledged it and only if it did not change meanwhile: writes
   * that reach an old owner during the change are forwarded on the next round, never lost. A tick that
   * finds nothing left to hand off confirms the ring version in this node's gossiped entry.
   */
  private handoffTick(): void {
    if (this.ring === undefined) return;
    const version = this.ring.version;
    let pending = this.handoffsInFlight.size > 0;
    const held = this.store.partitionsHeld();
    if (this.handedOffPartitions.size > 0) {
      const holding = new Set(held);
      for (const p of this.handedOffPartitions.keys()) if (!holding.has(p)) this.handedOffPartitions.delete(p);
    }
    for (const p of held) {
      if (this.handoffsInFlight.has(p)) continue;
      const home = this.homeOfPartition(p);
      if (home.includes(this.id)) continue;
      // A partition every new home acknowledged in full under this ring no longer holds the confirmation
      // back, even while it still has keys: those keep changing when writes still reach this node through
      // an earlier ring's quorum, and such writes reach W of the new homes too. Waiting for the partition to
      // empty instead would never end under load, since the writes stop only once the transition ends.
      if (this.handedOffPartitions.get(p) !== version) pending = true;
      // Every new home must have acknowledged a key before this copy is deleted: handing off to the
      // healthy ones only and deleting would leave fewer than N replicas, and a read quorum of the new
      // ring could then miss a write the old ring acknowledged. So it waits until all of them look up,
      // except late in a leave, where a partial handoff beats taking the data away with the node.
      const healthy = home.filter((h) => this.isHealthy(h));
      const targets = healthy.length === home.length || this.partialHandoff ? healthy : [];
      if (targets.length === 0) continue;
      this.handoffsInFlight.add(p);
      this.handoffPartition(p, targets)
        .then((complete) => {
          if (complete && targets.length === home.length && this.ring?.version === version) this.handedOffPartitions.set(p, version);
        })
        .catch((err: unknown) => this.env.logger.log('error', 'handoff-failed', { partition: p, error: String(err) }))
        .finally(() => this.handoffsInFlight.delete(p));
    }
    // Confirmed only from a tick that found nothing left to hand off, so every key the confirmation covers
    // has been acknowledged by all its new homes. Gossip carries it; peers then end the transition.
    if (!pending && this.handedOff !== version) {
      this.handedOff = version;
      this.prunePastRings();
    }
  }

  /** Hands a partition's keys to `targets`; true when every chunk was acknowledged by all of them. */
  private async handoffPartition(p: number, targets: NodeId[]): Promise<boolean> {
    const keys = this.store.keysOf(p);
    for (let i = 0; i < keys.length; i += handoffChunk) {
      const chunk = keys.slice(i, i + handoffChunk);
      const entries: { kind: Kind; key: string; s: unknown; h: string }[] = [];
      for (const m of chunk) {
        const { kind, key } = splitMkey(m);
        const s = await this.store.get(kind, key);
        const h = this.store.hashOf(kind, key);
        if (s !== undefined && h !== undefined) entries.push({ kind, key, s: this.encodeState(kind, s), h });
      }
      if (entries.length === 0) continue;
      const ok = await this.sendHandoff(targets, entries.map(({ kind, key, s }) => ({ kind, key, s })));
      if (!ok || this.stopped) return false;
      for (const e of entries) {
        await this.store.lock.run(mkey(e.kind, e.key), async () => {
          if (this.store.hashOf(e.kind, e.key) !== e.h) return;
          // Dots this node minted for the key are about to be forgotten here: never mint them again.
          await this.freshEpoch();
          await this.store.del(e.kind, e.key);
          this.counters.handoffKeys += 1;
        });
      }
    }
    return true;
  }

  private sendHandoff(targets: NodeId[], entries: { kind: Kind; key: string; s: unknown }[]): Promise<boolean> {
    const req = this.nextId();
    return new Promise((resolve) => {
      const acked = new Set<NodeId>();
      const finish = (ok: boolean): void => {
        this.cancel(timer);
        this.handlers.delete(req);
        this.cancels.delete(cancelFn);
        resolve(ok);
      };
      const cancelFn = (): void => finish(false);
      const timer = this.after(this.config.requestTimeoutMs * 3, () => finish(false));
      this.cancels.add(cancelFn);
      this.handlers.set(req, (from) => {
        if (!targets.includes(from)) return;
        acked.add(from);
        if (acked.size === targets.length) finish(true);
      });
      for (const t of targets) this.send(t, { type: 'handoff', req, entries });
    });
  }

  private async onHandoff(from: NodeId, msg: Record<string, unknown>): Promise<void> {
    if (!Array.isArray(msg.entries)) return;
    for (const e of msg.entries as Record<string, unknown>[]) {
      const kind = this.kindOf(e);
      await this.store.merge(kind, String(e.key), this.stateOf(kind, e.s), this.durable);
    }
    this.send(from, { type: 'handoff-ack', req: msg.req });
  }

  // ---- anti-entropy ------------------------------------------------------------------------------

  private replicatedPartitions(): number[] {
    if (this.ring === undefined) return [];
    if (this.replicatedCache?.version !== this.ring.version) {
      this.replicatedCache = { version: this.ring.version, parts: partitionsReplicatedBy(this.ring.ring, this.id, this.config.n) };
    }
    return this.replicatedCache.parts;
  }

  /**
   * One anti-entropy round: pick a healthy peer that shares partitions with this node and send it the
   * Merkle root of every partition both replicate. The peer answers, for each partition whose root
   * differs (at most aeMaxPartitionsPerRound), with that partition's leaf hashes, and the bucket and key
   * exchange below moves only the differing keys. Comparing every shared partition per round matters:
   * syncing one random partition per round left replicas apart for minutes once a node held a few hundred
   * partitions.
   */
  private antiEntropyTick(): void {
    if (this.faults.has('no-repair')) return;
    const mine = this.replicatedPartitions();
    const shared = new Map<NodeId, number[]>();
    for (const p of mine) {
      for (const h of this.homeOfPartition(p)) {
        if (h === this.id) continue;
        let list = shared.get(h);
        if (list === undefined) shared.set(h, (list = []));
        list.push(p);
      }
    }
    const peer = this.pick([...shared.keys()].filter((h) => this.isHealthy(h)).sort());
    if (peer === undefined) return;
    const roots: Record<string, string> = {};
    for (const p of shared.get(peer)!) roots[p] = this.store.tree(p).root();
    this.counters.aeRounds += 1;
    this.send(peer, { type: 'ae-roots', roots });
  }

  private onAeRoots(from: NodeId, msg: Record<string, unknown>): undefined {
    if (this.faults.has('no-repair') || typeof msg.roots !== 'object' || msg.roots === null) return undefined;
    const mine = new Set(this.replicatedPartitions());
    let budget = aeMaxPartitionsPerRound;
    for (const [key, root] of Object.entries(msg.roots as Record<string, unknown>)) {
      const p = Number(key);
      if (!Number.isInteger(p) || !mine.has(p) || typeof root !== 'string') continue;
      const tree = this.store.tree(p);
      if (tree.root() === root) continue;
      this.send(from, { type: 'ae-leaves', p, leaves: tree.leafHashes() });
      if (--budget === 0) break;
    }
    return undefined;
  }

  private onAeLeaves(from: NodeId, msg: Record<string, unknown>): undefined {
    const p = Number(msg.p);
    if (!Number.isInteger(p) || p < 0 || p >= this.config.partitions || !Array.isArray(msg.leaves)) return undefined;
    const tree = this.store.tree(p);
    const buckets = diffBuckets(tree.leafHashes(), msg.leaves as string[]);
    if (buckets.length > 0) this.send(from, { type: 'ae-hashes', p, buckets, hashes: Object.fromEntries(tree.entriesInBuckets(buckets)) });
    return undefined;
  }

  /** Initiator: compares key hashes in the differing buckets, pushes what the peer lacks, asks for the rest. */
  private async onAeHashes(from: NodeId, msg: Record<string, unknown>): Promise<void> {
    const p = Number(msg.p);
    if (!Number.isInteger(p) || p < 0 || p >= this.config.partitions || !Array.isArray(msg.buckets) || typeof msg.hashes !== 'object' || msg.hashes === null) return;
    const theirs = msg.hashes as Record<string, string>;
    const mine = Object.fromEntries(this.store.tree(p).entriesInBuckets(msg.buckets as number[]));
    const push = Object.keys(mine).filter((k) => theirs[k] !== mine[k]);
    const want = Object.keys(theirs).filter((k) => mine[k] !== theirs[k]);
    this.send(from, { type: 'ae-states', p, entries: await this.entriesFor(push), want });
  }

  private async entriesFor(mkeys: string[]): Promise<{ kind: Kind; key: string; s: unknown }[]> {
    const out: { kind: Kind; key: string; s: unknown }[] = [];
    for (const m of mkeys) {
      const { kind, key } = splitMkey(m);
      if (kind !== 'kv' && kind !== 'cart') continue;
      const s = await this.store.get(kind, key);
      if (s !== undefined) out.push({ kind, key, s: this.encodeState(kind, s) });
    }
    return out;
  }

  private async onAeStates(from: NodeId, msg: Record<string, unknown>): Promise<void> {
    if (this.faults.has('no-repair')) return;
    if (Array.isArray(msg.entries)) {
      for (const e of msg.entries as Record<string, unknown>[]) {
        const kind = this.kindOf(e);
        const { changed } = await this.store.merge(kind, String(e.key), this.stateOf(kind, e.s), this.durable);
        if (changed) this.counters.keysRepaired += 1;
      }
    }
    if (Array.isArray(msg.want) && msg.want.length > 0) {
      this.send(from, { type: 'ae-states', p: msg.p, entries: await this.entriesFor(msg.want as string[]), want: [] });
    }
  }

  // ---- leave -------------------------------------------------------------------------------------

  private waitUntil(cond: () => boolean, pollMs: number, maxMs: number): Promise<boolean> {
    const deadline = this.env.clock.monoMs() + maxMs;
    return new Promise((resolve) => {
      const check = (): void => {
        if (cond()) return resolve(true);
        if (this.stopped || this.env.clock.monoMs() >= deadline) return resolve(false);
        this.after(pollMs, check);
      };
      check();
    });
  }

  async leave(): Promise<void> {
    this.selfStatus = 'leaving';
    this.heartbeat += 1;
    this.recomputeRing();
    await this.persistMeta();
    for (const p of this.livePeers()) this.send(p, this.gossipMessage(false));
    const poll = Math.max(10, this.config.gossipIntervalMs);
    const budgetMs = Math.max(60_000, this.config.requestTimeoutMs * 60);
    await this.waitUntil(() => this.ring !== undefined && !this.ring.ring.members.includes(this.id), poll, budgetMs);
    const isDrained = (): boolean => {
      this.handoffTick();
      return this.store.partitionsHeld().length === 0 && this.hints.size === 0;
    };
    // Half the budget waits for every new home to be up; then whatever is left goes to the healthy ones.
    let drained = await this.waitUntil(isDrained, Math.max(10, this.config.hintIntervalMs), budgetMs / 2);
    if (!drained) {
      this.env.logger.log('warn', 'leave-handoff-partial', { partitions: this.store.partitionsHeld().length });
      this.partialHandoff = true;
      drained = await this.waitUntil(isDrained, Math.max(10, this.config.hintIntervalMs), budgetMs / 2);
    }
    if (!drained) this.env.logger.log('warn', 'leave-handoff-incomplete', { partitions: this.store.partitionsHeld().length, hints: this.hints.size });
    this.selfStatus = 'left';
    this.heartbeat += 1;
    await this.persistMeta();
    for (const p of this.livePeers()) this.send(p, this.gossipMessage(false));
  }

  // ---- introspection -----------------------------------------------------------------------------

  status(): NodeStatus {
    const now = this.env.clock.monoMs();
    const members = [...this.members.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => {
        const d = m.id === this.id ? undefined : this.detectors.get(m.id);
        let status: NodeStatus['members'][number]['status'] = m.status === 'left' ? 'down' : m.status;
        if (m.id === this.id) status = this.selfStatus === 'left' ? 'down' : this.selfStatus;
        else if (status !== 'down' && !this.isHealthy(m.id)) status = 'down';
        return { id: m.id, addr: m.addr, status, ...(d !== undefined ? { phi: d.phi(now) } : {}) };
      });
    const owned = this.ring === undefined ? 0 : partitionsOwnedBy(this.ring.ring, this.id).length;
    return {
      id: this.id,
      members,
      ring: { vnodes: owned, partitions: this.config.partitions, owned, version: this.ring?.version ?? 0 },
      ringMembers: this.ring?.ring.members ?? [],
      ringHash: this.ring === undefined ? '' : sha256Hex(JSON.stringify(ringToJson(this.ring))),
      hints: { pending: this.hints.size, delivered: this.counters.hintsDelivered },
      antiEntropy: { rounds: this.counters.aeRounds, keysRepaired: this.counters.keysRepaired },
      readRepair: { repairs: this.counters.readRepairs },
      handoff: { keys: this.counters.handoffKeys, partitionsHeld: this.store.partitionsHeld().length, handedOffVersion: this.handedOff },
      // Earlier ring versions whose quorums requests still meet too, because their handoff is unconfirmed.
      ringTransition: this.pastRings.map((r) => r.version),
      reaped: this.counters.reaped,
      config: { n: this.config.n, r: this.config.r, w: this.config.w, sloppy: this.config.sloppy, conflicts: this.config.conflicts },
    };
  }

  async local(key: string): Promise<LocalState | undefined> {
    const v = (await this.store.get('kv', key)) as Versions | undefined;
    if (v !== undefined) {
      return {
        kind: 'kv',
        versions: v.siblings.map((s) => ({
          value: s.value ?? new Uint8Array(0),
          clock: { ...vvAddDot(s.past, s.dot) },
          tombstone: s.value === null,
        })),
      };
    }
    const c = (await this.store.get('cart', key)) as CartState | undefined;
    if (c !== undefined) return { kind: 'cart', items: cartItems(c), state: JSON.parse(new TextDecoder().decode(this.types.cart.encode(c))) as unknown };
    return undefined;
  }

  preflist(key: string): NodeId[] {
    return this.homeOf(key);
  }

  async *keys(): AsyncIterable<string> {
    const seen = new Set<string>();
    for (const p of this.store.partitionsHeld()) {
      for (const m of this.store.keysOf(p)) {
        const { key } = splitMkey(m);
        if (!seen.has(key)) {
          seen.add(key);
          yield key;
        }
      }
    }
  }

  async digest(): Promise<Record<string, string>> {
    return this.store.digest();
  }
}
