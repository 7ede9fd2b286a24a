// The Dynamo node as a sans-IO state machine: gossip membership and a versioned ring, per-request
// coordinators for get/put/delete and the cart with N/R/W quorums (strict or sloppy), read repair,
// hinted handoff, Merkle anti-entropy, tombstone reaping and ownership handoff on ring changes. Every
// effect goes through the injected CoreEnv, so the simulation, the local process and Docker run this
// same code.
//
// This file is the facade: it builds the context the concerns share (node-context.ts), starts and stops
// the node, ticks the named timers, decodes each peer message once (messages.ts) and hands it to the
// concern it belongs to. Each concern is one file:
//   membership-view.ts    members, failure detectors, the ring and earlier rings in transition
//   quorum-plan.ts        targets and quorum groups of a request, and when they are met (pure)
//   gossip.ts             membership exchange and ring propagation; probe.ts and suspicions.ts the
//                         SWIM-style failure detection of a large cluster
//   read-coordinator.ts   reads, read repair
//   write-coordinator.ts  puts, deletes, cart updates; replicate.ts is their fan-out
//   replica.ts            the replica side: answering reads, storing writes, reaping
//   hinted-handoff.ts     hints offered to their owners
//   ownership-handoff.ts  partitions handed to their new homes on ring changes; leave.ts leaving
//   anti-entropy.ts       Merkle repair between replicas
//   tombstone-reaper.ts   tombstones reaped once nothing older exists anywhere, on anti-entropy's timer
//   metadata.ts           the node's durable metadata; actor-ids.ts the ids it mints under
//   requests.ts           the request tracker; timers.ts the named timers; test-faults.ts the defects
//   introspection.ts      status() and local()
import { ActorIds } from './actor-ids.js';
import { AntiEntropy } from './anti-entropy.js';
import type {
  CartReadResult,
  CartWriteResult,
  CoreNode,
  GetResult,
  LocalState,
  NodeStatus,
  PutResult,
  RequestOptions,
} from './api.js';
import type { NodeConfig } from './config.js';
import type { CoreEnv, NodeId, PeerMessage } from './env.js';
import { Gossip } from './gossip.js';
import { partitionOf } from './hash.js';
import { HintedHandoff } from './hinted-handoff.js';
import { HintStore } from './hints.js';
import { localState, nodeStatus } from './introspection.js';
import { leaveCluster } from './leave.js';
import { type Kind, type State, LocalStore, dataTypes, splitMkey } from './local-store.js';
import { MembershipView } from './membership-view.js';
import { type DecodeContext, type InMessage, type OutMessage, decodePeerMessage } from './messages.js';
import { MetaStore } from './metadata.js';
import type { Counters, NodeContext } from './node-context.js';
import { OwnershipHandoff } from './ownership-handoff.js';
import { ReadCoordinator } from './read-coordinator.js';
import { Replica } from './replica.js';
import { RequestTracker } from './requests.js';
import { FaultHooks } from './test-faults.js';
import { TimerTable } from './timers.js';
import { TombstoneReaper } from './tombstone-reaper.js';
import { WriteCoordinator } from './write-coordinator.js';

/** The node's periodic timers, each ticked by DynamoNode.tick. */
type PeriodicTimer = 'gossip' | 'hints+handoff' | 'anti-entropy';

export class DynamoNode implements CoreNode {
  readonly id: NodeId;
  private isStopped = true;
  private readonly ctx: NodeContext;
  private readonly decodeContext: DecodeContext;
  private readonly view: MembershipView;
  private readonly gossip: Gossip;
  private readonly replica: Replica;
  private readonly reads: ReadCoordinator;
  private readonly writes: WriteCoordinator;
  private readonly hinted: HintedHandoff;
  private readonly handoff: OwnershipHandoff;
  private readonly antiEntropy: AntiEntropy;
  private readonly reaper: TombstoneReaper;

