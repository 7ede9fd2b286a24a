// How long `quorumlab campaign --quick` takes on the local runtime, measured: a sample of its runs (one per
// workload × mode, on partitions, the slowest fault to heal) is timed end to end, and the sweep's duration
// is estimated as the mean run time × the number of runs. run-campaign.test.ts checks only the sweep's
// shape; whether it fits its "≤ 5 min" is this figure. Standalone: `npx tsx bench/campaign.ts`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { campaignOptionsFrom, runCampaign } from '../harness/campaign.js';

export interface CampaignEstimate {
  /** Runs in the full quick sweep. */
  readonly sweepRuns: number;
  readonly sampledRuns: number;
  readonly sampleSeconds: number;
  readonly meanRunSeconds: number;
  readonly estimatedSweepSeconds: number;
  /** Verdicts of the sampled runs (a sample that did not complete would make the estimate meaningless). */
  readonly valid: readonly unknown[];
}

export async function benchQuickCampaign(): Promise<CampaignEstimate> {
  const store = mkdtempSync(join(tmpdir(), 'ql-bench-campaign-'));
  try {
    const quick = campaignOptionsFrom({ quick: true, runtime: 'local', store, name: 'bench-quick' });
    const sweepRuns = quick.workloads.length * quick.nrw.length * quick.sloppy.length * quick.conflicts.length * quick.nemeses.length * quick.seeds.length;
    const sample = { ...quick, nemeses: [['partition'] as const], quiet: true };
    const t0 = performance.now();
    const result = await runCampaign(sample);
    const sampleSeconds = (performance.now() - t0) / 1000;
    const meanRunSeconds = sampleSeconds / result.rows.length;
    return {
      sweepRuns, sampledRuns: result.rows.length, sampleSeconds, meanRunSeconds,
      estimatedSweepSeconds: meanRunSeconds * sweepRuns, valid: result.rows.map((r) => r.valid),
    };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchQuickCampaign());
}
