// The store's commands: `quorumlab ls` (the runs and campaigns in the terminal), `quorumlab serve`
// (the same in a browser, each report one click away; both filter alike) and `quorumlab report` (a run's
// report.html written from its folder, e.g. a campaign's valid runs, which do not write theirs).
// Registered by cli.ts.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { StoreFilter } from './store-index.js';

function portArg(v: string): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0 || x > 65535) throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535, got "${v}"`);
  return x;
}

/** A store that is not there is a usage error (one line, exit 2), not an empty listing. */
async function checkStore(store: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  let isDir = false;
  try {
    isDir = (await stat(store)).isDirectory();
  } catch (e) {
    throw new InvalidArgumentError(`store ${store}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!isDir) throw new InvalidArgumentError(`store ${store} is not a folder`);
}

interface LsFlags { kind?: 'run' | 'campaign'; verdict?: string; workload?: string; grep?: string; json?: boolean }

function filterFrom(o: LsFlags): StoreFilter {
  return { ...(o.kind !== undefined ? { kind: o.kind } : {}), ...(o.verdict !== undefined ? { verdict: o.verdict } : {}),
    ...(o.workload !== undefined ? { workload: o.workload } : {}), ...(o.grep !== undefined ? { text: o.grep } : {}) };
}

export function addStoreCommands(program: Command, exit: (code: number) => void): void {
  program.command('ls')
    .description('list the runs and campaigns in a results store: date, name, workload, N/R/W, mode, nemesis, verdict')
    .argument('[store]', 'results store', 'store')
    .addOption(new Option('--kind <kind>', 'only runs or only campaigns').choices(['run', 'campaign']))
    .addOption(new Option('--verdict <v>', 'only this verdict (none: no results yet)').choices(['true', 'false', 'unknown', 'none']))
    .option('--workload <name>', 'only this workload')
    .option('--grep <words>', 'only entries whose path, name or configuration holds every word')
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (store: string, o: LsFlags) => {
      await checkStore(store);
      const { filterEntries, formatEntries, scanStore } = await import('./store-index.js');
      const entries = filterEntries(await scanStore(store), filterFrom(o));
      const text = o.json === true ? entries.map((e) => JSON.stringify(e)).join('\n') : formatEntries(entries);
      if (text.length > 0) process.stdout.write(`${text}\n`);
      else process.stderr.write(`no runs in ${store}${o.kind ?? o.verdict ?? o.workload ?? o.grep ? ' match the filter' : ''}\n`);
      exit(0);
    });

  program.command('report')
    .description("write report.html from a finished run's folder, or for every run of a campaign folder that has none (a campaign writes only its failed runs' reports)")
    .argument('<folders...>', 'run folders (with results.json) or campaign folders (with campaign.json)')
    .action(async (folders: string[]) => {
      const { writeReportsFor } = await import('./report/index.js');
      for (const folder of folders) {
        let written: string[];
        try {
          written = await writeReportsFor(folder);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message.split('\n')[0]!);
        }
        for (const path of written) process.stdout.write(`${path}\n`);
        if (written.length === 0) process.stderr.write(`${folder}: every run already has its report.html\n`);
      }
      exit(0);
    });

  program.command('serve')
    .description('browse a results store on http://127.0.0.1:<port>/ (loopback only): runs and campaigns, filterable, each report one click away')
    .argument('[store]', 'results store', 'store')
    .option('--port <port>', 'TCP port (0: any free one)', portArg, 8080)
    .action(async (store: string, o: { port: number }) => {
      await checkStore(store);
      const { serveStore } = await import('./store-serve.js');
      let server;
      try {
        server = await serveStore({ store, port: o.port });
      } catch (e) {
        throw new InvalidArgumentError(`cannot listen on 127.0.0.1:${o.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      process.stdout.write(`serving ${store} on ${server.url} (Ctrl-C stops)\n`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await server.close();
      exit(0);
    });
}
