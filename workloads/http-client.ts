// The HTTP implementation of NodeClient (workloads/client.ts) for the local and Docker runtimes. It speaks
// NODE-API.md over node:http with a keep-alive agent and maps every answer and error onto Jepsen's
// ok / fail / info exactly as documented in client.ts, so every runtime records the same outcomes.
import http from 'node:http';
import type { CartRead, ClientOptions, KvRead, NodeClient, Outcome, ReplicaState } from './client.js';

export interface HttpClientOptions {
  /** Client-side deadline for a request when the caller gives none; past it the outcome is `info`. */
  readonly timeoutMs?: number;
  /** A shared agent; by default each client gets its own keep-alive agent. */
  readonly agent?: http.Agent;
}

/** A NodeClient that can also drop its pooled connections (tests and teardown). */
export interface HttpNodeClient extends NodeClient {
  readonly baseUrl: string;
  close(): void;
}

const defaultTimeoutMs = 2000;
/** How much longer than the server-side timeout the client waits, so the node can answer 503 first. */
const serverTimeoutMarginMs = 500;
/** A leave answers only after handoff, so it gets a much longer deadline than a data request. */
const leaveTimeoutMs = 60_000;

interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Whether an operation can have changed state: a write that fails ambiguously is `info`, a read `fail`. */
type OpClass = 'read' | 'write';

type Transport = { ok: true; res: RawResponse } | { ok: false; outcome: Outcome<never> };

