// The data half of the client API: /kv/{key} (GET, PUT, DELETE) and /cart/{key} (GET, POST). Each handler
// validates, calls the core once, and answers with the status node/outcome.ts maps the result to.
import type http from 'node:http';
import type { CoreNode } from './core/api.js';
import { HttpError, b64, contextHeader, methodNotAllowed, readBody, refusalError, sendJson } from './http-io.js';
import { maxCartBodyBytes, maxKeyBytes, maxValueBytes, parseRequestOptions } from './http-request.js';
import { readStatus, writeStatus } from './outcome.js';

/** What the data handlers need from the API around them. */
export interface DataDeps {
  readonly core: CoreNode;
  /** The node's N, the upper bound for ?r= and ?w=. */
  replicationFactor(): number;
  /** Bounds a core call that never settles (see createHttpHandler). */
  bounded<T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, key: string, query: URLSearchParams) => Promise<void>;

/**
 * The error fields of a GET of a key with no live value, the answer sendError would give for it. Sent as is,
 * without an HttpError: a missing key is an ordinary answer, and an Error captures a stack trace (a few
 * percent of the CPU of reads of absent keys).
 */
const notFoundFields = Object.freeze({ error: 'not-found', message: 'The key has no live value.' });

export function kvHandler(deps: DataDeps): Handler {
  const { core, bounded } = deps;
  return async (req, res, key, query) => {
    const opts = parseRequestOptions(query, deps.replicationFactor());
    if (req.method === 'GET') {
      const result = await bounded(core.get(key, opts), opts.timeoutMs);
      if (!result.ok) throw refusalError(result, 'read', 'answered');
      const wantsJson = (req.headers['accept'] ?? '').toLowerCase().includes('application/json');
      const ctx: Record<string, string> = result.context === undefined ? {} : { 'X-Context': result.context };
      const status = readStatus(result.values.length);
      if (wantsJson) {
        // A 404 is still an error answer, so it carries the error fields next to the empty sibling list.
        const notFound = status === 404 ? notFoundFields : {};
        sendJson(res, status, { siblings: result.values.map(b64), ...(result.context === undefined ? {} : { context: result.context }), ...notFound }, ctx);
      } else if (status === 404) {
        sendJson(res, 404, notFoundFields, ctx);
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
      if (!result.ok) throw refusalError(result, 'write', 'acknowledged the write');
      res.writeHead(writeStatus, { 'X-Context': result.context });
      res.end();
      return;
    }
    throw methodNotAllowed(['GET', 'PUT', 'DELETE']);
  };
}

export function cartHandler(deps: DataDeps): Handler {
  const { core, bounded } = deps;
  return async (req, res, key, query) => {
    const opts = parseRequestOptions(query, deps.replicationFactor());
    if (req.method === 'GET') {
      const result = await bounded(core.cartRead(key, opts), opts.timeoutMs);
      if (!result.ok) throw refusalError(result, 'read', 'answered');
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
      if (!result.ok) throw refusalError(result, 'write', 'acknowledged the add');
    } else if (c['op'] === 'remove') {
      const context = c['context'];
      if (typeof context !== 'string' || context.length === 0) throw new HttpError(400, 'bad-context', 'A remove needs the "context" of an earlier cart read.');
      const result = await bounded(core.cartRemove(key, item, context, opts), opts.timeoutMs);
      if (!result.ok) throw refusalError(result, 'write', 'acknowledged the remove');
    } else {
      throw new HttpError(400, 'bad-body', '"op" must be "add" or "remove".');
    }
    res.writeHead(writeStatus);
    res.end();
  };
}
