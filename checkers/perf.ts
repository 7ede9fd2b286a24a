// Perf checker: latency quantiles per operation and outcome, and per-second series for the report's chart.
import type { CheckerResult, HistoryOp } from './history.js';
import { quantiles } from './evidence.js';
import { NS_PER_MS, pairHistory, toMs } from './ops.js';
import { faultWindows } from './faults.js';
import type { CheckOptions } from './options.js';

/** The chart series is sampled down to at most this many points (evenly, deterministic). */
export const SERIES_CAP = 5000;

export function checkPerf(history: readonly HistoryOp[], _options: CheckOptions): CheckerResult {
  const paired = pairHistory(history);
  const byF = new Map<string, number[]>();
  const byFType = new Map<string, number[]>();
  const throughput = new Map<number, Record<string, number>>();
  const completed = paired.client.filter((op) => op.completeTime !== Infinity && !op.final);
  const stride = Math.max(1, Math.ceil(completed.length / SERIES_CAP));
  const series: { t: number; f: string; type: string; latencyMs: number }[] = [];
  // The "f:type" series names, built once per pair rather than a string per op.
  const outcomeName = new Map<string, Map<string, string>>();
  completed.forEach((op, i) => {
    const latencyMs = (op.completeTime - op.invokeTime) / NS_PER_MS;
    push(byF, op.f, latencyMs);
    let names = outcomeName.get(op.f);
    if (names === undefined) outcomeName.set(op.f, (names = new Map()));
    let name = names.get(op.type);
    if (name === undefined) names.set(op.type, (name = `${op.f}:${op.type}`));
    push(byFType, name, latencyMs);
    const s = Math.floor(op.completeTime / (1000 * NS_PER_MS));
    let row = throughput.get(s);
    if (row === undefined) throughput.set(s, (row = {}));
    row[op.type] = (row[op.type] ?? 0) + 1;
    if (i % stride === 0) series.push({ t: toMs(op.invokeTime) / 1000, f: op.f, type: op.type, latencyMs: Math.round(latencyMs * 1000) / 1000 });
  });
  const perF: Record<string, unknown> = {};
  for (const [f, xs] of byF) perF[f] = { count: xs.length, ...quantiles(xs) };
  const perOutcome: Record<string, unknown> = {};
  for (const [k, xs] of byFType) perOutcome[k] = { count: xs.length, ...quantiles(xs) };
  return {
    valid: completed.length === 0 ? 'unknown' : true,
    unit: 'ms',
    latency: perF,
    latencyByOutcome: perOutcome,
    series,
    seriesSampledEvery: stride,
    throughput: [...throughput.entries()].sort((a, b) => a[0] - b[0]).map(([t, r]) => ({ t, ...r })),
    faultWindows: faultWindows(paired.nemesis, paired.endTime).map((w) => ({ f: w.f, start: toMs(w.start) / 1000, end: toMs(w.end) / 1000 })),
  };
}

function push(map: Map<string, number[]>, key: string, x: number): void {
  let xs = map.get(key);
  if (xs === undefined) map.set(key, (xs = []));
  xs.push(x);
}
