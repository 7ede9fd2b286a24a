// `quorumlab search` and its library entry (`quorumlab/search`): a bounded fast-check search over fault
// schedules against one world and configuration (any runtime; a node of your own with --node-cmd or
// --image), property "the run is valid". A failing case is shrunk (fewer faults, fewer targets, shorter
// holds: sim-property.ts's arbitraries; then a deletion pass until no single step can go) and its schedule written to a file with the `quorumlab run …
// --seed S --schedule F` line that replays it. The budget is counted between runs, never inside one: a
// run in progress always finishes and tears its cluster down; once the budget is spent fast-check's
// remaining cases and shrink candidates return at once, so the best counterexample so far is reported.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replayCommand } from './report/index.js';
import { runConfig, validateConfig, type RunOptions, type RunResult } from './run.js';
import { breaksProperty, checkProperty, runScheduled, scheduledRunOptions, seededScheduleArbitrary, verdictLine, type CaseConstraints } from './sim-property.js';
import { createRunDir, safeName, updateLatest, writeJson } from './store.js';
import type { FaultSchedule } from './nemesis/schedule.js';
import type { NemesisKind } from './nemesis/nemesis.js';
import type { Validity } from '../checkers/history.js';

/** The fault ops a schedule search draws: one per nemesis kind it can script. */
export type SearchFault = NonNullable<CaseConstraints['faults']>[number];

const faultsOfKind: Partial<Record<NemesisKind, readonly SearchFault[]>> = {
  partition: ['partition'], crash: ['kill'], pause: ['pause'], clock: ['clock-skew'], membership: ['join', 'leave'],
};

/** `--nemesis` kinds as the fault ops a search draws; disk loss has no scripted arbitrary yet. */
export function searchFaultsFor(kinds: readonly NemesisKind[]): SearchFault[] {
  const unscriptable = kinds.filter((k) => faultsOfKind[k] === undefined);
  if (unscriptable.length > 0) throw new Error(`search draws partition, crash, pause, clock and membership faults; it cannot script ${unscriptable.join(', ')} yet`);
  if (kinds.length === 0) throw new Error('search needs at least one fault kind to draw schedules from (--nemesis partition,crash,pause,clock,membership)');
  return kinds.flatMap((k) => faultsOfKind[k]!);
}

/** The world and configuration of every case: run's options (what `quorumlab run` flags set). */
export type SearchWorld = Partial<Omit<RunOptions, 'seed' | 'nemesis' | 'timeLimitS' | 'runDir' | 'log'>>;

