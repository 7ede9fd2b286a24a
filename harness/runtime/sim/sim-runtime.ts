// The deterministic simulation runtime: the whole cluster of node cores in this one process, on virtual
// time. The background pump (scheduler.ts) runs from setup() until teardown() and advances virtual time
// whenever the process has nothing else to do, so the run orchestration can simply await sleep() and
// client calls. Every random choice comes from generators derived from the spec's seed: the same seed
// and knobs give a bit-identical run, and a failing seed replays exactly.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultNodeConfig, type NodeConfig, type SeedPeer, type TestFault } from '../../../node/core/config.js';
import { deriveSeed, seededRandom } from '../../../node/core/random.js';
import type { NodeClient } from '../../../workloads/client.js';
import { ringPartitions, type ClusterSpec, type Grudge, type Runtime, type RuntimeCapabilities } from '../runtime.js';
import { SimClient } from './client.js';
import { exponential, type MessageClass } from './delay.js';
import { type InvariantView, InvariantViolation, type SimInvariant } from './invariants.js';
import { SimNetwork } from './network.js';
import { parseSimKnobs, type SimKnobs } from './options.js';
import { Scheduler } from './scheduler.js';
import { SimNodeHost, type NodeFactory } from './sim-node.js';
import type { CoreEnv, PeerMessage, StorageWrite } from '../../../node/core/env.js';
import type { CoreNode } from '../../../node/core/api.js';

export interface SimRuntimeOptions {
  /** Builds a core node; defaults to the reference DynamoNode (node/core/node.ts). */
  readonly nodeFactory?: NodeFactory;
  /** Overrides the WARS classification of peer messages for the PBS delay models. */
  readonly classify?: (message: PeerMessage) => MessageClass;
  /** Rules checked on every peer message (invariants.ts); a violation halts the run. None by default. */
  readonly invariants?: readonly SimInvariant[];
}

/** What describe() returns: everything needed to replay the run. */
export interface SimDescription {
  readonly runtime: 'sim';
  readonly seed: number;
  readonly nodes: number;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly sloppy: boolean;
  readonly conflicts: string;
  readonly partitions: number;
  readonly testFaults: readonly string[];
  readonly knobs: SimKnobs;
  readonly ignoredKnobs: readonly string[];
}

/** The reference node's factory once loaded: a process taking run after run imports it once (see run-runtime.ts). */
let dynamoFactory: NodeFactory | undefined;

async function loadDynamoFactory(): Promise<NodeFactory> {
  dynamoFactory ??= await importDynamoFactory();
  return dynamoFactory;
}

async function importDynamoFactory(): Promise<NodeFactory> {
  // Imported lazily so that the simulator (and its tests with other cores) works without the reference node.
  // The specifier is a variable so that type-checking does not depend on that file existing yet.
  const specifier = '../../../node/core/node.js';
  const mod = (await import(specifier)) as { DynamoNode?: new (config: NodeConfig, env: CoreEnv) => CoreNode };
  const DynamoNode = mod.DynamoNode;
  if (DynamoNode === undefined) throw new Error('sim runtime: node/core/node.js does not export DynamoNode');
  return (config, env) => new DynamoNode(config, env);
}

export class SimRuntime implements Runtime {
  readonly kind = 'sim' as const;
  private spec: ClusterSpec | undefined;
  private knobs: SimKnobs | undefined;
  private ignoredKnobs: string[] = [];
  private sched: Scheduler | undefined;
  private net: SimNetwork | undefined;
  private readonly hosts = new Map<string, SimNodeHost>();
  private readonly clients = new Map<string, SimClient>();
  /** Members in join order (removed nodes leave this list but keep their host for the logs). */
  private members: string[] = [];
  private nextNodeNumber = 1;
  private factory: NodeFactory | undefined;
  private baseConfig: Omit<NodeConfig, 'id' | 'peerAddr' | 'seeds'> | undefined;
  private clientRandom: (() => number) | undefined;
  private fsyncRandom: (() => number) | undefined;
  private readonly writtenLogs: Record<string, string> = {};
  /** host.logged when its node.log was last written (logFiles() and teardown() both write; once is enough if nothing was logged between). */
  private readonly loggedAtWrite = new Map<string, number>();
  private tornDown = false;

  constructor(private readonly options: SimRuntimeOptions = {}) {}

  capabilities(): RuntimeCapabilities {
    return { partition: true, clock: true, crash: true, pause: true, membership: true, 'disk-loss': true };
  }

  /** The scheduler (for tests and the campaign driver; undefined before setup). */
  get scheduler(): Scheduler {
    if (this.sched === undefined) throw new Error('sim runtime: setup() has not been called');
    return this.sched;
  }

  get network(): SimNetwork {
    if (this.net === undefined) throw new Error('sim runtime: setup() has not been called');
    return this.net;
  }

