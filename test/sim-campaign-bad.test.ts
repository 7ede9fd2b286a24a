// Known-bad configurations and the node's deliberate defects (config.testFaults) must be detected by the
// checkers on the simulation runtime; each detection is checked against the same run without the defect.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTest, type RunOptions, type RunResult } from '../harness/run.js';

type Case = Pick<RunOptions, 'workload' | 'r' | 'w' | 'sloppy' | 'conflicts' | 'nemesis' | 'seed'> & Partial<RunOptions>;

let store = '';
t.before(() => {
  store = mkdtempSync(join(tmpdir(), 'ql-sim-bad-'));
});
t.teardown(() => {
  if (store !== '') rmSync(store, { recursive: true, force: true });
});

async function simRun(c: Case, testFaults?: string): Promise<RunResult> {
  return runTest({
    runtime: 'sim',
    nodes: 5,
    n: 3,
    vnodes: 8,
    timeLimitS: 8,
    concurrency: 5,
    rate: 40,
    nemesisQuietS: 1,
    nemesisFaultS: 2,
    quiesceS: 3,
    quiet: true,
    skipReport: true,
    store,
    ...(testFaults === undefined ? {} : { env: { QL_TEST_FAULTS: testFaults } }),
    ...c,
  });
}

type CheckerOut = { valid?: unknown; [k: string]: unknown };
const checker = (r: RunResult, name: string): CheckerOut => (r.checkers[name] ?? {}) as CheckerOut;
const verdicts = (r: RunResult): string =>
  Object.entries(r.checkers)
    .map(([name, v]) => `${name}=${String((v as CheckerOut).valid)}`)
    .join(' ');

t.test('lww with clock skew loses acknowledged register writes', async (t) => {
  const r = await simRun({ workload: 'register', r: 2, w: 2, sloppy: true, conflicts: 'lww', nemesis: ['clock'], seed: 201 });
  t.equal(r.valid, false, verdicts(r));
  t.ok((checker(r, 'register')['lostCount'] as number) > 0, `lost writes: ${String(checker(r, 'register')['lostCount'])}`);
  const control = await simRun({ workload: 'register', r: 2, w: 2, sloppy: true, conflicts: 'vclock', nemesis: ['clock'], seed: 201 });
  t.equal(control.valid, true, `vclock under the same skew: ${verdicts(control)}`);
});

t.test('R + W <= N shows stale reads in the quorum checker; R + W > N strict shows none', async (t) => {
  const partial = await simRun({ workload: 'register', r: 1, w: 1, sloppy: true, conflicts: 'vclock', nemesis: ['partition'], seed: 202 });
  const stale = checker(partial, 'quorum')['staleReads'] as number;
  t.ok(stale > 0, `R=W=1: ${stale} stale reads (rate ${String(checker(partial, 'quorum')['staleReadRate'])})`);
  t.not(partial.valid, false, 'stale reads are measured, not violations, for a partial quorum');
  const strict = await simRun({ workload: 'register', r: 2, w: 2, sloppy: false, conflicts: 'vclock', nemesis: ['partition'], seed: 202 });
  t.equal(checker(strict, 'quorum')['staleReads'], 0, 'strict R=W=2 of N=3: no stale reads');
  t.equal(strict.valid, true, verdicts(strict));
});

t.test('strict quorum under partitions shows unavailability', async (t) => {
  const r = await simRun({ workload: 'register', r: 2, w: 2, sloppy: false, conflicts: 'vclock', nemesis: ['partition'], seed: 203 });
  const perF = (checker(r, 'availability')['perF'] ?? {}) as Record<string, { inFault?: { fail: number; info: number } }>;
  const refusedInFault = Object.values(perF).reduce((sum, f) => sum + (f.inFault?.fail ?? 0) + (f.inFault?.info ?? 0), 0);
  t.ok(refusedInFault > 0, `${refusedInFault} requests failed or timed out during partitions`);
  t.ok(r.stats.fail + r.stats.info > 0);
});

t.test('test fault ack-before-w is caught (stale reads under a strict quorum)', async (t) => {
  const c: Case = { workload: 'register', r: 2, w: 2, sloppy: false, conflicts: 'vclock', nemesis: ['partition'], seed: 204 };
  const bad = await simRun(c, 'ack-before-w');
  t.equal(bad.valid, false, verdicts(bad));
  t.equal(checker(bad, 'quorum')['valid'], false, 'the quorum checker names it');
  t.equal((await simRun(c)).valid, true, 'the same run without the defect passes');
});

t.test('test fault no-repair is caught (replicas never converge)', async (t) => {
  const c: Case = { workload: 'register', r: 2, w: 2, sloppy: false, conflicts: 'vclock', nemesis: ['partition'], seed: 205, keyCount: 100 };
  const bad = await simRun(c, 'no-repair');
  t.equal(bad.valid, false, verdicts(bad));
  t.equal(checker(bad, 'convergence')['valid'], false, 'the convergence checker names it');
  t.equal((await simRun(c)).valid, true, 'the same run without the defect passes');
});

// 'drop-hints' and the other test faults are covered fixture by fixture in test/bugs-sim.test.ts and, on real
// processes, in test/bugs-local-*.test.ts (see docs/bug-classes.md).
