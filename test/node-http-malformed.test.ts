// Every malformed request gets a status and a JSON error body, including what Node's own HTTP machinery
// rejects before our handler runs (no Host, an odd Expect, CONNECT, a bad chunk size, an unsupported
// transfer coding), and none is left waiting for a body that will never come.
import t from 'tap';
import net from 'node:net';
import type { CoreNode } from '../node/core/api.js';
import { startHttpApi } from '../node/http-api.js';

const core = {
  status: () => ({ config: { n: 3 } }),
  get: async () => ({ ok: true, values: [] }),
  put: async () => ({ ok: true, context: 'c' }),
  delete: async () => ({ ok: true, context: 'c' }),
} as unknown as CoreNode;

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes and reads one answer: headers, then Content-Length bytes of body (or until close). */
function raw(port: number, bytes: string): Promise<RawAnswer | 'closed without a status' | 'no answer'> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (v: RawAnswer | 'closed without a status' | 'no answer'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const parse = (): RawAnswer | undefined => {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? NaN);
      const body = buf.subarray(end + 4);
      if (!Number.isNaN(length) && body.length < length) return undefined;
      return { status, headers, body: body.toString('utf8') };
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const a = parse();
      if (a !== undefined) done(a);
    });
    socket.on('close', () => done(parse() ?? 'closed without a status'));
    socket.on('error', () => {});
    // A hang detector, not a speed figure: the broken behaviour waited 5 s and then closed with no status.
    const timer = setTimeout(() => done('no answer'), 4000);
  });
}

t.test('malformed requests: a status and a JSON error body each', async (t) => {
  const api = await startHttpApi('127.0.0.1:0', { core, logger: { log: () => {} }, incompleteRequestMs: 1500 });
  t.teardown(() => api.close());
  const cases: [string, string, number, string][] = [
    ['no Host header', 'GET /kv/a HTTP/1.1\r\n\r\n', 400, 'bad-http'],
    ['an Expect other than 100-continue', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nExpect: banana\r\nContent-Length: 1\r\n\r\nx', 417, 'expectation-failed'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n', 405, 'method-not-allowed'],
    ['an invalid chunk size', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n', 400, 'bad-http'],
    ['an unsupported transfer coding', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc', 400, 'unsupported-transfer-encoding'],
    ['a coding chained before chunked', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 400, 'unsupported-transfer-encoding'],
    ['Content-Length and Transfer-Encoding both', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 400, 'bad-http'],
    ['two Content-Lengths', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, 'bad-http'],
    ['a non-numeric Content-Length', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'bad-http'],
    ['not HTTP at all', 'HELLO\r\n\r\n', 400, 'bad-http'],
    ['an unknown HTTP version', 'GET /kv/a HTTP/3.7\r\nHost: x\r\n\r\n', 400, 'bad-http'],
    ['a body shorter than its Content-Length', 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab', 408, 'timeout'],
  ];
  for (const [name, bytes, status, code] of cases) {
    const a = await raw(api.port, bytes);
    if (typeof a === 'string') {
      t.fail(`${name}: ${a}`);
      continue;
    }
    t.equal(a.status, status, `${name}: ${status}`);
    t.match(a.headers['content-type'] ?? '', /application\/json/, `${name}: JSON`);
    let body: { error?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(a.body) as typeof body;
    } catch {
      t.fail(`${name}: body is not JSON: ${a.body.slice(0, 80)}`);
    }
    t.equal(body.error, code, `${name}: error code ${code}`);
    t.type(body.message, 'string', `${name}: a message`);
  }
  // A well-formed request still works on a fresh connection after all that.
  const ok = await raw(api.port, 'GET /kv/a HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(typeof ok === 'string' ? ok : ok.status, 404);
  // HTTP/1.0 needs no Host.
  const old = await raw(api.port, 'GET /kv/a HTTP/1.0\r\n\r\n');
  t.equal(typeof old === 'string' ? old : old.status, 404, 'HTTP/1.0 without Host is served');
});
