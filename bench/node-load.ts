// A closed-loop load generator: `concurrency` workers each issue one request at a time for a bounded
// duration and record every latency. The request function is pluggable, so the same loop (and hence
// comparable figures) can drive quorumlab nodes, etcd or Redis. Run standalone to measure a fresh
// 3-node local cluster (N=3 R=2 W=2, 1 KiB values, concurrency 16), or point QL_BENCH_URLS at nodes.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export type BenchOp = 'put' | 'get';

/** Performs one operation against `baseUrl`; resolves true on success, false on a refused/failed answer. */
export type BenchRequest = (op: BenchOp, baseUrl: string, key: string, value: Uint8Array) => Promise<boolean>;

export interface BenchOptions {
  /** Base URLs of the nodes; workers spread over them round-robin. */
  readonly baseUrls: readonly string[];
  /** Phases, run in this order (default put then get, so gets read written keys). */
  readonly ops?: readonly BenchOp[];
  readonly concurrency?: number;
  /** Length of each phase (default 5000 ms). */
  readonly durationMs?: number;
  readonly valueBytes?: number;
  /** Distinct keys (default 10,000). */
  readonly keys?: number;
  readonly keyPrefix?: string;
  /** Default: quorumlab's NODE-API (`PUT/GET /kv/{key}`) over keep-alive HTTP. */
  readonly request?: BenchRequest;
}

export interface BenchResult {
  readonly op: BenchOp;
  /** Successful operations. */
  readonly ops: number;
  readonly errors: number;
  readonly seconds: number;
  readonly opsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
}

/** The value at quantile q of sorted samples (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** A request function speaking NODE-API.md with its own keep-alive pool; `close` frees the sockets. */
export function quorumlabRequest(maxSockets = 64): BenchRequest & { close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const fn = (op: BenchOp, baseUrl: string, key: string, value: Uint8Array): Promise<boolean> =>
    new Promise((resolve) => {
      const url = new URL(`/kv/${encodeURIComponent(key)}`, baseUrl);
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: op === 'put' ? 'PUT' : 'GET', agent, headers: op === 'put' ? { 'Content-Length': value.byteLength } : {} },
        (res) => {
          res.resume();
          res.on('end', () => resolve(op === 'put' ? res.statusCode === 204 : res.statusCode === 200 || res.statusCode === 300));
          res.on('error', () => resolve(false));
        },
      );
      req.setTimeout(10_000, () => req.destroy());
      req.on('error', () => resolve(false));
      req.end(op === 'put' ? value : undefined);
    });
  return Object.assign(fn, { close: () => agent.destroy() });
}

export async function benchNode(opts: BenchOptions): Promise<BenchResult[]> {
  if (opts.baseUrls.length === 0) throw new RangeError('benchNode needs at least one base URL');
  const concurrency = opts.concurrency ?? 16;
  const durationMs = opts.durationMs ?? 5000;
  const keys = opts.keys ?? 10_000;
  const prefix = opts.keyPrefix ?? 'bench-';
  const value = new Uint8Array(randomBytes(opts.valueBytes ?? 1024));
  const own = opts.request === undefined ? quorumlabRequest(concurrency * 2) : undefined;
  const request = opts.request ?? own!;
  const results: BenchResult[] = [];
  let written = 0;
  try {
    for (const op of opts.ops ?? ['put', 'get']) {
      const latencies: number[] = [];
      let errors = 0;
      let next = 0;
      const start = performance.now();
      const end = start + durationMs;
      const worker = async (w: number): Promise<void> => {
        const baseUrl = opts.baseUrls[w % opts.baseUrls.length]!;
        while (performance.now() < end) {
          // Puts walk the key space in order; gets read keys the put phase wrote (random, uniform).
          const i = op === 'put' ? next++ % keys : Math.floor(Math.random() * Math.max(1, Math.min(written, keys)));
          const t0 = performance.now();
          const ok = await request(op, baseUrl, `${prefix}${i}`, value);
          const t1 = performance.now();
          if (ok) latencies.push(t1 - t0);
          else errors++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
      const seconds = (performance.now() - start) / 1000;
      if (op === 'put') written = Math.max(written, next);
      latencies.sort((a, b) => a - b);
      const round = (x: number): number => Math.round(x * 1000) / 1000;
      results.push({
        op,
        ops: latencies.length,
        errors,
        seconds: round(seconds),
        opsPerS: Math.round(latencies.length / seconds),
        p50Ms: round(quantile(latencies, 0.5)),
        p99Ms: round(quantile(latencies, 0.99)),
        p999Ms: round(quantile(latencies, 0.999)),
      });
    }
  } finally {
    own?.close();
  }
  return results;
}

async function main(): Promise<void> {
  const urls = process.env['QL_BENCH_URLS']?.split(',').filter((u) => u !== '');
  const durationMs = Number(process.env['QL_BENCH_MS'] ?? 5000);
  if (urls && urls.length > 0) {
    console.table(await benchNode({ baseUrls: urls, durationMs }));
    return;
  }
  // No targets given: measure a fresh 3-node local cluster, then tear it down.
  const { LocalCluster } = await import('../test/helpers/local-cluster.js');
  const cluster = await LocalCluster.start({ size: 3, firstOctet: 58, env: { QL_N: '3', QL_R: '2', QL_W: '2' } });
  try {
    const results = await benchNode({ baseUrls: cluster.nodes.map((n) => n.url), durationMs });
    console.table(results);
    console.log(JSON.stringify(results));
  } finally {
    await cluster.close();
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
