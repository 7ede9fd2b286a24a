// A campaign's row for one run: the figures its table and page show (availability, p99, stale reads, lost
// adds, convergence, session rates), taken from the run's history and verdicts. Computed where the run ran
// (a worker process when the campaign runs in parallel), so only the row travels back, and from the history
// the run still holds in memory (runAndRow); the stored history.jsonl is read only for a run that ended
// before its checkers (its history is then whatever it wrote).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryOp } from '../checkers/history.js';
import type { CampaignRow } from './campaign.js';
import { reportFigures, replayCommand } from './report/index.js';
import { runCheckers } from './run-check.js';
import { emptyRunStats, runConfig, runTest, type RunDeps, type RunOptions, type RunResult } from './run.js';

async function readHistory(runDir: string): Promise<HistoryOp[]> {
  try {
    const text = await readFile(join(runDir, 'history.jsonl'), 'utf8');
    return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as HistoryOp);
  } catch {
    return [];
  }
}

/** Runs one planned run and computes its row from the history it recorded. */
export async function runAndRow(options: RunOptions, deps: RunDeps = {}): Promise<{ result: RunResult; row: CampaignRow }> {
  let history: readonly HistoryOp[] | undefined;
  const check = deps.check ?? runCheckers;
  const result = await runTest(options, {
    ...deps,
    check: (ops, config, measured) => {
      history = ops;
      return check(ops, config, measured);
    },
  });
  return { result, row: await rowFor(options, result, history) };
}

/** The row of a finished run; `history` is the run's own (what its history.jsonl holds), read from there when not given. */
export async function rowFor(options: RunOptions, result: RunResult, history?: readonly HistoryOp[]): Promise<CampaignRow> {
  history ??= result.runDir === undefined ? [] : await readHistory(result.runDir);
  const fig = reportFigures(history, result.checkers);
  const clientOps = fig.availability.inside.total + fig.availability.outside.total;
  const okOps = fig.availability.inside.ok + fig.availability.outside.ok;
  const nemesis = options.nemesis.length > 0 ? options.nemesis.join(',') : 'none';
  return {
    label: `${options.workload} N${options.n}R${options.r}W${options.w} ${options.sloppy ? 'sloppy' : 'strict'} ${options.conflicts} ${nemesis} #${options.seed}${axesLabel(options)}`,
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

/** The campaign axes beyond the matrix's own that this run varies (its network, node count, timeout, mechanisms). */
function axesLabel(options: RunOptions): string {
  if (options.axes !== undefined) return Object.values(options.axes).map((v) => ` ${v}`).join('');
  return options.world?.net !== undefined ? ` ${options.world.net}` : '';
}

/** The row of a run that never reported (its worker process died): unknown, with why. */
export async function failedRow(options: RunOptions, error: string): Promise<CampaignRow> {
  const result: RunResult = {
    exitCode: 2, valid: 'unknown', runDir: undefined, config: runConfig(options), checkers: {}, error,
    stats: emptyRunStats(),
  };
  return rowFor(options, result);
}
