// A campaign: many runs across (N,R,W) × sloppy/strict × vclock/lww × fault sets × seeds, one after the
// other, then a comparison table (printed, and in campaign.json / campaign.html): availability, p99
// latency, stale-read rate, lost adds, convergence time. The exit code is the merged validity of all runs.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeValidity, type HistoryOp, type Validity } from '../checkers/history.js';
import type { FaultShapes, NemesisKind } from './nemesis/nemesis.js';
import { reportFigures, replayCommand } from './report/index.js';
import { renderCampaignHtml, sessionCell } from './campaign-html.js';
import { exitCodeFor, runTest, type RunDeps, type RunOptions, type RunResult } from './run.js';
import type { Mechanisms, Runtime, RuntimeKind } from './runtime/runtime.js';
import { createRunDir, updateLatest, writeJson } from './store.js';

export { renderCampaignHtml, sessionCell } from './campaign-html.js';
import { InvalidArgumentError } from 'commander';
import { checkRuntimeFlags, checkShapeFlags, clusterEnvFrom, mechanismsFrom, faultShapesFrom, parseConflictsList, parseInterval, parseModes, parseNemesis, parseNrwList } from './cli-args.js';
import type { WorkloadName } from '../workloads/workload.js';
import { isWorkloadName } from '../workloads/index.js';

export interface CampaignOptions {
  readonly name: string;
  readonly runtime: RuntimeKind;
  readonly nodes: number;
  readonly nrw: readonly { n: number; r: number; w: number }[];
  readonly sloppy: readonly boolean[];
  readonly conflicts: readonly ('vclock' | 'lww')[];
  readonly workloads: readonly WorkloadName[];
  readonly nemeses: readonly (readonly NemesisKind[])[];
  readonly seeds: readonly number[];
  readonly timeLimitS: number;
  readonly concurrency: number;
  readonly rate: number;
  readonly quiesceS: number;
  readonly nemesisQuietS: number;
  readonly nemesisFaultS: number;
  readonly store: string;
  readonly nodeCmd?: string;
  readonly image?: string;
  /** Extra QL_* variables for every node of every run (`--env`, and `--fault` as QL_TEST_FAULTS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Keys per run (default: the workload's own). */
  readonly keyCount?: number;
  /** Dynamo mechanisms switched off in every run (`--no-read-repair` and its siblings). */
  readonly mechanisms?: Mechanisms;
  /** Partition kinds and crash/pause targets the random nemesis draws from (default: all). */
  readonly faultShapes?: FaultShapes;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
  /** Tests: a runtime per run (a fresh fake each time). */
  readonly runtimeFactory?: () => Runtime;
}

export interface CampaignRow {
  readonly label: string;
  readonly workload: string;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly sloppy: boolean;
  readonly conflicts: string;
  readonly nemesis: string;
  readonly seed: number;
  readonly valid: Validity;
  readonly availability: number | null;
  readonly p99Ms: number | null;
  readonly staleReadRate: number | null;
  readonly lostAdds: number | null;
  readonly convergenceMs: number | null;
  /** Session-guarantee violation rates (register workloads), null elsewhere. */
  readonly session: { readonly ryw: number | null; readonly mr: number | null; readonly mw: number | null; readonly wfr: number | null } | null;
  readonly runDir: string | null;
  readonly replay: string;
}

export interface CampaignResult {
  readonly exitCode: 0 | 1 | 2;
  readonly valid: Validity;
  readonly rows: CampaignRow[];
  readonly dir: string;
}

