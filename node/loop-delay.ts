// How long the node's event loop keeps callbacks waiting, for /admin/status: a peer frame, an HTTP request
// or an fsync completion that sits behind a long synchronous task (anti-entropy hashing, a big JSON parse,
// garbage collection) delays every request behind it, which is where a tail latency comes from. Measured
// with perf_hooks' event-loop delay histogram in fixed windows, so the figures describe the recent past
// rather than everything since startup (module loading alone blocks the loop for hundreds of ms).
//
// The histogram samples with a timer of its own, which wakes the loop every `resolution` ms. At 1 ms that
// timer cost an idle node 20 ms of CPU per second (2 % of a core, most of an idle 3-node cluster's CPU),
// and under load it broke every idle gap of the loop into 1 ms naps. At 10 ms it costs 4 ms per second.
// A stall still shows in full: the histogram records the time between two firings of the timer, and
// what we report is that time beyond the resolution, so a loop blocked for 80 ms reports at least 70.
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

/** The sampling timer's period (see above). */
export const loopDelayResolutionMs = 10;

/** A recorded interval between two firings, as the delay beyond the period, in ms with 2 decimals. */
const ms = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - loopDelayResolutionMs) * 100) / 100;

function windowOf(h: IntervalHistogram): LoopDelayWindow {
  // An empty histogram reports its percentiles as 0 and its max as 0; both read as "no delay seen".
  return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), p999Ms: ms(h.percentile(99.9)), maxMs: h.count === 0 ? 0 : ms(h.max) };
}

export class LoopDelayMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
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
