// Mechanism ablation (NODE-API.md's QL_READ_REPAIR, QL_ANTI_ENTROPY, QL_HINTED_HANDOFF): each switch, off,
// removes exactly its mechanism. Each scenario is the one core-scenarios.test.ts uses to show the mechanism
// working, run with the switch off, so the difference is the mechanism and nothing else.
import t from 'tap';
import { configFromEnv } from '../node/config-env.js';
import { nodeEnv } from '../harness/runtime/node-env.js';
import { ignoredKnobLines, runConfig, describeConfig } from '../harness/run.js';
import { replayCommand } from '../harness/report/replay.js';
import { allMechanisms } from '../harness/runtime/runtime.js';
import { buildProgram, runOptionsFrom } from '../harness/cli-program.js';
import { campaignOptionsFrom } from '../harness/campaign.js';
import { enc, okGet, okPut, testCluster } from './helpers/sim-cluster.js';

const cluster = testCluster;

const base = { QL_ID: 'n1', QL_HTTP: '127.0.0.1:1', QL_PEER: '127.0.0.1:2', QL_DATA: '/tmp/x', QL_INSECURE: '1' };

t.test('the process reads the three switches, honours them, and no longer lists them as ignored', async (t) => {
  const on = configFromEnv({ ...base, QL_READ_REPAIR: '1', QL_ANTI_ENTROPY: '1', QL_HINTED_HANDOFF: '1' });
  t.same([on.core.readRepair, on.core.antiEntropy, on.core.hintedHandoff], [true, true, true]);
  t.same(on.ignored, [], 'set and honoured: not ignored');
  const off = configFromEnv({ ...base, QL_READ_REPAIR: '0', QL_ANTI_ENTROPY: '0', QL_HINTED_HANDOFF: '0' });
  t.same([off.core.readRepair, off.core.antiEntropy, off.core.hintedHandoff], [false, false, false]);
  t.same(configFromEnv(base).core.readRepair, true, 'unset: on');
  t.throws(() => configFromEnv({ ...base, QL_ANTI_ENTROPY: 'no' }), /QL_ANTI_ENTROPY must be 0 or 1/);
});

