// EDN text: the writer behind `quorumlab export`. JSON has no keywords or sets, so values that must be
// EDN keywords or sets are wrapped (kw, ednSet); everything else maps from JSON as it is. The generic
// export (historyToEdn) is lossless: every field of every op, string-keyed value maps as they were.
import type { HistoryOp } from '../checkers/history.js';

/** An EDN keyword (`:name`). */
export class Keyword {
  constructor(readonly name: string) {}
}

/** An EDN set (`#{…}`), written in the order given (EDN sets are unordered; a fixed order keeps exports diffable). */
export class EdnSet {
  constructor(readonly items: readonly EdnValue[]) {}
}

/** An EDN map whose keys may be any EDN value (a plain object's keys are strings). */
export class EdnMap {
  constructor(readonly entries: readonly (readonly [EdnValue, EdnValue])[]) {}
}

export type EdnValue = null | undefined | boolean | number | string | Keyword | EdnSet | EdnMap | readonly EdnValue[] | { readonly [k: string]: unknown };

export const kw = (name: string): Keyword => new Keyword(name);
export const ednSet = (items: readonly EdnValue[]): EdnSet => new EdnSet(items);

const KEYWORD_FIELDS = new Set(['type', 'f']);
const FIELD_ORDER = ['type', 'f', 'process', 'time', 'key', 'value', 'index'];

/** The generic export: one map per op, every field kept; :type, :f and a named process as keywords. */
export function historyToEdn(ops: readonly HistoryOp[]): string {
  return ops.map(opToEdn).join('\n') + (ops.length > 0 ? '\n' : '');
}

export function opToEdn(op: HistoryOp): string {
  const keys = [...FIELD_ORDER.filter((k) => op[k] !== undefined), ...Object.keys(op).filter((k) => !FIELD_ORDER.includes(k) && op[k] !== undefined)];
  const entries: [EdnValue, EdnValue][] = keys.map((k) => {
    const v = op[k];
    const asKeyword = (KEYWORD_FIELDS.has(k) || k === 'process') && typeof v === 'string' && isKeywordName(v);
    return [kw(k), asKeyword ? kw(v) : (v as EdnValue)];
  });
  return toEdn(new EdnMap(entries));
}

/** Any EDN value as text: strings quoted and escaped, arrays as vectors, plain objects as maps with string keys. */
export function toEdn(v: EdnValue): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return ednString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'nil';
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Keyword) return isKeywordName(v.name) ? `:${v.name}` : ednString(v.name);
  if (v instanceof EdnSet) return `#{${v.items.map(toEdn).join(' ')}}`;
  if (v instanceof EdnMap) return `{${v.entries.map(([k, x]) => `${toEdn(k)} ${toEdn(x)}`).join(', ')}}`;
  if (Array.isArray(v)) return `[${(v as readonly EdnValue[]).map(toEdn).join(' ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${ednString(k)} ${toEdn(x as EdnValue)}`).join(', ')}}`;
  }
  return ednString(String(v));
}

/**
 * Whether `:name` reads back as a keyword: EDN symbol characters, not starting with a digit, and not
 * a sign followed by a digit (that would read as a number).
 */
export function isKeywordName(name: string): boolean {
  return /^[A-Za-z*+!_?<>=.-][A-Za-z0-9*+!_?<>=.-]*$/.test(name) && !/^[+-.]\d/.test(name);
}

function ednString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}
