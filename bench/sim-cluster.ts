// Simulation speed by cluster size: one seeded cart run of `nodes` nodes with Q partitions, partitions,
// crashes and pauses, at `rate` ops/s for `seconds` simulated seconds. Prints wall and CPU time, the
// simulated/wall ratio, the peak RSS and heap, and a hash of the history (so a speed-up can be checked not
// to change behaviour). Used by `npm run bench` (bench/index.ts) and runnable alone:
//   npx tsx bench/sim-cluster.ts [nodes=20] [partitions=1024] [seconds=30] [rate=50] [seed=1]
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runTest } from '../harness/run.js';
import { restartWithSimFlags } from '../bin/sim-flags.js';

export interface ClusterRunResult {
  readonly nodes: number;
  readonly partitions: number;
  readonly simulatedS: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly ratio: number;
  readonly ops: number;
  readonly valid: boolean | 'unknown';
  readonly peakRssMiB: number;
  readonly historyHash: string;
}

/** Imports what runTest imports on first use (sim-runtime.ts loadDynamoFactory, run-check.ts runCheckers). */
export async function preloadRunModules(): Promise<void> {
  await import('../node/core/node.js');
  await import('../checkers/index.js');
}

/** One run; `partitions` 0 keeps the runtime's own Q (max(8, vnodes × nodes)). */
export async function runClusterSim(nodes: number, partitions: number, seconds: number, rate: number, seed = 1): Promise<ClusterRunResult> {
  // The modules a run imports lazily (the node core at setup, the checkers after the run) are loaded before
  // the clock starts: loading and compiling them is the process's start, not simulation. What is timed
  // still includes the JIT warming up on a process's first run (see bench/campaign-sim.ts for warm runs).
  await preloadRunModules();
  const store = mkdtempSync(join(tmpdir(), 'ql-bench-simcluster-'));
  // Sampled once a second, with memoryUsage.rss() alone: the full memoryUsage() ten times a second was
  // 1–2 % of the run being measured (the RSS read goes through /proc). A run's memory grows slowly, so the
  // peak is still near enough; the final reading is taken too.
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 1000);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await runTest({
      runtime: 'sim', nodes, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'cart',
      nemesis: ['partition', 'crash', 'pause'], timeLimitS: seconds, concurrency: 10, rate, seed, quiet: true,
      skipReport: true, store, ...(partitions > 0 ? { env: { QL_PARTITIONS: String(partitions) } } : {}),
    } as Parameters<typeof runTest>[0]);
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    // The run's cluster secret may be random, so context signatures are left out of the hash.
    const history = result.runDir === undefined ? '' : readFileSync(`${result.runDir}/history.jsonl`, 'utf8').replace(/("context":"[^."]*)\.[^"]*"/g, '$1"');
    return {
      nodes, partitions, simulatedS: result.stats.durationS, wallS, cpuS: (cpu.user + cpu.system) / 1e6,
      ratio: result.stats.durationS / wallS, ops: result.stats.ops, valid: result.valid,
      peakRssMiB: peakRss / 2 ** 20, historyHash: createHash('sha256').update(history).digest('hex').slice(0, 16),
    };
  } finally {
    clearInterval(sampler);
    rmSync(store, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Timed as a user's simulated runs run: in a node with the simulation V8 flags (bin/sim-flags.js), as the
  // CLI's `run --runtime sim`, campaign workers and the tests do. The restart is before the clock starts.
  const restarted = await restartWithSimFlags(process.argv, true);
  if (restarted !== undefined) process.exit(restarted);
  const [nodes = 20, partitions = 1024, seconds = 30, rate = 50, seed = 1] = process.argv.slice(2).map(Number);
  const r = await runClusterSim(nodes, partitions, seconds, rate, seed);
  console.log(JSON.stringify({ ...r, wallS: +r.wallS.toFixed(2), cpuS: +r.cpuS.toFixed(2), ratio: +r.ratio.toFixed(1), peakRssMiB: Math.round(r.peakRssMiB) }));
}
