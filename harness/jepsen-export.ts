// The history in the shapes Jepsen's own checkers take, for `quorumlab export --format`:
//   set-full  cart histories for jepsen.checker/set-full: `:f :add :value x`, reads `:value #{…}`
//   knossos   register histories for Knossos-style register models: `:f :read`/`:write`, `:value [k v]`
//   elle-rw   register histories for Elle's rw-register: `:f :txn :value [[:w k v]]` / `[[:r k v]]`
// Several keys travel as jepsen.independent tuples `[k x]` (EDN has no MapEntry: see the README for turning
// the vectors back into tuples before independent/checker); `key` picks one key and writes bare values.
// Every format: keywords for :type/:f, integer processes, :nemesis for the nemesis (whose ops Jepsen
// records as :info both when they start and when they are done), times in ns, dense :index. The
// replica states of process "final" are no client operation and are left out.
import type { HistoryOp } from '../checkers/history.js';
import { EdnMap, ednSet, kw, type EdnValue } from './edn.js';

export const jepsenFormats = ['generic', 'set-full', 'knossos', 'elle-rw'] as const;
export type JepsenFormat = (typeof jepsenFormats)[number];

/** The history cannot be put in this format (a definite error: nothing was written). */
export class ExportError extends Error {}

const CART_FS = new Set(['add', 'remove', 'read']);
const REGISTER_FS = new Set(['get', 'put', 'delete']);

export interface JepsenExport {
  readonly ops: EdnMap[];
  /** What a reader must know about how Jepsen's checker will read this export (one line each). */
  readonly notes: string[];
}

/** Converts a validated history (harness/history-io.ts parseHistory) into Jepsen ops of `format`. */
export function toJepsen(history: readonly HistoryOp[], format: Exclude<JepsenFormat, 'generic'>, key?: string): JepsenExport {
  const clientFs = new Set(history.filter((op) => typeof op.process === 'number').map((op) => op.f));
  const wanted = format === 'set-full' ? CART_FS : REGISTER_FS;
  const foreign = [...clientFs].filter((f) => !wanted.has(f));
  if (foreign.length > 0) {
    const takes = format === 'set-full' ? 'a cart history (add, remove, read: workload cart or cart-kv)' : 'a register history (get, put, delete: workload register or pbs)';
    throw new ExportError(`--format ${format} takes ${takes}; this one has ${foreign.map((f) => `"${f}"`).join(', ')}`);
  }
  if (key !== undefined && !history.some((op) => op.key === key && typeof op.process === 'number')) {
    throw new ExportError(`--key ${key}: no client operation on that key in this history`);
  }
  const selected = history.filter((op) => op.process === 'nemesis' || (typeof op.process === 'number' && (key === undefined || op.key === key)));
  const convert = format === 'set-full' ? setFullConverter(selected) : format === 'knossos' ? knossosOp : elleOp;
  const wrap = (k: string, x: EdnValue): EdnValue => (key === undefined ? [k, x] : x);
  const invokes = new Map<number, HistoryOp>();
  const ops: EdnMap[] = [];
  for (const op of selected) {
    if (op.process === 'nemesis') {
      ops.push(jepsenOp(ops.length, op, kw('nemesis'), 'info', kw(op.f), keywordKeys(op.value)));
      continue;
    }
    const p = op.process as number;
    const invoke = op.type === 'invoke' ? op : invokes.get(p);
    if (op.type === 'invoke') invokes.set(p, op);
    else invokes.delete(p);
    const { f, value } = convert(op, invoke ?? op, wrap);
    ops.push(jepsenOp(ops.length, op, p, op.type, f, value));
  }
  const notes: string[] = [];
  const removes = selected.filter((op) => op.f === 'remove' && op.type === 'ok').length;
  if (format === 'set-full' && removes > 0) {
    notes.push(`${removes} acknowledged removes, kept as :f :remove: set-full knows no remove and reports an element a remove took as lost`);
  }
  const deletes = selected.filter((op) => op.f === 'delete' && op.type === 'invoke').length;
  if (format === 'elle-rw' && deletes > 0) {
    notes.push(`${deletes} deletes, written as [:w k nil]: Elle's rw-register assumes every write's value is unique`);
  }
  return { ops, notes };
}

type Wrap = (key: string, x: EdnValue) => EdnValue;
type Converter = (op: HistoryOp, invoke: HistoryOp, wrap: Wrap) => { f: EdnValue; value: EdnValue };

