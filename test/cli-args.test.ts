// The CLI's argument handling: a bad flag or value is one line on stderr and exit 2; --help is readable
// and exits 0; flags map onto the run's options with the documented defaults.
import t from 'tap';
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../harness/cli.js';
import { parseNemesis, runOptionsFrom, buildProgram } from '../harness/cli-program.js';
import { cliInProcess } from './helpers/cli-in-process.js';

const bin = fileURLToPath(new URL('../bin/quorumlab.js', import.meta.url));

t.test('a bad flag prints one line and exits 2 (real process)', async (t) => {
  const r = await execa('node', [bin, 'run', '--no-such-flag'], { reject: false, timeout: 30_000 });
  t.equal(r.exitCode, 2);
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
  t.match(r.stderr, /unknown option '--no-such-flag'/);
  const bad = await execa('node', [bin, 'run', '--nemesis', 'partition,meteor'], { reject: false, timeout: 30_000 });
  t.equal(bad.exitCode, 2);
  t.match(bad.stderr.trim(), /^error: .*unknown fault "meteor"/);
  t.equal(bad.stderr.trim().split('\n').length, 1);
});

t.test('--help lists the commands and exits 0', async (t) => {
  const r = await execa('node', [bin, '--help'], { reject: false, timeout: 30_000 });
  t.equal(r.exitCode, 0);
  for (const cmd of ['run', 'check', 'export', 'campaign', 'node']) t.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
  const run = await execa('node', [bin, 'run', '--help'], { reject: false, timeout: 30_000 });
  t.equal(run.exitCode, 0);
  for (const flag of ['--runtime', '--nodes', '--n', '--r', '--w', '--sloppy', '--strict', '--conflicts', '--workload', '--nemesis',
    '--time-limit', '--concurrency', '--rate', '--seed', '--node-cmd', '--image', '--store', '--quiesce', '--name']) {
    t.match(run.stdout, flag, `run --help mentions ${flag}`);
  }
});

t.test('bad values exit 2 in-process too', async (t) => {
  const codes: number[] = [];
  const stderr = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await main(['run', '--n', 'three'], (c) => codes.push(c));
    await main(['run', '--workload', 'queue'], (c) => codes.push(c));
    await main(['run', '--runtime', 'cloud'], (c) => codes.push(c));
    await main(['frobnicate'], (c) => codes.push(c));
    await main(['run', '--partitions', 'sideways'], (c) => codes.push(c));
    await main(['campaign', '--targets', 'most'], (c) => codes.push(c));
  } finally {
    process.stderr.write = stderr;
  }
  t.same(codes, [2, 2, 2, 2, 2, 2]);
});

t.test('flags become run options with the documented defaults', async (t) => {
  let seen: Record<string, unknown> | undefined;
  const program = buildProgram(() => {});
  const run = program.commands.find((c) => c.name() === 'run')!;
  run.action((o: Record<string, unknown>) => { seen = o; });
  await program.parseAsync(['run', '--seed', '42'], { from: 'user' });
  const opts = runOptionsFrom(seen!);
  t.match(opts, { runtime: 'local', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'cart', timeLimitS: 60, seed: 42 });
  t.same(opts.nemesis, ['partition', 'crash', 'pause']);
  t.same(parseNemesis('none'), []);
  t.same(parseNemesis('clock,clock,pause'), ['clock', 'pause']);
  const strict = runOptionsFrom({ ...seen!, sloppy: false, env: ['QL_TEST_FAULTS=ack-before-w'], nemesisInterval: '2,3' });
  t.equal(strict.sloppy, false);
  t.same(strict.env, { QL_TEST_FAULTS: 'ack-before-w' });
  t.equal(strict.nemesisQuietS, 2);
  t.equal(strict.nemesisFaultS, 3);
  t.equal(opts.faultShapes, undefined, 'every partition kind and target by default');
  await program.parseAsync(['run', '--seed', '1', '--partitions', 'halves,random-halves', '--targets', 'all'], { from: 'user' });
  t.same(runOptionsFrom(seen!).faultShapes, { partitions: ['halves', 'random-halves'], targets: ['all'] });
});

