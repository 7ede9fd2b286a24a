// `quorumlab check` on a large history runs in a node started with heap settings sized for it. The check
// holds the whole history (a 1,000,000-op file is about 450 MB of objects once parsed), and with V8's defaults
// it is collected all the way up: young collections of 16 MB copy every parsed op once or twice while it is
// still young, and the old generation starts small, so the heap is marked and compacted four times as it
// grows. Measured on the 1,000,000-op register bench history (--trace-gc, a loaded 2-core machine): 82
// scavenges and 4 mark-compacts, 4.3 s of pauses, against 47 and 1, 1.2 s, with the settings below, for a
// peak RSS of about 650 MiB instead of 560. A cart history is another matter: its item maps come in many key
// orders, each a hidden class of its own, and a late first mark-compact cost it more than the ones it saved
// (quiet machine, main-thread CPU: 3.5-3.9 s with both settings, 2.9-3.2 s with the semi-spaces alone, 3.1-3.2 s
// with neither), so a cart check gets the semi-spaces only. The flags change only when the collector runs, never
// what the check computes. A fresh node costs some 40 ms, so small histories are checked in this process.
// Plain JavaScript: bin/quorumlab.js runs it before any TypeScript loader is registered.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { constants } from 'node:os';

/** V8 settings for a check of a large history: 32 MB semi-spaces, a first full collection only past 512 MB. */
export const CHECK_HEAP_FLAGS = ['--max-semi-space-size=32', '--initial-old-space-size=512'];
/** Those for a cart workload's history (see above): the semi-spaces only. */
export const CART_CHECK_HEAP_FLAGS = ['--max-semi-space-size=32'];
/** Histories from this size on are checked in a node started with CHECK_HEAP_FLAGS. */
export const CHECK_HEAP_MIN_BYTES = 16 << 20;
/** Set (to "0") in the child, so that it does not start another; QUORUMLAB_CHECK_HEAP=0 also turns it off. */
const ENV = 'QUORUMLAB_CHECK_HEAP';

/**
 * The history file `quorumlab check [--workload <name>] <target>` reads, as check.ts finds it (a results folder
 * or a file). Anything it cannot tell leaves the check in this process.
 */
function historyOf(args) {
  const target = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '--workload');
  if (target === undefined || !existsSync(target)) return undefined;
  return statSync(target).isDirectory() ? join(target, 'history.jsonl') : target;
}

/** The workload the check will judge: --workload, else config.json beside the history (as check.ts reads them). */
function workloadOf(args, history) {
  const at = args.indexOf('--workload');
  if (at >= 0) return args[at + 1];
  const equals = args.find((a) => a.startsWith('--workload='));
  if (equals !== undefined) return equals.slice('--workload='.length);
  try {
    const config = JSON.parse(readFileSync(join(dirname(history), 'config.json'), 'utf8'));
    return typeof config?.workload === 'string' ? config.workload : undefined;
  } catch {
    return undefined;
  }
}

/**
 * For `quorumlab check` of a history of at least CHECK_HEAP_MIN_BYTES: runs the same command in a child node
 * with CHECK_HEAP_FLAGS, or CART_CHECK_HEAP_FLAGS for a cart workload (and this node's own flags), stdio shared, and returns its exit code; undefined when this
 * process should check it itself (a small history, flags already given, turned off, or no child could start).
 */
export function checkInSizedHeap(argv = process.argv) {
  if (argv[2] !== 'check' || process.env[ENV] === '0') return undefined;
  let size = 0;
  let flags = CHECK_HEAP_FLAGS;
  try {
    const history = historyOf(argv.slice(3));
    size = history !== undefined && existsSync(history) ? statSync(history).size : 0;
    if (size < CHECK_HEAP_MIN_BYTES) return undefined;
    const workload = workloadOf(argv.slice(3), history);
    if (workload === 'cart' || workload === 'cart-kv') flags = CART_CHECK_HEAP_FLAGS;
  } catch {
    return undefined;
  }
  if (flags.every((f) => process.execArgv.includes(f))) return undefined;
  const env = { ...process.env, [ENV]: '0' };
  // The checker bench (bench/checkers.ts) reads the child's CPU time and peak RSS from a file of its own: this
  // process writes the one it was given when it exits.
  if (process.env.QL_BENCH_RUSAGE) env.QL_BENCH_RUSAGE = `${process.env.QL_BENCH_RUSAGE}.child`;
  const child = spawnSync(process.execPath, [...process.execArgv, ...flags, ...argv.slice(1)], { stdio: 'inherit', env });
  if (child.error !== undefined) return undefined;
  if (child.signal !== null) return 128 + (constants.signals[child.signal] ?? 0);
  return child.status ?? 1;
}