function list(v: unknown, fallback: string): string[] {
  return String(v ?? fallback).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Turns `campaign` flags into options; `--quick` fixes a bounded sweep. Every flag is checked, with
 * --quick too, and a bad value throws one line (InvalidArgumentError: the CLI prints it and exits 2)
 * before any run starts: a sweep that ran some other configuration than the one asked for, or ran
 * nothing and reported unknown, would be a wrong measurement.
 */
export function campaignOptionsFrom(o: Record<string, unknown>): CampaignOptions {
  const quick = o['quick'] === true;
  checkRuntimeFlags(o);
  const nrw = parseNrwList(o['nrw']);
  const sloppy = parseModes(o['modes']);
  const conflicts = parseConflictsList(o['conflicts']);
  const workloads = list(o['workloads'], 'register,cart').map((w) => {
    if (!isWorkloadName(w)) throw new InvalidArgumentError(`unknown workload "${w}" (use register, cart, cart-kv or pbs)`);
    return w;
  });
  if (workloads.length === 0) throw new InvalidArgumentError('--workloads needs at least one of register, cart, cart-kv, pbs');
  const nemeses = String(o['nemeses'] ?? 'partition').split(';').map((s) => parseNemesis(s.trim()));
  checkShapeFlags(o, quick ? quickNemeses : nemeses);
  const firstSeed = (o['seed'] as number | undefined) ?? 1;
  const seedCount = (o['seeds'] as number | undefined) ?? 1;
  if (!Number.isInteger(seedCount) || seedCount < 1) throw new InvalidArgumentError(`--seeds must be a whole number above 0, got ${seedCount}`);
  const interval = parseInterval(String(o['nemesisInterval'] ?? '5,5'));
  const env = clusterEnvFrom(o);
  const keys = typeof o['keys'] === 'number' ? o['keys'] : undefined;
  const shapes = faultShapesFrom(o);
  const base = {
    name: String(o['name'] ?? 'campaign'),
    runtime: (o['runtime'] ?? 'local') as RuntimeKind,
    nodes: (o['nodes'] as number | undefined) ?? 5,
    concurrency: (o['concurrency'] as number | undefined) ?? 10,
    rate: (o['rate'] as number | undefined) ?? 50,
    store: String(o['store'] ?? 'store'),
    ...(typeof o['nodeCmd'] === 'string' ? { nodeCmd: o['nodeCmd'] } : {}),
    ...(typeof o['image'] === 'string' ? { image: o['image'] } : {}),
    ...(env !== undefined ? { env } : {}),
    mechanisms: mechanismsFrom(o),
  };
  if (quick) {
    // 2 modes × 4 faults × 2 workloads = 16 runs of about 12 s each (6 s workload, 2 s quiesce, setup).
    return {
      ...base,
      nrw: [{ n: 3, r: 2, w: 2 }],
      sloppy: [false, true],
      conflicts: ['vclock'],
      workloads: ['register', 'cart'],
      nemeses: quickNemeses,
      seeds: [firstSeed],
      timeLimitS: 6,
      quiesceS: 2,
      nemesisQuietS: 1,
      nemesisFaultS: 4,
      // Twelve keys: enough that some key's home replicas all sit on the far side of a partition, so a
      // write there lives only as a hint (what 'drop-hints' loses), while each key still sees contention.
      keyCount: keys ?? 12,
      // One fault fits in a quick run, so it is spent on the shapes that expose the most: random halves
      // (the minority side holds no replica of some keys, so its writes there live only as hints) and
      // crashes or pauses of a majority or of every node (a single-node crash is masked whenever W >= 2).
      faultShapes: shapes ?? quickFaultShapes,
    };
  }
  return {
    ...base,
    nrw,
    sloppy,
    conflicts,
    workloads,
    nemeses,
    seeds: Array.from({ length: seedCount }, (_, i) => firstSeed + i),
    timeLimitS: (o['timeLimit'] as number | undefined) ?? 20,
    quiesceS: (o['quiesce'] as number | undefined) ?? 5,
    nemesisQuietS: interval.quietS,
    nemesisFaultS: interval.faultS,
    ...(keys !== undefined ? { keyCount: keys } : {}),
    ...(shapes !== undefined ? { faultShapes: shapes } : {}),
  };
}

/** The quick sweep's fault sets, one fault per run. */
const quickNemeses: NemesisKind[][] = [['partition'], ['clock'], ['crash'], ['pause']];

/** The quick sweep's fault shapes (see campaignOptionsFrom). */
export const quickFaultShapes: FaultShapes = { partitions: ['random-halves'], targets: ['majority', 'all'] };

async function readHistory(runDir: string): Promise<HistoryOp[]> {
  try {
    const text = await readFile(join(runDir, 'history.jsonl'), 'utf8');
    return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as HistoryOp);
  } catch {
    return [];
  }
}

