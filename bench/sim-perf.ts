// A speed benchmark for the deterministic simulation runtime: runs one sim campaign and prints wall time,
// CPU time and a hash of the history (so a speed-up can be checked not to change behaviour).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runTest } from '../harness/run.js';

const seed = Number(process.argv[2] ?? 1);
const timeLimitS = Number(process.argv[3] ?? 60);
const rate = Number(process.argv[4] ?? 100);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await runTest({
  runtime: 'sim', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'cart',
  nemesis: ['partition', 'crash', 'pause'], timeLimitS, concurrency: 10, rate, seed, quiet: true,
  skipReport: true, store: '/tmp/qlperf',
} as Parameters<typeof runTest>[0]);
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
// The run's cluster secret is random, so context signatures differ between runs; hash without them.
const history = (result.runDir === undefined ? '' : readFileSync(`${result.runDir}/history.jsonl`, 'utf8')).replace(/("context":"[^."]*)\.[^"]*"/g, '$1"');
const hash = createHash('sha256').update(history).digest('hex').slice(0, 16);
console.log(JSON.stringify({ seed, valid: result.valid, ops: result.stats.ops, durationS: result.stats.durationS,
  wallS: +wallS.toFixed(2), cpuS: +cpuS.toFixed(2), simPerCpuS: +(result.stats.durationS / cpuS).toFixed(1), historyHash: hash }));
