// The CLI's argument handling: a bad flag or value is one line on stderr and exit 2; --help is readable
// and exits 0; flags map onto the run's options with the documented defaults.
import t from 'tap';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { main, parseNemesis, runOptionsFrom, buildProgram } from '../harness/cli.js';

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
