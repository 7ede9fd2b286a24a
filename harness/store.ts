// The results store: one folder per run under `<store>/<test-name>/<timestamp>/` holding config.json,
// history.jsonl (appended as the run goes, so a crash still leaves the history so far), results.json,
// node logs and report.html, plus a `<store>/latest` symlink to the newest run.
import { closeSync, openSync, writeSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, symlink, writeFile, lstat, unlink } from 'node:fs/promises';
import { basename, join, relative, resolve, dirname } from 'node:path';
import type { HistoryOp, OpType, Process } from '../checkers/history.js';

/** An op before it has an index (the recorder assigns it). */
export interface NewOp {
  time: number;
  process: Process;
  type: OpType;
  f: string;
  [field: string]: unknown;
}

/** A folder name for a moment, sortable and safe on every file system: 20261122T073012.345Z. */
export function timestampName(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

/** Creates a fresh results folder; a second run in the same millisecond gets a numbered suffix. */
export async function createRunDir(storeRoot: string, testName: string, date: Date): Promise<string> {
  const base = join(resolve(storeRoot), safeName(testName), timestampName(date));
  for (let i = 0; ; i++) {
    const dir = i === 0 ? base : `${base}-${i}`;
    try {
      await stat(dir);
    } catch {
      await mkdir(dir, { recursive: true });
      return dir;
    }
  }
}

/** Test names become folder names: keep them to a safe alphabet. */
export function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '');
  return cleaned.length > 0 ? cleaned.slice(0, 100) : 'run';
}

/** Points `<store>/latest` at a run folder (relative, so the store can be moved). Best effort. */
export async function updateLatest(storeRoot: string, runDir: string): Promise<void> {
  const link = join(resolve(storeRoot), 'latest');
  try {
    await lstat(link);
    await unlink(link);
  } catch {
    // No previous link.
  }
  try {
    await symlink(relative(dirname(link), runDir), link);
  } catch {
    // Another run may have created it at the same moment; the newest wins either way.
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

export async function readJson<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/**
 * Records the history: assigns indices, keeps every op in memory for the checkers, and appends each as
 * one JSON line to history.jsonl as it happens.
 */
export class HistoryRecorder {
  readonly ops: HistoryOp[] = [];
  /** history.jsonl, open until close(); undefined when nothing is written (or after close()). */
  private fd: number | undefined;
  private readonly listeners: ((op: HistoryOp) => void)[] = [];
  /** Ops recorded since the last flush (their lines are written in one batch). */
  private readonly pending: HistoryOp[] = [];

  constructor(path: string | undefined) {
    this.fd = path === undefined ? undefined : openSync(path, 'w');
  }

  /** Appends an op; fields whose value is undefined are left out so the file stays minimal. */
  record(fields: NewOp): HistoryOp {
    const op: HistoryOp = { index: this.ops.length, time: Math.round(fields.time), process: fields.process, type: fields.type, f: fields.f };
    // for-in visits the same keys in the same order as Object.entries, without an array of pairs per op.
    // The fields set above are skipped by name: a `k in op` per field was a megamorphic lookup (a fresh
    // op's own keys are these five, and for-in gives no key twice).
    for (const k in fields) {
      if (k === 'time' || k === 'process' || k === 'type' || k === 'f' || k === 'index') continue;
      const v = (fields as Record<string, unknown>)[k];
      if (v !== undefined) op[k] = v;
    }
    this.ops.push(op);
    if (this.fd !== undefined) {
      // One write per op cost a tenth of a simulated run's CPU; lines are batched instead. A crash of the
      // harness itself may lose the last batch, but every normal end, failure and Ctrl-C goes through close().
      // An op's line is serialised with its batch, up to 256 ops later: nothing changes a recorded op or
      // the values it holds (the checkers read these same objects).
      this.pending.push(op);
      if (this.pending.length >= 256) this.flush();
    }
    for (const listener of this.listeners) listener(op);
    return op;
  }

  onRecord(listener: (op: HistoryOp) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Writes the batched lines to the file. A batch is one write(2) into the page cache (tens of µs for
   * 256 lines): a WriteStream cost more CPU in its own machinery (buffering, callbacks, the thread pool)
   * than the write, most of all in a fresh process, where that JavaScript runs cold.
   */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const bytes = Buffer.from(jsonLines(this.pending));
    this.pending.length = 0;
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
  }

  /** Flushes and closes the file; ops recorded afterwards are kept in memory only. */
  async close(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      this.flush();
    } finally {
      this.fd = undefined;
      this.pending.length = 0;
      closeSync(fd);
    }
  }
}

/** What separates two ops in the JSON of an array of them: each op's JSON starts with its index (record() puts it first). */
const opBoundary = '},{"index":';

/**
 * The ops as JSON lines, each what JSON.stringify(op) gives. Made from one JSON.stringify of the whole
 * batch, cut where one op ends and the next begins: a call per op cost a third more (its fixed cost per
 * call, on lines of 260 bytes). `},{"index":` cannot occur inside a string (a quote there is escaped),
 * only between two objects in an array; if an op's value holds such an array, there are more boundaries
 * than ops and each op is serialised alone.
 */
export function jsonLines(ops: readonly HistoryOp[]): string {
  if (ops.length === 0) return '';
  const inner = JSON.stringify(ops).slice(1, -1);
  let boundaries = 0;
  for (let at = inner.indexOf(opBoundary); at !== -1; at = inner.indexOf(opBoundary, at + opBoundary.length)) boundaries++;
  if (boundaries === ops.length - 1) return `${inner.replaceAll(opBoundary, '}\n{"index":')}\n`;
  return `${ops.map((op) => JSON.stringify(op)).join('\n')}\n`;
}

/**
 * Copies node logs into `<runDir>/logs/` unless the runtime already wrote them under the run folder.
 * Returns where each node's log now is, relative to the run folder.
 */
export async function collectLogs(runDir: string, logFiles: Record<string, string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [id, path] of Object.entries(logFiles)) {
    const abs = resolve(path);
    const rel = relative(runDir, abs);
    if (!rel.startsWith('..') && !rel.startsWith('/')) {
      out[id] = rel;
      continue;
    }
    try {
      await mkdir(join(runDir, 'logs'), { recursive: true });
      const target = join(runDir, 'logs', `${safeName(id)}-${basename(abs)}`);
      await copyFile(abs, target);
      out[id] = relative(runDir, target);
    } catch {
      // A log that vanished with its temp dir is not worth failing the run over.
    }
  }
  return out;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
