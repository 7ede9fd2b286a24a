// Argument parsers shared by the CLI and the campaign (kept apart from cli.ts, whose top-level await runs
// the program: a module imported back from it would wait on that await forever).
import { InvalidArgumentError } from 'commander';
import { testFaultNames } from '../node/core/config.js';
import { partitionKinds, type PartitionKind } from './nemesis/grudge.js';
import type { FaultShapes, NemesisKind } from './nemesis/nemesis.js';
import { isTimedSchedule, parseScript as parseFaultScript, parseSchedule as parseFaultSchedule, scheduleKinds, scheduleSpanS, type FaultSchedule, type Script } from './nemesis/schedule.js';
import { recipes, type NemesisRecipe } from './nemesis/recipes.js';
import { targetSpecs, type TargetSpec } from './nemesis/targets.js';
import type { RunOptions } from './run.js';
import type { Mechanisms } from './runtime/runtime.js';

export const nemesisKinds: readonly NemesisKind[] = ['partition', 'clock', 'crash', 'pause', 'membership', 'disk-loss'];

export function parseNemesis(v: string): NemesisKind[] {
  if (v === 'none' || v === '') return [];
  const kinds = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const k of kinds) {
    if (!(nemesisKinds as readonly string[]).includes(k)) {
      throw new InvalidArgumentError(`unknown fault "${k}" (use ${nemesisKinds.join(', ')} or none)`);
    }
  }
  return [...new Set(kinds)] as NemesisKind[];
}

/** A parser for a comma-separated flag whose items must come from `allowed` (duplicates collapse). */
function choiceList<T extends string>(flag: string, noun: string, allowed: readonly T[]): (v: string) => T[] {
  return (v) => {
    const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (items.length === 0) throw new InvalidArgumentError(`${flag} needs at least one of ${allowed.join(', ')}`);
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item)) throw new InvalidArgumentError(`unknown ${noun} "${item}" (use ${allowed.join(', ')})`);
    }
    return [...new Set(items)] as T[];
  };
}

/** `--partitions a,b`: the partition kinds the random nemesis draws from. */
export const parsePartitionKinds = choiceList<PartitionKind>('--partitions', 'partition kind', partitionKinds);

/** `--targets a,b`: the crash and pause targets the random nemesis draws from. */
export const parseTargets = choiceList<TargetSpec>('--targets', 'target', targetSpecs);

/** The fault shapes given by `--partitions` and `--targets`, or undefined when neither was. */
export function faultShapesFrom(o: Record<string, unknown>): FaultShapes | undefined {
  const partitions = o['partitions'] as PartitionKind[] | undefined;
  const targets = o['targets'] as TargetSpec[] | undefined;
  if (partitions === undefined && targets === undefined) return undefined;
  return { ...(partitions !== undefined ? { partitions } : {}), ...(targets !== undefined ? { targets } : {}) };
}

/** `--nemesis-interval quiet,fault`: exactly two numbers of seconds, 0 or more. */
export function parseInterval(v: string): { quietS: number; faultS: number } {
  const parts = v.split(',').map((s) => s.trim());
  const [q, f] = parts.map((s) => (s === '' ? NaN : Number(s)));
  if (parts.length !== 2 || !Number.isFinite(q) || !Number.isFinite(f) || q! < 0 || f! < 0) {
    throw new InvalidArgumentError(`--nemesis-interval must be "quiet,fault" seconds (two numbers, 0 or more), got "${v}"`);
  }
  return { quietS: q!, faultS: f! };
}

/** One `--env VAR=value` (the flag repeats and takes several): checked as it is given. */
export function parseEnvItem(v: string, previous: readonly string[] | undefined): string[] {
  if (v.indexOf('=') <= 0) throw new InvalidArgumentError(`--env expects VAR=value, got "${v}"`);
  return [...(previous ?? []), v];
}

/** `--fault a,b`: every name must be one of the reference node's test faults; kept as the string given. */
export function parseFaultList(v: string): string {
  const names = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new InvalidArgumentError(`--fault needs at least one of ${testFaultNames.join(', ')}`);
  for (const f of names) {
    if (!(testFaultNames as readonly string[]).includes(f)) throw new InvalidArgumentError(`unknown test fault "${f}" (use ${testFaultNames.join(', ')})`);
  }
  return names.join(',');
}

