// What a workload is to the run: it chooses the next client operation for a process, performs it through
// a NodeClient, and learns from every completed op (so read-modify-write chains and cart removes can send
// back the context of a read the history already holds). The run owns processes, timing and recording.
import type { HistoryOp } from '../checkers/history.js';
import type { NodeClient, ClientOptions } from './client.js';

export type WorkloadName = 'register' | 'cart' | 'cart-kv' | 'pbs';

export const workloadNames: readonly WorkloadName[] = ['register', 'cart', 'cart-kv', 'pbs'];

/** The fields of an invoke, chosen by the workload (the run adds index, time, process, type, node). */
export interface OpRequest {
  readonly f: string;
  readonly key: string;
  readonly value?: unknown;
  readonly context?: string;
  /** Register read-modify-write: the values of the ok read whose context is sent. */
  readonly readFrom?: string[];
  /** Cart remove: the history index of the ok read whose context is sent. */
  readonly readIndex?: number;
  /** pbs: the node the op must go to (reads from a node other than the writer's). */
  readonly node?: string;
  /** How long to wait before invoking, instead of the run's usual random stagger (pbs: the read's delay after the ack). */
  readonly delayMs?: number;
  readonly final?: boolean;
  /** Extra workload fields recorded on the invoke. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The completion of an op: its type and the fields to record beside it. */
export interface OpCompletion {
  readonly type: 'ok' | 'fail' | 'info';
  readonly value?: unknown;
  readonly context?: string;
  readonly error?: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface WorkloadOptions {
  /** A seeded source in [0, 1): the same seed and the same completions give the same ops. */
  readonly random: () => number;
  /** Number of keys the workload spreads over. */
  readonly keyCount?: number;
  /** Per-request quorum and timeout settings passed to the client. */
  readonly clientOptions?: ClientOptions;
  /** pbs: the longest lag after a write's commit at which it is read (default 200 ms). */
  readonly pbsMaxLagMs?: number;
  /** pbs: reads per write, each at lag 0 (a quarter of them) or uniform over [0, pbsMaxLagMs] (default 2). */
  readonly pbsReadsPerWrite?: number;
  /**
   * pbs: every node coordinates alike (the WARS condition, sim/--coordination wars), so reads go to any
   * node; otherwise they go to a node other than the writer's, which would answer from its own copy.
   */
  readonly pbsAnyReader?: boolean;
}

export interface Workload {
  readonly name: WorkloadName;
  /** Which checkers apply (the name `checkersFor` understands). */
  readonly checkerWorkload: string;
  /** Every key this workload may touch (final reads and replica states cover these). */
  keys(): string[];
  /** The next op for a process, given the nodes that are members now and the run's clock (ns). */
  next(process: number, nodes: readonly string[], nowNs?: number): OpRequest;
  /** Performs an op through a client and says how it ended. Never throws: errors become info. */
  perform(client: NodeClient, op: OpRequest): Promise<OpCompletion>;
  /** Learns from a recorded op (invokes and completions, with their history index). */
  observe(op: HistoryOp): void;
  /** The final read of a key, taken after heal and quiesce. */
  finalRead(key: string): OpRequest;
  /** Decodes a replica's /admin/local answer as the workload wrote it: live values, or an items map. */
  decodeLocal(state: import('./client.js').ReplicaState): unknown;
}

/** Text from bytes as the workloads wrote them (UTF-8). */
export function decodeText(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

export function encodeText(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Turns an unexpected exception from a client into an indefinite outcome: we cannot know what happened. */
export function thrownToInfo(error: unknown): OpCompletion {
  return { type: 'info', error: `client threw: ${error instanceof Error ? error.message : String(error)}` };
}
