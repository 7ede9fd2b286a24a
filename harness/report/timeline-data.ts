// The timeline's data: every client op as a bar from invoke to completion, in columns (plain number arrays)
// so a 100,000-op history inlines compactly and the browser draws it without building objects per op.
import type { HistoryOp } from '../../checkers/history.js';

export interface TimelineData {
  /** Lane labels: the processes that ran in each lane, in order (a fresh process takes over after an info). */
  readonly lanes: string[];
  readonly fs: string[];
  readonly keys: string[];
  readonly nodes: string[];
  /** Per op, in invoke order: */
  readonly lane: number[];
  /** Milliseconds since the run started, rounded to microseconds. */
  readonly start: number[];
  readonly end: number[];
  /** 0 ok, 1 fail, 2 info (an op never completed counts as info and ends with the history). */
  readonly outcome: number[];
  readonly f: number[];
  /** Index into keys, or -1. */
  readonly key: number[];
  readonly node: number[];
  /** History index of the invoke and of the completion (-1 when none). */
  readonly invokeIndex: number[];
  readonly completeIndex: number[];
  readonly durationMs: number;
}

const outcomeCode: Record<string, number> = { ok: 0, fail: 1, info: 2 };

function interner(): { table: string[]; id: (s: string | undefined) => number } {
  const table: string[] = [];
  const ids = new Map<string, number>();
  return {
    table,
    id: (s) => {
      if (s === undefined) return -1;
      let i = ids.get(s);
      if (i === undefined) { i = table.length; table.push(s); ids.set(s, i); }
      return i;
    },
  };
}

const roundMs = (ns: number): number => Math.round(ns / 1e3) / 1e3;

export function timelineData(history: readonly HistoryOp[]): TimelineData {
  const fs = interner(), keys = interner(), nodes = interner();
  const d = {
    lane: [] as number[], start: [] as number[], end: [] as number[], outcome: [] as number[], f: [] as number[], key: [] as number[],
    node: [] as number[], invokeIndex: [] as number[], completeIndex: [] as number[],
  };
  const open = new Map<number, number>();
  // A process's span (first invoke to last completion) picks a lane: the lowest one free by then, so lanes
  // stay about as many as the concurrency even though processes are replaced after every info.
  const spans = new Map<number, { first: number; last: number }>();
  let endNs = 0;
  for (const op of history) {
    endNs = Math.max(endNs, op.time);
    if (typeof op.process !== 'number') continue;
    const p = op.process;
    const span = spans.get(p);
    if (span === undefined) spans.set(p, { first: op.time, last: op.time });
    else span.last = op.time;
    if (op.type === 'invoke') {
      open.set(p, d.start.length);
      d.lane.push(p);
      d.start.push(roundMs(op.time));
      d.end.push(-1);
      d.outcome.push(2);
      d.f.push(fs.id(op.f));
      d.key.push(keys.id(op.key));
      d.node.push(nodes.id(op.node));
      d.invokeIndex.push(op.index);
      d.completeIndex.push(-1);
      continue;
    }
    const i = open.get(p);
    if (i === undefined) continue;
    open.delete(p);
    d.end[i] = roundMs(op.time);
    d.outcome[i] = outcomeCode[op.type] ?? 2;
    d.completeIndex[i] = op.index;
  }
  for (let i = 0; i < d.end.length; i++) if (d.end[i] === -1) d.end[i] = roundMs(endNs);

  const laneOf = new Map<number, number>();
  const laneFree: number[] = [];
  const laneProcs: number[][] = [];
  for (const [p, s] of [...spans.entries()].sort((a, b) => a[1].first - b[1].first || a[0] - b[0])) {
    let lane = laneFree.findIndex((t) => t < s.first);
    if (lane === -1) { lane = laneFree.length; laneFree.push(0); laneProcs.push([]); }
    laneFree[lane] = s.last;
    laneProcs[lane]!.push(p);
    laneOf.set(p, lane);
  }
  for (let i = 0; i < d.lane.length; i++) d.lane[i] = laneOf.get(d.lane[i]!)!;
  const lanes = laneProcs.map((ps) => (ps.length <= 3 ? ps.join(', ') : `${ps.slice(0, 2).join(', ')} … ${ps[ps.length - 1]!} (${ps.length})`));
  return { lanes, fs: fs.table, keys: keys.table, nodes: nodes.table, ...d, durationMs: roundMs(endNs) };
}
