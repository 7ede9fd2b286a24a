// The quorumlab command line's entry: parses argv and maps every failure to one line and an exit code (0 valid,
// 1 invalid, 2 unknown, failed or bad input). The commands are defined in cli-program.ts, which loads most of
// the harness; `quorumlab check` builds only its own command (cli-base.ts), so re-checking a history does not
// pay for loading the run, campaign and store modules first.
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { addCheckCommand, newProgram } from './cli-base.js';

/** The program argv asks for: only the check command for `check …`, every command otherwise. */
async function programFor(argv: readonly string[], exit: (code: number) => void): Promise<Command> {
  if (argv[0] === 'check') {
    const program = newProgram();
    addCheckCommand(program, exit);
    return program;
  }
  const { buildProgram } = await import('./cli-program.js');
  return buildProgram(exit);
}

/** Runs the CLI; resolves with the exit code instead of exiting when `exit` is given (tests). */
export async function main(argv: readonly string[], exit: (code: number) => void = (c) => process.exit(c)): Promise<void> {
  try {
    const program = await programFor(argv, exit);
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      // Thrown by a check inside an action (commander prints only the errors of its own parsing).
      process.stderr.write(`error: ${error.message.split('\n')[0]}\n`);
      exit(2);
      return;
    }
    if (error instanceof CommanderError) {
      // --help and --version "fail" with code 0 after printing; anything else is a usage error.
      exit(error.exitCode === 0 ? 0 : 2);
      return;
    }
    process.stderr.write(`quorumlab: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
    exit(2);
  }
}

// Run when loaded as the program (bin/quorumlab.js imports this file), not when a test imports it.
const entry = process.argv[1] ?? '';
if (/quorumlab(\.js)?$|harness[/\\]cli\.ts$/.test(entry)) await main(process.argv.slice(2));
