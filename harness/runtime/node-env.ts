// The QL_* environment of NODE-API.md for one node, built from the cluster spec in one place so the local
// and Docker runtimes start nodes with the same knobs. Only the addresses and the data directory differ
// between runtimes; everything a run configures (N, R, W, mode, conflicts, vnodes, secret, extras) is here.
import { allMechanisms, mechanismKnobs, ringPartitions, type ClusterSpec } from './runtime.js';

export interface NodePlace {
  readonly id: string;
  /** QL_HTTP: the client API listen address. */
  readonly http: string;
  /** QL_PEER: the inter-node listen address (also the address the seeds list names). */
  readonly peer: string;
  /** QL_DATA: the node's data directory, as the node sees it. */
  readonly data: string;
  /** QL_SEEDS when already known; a runtime that learns them later sets QL_SEEDS itself. */
  readonly seeds?: string;
}

/**
 * libuv's thread pool of every node, in every runtime, unless the harness's own environment or the run's
 * `spec.env` says otherwise: one thread. The pool runs LevelDB's work, and the storage layer keeps up to two synchronous batches in
 * flight (node/storage-level.ts). With four threads the second batch waits on a thread of its own inside
 * LevelDB's writer queue, a futex sleep and wake-up per batch; with one it waits in libuv's queue and the
 * same thread takes it the moment the fsync before it ends, so the disk is as busy and the batches as
 * large, with fewer context switches. It must be set before the process starts: the ESM loader has
 * started the pool before main.ts runs. Paced side-by-side pairs (bench/kv-profile.ts, QL_NODE_ENV): 2-6%
 * less server CPU per PUT at concurrency 16, within noise at 64 and for GETs.
 */
const nodeThreadpoolSize = '1';

/** The node's variables; `spec.env` comes last so a run's extra QL_* variables can override the defaults. */
export function nodeEnv(spec: ClusterSpec, place: NodePlace): Record<string, string> {
  return {
    QL_ID: place.id,
    QL_HTTP: place.http,
    QL_PEER: place.peer,
    ...(place.seeds !== undefined ? { QL_SEEDS: place.seeds } : {}),
    QL_DATA: place.data,
    QL_N: String(spec.n),
    QL_R: String(spec.r),
    QL_W: String(spec.w),
    QL_SLOPPY: spec.sloppy ? '1' : '0',
    QL_CONFLICTS: spec.conflicts,
    QL_VNODES: String(spec.vnodes),
    // Q for every node, joiners included, by the rule the sim uses too (see ringPartitions).
    QL_PARTITIONS: String(ringPartitions(spec)),
    ...(spec.secret !== undefined ? { QL_SECRET: spec.secret } : {}),
    // Always set, as NODE-API.md says, so a node that ignores one can say so in /admin/status.
    ...Object.fromEntries(mechanismKnobs.map((m) => [m.variable, (spec.mechanisms ?? allMechanisms)[m.key] ? '1' : '0'])),
    UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] ?? nodeThreadpoolSize,
    ...(spec.env ?? {}),
  };
}

/** QL_SEEDS: `id@peer-address`, comma-separated. */
export function seedList(nodes: readonly { readonly id: string; readonly peerAddr: string }[]): string {
  return nodes.map((n) => `${n.id}@${n.peerAddr}`).join(',');
}
