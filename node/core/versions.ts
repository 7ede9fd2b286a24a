// One key's versions on one replica, as dotted version vectors (Riak KV 2.x style): each sibling carries
// the dot of the write that made it and the context (`past`) that write carried. A write supersedes
// exactly the siblings its context covers, so concurrent writes survive as siblings and a read-modify-write
// replaces exactly what it read, with no false conflicts and no sibling explosion.
//
// Invariant the node must keep for this to be sound: a replica receives a coordinator's write as the
// coordinator's whole resulting `Versions` for the key (merged with `versionsMerge`), not as the lone
// written sibling, and the coordinator is a replica that holds the key durably. Then whenever a state holds
// dot (c, k), it also holds (or holds something superseding) every earlier dot (c, j < k), which is what
// lets `versionsContext` summarise a read as a plain version vector without covering writes it never saw.
import { isOneShotActor } from './actor-ids.js';
import type { NodeId } from './env.js';
import { sha256Hex } from './hash.js';
import { jsonText, rememberJsonText } from './json-text.js';
import {
  type Dot,
  type VersionVector,
  dotCompare,
  isVersionVector,
  pruneVersionVector,
  vvCovers,
  vvNormalize,
} from './version-vector.js';

export interface Sibling {
  readonly dot: Dot;
  /** The causal context the write carried: what its client had read before writing. */
  readonly past: VersionVector;
  /**
   * Dots beyond `past` the write's context named one by one (absent: none). A PUT hands back a context of
   * exactly what its client sent plus the new version; when that version's dot is not contiguous with the
   * client's entry for its coordinator (the coordinator minted concurrent writes the client never saw), a
   * version vector cannot name it without also covering those, so the context carries it as an exact dot,
   * and so does the past of the write made with it.
   */
  readonly pastDots?: readonly Dot[];
  /** The value; null is a tombstone (a delete). */
  readonly value: Uint8Array | null;
  /** The coordinator's wall clock when it accepted the write (for LWW and tombstone reaping). */
  readonly wallMs: number;
  readonly writer: NodeId;
}

export interface Versions {
  /** Mutually concurrent siblings in canonical order (by dot). */
  readonly siblings: readonly Sibling[];
}

export const emptyVersions: Versions = Object.freeze({ siblings: Object.freeze([]) as readonly Sibling[] });

/**
 * Byte order, then length (the sign is all callers use). Native: every replica write compares the stored
 * versions with the merged ones, and a byte loop over 1 KiB values was a measurable share of a node's CPU.
 */
function bytesCompare(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return Buffer.compare(a, b);
}

function strCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A total order on whole siblings. Two siblings with the same dot should be identical; if a faulty node
 * ever minted one dot twice, this still makes the choice between them the same on every replica.
 */
function siblingCompare(a: Sibling, b: Sibling): number {
  if (a === b) return 0;
  return (
    dotCompare(a.dot, b.dot) ||
    a.wallMs - b.wallMs ||
    strCompare(a.writer, b.writer) ||
    bytesCompare(a.value, b.value) ||
    strCompare(JSON.stringify(vvNormalize(a.past)), JSON.stringify(vvNormalize(b.past))) ||
    strCompare(JSON.stringify(a.pastDots ?? []), JSON.stringify(b.pastDots ?? []))
  );
}

/**
 * The siblings in canonical order: the list itself when it already is (strictly increasing dots, as every
 * state this module builds holds), so comparing, merging and encoding a state does not sort it again.
 */
function canonicalSiblings(siblings: readonly Sibling[]): readonly Sibling[] {
  for (let i = 1; i < siblings.length; i++) if (dotCompare(siblings[i - 1]!.dot, siblings[i]!.dot) >= 0) return canonical(siblings).siblings;
  return siblings;
}

/** Sorts by dot and keeps one sibling per dot (the greatest by `siblingCompare`, so the choice is canonical). */
function canonical(siblings: readonly Sibling[]): Versions {
  const sorted = [...siblings].sort(siblingCompare);
  const out: Sibling[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && dotCompare(last.dot, s.dot) === 0) out[out.length - 1] = s;
    else out.push(s);
  }
  return { siblings: out };
}

