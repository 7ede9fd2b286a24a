// Scenario tests drive the product's simulator (harness/runtime/sim, SimRuntime) directly: the same
// scheduler, network, disks and node hosts as `quorumlab run --runtime sim`. This file only adapts its
// API to the scenarios' vocabulary (per-link cuts, direct calls on a node's core, waiting on virtual
// time); it keeps no clock, storage or network of its own.
import type { Test } from 'tap';
import type { CoreNode, GetResult, PutResult } from '../../node/core/api.js';
import type { NodeConfig, TestFault } from '../../node/core/config.js';
import type { NodeId } from '../../node/core/env.js';
import { allMechanisms, type ClusterSpec, type Mechanisms } from '../../harness/runtime/runtime.js';
import { referenceNodeInvariants } from '../../harness/runtime/sim/invariants.js';
import { SimRuntime } from '../../harness/runtime/sim/sim-runtime.js';

/** The node settings scenarios vary; each travels the harness's own path (spec, QL_TEST_FAULTS, sim knobs). */
export type ScenarioConfig = Partial<
  Pick<NodeConfig, 'n' | 'r' | 'w' | 'sloppy' | 'conflicts' | 'requestTimeoutMs' | 'gossipIntervalMs' | 'antiEntropyIntervalMs' | 'hintIntervalMs' | 'tombstoneGraceMs' | 'partitions'>
> & { readonly testFaults?: readonly TestFault[]; readonly mechanisms?: Partial<Mechanisms> };

export interface ClusterOptions {
  readonly seed?: number;
  /** Message delay range in virtual ms (uniform). */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Simulated fsync latency of every storage batch, in virtual ms (default 0: durable at once). */
  readonly fsyncMs?: number;
  /**
   * The simulator's invariants checked on every message (default on): a violation halts the run and the
   * next advance/run rejects with the InvariantViolation. Off only where a scenario must watch a broken
   * node go on to lose data.
   */
  readonly invariants?: boolean;
}

export interface SimCluster {
  readonly runtime: SimRuntime;
  /** The initial members n1..nK (nodes added later are not listed). */
  readonly ids: NodeId[];
  /** Virtual ms since the simulation began. */
  readonly nowMs: number;
  /** The node's current core, or the last one it ran if it is down now (its disk still reads). */
  node(id: NodeId): CoreNode;
  advance(ms: number): Promise<void>;
  /** Lets virtual time pass until the promise settles (bounded). */
  run<T>(p: Promise<T>, maxMs?: number): Promise<T>;
  /** Cuts the link between two nodes, both ways (other cuts stay). */
  partition(a: NodeId, b: NodeId): void;
  /** Cuts every link between the node and the rest. */
  isolate(id: NodeId): void;
  heal(): void;
  crash(id: NodeId): void;
  /** Restarts on the same disk, or on an empty one with `wipe` (a replaced disk). */
  restart(id: NodeId, options?: { wipe?: boolean }): Promise<void>;
  /** Starts a brand-new node that joins through the members; resolves once it started, before it joined. */
  addNode(): Promise<NodeId>;
  /** Whether every live node sees every live node "up", all agree on the ring, and no ring transition is open. */
  converged(): boolean;
  stopAll(): Promise<void>;
}

