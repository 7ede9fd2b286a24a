// A PUT's X-Context (NODE-API.md: "X-Context of the new version") covers exactly what the client sent plus
// the new version, also when the coordinator minted concurrent writes in between, so that the new dot is
// not contiguous with the client's vector entry (a DVV-style context: the dot travels as an exact dot). A
// write with that context replaces the client's own earlier write and nothing it never saw. On the
// simulation (direct and forwarded through a node that is not a home) and over HTTP on real processes.
import t, { type Test } from 'tap';
import type { CoreNode } from '../node/core/api.js';
import { causalContext, versionsWrite, versionsMerge, versionsContext, versionsReadContext, decodeVersions, encodeVersions, emptyVersions } from '../node/core/versions.js';
import { decodeKvContext, encodeKvContext } from '../node/core/context.js';
import { dec, enc, okGet, okPut, testCluster } from './helpers/sim-cluster.js';
import { LocalCluster, type LocalNode } from './helpers/local-cluster.js';

t.test('causal contexts: exact dots fold into the vector once contiguous, round-trip signed, cover exactly', async (t) => {
  const c = causalContext({ a: 2 }, [{ node: 'a', counter: 4 }, { node: 'a', counter: 3 }, { node: 'b', counter: 5 }, { node: 'a', counter: 1 }]);
  t.same(c, { vv: { a: 4 }, dots: [{ node: 'b', counter: 5 }] });
  const token = encodeKvContext(c, 's', 'k');
  t.same(decodeKvContext(token, 's', 'k'), c);
  t.match(decodeKvContext(token, 's', 'other'), { error: /signature/ });
  t.equal(encodeKvContext({ a: 1 }, 's', 'k'), encodeKvContext(causalContext({ a: 1 }), 's', 'k'), 'a read context is a plain vector, as before');

  // Versions: a write made with an exact dot supersedes that sibling and only it, on every replica.
  const b1 = versionsWrite(emptyVersions, {}, enc('b1'), 'n1', 1);
  const a1 = versionsWrite(b1.versions, {}, enc('a1'), 'n1', 2);
  t.same(a1.written.dot, { node: 'n1', counter: 2 });
  const ctxA = causalContext({}, [a1.written.dot]);
  const a2 = versionsWrite(a1.versions, ctxA, enc('a2'), 'n1', 3);
  t.same(a2.versions.siblings.map((s) => dec(s.value!)).sort(), ['a2', 'b1']);
  const other = versionsMerge(a1.versions, emptyVersions);
  t.same(versionsMerge(other, a2.versions).siblings.map((s) => dec(s.value!)).sort(), ['a2', 'b1'], 'a replica that still holds a1 drops it on merge');
  t.same(decodeVersions(encodeVersions(a2.versions)), a2.versions, 'pastDots survive the encoding');
  t.same(versionsContext(a2.versions), { n1: 3 }, 'a reader of the whole state covers what it saw');

  // Another coordinator (n2) writes with the exact dot n1:6; its state never held n1:4 or n1:5.
  const viaN2 = versionsWrite(emptyVersions, causalContext({}, [{ node: 'n1', counter: 6 }]), enc('x'), 'n2', 4).versions;
  const read = versionsReadContext(viaN2);
  t.same(read, { vv: { n2: 1 }, dots: [{ node: 'n1', counter: 6 }] }, 'a read of it does not cover the gap below the exact dot');
  const n1State = versionsWrite(versionsWrite(emptyVersions, { n1: 3 }, enc('n1-4'), 'n1', 1).versions, { n1: 3 }, enc('n1-5'), 'n1', 2).versions;
  t.same(n1State.siblings.map((x) => x.dot.counter), [4, 5]);
  const after = versionsMerge(n1State, versionsWrite(viaN2, read, enc('y'), 'n2', 5).versions);
  t.same(after.siblings.map((x) => dec(x.value!)).sort(), ['n1-4', 'n1-5', 'y'], 'a write with that read keeps what the reader never saw');
  t.same(versionsWrite(viaN2, {}, enc('z'), 'n1', 6).written.dot, { node: 'n1', counter: 7 }, 'a dot named only as an exact dot is never minted again');
});

