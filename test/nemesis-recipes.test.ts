// Scripted schedules from the CLI: a named recipe (its cluster, load and timed faults; flags still win), a
// timed schedule file (each op at its time, undone only by a later op or the final heal), and search trying
// a given periodic schedule before it draws. All on the simulation.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliInProcess } from './helpers/cli-in-process.js';

const store = mkdtempSync(join(tmpdir(), 'ql-recipes-'));
t.teardown(() => rmSync(store, { recursive: true, force: true }));

async function cli(argv: readonly string[]): Promise<{ code: number | undefined; printed: string }> {
  const { codes, printed } = await cliInProcess(argv);
  return { code: codes[0], printed };
}

interface Op { process: unknown; type: string; f: string; time: number; value: Record<string, unknown> }
const runDirOf = (printed: string): string => /→ (\S+)\s*$/m.exec(printed.trim())![1]!;
const historyOf = (dir: string): Op[] => readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Op);
const configOf = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

t.test('a timed schedule file: each op at its time, what is in force at the end undone by the final heal', async (t) => {
  const file = join(store, 'timed.json');
  writeFileSync(file, JSON.stringify({ timed: [
    { atS: 1, f: 'partition', value: { sides: [['n1', 'n2'], ['n3', 'n4', 'n5']] } },
    { atS: 3, f: 'heal' },
    { atS: 4, f: 'kill', value: { nodes: ['n2'] } },
  ] }));
  const r = await cli(['run', '--runtime', 'sim', '--workload', 'register', '--seed', '2', '--time-limit', '6', '--quiesce', '1', '--store', store, '--schedule', file, '--name', 'timed']);
  t.equal(r.code, 0, r.printed);
  const ops = historyOf(runDirOf(r.printed));
  const nem = ops.filter((o) => o.process === 'nemesis' && o.type === 'invoke').map((o) => o.f);
  t.same(nem, ['partition', 'heal', 'kill', 'restart'], 'the three ops, then the final heal restarts n2');
  const start = ops.find((o) => typeof o.process === 'number')!.time;
  const at = (f: string): number => (ops.find((o) => o.process === 'nemesis' && o.f === f)!.time - start) / 1e9;
  t.ok(Math.abs(at('partition') - 1) < 0.2 && Math.abs(at('heal') - 3) < 0.2 && Math.abs(at('kill') - 4) < 0.2, `at 1, 3, 4 s: ${at('partition')} ${at('heal')} ${at('kill')}`);
  t.same(configOf(runDirOf(r.printed))['nemesis'], ['partition', 'crash']);
});

t.test('a named recipe: kv679 sets its cluster and load, plays its disk losses, and catches actor reuse', async (t) => {
  const ok = await cli(['run', '--runtime', 'sim', '--seed', '1', '--store', store, '--schedule', 'kv679-disk-loss']);
  t.equal(ok.code, 0, ok.printed.split('\n').at(-2) ?? '');
  const dir = runDirOf(ok.printed);
  t.match(configOf(dir), { name: 'kv679-disk-loss', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, workload: 'register', concurrency: 10, rate: 50, keyCount: 5, timeLimitS: 30, nemesis: ['disk-loss'] });
  const losses = historyOf(dir).filter((o) => o.process === 'nemesis' && o.type === 'info' && o.f === 'disk-loss');
  t.same(losses.map((o) => o.value['nodes']), [['n1'], ['n1']]);
  const bad = await cli(['run', '--runtime', 'sim', '--seed', '1', '--store', store, '--schedule', 'kv679-disk-loss', '--fault', 'actor-reuse', '--concurrency', '8']);
  t.equal(bad.code, 1, 'the same recipe against a node that reuses its actor id after losing its disk');
  t.equal(configOf(runDirOf(bad.printed))['concurrency'], 8, 'a flag given on the command line wins over the recipe');
});

t.test('search --schedule tries the given periodic schedule first, then draws', async (t) => {
  const file = join(store, 'periodic.json');
  const schedule = { quietS: 1, faultS: 1, faults: [{ f: 'kill', value: { nodes: ['n1'] } }] };
  writeFileSync(file, JSON.stringify(schedule));
  const r = await cli(['search', '--workload', 'register', '--strict', '--nemesis', 'crash', '--runs', '2', '--seed', '3', '--quiesce', '1',
    '--store', store, '--name', 'first', '--schedule', file, '--schedule-seed', '9']);
  t.equal(r.code, 0, r.printed);
  t.match(r.printed, /first: the given schedule \(1 faults\), seed 9/);
  const dir = join(store, 'first', readdirSync(join(store, 'first')).filter((d) => d !== 'latest')[0]!);
  const tried = (JSON.parse(readFileSync(join(dir, 'search.json'), 'utf8')) as { tried: { c: { seed: number; schedule: unknown } }[] }).tried;
  t.same(tried[0]!.c, { seed: 9, schedule }, 'the given case ran first');
  t.equal(tried.length, 2, 'then one drawn case: the given one counts as one of --runs');
});