export async function makeCluster(n: number, config: ScenarioConfig = {}, options: ClusterOptions = {}): Promise<SimCluster> {
  const { n: replicas, r, w, sloppy, conflicts, testFaults, partitions, mechanisms, ...timing } = config;
  const seed = options.seed ?? 1;
  const spec: ClusterSpec = {
    nodes: n,
    n: replicas ?? 3,
    r: r ?? 2,
    w: w ?? 2,
    sloppy: sloppy ?? true,
    conflicts: conflicts ?? 'vclock',
    vnodes: 8,
    seed,
    runDir: '',
    ...(testFaults === undefined ? {} : { env: { QL_TEST_FAULTS: testFaults.join(',') } }),
    ...(mechanisms === undefined ? {} : { mechanisms: { ...allMechanisms, ...mechanisms } }),
    sim: {
      delay: 'uniform',
      minDelayMs: options.minDelayMs ?? 1,
      maxDelayMs: options.maxDelayMs ?? 5,
      fsyncMs: options.fsyncMs ?? 0,
      partitions: partitions ?? 32,
      ...timing,
    },
  };
  const runtime = new SimRuntime(options.invariants === false ? {} : { invariants: referenceNodeInvariants() });
  await runtime.setup(spec);
  const scheduler = runtime.scheduler;
  const lastCore = new Map<NodeId, CoreNode>();
  const cuts = new Set<string>();
  const linkKey = (a: NodeId, b: NodeId): string => JSON.stringify(a < b ? [a, b] : [b, a]);
  const applyCuts = (): void => {
    const grudge: Record<string, string[]> = {};
    for (const link of cuts) {
      const [a, b] = JSON.parse(link) as [string, string];
      (grudge[a] ??= []).push(b);
      if (a !== b) (grudge[b] ??= []).push(a);
    }
    void runtime.partition(grudge);
  };
  const live = (): NodeId[] => runtime.nodeIds().filter((id) => runtime.host(id)?.state === 'running');

  const cluster: SimCluster = {
    runtime,
    ids: runtime.nodeIds(),
    get nowMs() {
      return scheduler.nowMs;
    },
    node(id) {
      const core = runtime.host(id)?.core ?? lastCore.get(id);
      if (core === undefined) throw new Error(`no node ${id}`);
      lastCore.set(id, core);
      return core;
    },
    advance: (ms) => runtime.sleep(ms),
    async run<T>(p: Promise<T>, maxMs = 30_000): Promise<T> {
      // A sleep, not a bare timer: it also rejects when the scheduler halts (a violated invariant), which
      // would otherwise leave `p` pending for ever.
      const timeout = scheduler.sleep(maxMs).then(() => {
        throw new Error(`operation did not settle within ${maxMs} virtual ms`);
      });
      return Promise.race([p, timeout]);
    },
    partition(a, b) {
      cuts.add(linkKey(a, b));
      applyCuts();
    },
    isolate(id) {
      for (const other of runtime.nodeIds()) if (other !== id) cuts.add(linkKey(id, other));
      applyCuts();
    },
    heal() {
      cuts.clear();
      void runtime.heal();
    },
    crash(id) {
      // Remember its core first: while it is down a scenario still reads its disk through it.
      cluster.node(id);
      runtime.host(id)?.kill();
    },
    async restart(id, restartOptions = {}) {
      await runtime.restart(id, restartOptions);
    },
    addNode: () => runtime.addNode({ awaitJoin: false }),
    converged() {
      const ids = live();
      const rings = new Set<string>();
      for (const id of ids) {
        const s = cluster.node(id).status();
        for (const other of ids) if (!s.members.some((m) => m.id === other && m.status === 'up')) return false;
        // Settled means no earlier ring still awaits its handoff confirmations either, and the ring holds
        // every running node (a node computes at most one ring per gossip interval, so for up to an
        // interval a cluster whose handoff reports are all in can still be on a ring without its newest
        // members).
        if ((s['ringTransition'] as unknown[]).length > 0) return false;
        if (!ids.every((other) => (s.ringMembers as readonly string[]).includes(other))) return false;
        rings.add(String(s.ringHash));
      }
      return rings.size === 1;
    },
    stopAll: () => runtime.teardown(),
  };
  return cluster;
}

/** Advances until the cluster converged (bounded); returns the virtual ms it took. */
export async function waitConverged(c: SimCluster, maxMs = 20_000): Promise<number> {
  const start = c.nowMs;
  while (!c.converged()) {
    if (c.nowMs - start > maxMs) throw new Error(`cluster did not converge within ${maxMs} virtual ms`);
    await c.advance(50);
  }
  return c.nowMs - start;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A read's values, decoded and sorted; a failed read fails the test and reads as no values. */
export function okGet(t: Test, r: GetResult): string[] {
  if (!r.ok) {
    t.fail(`get failed: ${JSON.stringify(r)}`);
    return [];
  }
  return r.values.map(dec).sort();
}

/** A write's returned context; a failed write fails the test and returns the empty context. */
export function okPut(t: Test, r: PutResult): string {
  if (!r.ok) {
    t.fail(`put failed: ${JSON.stringify(r)}`);
    return '';
  }
  return r.context;
}

/** A converged cluster of n simulated nodes, stopped when the test ends. */
export async function testCluster(t: Test, n: number, config: ScenarioConfig = {}, seed = 1): Promise<SimCluster> {
  const c = await makeCluster(n, config, { seed });
  t.teardown(() => c.stopAll());
  await waitConverged(c);
  return c;
}
