import type { NodeId } from './env.js';

export type ConflictMode = 'vclock' | 'lww';

export interface SeedPeer {
  readonly id: NodeId;
  /** The seed's peer address, "host:port". */
  readonly addr: string;
}

/** Everything a core node is configured with; the process builds it from the QL_* variables. */
export interface NodeConfig {
  readonly id: NodeId;
  /** This node's own peer address ("host:port"), gossiped so others can dial it. */
  readonly peerAddr: string;
  readonly seeds: readonly SeedPeer[];
  /** Default replication factor and quorums; R and W can be overridden per request. */
  readonly n: number;
  readonly r: number;
  readonly w: number;
  /** true: sloppy quorum with hinted handoff; false: strict quorum on the first N home replicas. */
  readonly sloppy: boolean;
  readonly conflicts: ConflictMode;
  /**
   * Q, the fixed number of equal partitions of the MD5 hash space (Dynamo Strategy 3). It must be the
   * same on every node; partitions per node is Q/S. QL_VNODES is mapped onto it (see README).
   */
  readonly partitions: number;
  /**
   * The key client contexts are signed with. There is no built-in one: the process derives it from
   * QL_SECRET (or, under QL_INSECURE=1, from a random per-process secret), the simulation from its seed.
   */
  readonly secret: string;
  /** Default per-request timeout for coordinated operations. */
  readonly requestTimeoutMs: number;
  readonly gossipIntervalMs: number;
  readonly antiEntropyIntervalMs: number;
  /** How often pending hints are offered to their owners. */
  readonly hintIntervalMs: number;
  /** Phi accrual threshold above which a peer is considered down (Cassandra uses 8). */
  readonly phiThreshold: number;
  /** Version-vector entries kept before pruning the oldest (the Dynamo paper uses 10). */
  readonly clockPruneEntries: number;
  /**
   * QL_TOMBSTONE_GRACE_MS, the tombstone reaper's grace period (tombstone-reaper.ts): a tombstone is reaped
   * only after two checks at least this far apart both found it the only state of its key on every member.
   * It must exceed the longest a peer message can be under way (QL_PEER_MAX_DELAY_MS in the process).
   */
  readonly tombstoneGraceMs: number;
  /**
   * The three Dynamo mechanisms a run may switch off to measure what each buys (QL_READ_REPAIR,
   * QL_ANTI_ENTROPY, QL_HINTED_HANDOFF of NODE-API.md). Off: a read answers from the first R replies and
   * repairs nobody; no Merkle exchange starts or is answered; hints are still stored but never delivered.
   */
  readonly readRepair: boolean;
  readonly antiEntropy: boolean;
  readonly hintedHandoff: boolean;
  /**
   * The PBS paper's WARS condition (Bailis et al., VLDB 2012): the coordinator's own copy travels through
   * the transport like a remote replica's, so it gets the W, A, R and S delays of the network instead of
   * none. A simulation experiment only (the sim's network delivers a node's messages to itself); a real
   * node always uses its local copy directly, as Dynamo does.
   */
  readonly localCopyViaNetwork: boolean;
  /**
   * Deliberate defects for the harness's own tests (test/fixtures); never set by a normal configuration
   * of the shipped node. The node process reads them only from QL_TEST_FAULTS, which the README marks as
   * test-only. Each name breaks exactly one guarantee.
   */
  readonly testFaults?: readonly TestFault[];
}

/**
 * The deliberate defects, defined once: the node process (QL_TEST_FAULTS), the CLI (`--fault`) and the
 * simulation read this list. Each name breaks exactly one guarantee.
 */
export const testFaultNames = [
  'ack-before-w',          // coordinator acknowledges a write after the first replica, not W
  'read-fewer-than-r',     // coordinator answers a read from the first reply, not R
  'lww-in-vclock',         // resolves conflicts by wall clock although the mode promises siblings
  'drop-hints',            // hinted handoff never delivers its hints
  'no-repair',             // read repair and anti-entropy disabled
  'remove-unobserved',     // a cart remove also removes adds it did not observe
  'ack-not-durable',       // replicas acknowledge before the write is durable
  'context-overcovers',    // a write's returned context covers versions the client never read
  'actor-reuse',           // after losing its disk a node mints under its old actor id again (Riak's kv679)
] as const;

export type TestFault = (typeof testFaultNames)[number];

export const defaultNodeConfig: Omit<NodeConfig, 'id' | 'peerAddr' | 'seeds' | 'secret'> = {
  n: 3,
  r: 2,
  w: 2,
  sloppy: true,
  conflicts: 'vclock',
  partitions: 256,
  requestTimeoutMs: 1000,
  gossipIntervalMs: 200,
  antiEntropyIntervalMs: 2000,
  hintIntervalMs: 500,
  phiThreshold: 8,
  clockPruneEntries: 10,
  tombstoneGraceMs: 10_000,
  readRepair: true,
  antiEntropy: true,
  hintedHandoff: true,
  localCopyViaNetwork: false,
};
