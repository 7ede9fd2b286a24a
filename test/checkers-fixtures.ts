// A small history builder for checker tests: each recorded event advances time by 1 ms unless told.
import type { HistoryOp, OpType, Process } from '../checkers/history.js';
import type { CheckOptions } from '../checkers/index.js';

export const MS = 1_000_000;

export class HistoryBuilder {
  readonly ops: HistoryOp[] = [];
  private time = 0;
  private readonly open = new Map<Process, HistoryOp>();

  /** Advances the clock by `ms` milliseconds. */
  wait(ms: number): this {
    this.time += ms * MS;
    return this;
  }

  private push(op: Omit<HistoryOp, 'index' | 'time'>): number {
    this.time += MS;
    const full = { index: this.ops.length, time: this.time, ...op } as HistoryOp;
    this.ops.push(full);
    return full.index;
  }

  invoke(process: Process, f: string, key: string | undefined, value?: unknown, extra: Record<string, unknown> = {}): number {
    const op: Omit<HistoryOp, 'index' | 'time'> = { process, type: 'invoke', f, ...(key !== undefined ? { key } : {}), ...(value !== undefined ? { value } : {}), ...extra };
    const i = this.push(op);
    this.open.set(process, this.ops[i]!);
    return i;
  }

  complete(process: Process, type: Exclude<OpType, 'invoke'>, value?: unknown, extra: Record<string, unknown> = {}): number {
    const inv = this.open.get(process);
    if (inv === undefined) throw new Error(`no open op for process ${String(process)}`);
    this.open.delete(process);
    const v = value === undefined && inv.value !== undefined && (inv.f === 'put' || inv.f === 'add' || inv.f === 'remove') ? inv.value : value;
    return this.push({ process, type, f: inv.f, ...(inv.key !== undefined ? { key: inv.key } : {}), ...(v !== undefined ? { value: v } : {}), ...extra });
  }

  /** A whole op: invoke then completion, returning the completion index. */
  op(process: Process, f: string, key: string, value: unknown, type: Exclude<OpType, 'invoke'>, result?: unknown, extra: Record<string, unknown> = {}): number {
    this.invoke(process, f, key, f === 'get' || f === 'read' ? undefined : value, extra);
    return this.complete(process, type, f === 'get' || f === 'read' ? result ?? value : result);
  }

  put(process: number, key: string, value: string, readFrom?: string[], type: 'ok' | 'info' | 'fail' = 'ok'): number {
    const extra = readFrom !== undefined ? { context: `ctx-${readFrom.join('+')}`, readFrom } : {};
    this.invoke(process, 'put', key, value, extra);
    return this.complete(process, type, value, type === 'ok' ? { context: `ctx-${value}` } : {});
  }

  /** An ok read; its completion receives a fresh context `c<index>` (covering the values it returned). */
  get(process: number, key: string, values: string[], final = false): number {
    this.invoke(process, 'get', key, undefined, final ? { final: true } : {});
    return this.complete(process, 'ok', values, { ...(final ? { final: true } : {}), context: `c${this.ops.length}` });
  }

  /**
   * A write that sends the context the op completed at `from` received, recording also the `readFrom`
   * shortcut this project's register workload would (strip it with `stripShortcuts`). `returns` is the
   * context its ok completion receives (default: a fresh one covering the new value).
   */
  rmw(process: number, key: string, value: string, from: number, type: 'ok' | 'info' | 'fail' = 'ok', returns?: string): number {
    const src = this.ops[from]!;
    const readFrom = src.f === 'get' ? (src.value as string[]) : [String(src.value)];
    this.invoke(process, 'put', key, value, { context: src.context, readFrom });
    return this.complete(process, type, value, type === 'ok' ? { context: returns ?? `ctx-${value}` } : {});
  }

  /** A delete that sends the context the op completed at `from` received (plus the readFrom shortcut). */
  del(process: number, key: string, from: number, type: 'ok' | 'info' | 'fail' = 'ok'): number {
    const src = this.ops[from]!;
    const readFrom = src.f === 'get' ? (src.value as string[]) : [String(src.value)];
    this.invoke(process, 'delete', key, undefined, { context: src.context, readFrom });
    return this.complete(process, type, undefined, type === 'ok' ? { context: `ctx-del${this.ops.length}` } : {});
  }

  add(process: number, key: string, item: string, type: 'ok' | 'info' | 'fail' = 'ok'): number {
    this.invoke(process, 'add', key, item);
    return this.complete(process, type, item);
  }

  /** An ok cart read; its completion receives a fresh context `c<index>`. */
  read(process: number, key: string, items: Record<string, number>, final = false): number {
    this.invoke(process, 'read', key, undefined, final ? { final: true } : {});
    return this.complete(process, 'ok', items, { ...(final ? { final: true } : {}), context: `c${this.ops.length}` });
  }

  /** A remove that sends the context of the read completed at `readIndex` and records the readIndex shortcut. */
  remove(process: number, key: string, item: string, readIndex: number, type: 'ok' | 'info' | 'fail' = 'ok'): number {
    const context = this.ops[readIndex]?.context;
    this.invoke(process, 'remove', key, item, { readIndex, ...(context !== undefined ? { context } : {}) });
    return this.complete(process, type, item);
  }

  local(key: string, node: string, value: unknown, type: 'ok' | 'info' = 'ok'): number {
    return this.push({ process: 'final', type, f: 'local', key, node, final: true, ...(type === 'ok' ? { value } : {}) });
  }

  nemesis(f: string, value?: unknown): void {
    this.invoke('nemesis', f, undefined, value);
    this.complete('nemesis', 'info', value);
  }
}

export const opts = (over: Partial<CheckOptions> = {}): CheckOptions => ({
  n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', workload: 'register', ...over,
});

/** The history without the optional shortcut fields (`readFrom`, `readIndex`): what another tool would write. */
export function stripShortcuts(ops: readonly HistoryOp[]): HistoryOp[] {
  return ops.map((op) => {
    const { readFrom: _rf, readIndex: _ri, ...rest } = op;
    return rest as HistoryOp;
  });
}