t.test('the harness always sets the switches for real nodes, off where the run says', async (t) => {
  const spec = { nodes: 3, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock' as const, vnodes: 8, seed: 1, runDir: '' };
  const place = { id: 'n1', http: 'h:1', peer: 'p:2', data: '/d' };
  const env = nodeEnv(spec, place);
  t.same([env['QL_READ_REPAIR'], env['QL_ANTI_ENTROPY'], env['QL_HINTED_HANDOFF']], ['1', '1', '1']);
  const off = nodeEnv({ ...spec, mechanisms: { ...allMechanisms, antiEntropy: false } }, place);
  t.same([off['QL_READ_REPAIR'], off['QL_ANTI_ENTROPY'], off['QL_HINTED_HANDOFF']], ['1', '0', '1']);
});

t.test('a run records its mechanisms, prints them, replays them, and says when a node ignores one', async (t) => {
  const c = runConfig({ runtime: 'sim', nodes: 3, n: 3, r: 1, w: 1, sloppy: true, conflicts: 'vclock', workload: 'register', nemesis: [], timeLimitS: 1, concurrency: 1, rate: 1, seed: 1, mechanisms: { readRepair: false } });
  t.same(c.mechanisms, { readRepair: false, antiEntropy: true, hintedHandoff: true });
  t.ok(describeConfig(c).includes('  mechanisms: read-repair=off anti-entropy=on hinted-handoff=on'));
  t.match(replayCommand(c as unknown as Record<string, unknown>), / --no-read-repair /);
  t.notMatch(replayCommand(c as unknown as Record<string, unknown>), /--no-anti-entropy/);
  t.same(ignoredKnobLines({ n2: ['QL_READ_REPAIR', 'QL_HINTED_HANDOFF'] }, c.mechanisms), [
    '  node n2 ignores QL_READ_REPAIR (so --no-read-repair had no effect there), QL_HINTED_HANDOFF',
  ]);
});

t.test('--no-read-repair, --no-anti-entropy, --no-hinted-handoff on run and campaign', async (t) => {
  let seen: Record<string, unknown> | undefined;
  const program = buildProgram(() => {});
  for (const name of ['run', 'campaign']) program.commands.find((c) => c.name() === name)!.action((o: Record<string, unknown>) => { seen = o; });
  await program.parseAsync(['run', '--seed', '1'], { from: 'user' });
  t.same(runOptionsFrom(seen!).mechanisms, allMechanisms, 'all on by default');
  await program.parseAsync(['run', '--seed', '1', '--no-read-repair', '--no-hinted-handoff'], { from: 'user' });
  t.same(runOptionsFrom(seen!).mechanisms, { readRepair: false, antiEntropy: true, hintedHandoff: false });
  await program.parseAsync(['campaign', '--no-anti-entropy'], { from: 'user' });
  t.same(campaignOptionsFrom(seen!).mechanisms, { readRepair: true, antiEntropy: false, hintedHandoff: true });
});

t.test('read repair off: a stale replica stays stale after a read that saw it behind', async (t) => {
  // The same scenario as "read repair brings a stale replica up to date", with the switch off.
  const c = await cluster(t, 3, { sloppy: false, requestTimeoutMs: 300, antiEntropyIntervalMs: 3_600_000, mechanisms: { readRepair: false } });
  c.partition('n1', 'n3');
  await c.advance(3000);
  okPut(t, await c.run(c.node('n1').put('rr', enc('new'), undefined)));
  c.heal();
  await c.advance(2000);
  t.same(okGet(t, await c.run(c.node('n2').get('rr', { r: 3 }))), ['new'], 'the read itself still merges every reply');
  await c.advance(1000);
  t.equal(await c.node('n3').local('rr'), undefined, 'n3 not repaired');
  t.equal(c.ids.reduce((n, id) => n + c.node(id).status().readRepair.repairs, 0), 0, 'no repair sent');
  t.same(c.node('n2').status().mechanisms, { readRepair: false, antiEntropy: true, hintedHandoff: true }, 'status says which switches run');
});

t.test('read repair off: R=1 answers from the first reply alone', async (t) => {
  const c = await cluster(t, 3, { sloppy: false, requestTimeoutMs: 300, antiEntropyIntervalMs: 3_600_000, mechanisms: { readRepair: false } });
  c.isolate('n3');
  await c.advance(3000);
  okPut(t, await c.run(c.node('n1').put('first', enc('v'), undefined)));
  // The write to n3 may still be in flight when the quorum answers: let it arrive (and be cut) first.
  await c.advance(1000);
  c.heal();
  await c.advance(2000);
  // n3 answers its own read first (local delivery), and with R=1 that reply alone is the answer.
  t.same(okGet(t, await c.run(c.node('n3').get('first', { r: 1 }))), [], 'the stale first reply is the answer');
  await c.advance(1000);
  t.equal(await c.node('n3').local('first'), undefined, 'and nobody repairs n3 afterwards');
});

t.test('anti-entropy off: a replica that missed writes is never repaired, and no round runs', async (t) => {
  const c = await cluster(t, 3, { sloppy: false, antiEntropyIntervalMs: 100, requestTimeoutMs: 300, mechanisms: { antiEntropy: false } });
  c.isolate('n3');
  await c.advance(3000);
  const keys = Array.from({ length: 6 }, (_, i) => `ae-${i}`);
  for (const k of keys) okPut(t, await c.run(c.node('n1').put(k, enc(`v-${k}`), undefined)));
  c.heal();
  await c.advance(15_000);
  let missing = 0;
  for (const k of keys) if ((await c.node('n3').local(k)) === undefined) missing += 1;
  t.equal(missing, keys.length, 'n3 still misses every write');
  t.equal(c.ids.reduce((n, id) => n + c.node(id).status().antiEntropy.rounds, 0), 0, 'no anti-entropy round');
});

t.test('hinted handoff off: the fallback keeps its hint and never delivers it', async (t) => {
  // The same scenario as "a down home node receives its writes by hinted handoff when it returns".
  const c = await cluster(t, 5, { hintIntervalMs: 200, antiEntropyIntervalMs: 3_600_000, mechanisms: { hintedHandoff: false } });
  const key = 'hinted-key';
  const home = c.node('n1').preflist(key);
  const down = home[2] as string;
  const coord = home[0] as string;
  c.crash(down);
  await c.advance(3000);
  okPut(t, await c.run(c.node(coord).put(key, enc('while-down'), undefined, { w: 3 })));
  const pending = (): number => c.ids.filter((id) => id !== down).reduce((n, id) => n + c.node(id).status().hints.pending, 0);
  t.equal(pending(), 1, 'the hint is stored');
  await c.restart(down);
  await c.advance(4000);
  t.equal(await c.node(down).local(key), undefined, 'the owner never got it');
  t.equal(pending(), 1, 'the hint is still pending');
  t.equal(c.ids.reduce((n, id) => n + c.node(id).status().hints.delivered, 0), 0, 'nothing delivered');
});