/** Three writes through `via` (B blind, A blind, C blind), then A twice with the contexts its PUTs returned. */
async function scenario(t: Test, via: CoreNode, readers: CoreNode[], run: <T>(p: Promise<T>) => Promise<T>, key: string): Promise<void> {
  await run(via.put(key, enc('b1'), undefined));
  const ctxA1 = okPut(t, await run(via.put(key, enc('a1'), undefined)));
  await run(via.put(key, enc('c1'), undefined));
  const ctxA2 = okPut(t, await run(via.put(key, enc('a2'), ctxA1)));
  for (const r of readers) t.same(okGet(t, await run(r.get(key, { r: 3 }))), ['a2', 'b1', 'c1'], `A's write replaced a1 only (read via ${r.id})`);
  okPut(t, await run(via.put(key, enc('a3'), ctxA2)));
  for (const r of readers) t.same(okGet(t, await run(r.get(key, { r: 3 }))), ['a3', 'b1', 'c1'], `and its next write a2 only (read via ${r.id})`);
}

t.test('sim: a blind write\'s context covers its own new version and nothing concurrent', async (t) => {
  const c = await testCluster(t, 3, { n: 3, r: 2, w: 2 });
  const nodes = c.ids.map((id) => c.node(id));
  await scenario(t, nodes[0]!, nodes, (p) => c.run(p), 'k');
});

t.test('sim: the same through a node that is not a home (the put is forwarded with its exact dots)', async (t) => {
  const c = await testCluster(t, 5, { n: 3, r: 2, w: 2 });
  const key = 'fwd';
  const homes = c.node('n1').preflist(key);
  const outsider = c.ids.find((id) => !homes.includes(id))!;
  t.ok(outsider !== undefined, `a non-home among ${c.ids.join(',')} for homes ${homes.join(',')}`);
  await scenario(t, c.node(outsider), homes.map((h) => c.node(h)), (p) => c.run(p), key);
});

interface Reply { status: number; context: string | null; body: Buffer }

async function call(node: LocalNode, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(node.url + path, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, context: res.headers.get('x-context'), body: Buffer.from(await res.arrayBuffer()) };
}
const siblings = (r: Reply): string[] => ((JSON.parse(r.body.toString()) as { siblings: string[] }).siblings).map((s) => Buffer.from(s, 'base64').toString()).sort();

t.test('HTTP: PUT returns X-Context of the new version even when its dot is not contiguous', async (t) => {
  const cluster = await LocalCluster.start({ size: 3, firstOctet: 171, env: { QL_N: '3', QL_R: '2', QL_W: '2', QL_SLOPPY: '0', QL_SECRET: 'ctx-secret' } });
  t.teardown(() => cluster.close());
  const [a, b, c] = cluster.nodes as [LocalNode, LocalNode, LocalNode];
  const put = (value: string, context?: string): Promise<Reply> => call(a, 'PUT', '/kv/dvv', value, context === undefined ? {} : { 'X-Context': context });
  t.equal((await put('b1')).status, 204);
  const a1 = await put('a1');
  t.equal(a1.status, 204);
  t.ok(a1.context);
  t.equal((await put('c1')).status, 204);
  const a2 = await put('a2', a1.context!);
  t.equal(a2.status, 204);
  for (const n of [a, b, c]) {
    const got = await call(n, 'GET', '/kv/dvv?r=3');
    t.equal(got.status, 300, `siblings via ${n.id}`);
    t.same(siblings(got), ['a2', 'b1', 'c1'], `a1 replaced, the concurrent b1 and c1 kept (via ${n.id})`);
  }
  t.equal((await put('a3', a2.context!)).status, 204);
  t.same(siblings(await call(b, 'GET', '/kv/dvv?r=3')), ['a3', 'b1', 'c1']);
  const altered = a2.context!.replace(/^./, (ch) => (ch === 'e' ? 'f' : 'e'));
  t.equal((await put('x', altered)).status, 400, 'an altered dotted context is refused');
});