async function rowFor(options: RunOptions, result: RunResult): Promise<CampaignRow> {
  const history = result.runDir === undefined ? [] : await readHistory(result.runDir);
  const fig = reportFigures(history, result.checkers);
  const clientOps = fig.availability.inside.total + fig.availability.outside.total;
  const okOps = fig.availability.inside.ok + fig.availability.outside.ok;
  const nemesis = options.nemesis.length > 0 ? options.nemesis.join(',') : 'none';
  return {
    label: `${options.workload} N${options.n}R${options.r}W${options.w} ${options.sloppy ? 'sloppy' : 'strict'} ${options.conflicts} ${nemesis} #${options.seed}`,
    workload: options.workload,
    n: options.n, r: options.r, w: options.w,
    sloppy: options.sloppy,
    conflicts: options.conflicts,
    nemesis,
    seed: options.seed,
    valid: result.valid,
    availability: clientOps > 0 ? okOps / clientOps : null,
    p99Ms: fig.latencyMs.p99,
    staleReadRate: fig.staleReadRate,
    lostAdds: fig.cart?.lost ?? null,
    convergenceMs: result.stats.convergenceMs,
    session: fig.session === null ? null : {
      ryw: fig.session.rows[0]!.rate, mr: fig.session.rows[1]!.rate, mw: fig.session.rows[2]!.rate, wfr: fig.session.rows[3]!.rate,
    },
    runDir: result.runDir ?? null,
    replay: replayCommand(result.config as unknown as Record<string, unknown>),
  };
}

function cell(v: number | null, digits: number, scale = 1, suffix = ''): string {
  return v === null ? '–' : `${(v * scale).toFixed(digits)}${suffix}`;
}

/** The comparison table as aligned text (what the terminal shows). */
export function formatTable(rows: readonly CampaignRow[]): string {
  const header = ['configuration', 'valid', 'avail', 'p99 ms', 'stale', 'lost', 'converge ms', 'session % ryw/mr/mw/wfr'];
  const body = rows.map((r) => [r.label, String(r.valid), cell(r.availability, 1, 100, '%'), cell(r.p99Ms, 1),
    cell(r.staleReadRate, 2, 100, '%'), r.lostAdds === null ? '–' : String(r.lostAdds), cell(r.convergenceMs, 0), sessionCell(r.session)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.quiet === true ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  const dir = await createRunDir(options.store, options.name, new Date());
  const rows: CampaignRow[] = [];
  const plan: RunOptions[] = [];
  for (const workload of options.workloads)
    for (const { n, r, w } of options.nrw)
      for (const sloppy of options.sloppy)
        for (const conflicts of options.conflicts)
          for (const nemesis of options.nemeses)
            for (const seed of options.seeds)
              plan.push({
                name: `${options.name}-${workload}-n${n}r${r}w${w}-${sloppy ? 'sloppy' : 'strict'}-${conflicts}-${nemesis.join('+') || 'none'}`,
                runtime: options.runtime, nodes: Math.max(options.nodes, n), n, r, w, sloppy, conflicts, workload,
                nemesis, seed, timeLimitS: options.timeLimitS, concurrency: options.concurrency, rate: options.rate,
                quiesceS: options.quiesceS, nemesisQuietS: options.nemesisQuietS, nemesisFaultS: options.nemesisFaultS,
                store: join(dir, 'runs'), quiet: true,
                ...(options.nodeCmd !== undefined ? { nodeCmd: options.nodeCmd } : {}),
                ...(options.image !== undefined ? { image: options.image } : {}),
                ...(options.env !== undefined ? { env: options.env } : {}),
                ...(options.mechanisms !== undefined ? { mechanisms: options.mechanisms } : {}),
                ...(options.keyCount !== undefined ? { keyCount: options.keyCount } : {}),
                ...(options.faultShapes !== undefined ? { faultShapes: options.faultShapes } : {}),
              });
  log(`campaign "${options.name}": ${plan.length} runs → ${dir}`);
  for (const [i, run] of plan.entries()) {
    const deps: RunDeps = options.runtimeFactory !== undefined ? { runtime: options.runtimeFactory() } : {};
    const result = await runTest(run, deps);
    const row = await rowFor(run, result);
    rows.push(row);
    log(`  [${i + 1}/${plan.length}] ${row.label}: ${String(row.valid)}${result.error !== undefined ? ` (${result.error})` : ''}`);
    // Keep the summary current so an interrupted campaign still leaves its table so far.
    await writeJson(join(dir, 'campaign.json'), { options: { ...options, runtimeFactory: undefined, log: undefined }, rows });
  }
  const table = formatTable(rows);
  await writeFile(join(dir, 'table.txt'), `${table}\n`);
  await writeFile(join(dir, 'campaign.html'), await renderCampaignHtml(options.name, rows, dir));
  await updateLatest(options.store, dir);
  log(table);
  const valid = mergeValidity(rows.map((r) => r.valid));
  log(`campaign ${valid === true ? 'VALID' : valid === false ? 'INVALID' : 'UNKNOWN'} → ${join(dir, 'campaign.html')}`);
  return { exitCode: rows.length === 0 ? 2 : exitCodeFor(valid), valid, rows, dir };
}
