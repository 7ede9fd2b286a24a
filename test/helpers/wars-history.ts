// A register history whose t-visibility curve is known: each write draws the WARS delays of its N replicas
// once (shared by all its reads, as in a real cluster), each read at a chosen lag after the commit draws
// its own read delays, and the read is consistent iff one of its first R responders had the write by then.
// The curve it is drawn from is the WARS Monte Carlo's (harness/pbs/wars.ts) for the same model.
import type { HistoryOp } from '../../checkers/history.js';
import type { WarsModel } from '../../harness/pbs/wars.js';
import { seededRandom } from '../../node/core/random.js';

export interface WarsHistoryOptions {
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly writes: number;
  /** The lags (ms after the commit) at which one write is read. */
  readonly lags: (random: () => number) => readonly number[];
  readonly seed: number;
  /** Writes measured at once, on keys of their own (default 16). */
  readonly keys?: number;
}

export function warsHistory(model: WarsModel, o: WarsHistoryOptions): HistoryOp[] {
  const random = seededRandom(o.seed);
  const events: (Omit<HistoryOp, 'index'> & { time: number })[] = [];
  const keys = o.keys ?? 16;
  const clock = new Float64Array(keys);
  const wi = new Float64Array(o.n);
  const ack = new Float64Array(o.n);
  for (let k = 0; k < o.writes; k++) {
    const slot = k % keys;
    const key = `k${slot}`;
    const process = slot;
    const start = clock[slot]!;
    for (let i = 0; i < o.n; i++) {
      wi[i] = model.sample('W', random);
      ack[i] = wi[i]! + model.sample('A', random);
    }
    const commit = [...ack].sort((a, b) => a - b)[o.w - 1]!;
    const value = `v${k}`;
    events.push({ time: ms(start), process, type: 'invoke', f: 'put', key, value });
    events.push({ time: ms(start + commit), process, type: 'ok', f: 'put', key, value });
    let t = start + commit;
    for (const lag of [...o.lags(random)].sort((a, b) => a - b)) {
      const at = Math.max(t, start + commit + lag);
      const resp = Array.from({ length: o.n }, (_, i) => {
        const r = model.sample('R', random);
        return { i, r, done: r + model.sample('S', random) };
      }).sort((a, b) => a.done - b.done);
      const seen = resp.slice(0, o.r).some((x) => at - start + x.r >= wi[x.i]!);
      events.push({ time: ms(at), process, type: 'invoke', f: 'get', key });
      t = at + resp[o.r - 1]!.done;
      events.push({ time: ms(t), process, type: 'ok', f: 'get', key, value: seen ? [value] : k >= keys ? [`v${k - keys}`] : [] });
    }
    clock[slot] = t;
  }
  return events.sort((a, b) => a.time - b.time).map((e, index) => ({ index, ...e }) as HistoryOp);
}

/** ms to integer ns, as the recorder stores times. */
function ms(x: number): number {
  return Math.round(x * 1e6);
}
