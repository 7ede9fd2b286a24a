// Fault windows from nemesis ops: from a fault's invoke to the completion of the undo that ends it.
import type { ClientOp } from './ops.js';

export const FAULT_FS = ['partition', 'kill', 'pause', 'clock-skew', 'clock-bump', 'clock-strobe', 'join', 'leave', 'disk-loss'] as const;
export const UNDO_FS = ['heal', 'restart', 'resume', 'clock-reset', 'disk-restart'] as const;

/** Which undo ends which fault. Membership changes have no undo: their window ends when they complete. */
const UNDO_OF: Record<string, string | undefined> = {
  partition: 'heal',
  kill: 'restart',
  'disk-loss': 'disk-restart',
  pause: 'resume',
  'clock-skew': 'clock-reset',
  'clock-bump': 'clock-reset',
  'clock-strobe': 'clock-reset',
};

export interface FaultWindow {
  f: string;
  /** Nanoseconds. */
  start: number;
  /** Nanoseconds; the history's end when the fault was never undone. */
  end: number;
  undone: boolean;
}

export function faultWindows(nemesis: readonly ClientOp[], endTime: number): FaultWindow[] {
  const windows: FaultWindow[] = [];
  // Faults still open, by the undo name that will close them.
  const openByUndo = new Map<string, FaultWindow[]>();
  for (const op of nemesis) {
    if ((FAULT_FS as readonly string[]).includes(op.f)) {
      const undo = UNDO_OF[op.f];
      const done = op.completeTime === Infinity ? endTime : op.completeTime;
      const w: FaultWindow = { f: op.f, start: op.invokeTime, end: undo === undefined ? done : endTime, undone: undo === undefined };
      windows.push(w);
      if (undo !== undefined) {
        let list = openByUndo.get(undo);
        if (list === undefined) openByUndo.set(undo, (list = []));
        list.push(w);
      }
    } else if ((UNDO_FS as readonly string[]).includes(op.f)) {
      const list = openByUndo.get(op.f);
      if (list === undefined) continue;
      const end = op.completeTime === Infinity ? endTime : op.completeTime;
      for (const w of list) {
        w.end = Math.max(w.start, end);
        w.undone = true;
      }
      list.length = 0;
    }
  }
  return windows;
}

/** The completion time of the last undo (the "heal time"), or undefined when nothing was undone. */
export function healTime(nemesis: readonly ClientOp[]): number | undefined {
  let t: number | undefined;
  for (const op of nemesis) {
    if ((UNDO_FS as readonly string[]).includes(op.f) && op.completeTime !== Infinity) {
      if (t === undefined || op.completeTime > t) t = op.completeTime;
    }
  }
  return t;
}

/** Merges windows into disjoint sorted intervals and answers "is time t inside a fault" in O(log n). */
export class WindowIndex {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  constructor(windows: readonly FaultWindow[]) {
    const sorted = [...windows].sort((a, b) => a.start - b.start);
    for (const w of sorted) {
      const last = this.ends.length - 1;
      if (last >= 0 && w.start <= this.ends[last]!) this.ends[last] = Math.max(this.ends[last]!, w.end);
      else {
        this.starts.push(w.start);
        this.ends.push(w.end);
      }
    }
  }
  contains(t: number): boolean {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! > t) hi = mid - 1;
      else if (this.ends[mid]! < t) lo = mid + 1;
      else return true;
    }
    return false;
  }
}