function jepsenOp(index: number, op: HistoryOp, process: EdnValue, type: string, f: EdnValue, value: EdnValue): EdnMap {
  const entries: [EdnValue, EdnValue][] = [[kw('type'), kw(type)], [kw('f'), f], [kw('process'), process], [kw('time'), op.time], [kw('value'), value], [kw('index'), index]];
  if (typeof op.node === 'string') entries.push([kw('node'), op.node]);
  if (typeof op.error === 'string') entries.push([kw('error'), op.error]);
  if (op.final === true) entries.push([kw('final'), true]);
  return new EdnMap(entries);
}

/** A nemesis value's field names as keywords (Jepsen's convention for maps it writes itself). */
function keywordKeys(v: unknown): EdnValue {
  if (Array.isArray(v)) return v.map(keywordKeys);
  if (v !== null && typeof v === 'object') return new EdnMap(Object.entries(v).map(([k, x]) => [kw(k), keywordKeys(x)]));
  return v as EdnValue;
}

/**
 * set-full wants one element per add. cart-kv records a unique add id (`addId` on the add, the
 * `entries` "<item>#<id>" on reads), so its elements are those entries; the server cart re-adds items
 * from a small pool and reads quantities, so its elements are the items present (quantity ≥ 1).
 */
function setFullConverter(history: readonly HistoryOp[]): Converter {
  const client = history.filter((op) => typeof op.process === 'number');
  const byEntry = client.filter((op) => op.f === 'add' && op.type === 'invoke').every((op) => typeof op['addId'] === 'string') &&
    client.filter((op) => op.f === 'read' && op.type === 'ok').every((op) => Array.isArray(op['entries'])) &&
    client.some((op) => op.f === 'add');
  return (op, invoke, wrap) => {
    const k = String(op.key);
    if (op.f === 'add') {
      const item = String(invoke.value ?? op.value);
      return { f: kw('add'), value: wrap(k, byEntry ? `${item}#${String(invoke['addId'])}` : item) };
    }
    if (op.f === 'remove') return { f: kw('remove'), value: wrap(k, (invoke.value ?? op.value ?? null) as EdnValue) };
    if (op.type !== 'ok') return { f: kw('read'), value: wrap(k, null) };
    const elements = byEntry ? (op['entries'] as unknown[]).map(String) : presentItems(op.value);
    // Each element once: a set literal with a repeated element is an error to Clojure's reader.
    return { f: kw('read'), value: wrap(k, ednSet([...new Set(elements)].sort())) };
  };
}

function presentItems(v: unknown): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
  return Object.entries(v as Record<string, unknown>).filter(([, n]) => typeof n === 'number' && n > 0).map(([item]) => item);
}

/**
 * What a register read returned: nothing is nil (the initial state), one version is that value, and
 * siblings are the sorted list of them — no single-valued register returns that, so a linearizability
 * checker rightly rejects it.
 */
function readValue(v: unknown): EdnValue {
  const versions = Array.isArray(v) ? v.filter((x) => x !== null).map((x) => x as EdnValue) : [];
  if (versions.length === 0) return null;
  if (versions.length === 1) return versions[0]!;
  return [...versions].sort((a, b) => String(a).localeCompare(String(b)));
}

/** A write's value: a put's argument, or nil for a delete (Knossos's register has no delete). */
function writeValue(op: HistoryOp, invoke: HistoryOp): EdnValue {
  return op.f === 'delete' ? null : ((invoke.value ?? op.value ?? null) as EdnValue);
}

const knossosOp: Converter = (op, invoke, wrap) => {
  const k = String(op.key);
  if (op.f === 'get') return { f: kw('read'), value: wrap(k, op.type === 'ok' ? readValue(op.value) : null) };
  return { f: kw('write'), value: wrap(k, writeValue(op, invoke)) };
};

/**
 * Elle's rw-register: one micro-op per transaction. Siblings become one read micro-op per version in
 * that transaction, which Elle reports as an internal inconsistency: a register read that saw two values.
 */
const elleOp: Converter = (op, invoke) => {
  const k = String(op.key);
  if (op.f === 'get') {
    if (op.type !== 'ok') return { f: kw('txn'), value: [[kw('r'), k, null]] };
    const v = readValue(op.value);
    const versions = Array.isArray(v) ? v : [v];
    return { f: kw('txn'), value: versions.map((x) => [kw('r'), k, x]) };
  }
  return { f: kw('txn'), value: [[kw('w'), k, writeValue(op, invoke)]] };
};
