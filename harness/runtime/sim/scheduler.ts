// A discrete-event scheduler on virtual time. Every timer of every simulated node, every message delivery,
// every simulated fsync and every runtime.sleep() is an event here, so a whole simulated campaign is a
// pure function of its seed: nothing reads the real clock or uses real timers.
//
// Between two events the pump yields one macrotask turn (setImmediate), which lets every promise chain
// that the previous event started settle (microtasks drain first). Virtual time therefore advances only
// when nothing else is runnable. Code awaiting real I/O during a run would break that rule (the pump would
// race ahead while the I/O is outstanding), so the orchestration must only await sim events.

export interface EventHandle {
  readonly id: number;
}

interface SimEvent {
  readonly atMs: number;
  /** Insertion sequence: the stable tie-break between events due at the same virtual time. */
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export interface SchedulerOptions {
  /**
   * Guard against runaway loops: the pump fails after this many consecutive events that do not advance
   * virtual time (e.g. a zero-delay timer that re-arms itself forever).
   */
  readonly maxEventsWithoutProgress?: number;
  /** Hard ceiling on virtual time; the pump fails when the next event lies beyond it. */
  readonly maxVirtualMs?: number;
  /** Where an exception thrown by an event goes (the event's owner should have caught it). */
  readonly onEventError?: (error: unknown) => void;
}

/** Thrown (and used to reject pending sleeps) when the scheduler's guard trips. Definite: the run failed. */
export class SchedulerHaltedError extends Error {
  override readonly name = 'SchedulerHaltedError';
}

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Scheduler {
  private readonly heap: SimEvent[] = [];
  private readonly byId = new Map<number, SimEvent>();
  private seq = 0;
  private now = 0;
  private sameTimeStreak = 0;
  private running = false;
  private pumpDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly sleepers = new Set<(error: Error) => void>();
  private readonly maxEventsWithoutProgress: number;
  private readonly maxVirtualMs: number;
  private readonly onEventError: (error: unknown) => void;
  /** Set when the guard tripped; the scheduler runs nothing afterwards. */
  failure: Error | undefined;
  /** Events run so far (for speed measurements). */
  eventsRun = 0;

  constructor(options: SchedulerOptions = {}) {
    this.maxEventsWithoutProgress = options.maxEventsWithoutProgress ?? 1_000_000;
    this.maxVirtualMs = options.maxVirtualMs ?? Number.POSITIVE_INFINITY;
    // By default an exception escaping an event halts the simulation (rejecting every pending sleep), so
    // the orchestration sees a definite failure instead of a pump that died silently.
    this.onEventError =
      options.onEventError ??
      ((error) => {
        this.halt(error instanceof Error ? error : new SchedulerHaltedError(`an event threw: ${String(error)}`));
      });
  }

  /** Virtual milliseconds since the simulation began (a float). */
  get nowMs(): number {
    return this.now;
  }

  /** Virtual nanoseconds, an integer, for the history. */
  nowNs(): number {
    return Math.round(this.now * 1e6);
  }

  /** Events scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.byId.size;
  }

  /** Schedules `fn` after `delayMs` of virtual time (negative or NaN delays count as zero). */
  after(delayMs: number, fn: () => void): EventHandle {
    const d = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    return this.at(this.now + d, fn);
  }

  /** Schedules `fn` at virtual time `atMs` (never in the past). */
  at(atMs: number, fn: () => void): EventHandle {
    const event: SimEvent = { atMs: Math.max(atMs, this.now), seq: this.seq++, fn, cancelled: false };
    this.push(event);
    this.byId.set(event.seq, event);
    this.wake?.();
    return { id: event.seq };
  }

  cancel(handle: EventHandle): void {
    const event = this.byId.get(handle.id);
    if (event !== undefined) {
      // Lazy deletion: the heap entry stays and is skipped when popped.
      event.cancelled = true;
      this.byId.delete(handle.id);
    }
  }

  /** Resolves after `ms` of virtual time; rejects if the scheduler halts first. */
  sleep(ms: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const rejecter = (error: Error): void => reject(error);
      this.sleepers.add(rejecter);
      this.after(ms, () => {
        this.sleepers.delete(rejecter);
        resolve();
      });
    });
  }

  /**
   * Runs the next due event, advancing virtual time to it. Returns false when nothing is scheduled or
   * the scheduler has halted. Synchronous: callers must let microtasks settle between steps.
   */
  step(): boolean {
    if (this.failure !== undefined) return false;
    const event = this.popLive();
    if (event === undefined) return false;
    if (event.atMs > this.maxVirtualMs) {
      this.halt(new SchedulerHaltedError(`virtual time limit reached: next event at ${event.atMs} ms > ${this.maxVirtualMs} ms`));
      return false;
    }
    if (event.atMs > this.now) {
      this.now = event.atMs;
      this.sameTimeStreak = 0;
    } else if (++this.sameTimeStreak > this.maxEventsWithoutProgress) {
      this.halt(
        new SchedulerHaltedError(
          `runaway loop: ${this.maxEventsWithoutProgress} events in a row at virtual time ${this.now} ms without time advancing`,
        ),
      );
      return false;
    }
    this.byId.delete(event.seq);
    this.eventsRun++;
    try {
      event.fn();
    } catch (error) {
      this.onEventError(error);
    }
    return true;
  }

  /**
   * Runs events (letting promises settle between them) until none is left, virtual time would pass
   * `untilMs`, or `maxEvents` ran. For tests and for driving the scheduler without the background pump.
   */
  async runUntilIdle(options: { untilMs?: number; maxEvents?: number } = {}): Promise<number> {
    const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
    let ran = 0;
    await yieldTurn();
    while (ran < maxEvents && this.failure === undefined) {
      const next = this.peekLive();
      if (next === undefined || next.atMs > untilMs) break;
      this.step();
      ran++;
      await yieldTurn();
    }
    if (untilMs !== Number.POSITIVE_INFINITY && this.failure === undefined && this.now < untilMs) {
      const next = this.peekLive();
      if (next === undefined || next.atMs > untilMs) this.now = untilMs;
    }
    if (this.failure !== undefined) throw this.failure;
    return ran;
  }

  /** Starts the background pump: it keeps running events until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.pumpDone = this.pump();
  }

  /** Stops the background pump and waits for it to finish its current turn. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.pumpDone;
    this.pumpDone = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  private async pump(): Promise<void> {
    while (this.running && this.failure === undefined) {
      await yieldTurn();
      if (!this.running) break;
      if (!this.step()) {
        if (this.failure !== undefined) break;
        // Nothing scheduled: wait until someone schedules an event (or stop() is called). A pending
        // promise does not keep the process alive, so an abandoned simulation cannot hang the test.
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    }
    this.running = false;
  }

  /** Halts the simulation from outside an event (e.g. a violated invariant): a definite failure of the run. */
  fail(error: Error): void {
    if (this.failure === undefined) this.halt(error);
  }

  private halt(error: Error): void {
    this.failure = error;
    for (const reject of this.sleepers) reject(error);
    this.sleepers.clear();
    this.wake?.();
  }

  private popLive(): SimEvent | undefined {
    for (;;) {
      const top = this.pop();
      if (top === undefined || !top.cancelled) return top;
    }
  }

  private peekLive(): SimEvent | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || !top.cancelled) return top;
      this.pop();
    }
  }

  private static before(a: SimEvent, b: SimEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!Scheduler.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): SimEvent | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && Scheduler.before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && Scheduler.before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
