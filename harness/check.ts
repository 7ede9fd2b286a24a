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
  const options = optionsFrom(config, history, opts.workload, notes);
  const results = checkAll(history, options);
  const out = { valid: results.valid, checkers: results.checkers, config: { ...config, ...options }, notes };
  try {
    writeFileSync(join(dirname(historyPath), 'results.json'), JSON.stringify(out, null, 2) + '\n');
  } catch (err) {
    notes.push(`could not write results.json: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (print) printSummary(say, historyPath, history.length, out.valid, results, notes);
  const exitCode = results.valid === true ? 0 : results.valid === false ? 1 : 2;
  return { exitCode, results: out };
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
