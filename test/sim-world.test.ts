// The simulated world on the CLI (harness/sim-world.ts): --net, --remote-nodes, --drop, --duplicate, --fsync-ms,
// --client-delay-ms and --coordination are checked (a bad value or a runtime that cannot honour one is one line,
// exit 2), recorded in config.json, printed in the header, honoured by the sim and written back by replay.
import t from 'tap';
import { execa } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../harness/cli.js';
import { runTest } from '../harness/run.js';
import { replayCommand } from '../harness/report/replay.js';
import { parseNet, resolveWorld, simKnobsOf } from '../harness/sim-world.js';
import { defaultSimKnobs, parseSimKnobs } from '../harness/runtime/sim/options.js';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';

const bin = fileURLToPath(new URL('../bin/quorumlab.js', import.meta.url));
const store = mkdtempSync(join(tmpdir(), 'ql-sim-world-'));

t.test('a world flag a runtime cannot honour, or a bad value, is one line and exit 2', async (t) => {
  const bad: [string[], RegExp][] = [
    [['--runtime', 'local', '--net', 'ymmr'], /--net needs --runtime sim/],
    [['--runtime', 'docker', '--drop', '0.1', '--fsync-ms', '2'], /--drop, --fsync-ms need --runtime sim/],
    [['--runtime', 'local', '--coordination', 'wars'], /--coordination needs --runtime sim/],
    [['--runtime', 'sim', '--net', 'gaussian:3'], /--net must be constant:<ms>/],
    [['--runtime', 'sim', '--net', 'exponential:0'], /mean above 0/],
    [['--runtime', 'sim', '--net', 'uniform:5-2'], /min ≤ max/],
    [['--runtime', 'sim', '--net', 'lnkd-ssd,ymmr'], /one --net model/],
    [['--runtime', 'sim', '--drop', '1.5'], /--drop must be a probability/],
    [['--runtime', 'sim', '--duplicate', 'x'], /--duplicate must be a probability/],
    [['--runtime', 'sim', '--fsync-ms', '-1'], /--fsync-ms must be a non-negative number/],
    [['--runtime', 'sim', '--client-delay-ms', 'soon'], /--client-delay-ms must be a non-negative number/],
    [['--runtime', 'sim', '--remote-nodes', 'n2'], /--remote-nodes needs --net wan/],
    [['--runtime', 'sim', '--net', 'wan', '--remote-nodes', 'n7'], /the cluster has n1..n5/],
    [['--runtime', 'sim', '--net', 'wan', '--remote-nodes', 'x1'], /not a node id/],
    [['--runtime', 'sim', '--coordination', 'paxos'], /--coordination must be wars or dynamo/],
  ];
  for (const [args, why] of bad) {
    let message = '';
    const codes: number[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { message += s; return true; }) as typeof process.stderr.write;
    try {
      await main(['run', ...args, '--store', store], (c) => codes.push(c));
    } finally {
      process.stderr.write = write;
    }
    t.same(codes, [2], `${args.join(' ')}: exit 2`);
    t.match(message, why, `${args.join(' ')}: ${message.trim()}`);
    t.equal(message.trim().split('\n').length, 1, 'one line');
  }
  const campaign: number[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await main(['campaign', '--runtime', 'local', '--net', 'lnkd-ssd,ymmr'], (c) => campaign.push(c));
  } finally {
    process.stderr.write = write;
  }
  t.same(campaign, [2], 'campaign checks the world flags too');
  const r = await execa('node', [bin, 'run', '--runtime', 'local', '--net', 'lnkd-disk'], { reject: false, timeout: 30_000 });
  t.equal(r.exitCode, 2, 'as a real process');
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
});

t.test('the default world is the sim\'s own knobs, so runs without world flags are unchanged', async (t) => {
  const knobs = parseSimKnobs(simKnobsOf(resolveWorld({}, 'register'))).knobs;
  t.same(knobs, defaultSimKnobs);
  t.same(parseNet('uniform:1-3'), { kind: 'uniform', minMs: 1, maxMs: 3 });
  t.same(simKnobsOf(resolveWorld({ net: 'wan', remoteNodes: ['n3'] }, 'register')), {
    delay: 'lnkd-disk', remoteDelayMs: 75, remoteNodes: ['n3'], dropRate: 0, duplicateRate: 0, fsyncMs: 1, clientDelayMs: 0.5,
  });
});

