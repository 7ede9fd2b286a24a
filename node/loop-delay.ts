// How long the node's event loop keeps callbacks waiting, for /admin/status: a peer frame, an HTTP request
// or an fsync completion that sits behind a long synchronous task (anti-entropy hashing, a big JSON parse,
// garbage collection) delays every request behind it, which is where a tail latency comes from. Measured
// with perf_hooks' event-loop delay histogram in fixed windows, so the figures describe the recent past
// rather than everything since startup (module loading alone blocks the loop for hundreds of ms).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopDelayWindow {
  /** Delays in milliseconds over one window. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export interface LoopDelaySummary {
  readonly windowMs: number;
  /** The last complete window (undefined until one has passed). */
  readonly last?: LoopDelayWindow;
  /** The window in progress. */
  readonly current: LoopDelayWindow;
  /** The largest delay in any complete window since the node started serving. */
  readonly maxMs: number;
}

const ms = (ns: number): number => Math.round(ns / 1e4) / 100;

function windowOf(h: IntervalHistogram): LoopDelayWindow {
  // An empty histogram reports its percentiles as 0 and its max as 0; both read as "no delay seen".
  return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), p999Ms: ms(h.percentile(99.9)), maxMs: ms(h.count === 0 ? 0 : h.max) };
}

export class LoopDelayMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: 1 });
  private readonly timer: NodeJS.Timeout;
  private last: LoopDelayWindow | undefined;
  private maxMs = 0;

  constructor(readonly windowMs = 5000) {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.last = windowOf(this.histogram);
      this.maxMs = Math.max(this.maxMs, this.last.maxMs);
      this.histogram.reset();
    }, windowMs);
    // Measuring must never be what keeps a stopped node's process alive.
    this.timer.unref();
  }

  summary(): LoopDelaySummary {
    return { windowMs: this.windowMs, ...(this.last === undefined ? {} : { last: this.last }), current: windowOf(this.histogram), maxMs: this.maxMs };
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
