// The phi accrual failure detector (Hayashibara et al. 2004), as Cassandra and Akka use it. Instead of a
// yes/no verdict it reports phi, the -log10 of the probability that a heartbeat this late would still come
// given the intervals seen so far; callers compare phi with a threshold (8 is Cassandra's default).
// Times are monotonic milliseconds passed in by the caller, so the detector is pure.

export interface PhiAccrualOptions {
  /** How many recent inter-arrival intervals to keep. */
  readonly windowSize?: number;
  /** A floor on the standard deviation, so a very regular peer is not declared dead after a tiny delay. */
  readonly minStdDevMs?: number;
  /** Extra pause tolerated on top of the mean (GC pauses, scheduling hiccups). */
  readonly acceptablePauseMs?: number;
  /** The interval assumed before two heartbeats have been seen. */
  readonly firstHeartbeatEstimateMs?: number;
}

/** A bound on phi while the silence is no longer than the usual interval: log10(2) = 0.30103, rounded up. */
const maxPhiOnTime = 0.302;

export class PhiAccrualDetector {
  private readonly windowSize: number;
  private readonly minStdDevMs: number;
  private readonly acceptablePauseMs: number;
  /** The last windowSize intervals, a ring buffer (next is where the next one goes): O(1) a heartbeat. */
  private readonly intervals: number[] = [];
  private next = 0;
  private sum = 0;
  private sumSquares = 0;
  private lastMs: number | undefined;

  constructor(options: PhiAccrualOptions = {}) {
    this.windowSize = Math.max(1, options.windowSize ?? 1000);
    this.minStdDevMs = Math.max(1e-3, options.minStdDevMs ?? 100);
    this.acceptablePauseMs = Math.max(0, options.acceptablePauseMs ?? 0);
    // Seed the window as Akka does: the estimate, with a standard deviation of a quarter of it.
    const estimate = options.firstHeartbeatEstimateMs ?? 1000;
    const std = estimate / 4;
    this.push(estimate - std);
    this.push(estimate + std);
  }

  private push(interval: number): void {
    // Sums in the order of a shifting window (add, then drop the oldest), so phi is the same to the bit.
    this.sum += interval;
    this.sumSquares += interval * interval;
    if (this.intervals.length < this.windowSize) {
      this.intervals.push(interval);
      return;
    }
    const old = this.intervals[this.next] as number;
    this.intervals[this.next] = interval;
    this.next = (this.next + 1) % this.windowSize;
    this.sum -= old;
    this.sumSquares -= old * old;
  }

  /** Records a heartbeat (any message from the peer counts) at monotonic time nowMs. */
  heartbeat(nowMs: number): void {
    if (this.lastMs !== undefined && nowMs > this.lastMs) this.push(nowMs - this.lastMs);
    if (this.lastMs === undefined || nowMs > this.lastMs) this.lastMs = nowMs;
  }

  /** Whether any heartbeat has been seen; before that phi is 0 and the peer is presumed up. */
  get started(): boolean {
    return this.lastMs !== undefined;
  }

  get lastHeartbeatMs(): number | undefined {
    return this.lastMs;
  }

  meanMs(): number {
    return this.sum / this.intervals.length;
  }

  stdDevMs(): number {
    const mean = this.meanMs();
    const variance = Math.max(0, this.sumSquares / this.intervals.length - mean * mean);
    return Math.max(Math.sqrt(variance), this.minStdDevMs);
  }

  /**
   * phi at nowMs: 0 just after a heartbeat, growing as silence outlasts the usual interval. `minMeanMs`
   * is a floor on the usual interval: the caller may know that heartbeats now come more rarely than the
   * window has seen (a peer pinged every few rounds in a large cluster), and the first long gap must not
   * look like a failure.
   */
  phi(nowMs: number, minMeanMs = 0): number {
    if (this.lastMs === undefined) return 0;
    const elapsed = Math.max(0, nowMs - this.lastMs);
    const mean = Math.max(this.meanMs(), minMeanMs) + this.acceptablePauseMs;
    const std = this.stdDevMs();
    // Akka's logistic approximation of the normal CDF; computed on the side that keeps precision.
    const y = (elapsed - mean) / std;
    const exponent = -y * (1.5976 + 0.070566 * y * y);
    if (elapsed > mean) {
      // -log10(e / (1 + e)) computed from the exponent directly, so a long silence gives a large but
      // finite phi that keeps rising, instead of underflowing to an infinite one.
      return -exponent / Math.LN10 + Math.log10(1 + Math.exp(exponent));
    }
    return -Math.log10(1 - 1 / (1 + Math.exp(exponent)));
  }

  isAvailable(nowMs: number, threshold: number, minMeanMs = 0): boolean {
    // Within the usual interval phi is at most log10(2) (y <= 0 above, so exp(exponent) >= 1): a heartbeat
    // that is not late yet needs no logarithms, and the answer is the one phi would give.
    if (threshold > maxPhiOnTime && this.lastMs !== undefined && nowMs - this.lastMs <= Math.max(this.meanMs(), minMeanMs) + this.acceptablePauseMs) return true;
    return this.phi(nowMs, minMeanMs) < threshold;
  }
}
