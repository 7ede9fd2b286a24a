// Prints the kv section of bench/results.json (written by `npm run bench`) as the README's markdown table:
// per phase, quorumlab beside etcd (throughput, latency quantiles, server CPU per op) and the two Redis
// throughputs. `npx tsx bench/kv-table.ts [results.json]`.
import { readFileSync } from 'node:fs';
import type { LoadResult } from './load-loop.js';

interface Results {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly loadAverage?: { start: string; end: string };
  readonly loads: Record<string, LoadResult>;
  readonly cpuPerOp?: Record<string, number>;
  /** The bench client's own CPU per op (older results lack it). */
  readonly clientCpuPerOp?: Record<string, number>;
}

const file = process.argv[2] ?? new URL('./results.json', import.meta.url).pathname;
let results: Results;
try {
  results = JSON.parse(readFileSync(file, 'utf8')) as Results;
} catch (error) {
  console.error(`kv-table: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const { loads, cpuPerOp = {}, clientCpuPerOp = {} } = results;
const r0 = (x: number | undefined, d = 0): string => (x === undefined || !Number.isFinite(x) ? '-' : (Math.round(x * 10 ** d) / 10 ** d).toLocaleString('en-US'));
const lat = (l: LoadResult | undefined): string => (l === undefined ? '-' : `${r0(l.p50Ms, 1)} / ${r0(l.p99Ms)} / ${r0(l.p999Ms)}`);

console.log(`${results.command}, ${results.date}, ${results.machine}, load average ${results.loadAverage?.start ?? '?'} (start) and ${results.loadAverage?.end ?? '?'} (end)\n`);
console.log('| phase | quorumlab ops/s | p50 / p99 / p99.9 ms | etcd ops/s | p50 / p99 / p99.9 ms | quorumlab / etcd: throughput, p99.9 | server CPU ms per op: quorumlab, etcd | bench client CPU ms per op: quorumlab, etcd | Redis AOF always ops/s | Redis no persistence ops/s |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const key of Object.keys(loads)) {
  if (!key.startsWith('quorumlab.')) continue;
  const phase = key.slice('quorumlab.'.length);
  const theirs = phase.replace(/^put (blind|with context) /, 'put ');
  const q = loads[key]!;
  const e = loads[`etcd.${theirs}`];
  const ratio = e === undefined ? '-' : `${r0(q.opsPerS / e.opsPerS, 2)}×, ${r0(q.p999Ms / e.p999Ms, 2)}×`;
  const cpu = `${r0(cpuPerOp[key], 2)}, ${r0(cpuPerOp[`etcd.${theirs}`], 2)}`;
  const client = `${r0(clientCpuPerOp[key], 3)}, ${r0(clientCpuPerOp[`etcd.${theirs}`], 3)}`;
  console.log(`| ${phase} | ${r0(q.opsPerS)} | ${lat(q)} | ${r0(e?.opsPerS)} | ${lat(e)} | ${ratio} | ${cpu} | ${client} | ${r0(loads[`redis-aof.${theirs}`]?.opsPerS)} | ${r0(loads[`redis.${theirs}`]?.opsPerS)} |`);
}
