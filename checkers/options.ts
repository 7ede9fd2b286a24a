// Options every checker receives; they come from the run's config.json.

export interface CheckOptions {
  n: number;
  r: number;
  w: number;
  sloppy: boolean;
  conflicts: 'vclock' | 'lww';
  workload: string;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = { n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', workload: 'register' };
