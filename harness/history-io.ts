// Reading and writing history.jsonl with strict validation: a malformed history is refused with the line
// that broke it, because a checker verdict over a corrupt history would be meaningless.
import { readFileSync } from 'node:fs';
import type { HistoryOp } from '../checkers/history.js';

/** A definite error in a history file: the file cannot be checked as it is. */
export class HistoryError extends Error {
  constructor(readonly source: string, readonly line: number, detail: string) {
    super(`${source}:${line}: ${detail}`);
    this.name = 'HistoryError';
  }
}

const TYPES = new Set(['invoke', 'ok', 'fail', 'info']);

export function readHistory(path: string): HistoryOp[] {
  return parseHistory(readFileSync(path, 'utf8'), path);
}

/** Parses JSON Lines into ops, validating the format and the per-process invoke/complete discipline. */
export function parseHistory(text: string, sourceName = 'history.jsonl'): HistoryOp[] {
  const ops: HistoryOp[] = [];
  const inFlight = new Map<string, HistoryOp>();
  const crashed = new Set<string>();
  const lastTime = new Map<string, { time: number; index: number }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const lineNo = i + 1;
    const fail = (detail: string): never => {
      throw new HistoryError(sourceName, lineNo, detail);
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      fail(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail('expected a JSON object');
    const op = parsed as Record<string, unknown>;
    if (!Number.isInteger(op.index)) fail('missing or non-integer "index"');
    if (op.index !== ops.length) fail(`"index" is ${String(op.index)}, expected ${ops.length} (indices count 0, 1, 2, … in file order)`);
    if (typeof op.time !== 'number' || !Number.isFinite(op.time) || op.time < 0) fail('missing or invalid "time" (nanoseconds, a non-negative number)');
    const p = op.process;
    if (!(Number.isInteger(p) || p === 'nemesis' || p === 'final')) fail('"process" must be an integer, "nemesis" or "final"');
    if (typeof op.type !== 'string' || !TYPES.has(op.type)) fail('"type" must be one of invoke, ok, fail, info');
    if (typeof op.f !== 'string' || op.f === '') fail('missing "f"');
    if (typeof p === 'number' && typeof op.key !== 'string') fail('a client op needs a "key"');
    const pk = String(p);
    // A process is sequential and the file is in observation order: its events cannot go back in time.
    const before = lastTime.get(pk);
    if (before !== undefined && (op.time as number) < before.time) {
      fail(`process ${pk} goes back in time: "time" ${String(op.time)} is before its previous event's ${before.time} (index ${before.index}); a process's events must be in time order`);
    }
    lastTime.set(pk, { time: op.time as number, index: op.index as number });
    if (p === 'final') {
      if (op.type === 'invoke') fail('process "final" records completed states only, never an invoke');
    } else if (op.type === 'invoke') {
      if (crashed.has(pk) && typeof p === 'number') fail(`process ${pk} invoked again after an info (a crashed process never issues again)`);
      const open = inFlight.get(pk);
      if (open !== undefined && typeof p === 'number') fail(`process ${pk} already has an op in flight (index ${open.index}); at most one op per process`);
      inFlight.set(pk, op as HistoryOp);
    } else {
      const open = inFlight.get(pk);
      if (open === undefined) {
        // A nemesis may record a lone completion (an instantaneous change); clients may not.
        if (typeof p === 'number') fail(`"${String(op.type)}" for process ${pk} without a preceding invoke`);
      } else {
        if (open.f !== op.f) fail(`completion f "${String(op.f)}" does not match the invoke's f "${open.f}" (index ${open.index})`);
        if (typeof p === 'number' && open.key !== op.key) fail(`completion key "${String(op.key)}" does not match the invoke's key "${String(open.key)}" (index ${open.index})`);
        inFlight.delete(pk);
      }
      if (op.type === 'info' && typeof p === 'number') crashed.add(pk);
    }
    ops.push(op as HistoryOp);
  }
  return ops;
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