export interface SearchOptions extends SearchWorld {
  /** Most schedules to try before shrinking (default 20). */
  readonly runs?: number;
  /** Wall seconds for the whole search, shrinking included (default 300); counted between runs. */
  readonly timeBudgetS?: number;
  /** The search's own seed: the same seed draws the same cases (default: random, and printed). */
  readonly seed?: number;
  /** Fault ops to draw (default partition, kill, pause). */
  readonly faults?: readonly SearchFault[];
  /** Most faults per schedule (default 4). */
  readonly maxFaults?: number;
  /**
   * A case to try before any drawn one (`search --schedule file.json`; it counts as one of `runs`): a
   * periodic schedule and its world seed (default 1). When it fails it is the counterexample, shrunk as far
   * as fast-check can shrink a value it did not draw.
   */
  readonly first?: { readonly schedule: FaultSchedule; readonly seed?: number };
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface SearchCase {
  /** The run's seed (the simulated world's, or the workload's and nemesis's on real runtimes). */
  readonly seed: number;
  readonly schedule: FaultSchedule;
}

export interface SearchTry {
  readonly c: SearchCase;
  readonly valid: Validity;
  readonly failed: boolean;
  readonly verdict: string;
  readonly wallMs: number;
}

export interface SearchCounterexample {
  readonly seed: number;
  readonly schedule: FaultSchedule;
  /** The checkers that did not accept the shrunk case, in one line. */
  readonly verdict: string;
  /** Faults in the first failing schedule, before shrinking. */
  readonly originalFaults: number;
  /** Where the shrunk schedule is written, and the command that replays it. */
  readonly scheduleFile: string;
  readonly replay: string;
  /** The shrunk case's own results folder (history, verdicts, report). */
  readonly runDir: string;
}

export interface SearchResult {
  /** 0: no schedule broke the property; 1: one did (see counterexample); 2: the search could not run. */
  readonly exitCode: 0 | 1 | 2;
  readonly failed: boolean;
  readonly seed: number;
  /** Runs made, generation and shrinking together. */
  readonly runsMade: number;
  /** Schedules drawn before the first failure (or all, if none failed). */
  readonly casesTried: number;
  /** The time budget ended the search (or its shrinking) early. */
  readonly outOfTime: boolean;
  readonly counterexample?: SearchCounterexample;
  /** What the CLI prints at the end: the verdict, and for a failure the schedule and the replay line. */
  readonly report: string;
  /** The search's folder: search.json, the schedule file, every run under runs/. */
  readonly dir: string;
  readonly tried: readonly SearchTry[];
  readonly error?: string;
}

/** Defaults: `quorumlab run`'s, with a short quiesce; the simulation unless another runtime is asked for. */
function baseRun(o: SearchOptions): RunOptions {
  const { runs: _r, timeBudgetS: _t, seed: _s, faults: _f, maxFaults: _m, log: _l, first: _first, ...world } = o;
  return {
    runtime: 'sim', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'register',
    concurrency: 10, rate: 50, quiesceS: 5, store: 'store',
    ...world,
    name: world.name ?? 'search', nemesis: [], timeLimitS: 1, seed: 0, quiet: true, skipReport: true,
  };
}

/**
 * The last shrinking step: deletes the schedule's steps one at a time (first to last), keeping each deletion
 * after which the case still fails, and repeats the pass until one deletes nothing, so no single step of the
 * result can go. fast-check shrinks a failing array towards its own candidates and stops at the first of
 * its paths where every candidate passed; with steps at fixed slots (deleting one moves every later step a
 * slot earlier) that can leave a pair — a leave and a join — where one fault alone fails. Deterministic: the
 * same case and verdicts give the same result; at most steps² candidates. A schedule keeps one step.
 */
export async function deleteSteps(c: SearchCase, fails: (c: SearchCase) => Promise<boolean>): Promise<{ readonly c: SearchCase; readonly tried: number }> {
  let best = c;
  let tried = 0;
  for (let deleted = true; deleted && best.schedule.faults.length > 1;) {
    deleted = false;
    for (let i = 0; i < best.schedule.faults.length && best.schedule.faults.length > 1;) {
      const candidate: SearchCase = { seed: best.seed, schedule: { ...best.schedule, faults: best.schedule.faults.filter((_, j) => j !== i) } };
      tried += 1;
      if (await fails(candidate)) {
        best = candidate;
        deleted = true;
      } else {
        i += 1;
      }
    }
  }
  return { c: best, tried };
}

/** The `quorumlab run` line that replays a case of this search. */
export function searchReplayCommand(base: RunOptions, c: SearchCase, scheduleFile: string): string {
  const options = scheduledRunOptions(base, c.seed, c.schedule);
  const quote = (s: string): string => (/^[A-Za-z0-9._,:/=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `${replayCommand(runConfig(options) as unknown as Record<string, unknown>)} --schedule ${quote(scheduleFile)}`;
}

export async function searchSchedules(options: SearchOptions): Promise<SearchResult> {
  const log = options.log ?? (() => {});
  const base = baseRun(options);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const runs = options.runs ?? 20;
  const budgetMs = (options.timeBudgetS ?? 300) * 1000;
  const faults = options.faults ?? ['partition', 'kill', 'pause'];
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a whole number above 0, got ${runs}`);
  if (!(budgetMs > 0)) throw new Error(`timeBudgetS must be above 0, got ${options.timeBudgetS}`);
  const invalid = validateConfig(runConfig({ ...base, timeLimitS: 1 }));
  if (invalid !== undefined) throw new Error(invalid);
  const dir = await createRunDir(base.store ?? 'store', base.name ?? 'search', new Date());
  const arb = seededScheduleArbitrary(base.nodes, { faults, ...(options.maxFaults !== undefined ? { maxFaults: options.maxFaults } : {}) });
  log(`search: up to ${runs} schedules of ${faults.join(', ')} against ${base.workload} on ${base.runtime}, ${base.nodes} nodes, ` +
    `N=${base.n} R=${base.r} W=${base.w} ${base.sloppy ? 'sloppy' : 'strict'}; search seed ${seed}, budget ${budgetMs / 1000} s → ${dir}`);

  const t0 = performance.now();
  const tried: SearchTry[] = [];
  let firstFailure: number | undefined;
  let outOfTime = false;
  let setupError: string | undefined;
  const results = new Map<SearchCase, { r: RunResult; runDir: string }>();
  const holds = async (c: SearchCase): Promise<void> => {
    // Spent budget or a world that cannot start: every remaining case and shrink candidate passes at once.
    if (setupError !== undefined) return;
    if (performance.now() - t0 > budgetMs) {
      outOfTime = true;
      return;
    }
    const runDir = join(dir, 'runs', safeName(`${String(tried.length + 1).padStart(4, '0')}-s${c.seed}-${c.schedule.faults.length}f`));
    const started = performance.now();
    const r = await runScheduled({ ...scheduledRunOptions(base, c.seed, c.schedule), store: join(dir, 'runs'), runDir }, c.schedule);
    const failed = breaksProperty(r);
    tried.push({ c, valid: r.valid, failed, verdict: verdictLine(r), wallMs: performance.now() - started });
    const phase = firstFailure === undefined ? `[${tried.length}]` : `[shrink ${tried.length - firstFailure}]`;
    log(`  ${phase} seed ${c.seed}, ${c.schedule.faults.length} fault${c.schedule.faults.length === 1 ? '' : 's'}: ${failed ? `FAILS ${verdictLine(r)}` : String(r.valid)}`);
    if (r.error !== undefined && /^setup failed/.test(r.error) && firstFailure === undefined) {
      // Not the node's fault: the world could not be set up (a missing binary, no root for partitions).
      setupError = r.error;
      return;
    }
    if (failed) {
      results.set(c, { r, runDir });
      if (firstFailure === undefined) {
        firstFailure = tried.length;
        log('  shrinking: the same property on simpler schedules');
      }
      throw new Error(`the run is not valid: ${verdictLine(r)}`);
    }
  };
  const examples = options.first !== undefined ? [{ seed: options.first.seed ?? 1, schedule: options.first.schedule }] : [];
  if (examples.length > 0) log(`  first: the given schedule (${examples[0]!.schedule.faults.length} faults), seed ${examples[0]!.seed}`);
  const details = await checkProperty(arb, holds, { numRuns: runs, seed, examples });

  const summary = { options: { ...options, log: undefined }, seed, base: { ...base, store: undefined }, tried };
  if (setupError !== undefined) {
    const report = `search could not run: ${setupError}`;
    await writeJson(join(dir, 'search.json'), { ...summary, error: setupError });
    return { exitCode: 2, failed: false, seed, runsMade: tried.length, casesTried: tried.length, outOfTime, report, dir, tried, error: setupError };
  }
  const budgetNote = outOfTime ? ` (the ${budgetMs / 1000} s budget ended it early)` : '';
  if (!details.failed || details.counterexample === null) {
    const report = `search: no failure in ${tried.length} schedule${tried.length === 1 ? '' : 's'}${budgetNote}; search seed ${seed}`;
    await writeJson(join(dir, 'search.json'), summary);
    await updateLatest(base.store ?? 'store', dir);
    return { exitCode: 0, failed: false, seed, runsMade: tried.length, casesTried: tried.length, outOfTime, report, dir, tried };
  }
  const fcShrunk = details.counterexample;
  if (results.get(fcShrunk) !== undefined && fcShrunk.schedule.faults.length > 1) log(`  deleting steps one at a time from ${fcShrunk.schedule.faults.length} faults`);
  // A candidate that threw without a run behind it (or ran out of budget) does not count as failing. One
  // fast-check already ran keeps its verdict (a simulated run would only repeat it).
  const same = (a: SearchCase, b: SearchCase): boolean => JSON.stringify([a.seed, a.schedule]) === JSON.stringify([b.seed, b.schedule]);
  const fails = async (c: SearchCase): Promise<boolean> => {
    const earlier = tried.find((x) => same(x.c, c));
    const earlierRun = earlier !== undefined ? results.get(earlier.c) : undefined;
    if (earlier !== undefined && (!earlier.failed || earlierRun !== undefined)) {
      if (earlierRun !== undefined) results.set(c, earlierRun);
      return earlier.failed;
    }
    try {
      await holds(c);
      return false;
    } catch {
      return results.has(c);
    }
  };
  const shrunk = results.get(fcShrunk) !== undefined ? (await deleteSteps(fcShrunk, fails)).c : fcShrunk;
  const found = results.get(shrunk);
  if (found === undefined) {
    // The property threw without a run behind it: a harness bug, not a finding about the node.
    const error = `search failed: ${details.error ?? 'no run recorded for the counterexample'}`;
    await writeJson(join(dir, 'search.json'), { ...summary, error });
    return { exitCode: 2, failed: false, seed, runsMade: tried.length, casesTried: tried.length, outOfTime, report: error, dir, tried, error };
  }
  const scheduleFile = join(dir, 'counterexample-schedule.json');
  await writeFile(scheduleFile, `${JSON.stringify(shrunk.schedule)}\n`);
  const replay = searchReplayCommand(base, shrunk, scheduleFile);
  const originalFaults = tried[firstFailure! - 1]!.c.schedule.faults.length;
  // The shrunk case once more, with its report: what the replay line does, checked before it is printed.
  const runDir = join(dir, 'counterexample');
  const again = await runScheduled({ ...scheduledRunOptions(base, shrunk.seed, shrunk.schedule), store: dir, runDir, skipReport: false }, shrunk.schedule);
  const replayed = breaksProperty(again)
    ? 'replayed once more: fails again'
    : `replayed once more: ${String(again.valid)} this time${base.runtime === 'sim' ? ' (a simulated run should replay exactly: please report this)' : ` (${base.runtime} runs are not deterministic)`}`;
  const counterexample: SearchCounterexample = {
    seed: shrunk.seed, schedule: shrunk.schedule, verdict: verdictLine(found.r), originalFaults, scheduleFile, replay, runDir,
  };
  const report = [
    `search: FAILURE after ${firstFailure} schedule${firstFailure === 1 ? '' : 's'}: ${counterexample.verdict}`,
    `  shrunk from ${originalFaults} to ${shrunk.schedule.faults.length} fault${shrunk.schedule.faults.length === 1 ? '' : 's'} in ${tried.length - firstFailure!} more runs${budgetNote}; search seed ${seed}`,
    `  schedule: ${JSON.stringify(shrunk.schedule)}`,
    `  ${replayed}; report: ${join(runDir, 'report.html')}`,
    `replay: ${replay}`,
  ].join('\n');
  await writeJson(join(dir, 'search.json'), { ...summary, counterexample });
  await updateLatest(base.store ?? 'store', dir);
  return { exitCode: 1, failed: true, seed, runsMade: tried.length, casesTried: firstFailure!, outOfTime, counterexample, report, dir, tried };
}