t.test('a sim run records its world in config.json, prints it, and replays it', async (t) => {
  const lines: string[] = [];
  const result = await runTest({
    runtime: 'sim', nodes: 3, n: 3, r: 1, w: 1, sloppy: true, conflicts: 'vclock', workload: 'register', nemesis: [], timeLimitS: 1,
    concurrency: 2, rate: 20, seed: 3, quiesceS: 0.5, store, log: (l) => lines.push(l), skipReport: true,
    world: { net: 'constant:2', dropRate: 0.01, duplicateRate: 0.02, fsyncMs: 0.5, clientDelayMs: 0 },
  });
  t.equal(result.exitCode === 0 || result.exitCode === 1, true, `ran (${result.error ?? 'ok'})`);
  const config = JSON.parse(readFileSync(join(result.runDir!, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.same(config['world'], { net: 'constant:2', remoteNodes: null, dropRate: 0.01, duplicateRate: 0.02, fsyncMs: 0.5, clientDelayMs: 0, coordination: 'dynamo' });
  t.ok(lines.includes('  world: net=constant:2 drop=0.01 duplicate=0.02 fsync=0.5ms client-delay=0ms coordination=dynamo'), 'in the header');
  t.match(replayCommand(config), /--net constant:2 --drop 0\.01 --duplicate 0\.02 --fsync-ms 0\.5 --client-delay-ms 0 --coordination dynamo/);
  const local = await runTest({ runtime: 'local', nodes: 3, n: 3, r: 1, w: 1, sloppy: true, conflicts: 'vclock', workload: 'register', nemesis: [], timeLimitS: 1, concurrency: 1, rate: 1, seed: 1, store, quiet: true, world: { net: 'ymmr' } });
  t.equal(local.exitCode, 2, 'runTest refuses a world it cannot honour before starting anything');
  t.match(local.error, /--net needs --runtime sim/);
  t.equal(local.config.world, null, 'real runtimes record no world');
});

t.test('the sim honours the world: drops, duplicates and the WAN\'s extra delay between datacenters', async (t) => {
  const rt = new SimRuntime();
  t.teardown(() => rt.teardown());
  await rt.setup({ nodes: 3, n: 3, r: 3, w: 3, sloppy: false, conflicts: 'vclock', vnodes: 8, seed: 1, runDir: '', sim: simKnobsOf(resolveWorld({ net: 'wan', remoteNodes: ['n3'], dropRate: 0.05, duplicateRate: 0.05 }, 'register')) });
  await rt.sleep(1000);
  const stats = rt.network.stats;
  t.ok(stats.dropped > 0 && stats.duplicated > 0, `dropped ${stats.dropped}, duplicated ${stats.duplicated} of ${stats.sent}`);
  // n1 and n2 share a datacenter, n3 is remote: a write with W=3 waits for n3's ack, two crossings.
  const c = rt.client('n1');
  const before = rt.nowNs();
  let put = await c.put('k', new TextEncoder().encode('v'), undefined, {});
  for (let i = 0; i < 5 && put.type !== 'ok'; i++) put = await c.put('k', new TextEncoder().encode('v'), undefined, {});
  t.equal(put.type, 'ok');
  t.ok((rt.nowNs() - before) / 1e6 >= 150, `W=3 through the remote datacenter took ${((rt.nowNs() - before) / 1e6).toFixed(1)} ms (≥ 2 × 75)`);
});

t.test('--coordination wars delays the coordinator\'s own copy like a remote one; dynamo uses it at once', async (t) => {
  const timed = async (coordination: 'wars' | 'dynamo'): Promise<{ putMs: number; getMs: number; values: string[]; siblings: number }> => {
    const rt = new SimRuntime();
    t.teardown(() => rt.teardown());
    await rt.setup({ nodes: 3, n: 3, r: 1, w: 1, sloppy: false, conflicts: 'vclock', vnodes: 8, seed: 1, runDir: '', sim: simKnobsOf(resolveWorld({ net: 'constant:5', fsyncMs: 0, clientDelayMs: 0, coordination }, 'register')) });
    await rt.sleep(500);
    const c = rt.client('n1');
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
    let start = rt.nowNs();
    const a = await c.put('k', enc('a'), undefined, {});
    const putMs = (rt.nowNs() - start) / 1e6;
    start = rt.nowNs();
    await c.get('k', {});
    const getMs = (rt.nowNs() - start) / 1e6;
    // Back-to-back writes through one coordinator while its own copies are still on the way: each mints a
    // new dot (none reused), so the context write replaces 'a' and the two blind writes become siblings.
    const ctx = a.type === 'ok' ? a.value.context : undefined;
    await c.put('k', enc('b'), ctx, {});
    await Promise.all([c.put('j', enc('x'), undefined, {}), c.put('j', enc('y'), undefined, {})]);
    await rt.sleep(100);
    const k = await c.get('k', { r: 3 });
    const j = await c.get('j', { r: 3 });
    const valuesOf = (o: typeof k): string[] => (o.type === 'ok' ? o.value.values.map((v) => new TextDecoder().decode(v)).sort() : []);
    return { putMs, getMs, values: valuesOf(k), siblings: valuesOf(j).length };
  };
  const wars = await timed('wars');
  const dynamo = await timed('dynamo');
  t.equal(wars.putMs, 10, 'wars: W=1 commits at W + A of the first replica, 5 + 5 ms');
  t.equal(wars.getMs, 10, 'wars: R=1 answers at R + S of the first replica');
  t.ok(dynamo.putMs < 5 && dynamo.getMs < 5, `dynamo: the local copy answers at once (put ${dynamo.putMs} ms, get ${dynamo.getMs} ms)`);
  t.same(wars.values, ['b'], 'wars: the context write replaced the first');
  t.equal(wars.siblings, 2, 'wars: concurrent blind writes through one coordinator are both kept');
  t.same(dynamo.values, ['b']);
});

t.test('campaign --net is an axis: one run per model, the other world flags in every run', async (t) => {
  const { campaignOptionsFrom, campaignPlan } = await import('../harness/campaign.js');
  const o = campaignOptionsFrom({ runtime: 'sim', net: 'lnkd-ssd,ymmr', drop: 0.01, workloads: 'pbs', nrw: '3/1/1', modes: 'sloppy', nemeses: 'none', store: store });
  const plan = campaignPlan(o);
  t.same(plan.map((p) => p.run.world), [{ dropRate: 0.01, net: 'lnkd-ssd' }, { dropRate: 0.01, net: 'ymmr' }]);
  t.not(plan[0]!.run.name, plan[1]!.run.name, 'each model its own name');
});
