// V8 settings for a process that runs simulations: the CLI's `run` and `campaign` with `--runtime sim` (which
// bin/quorumlab.js starts again with them) and campaign worker processes (harness/campaign-pool.ts). None
// changes what a run computes (no code in a run observes the collector or the JIT), only what it costs:
// - --max-semi-space-size=64: a simulated run allocates fast and most of it dies young (messages, events,
//   outcomes); a larger young generation promotes less of it.
// - --always-sparkplug: baseline code for every function at once; a process's first runs are otherwise paid
//   mostly in the interpreter before the JIT has caught up.
// - --interrupt-budget=300000 (V8's default is 67,584): a function is considered for optimization after
//   about 4× as much interpreted/baseline work. A cold simulated run has TurboFan compile, on V8's helper
//   threads, much code whose feedback is still changing (optimized, deoptimized, optimized again): in a
//   fresh process's 60 s cart run that was about 0.7 of 1.6 CPU s; with this budget 0.3, for a main thread
//   within a few % of before (/proc/self/task figures, `node --import tsx <flags> bench/sim-cluster.ts 5 0
//   60 50`, alternated). On 2 cores shared by two campaign lanes the helper threads' CPU is the other lane's.
// Plain JavaScript: bin/quorumlab.js reads it before any TypeScript loader is registered.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** The flags (see above). */
export const SIM_V8_FLAGS = ['--max-semi-space-size=64', '--always-sparkplug', '--interrupt-budget=300000'];
/** Set (to "0") in the restarted CLI, so that it does not restart again; QUORUMLAB_SIM_FLAGS=0 also turns it off. */
const ENV = 'QUORUMLAB_SIM_FLAGS';

/** Whether these CLI arguments (after the script) run simulations: `run` or `campaign` with `--runtime sim`. */
export function runsSimulations(args) {
  if (args[0] !== 'run' && args[0] !== 'campaign') return false;
  return args.some((a, i) => a === '--runtime=sim' || (a === '--runtime' && args[i + 1] === 'sim'));
}

/**
 * Restarts the CLI in a node started with SIM_V8_FLAGS when it will run simulations, and resolves to the
 * child's exit code; undefined: carry on in this process (not a simulation, already restarted, turned off,
 * or the child could not be started). A fresh node costs some 40 ms of CPU, against tenths of a second saved
 * on a 60 s run and about a second on a 50-run campaign. The child leads a process group of its own (its
 * campaign workers join it), and every SIGINT, SIGTERM or SIGHUP this process gets is passed on to that
 * group once: Ctrl-C reaches this process alone (the terminal's foreground group), so a run still sees one
 * SIGINT (a graceful teardown; a second one ends it at once), as it did when it ran in this process.
 * `simulates` says whether to: the benches that time simulations pass true, so that they measure the
 * simulator as the CLI and campaign workers run it.
 */
export async function restartWithSimFlags(argv = process.argv, simulates = runsSimulations(argv.slice(2))) {
  if (process.env[ENV] === '0' || !simulates) return undefined;
  if (SIM_V8_FLAGS.every((f) => process.execArgv.includes(f))) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...SIM_V8_FLAGS, ...argv.slice(1)], {
    stdio: 'inherit', detached: true, env: { ...process.env, [ENV]: '0' },
  });
  const pass = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group has ended already.
    }
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, pass);
  return await new Promise((resolve) => {
    child.once('error', () => resolve(undefined));
    child.once('exit', (code, signal) => {
      for (const s of signals) process.removeListener(s, pass);
      resolve(signal !== null ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}
