// The bench's client for quorumlab's /kv API (NODE-API.md), as lean as the etcd and Redis clients beside it:
// keep-alive HTTP/1.1, the value as the raw request and response body (no JSON, no base64), the context in
// X-Context. A context-carrying writer sends, for each key, the context the previous write of that key
// answered with, as a real read-modify-write client does; a blind writer sends none.
import http from 'node:http';

export interface KvBenchClient {
  /** Resolves with the context the write answered with; rejects on anything but 204. */
  put(key: string, value: Uint8Array, context: string | undefined): Promise<string | undefined>;
  /** Resolves on 200 (one value), 300 (siblings) or 404; rejects otherwise. */
  get(key: string): Promise<void>;
  close(): void;
}

export function kvBenchClient(baseUrl: string, maxSockets: number): KvBenchClient {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const request = (method: string, key: string, headers: http.OutgoingHttpHeaders, body: Uint8Array | undefined, ok: (status: number) => boolean): Promise<http.IncomingHttpHeaders> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, method, path: `/kv/${encodeURIComponent(key)}`, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => (ok(res.statusCode ?? 0) ? resolve(res.headers) : reject(new Error(`quorumlab answered ${res.statusCode}`))));
        res.on('error', reject);
      });
      req.setTimeout(10_000, () => req.destroy(new Error('quorumlab request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  return {
    async put(key, value, context) {
      const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream', 'Content-Length': value.byteLength };
      if (context !== undefined) headers['X-Context'] = context;
      const h = await request('PUT', key, headers, value, (s) => s === 204);
      const c = h['x-context'];
      return typeof c === 'string' && c !== '' ? c : undefined;
    },
    async get(key) {
      await request('GET', key, {}, undefined, (s) => s === 200 || s === 300 || s === 404);
    },
    close: () => agent.destroy(),
  };
}

/**
 * Each node's admin client, the server pids (for their CPU from /proc) and a bench client per node of a running quorumlab cluster:
 * what the kv bench (bench/index.ts) and bench/kv-profile.ts drive.
 */
export async function kvBenchNodes<C extends { adminStatus(): Promise<{ type: string; value?: unknown }> }>(
  runtime: { nodeIds(): readonly string[]; client(id: string): C },
  maxSockets: number,
): Promise<{ admin: C[]; pids: number[]; clients: KvBenchClient[] }> {
  const admin = runtime.nodeIds().map((id) => runtime.client(id));
  const pids: number[] = [];
  for (const c of admin) {
    const s = await c.adminStatus();
    const pid = s.type === 'ok' ? ((s.value as Record<string, unknown>)['process'] as { pid?: unknown } | undefined)?.pid : undefined;
    if (typeof pid === 'number') pids.push(pid);
  }
  return { admin, pids, clients: admin.map((c) => kvBenchClient((c as unknown as { baseUrl: string }).baseUrl, maxSockets)) };
}
