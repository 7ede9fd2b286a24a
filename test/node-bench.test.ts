import t from 'tap';
import { benchNode, quantile, type BenchOp } from '../bench/node-load.js';

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
  const results = await benchNode({
    baseUrls: ['http://a', 'http://b'],
    concurrency: 4,
    durationMs: 200,
    valueBytes: 64,
    keys: 50,
    request: async (op, url, key, value) => {
      seen.push({ op, url, key, size: value.byteLength });
      if (op === 'put') written.add(key);
      await new Promise((r) => setTimeout(r, 2));
      // Every tenth get fails, to check errors are counted apart from successes.
      return op === 'put' || seen.length % 10 !== 0;
    },
  });
  t.same(results.map((r) => r.op), ['put', 'get']);
  const [put, get] = results as [(typeof results)[0], (typeof results)[0]];
  t.ok(put.ops > 20, `${put.ops} puts`);
  t.equal(put.errors, 0);
  t.ok(get.errors > 0 && get.errors < get.ops, 'failed gets are counted as errors');
  t.ok(put.p50Ms >= 1 && put.p50Ms <= put.p99Ms && put.p99Ms <= put.p999Ms, 'latency quantiles are ordered');
  t.ok(Math.abs(put.opsPerS - put.ops / put.seconds) <= put.opsPerS * 0.02 + 1, 'ops/s is ops over seconds');
  t.same(new Set(seen.map((s) => s.url)), new Set(['http://a', 'http://b']), 'workers spread over the targets');
  t.ok(seen.every((s) => s.size === 64));
  t.ok(seen.filter((s) => s.op === 'get').every((s) => written.has(s.key)), 'gets read keys the put phase wrote');
});
