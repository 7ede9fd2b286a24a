// A campaign: many runs across (N,R,W) × sloppy/strict × vclock/lww × fault sets × seeds, then a
// comparison table (printed, and in campaign.json / campaign.html): availability, p99 latency, stale-read
// rate, lost adds, convergence time. The exit code is the merged validity of all runs. The matrix has one
// canonical order (campaignPlan); runs go to worker processes (`--jobs`, campaign-pool.ts), a shard runs a
// fixed 1/n of it (`--shard i/n`), and `campaign merge` puts shards back together (campaign-merge.ts).
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { mergeValidity, type Validity } from '../checkers/history.js';
import type { FaultShapes, NemesisKind } from './nemesis/nemesis.js';
import { renderCampaignHtml, sessionCell } from './campaign-html.js';
import { executeRuns } from './campaign-pool.js';
import { campaignHeader, campaignIdentity, runFolderName, shardOf, writeCampaignSummary, type CampaignHeader, type CampaignShard, type StoredRow } from './campaign-shard.js';
import { exitCodeFor, type RunOptions } from './run.js';
import type { Mechanisms, Runtime, RuntimeKind } from './runtime/runtime.js';
import { createRunDir, updateLatest } from './store.js';

export { renderCampaignHtml, sessionCell } from './campaign-html.js';
import { InvalidArgumentError } from 'commander';
import { checkRuntimeFlags, checkShapeFlags, clusterEnvFrom, mechanismsFrom, faultShapesFrom, parseConflictsList, parseInterval, parseModes, parseNemesis, parseNrwList } from './cli-args.js';
import type { WorkloadName } from '../workloads/workload.js';
import { worldFlagError, worldFlagsFrom, type WorldFlags } from './sim-world.js';
import { isWorkloadName } from '../workloads/index.js';
import { sshOptionsFrom } from './ssh-args.js';
import type { SshRunOptions } from './runtime/ssh.js';

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
  /** local: the loopback range of every run's nodes (`--host-base`; RunOptions.hostBase). */
  readonly hostBase?: number;
  /** Extra QL_* variables for every node of every run (`--env`, and `--fault` as QL_TEST_FAULTS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Keys per run (default: the workload's own). */
  readonly keyCount?: number;
  /** Dynamo mechanisms switched off in every run (`--no-read-repair` and its siblings). */
  readonly mechanisms?: Mechanisms;
  /** sim: the world flags of every run (--drop, --fsync-ms, …), and the --net models, one axis (default: the sim's). */
  readonly world?: WorldFlags;
  readonly nets?: readonly string[];
  /** Axes beyond the matrix's own: cluster sizes (`--nodes 3,5`; default [nodes]), request timeouts (ms), mechanism sets. */
  readonly nodeCounts?: readonly number[];
  readonly requestTimeouts?: readonly number[];
  readonly mechanismSets?: readonly MechanismSet[];
  /** Partition kinds and crash/pause targets the random nemesis draws from (default: all). */
  readonly faultShapes?: FaultShapes;
  /** Runs at once: this process and jobs − 1 worker processes (default 1; the CLI's default is the core count for sim). */
  readonly jobs?: number;
  /**
   * Which runs write report.html as they finish (`--reports`): 'failed' (the default) those not valid, the
   * ones someone opens first; the valid ones render theirs on demand (`quorumlab report`, `quorumlab serve`),
   * because rendering every run's report costs a few per cent of a simulated run. 'all': every run.
   */
  readonly reports?: 'all' | 'failed';
  /** Only this 1/n of the matrix (`--shard i/n`, i from 1); the rest is other shards' to run. */
  readonly shard?: CampaignShard;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
  /** Tests: a runtime per run (a fresh fake each time); runs then stay in this process, one at a time. */
  readonly runtimeFactory?: () => Runtime;
  /** The ssh runtime's hosts (`--hosts` or `--inventory`), the same for every run. */
  readonly ssh?: SshRunOptions;
}

