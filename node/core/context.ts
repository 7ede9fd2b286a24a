// Client contexts are opaque, signed tokens. A client hands back whatever it read; the node must be able
// to tell a genuine context from a truncated, malformed or forged one, because a forged context could
// claim to have seen writes it never saw and so silently supersede them. The token is
// base64url(JSON payload) "." base64url(HMAC-SHA256(key, payload)), keyed by the cluster secret. The key is
// part of what is signed: a context read from one key and sent with a write to another would otherwise
// claim to have seen that key's versions (the same counters name different writes there) and silently
// supersede writes the client never read.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Dot, type VersionVector, isVersionVector, vvNormalize } from './version-vector.js';
import { type CausalContext, causalContext } from './versions.js';

/**
 * A kv context: a version vector and, after a PUT whose new dot the vector cannot express without covering
 * writes the client never saw, the exact dots beyond it (`d`, [node, counter] pairs; absent when none, so
 * a read's context is what it always was).
 */
type Payload = { k: 'kv'; vv: VersionVector; d?: [string, number][] };

function tag(secret: string, key: string, body: string): Buffer {
  // One update of the same bytes as the key's UTF-8 length, ':', the key and the body one after another.
  return createHmac('sha256', secret).update(`${Buffer.byteLength(key, 'utf8')}:${key}${body}`).digest();
}

function sign(payload: Payload, secret: string, key: string): string {
  const text = JSON.stringify(payload);
  const known = signedKvTokens.signed(secret, key, text);
  if (known !== undefined) return known;
  const body = Buffer.from(text, 'utf8').toString('base64url');
  const token = `${body}.${tag(secret, key, body).toString('base64url')}`;
  signedKvTokens.remember(token, secret, key, text);
  return token;
}

const b64urlRe = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies the signature and parses the payload; returns an error sentence for anything not genuine. A
 * token this process signed for the same secret and key skips the signature (see SignedTokens).
 */