// No false green, no silent failure: every invalid flag value below exited 2 printing nothing, or ran
// something other than what was asked (the reference node instead of --node-cmd/--image, strict for
// --modes foo, vclock labelled "bogus", a sweep of unknown runs for --nrw 3/4/1). Each must now say so
// in one line and exit 2 before anything runs. The baseline flags keep a wrongly accepted run short.
const store = mkdtempSync(join(tmpdir(), 'ql-cli-args-'));
const runBase = ['run', '--runtime', 'sim', '--seed', '1', '--time-limit', '1', '--nemesis', 'none', '--store', store];
const campaignBase = ['campaign', '--runtime', 'sim', '--time-limit', '1', '--workloads', 'register', '--nemeses', 'none', '--nrw', '3/2/2',
  '--modes', 'strict', '--conflicts', 'vclock', '--quiesce', '0', '--store', store];
const badSchedule = join(store, 'bad-shape.json');
writeFileSync(badSchedule, JSON.stringify({ quietS: 1, faults: [] }));
const notJson = join(store, 'not-json.json');
writeFileSync(notJson, '{"quietS": 1,');
const timedBadOp = join(store, 'timed-bad-op.json');
writeFileSync(timedBadOp, JSON.stringify({ timed: [{ atS: 1, f: 'partition' }, { atS: 2, f: 'explode' }] }));
const timedUnsorted = join(store, 'timed-unsorted.json');
writeFileSync(timedUnsorted, JSON.stringify({ timed: [{ atS: 3, f: 'partition' }, { atS: 1, f: 'heal' }] }));
const timedUnsortedFixed = join(store, 'timed-ok.json');
writeFileSync(timedUnsortedFixed, JSON.stringify({ timed: [{ atS: 1, f: 'partition', value: { kind: 'halves' } }, { atS: 3, f: 'heal' }] }));

const cli = cliInProcess;

