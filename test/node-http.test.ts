// The HTTP mapping of NODE-API.md, tested against a small in-memory CoreNode so that every status the
// core can produce (siblings, tombstones, quorum failures, refusals, bugs, hangs) is reachable on demand.
import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { CoreNode, GetResult, LocalState, NodeStatus, PutResult, RequestOptions } from '../node/core/api.js';
import { startHttpApi, type HttpApi } from '../node/http-api.js';

class FakeCore implements CoreNode {
  readonly id = 'n1';
  readonly store = new Map<string, Uint8Array[]>();
  readonly carts = new Map<string, Record<string, number>>();
  lastOptions: RequestOptions | undefined;
  lastContext: string | undefined;
  mode: 'normal' | 'quorum' | 'throw' | 'hang' = 'normal';
  left = false;
  async start(): Promise<void> {}
  stop(): void {}
  receive(): void {}
  private gate<T>(ok: () => T, needed = 2): Promise<T | { ok: false; error: 'quorum'; needed: number; replied: number }> {
    if (this.mode === 'quorum') return Promise.resolve({ ok: false, error: 'quorum', needed, replied: 1 });
    if (this.mode === 'throw') return Promise.reject(new Error('core bug'));
    if (this.mode === 'hang') return new Promise(() => {});
    return Promise.resolve(ok());
  }
  get(key: string, options?: RequestOptions): Promise<GetResult> {
    this.lastOptions = options;
    return this.gate(() => {
      if (key === 'tomb') return { ok: true as const, values: [], context: 'ctx-tomb' };
      const values = this.store.get(key);
      return values === undefined ? { ok: true as const, values: [] } : { ok: true as const, values, context: `ctx-${key}` };
    }, options?.r ?? 2);
  }
  put(key: string, value: Uint8Array, context: string | undefined, options?: RequestOptions): Promise<PutResult> {
    this.lastOptions = options;
    this.lastContext = context;
    if (context === 'forged') return Promise.resolve({ ok: false, error: 'bad-context', message: 'The context signature does not verify' });
    return this.gate(() => {
      const prev = this.store.get(key) ?? [];
      // Blind writes add a sibling; contextual ones replace.
      this.store.set(key, context === undefined ? [...prev, value] : [value]);
      return { ok: true as const, context: `ctx-${key}` };
    }, options?.w ?? 2);
  }
  delete(key: string, context: string | undefined, options?: RequestOptions): Promise<PutResult> {
    this.lastContext = context;
    return this.gate(() => {
      this.store.delete(key);
      return { ok: true as const, context: 'ctx-deleted' };
    }, options?.w ?? 2);
  }
  cartRead(key: string) {
    return this.gate(() => ({ ok: true as const, items: this.carts.get(key) ?? {}, context: 'cart-ctx' }));
  }
  cartAdd(key: string, item: string, qty: number) {
    return this.gate(() => {
      const c = this.carts.get(key) ?? {};
      c[item] = (c[item] ?? 0) + qty;
      this.carts.set(key, c);
      return { ok: true as const };
    });
  }
  cartRemove(key: string, item: string, context: string) {
    this.lastContext = context;
    return this.gate(() => {
      delete this.carts.get(key)?.[item];
      return { ok: true as const };
    });
  }
  status(): NodeStatus {
    return {
      id: this.id,
      members: [
        { id: 'n1', addr: '127.0.0.1:1', status: 'up' },
        { id: 'n2', addr: '127.0.0.1:2', status: 'down' },
      ],
      ring: { vnodes: 77, partitions: 256, owned: 77, version: 1 },
      hints: { pending: 0, delivered: 0 },
      antiEntropy: { rounds: 0, keysRepaired: 0 },
      readRepair: { repairs: 0 },
      config: { n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock' },
    };
  }
  async local(key: string): Promise<LocalState | undefined> {
    if (key.startsWith('cart')) return { kind: 'cart', items: this.carts.get(key) ?? {}, state: { dots: [] } };
    const values = this.store.get(key);
    return values === undefined ? undefined : { kind: 'kv', versions: values.map((value, i) => ({ value, clock: { n1: i + 1 }, tombstone: false })) };
  }
  preflist(): string[] {
    return ['n1', 'n2', 'n3'];
  }
  async *keys(): AsyncIterable<string> {
    for (let i = 0; i < 5000; i++) yield `key-${i}`;
  }
  async digest(): Promise<Record<string, string>> {
    return { '7': 'ab'.repeat(16) };
  }
  async leave(): Promise<void> {
    this.left = true;
  }
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(port: number, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.31', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (r: Reply): Record<string, unknown> => JSON.parse(r.body.toString()) as Record<string, unknown>;

async function setup(t: Test): Promise<{ core: FakeCore; api: HttpApi; port: number }> {
  const core = new FakeCore();
  const api = await startHttpApi('127.0.0.31:0', { core, logger: { log: () => {} }, requestTimeoutMs: 50, stuckSlackMs: 200 });
  t.teardown(() => api.close());
  return { core, api, port: api.port };
}

t.test('kv: 404, 200 raw bytes, 300 siblings, contexts and JSON variant', async (t) => {
  const { core, port } = await setup(t);
  let r = await request(port, 'GET', '/kv/a');
  t.equal(r.status, 404);
  t.equal(json(r)['error'], 'not-found');
  t.equal(r.headers['x-context'], undefined, 'no context when the key never existed');
  r = await request(port, 'GET', '/kv/tomb');
  t.equal(r.status, 404);
  t.equal(r.headers['x-context'], 'ctx-tomb', 'tombstones still give a context');

  const bytes = Buffer.from([0, 255, 1, 128, 10, 13]);
  r = await request(port, 'PUT', '/kv/a%2Fb%20c', bytes);
  t.equal(r.status, 204);
  t.equal(r.headers['x-context'], 'ctx-a/b c', 'the key is percent-decoded');
  t.equal(core.lastContext, undefined, 'no header is a blind write');
  r = await request(port, 'GET', '/kv/a%2Fb%20c');
  t.equal(r.status, 200);
  t.same(r.body, bytes, 'values are byte-safe');
  t.equal(r.headers['x-context'], 'ctx-a/b c');

  await request(port, 'PUT', '/kv/a%2Fb%20c', Buffer.from('second'));
  r = await request(port, 'GET', '/kv/a%2Fb%20c');
  t.equal(r.status, 300);
  t.same((json(r)['siblings'] as string[]).map((s) => Buffer.from(s, 'base64')), [bytes, Buffer.from('second')]);
  r = await request(port, 'GET', '/kv/a%2Fb%20c', undefined, { Accept: 'application/json' });
  t.equal(r.status, 300);
  t.equal(json(r)['context'], 'ctx-a/b c');
  r = await request(port, 'GET', '/kv/none', undefined, { Accept: 'application/json' });
  t.equal(r.status, 404);
  t.same(json(r)['siblings'], []);
  t.equal(json(r)['error'], 'not-found', 'a JSON 404 still has the error fields');

  r = await request(port, 'PUT', '/kv/a%2Fb%20c', Buffer.from('merged'), { 'X-Context': 'ctx-a/b c' });
  t.equal(r.status, 204);
  t.equal(core.lastContext, 'ctx-a/b c', 'the context is passed through unchanged');
  r = await request(port, 'DELETE', '/kv/a%2Fb%20c', undefined, { 'X-Context': 'ctx-a/b c' });
  t.equal(r.status, 204);
  t.equal(r.headers['x-context'], 'ctx-deleted');
});

t.test('kv: parameters, keys, contexts and sizes are validated', async (t) => {
  const { core, port } = await setup(t);
  let r = await request(port, 'GET', '/kv/a?r=3&timeout=20');
  t.equal(r.status, 404);
  t.same(core.lastOptions, { r: 3, timeoutMs: 20 });
  for (const q of ['r=0', 'r=4', 'r=x', 'r=1.5', 'r=-1', 'w=', 'timeout=abc', 'r=1&r=2', 'timeout=99999999']) {
    r = await request(port, 'GET', `/kv/a?${q}`);
    t.equal(r.status, 400, `?${q} is refused`);
    t.equal(json(r)['error'], 'bad-parameter');
    t.type(json(r)['message'], 'string');
  }
  for (const path of ['/kv/', '/kv/%E0%A4%A', '/kv/a/b', `/kv/${'x'.repeat(1025)}`]) {
    r = await request(port, 'GET', path);
    t.equal(r.status, 400, `${path.slice(0, 20)} is a bad key`);
    t.equal(json(r)['error'], 'bad-key');
  }
  r = await request(port, 'GET', `/kv/${'x'.repeat(1024)}`);
  t.equal(r.status, 404, 'a 1024-byte key is fine');
  r = await request(port, 'PUT', '/kv/a', 'v', { 'X-Context': 'forged' });
  t.equal(r.status, 400);
  t.equal(json(r)['error'], 'bad-context');
  t.match(String(json(r)['message']), /\.$/, 'messages are sentences');

  r = await request(port, 'PUT', '/kv/big', Buffer.alloc(1024 * 1024 + 1));
  t.equal(r.status, 413, 'over 1 MiB is 413');
  t.equal(json(r)['error'], 'too-large');
  r = await request(port, 'PUT', '/kv/big', Buffer.alloc(1024 * 1024));
  t.equal(r.status, 204, 'exactly 1 MiB is accepted');
});

t.test('413 is answered before a huge chunked body is read', async (t) => {
  const { port } = await setup(t);
  const r = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.31', port, method: 'PUT', path: '/kv/huge', agent: false, headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', () => {});
    const chunk = Buffer.alloc(256 * 1024);
    // Up to 64 MiB would be offered; the answer must come long before that.
    let sent = 0;
    const pump = (): void => {
      while (sent < 256 && req.write(chunk)) sent++;
      if (sent < 256) req.once('drain', pump);
    };
    pump();
    setTimeout(() => reject(new Error('no answer')), 10_000).unref();
  });
  t.equal(r, 413);
});

