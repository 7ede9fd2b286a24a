import t from 'tap';
import { performance } from 'node:perf_hooks';
import { benchNode, quantile, type BenchOp } from '../bench/node-load.js';
import { runLoad } from '../bench/load-loop.js';

t.test('quantile uses nearest rank', async (t) => {
  const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
  t.equal(quantile(xs, 0.5), 500);
  t.equal(quantile(xs, 0.99), 990);
  t.equal(quantile(xs, 0.999), 999);
  t.equal(quantile([7], 0.999), 7);
  t.ok(Number.isNaN(quantile([], 0.5)));
});

t.test('benchNode drives a pluggable request function and reports per phase', async (t) => {
  const seen: { op: BenchOp; url: string; key: string; size: number }[] = [];
  const written = new Set<string>();
  const wall0 = performance.now();
  const results = await benchNode({
    baseUrls: ['http://a', 'http://b'],
    concurrency: 4,
    durationMs: 200,
    valueBytes: 64,
    keys: 50,
    request: async (op, url, key, value) => {
      const nth = seen.push({ op, url, key, size: value.byteLength });
      if (op === 'put') written.add(key);
      await new Promise((r) => setTimeout(r, 2));
      // Every tenth request (if a get) fails, to check errors are counted apart from successes.
      return op === 'put' || nth % 10 !== 0;
    },
  });
  const wallS = (performance.now() - wall0) / 1000;
  t.same(results.map((r) => r.op), ['put', 'get']);
  const [put, get] = results as [(typeof results)[0], (typeof results)[0]];
  const puts = seen.filter((s) => s.op === 'put').length;
  const gets = seen.filter((s) => s.op === 'get').length;
  t.ok(puts > 0, 'the put phase issued requests');
  t.equal(put.ops, puts, 'every put request that succeeded is counted once');
  t.equal(put.errors, 0);
  t.equal(get.ops + get.errors, gets, 'every get request is counted, as a success or an error');
  t.equal(get.errors, seen.filter((s, i) => s.op === 'get' && (i + 1) % 10 === 0).length, 'failed gets are counted as errors');
  t.ok(get.errors > 0 && get.ops > 0, 'both outcomes occurred');
  // Each request sleeps 2 ms, so a latency below 1 ms would mean the clock is not around the request.
  t.ok(put.p50Ms >= 1 && put.p50Ms <= put.p99Ms && put.p99Ms <= put.p999Ms, 'latency quantiles are ordered and include the request');
  // Throughput against this test's own counts and clock: a phase lasts at least its 200 ms and at most the
  // whole call, so ops/s lies between puts / wall time and puts / 0.2 s.
  t.ok(put.seconds >= 0.2 && put.seconds <= wallS, `the put phase lasted ${put.seconds} s of ${wallS.toFixed(3)} s`);
  t.ok(put.opsPerS >= Math.floor(puts / wallS) && put.opsPerS <= Math.ceil(puts / 0.2), `put ops/s ${put.opsPerS} for ${puts} puts`);
  t.same(new Set(seen.map((s) => s.url)), new Set(['http://a', 'http://b']), 'workers spread over the targets');
  t.ok(seen.every((s) => s.size === 64));
  t.ok(seen.filter((s) => s.op === 'get').every((s) => written.has(s.key)), 'gets read keys the put phase wrote');
});

t.test('a paced load issues request i no earlier than i / rate after its start, however many workers wait', async (t) => {
  const issuedAt: number[] = [];
  const start = performance.now();
  const r = await runLoad({
    concurrency: 8, durationMs: 300, maxOps: 1000, ratePerS: 50,
    request: async (i) => {
      issuedAt[i] = performance.now();
    },
  });
  // 50 per second for 300 ms: requests 0..14 at most (request 15 is due at 300 ms, the deadline).
  t.ok(r.ops >= 1 && r.ops <= 15, `${r.ops} requests in 300 ms at 50/s`);
  t.equal(r.errors, 0);
  // The loop's own start is after this test's, so its schedule is too.
  for (let i = 1; i < issuedAt.length; i++) t.ok(issuedAt[i]! - start >= (i * 1000) / 50, `request ${i} waited for its turn`);
  const unpaced = await runLoad({ concurrency: 8, durationMs: 50, maxOps: 1000, request: async () => undefined });
  t.equal(unpaced.ops, 1000, 'without a rate the loop runs to its op cap');
});
