// The client and introspection API of NODE-API.md over node:http. This layer only translates: it parses
// and validates the request, calls the core, and maps the core's result data onto statuses. It never lets
// an exception escape: a bad request gets a JSON 4xx, a bug gets a JSON 500, and a request whose core
// call does not settle gets a 504 rather than a hanging connection.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './core/env.js';
import type { CoreNode, RequestOptions } from './core/api.js';
import { parseHostPort } from './peer-transport.js';

export const maxValueBytes = 1024 * 1024;
const maxKeyBytes = 1024;
/** Cart commands are small JSON objects; anything bigger is refused before parsing. */
const maxCartBodyBytes = 64 * 1024;
/** After a 413 we keep discarding the rest of the body for a while so the client reads our answer. */
const drainAfterRejectBytes = 16 * 1024 * 1024;
const drainAfterRejectMs = 2000;

export interface HttpApiOptions {
  readonly core: CoreNode;
  readonly logger: Logger;
  /** Extra fields merged into /admin/status (transport counters, configured vnodes). */
  readonly extraStatus?: () => Record<string, unknown>;
  /** Default timeout the core applies; used to bound how long a request may stay unanswered. */
  readonly requestTimeoutMs?: number;
  /** The node's N, the upper bound for ?r= and ?w= (default: read once from the core's status). */
  readonly replicationFactor?: number;
  /** Slack beyond twice the request timeout before an unsettled core call is answered 504 (default 5000). */
  readonly stuckSlackMs?: number;
}

/** A refusal with a status and an error code; thrown inside handlers and turned into a JSON answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: http.ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.code, message: error.message, ...error.extra }, error.headers);
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes a percent-encoded key segment and checks its size; 400 otherwise. */
export function decodeKey(raw: string): string {
  if (raw.includes('/')) throw new HttpError(400, 'bad-key', 'A key is a single path segment; percent-encode "/" as %2F.');
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'bad-key', 'The key is not valid percent-encoded UTF-8.');
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < 1 || bytes > maxKeyBytes) throw new HttpError(400, 'bad-key', `A key must be 1 to ${maxKeyBytes} bytes; this one is ${bytes}.`);
  return key;
}

/** Parses ?r=, ?w= and ?timeout=: positive decimal integers within bounds, each at most once. */
export function parseRequestOptions(query: URLSearchParams, n: number): RequestOptions {
  const out: { r?: number; w?: number; timeoutMs?: number } = {};
  // Most requests carry no query at all.
  if (query.size === 0) return out;
  const bounds: Record<string, [number, number]> = { r: [1, n], w: [1, n], timeout: [1, 600_000] };
  for (const [name, [min, max]] of Object.entries(bounds)) {
    const all = query.getAll(name);
    if (all.length === 0) continue;
    if (all.length > 1) throw new HttpError(400, 'bad-parameter', `The parameter ${name} is given more than once.`);
    const raw = all[0]!;
    if (!/^\d{1,7}$/.test(raw)) throw new HttpError(400, 'bad-parameter', `The parameter ${name} must be a positive integer, got "${raw.slice(0, 40)}".`);
    const v = Number(raw);
    if (v < min || v > max) throw new HttpError(400, 'bad-parameter', `The parameter ${name} must be between ${min} and ${max}, got ${v}.`);
    if (name === 'timeout') out.timeoutMs = v;
    else out[name as 'r' | 'w'] = v;
  }
  return out;
}

/**
 * Reads a request body up to `limit` bytes. Over the limit it answers 413 at once (from the declared
 * Content-Length when there is one, without reading) and keeps discarding input for a bounded while so
 * the client sees the answer instead of a reset. Resolves undefined when the client went away.
 */
function readBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const tooLarge = (): void => {
      res.setHeader('Connection', 'close');
      sendError(res, new HttpError(413, 'too-large', `The body exceeds the ${limit}-byte limit.`));
      let drained = 0;
      req.removeAllListeners('data');
      req.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > drainAfterRejectBytes) req.socket.destroy();
      });
      const timer = setTimeout(() => req.socket.destroy(), drainAfterRejectMs);
      timer.unref();
      req.socket.once('close', () => clearTimeout(timer));
      req.resume();
      resolve(undefined);
    };
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      // Small bodies arrive in one chunk; copying them into a new buffer would be wasted work.
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    // A client that disconnects mid-body has nobody left to answer; nothing was handed to the core.
    req.on('aborted', () => {
      if (!done) {
        done = true;
        resolve(undefined);
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        resolve(undefined);
      }
    });
  });
}

