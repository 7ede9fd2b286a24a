// Membership faults in the searched schedule space: `search --nemesis membership` draws joins (one node, or
// two at once as in Riak's riak_kv#1754) and leaves of named members, each undone after its hold, and a
// failing schedule shrinks like any other.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { searchFaultsFor, searchSchedules } from '../harness/search.js';
import { checkProperty, seededScheduleArbitrary } from '../harness/sim-property.js';

t.test('membership maps to join and leave; leave needs more than three nodes', async (t) => {
  t.same(searchFaultsFor(['partition', 'membership']), ['partition', 'join', 'leave']);
  t.throws(() => seededScheduleArbitrary(3, { faults: ['leave'] }), /leave needs more than 3 nodes/);
});

t.test('a schedule failing on any leave shrinks (fewer faults, the leave kept, its node the first)', async (t) => {
  const arb = seededScheduleArbitrary(5, { faults: ['partition', 'kill', 'join', 'leave'], maxFaults: 4 });
  const out = await checkProperty(arb, async (c) => {
    if (c.schedule.faults.some((f) => f.f === 'leave')) throw new Error('a leave breaks it');
  }, { numRuns: 200, seed: 11 });
  t.ok(out.failed, 'some drawn schedule has a leave');
  const faults = out.counterexample!.schedule.faults;
  t.ok(out.shrinks > 0 && faults.length <= 2, `shrunk: ${JSON.stringify(faults)}`);
  t.same(faults.find((f) => f.f === 'leave'), { f: 'leave', value: { node: 'n1' } }, 'the leave kept, of the first node');
});

t.test('a membership search against the reference node on the simulation plays joins and leaves, exit 0', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-search-members-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const r = await searchSchedules({
    workload: 'register', runs: 3, timeBudgetS: 300, seed: 5, faults: searchFaultsFor(['membership']), maxFaults: 2,
    concurrency: 4, rate: 30, quiesceS: 2, store,
  });
  t.equal(r.exitCode, 0, r.report);
  const ops = r.tried.flatMap((x) => x.c.schedule.faults.map((f) => f.f));
  t.ok(ops.length > 0 && ops.every((f) => f === 'join' || f === 'leave'), ops.join(','));
});
