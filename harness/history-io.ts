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
      parsed = JSON.parse(raw);
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