/**
 * `--node-cmd` only means something to the local runtime and `--image` only to Docker; elsewhere the
 * reference node would be tested in their place and the verdict would be about the wrong system.
 */
export function checkRuntimeFlags(o: Record<string, unknown>): void {
  const runtime = String(o['runtime'] ?? 'local');
  if (typeof o['nodeCmd'] === 'string' && runtime !== 'local') {
    throw new InvalidArgumentError(`--node-cmd needs --runtime local (with --runtime ${runtime} the reference node would be tested instead)`);
  }
  if (typeof o['hostBase'] === 'number' && runtime !== 'local') {
    throw new InvalidArgumentError(`--host-base needs --runtime local (it chooses the loopback addresses of local nodes)`);
  }
  if (typeof o['image'] === 'string' && runtime !== 'docker') {
    throw new InvalidArgumentError(`--image needs --runtime docker (with --runtime ${runtime} the reference node would be tested instead)`);
  }
}

/**
 * `--host-base <n>`: node i listens on 127.0.0.(n + i). The local runtime has addresses for 10 nodes (joins
 * included), so n + 10 must stay a host address of 127.0.0.0/24: 0 ≤ n ≤ 244.
 */
export function parseHostBase(v: string): number {
  const x = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(x) || x > 244) {
    throw new InvalidArgumentError(`--host-base must be a whole number from 0 to 244 (node i listens on 127.0.0.(base+i), up to 10 nodes), got "${v}"`);
  }
  return x;
}

/** `--no-read-repair`, `--no-anti-entropy`, `--no-hinted-handoff` (commander sets each to false when given). */
export function mechanismsFrom(o: Record<string, unknown>): Mechanisms {
  return { readRepair: o['readRepair'] !== false, antiEntropy: o['antiEntropy'] !== false, hintedHandoff: o['hintedHandoff'] !== false };
}

