// The PBS workload measures t-visibility directly (Bailis et al., VLDB 2012): each process owns a key,
// writes a fresh value through one node, and once the write is acknowledged reads the key at lags after the
// acknowledgement. A read at lag t is consistent when it returns that value (or a newer one, which cannot
// exist: only this process writes the key, and it writes again only afterwards).
//
// The lags of one write are spread over [0, pbsMaxLagMs], the first exactly 0 and the others stratified
// with density falling as the square root (most of a t-visibility curve's change is near 0), so a run of a
// few thousand writes reads densely at every lag up to beyond the model's 99.9 % point. The reads of one
// write are sequential: a read starts at its lag or when the previous one finished, whichever is later,
// and the history records when it really started (t measured from the acknowledgement, which is the
// commit when the client sits at the coordinator, --client-delay-ms 0, the pbs default in simulation).
import type { HistoryOp } from '../checkers/history.js';
import type { NodeClient } from './client.js';
import { createRegisterWorkload, decodeRegisterLocal } from './register.js';
import type { OpCompletion, OpRequest, Workload, WorkloadOptions } from './workload.js';

/** The longest lag read after a write when the run gives none (ms). */
export const defaultPbsMaxLagMs = 200;

/** Reads per write when the run gives no count. */
export const defaultPbsReadsPerWrite = 24;

/** The lags of one write's reads, ascending: 0, then one in each of k−1 strata of [0, max] on a square-law scale. */
export function pbsLagsMs(maxLagMs: number, count: number, random: () => number): number[] {
  const out = [0];
  for (let j = 1; j < count; j++) {
    const u = (j - 1 + random()) / (count - 1);
    out.push(maxLagMs * u * u);
  }
  return out;
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
        return {
          f: 'get', key, node,
          delayMs: Math.max(0, target - sinceAckMs),
          extra: { pbs: { write: s.written.value, targetMs: target, ackTime: s.written.ackNs, writeNode: s.written.node } },
        };
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

/** One t-visibility sample: a read `sinceAckMs` after the write's ack, and whether it saw the write. */
export interface VisibilitySample {
  readonly targetMs: number;
  readonly sinceAckMs: number;
  readonly visible: boolean;
}

/** Pairs each pbs read's ok completion with its invoke to measure when it started after the ack. */
export function visibilitySamples(history: readonly HistoryOp[]): VisibilitySample[] {
  const invokes = new Map<unknown, HistoryOp>();
  const out: VisibilitySample[] = [];
  for (const op of history) {
    if (op.f !== 'get' || typeof op.process !== 'number') continue;
    if (op.type === 'invoke') {
      invokes.set(op.process, op);
      continue;
    }
    const inv = invokes.get(op.process);
    invokes.delete(op.process);
    const pbs = inv?.['pbs'] as { write?: string; targetMs?: number; ackTime?: number } | undefined;
    if (op.type !== 'ok' || inv === undefined || pbs?.write === undefined) continue;
    const values = Array.isArray(op.value) ? op.value.map(String) : [];
    out.push({
      targetMs: Number(pbs.targetMs ?? 0),
      sinceAckMs: (inv.time - Number(pbs.ackTime ?? inv.time)) / 1e6,
      visible: values.includes(pbs.write),
    });
  }
  return out;
}
