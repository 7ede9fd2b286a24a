// What a request asks for: its route, its key and its ?r= ?w= ?timeout= options, checked against the
// limits of NODE-API.md. Anything out of bounds is a 400 before the core sees it.
import type { RequestOptions } from './core/api.js';
import { maxKeyBytes } from './core/limits.js';
import { HttpError } from './http-io.js';

/** The size limits are the core's (defined once, node/core/limits.ts), so both paths refuse the same sizes. */
export { maxKeyBytes, maxValueBytes } from './core/limits.js';
/** Cart commands are small JSON objects; anything bigger is refused before parsing. */
export const maxCartBodyBytes = 64 * 1024;

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

export interface Route {
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

export function route(path: string): Route {
  for (const [prefix, kind] of prefixedRoutes) {
    if (path.startsWith(prefix)) return { kind, key: decodeKey(path.slice(prefix.length)) };
  }
  const kind = Object.hasOwn(exactRoutes, path) ? exactRoutes[path] : undefined;
  if (kind === undefined) throw new HttpError(404, 'not-found', `There is no resource at ${path.slice(0, 200)}.`);
  return { kind };
}