export function createHttpClient(nodeId: string, baseUrl: string, opts: HttpClientOptions = {}): HttpNodeClient {
  // Idle pooled sockets are dropped after 4 s, before Node servers' 5 s keep-alive timeout closes them from
  // the other end: a request written to a socket the server is closing would come back as a spurious `info`.
  const agent = opts.agent ?? new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
  const ownAgent = opts.agent === undefined;
  const defaultDeadlineMs = opts.timeoutMs ?? defaultTimeoutMs;
  const base = new URL(baseUrl);

  function request(method: string, path: string, headers: Record<string, string>, body: Uint8Array | undefined, timeoutMs: number): Promise<Transport> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (t: Transport): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(t);
      };
      const req = http.request(
        {
          host: base.hostname,
          port: base.port === '' ? 80 : Number(base.port),
          method,
          path,
          agent,
          headers: { ...headers, ...(body !== undefined ? { 'Content-Length': String(body.byteLength) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish({ ok: true, res: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) } }));
          res.on('error', (err) => finish({ ok: false, outcome: transportError(err) }));
        },
      );
      // The deadline covers the whole exchange, not just socket inactivity, so a node that trickles bytes
      // or is paused mid-response still yields an `info` in bounded time.
      const timer = setTimeout(() => {
        finish({ ok: false, outcome: { type: 'info', error: `timeout after ${timeoutMs} ms` } });
        req.destroy();
      }, timeoutMs);
      req.on('error', (err) => finish({ ok: false, outcome: transportError(err) }));
      if (body !== undefined) req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      else req.end();
    });
  }

  function deadline(options: ClientOptions | undefined): { clientMs: number; query: string } {
    if (options?.timeoutMs !== undefined) {
      return { clientMs: options.timeoutMs + serverTimeoutMarginMs, query: `timeout=${options.timeoutMs}` };
    }
    return { clientMs: defaultDeadlineMs, query: '' };
  }

  function query(parts: (string | undefined)[]): string {
    const kept = parts.filter((p): p is string => p !== undefined && p !== '');
    return kept.length === 0 ? '' : `?${kept.join('&')}`;
  }

  function ctxHeader(context: string | undefined): Record<string, string> {
    return context === undefined ? {} : { 'X-Context': context };
  }

  async function write(method: string, path: string, headers: Record<string, string>, body: Uint8Array | undefined, options: ClientOptions | undefined): Promise<Outcome<{ context?: string }>> {
    const d = deadline(options);
    const q = query([options?.w !== undefined ? `w=${options.w}` : undefined, d.query]);
    const t = await request(method, path + q, headers, body, d.clientMs);
    if (!t.ok) return t.outcome;
    const { res } = t;
    if (res.status >= 200 && res.status < 300) {
      const context = headerString(res.headers['x-context']);
      return { type: 'ok', value: context === undefined ? {} : { context } };
    }
    return errorOutcome(res, 'write');
  }

  const client: HttpNodeClient = {
    nodeId,
    baseUrl,

    async get(key, options) {
      const d = deadline(options);
      const q = query([options?.r !== undefined ? `r=${options.r}` : undefined, d.query]);
      const t = await request('GET', `/kv/${encodeURIComponent(key)}${q}`, { Accept: 'application/json' }, undefined, d.clientMs);
      if (!t.ok) return t.outcome;
      const { res } = t;
      if (res.status === 200 || res.status === 300 || res.status === 404) {
        const headerCtx = headerString(res.headers['x-context']);
        const parsed = parseJson(res.body);
        if (parsed !== undefined && typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { siblings?: unknown }).siblings)) {
          const p = parsed as { siblings: unknown[]; context?: unknown };
          const values = p.siblings.map((s) => new Uint8Array(Buffer.from(String(s), 'base64')));
          const context = typeof p.context === 'string' && p.context !== '' ? p.context : headerCtx;
          const read: KvRead = context === undefined ? { values } : { values, context };
          return { type: 'ok', value: read };
        }
        // A node that ignores Accept: the body is the raw value (200) or nothing (404).
        if (res.status === 200) {
          const values = [new Uint8Array(res.body)];
          return { type: 'ok', value: headerCtx === undefined ? { values } : { values, context: headerCtx } };
        }
        if (res.status === 404) return { type: 'ok', value: headerCtx === undefined ? { values: [] } : { values: [], context: headerCtx } };
        return { type: 'fail', error: `malformed 300 answer: ${snippet(res.body)}` };
      }
      return errorOutcome(res, 'read');
    },

    put(key, value, context, options) {
      return write('PUT', `/kv/${encodeURIComponent(key)}`, { 'Content-Type': 'application/octet-stream', ...ctxHeader(context) }, value, options);
    },

    delete(key, context, options) {
      return write('DELETE', `/kv/${encodeURIComponent(key)}`, ctxHeader(context), undefined, options);
    },

    async cartRead(key, options) {
      const d = deadline(options);
      const q = query([options?.r !== undefined ? `r=${options.r}` : undefined, d.query]);
      const t = await request('GET', `/cart/${encodeURIComponent(key)}${q}`, { Accept: 'application/json' }, undefined, d.clientMs);
      if (!t.ok) return t.outcome;
      const { res } = t;
      if (res.status === 200) {
        const parsed = parseJson(res.body) as { items?: unknown; context?: unknown } | undefined;
        if (parsed === undefined || typeof parsed !== 'object' || parsed === null || typeof parsed.items !== 'object' || parsed.items === null) {
          return { type: 'fail', error: `malformed cart answer: ${snippet(res.body)}` };
        }
        const read: CartRead = { items: parsed.items as Record<string, number>, context: typeof parsed.context === 'string' ? parsed.context : '' };
        return { type: 'ok', value: read };
      }
      return errorOutcome(res, 'read');
    },

    async cartAdd(key, item, qty, options) {
      const body = Buffer.from(JSON.stringify({ op: 'add', item, qty }));
      const o = await write('POST', `/cart/${encodeURIComponent(key)}`, { 'Content-Type': 'application/json' }, body, options);
      return o.type === 'ok' ? { type: 'ok', value: undefined } : o;
    },

    async cartRemove(key, item, context, options) {
      const body = Buffer.from(JSON.stringify({ op: 'remove', item, context }));
      const o = await write('POST', `/cart/${encodeURIComponent(key)}`, { 'Content-Type': 'application/json' }, body, options);
      return o.type === 'ok' ? { type: 'ok', value: undefined } : o;
    },

    async adminStatus() {
      const t = await request('GET', '/admin/status', { Accept: 'application/json' }, undefined, defaultDeadlineMs);
      if (!t.ok) return t.outcome;
      if (t.res.status !== 200) return errorOutcome(t.res, 'read');
      const parsed = parseJson(t.res.body);
      if (typeof parsed !== 'object' || parsed === null) return { type: 'fail', error: `malformed status: ${snippet(t.res.body)}` };
      return { type: 'ok', value: parsed as Record<string, unknown> };
    },

    async adminLocal(key) {
      const t = await request('GET', `/admin/local/${encodeURIComponent(key)}`, { Accept: 'application/json' }, undefined, defaultDeadlineMs);
      if (!t.ok) return t.outcome;
      if (t.res.status === 404) return { type: 'ok', value: { kind: 'none' } };
      if (t.res.status !== 200) return errorOutcome(t.res, 'read');
      const parsed = parseJson(t.res.body) as { versions?: unknown; items?: unknown } | undefined;
      if (parsed !== undefined && parsed !== null && Array.isArray(parsed.versions)) {
        const versions = (parsed.versions as { value?: unknown; clock?: unknown; tombstone?: unknown }[]).map((v) => ({
          value: new Uint8Array(Buffer.from(typeof v.value === 'string' ? v.value : '', 'base64')),
          clock: (typeof v.clock === 'object' && v.clock !== null ? v.clock : {}) as Record<string, number>,
          tombstone: v.tombstone === true,
        }));
        const state: ReplicaState = { kind: 'kv', versions };
        return { type: 'ok', value: state };
      }
      if (parsed !== undefined && parsed !== null && typeof parsed.items === 'object' && parsed.items !== null) {
        return { type: 'ok', value: { kind: 'cart', items: parsed.items as Record<string, number> } };
      }
      return { type: 'fail', error: `malformed local answer: ${snippet(t.res.body)}` };
    },

    async adminPreflist(key) {
      const t = await request('GET', `/admin/preflist/${encodeURIComponent(key)}`, { Accept: 'application/json' }, undefined, defaultDeadlineMs);
      if (!t.ok) return t.outcome;
      if (t.res.status !== 200) return errorOutcome(t.res, 'read');
      const parsed = parseJson(t.res.body) as { nodes?: unknown } | undefined;
      if (parsed === undefined || parsed === null || !Array.isArray(parsed.nodes)) return { type: 'fail', error: `malformed preflist: ${snippet(t.res.body)}` };
      return { type: 'ok', value: parsed.nodes.map(String) };
    },

    async adminLeave() {
      // Leaving hands every partition off before the node answers, which can take a while under load.
      const t = await request('POST', '/admin/leave', {}, Buffer.alloc(0), Math.max(defaultDeadlineMs, leaveTimeoutMs));
      if (!t.ok) return t.outcome;
      if (t.res.status >= 200 && t.res.status < 300) return { type: 'ok', value: undefined };
      return errorOutcome(t.res, 'write');
    },

    close() {
      if (ownAgent) agent.destroy();
    },
  };
  return client;
}