const badValues: [string, readonly string[], RegExp][] = [
  ['--node-cmd with --runtime sim', [...runBase, '--node-cmd', './my-node'], /--node-cmd needs --runtime local/],
  ['--image with --runtime sim', [...runBase, '--image', 'my/node:dev'], /--image needs --runtime docker/],
  ['--image with --runtime local', [...runBase, '--runtime', 'local', '--image', 'my/node:dev'], /--image needs --runtime docker \(with --runtime local/],
  ['--env without =', [...runBase, '--env', 'NOEQUALS'], /--env expects VAR=value, got "NOEQUALS"/],
  ['--fault bogus', [...runBase, '--fault', 'bogus'], /unknown test fault "bogus"/],
  ['--nemesis-interval 5', [...runBase, '--nemesis-interval', '5'], /--nemesis-interval must be "quiet,fault" seconds.*got "5"/],
  ['--nemesis-interval 5,5,5', [...runBase, '--nemesis-interval', '5,5,5'], /--nemesis-interval must be "quiet,fault" seconds.*got "5,5,5"/],
  ['--schedule of a missing file', [...runBase, '--schedule', join(store, 'missing.json')], /--schedule: .*missing\.json is neither a recipe \(riak-1754-lost-write, kv679-disk-loss\) nor a readable file \(ENOENT\)/],
  ['--schedule timed with an unknown op', [...runBase, '--schedule', timedBadOp], /--schedule: timed\[1\]\.f must be a fault op/],
  ['--schedule timed out of order', [...runBase, '--schedule', timedUnsorted], /--schedule: timed\[1\]\.atS \(1\) is before the step above it \(3\)/],
  ['--schedule timed past the time limit', [...runBase, '--time-limit', '2', '--schedule', timedUnsortedFixed], /--schedule: heal at 3 s is not inside --time-limit 2 s/],
  ['--schedule a recipe past the time limit', [...runBase, '--time-limit', '5', '--schedule', 'kv679-disk-loss'], /--schedule: disk-loss at 10 s is not inside --time-limit 5 s/],
  ['search --schedule a recipe', ['search', '--store', store, '--schedule', 'kv679-disk-loss'], /--schedule: search tries periodic schedules .*kv679-disk-loss is a recipe \(replay it with: quorumlab run --schedule kv679-disk-loss\)/],
  ['search --schedule a timed file', ['search', '--store', store, '--schedule', timedUnsortedFixed], /--schedule: search tries periodic schedules .* is a timed schedule/],
  ['--schedule of a non-JSON file', [...runBase, '--schedule', notJson], /--schedule: .*not-json\.json is not JSON/],
  ['--schedule of the wrong shape', [...runBase, '--schedule', badSchedule], /--schedule: faultS must be a number/],
  ['--keys 0', [...runBase, '--keys', '0'], /--keys must be a whole number above 0/],
  ['--request-timeout 0', [...runBase, '--request-timeout', '0'], /--request-timeout must be a whole number above 0/],
  ['campaign --nemeses "partition;bogus"', [...campaignBase, '--nemeses', 'partition;bogus'], /unknown fault "bogus"/],
  ['campaign --modes foo', [...campaignBase, '--modes', 'foo'], /unknown mode "foo" \(use sloppy, strict\)/],
  ['campaign --conflicts bogus', [...campaignBase, '--conflicts', 'bogus'], /unknown conflict mode "bogus" \(use vclock, lww\)/],
  ['campaign --nrw 3/4/1', [...campaignBase, '--nrw', '3/4/1'], /--nrw 3\/4\/1: R and W must be between 1 and N/],
  ['campaign --nrw 3/2/2/1', [...campaignBase, '--nrw', '3/2/2/1'], /--nrw expects N\/R\/W triples like 3\/2\/2, got "3\/2\/2\/1"/],
  ['campaign --seeds 0', [...campaignBase, '--seeds', '0'], /--seeds must be a whole number above 0/],
  ['campaign --image with --runtime sim', [...campaignBase, '--image', 'my/node:dev'], /--image needs --runtime docker/],
  ['--partitions without the partition nemesis', [...runBase, '--nemesis', 'clock', '--partitions', 'halves'], /--partitions shapes the partition nemesis, and no run here has one/],
  ['--targets without crash or pause', [...runBase, '--nemesis', 'partition', '--targets', 'all'], /--targets picks what crash and pause hit, and no run here has either/],
  ['campaign --partitions without the partition nemesis', [...campaignBase, '--nemeses', 'clock;crash', '--partitions', 'halves'], /--partitions shapes the partition nemesis/],
  ['campaign --quick beside a sweep flag it would ignore', ['campaign', '--quick', '--runtime', 'sim', '--store', store, '--modes', 'strict'], /--quick fixes the sweep; drop --modes/],
];

for (const [name, argv, message] of badValues) {
  t.test(`bad value, one line, exit 2: ${name}`, async (t) => {
    const r = await cli(argv);
    t.same(r.codes, [2], 'exit 2');
    t.equal(r.printed.trim().split('\n').length, 1, `one line: ${r.printed.trim().slice(0, 300)}`);
    t.match(r.printed, message);
  });
}

t.test('--node-cmd with --runtime sim is refused by the real program too, before anything starts', async (t) => {
  const r = await execa('node', [bin, ...runBase, '--node-cmd', './my-node'], { reject: false, timeout: 60_000 });
  t.equal(r.exitCode, 2);
  t.equal(r.stdout, '', 'no run was started');
  t.match(r.stderr.trim(), /^error: --node-cmd needs --runtime local \(with --runtime sim the reference node would be tested instead\)$/);
});