  constructor(
    readonly config: NodeConfig,
    private readonly env: CoreEnv,
  ) {
    this.id = config.id;
    const faults = new FaultHooks(config.testFaults);
    const types = dataTypes(config.conflicts === 'lww' || faults.lwwInVclock);
    const stopped = (): boolean => this.isStopped;
    const timers = new TimerTable(env, stopped);
    // The view, the actor ids and the metadata refer to each other at run time only (the metadata record
    // holds the first two; both persist through it), so they are wired with closures.
    let meta: MetaStore | undefined;
    const actor = new ActorIds(config.id, () => (meta as MetaStore).persist());
    this.view = new MembershipView(config.id, config, env, stopped, () => (meta as MetaStore).persistSoon(), () => actor.bootNonce);
    meta = new MetaStore(config.id, config.partitions, env, this.view, actor);
    const counters: Counters = { hintsDelivered: 0, aeRounds: 0, keysRepaired: 0, readRepairs: 0, handoffKeys: 0, reaped: 0, malformedMessages: 0 };
    this.ctx = {
      id: config.id,
      config,
      env,
      secret: config.secret,
      types,
      store: new LocalStore(env, types, (key) => partitionOf(key, config.partitions)),
      hints: new HintStore(env, types),
      faults,
      timers,
      requests: new RequestTracker(timers, () => actor.nextId()),
      view: this.view,
      actor,
      meta,
      counters,
      stopped,
      send: (to, message) => this.send(to, message),
      encodeState: (kind: Kind, s: State) => types[kind].toJson(s),
    };
    this.decodeContext = { partitions: config.partitions, types };
    this.handoff = new OwnershipHandoff(this.ctx);
    // A node with nothing to hand off confirms a new ring at once, so the gossip pushed next carries it.
    this.gossip = new Gossip(this.ctx, () => this.handoff.tick());
    this.replica = new Replica(this.ctx);
    this.reads = new ReadCoordinator(this.ctx);
    this.writes = new WriteCoordinator(this.ctx);
    this.hinted = new HintedHandoff(this.ctx);
    this.antiEntropy = new AntiEntropy(this.ctx);
    this.reaper = new TombstoneReaper(this.ctx, (key) => this.reads.reading(key));
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  async start(): Promise<void> {
    const { view, actor, meta, store, hints, timers } = this.ctx;
    const hadMeta = await meta.load();
    view.incarnation += 1;
    // A coordinator sends a new version to the other replicas while its own durable write is still in
    // flight, so a crash can leave dots on peers that this disk never recorded. A node with an earlier
    // life therefore mints under a fresh actor epoch (persisted below, before any client is served) and
    // can never repeat such a dot.
    if (hadMeta) actor.startNewEpoch();
    view.heartbeat = 0;
    actor.bootNonce = `${view.incarnation.toString(36)}.${Math.floor(this.env.random.next() * 2 ** 32).toString(36)}`;
    // No metadata: a first boot or a lost disk, indistinguishable here, so mint under a base of this boot.
    if (!hadMeta || actor.base === '') actor.bootWithoutMetadata(this.ctx.faults.actorReuse);
    view.selfStatus = 'up';
    view.startedMs = this.env.clock.monoMs();
    view.refreshSelf();
    await meta.persist();
    await store.load();
    await hints.load();
    this.isStopped = false;
    for (const s of this.config.seeds) if (s.id !== this.id) this.env.transport.learnPeer?.(s.id, s.addr);
    for (const m of view.members.values()) if (m.id !== this.id) this.env.transport.learnPeer?.(m.id, m.addr);
    if (view.recomputeRing()) meta.persistSoon();
    this.gossip.greetSeeds();
    timers.every(['gossip'], this.config.gossipIntervalMs, () => this.tick('gossip'));
    timers.every(['hints', 'handoff'], this.config.hintIntervalMs, () => this.tick('hints+handoff'));
    timers.every(['anti-entropy'], this.config.antiEntropyIntervalMs, () => this.tick('anti-entropy'));
    this.env.logger.log('info', 'node-started', { incarnation: view.incarnation, members: view.members.size });
  }

  stop(): void {
    this.isStopped = true;
    this.ctx.store.stopLazyFlush();
    this.ctx.timers.clearAll();
    this.ctx.requests.stopAll();
  }

  /** Every periodic task runs from here (TigerBeetle's `tick`): one place to see what the node does on its own. */
  private tick(timer: PeriodicTimer): void {
    switch (timer) {
      case 'gossip':
        return this.gossip.tick();
      case 'hints+handoff':
        this.hinted.tick();
        return this.handoff.tick();
      case 'anti-entropy':
        // The reaper rides on this timer but is no repair: it runs whatever anti-entropy does.
        this.antiEntropy.tick();
        return this.reaper.tick();
    }
  }

  private send(to: NodeId, message: OutMessage): void {
    if (this.isStopped) return;
    if (to === this.id && this.config.localCopyViaNetwork) {
      // The PBS paper's WARS condition (config.ts): this node's own copy is delayed like a remote one's.
      this.env.transport.send(to, message);
      return;
    }
    if (to === this.id) {
      // Local delivery goes through the same handlers, asynchronously, as a message would.
      void Promise.resolve().then(() => this.receive(this.id, message));
      return;
    }
    this.env.transport.send(to, message);
  }

  // ---- message dispatch --------------------------------------------------------------------------

  receive(from: NodeId, message: PeerMessage): void {
    if (this.isStopped) return;
    if (from !== this.id) {
      const suspected = this.view.heard(from, this.env.clock.monoMs());
      if (suspected !== undefined) this.gossip.remind(from, suspected);
    }
    const decoded = decodePeerMessage(message, this.decodeContext);
    if (!decoded.ok) {
      // Counted and dropped: the sender's own timeout deals with the missing answer.
      this.ctx.counters.malformedMessages += 1;
      this.badPeerMessage(from, message.type, decoded.error);
      return;
    }
    try {
      // Async handlers must never leave a rejected promise behind: a storage error is logged, and the
      // sender's own timeout deals with the missing answer. The handler closure is made only when the
      // handler returned a promise (pings and gossip do not), not for every message received.
      const pending = this.dispatch(from, decoded.message);
      if (pending instanceof Promise) pending.catch((err: unknown) => this.badPeerMessage(from, message.type, err));
    } catch (err) {
      this.badPeerMessage(from, message.type, err);
    }
  }

  private badPeerMessage(from: NodeId, type: string, err: unknown): void {
    this.env.logger.log('warn', 'bad-peer-message', { from, type, error: err instanceof Error ? err.message : String(err) });
  }

  private dispatch(from: NodeId, msg: InMessage): Promise<void> | void {
    switch (msg.type) {
      case 'ping':
        return this.gossip.onPing(from, msg);
      case 'gossip':
        return this.gossip.onGossip(from, msg);
      case 'read':
        return this.replica.onRead(from, msg);
      case 'write':
        return this.replica.onWrite(from, msg);
      case 'reap':
        return this.replica.onReap(msg);
      case 'reap-check':
        return this.reaper.onCheck(from, msg);
      case 'fwd-put':
        return this.writes.onForwardedPut(from, msg);
      case 'hint':
        return this.hinted.onHint(from, msg);
      case 'handoff':
        return this.handoff.onHandoff(from, msg);
      case 'ae-roots':
        return this.antiEntropy.onRoots(from, msg);
      case 'ae-leaves':
        return this.antiEntropy.onLeaves(from, msg);
      case 'ae-hashes':
        return this.antiEntropy.onHashes(from, msg);
      case 'ae-states':
        return this.antiEntropy.onStates(from, msg);
      case 'read-reply':
      case 'write-ack':
      case 'fwd-put-reply':
      case 'hint-ack':
      case 'handoff-ack':
      case 'reap-check-reply':
        // Replies are routed to the request that is waiting for them.
        return this.ctx.requests.deliver(from, msg);
    }
  }

  // ---- client requests ---------------------------------------------------------------------------

  get(key: string, options: RequestOptions = {}): Promise<GetResult> {
    return this.reads.get(key, options);
  }

  cartRead(key: string, options: RequestOptions = {}): Promise<CartReadResult> {
    return this.reads.cartRead(key, options);
  }

  put(key: string, value: Uint8Array, context: string | undefined, options: RequestOptions = {}): Promise<PutResult> {
    return this.writes.put(key, value, context, options);
  }

  delete(key: string, context: string | undefined, options: RequestOptions = {}): Promise<PutResult> {
    return this.writes.delete(key, context, options);
  }

  cartAdd(key: string, item: string, qty: number, options: RequestOptions = {}): Promise<CartWriteResult> {
    return this.writes.cartAdd(key, item, qty, options);
  }

  cartRemove(key: string, item: string, context: string, options: RequestOptions = {}): Promise<CartWriteResult> {
    return this.writes.cartRemove(key, item, context, options);
  }

  leave(): Promise<void> {
    return leaveCluster(this.ctx, { broadcast: () => this.gossip.broadcast(), handoffTick: () => this.handoff.tick() });
  }

  // ---- introspection -----------------------------------------------------------------------------

  status(): NodeStatus {
    // Tombstones held here, and those whose first reap check passed and wait out the grace period.
    return { ...nodeStatus(this.ctx), tombstones: { held: this.ctx.store.tombstoneCount, waiting: this.reaper.waiting } };
  }

  local(key: string): Promise<LocalState | undefined> {
    return localState(this.ctx, key);
  }

  preflist(key: string): NodeId[] {
    return this.view.homeOf(key);
  }

  async *keys(): AsyncIterable<string> {
    const seen = new Set<string>();
    for (const p of this.ctx.store.partitionsHeld()) {
      for (const m of this.ctx.store.keysOf(p)) {
        const { key } = splitMkey(m);
        if (!seen.has(key)) {
          seen.add(key);
          yield key;
        }
      }
    }
  }

  async digest(): Promise<Record<string, string>> {
    return this.ctx.store.digest();
  }
}
