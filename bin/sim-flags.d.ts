// Types of bin/sim-flags.js (plain JavaScript, since bin/quorumlab.js runs it before any TypeScript loader).

/** V8 settings for a process that runs simulations. */
export const SIM_V8_FLAGS: readonly string[];
/** Whether these CLI arguments (after the script) run simulations: `run` or `campaign` with `--runtime sim`. */
export function runsSimulations(args: readonly string[]): boolean;
/** Restarts the CLI with SIM_V8_FLAGS when it runs simulations; the child's exit code, or undefined: carry on here. */
export function restartWithSimFlags(argv?: readonly string[], simulates?: boolean): Promise<number | undefined>;
