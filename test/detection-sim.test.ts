// `campaign --preset detection`, bounded for CI on the simulation: every bug class's fixture is flagged in
// its documented configuration and the reference node is not, on one seed of 20 s (the full measurement is
// 10+ seeds of 30 s, docs/bug-classes.md); and the table's arithmetic (power, median seeds to the first
// flag, false alarms) and the preset's flags.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectionClasses, detectionOptionsFrom, formatDetectionTable, medianSeedsToFirst, runDetection, summarize, type DetectionRow } from '../harness/detection.js';
import { testFaultNames } from '../node/core/config.js';

t.test('median seeds to the first flag, from every start over the measured seeds', async (t) => {
  t.equal(medianSeedsToFirst([true, true, true]), 1);
  t.equal(medianSeedsToFirst([false, false, false]), null);
  // Starts 1..4: waits 2, 1, 2, 1 → median 1.5.
  t.equal(medianSeedsToFirst([false, true, false, true]), 1.5);
  // Only the last of five flags: waits 5, 4, 3, 2, 1 → 3.
  t.equal(medianSeedsToFirst([false, false, false, false, true]), 3);
});

t.test('summaries count flags per class and false alarms per configuration; the table says unknowns', async (t) => {
  const c = detectionClasses.find((x) => x.fault === 'ack-not-durable')!;
  const config = '--workload register --strict --nemesis crash';
  const row = (fault: string | null, seed: number, valid: boolean | 'unknown', by: string[] = []): DetectionRow =>
    ({ fault, config, seed, valid, flaggedBy: by, error: valid === 'unknown' ? 'setup failed' : null, runDir: null });
  const [s] = summarize([row('ack-not-durable', 1, false, ['register']), row('ack-not-durable', 2, true), row('ack-not-durable', 3, 'unknown'), row(null, 1, true), row(null, 2, false, ['quorum'])], [c]);
  t.match(s, { fault: 'ack-not-durable', config, seeds: 3, flagged: 1, unknown: 1, by: { register: 1 }, referenceRuns: 2, falseAlarms: 1 });
  t.equal(s!.power, 1 / 3);
  const table = formatDetectionTable([s!]);
  t.match(table, /\| 7 \| `ack-not-durable` \| `--workload register --strict --nemesis crash` \| 1\/3 \(1 unknown\) \| 0\.33 \| 2 \| register 1 \| 1\/2 \|/);
});

t.test('every class is a fixture the node knows; the preset refuses sweep flags and unknown classes', async (t) => {
  for (const c of detectionClasses) t.ok((testFaultNames as readonly string[]).includes(c.fault), c.fault);
  const given = (names: string[]) => (n: string) => names.includes(n);
  const o = detectionOptionsFrom({ runtime: 'sim', seeds: 3, seed: 7, fault: 'no-repair' }, given(['seeds', 'seed']));
  t.same(o.seeds, [7, 8, 9]);
  t.equal(o.timeLimitS, 30);
  t.same(o.faults, ['no-repair']);
  t.same(detectionOptionsFrom({ seeds: 1 }, given([])).seeds.length, 10, 'ten seeds unless asked');
  t.throws(() => detectionOptionsFrom({ nemeses: 'crash' }, given(['nemeses'])), /fixes each class's configuration; drop --nemeses/);
  t.throws(() => detectionOptionsFrom({ fault: 'no-such' }, given(['fault'])), /no bug class/);
});

t.test('bounded sim detection: each class flagged on seed 1, the reference node never', async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-detect-sim-'));
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  const r = await runDetection({ runtime: 'sim', seeds: [1], timeLimitS: 20, store, name: 'ci', quiet: true });
  for (const s of r.summaries) {
    t.equal(s.flagged, 1, `${s.fault} (${s.config}) flagged: ${JSON.stringify(r.rows.filter((x) => x.config === s.config).map((x) => [x.fault, x.valid, x.flaggedBy]))}`);
    t.equal(s.falseAlarms, 0, `reference in ${s.config}`);
  }
  t.equal(r.exitCode, 0);
  t.match(readFileSync(join(r.dir, 'detection.md'), 'utf8'), /\| 4 \| `drop-hints` \|/);
  t.equal((JSON.parse(readFileSync(join(r.dir, 'detection.json'), 'utf8')) as { rows: unknown[] }).rows.length, r.rows.length);
});
