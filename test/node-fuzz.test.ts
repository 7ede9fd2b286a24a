// HTTP fuzzing of a real single-node cluster (N=1, R=1, W=1): whatever arrives, the node answers with a
// well-formed status, 4xx/5xx answers carry the JSON error shape, and it keeps serving afterwards.
import t from 'tap';
import fc from 'fast-check';
import http from 'node:http';
import net from 'node:net';
import { LocalCluster, sleep, type LocalNode } from './helpers/local-cluster.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function send(node: LocalNode, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: node.host, port: node.httpPort, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(8000, () => req.destroy(new Error(`no answer to ${method} ${path.slice(0, 80)} within 8 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function checkReply(t: Test, method: string, path: string, r: Reply): boolean {
  const label = `${method} ${path.slice(0, 60)} -> ${r.status}`;
  if (r.status < 200 || r.status > 599) return t.fail(`${label}: status out of range`);
  if (r.status >= 400 && method !== 'HEAD') {
    if (!String(r.headers['content-type']).startsWith('application/json')) return t.fail(`${label}: error without JSON content type`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(r.body.toString()) as Record<string, unknown>;
    } catch {
      return t.fail(`${label}: error body is not JSON: ${r.body.toString().slice(0, 80)}`);
    }
    if (typeof body['error'] !== 'string' || typeof body['message'] !== 'string') return t.fail(`${label}: error body lacks error/message`);
    if (r.status === 500) return t.fail(`${label}: an internal error (a bug) surfaced: ${String(body['message'])}`);
  }
  return true;
}
type Test = { fail(msg: string): boolean };

