// One interface for every way quorumlab runs a cluster: `sim` (in-process, virtual time), `local`
// (child processes on loopback), `docker` (containers) and `ssh` (a host per node). Workloads, nemeses and
// checkers are shared, so a fault campaign means the same thing on all four. Faults always come from
// outside the node.
import { randomBytes } from 'node:crypto';
import type { NodeClient } from '../../workloads/client.js';

export type RuntimeKind = 'sim' | 'local' | 'docker' | 'ssh';

export interface ClusterSpec {
  /** Initial members, named n1..nK. */
  readonly nodes: number;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly sloppy: boolean;
  readonly conflicts: 'vclock' | 'lww';
  readonly vnodes: number;
  readonly seed: number;
  /** Directory of this run's results; runtimes put node logs under `<runDir>/nodes/<id>/`. */
  readonly runDir: string;
  readonly secret?: string;
  /** local: a command that starts another NODE-API.md node (run with the QL_* variables). */
  readonly nodeCmd?: string;
  /** docker: an image to test instead of the reference node's. */
  readonly image?: string;
  /** Extra QL_* variables for every node (e.g. QL_TEST_FAULTS for the harness's own fixtures). */
  readonly env?: Readonly<Record<string, string>>;
  /** sim only: network delay model and fault knobs (see harness/runtime/sim). */
  readonly sim?: Readonly<Record<string, unknown>>;
  /** Which Dynamo mechanisms run (default: all); passed to real nodes as QL_READ_REPAIR and its siblings. */
  readonly mechanisms?: Mechanisms;
}

/** The Dynamo mechanisms a run can switch off to measure what each buys (NODE-API.md's optional knobs). */
export interface Mechanisms {
  readonly readRepair: boolean;
  readonly antiEntropy: boolean;
  readonly hintedHandoff: boolean;
}

export const allMechanisms: Mechanisms = { readRepair: true, antiEntropy: true, hintedHandoff: true };

/** Each mechanism's NODE-API.md variable and the CLI flag that switches it off. */
export const mechanismKnobs: readonly { readonly key: keyof Mechanisms; readonly variable: string; readonly flag: string }[] = [
  { key: 'readRepair', variable: 'QL_READ_REPAIR', flag: '--no-read-repair' },
  { key: 'antiEntropy', variable: 'QL_ANTI_ENTROPY', flag: '--no-anti-entropy' },
  { key: 'hintedHandoff', variable: 'QL_HINTED_HANDOFF', flag: '--no-hinted-handoff' },
];

/**
 * Q, the cluster's fixed number of ring partitions (Dynamo's Strategy 3), one rule for every runtime: the
 * run's QL_PARTITIONS when its env gives one, else `vnodes` tokens for each initial member (at least 8). The
 * sim configures its nodes with it and the local and Docker runtimes pass it to every node as QL_PARTITIONS,
 * joiners included, so every node of a run agrees on Q (a node refuses a ring of another size).
 */
export function ringPartitions(spec: Pick<ClusterSpec, 'nodes' | 'vnodes' | 'env'>): number {
  const given = spec.env?.['QL_PARTITIONS']?.trim();
  if (given === undefined || given === '') return Math.max(8, spec.vnodes * spec.nodes);
  // The bounds a node accepts (node/config-env.ts); the sim refuses what a real node would refuse.
  if (!/^\d{1,5}$/.test(given) || Number(given) < 1 || Number(given) > 65536) throw new RangeError(`QL_PARTITIONS must be an integer from 1 to 65536, got "${given}"`);
  return Number(given);
}

/**
 * The QL_SECRET of a run on real processes: the spec's, or a fresh one (256 random bits, hex) so that every
 * run authenticates its peer links and contexts (nodes refuse to start without one). The sim derives its
 * own from the seed, so that a seed still replays exactly.
 */
export function runSecret(spec: Pick<ClusterSpec, 'secret'>): string {
  return spec.secret ?? randomBytes(32).toString('hex');
}

/** Which nodes cannot hear which: grudge[a] lists the nodes whose messages a drops. */
export type Grudge = Readonly<Record<string, readonly string[]>>;

/** Whether a fault kind can be applied by this runtime here, and if not, why (shown to the user). */
export type Capability = true | { readonly unavailable: string };

export interface RuntimeCapabilities {
  readonly partition: Capability;
  readonly clock: Capability;
  readonly crash: Capability;
  readonly pause: Capability;
  readonly membership: Capability;
  /** Removing a killed node's data directory (`wipe`). */
  readonly 'disk-loss': Capability;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  capabilities(): RuntimeCapabilities;
  /** Starts the initial members and resolves when every one answers /admin/status and sees the others. */
  setup(spec: ClusterSpec): Promise<void>;
  /** Ids of the nodes that are members now (including crashed or paused ones, excluding removed ones). */
  nodeIds(): string[];
  /** A client that sends requests to `nodeId` (it does not retry elsewhere). */
  client(nodeId: string): NodeClient;
  /** Nanoseconds since setup began, monotonic (virtual in sim). */
  nowNs(): number;
  /** Waits on the runtime's clock (virtual in sim). */
  sleep(ms: number): Promise<void>;

  partition(grudge: Grudge): Promise<void>;
  /** Removes every partition. */
  heal(): Promise<void>;
  /** SIGKILL: the node loses everything not durable. */
  kill(nodeId: string): Promise<void>;
  /** Starts a killed node again on the same data. */
  restart(nodeId: string): Promise<void>;
  /**
   * A lost disk: removes everything in a killed node's data directory, so its next `restart` starts it with
   * the same id on an empty disk. Refused (definite) while the node runs. The directory stays inside the
   * run's own temporary directory, so teardown and the leftover sweep remove it like any other.
   */
  wipe(nodeId: string): Promise<void>;
  pause(nodeId: string): Promise<void>;
  resume(nodeId: string): Promise<void>;
  /** Moves a node's wall clock by `offsetMs` from true time (0 resets it). */
  setClockOffset(nodeId: string, offsetMs: number): Promise<void>;
  /** Starts a new node that joins through the seeds; resolves with its id once it answers. */
  addNode(): Promise<string>;
  /** Asks a node to leave with handoff, waits for it to finish, then stops it. */
  removeNode(nodeId: string): Promise<void>;

  /** Node logs collected so far, by node id (paths under runDir). */
  logFiles(): Record<string, string>;
  /** Stops everything and removes every container, network, rule, process and temp dir it made. */
  teardown(): Promise<void>;
}
