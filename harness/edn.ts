// Jepsen EDN export: one map per op, keywords for :type, :f and the nemesis process, so Jepsen's own
// checkers (and Elle) can read a quorumlab history.
import type { HistoryOp } from '../checkers/history.js';

const KEYWORD_FIELDS = new Set(['type', 'f']);
const FIELD_ORDER = ['type', 'f', 'process', 'time', 'key', 'value', 'index'];

export function historyToEdn(ops: readonly HistoryOp[]): string {
  return ops.map(opToEdn).join('\n') + (ops.length > 0 ? '\n' : '');
}

export function opToEdn(op: HistoryOp): string {
  const keys = [...FIELD_ORDER.filter((k) => op[k] !== undefined), ...Object.keys(op).filter((k) => !FIELD_ORDER.includes(k) && op[k] !== undefined)];
  const parts: string[] = [];
  for (const k of keys) {
    const v = op[k];
    let text: string;
    if (KEYWORD_FIELDS.has(k) && typeof v === 'string') text = keyword(v);
    else if (k === 'process' && typeof v === 'string') text = keyword(v);
    else text = toEdn(v);
    parts.push(`${keyword(k)} ${text}`);
  }
  return `{${parts.join(', ')}}`;
}

/** Any JSON value as EDN: strings quoted and escaped, arrays as vectors, objects as maps with string keys. */
export function toEdn(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return ednString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'nil';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(toEdn).join(' ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${ednString(k)} ${toEdn(x)}`).join(', ')}}`;
  }
  return ednString(String(v));
}

/** A keyword, falling back to a string when the name is not a legal EDN symbol. */
function keyword(name: string): string {
  return /^[A-Za-z*+!_?<>=-][A-Za-z0-9*+!_?<>=.-]*$/.test(name) ? `:${name}` : ednString(name);
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
