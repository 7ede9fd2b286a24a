// Strict quorums under membership changes in the simulation. Before requests met the quorums of earlier
// rings (DynamoNode.planFor), a node that joined took its homes before handoff gave it the data, and these
// seeds read stale values at N=3 R=1 W=3: 7 of 80 such runs were invalid (seeds 2, 14, 17, 19, 22, 34 and
// 37 of the sweep below), with quorum=false every time. Every one must now be valid, and the quorum checker
// must have judged strictly.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTest } from '../harness/run.js';

const formerlyStale = [2, 14, 17, 19, 22, 34, 37];

t.test('joins and leaves under a strict quorum never serve a stale read (seeds that once did)', async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-sim-membership-'));
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  for (const seed of formerlyStale) {
    const r = await runTest({
      runtime: 'sim', nodes: 5, n: 3, r: 1, w: 3, sloppy: false, conflicts: 'vclock', vnodes: 64,
      workload: 'register', nemesis: ['membership'], seed,
      timeLimitS: 8, concurrency: 4, rate: 30, nemesisQuietS: 1, nemesisFaultS: 3, quiesceS: 1.5,
      store, quiet: true, skipReport: true,
    });
    const quorum = r.checkers['quorum'] as { valid?: unknown; mode?: unknown; staleReads?: unknown } | undefined;
    t.equal(r.error, undefined, `seed ${seed}: the run completed`);
    t.ok(r.stats.faults > 0, `seed ${seed}: membership changed`);
    t.equal(quorum?.valid, true, `seed ${seed}: no stale read under R+W>N (${JSON.stringify({ staleReads: quorum?.staleReads })})`);
    t.equal(r.valid, true, `seed ${seed}: every checker passes`);
  }
});
