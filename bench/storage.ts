// Group-commit benchmark for the node's LevelDB storage: `writers` concurrent callers each write one key
// at a time for a bounded duration; every write resolves only once its synchronous batch is durable.
// Reports writes/s, fsyncs/s and how many writes a batch coalesced (the figures test/node-storage.test.ts
// does not assert: it checks only that concurrent writes share batches). Standalone: `npx tsx bench/storage.ts`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
}

export async function benchStorage(writersList: readonly number[] = [1, 16, 128], durationMs = 3000, valueBytes = 1024): Promise<StorageBenchRow[]> {
  const rows: StorageBenchRow[] = [];
  const value = new Uint8Array(valueBytes).fill(113);
  for (const writers of writersList) {
    const dir = mkdtempSync(join(tmpdir(), 'ql-bench-storage-'));
    const s = new LevelStorage(dir);
    try {
      await s.open();
      const start = performance.now();
      const end = start + durationMs;
      let next = 0;
      await Promise.all(Array.from({ length: writers }, async () => {
        while (performance.now() < end) await s.write([{ type: 'put', ns: 'kv', key: `k${next++ % 10_000}`, value }]);
      }));
      const seconds = (performance.now() - start) / 1000;
      const stats = s.getStats();
      rows.push({
        writers, seconds, writes: stats.writes, writesPerS: stats.writes / seconds, fsyncsPerS: stats.syncBatches / seconds,
        meanBatch: stats.writes / Math.max(1, stats.syncBatches), maxBatch: stats.maxCoalesced,
      });
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await benchStorage());
}
