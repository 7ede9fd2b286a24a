// Group-commit benchmark for the node's LevelDB storage: `writers` concurrent callers each write one key
// at a time for a bounded duration; every write resolves only once its synchronous batch is durable.
// Reports writes/s, fsyncs/s, how many writes a batch coalesced (the figures test/node-storage.test.ts
// does not assert: it checks only that concurrent writes share batches), each write's latency from the
// call to its durable ack (quantiles), and the process's CPU per write (LevelDB's write thread and the
// kernel's fsync work included: cpuUsage covers every thread). The group-commit rule in
// node/storage-level.ts trades these against each other, so it is judged on all of them.
//   npx tsx bench/storage.ts [--writers=1,4,16,64,128] [--ms=3000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantile } from './load-loop.js';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { LevelStorage } from '../node/storage-level.js';

export interface StorageBenchRow {
  readonly writers: number;
  readonly seconds: number;
  readonly writes: number;
  readonly writesPerS: number;
  readonly fsyncsPerS: number;
  /** Writes per synchronous batch, on average and at most. */
  readonly meanBatch: number;
  readonly maxBatch: number;
  /** Milliseconds from a write call to its durable ack. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Process CPU (user + system, all threads) per write, in microseconds. */
  readonly cpuUsPerWrite: number;
}

export async function benchStorage(writersList: readonly number[] = [1, 16, 128], durationMs = 3000, valueBytes = 1024): Promise<StorageBenchRow[]> {
  const rows: StorageBenchRow[] = [];
  const value = new Uint8Array(valueBytes).fill(113);
  for (const writers of writersList) {
    const dir = mkdtempSync(join(tmpdir(), 'ql-bench-storage-'));
    const s = new LevelStorage(dir);
    try {
      await s.open();
      const latencies: number[] = [];
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      const end = start + durationMs;
      let next = 0;
      await Promise.all(Array.from({ length: writers }, async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          await s.write([{ type: 'put', ns: 'kv', key: `k${next++ % 10_000}`, value }]);
          latencies.push(performance.now() - t0);
        }
      }));
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const stats = s.getStats();
      latencies.sort((a, b) => a - b);
      const r = (x: number): number => Math.round(x * 100) / 100;
      rows.push({
        writers, seconds, writes: stats.writes, writesPerS: stats.writes / seconds, fsyncsPerS: stats.syncBatches / seconds,
        meanBatch: stats.writes / Math.max(1, stats.syncBatches), maxBatch: stats.maxCoalesced,
        p50Ms: r(quantile(latencies, 0.5)), p99Ms: r(quantile(latencies, 0.99)), p999Ms: r(quantile(latencies, 0.999)), maxMs: r(latencies[latencies.length - 1] ?? NaN),
        cpuUsPerWrite: Math.round((cpu.user + cpu.system) / Math.max(1, stats.writes)),
      });
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const writers = (arg('writers') ?? '1,16,128').split(',').map(Number);
  console.table(await benchStorage(writers, Number(arg('ms') ?? 3000)));
}
