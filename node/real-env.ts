// The real-world clock, timers and randomness that the node process hands to the sans-IO core.
// The wall clock is Date.now() on purpose: libfaketime moves it to inject clock skew, while the
// monotonic clock (performance.now) stays true so timeouts and failure detection are unaffected.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock, Random, TimerHandle, Timers } from './core/env.js';

export class RealClock implements Clock {
  wallMs(): number {
    return Date.now();
  }
  monoMs(): number {
    return performance.now();
  }
}

/** Timers on Node's event loop, with numeric handles so the core never holds a Node Timeout object. */
export class RealTimers implements Timers {
  private nextId = 1;
  private readonly pending = new Map<number, NodeJS.Timeout>();

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, Math.max(0, delayMs));
    this.pending.set(id, timer);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = this.pending.get(handle.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.pending.delete(handle.id);
    }
  }

  /** Cancels everything still scheduled, so a stopped node lets the process exit. */
  clearAll(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}

/**
 * Random floats from the OS's cryptographic generator, read in blocks: separate node processes stay
 * uncorrelated, and one syscall serves hundreds of calls on hot paths such as reconnect jitter.
 */
export class RealRandom implements Random {
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): number {
    if (this.offset + 8 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.offset = 0;
    }
    // 53 random bits make a uniformly distributed double in [0, 1).
    const hi = this.pool.readUInt32BE(this.offset) >>> 5;
    const lo = this.pool.readUInt32BE(this.offset + 4) >>> 6;
    this.offset += 8;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}
