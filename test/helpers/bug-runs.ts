// Shared by the bug-class tests (test/bugs-*.test.ts): one fixture per deliberate defect of the reference
// node (QL_TEST_FAULTS), run in the configuration a user would choose to test that property, with the
// checker and evidence field that must name it. Each fixture runs with the defect (must be invalid, with
// that evidence) and without it (the reference node must pass the same run).
import { createNemesis } from '../../harness/nemesis/index.js';
import type { FaultShapes, Nemesis, NemesisKind, NemesisOptions } from '../../harness/nemesis/nemesis.js';
import { runTest, type RunDeps, type RunOptions, type RunResult } from '../../harness/run.js';
import type { Runtime, RuntimeKind } from '../../harness/runtime/runtime.js';
import type { WorkloadName } from '../../workloads/workload.js';

export interface BugFixture {
  /** The QL_TEST_FAULTS name. */
  readonly fault: string;
  /** What a user would run to test the property the defect breaks. */
  readonly workload: WorkloadName;
  readonly sloppy: boolean;
  readonly nemesis: readonly NemesisKind[];
  readonly r?: number;
  readonly w?: number;
  readonly keyCount?: number;
  /** Workload seconds, when this class needs more fault cycles than the suite's default gives. */
  readonly timeLimitS?: number;
  /** Seconds each fault holds, when this class needs longer than the suite's default. */
  readonly faultS?: number;
  /** Partition kinds and targets to draw from (what a user hunting this class would pick). */
  readonly shapes?: FaultShapes;
  /** Crash fixtures: kill exactly these targets each time ('one' | 'majority' | 'all'). */
  readonly crashTargets?: 'one' | 'minority' | 'majority' | 'all';
  /** Seeds to try in order; the first that exposes the defect is then run without it. */
  readonly seeds: readonly number[];
  /** Which checker must say invalid, and a numeric evidence field it must report above zero. */
  readonly checker: string;
  readonly evidence: string;
  /** Other (checker, evidence) pairs that equally name the class (e.g. a lost hint shows as a lost or resurrected cart item). */
  readonly alsoBy?: readonly { readonly checker: string; readonly evidence: string }[];
}

export const bugFixtures: readonly BugFixture[] = [
  { fault: 'ack-before-w', workload: 'register', sloppy: false, nemesis: ['partition'], seeds: [1, 2, 3], checker: 'quorum', evidence: 'staleReads' },
  { fault: 'read-fewer-than-r', workload: 'register', sloppy: false, nemesis: ['partition'], seeds: [1, 2, 3], checker: 'quorum', evidence: 'staleReads' },
  { fault: 'lww-in-vclock', workload: 'register', sloppy: true, nemesis: ['clock'], seeds: [1, 2, 3], checker: 'register', evidence: 'lostCount' },
  { fault: 'lww-in-vclock', workload: 'cart-kv', sloppy: true, nemesis: ['clock'], seeds: [1, 2, 3], checker: 'cart', evidence: 'lost' },
  // Random halves: the minority side holds no replica of some keys (30 keys make a few such keys near
  // certain), so its writes there live only as hints. Five-second partitions: the minority needs a second
  // or so to mark the far side down before it writes hints at all, and writes still in flight when the
  // partition heals reach the home replicas directly.
  { fault: 'drop-hints', workload: 'cart', sloppy: true, nemesis: ['partition'], shapes: { partitions: ['random-halves'] }, faultS: 5, keyCount: 30, seeds: [2, 3, 4, 5], checker: 'convergence', evidence: 'missingAcknowledged',
    alsoBy: [{ checker: 'cart', evidence: 'lost' }, { checker: 'cart', evidence: 'resurrectedCount' }] },
  { fault: 'no-repair', workload: 'register', sloppy: false, nemesis: ['partition'], keyCount: 40, seeds: [1, 2, 3], checker: 'convergence', evidence: 'missingAcknowledged',
    alsoBy: [{ checker: 'convergence', evidence: 'disagreeingKeys' }] },
  { fault: 'remove-unobserved', workload: 'cart', sloppy: true, nemesis: ['partition'], seeds: [1, 2, 3], checker: 'cart', evidence: 'lost' },
  { fault: 'ack-not-durable', workload: 'register', sloppy: false, nemesis: ['crash'], crashTargets: 'all', seeds: [1, 2, 3], checker: 'register', evidence: 'lostCount' },
  { fault: 'ack-not-durable', workload: 'register', sloppy: false, nemesis: ['crash'], crashTargets: 'majority', seeds: [1, 2, 3, 4], checker: 'convergence', evidence: 'missingAcknowledged' },
  { fault: 'context-overcovers', workload: 'register', sloppy: true, nemesis: ['partition'], seeds: [1, 2, 3], checker: 'register', evidence: 'contextOvercoverCount' },
  // One node loses its disk and comes back with the same id: its writes reuse dot counters of its earlier
  // life, which the other replicas' versions already hold or cover, so the writes vanish. Twelve seconds
  // give three disk-loss cycles at the suites' 1 s quiet, 3 s fault.
  { fault: 'actor-reuse', workload: 'register', sloppy: true, nemesis: ['disk-loss'], timeLimitS: 12, seeds: [1, 2, 3, 4], checker: 'register', evidence: 'lostCount',
    alsoBy: [{ checker: 'convergence', evidence: 'missingAcknowledged' }] },
];