function contextHeader(req: http.IncomingMessage): string | undefined {
  const raw = req.headers['x-context'];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new HttpError(400, 'bad-context', 'X-Context is given more than once.');
  const trimmed = raw.trim();
  // An empty header is what a client sends when it has no context: a blind write.
  return trimmed === '' ? undefined : trimmed;
}

function quorumError(needed: number, replied: number, what: string): HttpError {
  return new HttpError(503, 'quorum', `Only ${replied} of the ${needed} replicas needed ${what} in time.`, { needed, replied });
}

type CoreFailure = { ok: false; error: 'quorum'; needed: number; replied: number } | { ok: false; error: 'bad-request' | 'bad-context'; message: string };

function failure(result: CoreFailure, what: string): HttpError {
  if (result.error === 'quorum') return quorumError(result.needed, result.replied, what);
  const message = result.message && result.message.length > 0 ? result.message : 'The request was refused.';
  return new HttpError(400, result.error, /[.!?]$/.test(message) ? message : `${message}.`);
}

function methodNotAllowed(allowed: string[]): HttpError {
  return new HttpError(405, 'method-not-allowed', `This resource only accepts ${allowed.join(', ')}.`, {}, { Allow: allowed.join(', ') });
}

interface Route {
  readonly kind: 'kv' | 'cart' | 'status' | 'local' | 'preflist' | 'keys' | 'digest' | 'leave';
  readonly key?: string;
}

const prefixedRoutes: readonly (readonly [string, Route['kind']])[] = [
  ['/kv/', 'kv'],
  ['/cart/', 'cart'],
  ['/admin/local/', 'local'],
  ['/admin/preflist/', 'preflist'],
];
const exactRoutes: Readonly<Record<string, Route['kind']>> = {
  '/admin/status': 'status',
  '/admin/keys': 'keys',
  '/admin/digest': 'digest',
  '/admin/leave': 'leave',
};
/** Shared by every request without a query string; nothing modifies it. */
const emptyQuery = new URLSearchParams();

function route(path: string): Route {
  for (const [prefix, kind] of prefixedRoutes) {
    if (path.startsWith(prefix)) return { kind, key: decodeKey(path.slice(prefix.length)) };
  }
  const kind = Object.hasOwn(exactRoutes, path) ? exactRoutes[path] : undefined;
  if (kind === undefined) throw new HttpError(404, 'not-found', `There is no resource at ${path.slice(0, 200)}.`);
  return { kind };
}