function verify(token: string, secret: string, key: string): Payload | string {
  if (typeof token !== 'string' || token.length === 0 || token.length > 1_000_000) return 'context is empty or too long';
  let text = signedKvTokens.lookup(token, secret, key)?.text;
  if (text === undefined) {
    const parts = token.split('.');
    if (parts.length !== 2) return 'context is not of the form payload.signature';
    const [body, sig] = parts as [string, string];
    if (!b64urlRe.test(body) || !b64urlRe.test(sig)) return 'context is not base64url';
    const expected = tag(secret, key, body);
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'context signature does not match (forged, altered, or read from another key)';
    text = Buffer.from(body, 'base64url').toString('utf8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'context payload is not JSON';
  }
  if (typeof json !== 'object' || json === null) return 'context payload is not an object';
  const p = json as Record<string, unknown>;
  if (p.k === 'kv' && isVersionVector(p.vv)) {
    if (p.d === undefined) return { k: 'kv', vv: vvNormalize(p.vv) };
    if (Array.isArray(p.d) && p.d.every(isDotPair)) return { k: 'kv', vv: vvNormalize(p.vv), d: p.d as [string, number][] };
    return 'context payload has malformed dots';
  }
  if (p.k === 'cart-read') return 'context belongs to a cart, not to a key-value read';
  return 'context payload has the wrong shape';
}

function isDotPair(x: unknown): boolean {
  return Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && x[0] !== '' && Number.isSafeInteger(x[1]) && (x[1] as number) >= 1;
}

/** A read's context (a plain vector), or a write's (a vector and exact dots). */
export function encodeKvContext(ctx: VersionVector | CausalContext, secret: string, key: string): string {
  const c = isDotted(ctx) ? causalContext(ctx.vv, ctx.dots) : causalContext(ctx);
  const d = c.dots.map((x): [string, number] => [x.node, x.counter]);
  return sign({ k: 'kv', vv: c.vv, ...(d.length > 0 ? { d } : {}) }, secret, key);
}

/** What a kv context covers, or an error sentence (definite: the request must be refused). */
export function decodeKvContext(token: string, secret: string, key: string): CausalContext | { error: string } {
  const p = verify(token, secret, key);
  if (typeof p === 'string') return { error: p };
  const dots = (p.d ?? []).map(([node, counter]): Dot => ({ node, counter }));
  return causalContext(p.vv, dots);
}

function isDotted(x: VersionVector | CausalContext): x is CausalContext {
  return Array.isArray((x as { dots?: unknown }).dots) && typeof (x as { vv?: unknown }).vv === 'object';
}

/** What a cart context decodes to: the observed dots by item (frozen, without a prototype: any item name is a key). */
export type CartObserved = Readonly<Record<string, readonly string[]>>;

/**
 * A cart read context: the observed add-dots per item. It is a map item → dots, signed as a whole; a
 * remove uses only the entry of its own item.
 */
export function encodeCartContext(observed: Record<string, readonly string[]>, secret: string, key: string): string {
  const text = JSON.stringify({ k: 'cart-read', o: observed });
  const known = signedCartTokens.signed(secret, key, text);
  if (known !== undefined) return known;
  const body = Buffer.from(text, 'utf8').toString('base64url');
  const token = `${body}.${tag(secret, key, body).toString('base64url')}`;
  signedCartTokens.remember(token, secret, key, text, decodedCopy(observed));
  return token;
}

/**
 * What decoding `JSON.stringify(observed)` gives (the same items in the same order, copies of the same
 * dots), built without the text: a remove hands back the token of a read made moments before, and its
 * decode then skips the parse too. Undefined for anything but lists of strings (the parse decides those).
 */
function decodedCopy(observed: Record<string, readonly string[]>): CartObserved | undefined {
  const out = Object.create(null) as Record<string, readonly string[]>;
  for (const [item, dots] of Object.entries(observed)) {
    if (!Array.isArray(dots)) return undefined;
    for (const d of dots) if (typeof d !== 'string') return undefined;
    out[item] = Object.freeze(dots.slice());
  }
  return Object.freeze(out);
}

/**
 * Tokens this process signed (kv and cart contexts), each with the secret and key it was signed for and
 * its payload's JSON text. A cart remove hands back the token of a read made moments before, and a write
 * the token of the read or write before it (to the same node, behind a client's keep-alive connection,
 * as often as not). When it is one of these (the same
 * string, for the same secret and key), its signature would check and its body would decode to exactly
 * that text (JSON.stringify escapes lone surrogates, so the UTF-8 round trip is exact). So the decode
 * skips the HMAC and the base64 and goes straight to parsing the text, as the full check would next: the
 * same parse and the same checks, so the same result. Any other token (signed elsewhere, altered,
 * forged, or for another key or secret) is checked in full. Bounded like the key-hash memos: cleared when
 * full.
 */
class SignedTokens {
  private readonly map = new Map<string, SignedToken>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  /**
   * The same tokens by what they sign (the key, length-prefixed so that no key and text run into another,
   * then the payload text): a read of a state no write has changed since the last read answers the same
   * context, and a token is a function of secret, key and text, so it is signed once.
   */
  private readonly bySigned = new Map<string, { readonly secret: string; readonly token: string }>();

  remember(token: string, secret: string, key: string, text: string, decoded?: unknown): void {
    const size = token.length + 2 * text.length + key.length;
    if (size > this.maxChars) return;
    if (this.map.size >= this.maxEntries || this.chars + size > this.maxChars) {
      this.map.clear();
      this.bySigned.clear();
      this.chars = 0;
    }
    this.map.set(token, { secret, key, text, decoded });
    this.bySigned.set(`${key.length}:${key}${text}`, { secret, token });
    this.chars += size;
  }

  /** The token this process signed for this payload text, secret and key, else undefined. */
  signed(secret: string, key: string, text: string): string | undefined {
    const hit = this.bySigned.get(`${key.length}:${key}${text}`);
    return hit !== undefined && hit.secret === secret ? hit.token : undefined;
  }

  /** What this process signed as `token` for this secret and key, else undefined. */
  lookup(token: string, secret: string, key: string): SignedToken | undefined {
    const hit = this.map.get(token);
    return hit !== undefined && hit.secret === secret && hit.key === key ? hit : undefined;
  }
}

interface SignedToken {
  readonly secret: string;
  readonly key: string;
  /** The payload's JSON text. */
  readonly text: string;
  /** What the payload decodes to, once known (immutable, so shared by every decode of the token). */
  decoded: unknown;
}

const signedCartTokens = new SignedTokens(1 << 14, 1 << 26);
/** The kv contexts this process signed (a PUT's or a read's), checked the same way when they come back. */
const signedKvTokens = new SignedTokens(1 << 14, 1 << 24);

export function decodeCartContext(token: string, secret: string, key: string): CartObserved | { error: string } {
  if (typeof token !== 'string' || token.length === 0 || token.length > 4_000_000) return { error: 'context is empty or too long' };
  const signed = signedCartTokens.lookup(token, secret, key);
  if (signed?.decoded !== undefined) return signed.decoded as CartObserved;
  let text = signed?.text;
  if (text === undefined) {
    const parts = token.split('.');
    if (parts.length !== 2) return { error: 'context is not of the form payload.signature' };
    const [body, sig] = parts as [string, string];
    if (!b64urlRe.test(body) || !b64urlRe.test(sig)) return { error: 'context is not base64url' };
    const expected = tag(secret, key, body);
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'context signature does not match (forged, altered, or read from another key)' };
    text = Buffer.from(body, 'base64url').toString('utf8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: 'context payload is not JSON' };
  }
  const p = json as { k?: unknown; o?: unknown } | null;
  if (p === null || typeof p !== 'object' || p.k !== 'cart-read' || typeof p.o !== 'object' || p.o === null) {
    return { error: 'context is not a cart read context' };
  }
  const out = Object.create(null) as Record<string, readonly string[]>;
  for (const [item, dots] of Object.entries(p.o as Record<string, unknown>)) {
    if (!Array.isArray(dots) || !dots.every((d) => typeof d === 'string')) return { error: 'cart context has malformed dots' };
    out[item] = Object.freeze(dots as string[]);
  }
  Object.freeze(out);
  if (signed !== undefined) signed.decoded = out;
  return out;
}
