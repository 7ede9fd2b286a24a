// One test run: setup → workload with nemesis → heal → quiesce → final reads → check → report.
// Every timing decision uses the runtime's clock (runtime.sleep / runtime.nowNs) and every random choice a
// generator derived from the seed, so under the sim runtime a seed replays to a bit-identical history.
// Wall-clock time is used only to name the results folder.
import { mkdir } from 'node:fs/promises';
import type { HistoryOp, Validity } from '../checkers/history.js';
import { deriveSeed, seededRandom } from '../node/core/random.js';
import { createWorkload } from '../workloads/index.js';
import type { OpCompletion, OpRequest, Workload, WorkloadName } from '../workloads/workload.js';
import { createNemesis } from './nemesis/index.js';
import type { FaultShapes, Nemesis, NemesisKind, NemesisOptions, FaultStep } from './nemesis/nemesis.js';
import { paintValidity } from './output.js';
import { createProgress, silentProgress, type Progress } from './progress.js';
import { writeReport } from './report/index.js';
import { allMechanisms, mechanismKnobs, type Mechanisms, type Runtime, type RuntimeKind } from './runtime/runtime.js';
import type { SshRunOptions } from './runtime/ssh.js';
import { HistoryRecorder, collectLogs, createRunDir, safeName, updateLatest, writeJson } from './store.js';
import { runCheckers, type CheckOutcome, type RunMeasurements } from './run-check.js';
import { createRuntime } from './run-runtime.js';
import { finalHoldMs, finaleWritesMs, measureConvergence, recordReplicaStates, replicaDivergence } from './run-final.js';
import { simulateWars, tForConsistency, warsModelOf } from './pbs/wars.js';
import { defaultPbsMaxLagMs } from '../workloads/pbs.js';
import { describeWorld, resolveWorld, simKnobsOf, worldFlagError, type SimWorld, type WorldFlags } from './sim-world.js';

export interface RunOptions {
  /** Test name: the results folder is `<store>/<name>/<timestamp>/`. Defaults to the workload's name. */
  readonly name?: string;
  readonly runtime: RuntimeKind;
  readonly nodes: number;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly sloppy: boolean;
  readonly conflicts: 'vclock' | 'lww';
  readonly vnodes?: number;
  readonly workload: WorkloadName;
  readonly nemesis: readonly NemesisKind[];
  readonly timeLimitS: number;
  /** Logical client threads; each has one op in flight. */
  readonly concurrency: number;
  /** Target ops per second over all processes. */
  readonly rate: number;
  readonly seed: number;
  /** Seconds without faults before each fault, and seconds each fault stays in force. */
  readonly nemesisQuietS?: number;
  readonly nemesisFaultS?: number;
  /** Seconds to wait after heal before the final reads (default 5). */
  readonly quiesceS?: number;
  readonly store?: string;
  /**
   * An exact results folder instead of `<store>/<name>/<timestamp>/`, and no `<store>/latest` update: a
   * campaign names its runs by their place in its matrix, so shards run on other machines merge into one
   * folder and the campaign page has the same bytes however the campaign was split.
   */
  readonly runDir?: string;
  readonly keyCount?: number;
  /** Narrows the partition kinds and crash/pause targets the random nemesis draws from. */
  readonly faultShapes?: FaultShapes;
  /** Per-request client timeout (default 1000 ms). */
  readonly requestTimeoutMs?: number;
  /** Campaign: the values of the axes this run varies beyond the matrix's own (net, nodes, …), for its row's label. */
  readonly axes?: Readonly<Record<string, string>>;
  readonly nodeCmd?: string;
  readonly image?: string;
  /**
   * local: node i listens on 127.0.0.(hostBase + i) (`--host-base`, default 10), so runs on one machine at
   * once keep apart. Not part of the configuration: it changes where the nodes listen, not what is tested.
   */
  readonly hostBase?: number;
  /** Extra QL_* variables for every node (e.g. QL_TEST_FAULTS). */
  readonly env?: Readonly<Record<string, string>>;
  readonly sim?: Readonly<Record<string, unknown>>;
  /** pbs: the longest lag read after a write (default: from the WARS model, see pbsWorkloadOptions). */
  readonly pbsMaxLagMs?: number;
  /** The simulated world's flags as given (`--net`, `--drop`, …; sim only, see sim-world.ts). */
  readonly world?: WorldFlags;
  /** Dynamo mechanisms switched off (`--no-read-repair`, `--no-anti-entropy`, `--no-hinted-handoff`); default all on. */
  readonly mechanisms?: Partial<Mechanisms>;
  /** ssh: the hosts and how to reach them. */
  readonly ssh?: SshRunOptions;
  /** No output at all (tests). */
  readonly quiet?: boolean;
  /** Where lines go (default stdout). */
  readonly log?: (line: string) => void;
  /**
   * Skip writing report.html: always (true), or only when the run is valid ('valid': a campaign's runs,
   * whose valid ones render their report on demand from the folder, see report/stored.ts).
   */
  readonly skipReport?: boolean | 'valid';
  /** The command line that reproduces this run, shown in the report. */
  readonly command?: string;
}

