// `quorumlab serve`: a local web server over a results store (fastify is the one module that imports it).
// Safe by default: it listens on 127.0.0.1 only, answers only requests addressed to that host (a page
// elsewhere cannot reach it through DNS rebinding), and serves only files whose real path, symbolic
// links resolved, lies inside the store; anything else is a 4xx JSON error.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { extname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { escapeHtml, renderStoredReport } from './report/index.js';
import { filterEntries, scanStore, verdictNames, type StoreFilter } from './store-index.js';
import { filesPrefix, fileUrl, renderStorePage } from './store-page.js';

export interface ServeOptions {
  readonly store: string;
  /** 0: any free port. */
  readonly port: number;
}

export interface StoreServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Loopback only: the store holds node logs and histories, and nothing here asks who is reading. */
const host = '127.0.0.1';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.json': 'application/json; charset=utf-8', '.jsonl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8', '.log': 'text/plain; charset=utf-8', '.edn': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.csv': 'text/csv; charset=utf-8',
};

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Query parameters to a filter; an unknown value is the client's mistake (400), not an empty list. */
export function filterFromQuery(q: Record<string, unknown>): StoreFilter {
  const one = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new HttpError(400, `query parameter ${name} given more than once`);
    return v;
  };
  const kind = one('kind');
  if (kind !== undefined && kind !== 'run' && kind !== 'campaign') throw new HttpError(400, `kind must be run or campaign, got "${kind}"`);
  const verdict = one('verdict');
  if (verdict !== undefined && !(verdictNames as readonly string[]).includes(verdict)) {
    throw new HttpError(400, `verdict must be one of ${verdictNames.join(', ')}, got "${verdict}"`);
  }
  const workload = one('workload');
  const text = one('q');
  return { ...(kind !== undefined ? { kind } : {}), ...(verdict !== undefined ? { verdict } : {}),
    ...(workload !== undefined ? { workload } : {}), ...(text !== undefined ? { text } : {}) };
}

/** The real path of a store file named by a URL path, or a 4xx: outside the store is refused outright. */
export async function resolveInStore(storeReal: string, urlPath: string): Promise<string> {
  if (urlPath.includes('\0')) throw new HttpError(400, 'bad path');
  if (urlPath.split(/[/\\]/).includes('..') || isAbsolute(urlPath)) throw new HttpError(403, 'path leaves the store');
  let real: string;
  try {
    real = await realpath(resolve(storeReal, urlPath));
  } catch {
    throw new HttpError(404, 'no such file in the store');
  }
  const rel = relative(storeReal, real);
  // A symbolic link inside the store may point anywhere; only what it resolves to counts.
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new HttpError(403, 'path leaves the store');
  return real;
}

async function sendPath(reply: FastifyReply, storeReal: string, urlPath: string): Promise<FastifyReply> {
  const real = await resolveInStore(storeReal, urlPath);
  const st = await stat(real);
  if (st.isDirectory()) {
    const names = (await readdir(real, { withFileTypes: true })).map((d) => (d.isDirectory() ? `${d.name}/` : d.name)).sort();
    const base = relative(storeReal, real).split(sep).join('/');
    const links = names.map((n) => `<li><a href="${escapeHtml(fileUrl(base === '' ? n : `${base}/${n}`))}">${escapeHtml(n)}</a></li>`);
    return reply.type('text/html; charset=utf-8').send(`<!doctype html><meta charset="utf-8"><title>${escapeHtml(base)}</title>` +
      `<p><a href="/">store</a> / ${escapeHtml(base)}</p><ul>${links.join('')}</ul>`);
  }
  if (!st.isFile()) throw new HttpError(404, 'not a file');
  return reply.type(contentTypes[extname(real).toLowerCase()] ?? 'application/octet-stream')
    .header('content-length', st.size).send(createReadStream(real));
}

/**
 * A finished run's report that was never written (a campaign writes only its failed runs' reports): rendered
 * from the run's folder, kept there for the next time when the store is writable, and sent. A folder
 * that is no finished run is a 404 as before.
 */
async function sendRenderedReport(reply: FastifyReply, storeReal: string, urlPath: string): Promise<FastifyReply> {
  const dirPath = urlPath.replace(/\/?report\.html$/, '');
  const runDir = await resolveInStore(storeReal, dirPath === '' ? '.' : dirPath);
  // What the report is made of must lie inside the store too (a symbolic link there may point anywhere).
  for (const name of ['results.json', 'history.jsonl']) {
    const inside = await resolveInStore(storeReal, dirPath === '' ? name : `${dirPath}/${name}`).catch((e: unknown) => e);
    if (inside instanceof HttpError && inside.status !== 404) throw inside;
  }
  let html: string;
  try {
    html = await renderStoredReport(runDir);
  } catch {
    throw new HttpError(404, 'no such file in the store');
  }
  // Best effort: a read-only store still gets its page, rendered again next time.
  await writeFile(join(runDir, 'report.html'), html, { flag: 'wx' }).catch(() => {});
  return reply.type('text/html; charset=utf-8').send(html);
}

export async function buildStoreApp(store: string, port: () => number): Promise<FastifyInstance> {
  const storeReal = await realpath(store);
  // Closing ends kept-alive browser connections too (otherwise close waits for their idle timeout).
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.addHook('onRequest', async (req, reply) => {
    // Only requests addressed to the loopback name we listen on: a rebinding DNS name would carry its own.
    const allowed = [`${host}:${port()}`, `localhost:${port()}`];
    if (!allowed.includes(String(req.headers.host ?? ''))) {
      return reply.code(421).send({ error: `this server answers only for http://${host}:${port()}/` });
    }
    reply.header('x-content-type-options', 'nosniff');
    return undefined;
  });
  app.setErrorHandler((error, _req, reply) => {
    const status = error instanceof HttpError ? error.status : (error as { statusCode?: number }).statusCode ?? 500;
    void reply.code(status).send({ error: status >= 500 ? 'internal error' : String((error as Error).message).split('\n')[0] });
  });
  app.get('/', async (req, reply) => {
    const filter = filterFromQuery(req.query as Record<string, unknown>);
    const all = await scanStore(storeReal);
    return reply.type('text/html; charset=utf-8').send(renderStorePage(storeReal, all, filterEntries(all, filter), filter));
  });
  app.get('/api/entries', async (req) => {
    const filter = filterFromQuery(req.query as Record<string, unknown>);
    return filterEntries(await scanStore(storeReal), filter).map((e) => ({ ...e, url: e.report === null ? null : fileUrl(e.report) }));
  });
  app.get(`${filesPrefix}*`, async (req, reply) => {
    const urlPath = (req.params as Record<string, string>)['*'] ?? '';
    try {
      return await sendPath(reply, storeReal, urlPath);
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 404 && /(^|\/)report\.html$/.test(urlPath))) throw error;
      return sendRenderedReport(reply, storeReal, urlPath);
    }
  });
  return app;
}

/** Starts the server; resolves once it listens, with the URL to print. */
export async function serveStore(options: ServeOptions): Promise<StoreServer> {
  let bound = options.port;
  const app = await buildStoreApp(options.store, () => bound);
  await app.listen({ host, port: options.port });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the server has no address');
  bound = address.port;
  // The address the socket really holds (tests check it is loopback), not the one asked for.
  return { url: `http://${host}:${bound}/`, host: address.address, port: bound, close: () => app.close() };
}
