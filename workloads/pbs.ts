// The PBS workload measures t-visibility directly (Bailis et al., VLDB 2012): each process owns a key,
// writes a fresh value through one node, and once the write is acknowledged reads the key at lags after the
// acknowledgement. A read at lag t is consistent when it returns that value (or a newer one, which cannot
// exist: only this process writes the key, and it writes again only afterwards).
//
// What sets the 99.9 % point is a rare slow propagation of a *write*, and every read of one write shares
// its replicas' write delays: a 0.999 quantile is pinned by many writes, not by many reads of few writes.
// So each write is read only a few times (pbsReadsPerWrite, default 2), each read at a lag drawn afresh:
// exactly 0 with probability 1/4 (P(consistent at t = 0) is a figure of the paper), otherwise uniform over
// [0, pbsMaxLagMs], which the run sets beyond the model's 99.9 % point; many keys (one per process) are
// measured at once. The reads of one write are sequential: a read starts at its lag or when the previous
// one finished, whichever is later. The history carries nothing beyond HISTORY.md's fields: a read's lag is
// measured from the write's ok (checkers/visibility.ts), which is the commit when the client sits at the
// coordinator (--client-delay-ms 0, the pbs default in simulation).
import type { HistoryOp } from '../checkers/history.js';
import type { NodeClient } from './client.js';
import { createRegisterWorkload, decodeRegisterLocal } from './register.js';
import type { OpCompletion, OpRequest, Workload, WorkloadOptions } from './workload.js';

/** The longest lag read after a write when the run gives none (ms). */
export const defaultPbsMaxLagMs = 200;

/** Reads per write when the run gives no count. */
export const defaultPbsReadsPerWrite = 2;

/** The share of reads made at lag exactly 0. */
export const pbsZeroLagShare = 0.25;

/** The lags of one write's reads, ascending: each 0 with probability pbsZeroLagShare, else uniform on [0, max]. */
export function pbsLagsMs(maxLagMs: number, count: number, random: () => number): number[] {
  const out: number[] = [];
  for (let j = 0; j < count; j++) out.push(random() < pbsZeroLagShare ? 0 : maxLagMs * random());
  return out.sort((a, b) => a - b);
}

interface PbsState {
  /** The value being measured and when its write was acknowledged (ns), once it was. */
  written?: { value: string; ackNs: number; node: string; context: string | undefined };
  /** Delays still to read at, ascending. */
  pending: number[];
  /** Time (ns) the last op of this process completed, to turn target delays into waits. */
  lastDoneNs: number;
  writes: number;
}

export function createPbsWorkload(options: WorkloadOptions & { concurrency: number; delaysMs?: readonly number[] }): Workload {
  const random = options.random;
  const maxLagMs = options.pbsMaxLagMs ?? defaultPbsMaxLagMs;
  const readsPerWrite = Math.max(1, options.pbsReadsPerWrite ?? defaultPbsReadsPerWrite);
  // Fixed delays (tests) or a fresh spread per write.
  const fixed = options.delaysMs === undefined ? undefined : [...options.delaysMs].sort((a, b) => a - b);
  const delaysForWrite = (): number[] => fixed ?? pbsLagsMs(maxLagMs, readsPerWrite, random);
  const slots = Math.max(1, options.concurrency);
  // The register workload knows how to perform gets and puts and decode them; pbs only chooses differently.
  const register = createRegisterWorkload({ ...options, keyCount: 1 });
  const states = new Map<number, PbsState>();
  const keyOf = (process: number): string => `pbs-${process % slots}`;
  const stateOf = (process: number): PbsState => {
    // A new process number taking over a slot (after an info) starts a fresh measurement.
    let s = states.get(process);
    if (s === undefined) {
      s = { pending: [], lastDoneNs: 0, writes: 0 };
      states.set(process, s);
    }
    return s;
  };

  return {
    name: 'pbs',
    checkerWorkload: 'pbs',
    keys: () => Array.from({ length: slots }, (_, i) => `pbs-${i}`),
    next(process: number, nodes: readonly string[], nowNs?: number): OpRequest {
      const s = stateOf(process);
      const key = keyOf(process);
      if (s.written !== undefined && s.pending.length > 0 && (nodes.length > 1 || options.pbsAnyReader === true)) {
        const target = s.pending.shift()!;
        const others = options.pbsAnyReader === true ? nodes : nodes.filter((n) => n !== s.written!.node);
        const node = others[Math.floor(random() * others.length)]!;
        const sinceAckMs = ((nowNs ?? s.lastDoneNs) - s.written.ackNs) / 1e6;
        return { f: 'get', key, node, delayMs: Math.max(0, target - sinceAckMs) };
      }
      s.writes++;
      const value = `${process}-${s.writes}`;
      const node = nodes[Math.floor(random() * nodes.length)]!;
      const prev = s.written;
      s.written = undefined;
      s.pending = [];
      return prev?.context !== undefined
        ? { f: 'put', key, value, node, context: prev.context, readFrom: [prev.value] }
        : { f: 'put', key, value, node };
    },
    perform(client: NodeClient, op: OpRequest): Promise<OpCompletion> {
      return register.perform(client, op);
    },
    observe(op: HistoryOp): void {
      if (typeof op.process !== 'number' || op.type === 'invoke') return;
      const s = stateOf(op.process);
      s.lastDoneNs = op.time;
      if (op.f === 'put' && op.type === 'ok') {
        s.written = { value: String(op.value), ackNs: op.time, node: String(op.node), context: op.context };
        s.pending = delaysForWrite();
      }
    },
    finalRead: (key: string): OpRequest => ({ f: 'get', key, final: true }),
    decodeLocal: decodeRegisterLocal,
  };
}
