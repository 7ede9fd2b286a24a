// The local-process half of the bug-class tests: each fixture of bug-runs.ts on real node processes
// (runtime 'local': loopback, iptables partitions, SIGKILL crashes, libfaketime clocks), with the defect
// and without it. Split over two test files so each stays within a few minutes on a loaded 2-core box.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime } from '../../harness/runtime/local.js';
import { whyNoClock, whyNoPartitions } from './skips.js';
import { bugFixtures, checkerOf, exposes, runFixture, verdicts, type BugFixture, type BugRunSettings } from './bug-runs.js';

/** The reason a fixture cannot run here (a fault it needs is missing), or false. */
function whyNotHere(f: BugFixture): string | false {
  if (f.nemesis.includes('partition')) {
    const why = whyNoPartitions();
    if (why !== false) return why;
  }
  if (f.nemesis.includes('clock')) return whyNoClock();
  return false;
}

/**
 * Registers one tap test per fixture; `pick` selects which fixtures this file runs. Each file gets its own
 * loopback addresses and ports (`hostBase`), so two such files can run side by side as CI runs them.
 */
export function localBugSuite(pick: (f: BugFixture) => boolean, hostBase: number): void {
  const runtime = (): LocalRuntime => new LocalRuntime({ hostBase, httpPort: 18000 + hostBase * 10, peerPort: 17000 + hostBase * 10, log: () => {} });
  let store = '';
  t.before(() => {
    store = mkdtempSync(join(tmpdir(), 'ql-bugs-local-'));
  });
  t.teardown(() => {
    if (store !== '') rmSync(store, { recursive: true, force: true });
  });
  // Real clients on loopback: more load than in the simulation so a fault window of 3 s carries enough
  // ops through the node a partition isolates; the second seed is a retry, not the common path. Five
  // seconds of quiescence let hints and anti-entropy finish on a loaded machine before the final reads, so
  // the reference node's sloppy runs converge (with two it sometimes did not, on CI).
  const settings = (): BugRunSettings => ({
    runtime: 'local', store, timeLimitS: 8, concurrency: 10, rate: 100, quiesceS: 5, nemesisQuietS: 1, nemesisFaultS: 3,
  });
  for (const f of bugFixtures.filter(pick)) {
    const where = `${f.workload} ${f.sloppy ? 'sloppy' : 'strict'} ${f.nemesis.join(',')}${f.crashTargets !== undefined ? ` (kill ${f.crashTargets})` : ''}`;
    t.test(`local ${f.fault}: ${where} → ${f.checker}.${f.evidence}`, { skip: whyNotHere(f) }, async (t) => {
      let caught: number | undefined;
      const tried: string[] = [];
      for (const seed of f.seeds.slice(0, 3)) {
        const bad = await runFixture(f, seed, true, settings(), {}, runtime);
        tried.push(`seed ${seed}: ${verdicts(bad)} ${f.evidence}=${String(checkerOf(bad, f.checker)[f.evidence])} (${bad.stats.ok}/${bad.stats.ops} ok)`);
        if (exposes(f, bad)) {
          caught = seed;
          break;
        }
      }
      t.ok(caught !== undefined, `the ${f.checker} checker reports ${f.evidence} > 0\n${tried.join('\n')}`);
      const seed = caught ?? f.seeds[0]!;
      const good = await runFixture(f, seed, false, settings(), {}, runtime);
      t.equal(good.valid, true, `the reference node passes the same run (seed ${seed}): ${verdicts(good)}`);
    });
  }
}
