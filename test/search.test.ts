// `quorumlab search` and `quorumlab/search` (harness/search.ts): a bounded schedule search finds the
// reference node's deliberate ack-before-w defect under a strict quorum, shrinks it, and prints a replay line
// that the CLI replays to the same verdict; the reference node itself passes; the budget stops a search
// between runs; bad input is one line and exit 2; and the package's `exports` entry loads in plain Node.
import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../harness/cli.js';
import { searchSchedules } from '../harness/search.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

let store = '';
t.before(async () => {
  store = await mkdtemp(join(tmpdir(), 'ql-search-'));
});
t.teardown(() => (store !== '' ? rm(store, { recursive: true, force: true }) : undefined));

/** Runs the CLI in this process; returns the exit code, stdout lines and stderr. */
async function cli(args: readonly string[]): Promise<{ code: number; out: string; stderr: string }> {
  const codes: number[] = [];
  let out = '';
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  const log = console.log;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  console.log = (...a: unknown[]) => void (out += `${a.map(String).join(' ')}\n`);
  try {
    await main(args, (c) => codes.push(c));
  } finally {
    process.stderr.write = write;
    console.log = log;
  }
  return { code: codes[0] ?? -1, out, stderr };
}

// Short runs at a modest rate, as the property tests use: enough writes per key for the checkers to decide.
const load = ['--concurrency', '4', '--rate', '30', '--quiesce', '2'];

t.test('ack-before-w under a strict quorum: found, shrunk, and the printed line replays it (exit 1)', async (t) => {
  const r = await cli(['search', '--workload', 'register', '--strict', '--fault', 'ack-before-w', '--nemesis', 'partition,crash,pause',
    '--seed', '1', '--runs', '25', '--max-faults', '3', ...load, '--store', join(store, 'bad')]);
  t.equal(r.code, 1, 'exit 1: a schedule broke the configuration');
  t.match(r.out, /^search: up to 25 schedules of partition, kill, pause against register on sim, 5 nodes, N=3 R=2 W=2 strict; search seed 1/m);
  t.match(r.out, /^search: FAILURE after \d+ schedules?: .*=false/m, 'the verdict names the checker that rejected it');
  t.match(r.out, /replayed once more: fails again/, 'the shrunk case was run again and failed again');
  const schedule = /^ {2}schedule: (.*)$/m.exec(r.out)?.[1];
  const replay = /^replay: (.*)$/m.exec(r.out)?.[1];
  t.ok(schedule !== undefined && replay !== undefined, 'the schedule and the replay line are printed');
  if (schedule === undefined || replay === undefined) return;
  const shrunk = /shrunk from (\d+) to (\d+) fault/.exec(r.out);
  t.ok(shrunk !== null && Number(shrunk[2]) <= Number(shrunk[1]), `the shrunk schedule is no longer than the first failing one (${shrunk?.[0]})`);
  t.match(replay, /^npx quorumlab run .*--strict .*--env QL_TEST_FAULTS=ack-before-w .*--seed \d+ --schedule \S+counterexample-schedule\.json$/);
  const file = /--schedule (\S+)$/.exec(replay)![1]!;
  t.same(JSON.parse(await readFile(file, 'utf8')), JSON.parse(schedule), 'the schedule file holds the printed schedule');
  const search = JSON.parse(await readFile(join(file, '..', 'search.json'), 'utf8')) as { tried: { failed: boolean }[]; counterexample: { seed: number } };
  t.ok(search.tried.length >= 2 && search.tried.some((x) => x.failed), 'search.json lists every schedule tried');

  // The replay line, as printed, through the CLI: invalid again, same seed.
  const args = replay.replace(/^npx quorumlab /, '').split(' ');
  const again = await cli([...args, '--store', join(store, 'replay')]);
  t.equal(again.code, 1, 'the replay exits 1 (invalid)');
  const replayed = JSON.parse(await readFile(join(store, 'replay', 'latest', 'results.json'), 'utf8')) as { valid: unknown; config: { seed: number } };
  t.equal(replayed.valid, false);
  t.equal(replayed.config.seed, search.counterexample.seed, 'with the counterexample seed');
});

t.test('the reference node passes a bounded search; the budget stops one between runs', async (t) => {
  const ok = await searchSchedules({ workload: 'register', sloppy: false, runs: 3, seed: 7, concurrency: 4, rate: 30, quiesceS: 2, store: join(store, 'good') });
  t.equal(ok.exitCode, 0, ok.report);
  t.equal(ok.tried.length, 3, 'three schedules run');
  t.ok(ok.tried.every((x) => !x.failed));
  t.match(ok.report, /^search: no failure in 3 schedules; search seed 7$/);
  const same = await searchSchedules({ workload: 'register', sloppy: false, runs: 3, seed: 7, concurrency: 4, rate: 30, quiesceS: 2, store: join(store, 'good') });
  t.same(same.tried.map((x) => x.c), ok.tried.map((x) => x.c), 'the same search seed draws the same schedules');

  const cut = await searchSchedules({ workload: 'register', runs: 50, timeBudgetS: 0.001, seed: 7, concurrency: 4, rate: 30, quiesceS: 2, store: join(store, 'cut') });
  t.equal(cut.exitCode, 0);
  t.ok(cut.outOfTime, 'the budget ended it');
  t.ok(cut.tried.length <= 1, `no run started after the budget (${cut.tried.length} ran)`);
  t.match(cut.report, /budget ended it early/);
});

t.test('bad input: one line, exit 2', async (t) => {
  for (const [args, pattern] of [
    [['--nemesis', 'disk-loss'], /--nemesis: search draws partition, crash, pause, clock and membership faults; it cannot script disk-loss yet/],
    [['--nemesis', 'none'], /needs at least one fault kind/],
    [['--n', '3', '--r', '4'], /--r must be between 1 and --n \(3\), got 4/],
    [['--runs', '0'], /--runs must be a whole number above 0/],
    [['--time-budget', 'soon'], /--time-budget must be a non-negative number/],
    [['--node-cmd', './my-node'], /--node-cmd needs --runtime local/],
  ] as const) {
    const r = await cli(['search', ...args, '--store', join(store, 'never')]);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
    t.match(r.stderr, pattern, r.stderr.trim());
  }
});

t.test("the package's exports entry: quorumlab/search in plain Node (no TypeScript loader of the user's)", async (t) => {
  const project = await mkdtemp(join(tmpdir(), 'ql-search-user-'));
  t.teardown(() => rm(project, { recursive: true, force: true }));
  await execa('mkdir', ['-p', join(project, 'node_modules')]);
  await execa('ln', ['-s', repoRoot, join(project, 'node_modules', 'quorumlab')]);
  await writeFile(join(project, 'probe.mjs'), [
    "import { searchSchedules, searchFaultsFor } from 'quorumlab/search';",
    "console.log(typeof searchSchedules, searchFaultsFor(['partition', 'crash']).join(','));",
  ].join('\n'));
  const r = await execa('node', ['probe.mjs'], { cwd: project, reject: false, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  t.equal(r.exitCode, 0, r.stderr);
  t.equal(r.stdout.trim(), 'function partition,kill');
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  t.ok(pkg.dependencies['fast-check'] !== undefined && pkg.devDependencies['fast-check'] === undefined, 'fast-check is a runtime dependency');
});