/** A nemesis that only ever kills the given targets (then restarts them), so a crash fixture is certain to crash enough nodes. */
export function crashOnly(targets: string): (o: NemesisOptions) => Nemesis {
  return (o) => {
    const inner = createNemesis(o);
    return { ...inner, kinds: inner.kinds, unavailable: inner.unavailable, next: () => ({ f: 'kill', value: { targets } }), start: (s) => inner.start(s), stop: (s) => inner.stop(s), undo: () => inner.undo() };
  };
}

export interface BugRunSettings {
  readonly runtime: RuntimeKind;
  readonly store: string;
  readonly timeLimitS: number;
  readonly concurrency: number;
  readonly rate: number;
  readonly quiesceS: number;
  readonly nemesisQuietS: number;
  readonly nemesisFaultS: number;
}

export async function runFixture(f: BugFixture, seed: number, withFault: boolean, s: BugRunSettings, extra: Partial<RunOptions> = {}, runtime?: () => Runtime): Promise<RunResult> {
  const deps: RunDeps = {
    ...(f.crashTargets !== undefined ? { nemesis: crashOnly(f.crashTargets) } : {}),
    ...(runtime !== undefined ? { runtime: runtime() } : {}),
  };
  return runTest({
    name: `${f.fault}-${f.workload}${withFault ? '' : '-reference'}`,
    runtime: s.runtime, nodes: 5, n: 3, r: f.r ?? 2, w: f.w ?? 2, sloppy: f.sloppy, conflicts: 'vclock', vnodes: 8,
    workload: f.workload, nemesis: [...f.nemesis], seed, timeLimitS: f.timeLimitS ?? s.timeLimitS, concurrency: s.concurrency, rate: s.rate,
    nemesisQuietS: s.nemesisQuietS, nemesisFaultS: f.faultS ?? s.nemesisFaultS, quiesceS: s.quiesceS, quiet: true, skipReport: true, store: s.store,
    ...(f.keyCount !== undefined ? { keyCount: f.keyCount } : {}),
    ...(f.shapes !== undefined ? { faultShapes: f.shapes } : {}),
    ...(withFault ? { env: { QL_TEST_FAULTS: f.fault } } : {}),
    ...extra,
  }, deps);
}

type CheckerOut = { valid?: unknown; [k: string]: unknown };
export const checkerOf = (r: RunResult, name: string): CheckerOut => (r.checkers[name] ?? {}) as CheckerOut;
export const verdicts = (r: RunResult): string =>
  Object.entries(r.checkers).map(([name, v]) => `${name}=${String((v as CheckerOut).valid)}`).join(' ') + (r.error !== undefined ? ` error=${r.error}` : '');
/** Whether a run exposes the fixture: invalid overall, the named checker invalid, its evidence above zero. */
export function exposes(f: BugFixture, r: RunResult): boolean {
  if (r.valid !== false) return false;
  return [{ checker: f.checker, evidence: f.evidence }, ...(f.alsoBy ?? [])].some(({ checker, evidence }) => {
    const c = checkerOf(r, checker);
    return c.valid === false && Number(c[evidence] ?? 0) > 0;
  });
}