/** Maps a non-success HTTP answer, as documented in workloads/client.ts. */
function errorOutcome(res: RawResponse, op: OpClass): Outcome<never> {
  const parsed = parseJson(res.body) as { error?: unknown; message?: unknown; needed?: unknown; replied?: unknown } | undefined;
  const code = parsed !== undefined && parsed !== null && typeof parsed.error === 'string' ? parsed.error : undefined;
  if (res.status === 503) {
    const detail = parsed !== undefined && parsed !== null && parsed.needed !== undefined ? ` (needed ${String(parsed.needed)}, replied ${String(parsed.replied)})` : '';
    // A read that missed its quorum returned nothing; a write may already sit on some replicas.
    return op === 'read' ? { type: 'fail', error: `quorum${detail}` } : { type: 'info', error: `quorum${detail}` };
  }
  const described = `${res.status} ${code ?? 'error'}${parsed !== undefined && parsed !== null && typeof parsed.message === 'string' ? `: ${parsed.message}` : ''}`;
  // The node refused before doing anything.
  if (res.status >= 400 && res.status < 500) return { type: 'fail', error: described };
  // Any other server error on a write leaves its effect unknown; on a read nothing was returned.
  return op === 'read' ? { type: 'fail', error: described } : { type: 'info', error: described };
}

/** Refused (or unresolvable) means nothing reached the node: `fail`. Everything else is ambiguous: `info`. */
function transportError(err: NodeJS.ErrnoException): Outcome<never> {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL') {
    return { type: 'fail', error: `${code}: nothing was sent` };
  }
  return { type: 'info', error: code !== '' ? `${code}: ${err.message}` : err.message };
}

function headerString(h: string | string[] | undefined): string | undefined {
  if (h === undefined) return undefined;
  const s = Array.isArray(h) ? h[0] : h;
  return s === undefined || s === '' ? undefined : s;
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function snippet(body: Buffer): string {
  return body.subarray(0, 120).toString('utf8');
}
