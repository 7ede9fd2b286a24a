// Shared by test/sim-seeds-a.test.ts and -b: one tap test that runs the seeded campaigns first..last of the
// reference node and requires every one to be valid. Runs are short (4 simulated s of workload at 16 ops/s,
// 1.5 s quiesce) so each file fits in ~4 minutes on a loaded 2-core machine; shorten them rather than drop
// seeds if they grow slower.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSeedRange, verdictLine, type SeedCampaignSettings } from '../../harness/sim-property.js';

/** The settings of the seeded campaign files, so that a seed replays elsewhere exactly as they ran it. */
export const seedSettings = (store: string): SeedCampaignSettings => ({ store, timeLimitS: 4, concurrency: 4, rate: 16, quietS: 1, faultS: 1.5, quiesceS: 1.5 });

export function seedRangeTest(first: number, last: number): void {
  t.test(`seeded campaigns ${first}..${last} of the reference node are all valid`, async (t) => {
    const store = mkdtempSync(join(tmpdir(), `ql-sim-seeds-${first}-`));
    t.teardown(() => rmSync(store, { recursive: true, force: true }));
    const settings = seedSettings(store);
    let valid = 0;
    const summary = await runSeedRange(first, last, settings, ({ campaign, result }) => {
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
}
