// The check phase: hands the history to the checkers (checkers/index.ts `checkAll`). The import is
// dynamic so that a run still records its history and report when the checkers cannot load; the verdict
// is then "unknown", never a guess.
import type { HistoryOp, Validity } from '../checkers/history.js';

export interface CheckOutcome {
  readonly valid: Validity;
  readonly checkers: Record<string, unknown>;
  /** Why the checkers could not run, when they could not. */
  readonly error?: string;
}

/** The knobs the checkers need (a subset of config.json). */
export interface CheckConfig {
  readonly workload: string;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly sloppy: boolean;
  readonly conflicts: string;
}

type CheckAll = (history: HistoryOp[], options: Record<string, unknown>) =>
  { valid: Validity; checkers: Record<string, unknown> } | Promise<{ valid: Validity; checkers: Record<string, unknown> }>;

/** Measurements the run took outside the history that checkers report (see CheckOptions). */
export interface RunMeasurements {
  /** Heal → first agreement of every home replica, from polling during quiesce; null if they never agreed. */
  readonly convergenceMs: number | null;
}

export async function runCheckers(history: HistoryOp[], config: CheckConfig, measured?: RunMeasurements): Promise<CheckOutcome> {
  let checkAll: CheckAll | undefined;
  try {
    const specifier = '../checkers/index.js';
    const mod = (await import(specifier)) as { checkAll?: CheckAll };
    checkAll = mod.checkAll;
  } catch (error) {
    return { valid: 'unknown', checkers: {}, error: `checkers could not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof checkAll !== 'function') return { valid: 'unknown', checkers: {}, error: 'checkers/index.ts exports no checkAll' };
  try {
    const { workload, n, r, w, sloppy, conflicts } = config;
    const out = await checkAll(history, {
      ...config, workload, n, r, w, sloppy, conflicts,
      ...(measured !== undefined ? { measuredConvergenceMs: measured.convergenceMs } : {}),
    });
    return { valid: out.valid, checkers: out.checkers };
  } catch (error) {
    return { valid: 'unknown', checkers: {}, error: `checkers threw: ${error instanceof Error ? error.message : String(error)}` };
  }
}