/** Builds a canonical Versions from any list of siblings, dropping those another one's past covers. */
export function versionsFromSiblings(siblings: readonly Sibling[]): Versions {
  const all = canonical(siblings).siblings;
  // A sibling is obsolete when some OTHER sibling's past covers its dot. Comparing every pair is quadratic,
  // and blind writes in vclock mode legitimately pile up many siblings, so instead keep, per node, the
  // largest and second-largest counter any past holds (and who holds the largest): the largest counter
  // among the others is then one lookup per sibling.
  const best = new Map<NodeId, { top: number; holder: number; second: number }>();
  all.forEach((s, index) => {
    for (const [node, counter] of Object.entries(s.past)) {
      const entry = best.get(node);
      if (entry === undefined) best.set(node, { top: counter, holder: index, second: 0 });
      else if (counter > entry.top) best.set(node, { top: counter, holder: index, second: entry.top });
      else if (counter > entry.second) entry.second = counter;
    }
  });
  // Exact dots some sibling's context named (pastDots): never a sibling's own dot, so "some other".
  const named = new Set<string>();
  for (const s of all) for (const d of s.pastDots ?? []) named.add(dotKey(d));
  return {
    siblings: all.filter((x, index) => {
      if (named.size > 0 && named.has(dotKey(x.dot))) return false;
      const entry = best.get(x.dot.node);
      if (entry === undefined) return true;
      const othersMax = entry.holder === index ? entry.second : entry.top;
      return othersMax < x.dot.counter;
    }),
  };
}

const dotKey = (d: Dot): string => `${d.counter}@${d.node}`;

/** What a reader of this state has seen: the join of every sibling's past and dot. */
export function versionsContext(v: Versions): VersionVector {
  // The pointwise maximum of every past and dot, normalised once (a merge and a dot added per sibling
  // sorted a fresh vector twice for each; every write and read computes this).
  // A sibling's exact past dots stay out: the state need not hold what a gap below one names (the write
  // that named it may have been coordinated by a node that never held those), see versionsReadContext.
  const out: Record<NodeId, number> = {};
  for (const s of v.siblings) {
    for (const node of Object.keys(s.past)) {
      const c = s.past[node] as number;
      if (c > (out[node] ?? 0)) out[node] = c;
    }
    if (s.dot.counter > (out[s.dot.node] ?? 0)) out[s.dot.node] = s.dot.counter;
  }
  return vvNormalize(out);
}

/**
 * What a reader of this state has seen, exactly: `versionsContext` and the exact dots the siblings' pasts
 * name beyond it (a write made with it then also supersedes those, on replicas that still hold them).
 */
export function versionsReadContext(v: Versions): CausalContext {
  return causalContext(versionsContext(v), v.siblings.flatMap((s) => s.pastDots ?? []));
}

/**
 * What a write's client had seen: a version vector plus exact dots beyond it (a dotted causal context).
 * Reads hand back a plain vector (`dots` empty); a PUT hands back what its client sent plus its new dot.
 */
export interface CausalContext {
  readonly vv: VersionVector;
  /** Canonical: sorted by dot, none covered by `vv`, at most `maxContextDots`. */
  readonly dots: readonly Dot[];
}

/**
 * Exact dots a context keeps (the newest by counter per coordinator, then by node). Dropping one is safe
 * for the reason pruning a vector is (version-vector.ts): the context covers less than the client saw, so a
 * later write supersedes fewer siblings — a spurious sibling, never a lost write.
 */
export const maxContextDots = 32;