/** Builds the request listener; exported separately so tests can mount it on their own server. */
export function createHttpHandler(options: HttpApiOptions): http.RequestListener {
  const { core, logger } = options;
  const defaultTimeoutMs = options.requestTimeoutMs ?? 1000;

  // status() can be expensive (it summarises the ring), so N is looked up once, not per request.
  let cachedN = options.replicationFactor;
  const replicationFactor = (): number => {
    if (cachedN === undefined) {
      try {
        cachedN = core.status().config.n;
      } catch {
        return 64;
      }
    }
    return cachedN;
  };

  /** Bounds a core call: the core has its own timeouts, this only catches one that never settles. */
  const bounded = <T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T> => {
    const limit = (timeoutMs ?? defaultTimeoutMs) * 2 + (options.stuckSlackMs ?? 5000);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new HttpError(504, 'timeout', `The node did not finish the request within ${limit} ms; its outcome is unknown.`)),
        limit,
      );
      promise.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  };

  const handleKv = async (req: http.IncomingMessage, res: http.ServerResponse, key: string, query: URLSearchParams): Promise<void> => {
    const opts = parseRequestOptions(query, replicationFactor());
    if (req.method === 'GET') {
      const result = await bounded(core.get(key, opts), opts.timeoutMs);
      if (!result.ok) throw failure(result, 'answered');
      const wantsJson = (req.headers['accept'] ?? '').toLowerCase().includes('application/json');
      const ctx: Record<string, string> = result.context === undefined ? {} : { 'X-Context': result.context };
      const status = result.values.length === 0 ? 404 : result.values.length === 1 ? 200 : 300;
      if (wantsJson) {
        // A 404 is still an error answer, so it carries the error fields next to the empty sibling list.
        const notFound = status === 404 ? { error: 'not-found', message: 'The key has no live value.' } : {};
        sendJson(res, status, { siblings: result.values.map(b64), ...(result.context === undefined ? {} : { context: result.context }), ...notFound }, ctx);
      } else if (status === 404) {
        sendError(res, new HttpError(404, 'not-found', 'The key has no live value.', {}, ctx));
      } else if (status === 200) {
        const value = result.values[0]!;
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': value.byteLength, ...ctx });
        res.end(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      } else {
        sendJson(res, 300, { siblings: result.values.map(b64) }, ctx);
      }
      return;
    }
    if (req.method === 'PUT' || req.method === 'DELETE') {
      const context = contextHeader(req);
      let value: Buffer | undefined;
      if (req.method === 'PUT') {
        value = await readBody(req, res, maxValueBytes);
        if (value === undefined) return;
      } else {
        // A DELETE carries no value; its body, if any, is read and ignored so keep-alive stays in sync.
        if ((await readBody(req, res, maxValueBytes)) === undefined) return;
      }
      const result = await bounded(
        value === undefined ? core.delete(key, context, opts) : core.put(key, new Uint8Array(value.buffer, value.byteOffset, value.byteLength), context, opts),
        opts.timeoutMs,
      );
      if (!result.ok) throw failure(result, 'acknowledged the write');
      res.writeHead(204, { 'X-Context': result.context });
      res.end();
      return;
    }
    throw methodNotAllowed(['GET', 'PUT', 'DELETE']);
  };

  const handleCart = async (req: http.IncomingMessage, res: http.ServerResponse, key: string, query: URLSearchParams): Promise<void> => {
    const opts = parseRequestOptions(query, replicationFactor());
    if (req.method === 'GET') {
      const result = await bounded(core.cartRead(key, opts), opts.timeoutMs);
      if (!result.ok) throw failure(result, 'answered');
      sendJson(res, 200, { items: result.items, context: result.context });
      return;
    }
    if (req.method !== 'POST') throw methodNotAllowed(['GET', 'POST']);
    const body = await readBody(req, res, maxCartBodyBytes);
    if (body === undefined) return;
    let command: unknown;
    try {
      command = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'bad-body', 'The body must be a JSON object such as {"op":"add","item":"x","qty":1}.');
    }
    if (typeof command !== 'object' || command === null || Array.isArray(command)) {
      throw new HttpError(400, 'bad-body', 'The body must be a JSON object with an "op" field.');
    }
    const c = command as Record<string, unknown>;
    const item = c['item'];
    if (typeof item !== 'string' || item.length === 0 || Buffer.byteLength(item) > maxKeyBytes) {
      throw new HttpError(400, 'bad-body', `"item" must be a non-empty string of at most ${maxKeyBytes} bytes.`);
    }
    if (c['op'] === 'add') {
      const qty = c['qty'] ?? 1;
      if (typeof qty !== 'number' || !Number.isSafeInteger(qty) || qty < 1 || qty > 1_000_000_000) {
        throw new HttpError(400, 'bad-body', '"qty" must be a positive integer.');
      }
      const result = await bounded(core.cartAdd(key, item, qty, opts), opts.timeoutMs);
      if (!result.ok) throw failure(result, 'acknowledged the add');
    } else if (c['op'] === 'remove') {
      const context = c['context'];
      if (typeof context !== 'string' || context.length === 0) throw new HttpError(400, 'bad-context', 'A remove needs the "context" of an earlier cart read.');
      const result = await bounded(core.cartRemove(key, item, context, opts), opts.timeoutMs);
      if (!result.ok) throw failure(result, 'acknowledged the remove');
    } else {
      throw new HttpError(400, 'bad-body', '"op" must be "add" or "remove".');
    }
    res.writeHead(204);
    res.end();
  };

  const handleAdmin = async (req: http.IncomingMessage, res: http.ServerResponse, r: Route): Promise<void> => {
    const wanted = r.kind === 'leave' ? 'POST' : 'GET';
    if (req.method !== wanted) throw methodNotAllowed([wanted]);
    switch (r.kind) {
      case 'status': {
        const status = core.status();
        const extra = options.extraStatus?.() ?? {};
        const members = Array.isArray(status.members) ? status.members.length : 1;
        // Strategy 3 fixes Q; what a node holds is Q / members tokens, which is what "vnodes" reports.
        const ring = { ...status.ring, vnodes: Math.max(1, Math.round(status.ring.partitions / Math.max(1, members))) };
        sendJson(res, 200, { ...status, ...extra, ring });
        return;
      }
      case 'local': {
        const state = await core.local(r.key!);
        if (state === undefined) throw new HttpError(404, 'not-found', 'This node stores nothing for the key.');
        if (state.kind === 'kv') {
          sendJson(res, 200, { versions: state.versions.map((v) => ({ value: b64(v.value), clock: v.clock, tombstone: v.tombstone })) });
        } else {
          sendJson(res, 200, { items: state.items, state: state.state });
        }
        return;
      }
      case 'preflist':
        sendJson(res, 200, { nodes: core.preflist(r.key!) });
        return;
      case 'digest':
        sendJson(res, 200, { partitions: await core.digest() });
        return;
      case 'leave':
        await core.leave();
        res.writeHead(204);
        res.end();
        return;
      case 'keys': {
        const iterator = core.keys()[Symbol.asyncIterator]();
        // The first key is fetched before the headers so an immediate storage failure is still a JSON 500.
        let next = await iterator.next();
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        while (!next.done) {
          if (!res.write(next.value + '\n')) await new Promise<void>((resolve) => res.once('drain', resolve));
          if (res.destroyed) {
            await iterator.return?.();
            return;
          }
          next = await iterator.next();
        }
        res.end();
        return;
      }
      default:
        throw new HttpError(404, 'not-found', 'There is no such admin resource.');
    }
  };

  return (req, res) => {
    const handle = async (): Promise<void> => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const query = q === -1 ? emptyQuery : new URLSearchParams(url.slice(q + 1));
      const r = route(path);
      if (r.kind === 'kv') return handleKv(req, res, r.key!, query);
      if (r.kind === 'cart') return handleCart(req, res, r.key!, query);
      return handleAdmin(req, res, r);
    };
    handle().catch((error: unknown) => {
      if (res.headersSent) {
        // Half an answer cannot be turned into an error; closing is the only honest signal left.
        logger.log('error', 'http-error-after-headers', { url: req.url, error });
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendError(res, error);
        return;
      }
      logger.log('error', 'http-internal-error', { method: req.method, url: req.url?.slice(0, 200), error });
      sendError(res, new HttpError(500, 'internal', 'The node failed while handling the request; its outcome is unknown.'));
    });
  };
}