  /** The host of a node (its core, disk, state, logs); for tests and white-box checks. */
  host(nodeId: string): SimNodeHost | undefined {
    return this.hosts.get(nodeId);
  }

  async setup(spec: ClusterSpec): Promise<void> {
    if (this.sched !== undefined) throw new Error('sim runtime: setup() called twice');
    const { knobs, ignored } = parseSimKnobs(spec.sim);
    this.spec = spec;
    this.knobs = knobs;
    this.ignoredKnobs = ignored;
    this.factory = this.options.nodeFactory ?? (await loadDynamoFactory());
    const sched = new Scheduler({ maxEventsWithoutProgress: knobs.maxEventsWithoutProgress });
    this.sched = sched;
    this.clientRandom = seededRandom(deriveSeed(spec.seed, 'clients'));
    this.fsyncRandom = seededRandom(deriveSeed(spec.seed, 'fsync'));
    this.net = new SimNetwork({
      scheduler: sched,
      random: seededRandom(deriveSeed(spec.seed, 'network')),
      model: { kind: knobs.delay, delayMs: knobs.delayMs, minDelayMs: knobs.minDelayMs, maxDelayMs: knobs.maxDelayMs },
      dropRate: knobs.dropRate,
      duplicateRate: knobs.duplicateRate,
      deliver: (from, to, message) => {
        this.observeDelivery(from, to, message);
        this.hosts.get(to)?.deliver(from, message);
      },
      ...(this.options.classify === undefined ? {} : { classify: this.options.classify }),
    });
    const testFaults = (spec.env?.['QL_TEST_FAULTS'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '') as TestFault[];
    this.baseConfig = {
      ...defaultNodeConfig,
      n: spec.n,
      r: spec.r,
      w: spec.w,
      sloppy: spec.sloppy,
      conflicts: spec.conflicts,
      partitions: knobs.partitions ?? ringPartitions(spec),
      secret: spec.secret ?? `quorumlab-sim-${spec.seed}`,
      ...(knobs.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: knobs.requestTimeoutMs }),
      ...(knobs.gossipIntervalMs === undefined ? {} : { gossipIntervalMs: knobs.gossipIntervalMs }),
      ...(knobs.antiEntropyIntervalMs === undefined ? {} : { antiEntropyIntervalMs: knobs.antiEntropyIntervalMs }),
      ...(knobs.hintIntervalMs === undefined ? {} : { hintIntervalMs: knobs.hintIntervalMs }),
      ...(knobs.tombstoneGraceMs === undefined ? {} : { tombstoneGraceMs: knobs.tombstoneGraceMs }),
      ...(spec.mechanisms ?? {}),
      ...(knobs.localCopyViaNetwork ? { localCopyViaNetwork: true } : {}),
      ...(testFaults.length === 0 ? {} : { testFaults }),
    };
    sched.start();
    const ids = Array.from({ length: spec.nodes }, () => `n${this.nextNodeNumber++}`);
    const seeds: SeedPeer[] = ids.map((id) => ({ id, addr: `sim:${id}` }));
    for (const id of ids) this.createHost(id, seeds);
    this.members = [...ids];
    await Promise.all(ids.map((id) => this.hosts.get(id)!.boot()));
    // The node found not to see everyone at the last poll is asked first: polled in order, every poll asked
    // up to all nodes for their status (O(members) each) before reaching one that still missed somebody.
    let lagging = 0;
    const allSeeAll = (): boolean => {
      for (let i = 0; i < ids.length; i++) {
        const k = (lagging + i) % ids.length;
        if (!this.seesAll(ids[k]!, ids)) {
          lagging = k;
          return false;
        }
      }
      return true;
    };
    await this.waitUntil(allSeeAll, `the initial members ${ids.join(', ')} did not all see each other`);
  }

  /** The seed and every knob, printed first by a run so that it can be replayed. */
  describe(): SimDescription {
    const spec = this.requireSpec();
    return {
      runtime: 'sim',
      seed: spec.seed,
      nodes: spec.nodes,
      n: spec.n,
      r: spec.r,
      w: spec.w,
      sloppy: spec.sloppy,
      conflicts: spec.conflicts,
      partitions: this.baseConfig!.partitions,
      testFaults: this.baseConfig!.testFaults ?? [],
      knobs: this.knobs!,
      ignoredKnobs: this.ignoredKnobs,
    };
  }

  nodeIds(): string[] {
    return [...this.members];
  }

  client(nodeId: string): NodeClient {
    // The run asks for a client per operation; a SimClient holds nothing but its node id and these deps
    // (which are fixed from setup on), so one per node serves every call alike.
    let client = this.clients.get(nodeId);
    if (client === undefined) {
      client = this.newClient(nodeId);
      this.clients.set(nodeId, client);
    }
    return client;
  }