export function causalContext(vv: VersionVector, dots: readonly Dot[] = []): CausalContext {
  // No exact dots (every read's context, and most writes'): nothing to fold.
  if (dots.length === 0) return { vv: vvNormalize(vv), dots: [] };
  let out: Record<NodeId, number> = { ...vvNormalize(vv) };
  let rest = [...dots].sort(dotCompare);
  // Fold each dot contiguous with the vector into it, repeatedly (n:3 then n:4 after {n:2}).
  for (let changed = true; changed;) {
    changed = false;
    const left: Dot[] = [];
    for (const d of rest) {
      const have = out[d.node] ?? 0;
      if (d.counter <= have) continue;
      if (d.counter === have + 1) {
        out = { ...out, [d.node]: d.counter };
        changed = true;
      } else left.push(d);
    }
    rest = left.filter((d, i) => i === 0 || dotCompare(left[i - 1]!, d) !== 0);
  }
  if (rest.length > maxContextDots) rest = [...rest].sort((a, b) => b.counter - a.counter || dotCompare(a, b)).slice(0, maxContextDots).sort(dotCompare);
  return { vv: vvNormalize(out), dots: rest };
}

export function causalContextCovers(ctx: CausalContext, dot: Dot): boolean {
  return vvCovers(ctx.vv, dot) || ctx.dots.some((d) => d.node === dot.node && d.counter === dot.counter);
}

/**
 * Coordinator side of a put or delete. The new dot is one past anything this coordinator has minted for
 * the key as far as either its own state or the client's context knows. The result keeps exactly the
 * existing siblings the context does not cover: a context write replaces what it saw, and a blind write
 * (empty context) becomes a sibling of everything.
 */
export function versionsWrite(
  v: Versions,
  context: VersionVector | CausalContext,
  value: Uint8Array | null,
  coordinator: NodeId,
  wallMs: number,
  /** The new dot's counter when the caller keeps its own (test fault 'actor-reuse' only). */
  givenCounter?: number,
  /** A counter the new dot must exceed whatever the state says: what this actor already minted for the key. */
  mintedFloor = 0,
): { versions: Versions; written: Sibling } {
  const ctx = isCausalContext(context) ? causalContext(context.vv, context.dots) : causalContext(context);
  const local = versionsContext(v);
  // Exact dots count too, the state's and the client's: a dot named only as an exact dot (its sibling
  // superseded by the write that named it) must never be minted again.
  let named = 0;
  for (const d of [...ctx.dots, ...v.siblings.flatMap((s) => s.pastDots ?? [])]) if (d.node === coordinator && d.counter > named) named = d.counter;
  const counter = givenCounter ?? Math.max(local[coordinator] ?? 0, ctx.vv[coordinator] ?? 0, named, mintedFloor) + 1;
  const written: Sibling = {
    dot: { node: coordinator, counter },
    past: ctx.vv,
    ...(ctx.dots.length > 0 ? { pastDots: ctx.dots } : {}),
    value,
    wallMs,
    writer: coordinator,
  };
  const kept = v.siblings.filter((s) => !causalContextCovers(ctx, s.dot));
  return { versions: canonical([...kept, written]), written };
}

/** A CausalContext rather than a plain vector (whose entries are all numbers). */
function isCausalContext(x: VersionVector | CausalContext): x is CausalContext {
  return Array.isArray((x as { dots?: unknown }).dots) && typeof (x as { vv?: unknown }).vv === 'object';
}

/**
 * DVV synchronisation of two replicas' states: a sibling survives unless the other side holds a sibling
 * whose past covers it (that sibling was written by a client that had seen it). Computed over the union,
 * so it is commutative and idempotent, and associative for states produced by writes and merges.
 */
export function versionsMerge(a: Versions, b: Versions): Versions {
  return versionsFromSiblings([...a.siblings, ...b.siblings]);
}

/** The live values (tombstones left out), in canonical order. */
export function versionsLive(v: Versions): Sibling[] {
  return v.siblings.filter((s) => s.value !== null);
}

/** Whether only deletes remain: at least one sibling, and every one a tombstone (what the reaper may drop). */
export function versionsIsTombstone(v: Versions): boolean {
  return v.siblings.length > 0 && v.siblings.every((s) => s.value === null);
}

export function versionsIsEmpty(v: Versions): boolean {
  return v.siblings.length === 0;
}

export function versionsEqual(a: Versions, b: Versions): boolean {
  if (a === b) return true;
  const ca = canonicalSiblings(a.siblings);
  const cb = canonicalSiblings(b.siblings);
  return ca.length === cb.length && ca.every((s, i) => siblingCompare(s, cb[i] as Sibling) === 0);
}

