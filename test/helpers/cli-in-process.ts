// Runs the CLI in this process and gives back its exit codes and everything it printed (stdout and stderr),
// for tests that check a command's one-line errors and exit codes without paying for a child process.
import { main } from '../../harness/cli.js';

export async function cliInProcess(argv: readonly string[]): Promise<{ codes: number[]; printed: string }> {
  const codes: number[] = [];
  let printed = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = ((chunk: string | Uint8Array): boolean => {
    printed += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    await main(argv, (c) => codes.push(c));
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { codes, printed };
}