t.test('quorum failures, core bugs and hangs become JSON 5xx', async (t) => {
  const { core, port } = await setup(t);
  core.mode = 'quorum';
  let r = await request(port, 'GET', '/kv/a?r=3');
  t.equal(r.status, 503);
  t.match(json(r), { error: 'quorum', needed: 3, replied: 1 });
  r = await request(port, 'PUT', '/kv/a?w=2', 'v');
  t.equal(r.status, 503);
  t.match(json(r), { error: 'quorum', needed: 2, replied: 1 });
  r = await request(port, 'POST', '/cart/c', JSON.stringify({ op: 'add', item: 'x' }));
  t.equal(r.status, 503);
  core.mode = 'throw';
  r = await request(port, 'GET', '/kv/a');
  t.equal(r.status, 500);
  t.equal(json(r)['error'], 'internal');
  core.mode = 'hang';
  r = await request(port, 'GET', '/kv/a?timeout=1');
  t.equal(r.status, 504, 'a core call that never settles is answered, not left hanging');
  t.equal(json(r)['error'], 'timeout');
});

t.test('cart: add, read, remove and refusals', async (t) => {
  const { core, port } = await setup(t);
  let r = await request(port, 'GET', '/cart/c1');
  t.equal(r.status, 200);
  t.same(json(r), { items: {}, context: 'cart-ctx' });
  r = await request(port, 'POST', '/cart/c1?w=1', JSON.stringify({ op: 'add', item: 'sku', qty: 2 }));
  t.equal(r.status, 204);
  r = await request(port, 'POST', '/cart/c1', JSON.stringify({ op: 'add', item: 'other' }));
  t.equal(r.status, 204, 'qty defaults to 1');
  r = await request(port, 'GET', '/cart/c1');
  t.same(json(r)['items'], { sku: 2, other: 1 });
  r = await request(port, 'POST', '/cart/c1', JSON.stringify({ op: 'remove', item: 'sku', context: 'cart-ctx' }));
  t.equal(r.status, 204);
  t.equal(core.lastContext, 'cart-ctx');
  for (const body of ['nope', '[]', '{}', '{"op":"add"}', '{"op":"add","item":"x","qty":0}', '{"op":"add","item":"x","qty":1.5}', '{"op":"remove","item":"x"}', '{"op":"zap","item":"x"}']) {
    r = await request(port, 'POST', '/cart/c1', body);
    t.equal(r.status, 400, `${body} is refused`);
    t.type(json(r)['error'], 'string');
  }
  r = await request(port, 'PUT', '/cart/c1', '{}');
  t.equal(r.status, 405);
  t.equal(r.headers['allow'], 'GET, POST');
});

