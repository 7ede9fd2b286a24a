// The scheduler's ordering rules, as properties over random programs of events that start promise chains
// of random depth and schedule more events, synchronously or at the end of their chain:
//   - events run in (virtual time, insertion) order, time never goes back;
//   - every promise chain an event started settles before the next event runs (no microtask is left
//     behind when virtual time moves on), whatever its depth;
//   - the background pump and runUntilIdle give the same trace, equal to a plain synchronous
//     discrete-event model in which chains take no time; so the same program gives the same trace twice.
// And the pump, which runs events on microtask drains, still lets macrotasks (setImmediate, real timers) run.
import t from 'tap';
import fc from 'fast-check';
import { Scheduler, eventsPerMacrotask } from '../harness/runtime/sim/scheduler.js';

interface Task {
  readonly delay: number;
  /** Awaits of already-resolved promises before the chain ends. */
  readonly depth: number;
  /** Scheduled synchronously, from the event itself. */
  readonly now: readonly Task[];
  /** Scheduled at the end of the chain. */
  readonly later: readonly Task[];
}

// Children nest at most three levels deep (fc.memo's depth bound), so a program stays small.
const task: fc.Memo<Task> = fc.memo((n) =>
  fc.record({
    delay: fc.integer({ min: 0, max: 4 }),
    depth: fc.integer({ min: 0, max: 6 }),
    now: n > 1 ? fc.array(task(n - 1), { maxLength: 2 }) : fc.constant([]),
    later: n > 1 ? fc.array(task(n - 1), { maxLength: 2 }) : fc.constant([]),
  }),
);
const program = fc.array(task(3), { minLength: 1, maxLength: 6 });

/** What should happen: chains take no time, so every event's chain ends right after it, before the next event. */
function model(tasks: readonly Task[]): string[] {
  const trace: string[] = [];
  let seq = 0;
  let now = 0;
  const queue: { at: number; seq: number; task: Task; name: string }[] = [];
  const add = (task: Task, name: string): void => {
    queue.push({ at: now + task.delay, seq: seq++, task, name });
  };
  tasks.forEach((task, i) => add(task, `e${i}`));
  while (queue.length > 0) {
    let best = 0;
    for (let i = 1; i < queue.length; i++) {
      const a = queue[i]!;
      const b = queue[best]!;
      if (a.at < b.at || (a.at === b.at && a.seq < b.seq)) best = i;
    }
    const { at, task, name } = queue.splice(best, 1)[0]!;
    now = at;
    trace.push(`run ${name}@${now}`);
    task.now.forEach((child, i) => add(child, `${name}.n${i}`));
    trace.push(`end ${name}@${now}`);
    task.later.forEach((child, i) => add(child, `${name}.l${i}`));
  }
  return trace;
}

/** Loads the program into a scheduler; the trace fills as it runs. Broken rules are listed in `wrong`. */
function load(s: Scheduler, tasks: readonly Task[]): { trace: string[]; wrong: string[] } {
  const trace: string[] = [];
  const wrong: string[] = [];
  const schedule = (task: Task, name: string): void => {
    s.after(task.delay, () => {
      const ranBefore = s.eventsRun;
      const at = s.nowMs;
      trace.push(`run ${name}@${at}`);
      task.now.forEach((child, i) => schedule(child, `${name}.n${i}`));
      void (async () => {
        for (let d = 0; d < task.depth; d++) {
          if (d % 2 === 0) await Promise.resolve();
          else await new Promise<void>((resolve) => queueMicrotask(resolve));
        }
        if (s.eventsRun !== ranBefore) wrong.push(`${name}: ${s.eventsRun - ranBefore} other events ran before its chain of ${task.depth} settled`);
        if (s.nowMs !== at) wrong.push(`${name}: time moved from ${at} to ${s.nowMs} before its chain settled`);
        trace.push(`end ${name}@${s.nowMs}`);
        task.later.forEach((child, i) => schedule(child, `${name}.l${i}`));
      })();
    });
  };
  tasks.forEach((task, i) => schedule(task, `e${i}`));
  return { trace, wrong };
}

