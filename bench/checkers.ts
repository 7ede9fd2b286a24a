// Checker benchmark: times each checker, and all of a workload's checkers together, on synthetic histories
// of a correct register and cart. Run standalone with `npx tsx bench/checkers.ts [ops]`.
import { pathToFileURL } from 'node:url';
import { checkAll, checkers, checkersFor, type CheckOptions } from '../checkers/index.js';
import { syntheticHistory } from '../checkers/synthetic.js';

export interface BenchRow {
  name: string;
  ops: number;
  seconds: number;
  /** CPU seconds of this process (user + system): less sensitive than wall time to a busy machine. */
  cpuSeconds: number;
  opsPerS: number;
}

/** `ops` counts history events (lines); each workload's history has about that many. */
export async function benchCheckers(ops = 1_000_000): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const workload of ['register', 'cart'] as const) {
    // About two events per client op; many keys and processes, like a real run.
    const history = syntheticHistory(workload, {
      seed: 42, ops: Math.floor(ops / 2), processes: 20, keys: Math.max(1, Math.floor(ops / 2000)), items: 12, infoRate: 0.01,
    });
    const options: CheckOptions = { n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', workload };
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const ops = Number(process.argv[2] ?? 1_000_000);
  const rows = await benchCheckers(ops);
  for (const r of rows) console.log(`${r.name.padEnd(24)} ${String(r.ops).padStart(9)} ops ${r.seconds.toFixed(3).padStart(8)} s ${r.cpuSeconds.toFixed(3).padStart(8)} cpu-s ${String(r.opsPerS).padStart(10)} ops/s`);
}