export interface HttpApi {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the API on `listen` ("host:port"; port 0 picks a free one). */
export async function startHttpApi(listen: string, options: HttpApiOptions): Promise<HttpApi> {
  const { host, port } = parseHostPort(listen, true);
  const server = http.createServer({ keepAlive: true, requestTimeout: 60_000, headersTimeout: 20_000 }, createHttpHandler(options));
  // Keep idle client connections longer than typical client pools do, so reuse does not race a close.
  server.keepAliveTimeout = 30_000;
  // Malformed HTTP never reaches the handler; answer it with the same JSON error shape before closing.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // Bytes after a complete request that do not parse (a client sending an unframed body, as Node's own
    // client does for OPTIONS) must not cost the answer to that request: finish it, then close.
    const inflight = (socket as unknown as { _httpMessage?: http.ServerResponse })._httpMessage;
    if (inflight && !inflight.writableFinished) {
      if (!inflight.headersSent) inflight.setHeader('Connection', 'close');
      inflight.once('finish', () => socket.end());
      setTimeout(() => socket.destroy(), 5000).unref();
      return;
    }
    const tooBig = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooBig ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    const body = JSON.stringify({ error: tooBig ? 'headers-too-large' : 'bad-http', message: tooBig ? 'The request headers are too large.' : 'The request is not valid HTTP/1.1.' });
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    // Idle keep-alive connections close at once; requests in flight get a moment to finish (their
    // answers may be acknowledgements the client is waiting for), then everything is cut.
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), 1000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
