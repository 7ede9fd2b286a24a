// Reading and writing history.jsonl with strict validation: a malformed history is refused with the line
// that broke it, because a checker verdict over a corrupt history would be meaningless.
import { closeSync, openSync, readSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import type { HistoryOp } from '../checkers/history.js';

/** A definite error in a history file: the file cannot be checked as it is. */
export class HistoryError extends Error {
  constructor(readonly source: string, readonly line: number, detail: string) {
    super(`${source}:${line}: ${detail}`);
    this.name = 'HistoryError';
  }
}

/** Bytes read per chunk: the file is never held whole (a 1,000,000-op history is about 120 MB). */
const CHUNK_BYTES = 4 << 20;

/**
 * Reads and validates a history file chunk by chunk. A chunk ends at its last newline (a newline byte never
 * occurs inside a multi-byte UTF-8 sequence, so each chunk decodes on its own); an ASCII chunk, the usual
 * case, decodes as latin1, which is the same text and cheaper than UTF-8. `chunkBytes` is for tests.
 */
export function readHistory(path: string, chunkBytes = CHUNK_BYTES): HistoryOp[] {
  const parser = new HistoryParser(path);
  const fd = openSync(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(chunkBytes);
    let filled = 0;
    for (;;) {
      if (filled === buf.length) {
        // One line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const n = readSync(fd, buf, filled, buf.length - filled, null);
      if (n === 0) break;
      filled += n;
      const cut = buf.lastIndexOf(10, filled - 1);
      if (cut < 0) continue;
      parser.feed(decode(buf, 0, cut));
      // The partial last line moves to the front for the next read.
      buf.copy(buf, 0, cut + 1, filled);
      filled -= cut + 1;
    }
    if (filled > 0) parser.feed(decode(buf, 0, filled));
  } finally {
    closeSync(fd);
  }
  return parser.end();
}

function decode(buf: Buffer, start: number, end: number): string {
  return isAscii(buf.subarray(start, end)) ? buf.toString('latin1', start, end) : buf.toString('utf8', start, end);
}

/** Parses JSON Lines into ops, validating the format and the per-process invoke/complete discipline. */
export function parseHistory(text: string, sourceName = 'history.jsonl'): HistoryOp[] {
  const parser = new HistoryParser(sourceName);
  parser.feed(text);
  return parser.end();
}

/** What the validation remembers of one process. */
interface ProcessState {
  /** Time and index of its previous event (time -1 before the first). */
  time: number;
  index: number;
  /** Its open invoke, if any. */
  open: HistoryOp | undefined;
  /** Whether it completed an op with info (a crashed client process never issues again). */
  crashed: boolean;
}

/** Client processes below this number are kept in an array (no hashing); others (nemesis, final readers) in a Map. */
const DENSE_PROCESSES = 1 << 16;

const fail = (source: string, line: number, detail: string): never => {
  throw new HistoryError(source, line, detail);
};

/**
 * The line-by-line validator behind parseHistory and readHistory. `feed` takes whole lines, separated by line
 * breaks, the last one ending where the text ends (a reader feeds each chunk without its final line break).
 * Lines are numbered from 1 across feeds, as `text.split('\n')` numbers them; blank lines are skipped.
 */
class HistoryParser {
  private readonly ops: HistoryOp[] = [];
  private readonly dense: (ProcessState | undefined)[] = [];
  private readonly other = new Map<number | string, ProcessState>();
  private lineNo = 0;

  constructor(private readonly source: string) {}

  feed(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const end = nl < 0 ? text.length : nl;
      this.lineNo++;
      if (end > start) this.line(text.slice(start, end));
      if (nl < 0) return;
      start = nl + 1;
    }
  }

  end(): HistoryOp[] {
    return this.ops;
  }

  private state(p: number | string): ProcessState {
    if (typeof p === 'number' && p >= 0 && p < DENSE_PROCESSES) {
      const s = this.dense[p];
      if (s !== undefined) return s;
      // Grow with undefined rather than leaving holes, so the array stays packed.
      while (this.dense.length <= p) this.dense.push(undefined);
      return (this.dense[p] = { time: -1, index: -1, open: undefined, crashed: false });
    }
    let s = this.other.get(p);
    if (s === undefined) this.other.set(p, (s = { time: -1, index: -1, open: undefined, crashed: false }));
    return s;
  }

  private line(text: string): void {
    const first = text.charCodeAt(0);
    const last = text.charCodeAt(text.length - 1);
    // Only a line that starts or ends with something other than its braces can carry whitespace to trim.
    const raw = first === 123 && last === 125 ? text : text.trim();
    if (raw === '') return;
    const source = this.source;
    const lineNo = this.lineNo;
    const ops = this.ops;
    let parsed: unknown;
    try {
      parsed = parseHistoryLine(raw);
    } catch (err) {
      fail(source, lineNo, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail(source, lineNo, 'expected a JSON object');
    const op = parsed as HistoryOp;
    if (!Number.isInteger(op.index)) fail(source, lineNo, 'missing or non-integer "index"');
    if (op.index !== ops.length) fail(source, lineNo, `"index" is ${String(op.index)}, expected ${ops.length} (indices count 0, 1, 2, … in file order)`);
    const time = op.time;
    if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) fail(source, lineNo, 'missing or invalid "time" (nanoseconds, a non-negative number)');
    const p = op.process as unknown;
    const client = Number.isInteger(p);
    if (!(client || p === 'nemesis' || p === 'final')) fail(source, lineNo, '"process" must be an integer, "nemesis" or "final"');
    const type = op.type as unknown;
    // Compared one by one rather than looked up in a Set: no hashing of a fresh string per line.
    if (!(type === 'invoke' || type === 'ok' || type === 'fail' || type === 'info')) fail(source, lineNo, '"type" must be one of invoke, ok, fail, info');
    if (typeof op.f !== 'string' || op.f === '') fail(source, lineNo, 'missing "f"');
    if (client && typeof op.key !== 'string') fail(source, lineNo, 'a client op needs a "key"');
    const st = this.state(p as number | string);
    // A process is sequential and the file is in observation order: its events cannot go back in time.
    if (st.index >= 0 && time < st.time) {
      fail(source, lineNo, `process ${String(p)} goes back in time: "time" ${String(time)} is before its previous event's ${st.time} (index ${st.index}); a process's events must be in time order`);
    }
    st.time = time;
    st.index = op.index;
    if (p === 'final') {
      if (type === 'invoke') fail(source, lineNo, 'process "final" records completed states only, never an invoke');
    } else if (type === 'invoke') {
      if (st.crashed && client) fail(source, lineNo, `process ${String(p)} invoked again after an info (a crashed process never issues again)`);
      const open = st.open;
      if (open !== undefined && client) fail(source, lineNo, `process ${String(p)} already has an op in flight (index ${open.index}); at most one op per process`);
      st.open = op;
    } else {
      const open = st.open;
      if (open === undefined) {
        // A nemesis may record a lone completion (an instantaneous change); clients may not.
        if (client) fail(source, lineNo, `"${String(type)}" for process ${String(p)} without a preceding invoke`);
      } else {
        if (open.f !== op.f) fail(source, lineNo, `completion f "${String(op.f)}" does not match the invoke's f "${open.f}" (index ${open.index})`);
        if (client && open.key !== op.key) fail(source, lineNo, `completion key "${String(op.key)}" does not match the invoke's key "${String(open.key)}" (index ${open.index})`);
        st.open = undefined;
      }
      if (type === 'info' && client) st.crashed = true;
    }
    ops.push(op);
  }
}

/**
 * JSON.parse of one history line: the same value, or the same error. A line whose `value` is a flat map of
 * items to quantities (a cart read, a replica's cart) has that map built here instead: JSON.parse gives each
 * such object a hidden class for its order of keys, and a cart's items come in so many orders that making
 * those classes was the larger part of parsing a cart history (1,000,000-op bench history, loaded 2-core
 * machine: 3.0-3.1 s of CPU for the parse, 2.4 s this way). The map built here is an ordinary object with
 * the same own properties in the same order, created in V8's dictionary mode, which makes no hidden classes;
 * the checkers read such objects as fast (the same measurement: 2.2-3.0 s for the cart checkers, against 3.0-3.1).
 */
export function parseHistoryLine(raw: string): unknown {
  const at = raw.indexOf('"value":{');
  if (at > 0) {
    const op = withItemMap(raw, at);
    if (op !== undefined) return op;
  }
  return JSON.parse(raw);
}

/**
 * The line parsed with the `value` key at `at` built by itemMap, or undefined when that does not give exactly
 * what JSON.parse gives (then JSON.parse decides, errors included).
 */
function withItemMap(raw: string, at: number): Record<string, unknown> | undefined {
  // `"value":` must be a key of the line's own object: outside any string, one level deep.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < at; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  if (inString || depth !== 1) return undefined;
  const start = at + '"value":'.length;
  const items = itemMap(raw, start);
  if (items === undefined) return undefined;
  const end = itemMapEnd;
  // A later "value" key would be the one JSON.parse keeps (this also declines the word in a later string).
  if (raw.indexOf('"value"', end) >= 0) return undefined;
  let op: unknown;
  try {
    // The rest of the line, with a number standing in for the map: valid exactly when the line is, as the map
    // is a complete JSON value.
    op = JSON.parse(raw.slice(0, start) + '0' + raw.slice(end));
  } catch {
    return undefined;
  }
  if (op === null || typeof op !== 'object' || (op as Record<string, unknown>).value !== 0) return undefined;
  // The own property JSON.parse made, in its place: only its value changes.
  (op as Record<string, unknown>).value = items;
  return op as Record<string, unknown>;
}

/** Where the map itemMap last returned ends (just past its "}"). */
let itemMapEnd = 0;

/**
 * The JSON object at raw[start] ("{") if it is a non-empty flat map of strings to plain integers written without
 * spaces (`{"sku-1":2,"sku-7":1}`), else undefined. Keys without escapes or control characters, values of at
 * most 15 digits without sign or leading zero (exact as doubles), so each key and value is what JSON.parse reads.
 */
function itemMap(raw: string, start: number): Record<string, number> | undefined {
  let p = start + 1;
  if (raw.charCodeAt(p) === 125) return undefined;
  // Deleting a property other than the last one turns an object into V8's dictionary mode: a hash table of
  // properties in insertion order, with no hidden class per order of keys. The object is as any other: its
  // prototype is Object.prototype, and it keeps no trace of the two deleted properties.
  const out: Record<string, number> = { a: 0, b: 0 };
  delete out.a;
  delete out.b;
  for (;;) {
    if (raw.charCodeAt(p) !== 34) return undefined;
    const q = raw.indexOf('"', p + 1);
    if (q < 0) return undefined;
    for (let i = p + 1; i < q; i++) {
      const c = raw.charCodeAt(i);
      if (c < 32 || c === 92) return undefined;
    }
    const key = raw.slice(p + 1, q);
    // An assignment to "__proto__" would set the prototype, where JSON.parse makes an own property.
    if (key === '__proto__') return undefined;
    p = q + 1;
    if (raw.charCodeAt(p) !== 58) return undefined;
    const digits = ++p;
    let n = 0;
    for (let c = raw.charCodeAt(p); c >= 48 && c <= 57; c = raw.charCodeAt(++p)) n = n * 10 + (c - 48);
    const length = p - digits;
    if (length === 0 || length > 15 || (length > 1 && raw.charCodeAt(digits) === 48)) return undefined;
    // A repeated key keeps its first place and takes the last value, as with JSON.parse.
    out[key] = n;
    const c = raw.charCodeAt(p);
    if (c === 44) {
      p++;
      continue;
    }
    if (c !== 125) return undefined;
    itemMapEnd = p + 1;
    return out;
  }
}

/** One history line (no trailing newline), with fields in the documented order. */
export function formatHistoryLine(op: HistoryOp): string {
  const { index, time, process, type, f, key, value, node, context, error, ...rest } = op;
  const ordered: Record<string, unknown> = { index, time, process, type, f };
  if (key !== undefined) ordered.key = key;
  if (value !== undefined) ordered.value = value;
  if (node !== undefined) ordered.node = node;
  if (context !== undefined) ordered.context = context;
  if (error !== undefined) ordered.error = error;
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) ordered[k] = v;
  return JSON.stringify(ordered);
}
