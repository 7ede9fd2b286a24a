// Options every checker receives; they come from the run's config.json.

export interface CheckOptions {
  n: number;
  r: number;
  w: number;
  sloppy: boolean;
  conflicts: 'vclock' | 'lww';
  workload: string;
  /**
   * How long after heal the home replicas first all agreed, as the run measured it by polling them during
   * quiesce (results.json `stats.convergenceMs`): a measurement taken outside the history, which holds no
   * record of when replicas first agreed. `null`: measured, they never agreed within the quiesce; absent: not
   * measured (a bare history).
   */
  measuredConvergenceMs?: number | null;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = { n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', workload: 'register' };
