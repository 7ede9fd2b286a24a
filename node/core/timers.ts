// The node's timers, all in one table so that a stopped node leaves none behind and /admin/status can say
// what is scheduled: periodic tasks by name (gossip, hint delivery and handoff, anti-entropy), one-shot
// timers by name where they matter to an operator (tombstone reaping), and anonymous one-shots (request
// deadlines, polls) that only need to die with the node.
import type { CoreEnv, TimerHandle } from './env.js';

export interface PeriodicStatus {
  readonly periodMs: number;
  readonly runs: number;
  /** Milliseconds until the next run (0 when it is due now or the node is stopped). */
  readonly nextInMs: number;
}

export interface TimersStatus {
  readonly periodic: Record<string, PeriodicStatus>;
  /** Named one-shot timers armed and not yet fired, per name. */
  readonly pending: Record<string, number>;
}

export class TimerTable {
  /** Armed timers, with the name each counts under (if any). */
  private readonly live = new Map<TimerHandle, string | undefined>();
  private readonly arm: (fn: () => void, delayMs: number) => TimerHandle;
  private readonly periodic = new Map<string, { periodMs: number; runs: number; dueAtMs: number }>();
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly env: CoreEnv,
    /** Whether the node is stopped: a timer that fires then does nothing. */
    private readonly stopped: () => boolean,
  ) {
    // Bound once so the timers are always called with their own receiver.
    this.arm = env.timers.setTimeout.bind(env.timers);
  }

  /** A one-shot timer; `name` counts it in status() until it fires or is cancelled. */
  after(delayMs: number, fn: () => void, name?: string): TimerHandle {
    if (name !== undefined) this.pending.set(name, (this.pending.get(name) ?? 0) + 1);
    const h = this.arm(() => {
      this.live.delete(h);
      if (name !== undefined) this.release(name);
      if (!this.stopped()) fn();
    }, Math.max(0, delayMs));
    this.live.set(h, name);
    return h;
  }

  cancel(h: TimerHandle): void {
    const name = this.live.get(h);
    if (name !== undefined) this.release(name);
    this.live.delete(h);
    this.env.timers.clearTimeout(h);
  }

  /**
   * A periodic task, first run after a random fraction of the period so nodes do not move in lockstep.
   * Several names may share one slot (hint delivery and ownership handoff tick together, which keeps
   * the seeded schedules of earlier versions); `fn` runs them, and a throw is logged, not fatal.
   */
  every(names: readonly string[], periodMs: number, fn: () => void): void {
    const entry = { periodMs, runs: 0, dueAtMs: 0 };
    for (const n of names) this.periodic.set(n, entry);
    const loop = (): void => {
      entry.runs += 1;
      try {
        fn();
      } catch (err) {
        this.env.logger.log('error', 'periodic-task-failed', { error: (err as Error).message });
      }
      entry.dueAtMs = this.env.clock.monoMs() + periodMs;
      this.after(periodMs, loop);
    };
    const first = Math.floor(this.env.random.next() * periodMs) + 1;
    entry.dueAtMs = this.env.clock.monoMs() + first;
    this.after(first, loop);
  }

  /** Clears every timer (the node stopped). */
  clearAll(): void {
    for (const t of this.live.keys()) this.env.timers.clearTimeout(t);
    this.live.clear();
    this.pending.clear();
  }

  status(): TimersStatus {
    const now = this.env.clock.monoMs();
    const periodic: Record<string, PeriodicStatus> = {};
    for (const [name, e] of this.periodic) {
      periodic[name] = { periodMs: e.periodMs, runs: e.runs, nextInMs: this.stopped() ? 0 : Math.max(0, e.dueAtMs - now) };
    }
    return { periodic, pending: Object.fromEntries(this.pending) };
  }

  private release(name: string): void {
    const n = (this.pending.get(name) ?? 1) - 1;
    if (n <= 0) this.pending.delete(name);
    else this.pending.set(name, n);
  }
}