export interface RunDeps {
  readonly runtime?: Runtime;
  readonly nemesis?: (options: NemesisOptions) => Nemesis;
  /** Replaces the checkers; told what runCheckers would be (a campaign keeps the history for its row this way). */
  readonly check?: (history: HistoryOp[], config: RunConfig, measured: RunMeasurements) => Promise<CheckOutcome>;
}

/** What config.json holds: every knob, so `quorumlab check` and a replay need nothing else. */
export interface RunConfig {
  readonly name: string;
  readonly workload: WorkloadName;
  readonly runtime: RuntimeKind;
  readonly nodes: number;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly sloppy: boolean;
  readonly conflicts: 'vclock' | 'lww';
  readonly vnodes: number;
  readonly nemesis: readonly NemesisKind[];
  readonly seed: number;
  readonly timeLimitS: number;
  readonly concurrency: number;
  readonly rate: number;
  readonly nemesisQuietS: number;
  readonly nemesisFaultS: number;
  readonly quiesceS: number;
  readonly keyCount: number | null;
  readonly faultShapes: FaultShapes | null;
  readonly requestTimeoutMs: number;
  readonly nodeCmd: string | null;
  readonly image: string | null;
  readonly env: Readonly<Record<string, string>>;
  /** Which Dynamo mechanisms the nodes were asked to run. */
  readonly mechanisms: Mechanisms;
  /** sim: the simulated world (network model, drops, duplicates, fsync, client delay, coordination); else null. */
  readonly world: SimWorld | null;
  readonly command: string | null;
  /** ssh runs only: the hosts, as `user@host:port`, in the order nodes were placed on them. */
  readonly hosts?: readonly string[];
}

/** Figures the run measures itself (beside the checkers' verdicts). */
export interface RunStats {
  ops: number;
  ok: number;
  fail: number;
  info: number;
  faults: number;
  /** Time (ms) from the end of heal until every home replica of every key held the same data; null if never. */
  convergenceMs: number | null;
  /** Nemesis kinds asked for that this runtime cannot apply, with why. */
  unavailableFaults: Readonly<Record<string, string>>;
  /**
   * Mechanism variables (QL_READ_REPAIR, …) a node under test says it ignores (its /admin/status
   * "ignored"), by node: the run's ablation had no effect there.
   */
  ignoredKnobs: Readonly<Record<string, readonly string[]>>;
  durationS: number;
}

export interface RunResult {
  readonly exitCode: 0 | 1 | 2;
  readonly valid: Validity;
  readonly runDir: string | undefined;
  readonly config: RunConfig;
  readonly checkers: Record<string, unknown>;
  readonly stats: RunStats;
  /** Why the run could not complete, in one line, when it could not. */
  readonly error?: string;
}

/** The figures of a run before it has done anything (also what a campaign reports for a run that never ran). */
export function emptyRunStats(): RunStats {
  return { ops: 0, ok: 0, fail: 0, info: 0, faults: 0, convergenceMs: null, unavailableFaults: {}, ignoredKnobs: {}, durationS: 0 };
}

export function exitCodeFor(valid: Validity): 0 | 1 | 2 {
  return valid === true ? 0 : valid === false ? 1 : 2;
}

