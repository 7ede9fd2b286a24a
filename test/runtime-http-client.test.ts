// The HTTP NodeClient against a tiny in-test server that answers whatever each case scripts: every status
// and transport error class must map to the outcome documented in workloads/client.ts.
import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHttpClient } from '../workloads/http-client.js';

type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;

async function startServer(): Promise<{ url: string; setHandler: (h: Handler) => void; seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[]; close: () => Promise<void> }> {
  let handler: Handler = (_req, _b, res) => res.end();
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    setHandler: (h) => {
      handler = h;
    },
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

t.test('status and error mapping', async (t) => {
  const srv = await startServer();
  const client = createHttpClient('n1', srv.url, { timeoutMs: 300 });
  t.teardown(async () => {
    client.close();
    await srv.close();
  });

  t.test('get 200 JSON: values decoded from base64, context kept, Accept sent', async (t) => {
    srv.setHandler((_req, _b, res) => json(res, 200, { siblings: [Buffer.from([0, 255, 7]).toString('base64')], context: 'ctx-1' }, { 'X-Context': 'ctx-1' }));
    const o = await client.get('a key/ü', { r: 2 });
    t.equal(o.type, 'ok');
    if (o.type === 'ok') {
      t.same(Array.from(o.value.values[0] ?? []), [0, 255, 7]);
      t.equal(o.value.context, 'ctx-1');
    }
    const last = srv.seen.at(-1)!;
    t.equal(last.headers.accept, 'application/json');
    t.equal(last.url, `/kv/${encodeURIComponent('a key/ü')}?r=2`);
  });

  t.test('get 300 siblings, 404 empty with context', async (t) => {
    srv.setHandler((_req, _b, res) => json(res, 300, { siblings: ['YQ==', 'Yg=='], context: 'c2' }));
    const o = await client.get('k');
    t.equal(o.type, 'ok');
    if (o.type === 'ok') t.same(o.value.values.map((v) => Buffer.from(v).toString()), ['a', 'b']);
    srv.setHandler((_req, _b, res) => json(res, 404, { siblings: [], context: 'tomb' }, { 'X-Context': 'tomb' }));
    const n = await client.get('k');
    t.same(n, { type: 'ok', value: { values: [], context: 'tomb' } });
    srv.setHandler((_req, _b, res) => json(res, 404, { siblings: [] }));
    const m = await client.get('k');
    t.same(m, { type: 'ok', value: { values: [] } });
  });

  t.test('read 503 is fail, write 503 is info "quorum"', async (t) => {
    srv.setHandler((_req, _b, res) => json(res, 503, { error: 'quorum', needed: 2, replied: 1 }));
    const r = await client.get('k');
    t.equal(r.type, 'fail');
    if (r.type === 'fail') t.match(r.error, /^quorum/);
    const c = await client.cartRead('k');
    t.equal(c.type, 'fail');
    for (const w of [client.put('k', new Uint8Array([1]), 'ctx'), client.delete('k', 'ctx'), client.cartAdd('c', 'i', 1), client.cartRemove('c', 'i', 'ctx')]) {
      const o = await w;
      t.equal(o.type, 'info');
      if (o.type === 'info') t.match(o.error, /^quorum/);
    }
  });

  t.test('4xx on reads and writes is fail with the code', async (t) => {
    for (const status of [400, 404, 409, 413]) {
      srv.setHandler((_req, _b, res) => json(res, status, { error: 'bad', message: 'no' }));
      const o = await client.put('k', new Uint8Array([1]), undefined);
      t.equal(o.type, 'fail', `put ${status}`);
      if (o.type === 'fail') t.match(o.error, String(status));
    }
    srv.setHandler((_req, _b, res) => json(res, 400, { error: 'context', message: 'forged' }));
    t.equal((await client.get('k')).type, 'fail');
    t.equal((await client.cartRemove('k', 'i', 'x')).type, 'fail');
  });

  t.test('other 5xx: write info, read fail', async (t) => {
    srv.setHandler((_req, _b, res) => json(res, 500, { error: 'internal' }));
    t.equal((await client.put('k', new Uint8Array([1]), undefined)).type, 'info');
    t.equal((await client.get('k')).type, 'fail');
  });

  t.test('put: body bytes, X-Context both ways, w and timeout in the query', async (t) => {
    srv.setHandler((_req, _b, res) => {
      res.writeHead(204, { 'X-Context': 'new-ctx' });
      res.end();
    });
    const o = await client.put('k', new Uint8Array([9, 0, 9]), 'old-ctx', { w: 3, timeoutMs: 100 });
    t.same(o, { type: 'ok', value: { context: 'new-ctx' } });
    const last = srv.seen.at(-1)!;
    t.equal(last.method, 'PUT');
    t.equal(last.headers['x-context'], 'old-ctx');
    t.same(Array.from(last.body), [9, 0, 9]);
    t.equal(last.url, '/kv/k?w=3&timeout=100');
    await client.put('k', new Uint8Array([1]), undefined);
    t.equal(srv.seen.at(-1)!.headers['x-context'], undefined, 'blind write sends no context');
  });

  t.test('cart: add/remove bodies, read decoded', async (t) => {
    srv.setHandler((_req, _b, res) => {
      res.writeHead(204);
      res.end();
    });
    t.same(await client.cartAdd('c', 'sku', 2), { type: 'ok', value: undefined });
    t.same(JSON.parse(srv.seen.at(-1)!.body.toString()), { op: 'add', item: 'sku', qty: 2 });
    t.same(await client.cartRemove('c', 'sku', 'cc'), { type: 'ok', value: undefined });
    t.same(JSON.parse(srv.seen.at(-1)!.body.toString()), { op: 'remove', item: 'sku', context: 'cc' });
    srv.setHandler((_req, _b, res) => json(res, 200, { items: { sku: 2 }, context: 'cc2' }));
    t.same(await client.cartRead('c'), { type: 'ok', value: { items: { sku: 2 }, context: 'cc2' } });
  });

  t.test('admin endpoints', async (t) => {
    srv.setHandler((req, _b, res) => {
      if (req.url === '/admin/status') return json(res, 200, { id: 'n1', members: [] });
      if (req.url === '/admin/local/k') return json(res, 200, { versions: [{ value: 'eA==', clock: { n1: 2 }, tombstone: false }] });
      if (req.url === '/admin/local/cart') return json(res, 200, { items: { a: 1 }, state: {} });
      if (req.url === '/admin/preflist/k') return json(res, 200, { nodes: ['n1', 'n2', 'n3'] });
      if (req.url === '/admin/leave' && req.method === 'POST') return json(res, 202, { leaving: true });
      return json(res, 404, { error: 'not-found' });
    });
    t.same(await client.adminStatus(), { type: 'ok', value: { id: 'n1', members: [] } });
    const local = await client.adminLocal('k');
    t.equal(local.type, 'ok');
    if (local.type === 'ok' && local.value.kind === 'kv') {
      t.same(Buffer.from(local.value.versions[0]!.value).toString(), 'x');
      t.same(local.value.versions[0]!.clock, { n1: 2 });
    } else t.fail('expected kv versions');
    t.same(await client.adminLocal('cart'), { type: 'ok', value: { kind: 'cart', items: { a: 1 } } });
    t.same(await client.adminLocal('nothing'), { type: 'ok', value: { kind: 'none' } });
    t.same(await client.adminPreflist('k'), { type: 'ok', value: ['n1', 'n2', 'n3'] });
    t.same(await client.adminLeave(), { type: 'ok', value: undefined });
  });

  t.test('client-side timeout is info for writes and reads', async (t) => {
    // The server answers only after 5 s, far past the client's 300 ms deadline: a client bounded by its
    // deadline gives up first (whatever the machine's load), one that waited would see the answer.
    let answered = 0;
    srv.setHandler((_req, _b, res) => {
      const timer = setTimeout(() => {
        answered++;
        res.writeHead(204).end();
      }, 5000);
      res.on('close', () => clearTimeout(timer));
    });
    const w = await client.put('k', new Uint8Array([1]), undefined);
    t.equal(w.type, 'info');
    if (w.type === 'info') t.match(w.error, /^timeout after 300 ms/, 'ended by the client deadline');
    const r = await client.get('k');
    t.equal(r.type, 'info');
    if (r.type === 'info') t.match(r.error, /^timeout after 300 ms/, 'ended by the client deadline');
    t.equal(answered, 0, 'both gave up before the server answered');
  });

  t.test('connection reset mid-request is info', async (t) => {
    srv.setHandler((req) => req.socket.destroy());
    const o = await client.put('k', new Uint8Array([1]), undefined);
    t.equal(o.type, 'info');
    const r = await client.get('k');
    t.equal(r.type, 'info');
  });
});

t.test('connection refused is fail: nothing was sent', async (t) => {
  // Find a port nobody listens on by binding and releasing it.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const client = createHttpClient('n9', `http://127.0.0.1:${port}`, { timeoutMs: 500 });
  t.teardown(() => client.close());
  const w = await client.put('k', new Uint8Array([1]), undefined);
  t.equal(w.type, 'fail');
  if (w.type === 'fail') t.match(w.error, /ECONNREFUSED/);
  t.equal((await client.get('k')).type, 'fail');
  t.equal((await client.adminStatus()).type, 'fail');
});