  private newClient(nodeId: string): SimClient {
    const knobs = this.requireKnobs();
    const sample = exponential(1 / Math.max(knobs.clientDelayMs, 1e-9));
    const rand = this.clientRandom!;
    return new SimClient(nodeId, {
      scheduler: this.scheduler,
      host: (id) => this.hosts.get(id),
      delayMs: () => (knobs.clientDelayMs === 0 ? 0 : sample(rand)),
      timeoutMs: (requestTimeoutMs) =>
        knobs.clientTimeoutMs ?? (requestTimeoutMs ?? this.baseConfig!.requestTimeoutMs) + 1000,
    });
  }

  nowNs(): number {
    return this.sched?.nowNs() ?? 0;
  }

  sleep(ms: number): Promise<void> {
    return this.scheduler.sleep(ms);
  }

  async partition(grudge: Grudge): Promise<void> {
    this.network.setGrudge(grudge);
    this.logAll('warn', 'sim.partition', { grudge });
  }

  async heal(): Promise<void> {
    this.network.setGrudge({});
    this.logAll('warn', 'sim.heal');
  }

  async kill(nodeId: string): Promise<void> {
    this.requireHost(nodeId).kill();
  }

  /** With `wipe`, the node comes back on an empty disk (a replaced drive) instead of its own data. */
  async restart(nodeId: string, options: { readonly wipe?: boolean } = {}): Promise<void> {
    const host = this.requireHost(nodeId);
    if (host.state === 'running' || host.state === 'paused') return;
    if (host.state === 'removed') throw new Error(`sim runtime: node ${nodeId} was removed and cannot restart`);
    if (options.wipe === true) host.wipeDisk();
    await host.boot();
  }

  /** The node's disk is replaced by an empty one (SimNodeHost.wipeDisk refuses while it runs). */
  async wipe(nodeId: string): Promise<void> {
    this.requireHost(nodeId).wipeDisk();
  }

  async pause(nodeId: string): Promise<void> {
    this.requireHost(nodeId).pause();
  }

  async resume(nodeId: string): Promise<void> {
    this.requireHost(nodeId).resume();
  }

  async setClockOffset(nodeId: string, offsetMs: number): Promise<void> {
    const host = this.requireHost(nodeId);
    host.clockOffsetMs = offsetMs;
    host.log('warn', 'sim.clock-offset', { offsetMs });
  }

  /**
   * With `awaitJoin: false` it resolves as soon as the new node has started, before any of its messages
   * arrived anywhere (for tests of what a joiner does before it knows the cluster).
   */
  async addNode(options: { readonly awaitJoin?: boolean } = {}): Promise<string> {
    const id = `n${this.nextNodeNumber++}`;
    const seeds: SeedPeer[] = this.members.map((m) => ({ id: m, addr: `sim:${m}` }));
    const host = this.createHost(id, seeds);
    this.members.push(id);
    await host.boot();
    if (options.awaitJoin === false) return id;
    // "Once it answers": it answers at once in the sim; wait (bounded) until it also sees the live members
    // and they see it, so the caller's next requests find it in the ring.
    const live = (): string[] => this.members.filter((m) => this.hosts.get(m)!.state === 'running');
    await this.waitUntil(() => live().every((m) => this.seesAll(m, live())), `node ${id} did not join the live members`, false);
    return id;
  }

  async removeNode(nodeId: string): Promise<void> {
    const host = this.requireHost(nodeId);
    if (host.state === 'running' && host.core !== undefined) await host.core.leave();
    host.remove();
    this.members = this.members.filter((m) => m !== nodeId);
  }

  logFiles(): Record<string, string> {
    this.writeLogs();
    return { ...this.writtenLogs };
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    if (this.sched !== undefined) await this.sched.stop();
    for (const host of this.hosts.values()) {
      if (host.state === 'running' || host.state === 'paused') host.remove();
    }
    this.writeLogs();
  }

  private createHost(id: string, seeds: readonly SeedPeer[]): SimNodeHost {
    const knobs = this.requireKnobs();
    const config: NodeConfig = { ...this.baseConfig!, id, peerAddr: `sim:${id}`, seeds };
    const fsyncRandom = this.fsyncRandom!;
    const host = new SimNodeHost(config, {
      scheduler: this.scheduler,
      seed: this.requireSpec().seed,
      factory: this.factory!,
      send: (from, to, message) => {
        this.checkSent(from, to, message);
        const extraMs = this.interDatacenterMs(from, to);
        // The WAN's extra delay is added before the message enters the network, whose own model then
        // delays it as any other (drops, duplicates and partitions apply as usual).
        if (extraMs === 0) this.network.send(from, to, message);
        else this.scheduler.after(extraMs, () => this.network.send(from, to, message));
      },
      // Simulated fsync latency: the knob's value with ±50 % jitter, so concurrent batches interleave.
      fsyncDelayMs: () => knobs.fsyncMs * (0.5 + fsyncRandom()),
      logLimit: knobs.logLimit,
      ...(this.options.invariants === undefined ? {} : { wrote: (node: string, batch: readonly StorageWrite[]) => this.checkWrite(node, batch) }),
    });
    this.hosts.set(id, host);
    return host;
  }