t.test('runUntilIdle: events in (time, insertion) order, each chain settled before the next event', async (t) => {
  await fc.assert(
    fc.asyncProperty(program, async (tasks) => {
      const s = new Scheduler();
      const { trace, wrong } = load(s, tasks);
      await s.runUntilIdle();
      t.same(wrong, []);
      t.same(trace, model(tasks));
    }),
    { numRuns: 150 },
  );
});

t.test('the background pump gives the same trace as runUntilIdle and the model, run after run', async (t) => {
  await fc.assert(
    fc.asyncProperty(program, async (tasks) => {
      const traces: string[][] = [];
      for (let round = 0; round < 2; round++) {
        const s = new Scheduler();
        s.start();
        const { trace, wrong } = load(s, tasks);
        // Every program event lies before 10^6 ms of virtual time; the sleep ends after all of them.
        await s.sleep(1e6);
        await s.stop();
        t.same(wrong, []);
        traces.push(trace);
      }
      t.same(traces[0], model(tasks));
      t.same(traces[1], traces[0]);
    }),
    { numRuns: 100 },
  );
});

t.test('a pump that always has an event due still lets macrotasks run', async (t) => {
  const s = new Scheduler();
  let ticks = 0;
  const tick = (): void => {
    ticks++;
    s.after(1, tick);
  };
  s.after(1, tick);
  s.start();
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 5));
  const seen = ticks;
  await s.stop();
  t.ok(seen > 0, 'events ran meanwhile');
  t.equal(ticks, seen, 'nothing runs after stop()');
  t.ok(eventsPerMacrotask >= 1);
});

t.test('a cancelled event, or a foreign handle, does not run or count', async (t) => {
  const s = new Scheduler();
  const other = new Scheduler();
  const seen: string[] = [];
  const a = s.after(1, () => seen.push('a'));
  s.after(2, () => seen.push('b'));
  const foreign = other.after(1, () => seen.push('other'));
  t.equal(s.pending, 2);
  s.cancel(a);
  s.cancel(a);
  s.cancel(foreign);
  t.equal(s.pending, 1, 'cancelling twice, or a handle of another scheduler, changes nothing more');
  t.equal(other.pending, 1);
  await s.runUntilIdle();
  t.same(seen, ['b']);
  s.cancel(a);
  t.equal(s.pending, 0, 'cancelling an event that is gone is a no-op');
});

// Cancelled events are dropped from the heap once they are the majority (most are timeouts far ahead):
// whatever the heap's shape after that, the events left run in (time, insertion) order, each once.
t.test('events left after many cancels run in time and insertion order', async (t) => {
  fc.assert(
    fc.asyncProperty(
      // Mostly cancelled, so that the heap is compacted (more than 64 dead entries and twice the live ones).
      fc.array(fc.record({ delay: fc.integer({ min: 0, max: 20 }), keep: fc.integer({ min: 0, max: 7 }).map((k) => k === 0) }), { minLength: 100, maxLength: 400 }),
      async (specs) => {
        const s = new Scheduler();
        const seen: number[] = [];
        const handles = specs.map((spec, i) => s.after(spec.delay, () => seen.push(i)));
        specs.forEach((spec, i) => {
          if (!spec.keep) s.cancel(handles[i]!);
        });
        const expected = specs
          .map((spec, i) => ({ ...spec, i }))
          .filter((x) => x.keep)
          .sort((x, y) => x.delay - y.delay || x.i - y.i)
          .map((x) => x.i);
        if (s.pending !== expected.length) return false;
        await s.runUntilIdle();
        return JSON.stringify(seen) === JSON.stringify(expected);
      },
    ),
    { numRuns: 60 },
  );
  t.pass('order kept');
});