/** Per node, the wall-clock time of the newest sibling it coordinated here: the age `pruneVersionVector` uses. */
export function versionsEntryTimes(v: Versions): Record<NodeId, number> {
  const out: Record<NodeId, number> = {};
  for (const s of v.siblings) out[s.dot.node] = Math.max(out[s.dot.node] ?? Number.NEGATIVE_INFINITY, s.wallMs);
  return out;
}

/**
 * The context to hand back to a client, bounded to `maxEntries` entries (0 or less: unbounded), the
 * entries of one-shot actors dropped first. See `pruneVersionVector` for why pruning only here is safe (it
 * can add siblings, never lose a write).
 */
export function versionsClientContext(v: Versions, maxEntries: number): CausalContext {
  const read = versionsReadContext(v);
  return maxEntries > 0 ? causalContext(pruneVersionVector(read.vv, maxEntries, versionsEntryTimes(v), isOneShotActor), read.dots) : read;
}

// ---- Last write wins -------------------------------------------------------------------------------

/** LWW order: the later wall clock wins; ties break by writer, then dot, so every replica picks the same. */
export function lwwCompare(a: Sibling, b: Sibling): number {
  return a.wallMs - b.wallMs || strCompare(a.writer, b.writer) || dotCompare(a.dot, b.dot) || siblingCompare(a, b);
}

function lwwPick(siblings: readonly Sibling[]): Versions {
  let best: Sibling | undefined;
  for (const s of siblings) if (best === undefined || lwwCompare(s, best) > 0) best = s;
  return best === undefined ? emptyVersions : { siblings: [best] };
}

/**
 * An LWW write. The new version competes with the stored one on wall-clock time and really loses if the
 * coordinator's clock is behind the stored version's: that silent loss is what LWW costs, and the harness
 * exists to show it. `written` is the attempted version whether or not it survived.
 */
export function lwwWrite(
  v: Versions,
  value: Uint8Array | null,
  coordinator: NodeId,
  wallMs: number,
): { versions: Versions; written: Sibling } {
  const past = versionsContext(v);
  const written: Sibling = {
    dot: { node: coordinator, counter: (past[coordinator] ?? 0) + 1 },
    past,
    value,
    wallMs,
    writer: coordinator,
  };
  return { versions: lwwPick([...v.siblings, written]), written };
}

/** Keeps the single LWW winner of both states and drops everything else. */
export function lwwMerge(a: Versions, b: Versions): Versions {
  return lwwPick([...a.siblings, ...b.siblings]);
}

// ---- Encoding ---------------------------------------------------------------------------------------

interface SiblingJson {
  n: NodeId;
  c: number;
  p: Record<NodeId, number>;
  v: string | null;
  t: number;
  w: NodeId;
  /** pastDots as [node, counter] pairs; absent when none (so states without them encode as before). */
  d?: [NodeId, number][];
}

/**
 * Each sibling's JSON form and that form's text, built once: siblings are immutable and shared between
 * states (a merge keeps the very sibling objects of both sides), so a replica storing a merged state, and a
 * coordinator storing and fanning out a new version, encode only the siblings that are new to them. A
 * state's text is then its siblings' texts joined, the same text JSON.stringify gives for its JSON form,
 * without scanning every value's base64 again. A sibling decoded from a JSON form keeps that form's
 * base64 (checked to be the canonical encoding of its bytes), so it is never encoded again either.
 */
interface SiblingCode {
  readonly json: SiblingJson;
  readonly text: string;
}

/**
 * A sibling's code is kept on the sibling itself, under a symbol in a non-enumerable property (which
 * JSON.stringify, for-in, Object.keys and object spread skip, and a parsed form never has), rather than in
 * a WeakMap: one is made per write on every replica, and weak entries that many cost the collector more
 * than the lookups save (each is an ephemeron it revisits at every scavenge). A sibling that cannot take
 * a property (frozen by its maker) keeps its code in the WeakMap instead.
 */
