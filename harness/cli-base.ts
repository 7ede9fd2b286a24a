// The part of the command line that `quorumlab check` needs and nothing more: the program itself (name,
// description, one-line errors) and the check command. cli-program.ts adds every other command around the
// same check command, so `check` behaves alike whether its program has the other commands or not.
import { Command, InvalidArgumentError } from 'commander';
import { workloadNames, type WorkloadName } from '../workloads/workload.js';

/** The program with no commands yet: how it names itself and prints a usage error (one line). */
export function newProgram(): Command {
  return new Command()
    .name('quorumlab')
    .description('A reference Dynamo key-value store and a Jepsen-style harness that attacks it.\n' +
      'Start with `quorumlab run` (a 60 s fault test on 5 local nodes); results land in store/latest/report.html.')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${text.trim().split('\n')[0]}\n`) });
}

export function workloadArg(v: string): WorkloadName {
  if (!(workloadNames as readonly string[]).includes(v)) throw new InvalidArgumentError(`unknown workload "${v}" (use register, cart, cart-kv or pbs)`);
  return v as WorkloadName;
}

export function addCheckCommand(program: Command, exit: (code: number) => void): void {
  program.command('check')
    .description('re-run the checkers on a stored history (a results folder or a history.jsonl)')
    .argument('<target>', 'results folder or history.jsonl')
    .option('--workload <name>', 'override the workload from config.json', workloadArg)
    .action(async (target: string, o: { workload?: string }) => {
      const specifier = './check.js';
      const mod = (await import(specifier)) as { runCheck: (t: string, opts: { workload?: string }) => Promise<{ exitCode: number }> };
      const result = await mod.runCheck(target, o.workload !== undefined ? { workload: o.workload } : {});
      exit(result.exitCode);
    });
}
