// Seeded campaigns of the reference node on the simulation runtime across fault kinds, (N, R, W),
// sloppy/strict and vclock/lww: the checkers must accept every one. Known-bad configurations and the
// node's deliberate defects are in sim-campaign-bad.test.ts. Each run is ~10 s of virtual time.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTest, type RunOptions, type RunResult } from '../harness/run.js';
import { seedCampaign, verdictLine } from '../harness/sim-property.js';
import { seedSettings } from './helpers/sim-seeds.js';

type Case = Pick<RunOptions, 'workload' | 'r' | 'w' | 'sloppy' | 'conflicts' | 'nemesis' | 'seed'> & Partial<RunOptions>;

const cases: Case[] = [
  { workload: 'register', r: 2, w: 2, sloppy: true, conflicts: 'vclock', nemesis: ['partition', 'crash', 'pause', 'clock'], seed: 101 },
  { workload: 'register', r: 2, w: 2, sloppy: false, conflicts: 'vclock', nemesis: ['partition', 'crash'], seed: 102 },
  { workload: 'register', r: 1, w: 3, sloppy: true, conflicts: 'vclock', nemesis: ['partition', 'pause'], seed: 103 },
  { workload: 'register', r: 3, w: 1, sloppy: false, conflicts: 'vclock', nemesis: ['crash', 'pause'], seed: 104 },
  { workload: 'cart', r: 2, w: 2, sloppy: true, conflicts: 'vclock', nemesis: ['crash', 'pause', 'clock'], seed: 105 },
  { workload: 'cart', r: 2, w: 2, sloppy: false, conflicts: 'lww', nemesis: ['crash', 'pause'], seed: 106 },
  // LWW registers lose concurrent writes by design (the checker reports them), so they are in the bad file.
  { workload: 'register', r: 2, w: 2, sloppy: false, conflicts: 'vclock', nemesis: ['clock', 'pause'], seed: 107 },
  { workload: 'register', r: 2, w: 2, sloppy: true, conflicts: 'vclock', nemesis: ['membership'], seed: 108 },
];

export async function simRun(store: string, c: Case): Promise<RunResult> {
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
    ...c,
  });
}

const verdicts = (r: RunResult): string =>
  Object.entries(r.checkers)
    .map(([name, v]) => `${name}=${String((v as { valid?: unknown }).valid)}`)
    .join(' ');

t.test('the correct node passes seeded campaigns across configurations', async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-sim-campaign-'));
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  const wall0 = performance.now();
  let simS = 0;
  for (const c of cases) {
    const label = `${c.workload} r=${c.r} w=${c.w} ${c.sloppy ? 'sloppy' : 'strict'} ${c.conflicts} [${c.nemesis.join(',')}] seed ${c.seed}`;
    const r = await simRun(store, c);
    simS += r.stats.durationS;
    t.equal(r.error, undefined, `${label}: the run completed`);
    t.ok(r.stats.faults > 0, `${label}: faults were injected`);
    t.equal(r.valid, true, `${label}: checkers accept (${verdicts(r)})`);
  }
  const wallS = (performance.now() - wall0) / 1000;
  t.comment(
    `${cases.length} campaigns in ${wallS.toFixed(1)} wall s = ${((cases.length * 60) / wallS).toFixed(1)} campaigns per minute; ` +
      `${simS.toFixed(0)} simulated s = ${(simS / wallS).toFixed(1)}x real time (including checkers)`,
  );
});

// Found by this campaign (reported to the node and checker owners): under sloppy quorum with partitions the
// cart checker reports removed items reappearing in reads taken during the partition. Kept visible as a
// Removed items seen again in reads during sloppy partitions are staleness (the far side had not seen the
// remove yet): the cart checker reports them as transient resurrections without failing the run.
t.test(
  'cart under sloppy partitions (known issue: "resurrected" items)',
  async (t) => {
    const store = mkdtempSync(join(tmpdir(), 'ql-sim-campaign-'));
    t.teardown(() => rmSync(store, { recursive: true, force: true }));
    const r = await simRun(store, { workload: 'cart', r: 2, w: 2, sloppy: true, conflicts: 'vclock', nemesis: ['partition'], seed: 105 });
    t.equal(r.valid, true, `cart with partitions: ${verdicts(r)}`);
  },
);

// Regression: seeds of the seeded campaigns at N=3 R=W=1 (cart), run exactly as test/sim-seeds-*.test.ts run
// them. The cart was swapped for the register there because the cart checker called acknowledged adds lost:
// seed 49's add, acknowledged by W=1 during a partition, was on one home replica and the first final R=1 read
// (2.5 s after heal) was answered by a home anti-entropy had not reached yet; in seed 119 the last final reads
// were stale (read repair from the earlier ones had not landed). Every other final read and every home replica
// held the adds. At R + W <= N final reads are measured and the home replicas' recorded states decide
// (checkers/cart.ts). Since the final phase (the last cut held to the end) seed 49 has no stale final read any
// more; seed 89 (partitions, crashes, pauses) has two and stands in for it.
for (const seed of [89, 119]) {
  t.test(`seed ${seed} (cart, N=3 R=W=1, strict, with partitions): stale final R=1 reads are staleness, not lost adds`, async (t) => {
    const store = mkdtempSync(join(tmpdir(), `ql-sim-seed${seed}-`));
    t.teardown(() => rmSync(store, { recursive: true, force: true }));
    const c = seedCampaign(seed, seedSettings(store));
    t.same([c.options.workload, c.options.n, c.options.r, c.options.w, c.options.sloppy], ['cart', 3, 1, 1, false], c.label);
    const r = await runTest(c.options);
    const cart = (r.checkers['cart'] ?? {}) as Record<string, unknown>;
    const convergence = (r.checkers['convergence'] ?? {}) as Record<string, unknown>;
    // Without a stale final read this seed no longer exercises the case (a node change moved the history).
    t.ok((cart['staleFinalReads'] as number) > 0, `a final read was stale: ${verdictLine(r)}`);
    t.equal(convergence['missingAcknowledged'], 0, 'every home replica holds every acknowledged add');
    t.equal(r.valid, true, `${c.label}: ${verdictLine(r)}\n  replay: ${c.command}`);
  });
}