  /** The WAN's extra delay between two nodes (options.ts, remoteDelayMs): 0 within a datacenter. */
  private interDatacenterMs(from: string, to: string): number {
    const { remoteDelayMs, remoteNodes } = this.requireKnobs();
    if (remoteDelayMs === 0 || from === to) return 0;
    if (remoteNodes === undefined) return remoteDelayMs;
    return remoteNodes.includes(from) === remoteNodes.includes(to) ? 0 : remoteDelayMs;
  }

  private observeDelivery(from: string, to: string, message: PeerMessage): void {
    const invariants = this.options.invariants;
    if (invariants === undefined) return;
    for (const inv of invariants) inv.delivered?.(from, to, message, this.invariantView());
  }

  private checkSent(from: string, to: string, message: PeerMessage): void {
    const invariants = this.options.invariants;
    if (invariants === undefined) return;
    for (const inv of invariants) this.judge(inv, from, () => inv.sent?.(from, to, message, this.invariantView()));
  }

  private checkWrite(node: string, batch: readonly StorageWrite[]): void {
    for (const inv of this.options.invariants ?? []) this.judge(inv, node, () => inv.wrote?.(node, batch, this.invariantView()));
  }

  /** Runs one check; a violation is logged on the node that broke the rule and halts the scheduler. */
  private judge(inv: SimInvariant, node: string, check: () => string | undefined): void {
    let wrong: string | undefined;
    try {
      wrong = check();
    } catch (error) {
      // A check that cannot read what it checks must not throw into the node's send or write; it fails the run.
      wrong = `the check itself threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (wrong === undefined) return;
    this.hosts.get(node)?.log('error', 'sim.invariant-violated', { invariant: inv.name, detail: wrong });
    this.scheduler.fail(new InvariantViolation(inv.name, this.scheduler.nowMs, wrong));
  }

  private invariantView(): InvariantView {
    return { nowMs: this.scheduler.nowMs, host: (id) => this.hosts.get(id) };
  }

  /** Whether node `id` is running and its membership view has every id in `others` up. */
  private seesAll(id: string, others: readonly string[]): boolean {
    const host = this.hosts.get(id);
    if (host?.core === undefined || host.state !== 'running') return false;
    let members: { id: string; status: string }[];
    try {
      members = host.core.status().members;
    } catch {
      return false;
    }
    const up = new Set<string>();
    for (const m of members) if (m.status === 'up') up.add(m.id);
    return others.every((o) => o === id || up.has(o));
  }

  /** Polls a condition on virtual time until it holds or the convergence timeout passes. */
  private async waitUntil(condition: () => boolean, what: string, mustHold = true): Promise<void> {
    const deadline = this.scheduler.nowMs + this.requireKnobs().convergeTimeoutMs;
    while (!condition()) {
      if (this.scheduler.nowMs >= deadline) {
        if (mustHold) throw new Error(`sim runtime: ${what} within ${this.requireKnobs().convergeTimeoutMs} ms of virtual time`);
        this.logAll('warn', 'sim.converge-timeout', { what });
        return;
      }
      await this.scheduler.sleep(50);
    }
  }

  private writeLogs(): void {
    const runDir = this.spec?.runDir ?? '';
    if (runDir === '') return;
    for (const host of this.hosts.values()) {
      if (this.loggedAtWrite.get(host.id) === host.logged) continue;
      this.loggedAtWrite.set(host.id, host.logged);
      const dir = join(runDir, 'nodes', host.id);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'node.log');
      writeFileSync(path, host.logText());
      this.writtenLogs[host.id] = path;
    }
  }

  private logAll(level: 'info' | 'warn', event: string, fields?: Record<string, unknown>): void {
    for (const id of this.members) this.hosts.get(id)?.log(level, event, fields);
  }

  private requireHost(nodeId: string): SimNodeHost {
    const host = this.hosts.get(nodeId);
    if (host === undefined) throw new Error(`sim runtime: no node ${nodeId}`);
    return host;
  }

  private requireSpec(): ClusterSpec {
    if (this.spec === undefined) throw new Error('sim runtime: setup() has not been called');
    return this.spec;
  }

  private requireKnobs(): SimKnobs {
    if (this.knobs === undefined) throw new Error('sim runtime: setup() has not been called');
    return this.knobs;
  }
}
