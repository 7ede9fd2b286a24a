// A discrete-event scheduler on virtual time. Every timer of every simulated node, every message delivery,
// every simulated fsync and every runtime.sleep() is an event here, so a whole simulated campaign is a
// pure function of its seed: nothing reads the real clock or uses real timers.
//
// Virtual time jumps straight to the next event, but only once every promise chain that the previous event
// started has settled, so it advances only when nothing else is runnable. "Settled" is detected without a
// macrotask turn: the pump queues a microtask that queues a process.nextTick callback, and Node runs
// nextTick callbacks only once V8's microtask queue is empty (processTicksAndRejections drains it whole
// between two batches of ticks). That is the state a setImmediate round trip would see too, for half its
// cost and without a trip through libuv's poll phase. Nothing in the simulation uses process.nextTick
// itself; if it did, its callbacks would run at the same point as the pump's and in their order.
// Every eventsPerMacrotask events the pump takes a setImmediate turn instead, so real I/O, timers and
// signals are never starved. Code awaiting real I/O during a run would still break the rule (the pump
// would race ahead while the I/O is outstanding), so the orchestration must only await sim events.

export interface EventHandle {
  readonly id: number;
}

/** An event is its own handle (no id map to keep in step): cancel() flags it and the heap skips it. */
interface SimEvent extends EventHandle {
  readonly atMs: number;
  /** Insertion sequence: the stable tie-break between events due at the same virtual time. */
  readonly id: number;
  readonly fn: () => void;
  /** Ran or cancelled: it counts as pending no more. */
  done: boolean;
  /** The scheduler that made it, so that a foreign handle cannot cancel one of ours. */
  readonly owner: Scheduler;
  /** A sleep's rejection, called if the scheduler halts before the sleep ends; undefined for other events. */
  reject: ((error: Error) => void) | undefined;
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

/**
 * Events the pump (and runUntilIdle) runs on microtask drains between two setImmediate turns. Any value
 * gives the same order of events; it only bounds how long real I/O, timers and signals wait.
 */
export const eventsPerMacrotask = 256;

/**
 * A microtask is queued as a reaction to this settled promise rather than with queueMicrotask, which wraps
 * every callback in an AsyncResource; both land at the end of the same V8 microtask queue.
 */
const resolved: Promise<void> = Promise.resolve();

export class Scheduler {
  private readonly heap: SimEvent[] = [];
  private live = 0;
  private seq = 0;
  private now = 0;
  private sameTimeStreak = 0;
  private running = false;
  /** A pump turn is queued (on a drain or a setImmediate). */
  private turnQueued = false;
  /** The pump found nothing to run and waits for at() to wake it. */
  private idle = false;
  private sinceMacrotask = 0;
  private pumpDone: Promise<void> | undefined;
  private pumpFinished: (() => void) | undefined;
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
    return this.live;
  }

  /** Schedules `fn` after `delayMs` of virtual time (negative or NaN delays count as zero). */
  after(delayMs: number, fn: () => void): EventHandle {
    const d = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    return this.at(this.now + d, fn);
  }

  /** Schedules `fn` at virtual time `atMs` (never in the past). */
  at(atMs: number, fn: () => void): EventHandle {
    const event: SimEvent = { atMs: atMs > this.now ? atMs : this.now, id: this.seq++, fn, done: false, owner: this, reject: undefined };
    this.push(event);
    this.live++;
    if (this.idle) {
      this.idle = false;
      this.queueTurn();
    }
    return event;
  }

  cancel(handle: EventHandle): void {
    const event = handle as Partial<SimEvent>;
    if (event.owner !== this || event.done !== false) return;
    // Lazy deletion: the heap entry stays and is skipped when popped.
    (event as SimEvent).done = true;
    this.live--;
    // Most events cancelled are request timeouts, which lie far ahead: left in place they outnumbered the
    // live events some 40 to 1 (1,300 entries for 30 live at 500 ops/s), and every push and pop sifted
    // through them. Dropping them once they are the majority costs O(live) per as many cancels.
    if (this.heap.length > 2 * this.live + 64) this.compact();
  }

  /**
   * Keeps only the pending events. A sorted array is a heap, and (atMs, id) orders events totally, so the
   * order events run in is the same whatever shape the heap had.
   */
  private compact(): void {
    const heap = this.heap;
    let n = 0;
    for (const e of heap) if (!e.done) heap[n++] = e;
    heap.length = n;
    heap.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
  }