/** One value of the --mechanisms axis: its name in labels and the switches it leaves on. */
export interface MechanismSet {
  readonly label: string;
  readonly mechanisms: Mechanisms;
}

const ablations: Readonly<Record<string, keyof Mechanisms>> = { 'no-read-repair': 'readRepair', 'no-anti-entropy': 'antiEntropy', 'no-hinted-handoff': 'hintedHandoff' };

/** `--mechanisms all,no-read-repair,no-read-repair+no-anti-entropy`: each set on top of the --no-* flags of every run. */
export function parseMechanismSets(v: unknown, every: Mechanisms): MechanismSet[] {
  const items = String(v).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new InvalidArgumentError('--mechanisms needs at least one set (all, or no-read-repair, no-anti-entropy, no-hinted-handoff joined by +)');
  const seen = new Set<string>();
  return items.map((item) => {
    const parts = item === 'all' ? [] : item.split('+').map((s) => s.trim());
    const mechanisms = { ...every };
    for (const part of parts) {
      const key = ablations[part];
      if (key === undefined) throw new InvalidArgumentError(`--mechanisms: unknown set "${item}" (each set is all, or no-read-repair, no-anti-entropy, no-hinted-handoff joined by +)`);
      mechanisms[key] = false;
    }
    const label = parts.length === 0 ? 'all' : [...new Set(parts)].sort().join('+');
    if (seen.has(label)) throw new InvalidArgumentError(`--mechanisms lists "${item}" twice`);
    seen.add(label);
    return { label, mechanisms };
  });
}

