// The introspection half of NODE-API.md under /admin: status, a key's local versions, its preference list,
// the stored keys as a stream, Merkle digests, and leave (an extension the README documents).
import type http from 'node:http';
import type { CoreNode } from './core/api.js';
import { HttpError, b64, methodNotAllowed, sendJson } from './http-io.js';
import type { Route } from './http-request.js';

export interface AdminDeps {
  readonly core: CoreNode;
  /** Extra fields merged into /admin/status (transport counters, configured vnodes). */
  readonly extraStatus?: () => Record<string, unknown>;
}

export function adminHandler(deps: AdminDeps): (req: http.IncomingMessage, res: http.ServerResponse, r: Route) => Promise<void> {
  const { core } = deps;
  return async (req, res, r) => {
    const wanted = r.kind === 'leave' ? 'POST' : 'GET';
    if (req.method !== wanted) throw methodNotAllowed([wanted]);
    switch (r.kind) {
      case 'status': {
        // ring.vnodes is what the core counts in its ring (the partitions this node owns), not a formula
        // over the member list: members include nodes that left, and Q/S rounds.
        sendJson(res, 200, { ...core.status(), ...(deps.extraStatus?.() ?? {}) });
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
}