  /** Resolves after `ms` of virtual time; rejects if the scheduler halts first. */
  sleep(ms: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    // The sleep is its own event: its fn is the promise's resolve and it carries the reject for halt(),
    // which finds pending sleeps in the heap (no set of sleepers to keep in step, no closure per sleep).
    return new Promise<void>((resolve, reject) => {
      (this.after(ms, resolve as () => void) as SimEvent).reject = reject;
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
    event.done = true;
    this.live--;
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
    await this.settled();
    while (ran < maxEvents && this.failure === undefined) {
      const next = this.peekLive();
      if (next === undefined || next.atMs > untilMs) break;
      this.step();
      ran++;
      await this.settled();
    }
    if (untilMs !== Number.POSITIVE_INFINITY && this.failure === undefined && this.now < untilMs) {
      const next = this.peekLive();
      if (next === undefined || next.atMs > untilMs) this.now = untilMs;
    }
    if (this.failure !== undefined) throw this.failure;
    return ran;
  }

  /** Resolves once every promise chain started so far has settled (see the file comment). */
  private settled(): Promise<void> {
    return new Promise<void>((resolve) => this.whenSettled(resolve));
  }

  /** Calls `fn` once the microtask queue is empty: on a drain, or every eventsPerMacrotask-th time on a setImmediate turn. */
  private whenSettled(fn: () => void): void {
    if (++this.sinceMacrotask >= eventsPerMacrotask) {
      this.sinceMacrotask = 0;
      setImmediate(fn);
    } else {
      void resolved.then(() => process.nextTick(fn));
    }
  }

  /** Starts the background pump: it keeps running events until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.pumpDone = new Promise<void>((resolve) => {
      this.pumpFinished = resolve;
    });
    this.queueTurn();
  }

  /** Stops the background pump and waits for it to finish its current turn. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.idle) this.finishPump();
    await this.pumpDone;
    this.pumpDone = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  private queueTurn(): void {
    if (this.turnQueued) return;
    this.turnQueued = true;
    // whenSettled(this.turn), without a closure per event.
    if (++this.sinceMacrotask >= eventsPerMacrotask) {
      this.sinceMacrotask = 0;
      setImmediate(this.turn);
    } else {
      resolved.then(this.turnAfterTicks);
    }
  }

  private readonly turnAfterTicks = (): void => {
    process.nextTick(this.turn);
  };

  /** One pump turn: runs the next event, then queues the next turn (or waits for an at(), or ends). */
  private readonly turn = (): void => {
    this.turnQueued = false;
    if (!this.running || this.failure !== undefined) return this.finishPump();
    if (this.step()) return this.queueTurn();
    if (this.failure !== undefined) return this.finishPump();
    // Nothing scheduled: wait until someone schedules an event (or stop() is called). Nothing is queued
    // meanwhile, so an abandoned simulation cannot hang the process.
    this.idle = true;
  };

  private finishPump(): void {
    this.idle = false;
    this.running = false;
    const finished = this.pumpFinished;
    this.pumpFinished = undefined;
    finished?.();
  }

  /** Halts the simulation from outside an event (e.g. a violated invariant): a definite failure of the run. */
  fail(error: Error): void {
    if (this.failure === undefined) this.halt(error);
  }

  private halt(error: Error): void {
    this.failure = error;
    // Every sleep still pending is rejected, in the order the sleeps began (their ids); nothing runs afterwards.
    const sleeps = this.heap.filter((e) => !e.done && e.reject !== undefined).sort((a, b) => a.id - b.id);
    for (const e of sleeps) e.reject!(error);
    if (this.idle) this.finishPump();
  }

  private popLive(): SimEvent | undefined {
    for (;;) {
      const top = this.pop();
      if (top === undefined || !top.done) return top;
    }
  }

  private peekLive(): SimEvent | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || !top.done) return top;
      this.pop();
    }
  }

  private static before(a: SimEvent, b: SimEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.id < b.id);
  }

  /** Sift-up with a hole instead of swaps. */
  private push(event: SimEvent): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!Scheduler.before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): SimEvent | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && Scheduler.before(heap[r]!, heap[l]!) ? r : l;
        const child = heap[c]!;
        if (!Scheduler.before(child, last)) break;
        heap[i] = child;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}
