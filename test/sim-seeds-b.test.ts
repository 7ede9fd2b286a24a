// Seeded campaigns of the reference node, seeds 251..500 (sim-seeds-a.test.ts runs 1..250, so CI's two parallel
// jobs share the 500). Each seed's configuration rotates over every fault kind, (N, R, W), sloppy/strict and
// workload/conflict mode (harness/sim-property.ts seedCampaign); every checker must accept every run.
// Runs are short (4 simulated s of workload at 16 ops/s, 1.5 s quiesce) so the file fits in ~4 minutes on a
// loaded 2-core machine; shorten them rather than drop seeds if it grows slower.
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSeedRange, verdictLine } from '../harness/sim-property.js';

const ready = existsSync(new URL('../node/core/node.ts', import.meta.url));

t.test('seeded campaigns 251..500 of the reference node are all valid', { skip: ready ? false : 'node/core/node.ts is not there yet' }, async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-sim-seeds-b-'));
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  const settings = { store, timeLimitS: 4, concurrency: 4, rate: 16, quietS: 1, faultS: 1.5, quiesceS: 1.5 };
  let valid = 0;
  const summary = await runSeedRange(251, 500, settings, ({ campaign, result }) => {
    // One assertion per failure only: 250 passing lines would bury the one that matters.
    if (result.valid === true && result.error === undefined) {
      valid++;
      return;
    }
    t.fail(`${campaign.label}: ${verdictLine(result)}\n  replay: ${campaign.command}\n  results: ${result.runDir ?? 'none'}`);
  });
  t.equal(valid, summary.runs, `all ${summary.runs} campaigns valid`);
  t.comment(summary.line);
});
