// The measured t-visibility curve of a pbs history beside a WARS prediction: the reads are binned by their
// real lag after the write's acknowledgement (never by the lag asked for), the reads at exactly t = 0 being a
// point of their own, and each bin's prediction is the mean of the predicted probability at each read's own
// lag, so a bin's width does not bias the comparison.
import type { VisibilityRead } from '../../checkers/visibility.js';

export interface CurvePoint {
  /** Mean lag of the bin's reads (ms after the acknowledgement); 0 for the t = 0 point. */
  readonly tMs: number;
  readonly loMs: number;
  readonly hiMs: number;
  readonly reads: number;
  readonly visible: number;
  readonly probability: number;
  /** Mean predicted probability over the bin's reads, when a prediction is given. */
  readonly predicted: number | null;
}

/**
 * Bins the samples: the reads that started at the acknowledgement itself (lag ≤ 0: t = 0 included, not
 * cut off by a strict `<`), then `bins` groups of equal count by lag.
 */
export function visibilityCurve(samples: readonly VisibilityRead[], bins = 24, predict?: (tMs: number) => number): CurvePoint[] {
  const lag = (s: VisibilityRead): number => Math.max(0, s.lagMs);
  const sorted = [...samples].sort((a, b) => lag(a) - lag(b));
  const zero = sorted.filter((s) => lag(s) === 0);
  const rest = sorted.slice(zero.length);
  const groups: VisibilityRead[][] = zero.length > 0 ? [zero] : [];
  const size = Math.max(1, Math.ceil(rest.length / Math.max(1, bins)));
  for (let i = 0; i < rest.length; i += size) groups.push(rest.slice(i, i + size));
  return groups.map((g) => {
    const visible = g.filter((s) => s.visible).length;
    const lags = g.map(lag);
    return {
      tMs: lags.reduce((a, b) => a + b, 0) / g.length,
      loMs: lags[0]!,
      hiMs: lags[lags.length - 1]!,
      reads: g.length,
      visible,
      probability: visible / g.length,
      predicted: predict === undefined ? null : lags.reduce((a, t) => a + predict(t), 0) / g.length,
    };
  });
}

/** Root-mean-square difference between measured and predicted over the points (each point weighs the same). */
export function curveRmse(points: readonly CurvePoint[]): number | null {
  const with_ = points.filter((p) => p.predicted !== null);
  if (with_.length === 0) return null;
  return Math.sqrt(with_.reduce((a, p) => a + (p.probability - p.predicted!) ** 2, 0) / with_.length);
}

/**
 * The RMSE sampling alone would give if measured and predicted agreed exactly: each point's binomial
 * standard error, root-mean-squared. A measured RMSE near this floor is as close as the run can show.
 */
export function curveNoiseFloor(points: readonly CurvePoint[]): number | null {
  const with_ = points.filter((p) => p.predicted !== null);
  if (with_.length === 0) return null;
  return Math.sqrt(with_.reduce((a, p) => a + (p.predicted! * (1 - p.predicted!)) / p.reads, 0) / with_.length);
}
