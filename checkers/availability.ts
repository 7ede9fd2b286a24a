// Availability checker: the share of ok, fail and info outcomes per operation, inside and outside faults.
import type { CheckerResult, HistoryOp } from './history.js';
import { round } from './evidence.js';
import { pairHistory, toMs } from './ops.js';
import { WindowIndex, faultWindows } from './faults.js';
import type { CheckOptions } from './options.js';

type Tally = { ok: number; fail: number; info: number; total: number };
const empty = (): Tally => ({ ok: 0, fail: 0, info: 0, total: 0 });
const share = (t: Tally) => ({
  ...t,
  okFraction: t.total === 0 ? null : round(t.ok / t.total),
  failFraction: t.total === 0 ? null : round(t.fail / t.total),
  infoFraction: t.total === 0 ? null : round(t.info / t.total),
});

export function checkAvailability(history: readonly HistoryOp[], _options: CheckOptions): CheckerResult {
  const paired = pairHistory(history);
  const windows = faultWindows(paired.nemesis, paired.endTime);
  const index = new WindowIndex(windows);
  const perF = new Map<string, { all: Tally; inFault: Tally; outsideFault: Tally }>();
  const total = empty();
  for (const op of paired.client) {
    if (op.final) continue;
    let row = perF.get(op.f);
    if (row === undefined) perF.set(op.f, (row = { all: empty(), inFault: empty(), outsideFault: empty() }));
    const type = op.type === 'pending' ? 'info' : op.type;
    // An op counts as inside a fault when it was invoked while one was in effect.
    const bucket = index.contains(op.invokeTime) ? row.inFault : row.outsideFault;
    // Three tallies by hand rather than a loop over a fresh array per op.
    row.all[type]++;
    row.all.total++;
    bucket[type]++;
    bucket.total++;
    total[type]++;
    total.total++;
  }
  return {
    valid: total.total === 0 ? 'unknown' : true,
    overall: share(total),
    perF: Object.fromEntries([...perF.entries()].map(([f, r]) => [f, { all: share(r.all), inFault: share(r.inFault), outsideFault: share(r.outsideFault) }])),
    faultWindows: windows.map((w) => ({ f: w.f, startMs: toMs(w.start), endMs: toMs(w.end), undone: w.undone })),
  };
}
