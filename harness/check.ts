// `quorumlab check`: re-runs the checkers on a stored history (a results folder or a history.jsonl), writes
// results.json next to it, prints a summary, and maps the verdict to Jepsen's exit codes.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HistoryOp } from '../checkers/history.js';
import { checkAll, type CheckAllResult, type CheckOptions } from '../checkers/index.js';
import { HistoryError, readHistory } from './history-io.js';
import { paint, paintValidity } from './output.js';

export interface RunCheckResult {
  exitCode: 0 | 1 | 2;
  results: (CheckAllResult & { config: Record<string, unknown>; notes: string[] }) | { valid: 'unknown'; error: string };
}

const WORKLOADS = ['register', 'cart', 'cart-kv', 'pbs'];

export async function runCheck(target: string, opts: { workload?: string; print?: boolean } = {}): Promise<RunCheckResult> {
  const print = opts.print ?? true;
  const say = (line: string): void => {
    if (print) process.stdout.write(line + '\n');
  };
  const failWith = (message: string): RunCheckResult => {
    if (print) process.stderr.write(`${paint.bad('error:')} ${message} (cannot check: exit 2)\n`);
    return { exitCode: 2, results: { valid: 'unknown', error: message } };
  };
  let historyPath: string;
  let config: Record<string, unknown> = {};
  const notes: string[] = [];
  try {
    if (existsSync(target) && statSync(target).isDirectory()) {
      historyPath = join(target, 'history.jsonl');
      const configPath = join(target, 'config.json');
      if (existsSync(configPath)) config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      else notes.push(`no config.json in ${target}: using defaults`);
    } else {
      historyPath = target;
      const sibling = join(dirname(target), 'config.json');
      if (existsSync(sibling)) config = JSON.parse(readFileSync(sibling, 'utf8')) as Record<string, unknown>;
    }
    if (!existsSync(historyPath)) return failWith(`no history at ${historyPath}`);
  } catch (err) {
    return failWith(`could not read config.json: ${err instanceof Error ? err.message : String(err)}`);
  }
  let history: HistoryOp[];
  try {
    history = readHistory(historyPath);
  } catch (err) {
    if (err instanceof HistoryError) return failWith(`malformed history: ${err.message}`);
    return failWith(`could not read ${historyPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // results.json of the run holds what the run measured outside the history (stats: the convergence time
  // polled during quiesce) and its logs; a re-check reports those and keeps them when it rewrites the file.
  const resultsPath = join(dirname(historyPath), 'results.json');
  const previous = readPreviousResults(resultsPath, notes);
  const options = optionsFrom(config, history, opts.workload, notes);
  const measured = measuredConvergence(previous);
  if (measured !== undefined) options.measuredConvergenceMs = measured;
  else notes.push('no run measurement of convergence time in results.json (stats.convergenceMs): not reported');
  const results = checkAll(history, options);
  const out = { ...previous, valid: results.valid, checkers: results.checkers, config: { ...config, ...options }, notes };
  try {
    writeFileSync(resultsPath, JSON.stringify(out, null, 2) + '\n');
  } catch (err) {
    notes.push(`could not write results.json: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (print) printSummary(say, historyPath, history.length, out.valid, results, notes);
  const exitCode = results.valid === true ? 0 : results.valid === false ? 1 : 2;
  return { exitCode, results: out };
}

/** The results.json already next to the history (a run's, or an earlier check's), or {} when absent or unreadable. */
function readPreviousResults(path: string, notes: string[]): Record<string, unknown> {
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Reported below; the check itself does not depend on it.
  }
  notes.push(`${path} is not a JSON object: replaced`);
  return {};
}

/** stats.convergenceMs of a run's results (a number, or null when the replicas never agreed), if present. */
function measuredConvergence(results: Record<string, unknown>): number | null | undefined {
  const stats = results['stats'];
  if (stats === null || typeof stats !== 'object' || !('convergenceMs' in stats)) return undefined;
  const v = (stats as Record<string, unknown>)['convergenceMs'];
  return v === null || (typeof v === 'number' && Number.isFinite(v)) ? v : undefined;
}

/** Checker options from config.json, a --workload override, or inference from the history's f names. */
export function optionsFrom(config: Record<string, unknown>, history: readonly HistoryOp[], workload: string | undefined, notes: string[]): CheckOptions {
  const num = (k: string, d: number): number => {
    const v = config[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
    notes.push(`${k.toUpperCase()} not in config.json: assuming ${d}`);
    return d;
  };
  let wl = workload ?? (typeof config.workload === 'string' ? config.workload : undefined);
  if (wl === undefined) {
    wl = inferWorkload(history);
    notes.push(`workload inferred from the history's operations: ${wl}`);
  } else if (!WORKLOADS.includes(wl)) {
    notes.push(`unknown workload "${wl}": only workload-independent checkers apply`);
  }
  return {
    n: num('n', 3),
    r: num('r', 2),
    w: num('w', 2),
    sloppy: typeof config.sloppy === 'boolean' ? config.sloppy : (notes.push('sloppy not in config.json: assuming false'), false),
    conflicts: config.conflicts === 'lww' ? 'lww' : 'vclock',
    workload: wl,
  };
}

export function inferWorkload(history: readonly HistoryOp[]): string {
  for (const op of history) {
    if (typeof op.process !== 'number') continue;
    if (op.f === 'add' || op.f === 'remove' || op.f === 'read') return 'cart';
    if (op.f === 'put' || op.f === 'get' || op.f === 'delete') return 'register';
  }
  return 'register';
}

function printSummary(
  say: (l: string) => void, path: string, count: number, valid: true | false | 'unknown', results: CheckAllResult, notes: string[],
): void {
  say(paint.bold(`checked ${path} (${count} ops)`));
  for (const note of notes) say(paint.dim(`  note: ${note}`));
  for (const [name, r] of Object.entries(results.checkers)) {
    say(`  ${name.padEnd(13)} ${paintValidity(r.valid)}  ${paint.dim(headline(r))}`);
  }
  say(`${paint.bold('verdict:')} ${paintValidity(valid)}`);
}

/** A one-line digest of a checker's evidence: its scalar fields. */
function headline(r: Record<string, unknown>): string {
  if (typeof r.error === 'string') return `error: ${r.error}`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (k === 'valid' || (typeof v !== 'number' && typeof v !== 'string') || (typeof v === 'string' && v.length > 40)) continue;
    parts.push(`${k}=${v}`);
    if (parts.length >= 6) break;
  }
  return parts.join(' ');
}