export function runConfig(options: RunOptions): RunConfig {
  return {
    name: safeName(options.name ?? options.workload),
    workload: options.workload,
    runtime: options.runtime,
    nodes: options.nodes,
    n: options.n,
    r: options.r,
    w: options.w,
    sloppy: options.sloppy,
    conflicts: options.conflicts,
    vnodes: options.vnodes ?? 64,
    nemesis: [...options.nemesis],
    seed: options.seed,
    timeLimitS: options.timeLimitS,
    concurrency: options.concurrency,
    rate: options.rate,
    nemesisQuietS: options.nemesisQuietS ?? 5,
    nemesisFaultS: options.nemesisFaultS ?? 5,
    quiesceS: options.quiesceS ?? 5,
    keyCount: options.keyCount ?? null,
    faultShapes: options.faultShapes ?? null,
    requestTimeoutMs: options.requestTimeoutMs ?? 1000,
    nodeCmd: options.nodeCmd ?? null,
    image: options.image ?? null,
    env: { ...(options.env ?? {}) },
    mechanisms: { ...allMechanisms, ...(options.mechanisms ?? {}) },
    world: options.runtime === 'sim' ? resolveWorld(options.world ?? {}, options.workload) : null,
    command: options.command ?? null,
    ...(options.ssh !== undefined ? { hosts: options.ssh.hosts.map((h) => `${h.user}@${h.host}:${h.port}`) } : {}),
  };
}

/** Checks the knobs before anything starts; returns one line saying what is wrong, or undefined. */
export function validateConfig(c: RunConfig): string | undefined {
  const positiveInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (!positiveInt(c.nodes)) return `--nodes must be a positive integer, got ${c.nodes}`;
  if (!positiveInt(c.n) || c.n > c.nodes) return `--n must be between 1 and --nodes (${c.nodes}), got ${c.n}`;
  if (!positiveInt(c.r) || c.r > c.n) return `--r must be between 1 and --n (${c.n}), got ${c.r}`;
  if (!positiveInt(c.w) || c.w > c.n) return `--w must be between 1 and --n (${c.n}), got ${c.w}`;
  if (!positiveInt(c.concurrency)) return `--concurrency must be a positive integer, got ${c.concurrency}`;
  if (!(c.rate > 0)) return `--rate must be positive, got ${c.rate}`;
  if (!(c.timeLimitS > 0)) return `--time-limit must be positive, got ${c.timeLimitS}`;
  if (!(c.quiesceS >= 0)) return `--quiesce must be zero or more, got ${c.quiesceS}`;
  if (!Number.isInteger(c.seed)) return `--seed must be an integer, got ${c.seed}`;
  return undefined;
}

/** The knobs as lines, printed before anything starts so every run states how to reproduce it. */
export function describeConfig(c: RunConfig): string[] {
  return [
    `quorumlab run "${c.name}" seed=${c.seed}`,
    `  runtime=${c.runtime} nodes=${c.nodes} N=${c.n} R=${c.r} W=${c.w} ${c.sloppy ? 'sloppy' : 'strict'} conflicts=${c.conflicts} vnodes=${c.vnodes}`,
    `  workload=${c.workload} concurrency=${c.concurrency} rate=${c.rate}/s time-limit=${c.timeLimitS}s keys=${c.keyCount ?? 'default'} request-timeout=${c.requestTimeoutMs}ms`,
    `  nemesis=${c.nemesis.length > 0 ? c.nemesis.join(',') : 'none'} quiet=${c.nemesisQuietS}s fault=${c.nemesisFaultS}s quiesce=${c.quiesceS}s`,
    ...(c.nodeCmd !== null ? [`  node-cmd=${c.nodeCmd}`] : []),
    ...(c.image !== null ? [`  image=${c.image}`] : []),
    ...(c.hosts !== undefined ? [`  hosts=${c.hosts.join(',')}`] : []),
    ...(Object.keys(c.env).length > 0 ? [`  env=${Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(' ')}`] : []),
    ...(c.world !== null ? [describeWorld(c.world)] : []),
    `  mechanisms: ${mechanismKnobs.map((m) => `${m.flag.slice('--no-'.length)}=${c.mechanisms[m.key] ? 'on' : 'off'}`).join(' ')}`,
  ];
}

/**
 * The mechanism variables each node says it ignores (NODE-API.md: "ignored" in /admin/status). Asked of real
 * nodes only: the sim runs the reference core, which honours every switch, and asking it would spend
 * simulated client delays (and so change a seed's history).
 */
