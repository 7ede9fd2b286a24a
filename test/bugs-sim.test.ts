// Every deliberate defect of the reference node (QL_TEST_FAULTS) is caught on the simulation runtime by
// the checker that owns its bug class, with that checker's evidence; the reference node passes the same
// run (same seed, same configuration). See docs/bug-classes.md.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bugFixtures, checkerOf, exposes, runFixture, verdicts, type BugRunSettings } from './helpers/bug-runs.js';

let store = '';
t.before(() => {
  store = mkdtempSync(join(tmpdir(), 'ql-bugs-sim-'));
});
t.teardown(() => {
  if (store !== '') rmSync(store, { recursive: true, force: true });
});

const settings = (): BugRunSettings => ({
  runtime: 'sim', store, timeLimitS: 8, concurrency: 5, rate: 40, quiesceS: 2, nemesisQuietS: 1, nemesisFaultS: 3,
});

for (const f of bugFixtures) {
  const where = `${f.workload} ${f.sloppy ? 'sloppy' : 'strict'} ${f.nemesis.join(',')}${f.crashTargets !== undefined ? ` (kill ${f.crashTargets})` : ''}`;
  t.test(`${f.fault}: ${where} → ${f.checker}.${f.evidence}`, async (t) => {
    let caught: number | undefined;
    const tried: string[] = [];
    for (const seed of f.seeds) {
      const bad = await runFixture(f, seed, true, settings());
      tried.push(`seed ${seed}: ${verdicts(bad)} ${f.evidence}=${String(checkerOf(bad, f.checker)[f.evidence])}`);
      if (exposes(f, bad)) {
        caught = seed;
        break;
      }
    }
    t.ok(caught !== undefined, `the ${f.checker} checker reports ${f.evidence} > 0 for one of seeds ${f.seeds.join(',')}\n${tried.join('\n')}`);
    const seed = caught ?? f.seeds[0]!;
    const good = await runFixture(f, seed, false, settings());
    t.equal(good.valid, true, `the reference node passes the same run (seed ${seed}): ${verdicts(good)}`);
  });
}