t.test('admin endpoints', async (t) => {
  const { core, port } = await setup(t);
  let r = await request(port, 'GET', '/admin/status');
  t.equal(r.status, 200);
  const status = json(r);
  t.equal(status['id'], 'n1');
  // The core's ring says this node owns 77 partitions; Q / members (2, one of them down) would say 128.
  t.same(status['ring'], { vnodes: 77, partitions: 256, owned: 77, version: 1 }, 'ring.vnodes is what the core owns, passed through');
  r = await request(port, 'GET', '/admin/local/k');
  t.equal(r.status, 404);
  await request(port, 'PUT', '/kv/k', Buffer.from([1, 2, 3]));
  r = await request(port, 'GET', '/admin/local/k');
  t.same(json(r), { versions: [{ value: 'AQID', clock: { n1: 1 }, tombstone: false }] });
  r = await request(port, 'GET', '/admin/local/cart-1');
  t.same(json(r), { items: {}, state: { dots: [] } });
  r = await request(port, 'GET', '/admin/preflist/k');
  t.same(json(r), { nodes: ['n1', 'n2', 'n3'] });
  r = await request(port, 'GET', '/admin/digest');
  t.same(json(r), { partitions: { '7': 'ab'.repeat(16) } });
  r = await request(port, 'GET', '/admin/keys');
  const lines = r.body.toString().split('\n');
  t.equal(lines.length, 5001, 'every key on its own line, newline-terminated');
  t.equal(lines[4999], 'key-4999');
  r = await request(port, 'POST', '/admin/leave');
  t.equal(r.status, 204);
  t.ok(core.left);
  r = await request(port, 'GET', '/admin/leave');
  t.equal(r.status, 405);
  r = await request(port, 'GET', '/nowhere');
  t.equal(r.status, 404);
  t.equal(json(r)['error'], 'not-found');
  r = await request(port, 'PATCH', '/kv/a');
  t.equal(r.status, 405);
});

t.test('malformed HTTP gets a JSON 400, and the server keeps serving', async (t) => {
  const { port } = await setup(t);
  const raw = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.31', port });
    let out = '';
    s.on('data', (c) => (out += c.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write('THIS IS NOT HTTP\r\n\r\n');
  });
  t.match(raw, /^HTTP\/1\.1 400/);
  t.match(raw, /"error":"bad-http"/);
  const r = await request(port, 'GET', '/admin/status');
  t.equal(r.status, 200);
});