async function ignoredMechanismKnobs(runtime: Runtime): Promise<Record<string, string[]>> {
  if (runtime.kind === 'sim') return {};
  const variables = new Set(mechanismKnobs.map((m) => m.variable));
  const out: Record<string, string[]> = {};
  for (const id of runtime.nodeIds()) {
    const s = await runtime.client(id).adminStatus();
    if (s.type !== 'ok' || !Array.isArray(s.value['ignored'])) continue;
    const ignored = (s.value['ignored'] as unknown[]).map(String).filter((v) => variables.has(v));
    if (ignored.length > 0) out[id] = ignored;
  }
  return out;
}

/**
 * The pbs workload's lags: up to 2 × the WARS model's 99.9 % point for this network and N/R/W (at least
 * 5 ms), so the measured curve reaches past where the prediction says it ends; 200 ms outside the sim,
 * whose network quorumlab does not model. WARS coordination lets any node read.
 */
function pbsWorkloadOptions(config: RunConfig, options: RunOptions): { pbsMaxLagMs: number; pbsAnyReader: boolean } {
  if (options.pbsMaxLagMs !== undefined) return { pbsMaxLagMs: options.pbsMaxLagMs, pbsAnyReader: config.world?.coordination === 'wars' };
  if (config.world === null) return { pbsMaxLagMs: defaultPbsMaxLagMs, pbsAnyReader: false };
  const prediction = simulateWars(warsModelOf(config.world.net), { n: config.n, r: config.r, w: config.w, trials: 20_000, seed: config.seed });
  return { pbsMaxLagMs: Math.max(5, 2 * tForConsistency(prediction, 0.999)), pbsAnyReader: config.world.coordination === 'wars' };
}

/** One line per node that ignores a mechanism switch, saying which run setting therefore had no effect. */
export function ignoredKnobLines(ignored: Readonly<Record<string, readonly string[]>>, mechanisms: Mechanisms): string[] {
  return Object.entries(ignored).map(([node, vars]) => {
    const said = vars.map((v) => {
      const m = mechanismKnobs.find((k) => k.variable === v);
      return m !== undefined && !mechanisms[m.key] ? `${v} (so ${m.flag} had no effect there)` : v;
    });
    return `  node ${node} ignores ${said.join(', ')}`;
  });
}

