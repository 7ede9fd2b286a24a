// Runs a campaign's planned runs: in this process one after the other (`--jobs 1`, and always with a
// test's runtime factory, which cannot cross a process boundary), or N at a time (`--jobs N`): this process
// is one of the N lanes and N-1 worker processes (campaign-worker.ts) are the others, each lane taking the
// next run as it finishes one. This process already has every module loaded, so it starts at once; a
// worker process loads the compiled copy of the sources (bin/precompile.js), a fraction of the CPU second
// that compiling them through tsx takes, which it falls back to. Workers live for the whole campaign,
// taking run after run, so that cost and their JIT warm-up are paid once. A simulated run is a pure function of
// its options, so where it ran changes nothing in its history or row; rows are handed on in plan order
// (a finished run waits for the ones planned before it), so the log and campaign.json read the same
// however many workers there were and whichever finished first.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { failedRow, runAndRow } from './campaign-row.js';
import type { CampaignRow } from './campaign.js';
import type { RunDeps, RunOptions } from './run.js';
import type { Runtime } from './runtime/runtime.js';

export interface PoolRun {
  readonly index: number;
  readonly run: RunOptions;
}

export interface PoolOutcome {
  readonly index: number;
  readonly row: CampaignRow;
  /** Why the run could not complete, when it could not. */
  readonly error?: string;
}

/** What a worker sends back for one run. */
export interface WorkerReply {
  readonly index: number;
  readonly row: CampaignRow;
  readonly error?: string;
}

export interface PoolOptions {
  readonly jobs: number;
  readonly runtimeFactory?: () => Runtime;
}

/** Runs every run; `onOutcome` sees them in the order given, one at a time. */
export async function executeRuns(runs: readonly PoolRun[], options: PoolOptions, onOutcome: (o: PoolOutcome) => Promise<void>): Promise<void> {
  if (options.jobs <= 1 || options.runtimeFactory !== undefined || runs.length <= 1) {
    for (const { index, run } of runs) {
      const deps: RunDeps = options.runtimeFactory !== undefined ? { runtime: options.runtimeFactory() } : {};
      const { result, row } = await runAndRow(run, deps);
      await onOutcome({ index, row, ...(result.error !== undefined ? { error: result.error } : {}) });
    }
    return;
  }
  await runOnWorkers(runs, Math.min(options.jobs, runs.length), onOutcome);
}

/**
 * The worker's module: its compiled copy (with source maps on, so a stack trace names the .ts files), or the
 * source with the tsx loader when there is no compiled copy.
 */
async function workerCommand(): Promise<{ path: string; execArgv: string[] }> {
  // Loaded by URL from the source's place: this module may itself be running from the compiled copy, which
  // holds the sources' folders only (import.meta.url is the source's there too, see bin/precompile.js).
  const precompile = (await import(new URL('../bin/precompile.js', import.meta.url).href)) as typeof import('../bin/precompile.js');
  // The worker's V8 flags, shared with the CLI's own simulated runs (bin/sim-flags.js says what each does
  // and what it was measured to save), found the same way.
  const { SIM_V8_FLAGS } = (await import(new URL('../bin/sim-flags.js', import.meta.url).href)) as typeof import('../bin/sim-flags.js');
  const compiled = await precompile.precompiledEntry('harness/campaign-worker.ts');
  if (compiled !== undefined) return { path: fileURLToPath(compiled), execArgv: [...SIM_V8_FLAGS, '--enable-source-maps'] };
  return { path: fileURLToPath(new URL('./campaign-worker.ts', import.meta.url)), execArgv: [...SIM_V8_FLAGS, '--import', import.meta.resolve('tsx')] };
}

async function runOnWorkers(runs: readonly PoolRun[], jobs: number, onOutcome: (o: PoolOutcome) => Promise<void>): Promise<void> {
  const done = new Map<number, PoolOutcome>();
  let nextToStart = 0;
  let nextToReport = 0;
  // Outcomes are handed on strictly in order, one at a time, even when several land together.
  let reporting: Promise<void> = Promise.resolve();
  const report = (): Promise<void> => {
    reporting = reporting.then(async () => {
      while (nextToReport < runs.length && done.has(nextToReport)) {
        const outcome = done.get(nextToReport)!;
        done.delete(nextToReport);
        nextToReport++;
        await onOutcome(outcome);
      }
    });
    return reporting;
  };
  const { path, execArgv } = await workerCommand();
  const workers: ChildProcess[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const land = (position: number, outcome: PoolOutcome): void => {
        done.set(position, outcome);
        report().then(() => {
          if (nextToReport === runs.length) resolve();
        }, reject);
      };
      const startWorker = (): void => {
        const child = fork(path, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
        workers.push(child);
        let current: number | undefined;
        const give = (): void => {
          if (nextToStart >= runs.length) {
            current = undefined;
            child.disconnect();
            return;
          }
          current = nextToStart++;
          child.send({ index: current, run: runs[current]!.run });
        };
        child.on('message', (reply: WorkerReply) => {
          const position = current!;
          land(position, { index: runs[position]!.index, row: reply.row, ...(reply.error !== undefined ? { error: reply.error } : {}) });
          give();
        });
        child.once('exit', (code, signal) => {
          if (current === undefined) return;
          // The run in hand is reported as unknown with why; a fresh worker takes the runs still waiting.
          const position = current;
          current = undefined;
          const why = `campaign worker process ended (${signal ?? `exit ${String(code)}`}) during the run`;
          failedRow(runs[position]!.run, why).then((row) => {
            land(position, { index: runs[position]!.index, row, error: why });
            if (nextToStart < runs.length) startWorker();
          }, reject);
        });
        give();
      };
      // The lane in this process: runs in turn until none is left. A run that throws (runTest reports its
      // own failures, so this is a harness bug) is reported as unknown with why, as a dead worker's is.
      const localLane = async (): Promise<void> => {
        while (nextToStart < runs.length) {
          const position = nextToStart++;
          const { index, run } = runs[position]!;
          let outcome: PoolOutcome;
          try {
            const { result, row } = await runAndRow(run);
            outcome = { index, row, ...(result.error !== undefined ? { error: result.error } : {}) };
          } catch (error) {
            const why = `the run threw: ${error instanceof Error ? error.message : String(error)}`;
            outcome = { index, row: await failedRow(run, why), error: why };
          }
          land(position, outcome);
        }
      };
      for (let i = 1; i < jobs; i++) startWorker();
      localLane().catch(reject);
    });
  } finally {
    // Every worker has ended when the campaign returns: a disconnected one (no run left for it) exits by
    // itself and is waited for, briefly; one still connected holds a run after an error and is ended.
    await Promise.all(workers.map((w) => new Promise<void>((done) => {
      if (w.exitCode !== null || w.signalCode !== null) return done();
      const timer = setTimeout(() => w.kill('SIGTERM'), w.connected ? 0 : 5000);
      w.once('exit', () => {
        clearTimeout(timer);
        done();
      });
    })));
  }
}