/** A comma-separated list flag's items. */
function listItems(v: unknown, fallback: string): string[] {
  return String(v ?? fallback).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** `campaign --nrw 3/2/2,3/1/1`: each triple needs 1 ≤ R ≤ N and 1 ≤ W ≤ N. */
export function parseNrwList(v: unknown): { n: number; r: number; w: number }[] {
  const triples = listItems(v, '3/2/2');
  if (triples.length === 0) throw new InvalidArgumentError('--nrw needs at least one N/R/W triple like 3/2/2');
  return triples.map((t) => {
    const parts = t.split('/');
    const [n, r, w] = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
    if (parts.length !== 3 || !Number.isInteger(n) || !Number.isInteger(r) || !Number.isInteger(w)) {
      throw new InvalidArgumentError(`--nrw expects N/R/W triples like 3/2/2, got "${t}"`);
    }
    if (n! < 1 || r! < 1 || r! > n! || w! < 1 || w! > n!) throw new InvalidArgumentError(`--nrw ${t}: R and W must be between 1 and N`);
    return { n: n!, r: r!, w: w! };
  });
}

/** `campaign --modes sloppy,strict` as the sloppy flag of each mode. */
export function parseModes(v: unknown): boolean[] {
  const modes = listItems(v, 'sloppy,strict');
  if (modes.length === 0) throw new InvalidArgumentError('--modes needs at least one of sloppy, strict');
  for (const m of modes) if (m !== 'sloppy' && m !== 'strict') throw new InvalidArgumentError(`unknown mode "${m}" (use sloppy, strict)`);
  return [...new Set(modes)].map((m) => m === 'sloppy');
}

/** `campaign --conflicts vclock,lww`. */
export function parseConflictsList(v: unknown): ('vclock' | 'lww')[] {
  const modes = listItems(v, 'vclock');
  if (modes.length === 0) throw new InvalidArgumentError('--conflicts needs at least one of vclock, lww');
  for (const m of modes) if (m !== 'vclock' && m !== 'lww') throw new InvalidArgumentError(`unknown conflict mode "${m}" (use vclock, lww)`);
  return [...new Set(modes)] as ('vclock' | 'lww')[];
}

/**
 * `--partitions` shapes only the partition nemesis and `--targets` only crash and pause; given without
 * them the flag would change nothing, and the run would not be the one asked for.
 */
export function checkShapeFlags(o: Record<string, unknown>, nemeses: readonly (readonly NemesisKind[])[]): void {
  const kinds = new Set(nemeses.flat());
  if (o['partitions'] !== undefined && !kinds.has('partition')) {
    throw new InvalidArgumentError('--partitions shapes the partition nemesis, and no run here has one (add partition to the faults)');
  }
  if (o['targets'] !== undefined && !kinds.has('crash') && !kinds.has('pause')) {
    throw new InvalidArgumentError('--targets picks what crash and pause hit, and no run here has either (add crash or pause to the faults)');
  }
}

/** The reference node's deliberate defects, for `--fault` (defined once in node/core/config.ts). Test-only. */
export { testFaultNames };

/**
 * The extra node environment of `run` and `campaign`: every `--env VAR=value`, plus `--fault a,b` as
 * QL_TEST_FAULTS (merged with one given through --env). Undefined when neither flag is given.
 */
export function clusterEnvFrom(o: Record<string, unknown>): Record<string, string> | undefined {
  const list = o['env'] as string[] | undefined;
  const faults = typeof o['fault'] === 'string' ? o['fault'].split(',').map((s) => s.trim()).filter((s) => s.length > 0) : [];
  if (list === undefined && faults.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--env expects VAR=value, got "${item}"`);
    env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  for (const f of faults) {
    if (!(testFaultNames as readonly string[]).includes(f)) throw new InvalidArgumentError(`unknown test fault "${f}" (use ${testFaultNames.join(', ')})`);
  }
  if (faults.length > 0) {
    const already = (env['QL_TEST_FAULTS'] ?? '').split(',').filter((s) => s.length > 0);
    env['QL_TEST_FAULTS'] = [...new Set([...already, ...faults])].join(',');
  }
  return env;
}

/** `--schedule`'s JSON checked (harness/nemesis/schedule.ts), its complaint as a usage error. */
export function parseSchedule(json: unknown): FaultSchedule {
  try {
    return parseFaultSchedule(json);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** `--schedule`'s JSON of either kind (periodic or timed) checked, its complaint as a usage error. */
export function parseScript(json: unknown): Script {
  try {
    return parseFaultScript(json);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The recipe `--schedule` names, if it names one (a file path never looks like a recipe name). */
export function recipeNamed(name: string): NemesisRecipe | undefined {
  return Object.prototype.hasOwnProperty.call(recipes, name) ? recipes[name] : undefined;
}

/**
 * The run options of a named recipe: its cluster, load and length, except where the command line set a
 * flag itself (`given(flag)` says whether it did), so a recipe can be replayed against another shape.
 */
export function withRecipe(options: RunOptions, recipe: NemesisRecipe, given: (flag: string) => boolean): RunOptions {
  const { cluster: c, workload: w } = recipe;
  return {
    ...options,
    ...(given('nodes') ? {} : { nodes: c.nodes }),
    ...(given('n') ? {} : { n: c.n }),
    ...(given('r') ? {} : { r: c.r }),
    ...(given('w') ? {} : { w: c.w }),
    ...(given('sloppy') || given('strict') ? {} : { sloppy: c.sloppy }),
    ...(given('workload') ? {} : { workload: w.name as RunOptions['workload'] }),
    ...(given('concurrency') ? {} : { concurrency: w.clients }),
    ...(given('rate') ? {} : { rate: w.clients * w.ratePerClientPerS }),
    ...(given('keys') ? {} : { keyCount: w.keys }),
    ...(given('timeLimit') ? {} : { timeLimitS: recipe.timeLimitS }),
    ...(given('name') ? {} : { name: recipe.name }),
  };
}

/**
 * The run options a schedule implies: its kinds; for a periodic one its timing and a time limit no longer
 * than its span; a timed one must fit inside the time limit (one line when a step does not).
 */
export function withSchedule(options: RunOptions, schedule: Script): RunOptions {
  if (isTimedSchedule(schedule)) {
    const late = schedule.timed.find((t) => t.atS >= options.timeLimitS);
    if (late !== undefined) throw new InvalidArgumentError(`--schedule: ${late.step.f} at ${late.atS} s is not inside --time-limit ${options.timeLimitS} s`);
    return { ...options, nemesis: scheduleKinds(schedule) };
  }
  return {
    ...options,
    nemesis: scheduleKinds(schedule),
    nemesisQuietS: schedule.quietS,
    nemesisFaultS: schedule.faultS,
    timeLimitS: Math.min(options.timeLimitS, scheduleSpanS(schedule)),
  };
}