/** The coverage pass in one line: each step as its op and shape, e.g. "kill all → partition homes-away". */
export function describeCoverage(steps: readonly FaultStep[]): string {
  return steps.map((s) => [s.f, s.value.kind, s.value.targets].filter((x) => typeof x === 'string').join(' ')).join(' → ');
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

export async function runTest(options: RunOptions, deps: RunDeps = {}): Promise<RunResult> {
  const config = runConfig(options);
  const log = options.quiet === true ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  const stats = emptyRunStats();
  const failEarly = (error: string): RunResult => {
    log(`cannot run: ${error}`);
    return { exitCode: 2, valid: 'unknown', runDir: undefined, config, checkers: {}, stats, error };
  };
  const invalid = validateConfig(config) ?? worldFlagError(options.world ?? {}, config.runtime, config.nodes);
  if (invalid !== undefined) return failEarly(invalid);
  for (const line of describeConfig(config)) log(line);

  let runDir: string;
  try {
    if (options.runDir !== undefined) {
      runDir = options.runDir;
      await mkdir(runDir, { recursive: true });
    } else {
      runDir = await createRunDir(options.store ?? 'store', config.name, new Date());
    }
    await writeJson(`${runDir}/config.json`, config);
  } catch (error) {
    return failEarly(`cannot create the results folder: ${oneLine(error)}`);
  }
  log(`  results: ${runDir}`);

  let runtime: Runtime;
  try {
    runtime = deps.runtime ?? (await createRuntime(config.runtime, { log: (line) => log(`  [${config.runtime}] ${line}`), ...(options.ssh !== undefined ? { ssh: options.ssh } : {}), ...(options.hostBase !== undefined ? { hostBase: options.hostBase } : {}) }));
  } catch (error) {
    await writeJson(`${runDir}/results.json`, { valid: 'unknown', checkers: {}, config, error: oneLine(error) });
    return { ...failEarly(oneLine(error)), runDir };
  }

  const recorder = new HistoryRecorder(`${runDir}/history.jsonl`);
  const progress: Progress = options.quiet === true
    ? silentProgress
    : createProgress({ write: (s) => process.stdout.write(s), tty: process.stdout.isTTY === true });
  let stopping = false;
  let tornDown = false;
  const teardown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    try {
      await runtime.teardown();
    } catch (error) {
      log(`teardown: ${oneLine(error)} (some processes or containers may remain)`);
    }
  };
  // Ctrl-C must never leave nodes, proxies or containers behind: tear down, then exit "could not complete".
  const onSigint = (): void => {
    stopping = true;
    log('\ninterrupted: tearing the cluster down');
    void (async () => {
      await teardown();
      // Leave a results folder that says what happened: the history so far, and no verdict.
      await recorder.close().catch(() => {});
      await writeJson(`${runDir}/results.json`, { valid: 'unknown', checkers: {}, config, stats, error: 'interrupted (SIGINT)' }).catch(() => {});
      if (options.runDir === undefined) await updateLatest(options.store ?? 'store', runDir).catch(() => {});
    })().finally(() => process.exit(2));
  };
  process.once('SIGINT', onSigint);

  let error: string | undefined;
  let checkers: Record<string, unknown> = {};
  let valid: Validity = 'unknown';
  let phase = 'setup';
  try {
    await runtime.setup({
      nodes: config.nodes, n: config.n, r: config.r, w: config.w, sloppy: config.sloppy, conflicts: config.conflicts,
      vnodes: config.vnodes, seed: config.seed, runDir,
      ...(options.nodeCmd !== undefined ? { nodeCmd: options.nodeCmd } : {}),
      ...(options.image !== undefined ? { image: options.image } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(config.world !== null ? { sim: { ...simKnobsOf(config.world), ...(options.sim ?? {}) } } : options.sim !== undefined ? { sim: options.sim } : {}),
      mechanisms: config.mechanisms,
    });
    stats.ignoredKnobs = await ignoredMechanismKnobs(runtime);
    for (const line of ignoredKnobLines(stats.ignoredKnobs, config.mechanisms)) log(line);
    const startNs = runtime.nowNs();
    const workload = createWorkload(config.workload, {
      random: seededRandom(deriveSeed(config.seed, 'workload')),
      concurrency: config.concurrency,
      clientOptions: { timeoutMs: config.requestTimeoutMs },
      ...(options.keyCount !== undefined ? { keyCount: options.keyCount } : {}),
      ...(config.workload === 'pbs' ? pbsWorkloadOptions(config, options) : {}),
    });
    recorder.onRecord((op) => workload.observe(op));
    recorder.onRecord((op) => {
      if (typeof op.process !== 'number' || op.type === 'invoke') return;
      stats.ops++;
      stats[op.type]++;
    });

    const nemesis = config.nemesis.length === 0 ? undefined : (deps.nemesis ?? createNemesis)({
      runtime, kinds: config.nemesis, random: seededRandom(deriveSeed(config.seed, 'nemesis')), keys: workload.keys(),
      ...(config.faultShapes !== null ? { shapes: config.faultShapes } : {}),
    });
    if (nemesis !== undefined) {
      stats.unavailableFaults = { ...nemesis.unavailable };
      for (const [kind, why] of Object.entries(nemesis.unavailable)) log(`  nemesis ${kind} unavailable here: ${why}`);
      if (nemesis.coverage !== undefined && nemesis.coverage.length > 0) log(`  nemesis coverage first: ${describeCoverage(nemesis.coverage)}, then random draws`);
    }

    let fault: string | undefined;
    phase = 'workload';
    const deadlineNs = startNs + config.timeLimitS * 1e9;
    // The clients write until the deadline, and on while the run's final cut is being made and for
    // finaleWritesMs after it is in force: on a loaded machine a cut can take seconds to apply, and a cut
    // that lands after the clients stopped leaves no replica apart (nothing for repair to do).
    let writeUntilNs = deadlineNs;
    let finalePending = nemesis?.finale !== undefined && nemesis.kinds.length > 0 && nemesis.timed === undefined;
    // Whether the run still expects a finale: false from the start for a nemesis without one, and from the
    // moment its finale() has none to give (no kind of the run has a finale, e.g. crash or disk loss alone).
    let hasFinale = finalePending;
    // While a window's undo (a restart, a disk restart, a resume) is under way the clients keep writing, and
    // afterwards for finaleWritesMs at least: what follows it (writes through the reborn node, where Riak's
    // kv679 shows) must be part of the workload even when the last window ends at the deadline or its
    // undo takes seconds on a loaded machine.
    let undoPending = false;
    const elapsedS = (): number => (runtime.nowNs() - startNs) / 1e9;
    const draw = (): void => progress.update({
      elapsedS: elapsedS(), limitS: config.timeLimitS, phase, ops: stats.ops, ok: stats.ok, fault,
    });
    // A quiet run (every campaign run) shows no progress: no state to build per op.
    if (options.quiet !== true) recorder.onRecord(draw);

    const applyStep = async (step: FaultStep, how: 'start' | 'stop'): Promise<void> => {
      recorder.record({ time: runtime.nowNs(), process: 'nemesis', type: 'invoke', f: step.f, value: step.value });
      try {
        const applied = how === 'start' ? await nemesis!.start(step) : await nemesis!.stop(step);
        recorder.record({ time: runtime.nowNs(), process: 'nemesis', type: 'info', f: step.f, value: applied.value });
      } catch (e) {
        recorder.record({ time: runtime.nowNs(), process: 'nemesis', type: 'info', f: step.f, value: { error: oneLine(e) }, error: oneLine(e) });
      }
    };

    // Each worker is a logical client thread. Its process number changes after an info (Jepsen's rule:
    // an op whose outcome is unknown may still be running, so that process can never issue again).
    const worker = async (slot: number): Promise<void> => {
      const random = seededRandom(deriveSeed(config.seed, `worker:${slot}`));
      const meanGapMs = (config.concurrency / config.rate) * 1000;
      let proc = slot;
      // The loop only awaits; what it does between awaits is in plain functions (nextOp, invoke, completed),
      // which are optimised after a few calls, while a resumed async function runs in the interpreter.
      while (!stopping) {
        const op = nextOp(proc);
        if (op === undefined) return;
        const stagger = random() * 2 * meanGapMs;
        await runtime.sleep(op.delayMs ?? stagger);
        const node = invoke(proc, op);
        if (node === undefined) return;
        const done = await workload.perform(runtime.client(node), op);
        proc = completed(proc, op, node, done);
      }
    };
    // The op is chosen first so a workload can ask for an exact wait (pbs reads at a delay after an ack);
    // other ops wait a random stagger whose mean keeps the total rate at --rate. Undefined: no members left.
    const nextOp = (proc: number): OpRequest | undefined => {
      const nodes = runtime.nodeIds();
      return nodes.length === 0 ? undefined : workload.next(proc, nodes, runtime.nowNs());
    };
    // After the wait: the node the op goes to, with its invoke recorded, or undefined when the worker stops.
    const invoke = (proc: number, op: OpRequest): string | undefined => {
      if (stopping || (runtime.nowNs() >= writeUntilNs && !finalePending && !undoPending)) return undefined;
      // Membership may have changed during the wait, and a removed node has no client any more: the node
      // is chosen among the members of now (the workload's choice when it is still one).
      const live = runtime.nodeIds();
      if (live.length === 0) return undefined;
      const node = op.node !== undefined && live.includes(op.node) ? op.node : live[proc % live.length]!;
      const fields = {
        time: runtime.nowNs(), process: proc, type: 'invoke' as const, f: op.f, key: op.key, value: op.value, node,
        context: op.context, readFrom: op.readFrom, readIndex: op.readIndex,
      };
      // A spread is a runtime call even of nothing; only pbs and cart-kv ops carry extra fields.
      recorder.record(op.extra === undefined ? fields : { ...fields, ...op.extra });
      return node;
    };
    // Records the completion; returns the process number to go on with (a new one after an info).
    const completed = (proc: number, op: OpRequest, node: string, done: OpCompletion): number => {
      const fields = {
        time: runtime.nowNs(), process: proc, type: done.type, f: op.f, key: op.key, value: done.value, node,
        context: done.context, error: done.error,
      };
      recorder.record(done.extra === undefined ? fields : { ...fields, ...done.extra });
      return done.type === 'info' ? proc + config.concurrency : proc;
    };

    const nemesisLoop = async (): Promise<void> => {
      if (nemesis === undefined || nemesis.kinds.length === 0) return;
      if (nemesis.timed !== undefined) {
        // A timed script: each step at its time; what is in force at the end waits for the final heal.
        for (const { atS, step } of nemesis.timed) {
          const waitMs = (startNs + atS * 1e9 - runtime.nowNs()) / 1e6;
          if (waitMs > 0) await runtime.sleep(waitMs);
          if (stopping || runtime.nowNs() >= deadlineNs) return;
          stats.faults++;
          await applyStep(step, 'start');
          fault = nemesis.undo().length > 0 ? step.f : undefined;
        }
        return;
      }
      try {
        let played = 0;
        let quiet = true;
        while (!stopping) {
          if (quiet) await runtime.sleep(config.nemesisQuietS * 1000);
          const late = runtime.nowNs() >= deadlineNs;
          if (stopping || (late && (!hasFinale || played === 0))) return;
          // The last window plays the finale and holds it until the clients stop, so it is in force at the
          // final heal. It is last when no regular window would end a full window before the deadline: a
          // window that took long to apply (iptables under load) must not leave the end without one; and
          // if a slow window ran past the deadline, the finale still comes (the clients wait for it).
          // Only a finale is held: a last window of another kind (a crash, a disk loss) is undone after its
          // time like any other, so that what follows it (the restart, writes through the reborn node) is
          // still part of the workload.
          // "Fits" allows half a window of slack: applying a cut takes a little time even in the simulation
          // (the preference lists are read first), and without slack a schedule whose windows end exactly at
          // the deadline would turn its second-to-last window into the finale and never play the last shape
          // of its coverage pass (a 30 s partition run lost coordinator-alone that way).
          const nextWindowEndNs = runtime.nowNs() + (2 * config.nemesisFaultS + config.nemesisQuietS) * 1e9;
          const last = hasFinale && (late || nextWindowEndNs > deadlineNs + (config.nemesisFaultS / 2) * 1e9);
          const finale = last ? nemesis.finale!() : undefined;
          if (last && finale === undefined) {
            hasFinale = false;
            finalePending = false;
          }
          const hold = finale !== undefined;
          const step = finale ?? nemesis.next();
          fault = step.f;
          stats.faults++;
          played++;
          await applyStep(step, 'start');
          if (finale !== undefined) {
            writeUntilNs = Math.max(deadlineNs, runtime.nowNs() + finaleWritesMs(config) * 1e6);
            finalePending = false;
          }
          const leftMs = ((hold ? writeUntilNs : deadlineNs) - runtime.nowNs()) / 1e6;
          await runtime.sleep(Math.max(0, hold ? leftMs : Math.min(config.nemesisFaultS * 1000, leftMs)));
          if (hold) return;
          const undos = nemesis.undo();
          if (undos.length > 0) {
            undoPending = true;
            try {
              for (const undo of undos) await applyStep(undo, 'stop');
            } finally {
              undoPending = false;
            }
            writeUntilNs = Math.max(writeUntilNs, runtime.nowNs() + finaleWritesMs(config) * 1e6);
          }
          fault = undefined;
          // A window that ran late leaves no quiet period before the finale: the clients are waiting for it.
          quiet = !(hasFinale && runtime.nowNs() + config.nemesisQuietS * 1e9 >= deadlineNs);
        }
      } finally {
        finalePending = false;
      }
    };

    await Promise.all([...Array.from({ length: config.concurrency }, (_, i) => worker(i)), nemesisLoop()]);

    phase = 'heal';
    if (nemesis !== undefined) {
      // The clients have stopped; the faults stay in force one request timeout longer, so every replication
      // message the workload caused has arrived or timed out (a node that drops late peer messages, as the
      // reference node does, will not get them on the healed link). What the home replicas hold then is what
      // only repair can reconcile: recorded before the heal, the convergence checker says whether any key
      // needed it.
      const undo = nemesis.undo();
      if (undo.length > 0) await runtime.sleep(finalHoldMs(config));
      const divergence = await replicaDivergence(runtime, workload);
      recorder.record({ time: runtime.nowNs(), process: 'nemesis', type: 'info', f: 'divergence', value: { at: 'heal', ...divergence } });
      for (const step of undo) await applyStep(step, 'stop');
    }
    fault = undefined;
    const healedNs = runtime.nowNs();

    phase = 'quiesce';
    draw();
    stats.convergenceMs = await measureConvergence(runtime, workload, config.quiesceS * 1000, healedNs, () => stopping);

    phase = 'final reads';
    draw();
    let nextProcess = config.concurrency * 1_000_000;
    for (const key of workload.keys()) {
      for (const node of runtime.nodeIds()) {
        if (stopping) break;
        const op = workload.finalRead(key);
        const proc = nextProcess++;
        recorder.record({ time: runtime.nowNs(), process: proc, type: 'invoke', f: op.f, key, node, final: true });
        const done = await workload.perform(runtime.client(node), op);
        recorder.record({
          time: runtime.nowNs(), process: proc, type: done.type, f: op.f, key, value: done.value, node,
          context: done.context, error: done.error, final: true, ...done.extra,
        });
      }
    }
    await recordReplicaStates(runtime, workload, recorder);
    progress.done();
    stats.durationS = elapsedS();

    phase = 'check';
    await recorder.close();
    const outcome = deps.check !== undefined
      ? await deps.check(recorder.ops, config, { convergenceMs: stats.convergenceMs })
      : await runCheckers(recorder.ops, config, { convergenceMs: stats.convergenceMs });
    valid = outcome.valid;
    checkers = outcome.checkers;
    if (outcome.error !== undefined) log(`check: ${outcome.error}`);
  } catch (e) {
    progress.done();
    error = `${phase} failed: ${oneLine(e)}`;
    log(error);
    valid = 'unknown';
  } finally {
    process.removeListener('SIGINT', onSigint);
    await recorder.close().catch(() => {});
    let logs: Record<string, string> = {};
    try {
      logs = runtime.logFiles();
    } catch {
      // A runtime that never started has no logs to list.
    }
    await teardown();
    logs = await collectLogs(runDir, logs);
    await writeJson(`${runDir}/results.json`, {
      valid, checkers, config, stats, logs, ...(error !== undefined ? { error } : {}),
    });
    if (options.skipReport !== true && !(options.skipReport === 'valid' && valid === true)) {
      try {
        await writeReport(`${runDir}/report.html`, { history: recorder.ops, config, valid, checkers, stats, ...(error !== undefined ? { error } : {}) });
      } catch (e) {
        log(`report: ${oneLine(e)}`);
      }
    }
    if (options.runDir === undefined) await updateLatest(options.store ?? 'store', runDir);
  }

  const exitCode = exitCodeFor(valid);
  log(summaryLine(valid, checkers, stats, runDir));
  return { exitCode, valid, runDir, config, checkers, stats, ...(error !== undefined ? { error } : {}) };
}

/** The verdict line: the overall validity and which checkers disagreed. */
export function summaryLine(valid: Validity, checkers: Record<string, unknown>, stats: RunStats, runDir: string): string {
  const bad = Object.entries(checkers)
    .filter(([, r]) => (r as { valid?: unknown } | undefined)?.valid !== true)
    .map(([name, r]) => `${name}=${String((r as { valid?: unknown } | undefined)?.valid)}`);
  const word = paintValidity(valid);
  const ignoring = Object.keys(stats.ignoredKnobs ?? {});
  const knobs = ignoring.length > 0 ? `; mechanism switches ignored by ${ignoring.join(',')}` : '';
  // A green convergence verdict on replicas that never differed is no evidence about repair: say so.
  const conv = checkers['convergence'] as { repairExercised?: unknown; divergentAtHeal?: { divergent?: unknown } | null } | undefined;
  const repair = conv?.repairExercised === false ? '; repair not exercised (no replicas differed at heal)'
    : conv?.repairExercised === true ? `; repair exercised on ${String(conv.divergentAtHeal?.divergent)} keys` : '';
  return `${word}  ${stats.ok}/${stats.ops} ops ok, ${stats.faults} faults${bad.length > 0 ? `; ${bad.join(' ')}` : ''}${repair}${knobs}  → ${runDir}`;
}
