// The client and introspection API of NODE-API.md over node:http. This layer only translates: it parses
// and validates the request, calls the core, and maps the core's result data onto statuses. It never lets
// an exception escape: a bad request gets a JSON 4xx, a bug gets a JSON 500, and a request whose core
// call does not settle gets a 504 rather than a hanging connection.
//
// The rooms: http-request.ts (routes, keys, options), http-io.ts (bodies and JSON answers), http-data.ts
// (/kv and /cart), http-admin.ts (/admin), http-client-error.ts (what Node's parser rejects), and
// outcome.ts (core result → status, shared with the simulation's client).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './core/env.js';
import type { CoreNode } from './core/api.js';
import { parseHostPort } from './host-port.js';
import { adminHandler } from './http-admin.js';
import { onCheckExpectation, onClientError, onConnect } from './http-client-error.js';
import { cartHandler, kvHandler } from './http-data.js';
import { HttpError, sendError } from './http-io.js';
import { route } from './http-request.js';

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
  /** How long a client may take to send a whole request before it is answered 408 (default 60 000). */
  readonly incompleteRequestMs?: number;
}

/** Shared by every request without a query string; nothing modifies it. */
const emptyQuery = new URLSearchParams();

/**
 * What Node's parser lets through but HTTP/1.1 refuses: a request without Host (RFC 9112 §3.2), and a
 * transfer coding other than chunked alone (we would store a gzip-coded body as the value). RFC 9112 §6.1
 * suggests 501; we answer 400 because a 5xx tells a client the outcome is unknown (workloads/client.ts),
 * and this refusal is definite. The body is left unread, so the connection closes after the answer.
 */
function framingCheck(req: http.IncomingMessage): void {
  if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
    throw new HttpError(400, 'bad-http', 'An HTTP/1.1 request needs a Host header.', {}, { Connection: 'close' });
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
    throw new HttpError(400, 'unsupported-transfer-encoding', 'The only transfer coding this node accepts is chunked.', {}, { Connection: 'close' });
  }
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

  const deps = { core, replicationFactor, bounded };
  const handleKv = kvHandler(deps);
  const handleCart = cartHandler(deps);
  const handleAdmin = adminHandler({ core, ...(options.extraStatus === undefined ? {} : { extraStatus: options.extraStatus }) });
  // Made once, not per request: the node runs under tsx, whose keepNames turns every named closure into a
  // defineProperty call each time it is made.
  const dispatch = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    framingCheck(req);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? emptyQuery : new URLSearchParams(url.slice(q + 1));
    const r = route(path);
    if (r.kind === 'kv') return handleKv(req, res, r.key!, query);
    if (r.kind === 'cart') return handleCart(req, res, r.key!, query);
    return handleAdmin(req, res, r);
  };

  return (req, res) => {
    if (req.method === 'PRI') {
      // The HTTP/2 preface: Node's parser stops on it and closes the connection right after this event,
      // so the answer has to be written now, before anything asynchronous.
      sendError(res, new HttpError(400, 'bad-http', 'This node speaks HTTP/1.1 only, not HTTP/2.', {}, { Connection: 'close' }));
      return;
    }
    dispatch(req, res).catch((error: unknown) => {
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
  const incompleteMs = options.incompleteRequestMs ?? 60_000;
  const serverOptions: http.ServerOptions = {
    keepAlive: true,
    requestTimeout: incompleteMs,
    headersTimeout: Math.min(20_000, incompleteMs),
    // Host is checked by the handler, so that a request without it gets the JSON error body too.
    requireHostHeader: false,
    // Node looks for expired requests on this interval (default 30 s); it must not exceed the timeout.
    connectionsCheckingInterval: Math.min(30_000, incompleteMs),
  };
  const server = http.createServer(serverOptions, createHttpHandler(options));
  // Keep idle client connections longer than typical client pools do, so reuse does not race a close.
  server.keepAliveTimeout = 30_000;
  server.on('clientError', onClientError);
  server.on('connect', onConnect);
  server.on('checkExpectation', onCheckExpectation);
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
