// The history format of ../shared/HISTORY.md as TypeScript types, shared by the recorder (harness),
// the workloads and the checkers. Checkers import nothing else from the project.

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
export type Process = number | 'nemesis' | 'final';

export interface HistoryOp {
  index: number;
  /** Nanoseconds since the run started, monotonic. */
  time: number;
  process: Process;
  type: OpType;
  f: string;
  key?: string;
  value?: unknown;
  node?: string;
  context?: string;
  error?: string;
  final?: boolean;
  /** Workload-specific fields are allowed. */
  [field: string]: unknown;
}

export type Validity = true | false | 'unknown';

export interface CheckerResult {
  valid: Validity;
  /** Evidence: anything a researcher needs to believe the verdict. */
  [evidence: string]: unknown;
}

/** Jepsen's merge: any false makes false; otherwise any unknown makes unknown; otherwise true. */
export function mergeValidity(values: readonly Validity[]): Validity {
  if (values.includes(false)) return false;
  if (values.includes('unknown')) return 'unknown';
  return true;
}
