// Checker benchmark: times each checker, and all of a workload's checkers together, on synthetic histories
// of a correct register and cart; then `quorumlab check` end to end (process start, reading and parsing the
// file, every checker, results.json) on the same histories written as history.jsonl files.
// Run standalone with `npx tsx bench/checkers.ts [ops] [--cli path/to/bin/quorumlab.js]` (--cli measures
// another checkout's CLI on the same files, for a side-by-side comparison).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkAll, checkers, checkersFor, type CheckOptions, type HistoryOp } from '../checkers/index.js';
import { syntheticHistory } from '../checkers/synthetic.js';
import { formatHistoryLine } from '../harness/history-io.js';

export interface BenchRow {
  name: string;
  ops: number;
  seconds: number;
  /** CPU seconds of this process (user + system): less sensitive than wall time to a busy machine. */
  cpuSeconds: number;
  opsPerS: number;
}

export interface EndToEndRow {
  name: string;
  ops: number;
  /** Size of the history file. */
  megabytes: number;
  wallSeconds: number;
  /** CPU seconds (user + system) of the `quorumlab check` process, all threads, start-up included. */
  cpuSeconds: number;
  /** CPU seconds of its main thread alone, without V8's helper threads (null off Linux). */
  mainThreadSeconds: number | null;
  peakRssMiB: number;
  exitCode: number | null;
}

const WORKLOADS = ['register', 'cart'] as const;

/** What bench/rusage-preload.mjs writes. */
interface Usage {
  userS: number;
  systemS: number;
  maxRssKiB: number;
  mainThreadS?: number | null;
}

/** The bench's synthetic history of a workload: about two events per client op; many keys and processes, like a real run. */
function benchHistory(workload: (typeof WORKLOADS)[number], ops: number): HistoryOp[] {
  return syntheticHistory(workload, {
    seed: 42, ops: Math.floor(ops / 2), processes: 20, keys: Math.max(1, Math.floor(ops / 2000)), items: 12, infoRate: 0.01,
  });
}

const benchOptions = (workload: string): CheckOptions => ({ n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', workload });

/** `ops` counts history events (lines); each workload's history has about that many. */
export async function benchCheckers(ops = 1_000_000): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const workload of WORKLOADS) {
    const history = benchHistory(workload, ops);
    const options = benchOptions(workload);
    const time = (name: string, fn: () => unknown): void => {
      const start = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      const result = fn() as { valid: unknown };
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const used = process.cpuUsage(cpu);
      const cpuSeconds = Math.round((used.user + used.system) / 1000) / 1000;
      if (result.valid === false) throw new Error(`${name} judged a correct synthetic history invalid`);
      rows.push({ name, ops: history.length, seconds: Math.round(seconds * 1000) / 1000, cpuSeconds, opsPerS: Math.round(history.length / seconds) });
    };
    for (const name of checkersFor(workload)) time(`${workload}/${name}`, () => checkers[name]!(history, options));
    time(`${workload}/all`, () => checkAll(history, options));
  }
  return rows;
}

/** Writes a history as history.jsonl (in batches of lines, never one string of the whole file) with its config.json. */
function writeRun(dir: string, history: readonly HistoryOp[], workload: string): string {
  const path = join(dir, 'history.jsonl');
  const fd = openSync(path, 'w');
  try {
    let batch: string[] = [];
    for (const op of history) {
      batch.push(formatHistoryLine(op));
      if (batch.length === 10_000) {
        writeSync(fd, batch.join('\n') + '\n');
        batch = [];
      }
    }
    if (batch.length > 0) writeSync(fd, batch.join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(benchOptions(workload)));
  return path;
}

const DEFAULT_CLI = fileURLToPath(new URL('../bin/quorumlab.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./rusage-preload.mjs', import.meta.url));

/**
 * `quorumlab check` end to end on a generated history file per workload, one child process each: wall time
 * measured here, CPU time and peak RSS reported by the child itself (rusage-preload.mjs). `clis` may name
 * several checkouts' bin/quorumlab.js, run one after the other on the same file.
 */
export function benchCheckEndToEnd(ops = 1_000_000, clis: readonly string[] = [DEFAULT_CLI]): EndToEndRow[] {
  const rows: EndToEndRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ql-bench-check-'));
  try {
    for (const workload of WORKLOADS) {
      const runDir = join(dir, workload);
      mkdirSync(runDir);
      const path = writeRun(runDir, benchHistory(workload, ops), workload);
      const lines = readFileSync(path).length;
      for (const cli of clis) {
        const usage = join(dir, 'rusage.json');
        rmSync(usage, { force: true });
        rmSync(`${usage}.child`, { force: true });
        rmSync(join(runDir, 'results.json'), { force: true });
        const start = process.hrtime.bigint();
        const child = spawnSync(process.execPath, ['--import', pathToFileURL(PRELOAD).href, cli, 'check', runDir], {
          env: { ...process.env, QL_BENCH_RUSAGE: usage, FORCE_COLOR: '0' }, encoding: 'utf8', maxBuffer: 64 << 20,
        });
        const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
        if (child.status !== 0) throw new Error(`quorumlab check (${cli}) on the ${workload} history exited ${child.status}: ${child.stderr.trim().split('\n')[0] ?? ''}`);
        // A large history is checked in a child node with sized heap settings (bin/check-heap.js), which reports
        // to usage + '.child': the check's cost is both processes' (one after the other, so main threads add up).
        const read = (path: string): Usage | undefined => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Usage) : undefined);
        const parent = read(usage)!;
        const sub = read(`${usage}.child`);
        const u: Usage = sub === undefined ? parent : {
          userS: parent.userS + sub.userS,
          systemS: parent.systemS + sub.systemS,
          maxRssKiB: Math.max(parent.maxRssKiB, sub.maxRssKiB),
          mainThreadS: parent.mainThreadS == null || sub.mainThreadS == null ? null : Math.round((parent.mainThreadS + sub.mainThreadS) * 100) / 100,
        };
        rows.push({
          name: clis.length > 1 ? `${workload} (${cli})` : workload,
          ops: Number(/\((\d+) ops\)/.exec(child.stdout)?.[1] ?? NaN),
          megabytes: Math.round(lines / 1e5) / 10,
          wallSeconds: Math.round(wallSeconds * 100) / 100,
          cpuSeconds: Math.round((u.userS + u.systemS) * 100) / 100,
          mainThreadSeconds: u.mainThreadS ?? null,
          peakRssMiB: Math.round(u.maxRssKiB / 1024),
          exitCode: child.status,
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const clis: string[] = [];
  for (let i = args.indexOf('--cli'); i >= 0; i = args.indexOf('--cli')) clis.push(...args.splice(i, 2).slice(1));
  const ops = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
  if (!args.includes('--end-to-end-only')) {
    for (const r of await benchCheckers(ops)) console.log(`${r.name.padEnd(24)} ${String(r.ops).padStart(9)} ops ${r.seconds.toFixed(3).padStart(8)} s ${r.cpuSeconds.toFixed(3).padStart(8)} cpu-s ${String(r.opsPerS).padStart(10)} ops/s`);
  }
  for (const r of benchCheckEndToEnd(ops, clis.length > 0 ? clis : [DEFAULT_CLI])) {
    console.log(`check ${r.name}: ${r.ops} ops (${r.megabytes} MB), wall ${r.wallSeconds} s, CPU ${r.cpuSeconds} s (main thread ${r.mainThreadSeconds ?? '?'} s), peak RSS ${r.peakRssMiB} MiB`);
  }
}