t.test('fuzzed requests against a 1-node cluster', async (t) => {
  const cluster = await LocalCluster.start({ size: 1, firstOctet: 56, env: { QL_N: '1', QL_R: '1', QL_W: '1' } });
  t.teardown(async () => {
    agent.destroy();
    await cluster.close();
  });
  const node = cluster.nodes[0]!;

  // A real context to mix into the fuzz, so valid and tampered contexts both get exercised.
  const seed = await send(node, 'PUT', '/kv/seed', {}, Buffer.from('v'));
  const realContext = String(seed.headers['x-context']);

  const keyChars = fc.constantFrom('a', 'b', 'Z', '0', '%20', '%2F', '%00', '%FF', '%E2%82%AC', '%', '%zz', '/', '..', '~', '%C3%A9', '-');
  const key = fc.oneof(
    fc.array(keyChars, { minLength: 0, maxLength: 12 }).map((a) => a.join('')),
    fc.constant('k'.repeat(1024)),
    fc.constant('k'.repeat(1025)),
    fc.constantFrom('seed', 'cart-1', 'x'),
  );
  const prefix = fc.constantFrom('/kv/', '/cart/', '/admin/local/', '/admin/preflist/', '/admin/status', '/admin/keys', '/admin/digest', '/', '/kv', '/admin/', '/nope/', '//kv/');
  const query = fc.array(
    fc.tuple(fc.constantFrom('r', 'w', 'timeout', 'x', 'R'), fc.constantFrom('1', '0', '2', '-1', '1.5', 'abc', '', '99999999999', '300', '%31')),
    { maxLength: 3 },
  ).map((pairs) => (pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&')));
  const method = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');
  const context = fc.oneof(
    fc.constant(undefined),
    fc.constant(realContext),
    fc.constant(realContext.slice(0, -3) + 'abc'),
    fc.constant(''),
    fc.string({ unit: fc.constantFrom('a', 'Z', '.', '-', '_', '=', '0', '{', '"'), maxLength: 200 }),
  );
  const cartBody = fc.oneof(
    fc.record({ op: fc.constantFrom('add', 'remove', 'zap'), item: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), qty: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double(), fc.constant('1')) }).map((o) => JSON.stringify(o)),
    fc.record({ op: fc.constant('remove'), item: fc.constant('sku'), context: fc.oneof(fc.constant(realContext), fc.string({ maxLength: 20 })) }).map((o) => JSON.stringify(o)),
    fc.string({ maxLength: 40 }),
  );
  const body = fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), cartBody.map((s) => Buffer.from(s)));
  const accept = fc.constantFrom(undefined, 'application/json', '*/*', 'text/plain');
  const contentType = fc.constantFrom(undefined, 'application/json', 'application/octet-stream', 'text/plain; charset=latin1', 'multipart/form-data; boundary=x');
  const headerToken = fc.string({ unit: fc.constantFrom('a', 'x', '-', 'Z', '9'), minLength: 1, maxLength: 12 });
  const extraHeader = fc.option(fc.tuple(headerToken.map((h) => `X-Fuzz-${h}`), fc.string({ unit: fc.constantFrom('a', ' ', ';', '=', ',', '"', '9'), maxLength: 60 })), { nil: undefined });

  let count = 0;
  await fc.assert(
    fc.asyncProperty(method, prefix, key, query, context, body, fc.tuple(accept, contentType, extraHeader), async (m, p, k, q, ctx, b, [acc, ct, extra]) => {
      const path = (p.endsWith('/') && p !== '/' ? p + k : p) + q;
      const headers: Record<string, string> = {};
      if (ctx !== undefined) headers['X-Context'] = ctx;
      if (acc !== undefined) headers['Accept'] = acc;
      if (ct !== undefined) headers['Content-Type'] = ct;
      if (extra !== undefined) headers[extra[0]] = extra[1].trim();
      count++;
      const r = await send(node, m, path, headers, m === 'GET' || m === 'HEAD' ? undefined : b);
      return checkReply(t, m, path, r);
    }),
    { numRuns: 300, seed: 4242, endOnFailure: true },
  );
  t.equal(count, 300, '300 fuzzed requests were answered');

  t.test('a body over 1 MiB is answered 413', async (t) => {
    const r = await send(node, 'PUT', '/kv/huge', {}, Buffer.alloc(1024 * 1024 + 10, 7));
    t.equal(r.status, 413);
    t.ok(checkReply(t, 'PUT', '/kv/huge', r));
  });

  t.test('truncated bodies and raw garbage do not take the node down', async (t) => {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: node.host, port: node.httpPort });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.write(`PUT /kv/trunc${i} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789`);
        setTimeout(() => s.destroy(), 50);
      });
    }
    const garbage = [Buffer.from([0, 1, 2, 255, 13, 10, 13, 10]), Buffer.from('GET /kv/a HTTP/9.9\r\n\r\n'), Buffer.from('GET /kv/a HTTP/1.1\r\nContent-Length: -5\r\n\r\n'), Buffer.from(`GET /${'a'.repeat(100_000)} HTTP/1.1\r\n\r\n`)];
    for (const g of garbage) {
      const answer = await new Promise<string>((resolve) => {
        const s = net.connect({ host: node.host, port: node.httpPort });
        let out = '';
        s.on('data', (c) => (out += c.toString()));
        s.on('error', () => resolve(out));
        s.on('close', () => resolve(out));
        s.write(g);
        setTimeout(() => s.destroy(), 2000);
      });
      t.match(answer, /^HTTP\/1\.1 4\d\d /, `garbage ${JSON.stringify(g.subarray(0, 16).toString())} gets a 4xx status line`);
      const jsonBody = answer.slice(answer.indexOf('\r\n\r\n') + 4);
      t.match(JSON.parse(jsonBody), { error: String, message: String }, 'with a JSON error body');
    }
    await sleep(50);
    const r = await send(node, 'GET', '/admin/status', {}, undefined);
    t.equal(r.status, 200, 'the node still serves');
    t.equal(node.proc?.exitCode, null, 'the process is alive');
    const put = await send(node, 'PUT', '/kv/after', {}, Buffer.from('ok'));
    t.equal(put.status, 204);
  });
});
