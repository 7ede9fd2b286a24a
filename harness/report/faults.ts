// Fault windows for the report, named from the nemesis ops: what was asked for (the invoke's value) and
// what was done (the info's value: sides, nodes, offsets), and which requested faults could not be applied.
import type { HistoryOp } from '../../checkers/history.js';

/** Undo steps: a fault window ends at the completion of the last of these before the next fault. */
const undoOps = new Set(['heal', 'restart', 'resume', 'clock-reset']);

export interface FaultWindow {
  readonly startS: number;
  readonly endS: number;
  readonly faults: string[];
  /** One line per fault applied in the window, e.g. "partition halves: n1 n2 | n3 n4 n5". */
  readonly labels: string[];
}

/** A fault the nemesis was asked for but could not apply (its info carried an error). */
export interface FaultFailure {
  readonly atS: number;
  readonly f: string;
  readonly error: string;
}

type Value = Readonly<Record<string, unknown>>;

function obj(v: unknown): Value {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Value) : {};
}

function list(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(' ') : '';
}

/** Names one applied fault in words, from its invoke (asked) and info (done) values. */
export function describeFault(f: string, asked: unknown, done: unknown): string {
  const a = obj(asked), d = obj(done);
  const nodes = list(d['nodes']) || (typeof d['node'] === 'string' ? d['node'] : '') || (typeof a['targets'] === 'string' ? a['targets'] : '');
  switch (f) {
    case 'partition': {
      const sides = Array.isArray(d['sides']) ? (d['sides'] as unknown[]).map(list).join(' | ') : '';
      const kind = typeof d['kind'] === 'string' ? d['kind'] : typeof a['kind'] === 'string' ? a['kind'] : '';
      const bridge = typeof d['bridge'] === 'string' ? ` (bridge ${d['bridge']})` : '';
      return `partition ${kind}${sides !== '' ? `: ${sides}` : ''}${bridge}`.trim();
    }
    case 'kill': return `crash ${nodes}`.trim();
    case 'pause': return `pause ${nodes}`.trim();
    case 'clock-skew': {
      const ms = typeof d['offsetMs'] === 'number' ? d['offsetMs'] : typeof a['offsetS'] === 'number' ? a['offsetS'] * 1000 : undefined;
      return `clock skew ${nodes}${ms !== undefined ? ` by ${signed(ms)} ms` : ''}`;
    }
    case 'clock-bump': {
      const ms = typeof d['deltaMs'] === 'number' ? d['deltaMs'] : a['deltaMs'];
      return `clock bump ${nodes}${typeof ms === 'number' ? ` by ${signed(ms)} ms` : ''}`;
    }
    case 'clock-strobe': {
      const ms = d['offsetMs'], period = d['periodMs'], flips = d['flips'];
      return `clock strobe ${nodes}${typeof ms === 'number' ? ` ±${ms} ms` : ''}${typeof period === 'number' ? ` every ${period} ms` : ''}${typeof flips === 'number' ? `, ${flips} flips` : ''}`;
    }
    case 'join': return `join ${nodes}`.trim();
    case 'leave': return `leave ${nodes}`.trim();
    default: return `${f} ${JSON.stringify(d)}`;
  }
}

function signed(ms: number): string {
  return ms >= 0 ? `+${ms}` : String(ms);
}

/** Fault windows from the nemesis ops: from a fault's invoke to the completion of its last undo. */
export function faultWindows(history: readonly HistoryOp[]): FaultWindow[] {
  const out: FaultWindow[] = [];
  let open: { startS: number; endS: number | undefined; faults: string[]; labels: string[] } | undefined;
  const asked = new Map<string, unknown>();
  let lastS = 0;
  for (const op of history) {
    lastS = Math.max(lastS, op.time / 1e9);
    if (op.process !== 'nemesis') continue;
    const s = op.time / 1e9;
    if (undoOps.has(op.f)) {
      if (open !== undefined && op.type !== 'invoke') open.endS = s;
      continue;
    }
    if (op.type !== 'invoke') {
      // The info says what was done; one that carries an error did nothing and is listed as a failure instead.
      if (open !== undefined && op.error === undefined) open.labels.push(describeFault(op.f, asked.get(op.f), op.value));
      else if (open !== undefined) {
        // Nothing was done: the fault leaves the window, and a window left with no fault is no window.
        open.faults = open.faults.filter((f) => f !== op.f);
        if (open.faults.length === 0) open = undefined;
      }
      continue;
    }
    asked.set(op.f, op.value);
    if (open !== undefined && open.endS !== undefined) {
      out.push({ startS: open.startS, endS: open.endS, faults: open.faults, labels: open.labels });
      open = undefined;
    }
    if (open === undefined) open = { startS: s, endS: undefined, faults: [], labels: [] };
    if (!open.faults.includes(op.f)) open.faults.push(op.f);
  }
  if (open !== undefined) out.push({ startS: open.startS, endS: open.endS ?? lastS, faults: open.faults, labels: open.labels });
  return out;
}

/** Nemesis steps whose completion carried an error: the fault (or its undo) was requested but not applied. */
export function faultFailures(history: readonly HistoryOp[]): FaultFailure[] {
  const out: FaultFailure[] = [];
  for (const op of history) {
    if (op.process !== 'nemesis' || op.type === 'invoke') continue;
    if (op.type === 'fail' || op.error !== undefined) {
      out.push({ atS: op.time / 1e9, f: op.f, error: op.error ?? JSON.stringify(op.value) });
    }
  }
  return out;
}

/** Lines saying which requested faults were not applied: kinds unavailable on this runtime, and failed steps. */
export function unappliedFaultLines(history: readonly HistoryOp[], stats: object | undefined): string[] {
  const lines: string[] = [];
  const unavailable = obj((stats as Value | undefined)?.['unavailableFaults']);
  for (const [kind, why] of Object.entries(unavailable)) lines.push(`${kind} was requested but is unavailable here: ${String(why)}`);
  for (const f of faultFailures(history)) lines.push(`${f.f} at ${f.atS.toFixed(1)} s could not be applied: ${f.error}`);
  return lines;
}