/** A comma-separated axis of whole numbers ≥ min (`--nodes 3,5`, `--request-timeout 200,1000`); a number as is. */
export function parseIntAxis(v: unknown, flag: string, min: number, fallback: number): number[] {
  if (v === undefined) return [fallback];
  if (typeof v === 'number') return [v];
  const items = String(v).split(',').map((s) => s.trim());
  const out = items.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (items.length === 0 || out.some((x) => !Number.isInteger(x) || x < min)) {
    throw new InvalidArgumentError(`${flag} expects whole numbers ≥ ${min}, comma-separated, got "${String(v)}"`);
  }
  if (new Set(out).size !== out.length) throw new InvalidArgumentError(`${flag} lists a value twice: "${String(v)}"`);
  return out;
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
  const runtime = (o['runtime'] ?? 'local') as RuntimeKind;
  const jobs = parseJobs(o['jobs'], runtime);
  const shard = o['shard'] !== undefined ? parseShard(String(o['shard'])) : undefined;
  const reports = parseReports(o['reports']);
  const ssh = sshOptionsFrom(o);
  const nodeCounts = parseIntAxis(o['nodes'], '--nodes', 1, 5);
  const requestTimeouts = parseIntAxis(o['requestTimeout'], '--request-timeout', 1, 1000);
  const mechanisms = mechanismsFrom(o);
  const mechanismSets = o['mechanisms'] !== undefined ? parseMechanismSets(o['mechanisms'], mechanisms) : undefined;
  const base = {
    name: String(o['name'] ?? 'campaign'),
    runtime,
    nodes: nodeCounts[0]!,
    ...(nodeCounts.length > 1 ? { nodeCounts } : {}),
    ...(requestTimeouts.length > 1 || requestTimeouts[0] !== 1000 ? { requestTimeouts } : {}),
    ...(mechanismSets !== undefined ? { mechanismSets } : {}),
    concurrency: (o['concurrency'] as number | undefined) ?? 10,
    rate: (o['rate'] as number | undefined) ?? 50,
    store: String(o['store'] ?? 'store'),
    ...(typeof o['nodeCmd'] === 'string' ? { nodeCmd: o['nodeCmd'] } : {}),
    ...(typeof o['image'] === 'string' ? { image: o['image'] } : {}),
    ...(typeof o['hostBase'] === 'number' ? { hostBase: o['hostBase'] } : {}),
    ...(env !== undefined ? { env } : {}),
    mechanisms,
    jobs,
    ...(shard !== undefined ? { shard } : {}),
    ...(reports !== undefined ? { reports } : {}),
    ...worldOptionsFrom(o),
    ...(ssh !== undefined ? { ssh } : {}),
  };
  if (quick) {
    // 2 modes × 4 faults × 2 workloads = 16 runs of about 16 s each (10 s workload, 2 s quiesce, setup).
    return {
      ...base,
      nrw: [{ n: 3, r: 2, w: 2 }],
      sloppy: [false, true],
      conflicts: ['vclock'],
      workloads: ['register', 'cart'],
      nemeses: quickNemeses,
      seeds: [firstSeed],
      // Room for two faults of 4 s (1-5 s and 6-10 s): the first two steps of each run's coverage pass.
      timeLimitS: 10,
      quiesceS: 2,
      nemesisQuietS: 1,
      nemesisFaultS: 4,
      // Twelve keys: enough that some key's home replicas all sit on the far side of a partition, so a
      // write there lives only as a hint (what 'drop-hints' loses), while each key still sees contention.
      keyCount: keys ?? 12,
      // Two faults fit in a quick run, so they are spent on the shapes that expose the most (the coverage
      // pass plays them in this order): a key's homes cut away from the side its clients write through
      // (writes there live only as hints), then its homes split 1 | N-1 (the lone home's writes and reads
      // meet one replica); every node, then a majority, crashed or paused (W >= 2 masks a smaller crash).
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

/**
 * `--jobs N`: runs at once. Simulated runs are pure CPU and independent, so the default is one per core;
 * local and Docker runs use fixed loopback addresses and real time, so two at once would collide on ports
 * and steal each other's CPU mid-measurement: they stay one at a time.
 */
function parseJobs(v: unknown, runtime: RuntimeKind): number {
  if (v === undefined) return runtime === 'sim' ? availableParallelism() : 1;
  const jobs = Number(v);
  if (!Number.isInteger(jobs) || jobs < 1) throw new InvalidArgumentError(`--jobs must be a whole number above 0, got "${String(v)}"`);
  if (jobs > 1 && runtime !== 'sim') {
    throw new InvalidArgumentError(`--jobs ${jobs} needs --runtime sim (${runtime} runs share loopback addresses and real time, so they run one at a time)`);
  }
  return jobs;
}

/** `--reports all|failed`; undefined: the default (failed). */
function parseReports(v: unknown): 'all' | 'failed' | undefined {
  if (v === undefined) return undefined;
  if (v === 'all' || v === 'failed') return v;
  throw new InvalidArgumentError(`--reports must be all or failed, got "${String(v)}"`);
}

/** `--shard i/n`: the i-th (from 1) of n shards. */
export function parseShard(v: string): CampaignShard {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || !(count >= 1) || !(index >= 1) || index > count) {
    throw new InvalidArgumentError(`--shard expects i/n with 1 ≤ i ≤ n (e.g. 1/3), got "${v}"`);
  }
  return { index, count };
}

/** The world flags of a campaign (checked for its runtime) and its --net axis. */
function worldOptionsFrom(o: Record<string, unknown>): { world?: WorldFlags; nets?: string[] } {
  const nets = typeof o['net'] === 'string' ? o['net'].split(',') : undefined;
  const world = worldFlagsFrom({ ...o, net: nets?.[0] });
  const runtime = (o['runtime'] ?? 'local') as RuntimeKind;
  for (const nodes of parseIntAxis(o['nodes'], '--nodes', 1, 5)) {
    const error = worldFlagError(world, runtime, nodes);
    if (error !== undefined) throw new InvalidArgumentError(error);
  }
  const { net: _first, ...rest } = world;
  return { ...(Object.keys(rest).length > 0 ? { world: rest } : {}), ...(nets !== undefined ? { nets } : {}) };
}

/** The quick sweep's fault sets, one fault per run. */
const quickNemeses: NemesisKind[][] = [['partition'], ['clock'], ['crash'], ['pause']];

/** The quick sweep's fault shapes (see campaignOptionsFrom). */
export const quickFaultShapes: FaultShapes = { partitions: ['homes-away', 'homes-split'], targets: ['all', 'majority'] };

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

/** One run of the campaign's matrix: its place in it (what shards split on) and its options. */
export interface PlannedRun {
  readonly index: number;
  /** Its results folder under the campaign's runs/: named by place and seed, never by the clock. */
  readonly folder: string;
  /** The run's options without where it writes (the executor adds store and runDir). */
  readonly run: RunOptions;
}

/**
 * The campaign's matrix in its one canonical order (workload, N/R/W, mode, conflicts, faults, seed). The
 * order is part of the campaign's identity: shards select from it by index and merge back into it.
 */
export function campaignPlan(options: CampaignOptions): PlannedRun[] {
  const plan: PlannedRun[] = [];
  const nets: readonly (string | undefined)[] = options.nets ?? [undefined];
  const nodeCounts = options.nodeCounts ?? [options.nodes];
  const timeouts: readonly (number | undefined)[] = options.requestTimeouts ?? [undefined];
  const sets: readonly (MechanismSet | undefined)[] = options.mechanismSets ?? [undefined];
  // An axis with one value names no run (so a campaign without the new axes keeps its names and identity).
  const nodesVary = nodeCounts.length > 1;
  const timeoutsVary = timeouts.length > 1;
  for (const net of nets)
  for (const nodeCount of nodeCounts)
  for (const timeout of timeouts)
  for (const set of sets)
  for (const workload of options.workloads)
    for (const { n, r, w } of options.nrw)
      for (const sloppy of options.sloppy)
        for (const conflicts of options.conflicts)
          for (const nemesis of options.nemeses)
            for (const seed of options.seeds) {
              const axes: Record<string, string> = {
                ...(net !== undefined ? { net } : {}),
                ...(nodesVary ? { nodes: `${Math.max(nodeCount, n)} nodes` } : {}),
                ...(timeoutsVary ? { timeout: `timeout ${timeout}ms` } : {}),
                ...(set !== undefined ? { mechanisms: set.label } : {}),
              };
              const suffix = [
                net !== undefined ? `-${net.replace(/:/g, '')}` : '',
                nodesVary ? `-${Math.max(nodeCount, n)}nodes` : '',
                timeoutsVary ? `-rt${timeout}` : '',
                set !== undefined ? `-${set.label}` : '',
              ].join('');
              const name = `${options.name}-${workload}-n${n}r${r}w${w}-${sloppy ? 'sloppy' : 'strict'}-${conflicts}-${nemesis.join('+') || 'none'}${suffix}`;
              const mechanisms = set?.mechanisms ?? options.mechanisms;
              plan.push({
                index: plan.length,
                folder: runFolderName(plan.length, name, seed),
                run: {
                  name,
                  runtime: options.runtime, nodes: Math.max(nodeCount, n), n, r, w, sloppy, conflicts, workload,
                  nemesis, seed, timeLimitS: options.timeLimitS, concurrency: options.concurrency, rate: options.rate,
                  quiesceS: options.quiesceS, nemesisQuietS: options.nemesisQuietS, nemesisFaultS: options.nemesisFaultS,
                  quiet: true,
                  ...(timeout !== undefined ? { requestTimeoutMs: timeout } : {}),
                  ...(Object.keys(axes).length > 0 ? { axes } : {}),
                  ...(options.nodeCmd !== undefined ? { nodeCmd: options.nodeCmd } : {}),
                  ...(options.image !== undefined ? { image: options.image } : {}),
                  ...(options.hostBase !== undefined ? { hostBase: options.hostBase } : {}),
                  ...(options.env !== undefined ? { env: options.env } : {}),
                  ...(mechanisms !== undefined ? { mechanisms } : {}),
                  ...(options.world !== undefined || net !== undefined ? { world: { ...(options.world ?? {}), ...(net !== undefined ? { net } : {}) } } : {}),
                  ...(options.keyCount !== undefined ? { keyCount: options.keyCount } : {}),
                  ...(options.faultShapes !== undefined ? { faultShapes: options.faultShapes } : {}),
                  ...(options.ssh !== undefined ? { ssh: options.ssh } : {}),
                },
              });
            }
  return plan;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const log = options.quiet === true ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  const plan = campaignPlan(options);
  const id = campaignIdentity(options.name, plan);
  const shard = options.shard ?? { index: 1, count: 1 };
  const mine = shardOf(plan, shard);
  const jobs = Math.max(1, Math.min(options.jobs ?? 1, mine.length));
  const dir = await createRunDir(options.store, options.name, new Date());
  const rows: StoredRow[] = [];
  const header = campaignHeader(id, plan.length, options.shard ?? null);
  log(`campaign "${options.name}"${options.shard !== undefined ? ` shard ${shard.index}/${shard.count}: ${mine.length} of ${plan.length}` : `: ${plan.length}`} runs` +
    `${jobs > 1 ? ` in ${jobs} lanes (this process and ${jobs - 1} worker${jobs - 1 === 1 ? '' : 's'})` : ''} (campaign ${id}) → ${dir}`);
  const summaryOptions = { ...options, runtimeFactory: undefined, log: undefined };
  let summaryWrittenMs = -Infinity;
  // Not part of the plan (so not of the campaign's identity): whether a run writes its report changes nothing it tests.
  const skipReport = options.reports === 'all' ? {} : { skipReport: 'valid' as const };
  await executeRuns(mine.map((p) => ({ index: p.index, run: { ...p.run, store: join(dir, 'runs'), runDir: join(dir, 'runs', p.folder), ...skipReport } })), {
    jobs,
    ...(options.runtimeFactory !== undefined ? { runtimeFactory: options.runtimeFactory } : {}),
  }, async ({ index, row, error }) => {
    rows.push({ index, ...row });
    log(`  [${rows.length}/${mine.length}] ${row.label}: ${String(row.valid)}${error !== undefined ? ` (${error})` : ''}`);
    // Keep the summary current so an interrupted campaign still leaves its table so far — at most once a
    // second (wall time; it decides nothing a run does): campaign.json holds every row so far, so writing it
    // after each run costs O(runs²) over a campaign, and simulated runs finish many a second.
    if (Date.now() - summaryWrittenMs >= 1000) {
      await writeCampaignSummary(dir, summaryOptions, header, rows);
      summaryWrittenMs = Date.now();
    }
  });
  return finishCampaign(options.store, dir, options.name, summaryOptions, header, rows, log);
}

/** Writes what a finished campaign (or merge) leaves: campaign.json, table.txt, campaign.html; prints the table. */
export async function finishCampaign(store: string, dir: string, name: string, options: Record<string, unknown>, header: CampaignHeader,
  rows: readonly StoredRow[], log: (line: string) => void): Promise<CampaignResult> {
  await writeCampaignSummary(dir, options, header, rows);
  const table = formatTable(rows);
  await writeFile(join(dir, 'table.txt'), `${table}\n`);
  await writeFile(join(dir, 'campaign.html'), await renderCampaignHtml(name, rows, dir));
  await updateLatest(store, dir);
  log(table);
  const valid = mergeValidity(rows.map((r) => r.valid));
  // Before the verdict, which stays the last line (scripts read it with `tail -1`).
  if (options['reports'] !== 'all' && rows.some((r) => r.valid === true)) {
    log(`valid runs' reports are rendered on demand: quorumlab serve ${store}, or quorumlab report ${dir}`);
  }
  log(`campaign ${valid === true ? 'VALID' : valid === false ? 'INVALID' : 'UNKNOWN'} → ${join(dir, 'campaign.html')}`);
  return { exitCode: rows.length === 0 ? 2 : exitCodeFor(valid), valid, rows: rows.map(({ index: _index, ...row }) => row), dir };
}
