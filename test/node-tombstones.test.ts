// Issue 16's metadata targets on three real node processes (127.0.0.130-132): deleted keys that nobody
// reads are reaped by anti-entropy (QL_AE_MS=500, QL_TOMBSTONE_GRACE_MS=2000) and hold nothing on any
// replica within 20 s of their deletes, and a cart after 400 add+read+remove cycles stays small on every
// replica, across restarts. The figures go to the README (security and metadata).
import t from 'tap';
import { LocalCluster, sleep, type LocalNode } from './helpers/local-cluster.js';

interface Reply {
  status: number;
  context: string | null;
  body: string;
}

async function call(node: LocalNode, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(node.url + path, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, context: res.headers.get('x-context'), body: await res.text() };
}

/** The size of a node's own stored state of a cart (the JSON of its CRDT state), or undefined if none. */
async function cartBytes(node: LocalNode, key: string): Promise<number | undefined> {
  const r = await call(node, 'GET', `/admin/local/${key}`);
  if (r.status === 404) return undefined;
  const j = JSON.parse(r.body) as { state: unknown };
  return Buffer.byteLength(JSON.stringify(j.state));
}

t.test('tombstones and cart metadata on local processes', async (t) => {
  const cluster = await LocalCluster.start({
    size: 3,
    firstOctet: 130,
    // A long request timeout so a loaded machine does not turn the cycles into 503s; peer frames are still
    // dropped after 2 s, which the 2 s grace period must cover.
    env: { QL_N: '3', QL_R: '2', QL_W: '2', QL_AE_MS: '500', QL_TOMBSTONE_GRACE_MS: '2000', QL_REQUEST_TIMEOUT_MS: '5000', QL_PEER_MAX_DELAY_MS: '2000' },
  });
  t.teardown(() => cluster.close());
  const nodes = cluster.nodes;
  const at = (i: number): LocalNode => nodes[i % nodes.length] as LocalNode;

  t.test('60 deleted keys nobody reads hold nothing on any replica within 20 s of their deletes', async (t) => {
    const keys = Array.from({ length: 60 }, (_, i) => `deleted-${i}`);
    // Six at a time, each key put through one node and deleted through the next with the put's context.
    for (let from = 0; from < keys.length; from += 6) {
      await Promise.all(keys.slice(from, from + 6).map(async (k, j) => {
        const i = from + j;
        const put = await call(at(i), 'PUT', `/kv/${k}`, `value-${i}`);
        if (put.status !== 204) return void t.fail(`put ${k}: ${put.status} ${put.body}`);
        const del = await call(at(i + 1), 'DELETE', `/kv/${k}`, undefined, { 'X-Context': put.context ?? '' });
        if (del.status !== 204) t.fail(`delete ${k}: ${del.status} ${del.body}`);
      }));
    }
    const deletedAt = Date.now();
    // Right after the deletes the tombstones are there (nothing is reaped before the grace period).
    const early = await call(at(0), 'GET', `/admin/local/${keys[59]}`);
    t.equal(early.status, 200, 'a fresh tombstone is still held');
    // Polled through /admin/status (three requests a round); every copy is checked one by one after.
    let held = Infinity;
    while (held > 0 && Date.now() - deletedAt < 20_000) {
      await sleep(100);
      held = 0;
      for (const n of nodes) held += ((await cluster.status(n)) as { tombstones?: { held: number } } | undefined)?.tombstones?.held ?? 1;
    }
    const tookMs = Date.now() - deletedAt;
    t.equal(held, 0, `no replica holds a tombstone ${tookMs} ms after the last delete`);
    t.comment(`60 deleted keys: tombstones gone from all 3 replicas ${tookMs} ms after the last delete`);
    let copies = 0;
    for (const n of nodes) for (const k of keys) if ((await call(n, 'GET', `/admin/local/${k}`)).status !== 404) copies += 1;
    t.equal(copies, 0, 'no replica holds anything of the 60 keys');
    let reaped = 0;
    for (const n of nodes) {
      const s = (await cluster.status(n)) as { reaped: number; tombstones: { held: number } };
      reaped += s.reaped;
      t.equal(s.tombstones.held, 0, `${n.id} holds no tombstone`);
    }
    t.ok(reaped >= 180, `${reaped} reaps counted`);
    for (const [i, k] of keys.entries()) {
      const r = await call(at(i), 'GET', `/kv/${k}?r=3`);
      if (r.status !== 404 || r.context !== null) t.fail(`${k} reads ${r.status} with${r.context === null ? 'out' : ''} a context`);
    }
  });

  t.test('a cart after 400 add+read+remove cycles is small on every replica, across restarts', async (t) => {
    const key = 'busy-cart';
    let cycle = 0;
    /** One worker's add+read+remove cycles on its own item of the cart, through rotating nodes. */
    const worker = async (item: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const c = cycle++;
        const add = await call(at(c), 'POST', `/cart/${key}`, JSON.stringify({ op: 'add', item, qty: 1 }), { 'content-type': 'application/json' });
        if (add.status !== 204) return void t.fail(`add ${c}: ${add.status} ${add.body}`);
        const read = await call(at(c + 1), 'GET', `/cart/${key}`);
        if (read.status !== 200) return void t.fail(`read ${c}: ${read.status}`);
        const { context } = JSON.parse(read.body) as { context: string };
        const remove = await call(at(c + 2), 'POST', `/cart/${key}`, JSON.stringify({ op: 'remove', item, context }), { 'content-type': 'application/json' });
        if (remove.status !== 204) return void t.fail(`remove ${c}: ${remove.status} ${remove.body}`);
      }
    };
    const items = ['apple', 'pear', 'plum', 'fig', 'kiwi', 'lime', 'date', 'yuzu'];
    // Two halves of 200 cycles (eight items, one worker each) with a node restarted between them: a restart
    // mints dots under a new boot nonce, the case in which removed-dot metadata could pile up.
    await Promise.all(items.map((item) => worker(item, 25)));
    await cluster.stop(at(0));
    cluster.spawn(at(0));
    await cluster.waitAllUp();
    await Promise.all(items.map((item) => worker(item, 25)));
    t.equal(cycle, 400);
    await sleep(1500); // anti-entropy rounds, so every replica holds the final state
    const sizes: Record<string, number | undefined> = {};
    for (const n of nodes) sizes[n.id] = await cartBytes(n, key);
    t.comment(`stored cart state after 400 cycles: ${JSON.stringify(sizes)} bytes`);
    for (const n of nodes) t.ok((sizes[n.id] ?? Infinity) <= 4096, `${n.id}: ${sizes[n.id]} bytes ≤ 4 KiB`);
    const read = await call(at(0), 'GET', `/cart/${key}?r=3`);
    t.same((JSON.parse(read.body) as { items: unknown }).items, {}, 'every add was removed');
    // A restart of every node reads the same state back: nothing is rebuilt larger from disk.
    await Promise.all(nodes.map((n) => cluster.stop(n)));
    for (const n of nodes) cluster.spawn(n);
    await cluster.waitAllUp();
    for (const n of nodes) t.equal(await cartBytes(n, key), sizes[n.id], `${n.id}: the same size after a restart`);
  });
});