const codeSlot: unique symbol = Symbol('sibling code');
const siblingCodes = new WeakMap<Sibling, SiblingCode>();

function storedCode(s: Sibling): SiblingCode | undefined {
  const own = (s as { [codeSlot]?: SiblingCode })[codeSlot];
  return own !== undefined ? own : Object.isExtensible(s) ? undefined : siblingCodes.get(s);
}

function storeCode(s: Sibling, code: SiblingCode): void {
  if (Object.isExtensible(s)) Object.defineProperty(s, codeSlot, { value: code });
  else siblingCodes.set(s, code);
}

function siblingCode(s: Sibling, b64?: string): SiblingCode {
  let code = storedCode(s);
  if (code === undefined) {
    const v = s.value === null ? null : (b64 ?? Buffer.from(s.value.buffer, s.value.byteOffset, s.value.byteLength).toString('base64'));
    const d = s.pastDots !== undefined && s.pastDots.length > 0 ? s.pastDots.map((x): [NodeId, number] => [x.node, x.counter]) : undefined;
    const json: SiblingJson = { n: s.dot.node, c: s.dot.counter, p: { ...vvNormalize(s.past) }, v, t: s.wallMs, w: s.writer, ...(d !== undefined ? { d } : {}) };
    Object.freeze(json.p);
    if (d !== undefined) Object.freeze(d.map((x) => Object.freeze(x)));
    Object.freeze(json);
    // The text JSON.stringify(json) gives, field by field in the same order; a base64 string needs no
    // escaping, so it is pasted in as it is.
    const text =
      `{"n":${JSON.stringify(json.n)},"c":${JSON.stringify(json.c)},"p":${JSON.stringify(json.p)},"v":${v === null ? 'null' : `"${v}"`},` +
      `"t":${JSON.stringify(json.t)},"w":${JSON.stringify(json.w)}${d !== undefined ? `,"d":${JSON.stringify(d)}` : ''}}`;
    code = { json, text };
    storeCode(s, code);
  }
  return code;
}

/** Deterministic JSON: canonical sibling order, sorted vector keys, base64 values. Its text is known (jsonText). */
export function versionsToJson(v: Versions): { s: SiblingJson[] } {
  const codes = canonicalSiblings(v.siblings).map((s) => siblingCode(s));
  const json = { s: codes.map((c) => c.json) };
  rememberJsonText(json, `{"s":[${codes.map((c) => c.text).join(',')}]}`);
  return json;
}

const utf8 = new TextEncoder();

export function encodeVersions(v: Versions): Uint8Array {
  return utf8.encode(jsonText(versionsToJson(v)));
}

function malformed(why: string): never {
  throw new Error(`malformed versions encoding: ${why}`);
}

/** The bytes of a value's base64, which must be the canonical (padded, standard alphabet) encoding of them. */
function valueOf(b64: string): Uint8Array {
  // Decoded into a buffer of its own (not a slice of Node's shared pool: a value owns its bytes), sized by
  // the base64's length, which canonical base64 fills exactly.
  const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(b64, 'base64'));
  const n = buf.write(b64, 'base64');
  // Node's decoder skips what it cannot read; re-encoding tells canonical base64 from anything else.
  if (n !== buf.length || buf.toString('base64') !== b64) malformed('value is neither base64 nor null');
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}

/**
 * Siblings decoded here lately, by dot. A replica is sent a key's whole versions with every write (see the
 * invariant at the top), so all but the newest sibling are ones it decoded before; and a value's base64
 * decoding (and the check that it is canonical) was the largest cost of decoding a message. A sibling read
 * again with exactly the same fields (the value's base64 compared as a string) is that same immutable
 * sibling, so the earlier object is returned. Bounded like the key-hash memos (entries and value bytes):
 * cleared when full.
 */
const interned = new Map<string, Sibling>();
const internLimit = 4096;
/** Values may be large (up to limits.ts maxValueBytes): the map also holds at most this many value bytes. */
const internByteLimit = 32 * 1024 * 1024;
let internedBytes = 0;

