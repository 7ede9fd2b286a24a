// One bounded closed-loop load generator shared by every system the bench compares, so quorumlab, etcd
// and Redis are measured by exactly the same loop: `concurrency` workers, each issuing its next request
// as soon as the previous one answered, until the time or the op budget runs out.
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  readonly concurrency: number;
  readonly durationMs: number;
  /** Hard cap on requests, so a very fast target still stops. */
  readonly maxOps: number;
  /**
   * At most this many requests per second in all (request i waits for start + i / rate): a paced loop,
   * for A/B comparisons of CPU per operation at one load whatever the machine's own load lets each side
   * reach (group commit and frame batching amortise more at a higher rate). Default: unpaced.
   */
  readonly ratePerS?: number;
  /** Issues request number `i` from worker `worker`; rejects on error. */
  readonly request: (i: number, worker: number) => Promise<void>;
}

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly seconds: number;
  readonly opsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** How many requests failed with each error message (the first line of it). */
  readonly errorKinds: Readonly<Record<string, number>>;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const start = performance.now();
  const deadline = start + options.durationMs;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < deadline && next < options.maxOps) {
      const i = next++;
      if (options.ratePerS !== undefined) {
        // Node truncates a timer's delay to whole ms and counts it from the loop's cached time, so a timer
        // may fire a little early: wait again until the turn has really come.
        const due = start + (i * 1000) / options.ratePerS;
        for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
        if (performance.now() >= deadline) break;
      }
      const t0 = performance.now();
      try {
        await options.request(i, w);
        latenciesMs.push(performance.now() - t0);
      } catch (error) {
        errors += 1;
        const kind = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 120);
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - start) / 1000;
  latenciesMs.sort((a, b) => a - b);
  return {
    ops: latenciesMs.length,
    errors,
    seconds,
    opsPerS: latenciesMs.length / seconds,
    p50Ms: quantile(latenciesMs, 0.5),
    p99Ms: quantile(latenciesMs, 0.99),
    p999Ms: quantile(latenciesMs, 0.999),
    maxMs: latenciesMs.length > 0 ? latenciesMs[latenciesMs.length - 1]! : Number.NaN,
    errorKinds,
  };
}
