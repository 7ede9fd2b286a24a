// The PBS workload measures t-visibility directly (Bailis et al., VLDB 2012): each process owns a key,
// writes a fresh value through one node, and once the write is acknowledged reads the key from other
// nodes at chosen delays after the ack. A read at delay t is consistent when it returns that value (or a
// newer one, which cannot exist: only this process writes the key, and it writes again only afterwards).
import type { HistoryOp } from '../checkers/history.js';
import type { NodeClient } from './client.js';
import { createRegisterWorkload, decodeRegisterLocal } from './register.js';
import type { OpCompletion, OpRequest, Workload, WorkloadOptions } from './workload.js';

/** Delays after the write's ack at which reads are taken, in milliseconds. */
export const defaultPbsDelaysMs: readonly number[] = [0, 1, 2, 5, 10, 20, 50, 100, 200];

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
  const delays = [...(options.delaysMs ?? defaultPbsDelaysMs)].sort((a, b) => a - b);
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
      if (s.written !== undefined && s.pending.length > 0 && nodes.length > 1) {
        const target = s.pending.shift()!;
        const others = nodes.filter((n) => n !== s.written!.node);
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
        s.pending = [...delays];
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