function intern(s: Sibling): void {
  const bytes = s.value?.byteLength ?? 0;
  if (bytes > internByteLimit / 8) return;
  if (interned.size >= internLimit || internedBytes + bytes > internByteLimit) {
    interned.clear();
    internedBytes = 0;
  }
  interned.set(dotKey(s.dot), s);
  internedBytes += bytes;
}

/**
 * Whether a decoded vector normalises to `normal` (a normalised one): the same entries, in any order. A
 * vector with a zero entry does not match here and takes the normalising path, with the same outcome.
 */
function sameVector(raw: Readonly<Record<string, unknown>>, normal: VersionVector): boolean {
  let n = 0;
  for (const node in raw) {
    if (raw[node] !== normal[node]) return false;
    n++;
  }
  for (const node in normal) n--;
  return n === 0;
}

function internedSibling(n: string, c: number, past: Readonly<Record<string, unknown>>, pastDots: readonly Dot[] | undefined, v: string | null, t: number, w: string): Sibling | undefined {
  const s = interned.get(`${c}@${n}`);
  if (s === undefined) return undefined;
  const j = siblingCode(s).json;
  if (j.v !== v || j.t !== t || j.w !== w || j.n !== n || j.c !== c) return undefined;
  if (!sameVector(past, j.p)) return undefined;
  const d = pastDots ?? [];
  const jd = j.d ?? [];
  if (d.length !== jd.length || d.some((x, i) => x.node !== jd[i]![0] || x.counter !== jd[i]![1])) return undefined;
  return s;
}

export function versionsFromJson(json: unknown): Versions {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { s?: unknown }).s)) malformed('no sibling list');
  const siblings = ((json as { s: unknown[] }).s).map((raw): Sibling => {
    if (typeof raw !== 'object' || raw === null) malformed('sibling is not an object');
    const r = raw as Partial<Record<keyof SiblingJson, unknown>>;
    if (typeof r.n !== 'string' || r.n === '') malformed('dot node is not a string');
    if (!Number.isSafeInteger(r.c) || (r.c as number) < 1) malformed('dot counter is not a positive integer');
    if (!isVersionVector(r.p)) malformed('past is not a version vector');
    if (r.v !== null && typeof r.v !== 'string') malformed('value is neither base64 nor null');
    if (typeof r.t !== 'number' || !Number.isFinite(r.t)) malformed('wall time is not a number');
    if (typeof r.w !== 'string') malformed('writer is not a string');
    let pastDots: Dot[] | undefined;
    if (r.d !== undefined) {
      if (!Array.isArray(r.d) || r.d.length === 0) malformed('past dots are not a non-empty list');
      pastDots = (r.d as unknown[]).map((x): Dot => {
        if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'string' || x[0] === '' || !Number.isSafeInteger(x[1]) || (x[1] as number) < 1) malformed('past dot is not [node, counter]');
        return { node: x[0] as string, counter: x[1] as number };
      });
    }
    // A sibling decoded here before is found without normalising its past (a sorted copy per sibling).
    const known = internedSibling(r.n, r.c as number, r.p, pastDots, r.v as string | null, r.t, r.w);
    if (known !== undefined) return known;
    const past = vvNormalize(r.p);
    const sibling: Sibling = {
      dot: { node: r.n, counter: r.c as number },
      past,
      ...(pastDots !== undefined ? { pastDots } : {}),
      value: r.v === null ? null : valueOf(r.v as string),
      wallMs: r.t,
      writer: r.w,
    };
    if (typeof r.v === 'string') siblingCode(sibling, r.v);
    intern(sibling);
    return sibling;
  });
  return { siblings: canonicalSiblings(siblings) };
}

/** Decodes `encodeVersions` output; throws on malformed bytes (a definite error: nothing is applied). */
export function decodeVersions(bytes: Uint8Array): Versions {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    malformed(`not JSON (${(err as Error).message})`);
  }
  return versionsFromJson(json);
}

/** A digest of a state, for Merkle leaves and digests: equal states give equal hashes on every node. */
export function versionsHash(v: Versions): string {
  return sha256Hex(encodeVersions(v));
}
