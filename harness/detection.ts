// Detection power as a figure (`campaign --preset detection`): for each bug class of docs/bug-classes.md,
// one run per seed of the reference node with that class's test-only defect switched on (QL_TEST_FAULTS),
// in the configuration the page documents for it, and one run per seed of the reference node itself in
// each of those configurations. The table says how often one run flagged the defect (and the median
// number of seeds until the first flag), and how often the correct node was flagged anyway (false alarms).
// Runs go seed by seed over every class, so a measurement stopped early still covers each class evenly.
import { mkdir, writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { join } from 'node:path';
import type { Validity } from '../checkers/history.js';
import type { NemesisKind } from './nemesis/nemesis.js';
import { runTest, type RunOptions, type RunResult } from './run.js';
import type { Runtime, RuntimeKind } from './runtime/runtime.js';
import { createRunDir, updateLatest, writeJson } from './store.js';
import type { WorkloadName } from '../workloads/workload.js';

/** One bug class: its fixture and the documented configuration that should provoke it. */
export interface DetectionClass {
  /** The row number in docs/bug-classes.md. */
  readonly row: number;
  /** The QL_TEST_FAULTS name. */
  readonly fault: string;
  readonly workload: WorkloadName;
  readonly sloppy: boolean;
  readonly conflicts: 'vclock' | 'lww';
  readonly nemesis: readonly NemesisKind[];
  readonly keyCount?: number;
  readonly concurrency?: number;
  readonly rate?: number;
}

/**
 * The classes as docs/bug-classes.md documents them (5 nodes, N=3 R=2 W=2, the run defaults otherwise:
 * 10 clients at 50 ops/s, a fault every 5 s held 5 s, every shape of the nemesis asked for). Nothing here
 * narrows the fault shapes to what one fixture needs: the schedule is the one any user of the
 * configuration gets.
 */
export const detectionClasses: readonly DetectionClass[] = [
  // Load through the node a partition isolates, so reads meet a lagging replica on loopback too.
  { row: 1, fault: 'ack-before-w', workload: 'register', sloppy: false, conflicts: 'vclock', nemesis: ['partition'], concurrency: 10, rate: 100 },
  { row: 2, fault: 'read-fewer-than-r', workload: 'register', sloppy: false, conflicts: 'vclock', nemesis: ['partition'], concurrency: 10, rate: 100 },
  { row: 3, fault: 'lww-in-vclock', workload: 'register', sloppy: true, conflicts: 'vclock', nemesis: ['clock'] },
  // Thirty keys: several share the home set a partition cuts away, so their writes live only as hints.
  { row: 4, fault: 'drop-hints', workload: 'cart', sloppy: true, conflicts: 'vclock', nemesis: ['partition'], keyCount: 30 },
  { row: 5, fault: 'no-repair', workload: 'register', sloppy: false, conflicts: 'vclock', nemesis: ['partition'] },
  { row: 6, fault: 'remove-unobserved', workload: 'cart', sloppy: true, conflicts: 'vclock', nemesis: ['partition'] },
  { row: 7, fault: 'ack-not-durable', workload: 'register', sloppy: false, conflicts: 'vclock', nemesis: ['crash'] },
  { row: 8, fault: 'context-overcovers', workload: 'register', sloppy: true, conflicts: 'vclock', nemesis: ['partition'] },
  { row: 9, fault: 'actor-reuse', workload: 'register', sloppy: true, conflicts: 'vclock', nemesis: ['disk-loss'] },
];

/** The flags of `quorumlab run` that reproduce a class's configuration (docs and the table show them). */
export function classFlags(c: DetectionClass): string {
  return [
    `--workload ${c.workload}`, c.sloppy ? '--sloppy' : '--strict', ...(c.conflicts !== 'vclock' ? [`--conflicts ${c.conflicts}`] : []),
    `--nemesis ${c.nemesis.join(',')}`, ...(c.keyCount !== undefined ? [`--keys ${c.keyCount}`] : []),
    ...(c.concurrency !== undefined ? [`--concurrency ${c.concurrency}`] : []), ...(c.rate !== undefined ? [`--rate ${c.rate}`] : []),
  ].join(' ');
}

export interface DetectionOptions {
  readonly runtime: RuntimeKind;
  readonly seeds: readonly number[];
  readonly timeLimitS: number;
  /** Only these fixtures (default: every class). */
  readonly faults?: readonly string[];
  readonly store: string;
  readonly name: string;
  readonly nodeCmd?: string;
  readonly image?: string;
  /** local: node i of every run on 127.0.0.(hostBase + i) (`--host-base`). */
  readonly hostBase?: number;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
  /** A runtime per run (tests and parallel measurements give each their own addresses). */
  readonly runtimeFactory?: () => Runtime;
}

/** One run of the measurement: a class's fixture, or the reference node in a class's configuration. */
export interface DetectionRow {
  /** The fixture switched on, or null for the reference node. */
  readonly fault: string | null;
  /** The configuration, as run flags. */
  readonly config: string;
  readonly seed: number;
  readonly valid: Validity;
  /** Checkers that said invalid. */
  readonly flaggedBy: string[];
  readonly error: string | null;
  readonly runDir: string | null;
}

/** Distinct configurations of the given classes, in first-seen order: the reference node runs each once per seed. */
function referenceConfigs(classes: readonly DetectionClass[]): DetectionClass[] {
  const seen = new Map<string, DetectionClass>();
  for (const c of classes) if (!seen.has(classFlags(c))) seen.set(classFlags(c), c);
  return [...seen.values()];
}

function runOptions(c: DetectionClass, fault: string | null, seed: number, o: DetectionOptions, store: string): RunOptions {
  return {
    name: `${fault ?? 'reference'}-${c.workload}-${c.sloppy ? 'sloppy' : 'strict'}-${c.nemesis.join('+')}`,
    runtime: o.runtime, nodes: 5, n: 3, r: 2, w: 2, sloppy: c.sloppy, conflicts: c.conflicts, workload: c.workload,
    nemesis: [...c.nemesis], seed, timeLimitS: o.timeLimitS, concurrency: c.concurrency ?? 10, rate: c.rate ?? 50,
    store, quiet: true, skipReport: true,
    ...(c.keyCount !== undefined ? { keyCount: c.keyCount } : {}),
    ...(fault !== null ? { env: { QL_TEST_FAULTS: fault } } : {}),
    ...(o.nodeCmd !== undefined ? { nodeCmd: o.nodeCmd } : {}),
    ...(o.image !== undefined ? { image: o.image } : {}),
    ...(o.hostBase !== undefined ? { hostBase: o.hostBase } : {}),
  };
}

function rowOf(fault: string | null, c: DetectionClass, seed: number, r: RunResult): DetectionRow {
  const flaggedBy = Object.entries(r.checkers).filter(([, v]) => (v as { valid?: unknown }).valid === false).map(([k]) => k);
  return { fault, config: classFlags(c), seed, valid: r.valid, flaggedBy, error: r.error ?? null, runDir: r.runDir ?? null };
}

/**
 * Seeds until the first flag, from each seed of the measurement as a starting point (wrapping around the
 * measured seeds, so every start has a finite answer when any seed flagged): the median of those, or null
 * when no seed flagged.
 */
export function medianSeedsToFirst(flagged: readonly boolean[]): number | null {
  const n = flagged.length;
  if (!flagged.some((f) => f)) return null;
  const waits = flagged.map((_, start) => {
    let k = 0;
    while (!flagged[(start + k) % n]) k++;
    return k + 1;
  }).sort((a, b) => a - b);
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? waits[mid]! : (waits[mid - 1]! + waits[mid]!) / 2;
}

export interface DetectionSummary {
  readonly row: number;
  readonly fault: string;
  readonly config: string;
  readonly seeds: number;
  readonly flagged: number;
  /** flagged / seeds, or null before any run completed. */
  readonly power: number | null;
  readonly medianSeedsToFirst: number | null;
  /** Runs that could not complete (unknown): neither flagged nor passed. */
  readonly unknown: number;
  /** Checkers that flagged the fixture, with how many runs each. */
  readonly by: Record<string, number>;
  /** The reference node in the same configuration: runs, false alarms, unknown. */
  readonly referenceRuns: number;
  readonly falseAlarms: number;
  readonly referenceUnknown: number;
}

/** The per-class figures from the rows (pure: a measurement sharded over processes merges by concatenating rows). */
export function summarize(rows: readonly DetectionRow[], classes: readonly DetectionClass[] = detectionClasses): DetectionSummary[] {
  return classes.map((c) => {
    const config = classFlags(c);
    const mine = rows.filter((r) => r.fault === c.fault && r.config === config).sort((a, b) => a.seed - b.seed);
    const refs = rows.filter((r) => r.fault === null && r.config === config);
    const by: Record<string, number> = {};
    for (const r of mine) if (r.valid === false) for (const k of r.flaggedBy) by[k] = (by[k] ?? 0) + 1;
    const flagged = mine.filter((r) => r.valid === false).length;
    return {
      row: c.row, fault: c.fault, config, seeds: mine.length, flagged,
      power: mine.length > 0 ? flagged / mine.length : null,
      medianSeedsToFirst: medianSeedsToFirst(mine.map((r) => r.valid === false)),
      unknown: mine.filter((r) => r.valid === 'unknown').length,
      by,
      referenceRuns: refs.length,
      falseAlarms: refs.filter((r) => r.valid === false).length,
      referenceUnknown: refs.filter((r) => r.valid === 'unknown').length,
    };
  });
}

/** The table as Markdown (printed, written as detection.md, pasted into docs/bug-classes.md). */
export function formatDetectionTable(summaries: readonly DetectionSummary[]): string {
  const head = '| # | fixture | configuration (`run` flags) | flagged | P(flag) per run | median seeds to first flag | flagged by | reference: false alarms |';
  const rule = '|---|---|---|---|---|---|---|---|';
  const body = summaries.map((s) => {
    const by = Object.entries(s.by).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || '–';
    const unknown = s.unknown > 0 ? ` (${s.unknown} unknown)` : '';
    const refUnknown = s.referenceUnknown > 0 ? ` (${s.referenceUnknown} unknown)` : '';
    return `| ${s.row} | \`${s.fault}\` | \`${s.config}\` | ${s.flagged}/${s.seeds}${unknown} | ${s.power === null ? '–' : s.power.toFixed(2)} | ${s.medianSeedsToFirst ?? '–'} | ${by} | ${s.falseAlarms}/${s.referenceRuns}${refUnknown} |`;
  });
  return [head, rule, ...body].join('\n');
}

/** Flags `campaign --preset detection` does not take: it fixes the sweep itself. */
const fixedBySweep = ['nrw', 'modes', 'conflicts', 'workloads', 'nemeses', 'quick', 'keys', 'partitions', 'targets', 'env', 'nodes', 'concurrency', 'rate', 'quiesce', 'nemesisInterval'];

/**
 * `campaign --preset detection` flags as options: --seeds (default 10) from --seed (default 1),
 * --time-limit (default 30), --runtime, --fault to measure only some classes, --store, --name, --node-cmd,
 * --image. `given(flag)` says whether the user typed a flag (defaults of the ordinary campaign do not count).
 */
export function detectionOptionsFrom(o: Record<string, unknown>, given: (flag: string) => boolean): DetectionOptions {
  const clash = fixedBySweep.filter(given);
  if (clash.length > 0) {
    throw new InvalidArgumentError(`--preset detection fixes each class's configuration; drop ${clash.map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  }
  const seedCount = given('seeds') ? (o['seeds'] as number) : 10;
  const first = given('seed') ? (o['seed'] as number) : 1;
  if (!Number.isInteger(seedCount) || seedCount < 1) throw new InvalidArgumentError(`--seeds must be a whole number above 0, got ${seedCount}`);
  const timeLimitS = given('timeLimit') ? (o['timeLimit'] as number) : 30;
  if (!(timeLimitS > 0)) throw new InvalidArgumentError(`--time-limit must be positive, got ${timeLimitS}`);
  const faults = typeof o['fault'] === 'string' ? o['fault'].split(',').map((s) => s.trim()).filter((s) => s.length > 0) : undefined;
  for (const f of faults ?? []) {
    if (!detectionClasses.some((c) => c.fault === f)) throw new InvalidArgumentError(`--fault ${f}: no bug class of the detection preset uses it (use ${detectionClasses.map((c) => c.fault).join(', ')})`);
  }
  return {
    runtime: (o['runtime'] ?? 'local') as RuntimeKind,
    seeds: Array.from({ length: seedCount }, (_, i) => first + i),
    timeLimitS,
    store: String(o['store'] ?? 'store'),
    name: given('name') ? String(o['name']) : 'detection',
    ...(faults !== undefined ? { faults } : {}),
    ...(typeof o['nodeCmd'] === 'string' ? { nodeCmd: o['nodeCmd'] } : {}),
    ...(typeof o['image'] === 'string' ? { image: o['image'] } : {}),
    ...(typeof o['hostBase'] === 'number' ? { hostBase: o['hostBase'] } : {}),
  };
}

export interface DetectionResult {
  readonly exitCode: 0 | 1 | 2;
  readonly rows: DetectionRow[];
  readonly summaries: DetectionSummary[];
  readonly dir: string;
}

/**
 * Runs the measurement. Exit code: 0 when every class was flagged on every seed and the reference node
 * never was, 1 when a class escaped a seed or the reference node was flagged, 2 when a run could not complete.
 */
export async function runDetection(o: DetectionOptions): Promise<DetectionResult> {
  const log = o.quiet === true ? () => {} : (o.log ?? ((line: string) => console.log(line)));
  const classes = o.faults === undefined ? detectionClasses : detectionClasses.filter((c) => o.faults!.includes(c.fault));
  const refs = referenceConfigs(classes);
  const dir = await createRunDir(o.store, o.name, new Date());
  const runs = join(dir, 'runs');
  await mkdir(runs, { recursive: true });
  const total = o.seeds.length * (classes.length + refs.length);
  log(`detection "${o.name}": ${classes.length} classes + ${refs.length} reference configurations × ${o.seeds.length} seeds (${o.seeds[0]}..${o.seeds.at(-1)}) = ${total} ${o.runtime} runs of ${o.timeLimitS} s → ${dir}`);
  const rows: DetectionRow[] = [];
  const save = async (): Promise<void> => writeJson(join(dir, 'detection.json'), { runtime: o.runtime, timeLimitS: o.timeLimitS, seeds: o.seeds, rows });
  for (const seed of o.seeds) {
    const plan: [string | null, DetectionClass][] = [...classes.map((c): [string, DetectionClass] => [c.fault, c]), ...refs.map((c): [null, DetectionClass] => [null, c])];
    for (const [fault, c] of plan) {
      const result = await runTest(runOptions(c, fault, seed, o, runs), o.runtimeFactory !== undefined ? { runtime: o.runtimeFactory() } : {});
      const row = rowOf(fault, c, seed, result);
      rows.push(row);
      log(`  [${rows.length}/${total}] seed ${seed} ${fault ?? 'reference'} (${row.config}): ${String(row.valid)}${row.flaggedBy.length > 0 ? ` by ${row.flaggedBy.join(',')}` : ''}${row.error !== null ? ` (${row.error})` : ''}`);
      await save();
    }
  }
  const summaries = summarize(rows, classes);
  const table = formatDetectionTable(summaries);
  await writeFile(join(dir, 'detection.md'), `${table}\n`);
  await updateLatest(o.store, dir);
  log(table);
  const unknown = rows.some((r) => r.valid === 'unknown');
  const perfect = summaries.every((s) => s.flagged === s.seeds && s.falseAlarms === 0);
  return { exitCode: unknown ? 2 : perfect ? 0 : 1, rows, summaries, dir };
}
