// Search's last shrinking step (harness/search.ts deleteSteps): steps deleted one at a time while the case
// still fails, until no single step can go. On synthetic verdicts (exact, fast) and on a real search on the
// simulation, where every single-step deletion of the reported schedule is replayed and passes.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteSteps, searchSchedules, type SearchCase } from '../harness/search.js';
import { breaksProperty, checkProperty, runScheduled, scheduledRunOptions, seededScheduleArbitrary } from '../harness/sim-property.js';
import type { FaultStep } from '../harness/nemesis/nemesis.js';
import type { RunOptions } from '../harness/run.js';

const store = mkdtempSync(join(tmpdir(), 'ql-search-shrink-'));
t.teardown(() => rmSync(store, { recursive: true, force: true }));

const join1: FaultStep = { f: 'join', value: {} };
const leaveN2: FaultStep = { f: 'leave', value: { node: 'n2' } };
const kill = (nodes: string[]): FaultStep => ({ f: 'kill', value: { nodes } });
const caseOf = (faults: FaultStep[]): SearchCase => ({ seed: 5, schedule: { quietS: 1, faultS: 2, faults } });
const hasLeave = async (c: SearchCase): Promise<boolean> => c.schedule.faults.some((f) => f.f === 'leave');

t.test('a join + leave pair where the leave alone fails: the join goes', async (t) => {
  const out = await deleteSteps(caseOf([join1, leaveN2]), hasLeave);
  t.same(out.c.schedule.faults, [leaveN2]);
  t.same({ seed: out.c.seed, quietS: out.c.schedule.quietS, faultS: out.c.schedule.faultS }, { seed: 5, quietS: 1, faultS: 2 }, 'seed and timing kept');
});

t.test('deletions that only fail together are kept; the result is 1-minimal; the same input gives the same result', async (t) => {
  // Fails when n1 and n3 are both killed somewhere in the schedule (two steps, neither enough alone).
  const both = async (c: SearchCase): Promise<boolean> => {
    const killed = new Set(c.schedule.faults.flatMap((f) => (f.f === 'kill' ? (f.value as { nodes: string[] }).nodes : [])));
    return killed.has('n1') && killed.has('n3');
  };
  const start = caseOf([join1, kill(['n1']), leaveN2, kill(['n2']), kill(['n3']), join1]);
  const seen: number[] = [];
  const out = await deleteSteps(start, async (c) => (seen.push(c.schedule.faults.length), both(c)));
  t.same(out.c.schedule.faults, [kill(['n1']), kill(['n3'])]);
  for (let i = 0; i < out.c.schedule.faults.length; i++) {
    t.notOk(await both(caseOf(out.c.schedule.faults.filter((_, j) => j !== i))), `without step ${i} it passes`);
  }
  t.equal(out.tried, seen.length, 'tried counts the candidates');
  t.ok(out.tried <= start.schedule.faults.length ** 2, `bounded: ${out.tried} candidates`);
  t.same(await deleteSteps(start, both), out, 'deterministic');
});

t.test('one step stays; a passing deletion is never kept', async (t) => {
  const out = await deleteSteps(caseOf([kill(['n1'])]), async () => true);
  t.same(out, { c: caseOf([kill(['n1'])]), tried: 0 });
  const all = await deleteSteps(caseOf([kill(['n1']), kill(['n2']), kill(['n3'])]), async () => true);
  t.equal(all.c.schedule.faults.length, 1, 'everything that can go goes, down to one step');
  const none = await deleteSteps(caseOf([kill(['n1']), kill(['n2'])]), async () => false);
  t.same(none.c.schedule.faults, [kill(['n1']), kill(['n2'])]);
});

t.test("after fast-check's shrinking, a schedule failing on any leave ends as that one leave", async (t) => {
  const arb = seededScheduleArbitrary(5, { faults: ['partition', 'kill', 'join', 'leave'], maxFaults: 4 });
  const out = await checkProperty(arb, async (c) => {
    if (c.schedule.faults.some((f) => f.f === 'leave')) throw new Error('a leave breaks it');
  }, { numRuns: 100, seed: 11 });
  t.ok(out.failed && out.counterexample !== null);
  const minimal = await deleteSteps(out.counterexample!, hasLeave);
  t.equal(minimal.c.schedule.faults.length, 1, `fast-check left ${JSON.stringify(out.counterexample!.schedule.faults)}; now ${JSON.stringify(minimal.c.schedule.faults)}`);
  t.equal(minimal.c.schedule.faults[0]!.f, 'leave');
});

t.test('a real search on the simulation (ack-before-w, strict) from a given 4-fault schedule: no single step of the result can go', async (t) => {
  // fast-check does not shrink a given example (a value it did not draw), so here the deletion pass does all of it.
  const env = { QL_TEST_FAULTS: 'ack-before-w' };
  const given = { quietS: 1, faultS: 2, faults: [
    { f: 'pause', value: { nodes: ['n4'] } }, { f: 'partition', value: { kind: 'coordinator-alone' } },
    { f: 'pause', value: { nodes: ['n5'] } }, { f: 'partition', value: { kind: 'homes-split' } },
  ] as FaultStep[] };
  const r = await searchSchedules({ workload: 'register', sloppy: false, concurrency: 4, rate: 30, quiesceS: 2, env, runs: 1, seed: 1,
    faults: ['partition', 'kill', 'pause'], store: join(store, 'real'), first: { seed: 2, schedule: given } });
  t.equal(r.exitCode, 1, r.report);
  const ce = r.counterexample!;
  t.equal(ce.originalFaults, 4);
  t.ok(ce.schedule.faults.length < 4, `shrunk: ${JSON.stringify(ce.schedule.faults)}`);
  t.match(r.report, /replayed once more: fails again/);
  const base: RunOptions = {
    runtime: 'sim', nodes: 5, n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', workload: 'register', nemesis: [], timeLimitS: 1, seed: 0,
    concurrency: 4, rate: 30, quiesceS: 2, store: join(store, 'check'), quiet: true, skipReport: true, env,
  };
  for (let i = 0; i < ce.schedule.faults.length && ce.schedule.faults.length > 1; i++) {
    const schedule = { ...ce.schedule, faults: ce.schedule.faults.filter((_, j) => j !== i) };
    const again = await runScheduled(scheduledRunOptions(base, ce.seed, schedule), schedule);
    t.notOk(breaksProperty(again), `without step ${i} (${JSON.stringify(ce.schedule.faults[i])}) the run passes`);
  }
});
