// Campaign throughput in simulation (issue 19's "campaigns of 10 s simulated per minute on 2 cores"): the
// same campaign — one configuration (cart, 5 nodes, N=3 R=2 W=2 sloppy, partitions, crashes, pauses and
// clock skew, 100 ops/s) over consecutive seeds, 10 s simulated each — run by runCampaign with --jobs 1 and
// with one worker process per core, side by side in one run (a shared machine's load moves both alike). Also
// how long setting up a simulated 5-node cluster takes, and the CPU a campaign worker process spends loading
// its modules, from the compiled copy (bin/precompile.js) and through tsx, and the CPU per run of one process
// taking run after run (cold for its first runs, then warm: what a long campaign pays). Standalone:
// `npx tsx bench/campaign-sim.ts [runs]`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { precompiledEntry } from '../bin/precompile.js';
import { campaignOptionsFrom, campaignPlan, runCampaign } from '../harness/campaign.js';
import { runAndRow } from '../harness/campaign-row.js';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';

export interface SimCampaignFigure {
  readonly jobs: number;
  readonly runs: number;
  readonly wallS: number;
  readonly perMinute: number;
  /** CPU seconds per run, this process and its worker processes together (what load on a shared machine does not inflate). */
  readonly cpuSPerRun: number;
  readonly notValid: number;
}

/** CPU seconds used so far by this process and by its children that have ended (Linux: /proc/self/stat). */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    // Fields after the command name: state is field 3, cutime and cstime are fields 16 and 17, in clock ticks (100 per second).
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    // Not Linux: the workers' CPU is not counted.
  }
  return (own.user + own.system) / 1e6 + children;
}

export async function benchSimCampaign(runs: number, jobsList: readonly number[] = [1, availableParallelism()]): Promise<SimCampaignFigure[]> {
  const out: SimCampaignFigure[] = [];
  for (const jobs of jobsList) {
    const store = mkdtempSync(join(tmpdir(), 'ql-bench-campaign-sim-'));
    try {
      const options = campaignOptionsFrom({
        runtime: 'sim', store, name: 'bench', nrw: '3/2/2', modes: 'sloppy', conflicts: 'vclock', workloads: 'cart',
        nemeses: 'partition,crash,pause,clock', seeds: runs, seed: 1, timeLimit: 10, quiesce: 2, concurrency: 10, rate: 100, jobs,
      });
      const t0 = performance.now();
      const cpu0 = cpuSeconds();
      const result = await runCampaign({ ...options, quiet: true });
      const wallS = (performance.now() - t0) / 1000;
      const n = result.rows.length;
      out.push({ jobs, runs: n, wallS, perMinute: (n * 60) / wallS, cpuSPerRun: (cpuSeconds() - cpu0) / n, notValid: result.rows.filter((r) => r.valid !== true).length });
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  }
  return out;
}

/**
 * CPU seconds per run of a process that keeps taking runs, as a campaign worker does (runAndRow, reports as a
 * campaign writes them): each of the first `warm` runs (the JIT warming up), then the mean of the next `runs`,
 * which is what a long campaign pays per run. Seeds 1… of the campaign above.
 */
export async function benchWarmRuns(runs: number, warm: number): Promise<{ firstCpuS: number[]; warmCpuSPerRun: number; runs: number }> {
  const store = mkdtempSync(join(tmpdir(), 'ql-bench-campaign-warm-'));
  try {
    const options = campaignOptionsFrom({
      runtime: 'sim', store, name: 'bench', nrw: '3/2/2', modes: 'sloppy', conflicts: 'vclock', workloads: 'cart',
      nemeses: 'partition,crash,pause,clock', seeds: warm + runs, seed: 1, timeLimit: 10, quiesce: 2, concurrency: 10, rate: 100, jobs: 1,
    });
    const firstCpuS: number[] = [];
    let warmCpuS = 0;
    for (const [i, p] of campaignPlan(options).entries()) {
      const c0 = process.cpuUsage();
      await runAndRow({ ...p.run, store: join(store, 'runs'), runDir: join(store, 'runs', p.folder), skipReport: 'valid' });
      const c = process.cpuUsage(c0);
      const spent = (c.user + c.system) / 1e6;
      if (i < warm) firstCpuS.push(spent);
      else warmCpuS += spent;
    }
    return { firstCpuS, warmCpuSPerRun: warmCpuS / runs, runs };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

/**
 * Mean milliseconds (wall and CPU) to set up a simulated 5-node cluster, over `count` clusters after one
 * that is not counted (it loads the node's modules).
 */
export async function benchSimSetup(count: number): Promise<{ setupMs: number; setupCpuMs: number; teardownMs: number }> {
  const runDir = mkdtempSync(join(tmpdir(), 'ql-bench-sim-setup-'));
  let setupMs = 0;
  let setupCpuMs = 0;
  let teardownMs = 0;
  try {
    for (let i = 0; i <= count; i++) {
      const rt = new SimRuntime();
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await rt.setup({ nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', vnodes: 64, seed: i + 1, runDir });
      const c = process.cpuUsage(c0);
      const t1 = performance.now();
      await rt.teardown();
      if (i === 0) continue;
      setupMs += t1 - t0;
      setupCpuMs += (c.user + c.system) / 1000;
      teardownMs += performance.now() - t1;
    }
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
  return { setupMs: setupMs / count, setupCpuMs: setupCpuMs / count, teardownMs: teardownMs / count };
}

/**
 * Mean CPU seconds for a campaign worker process to start: node loading campaign-worker and every module it
 * imports statically (started without an IPC channel, it then exits at once), from the compiled copy and
 * through tsx, alternating. undefined for the compiled copy when there is none.
 */
export async function benchWorkerStart(count: number): Promise<{ compiledCpuS: number | undefined; tsxCpuS: number }> {
  const compiled = await precompiledEntry('harness/campaign-worker.ts');
  const source = fileURLToPath(new URL('../harness/campaign-worker.ts', import.meta.url));
  let compiledS = 0;
  let tsxS = 0;
  for (let i = 0; i < count; i++) {
    for (const which of ['compiled', 'tsx'] as const) {
      if (which === 'compiled' && compiled === undefined) continue;
      const args = which === 'compiled' ? ['--enable-source-maps', fileURLToPath(compiled!)] : ['--import', 'tsx', source];
      const before = cpuSeconds();
      spawnSync(process.execPath, args, { stdio: 'ignore' });
      const spent = cpuSeconds() - before;
      if (which === 'compiled') compiledS += spent;
      else tsxS += spent;
    }
  }
  return { compiledCpuS: compiled === undefined ? undefined : compiledS / count, tsxCpuS: tsxS / count };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchWorkerStart(3));
  console.log(await benchSimSetup(20));
  console.log(await benchWarmRuns(Number(process.argv[2] ?? 20), 5));
  console.log(await benchSimCampaign(Number(process.argv[2] ?? 20)));
}
