// Ring-aware partitions and the coverage pass: the cuts are planned around a key's home replicas as the
// nodes' /admin/preflist names them (on every runtime, the sim included), recorded with the key, homes and
// why; and a nemesis first plays each shape and target it was asked for, in an order fixed by the seed.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { cut, ringPartitionKinds, sortNodeIds } from '../harness/nemesis/grudge.js';
import { createNemesis } from '../harness/nemesis/index.js';
import { planRingPartition } from '../harness/nemesis/ring.js';
import type { Runtime, RuntimeCapabilities, Grudge } from '../harness/runtime/runtime.js';
import { seededRandom } from '../node/core/random.js';
import { runTest } from '../harness/run.js';

const five = ['n1', 'n2', 'n3', 'n4', 'n5'];

t.test('homes-away: the key\'s homes on one side, every other member on the other', async (t) => {
  const p = planRingPartition('homes-away', five, 'k', ['n4', 'n1', 'n2'], seededRandom(1));
  t.same(p.sides, [['n1', 'n2', 'n4'], ['n3', 'n5']]);
  for (const h of p.homes) for (const o of ['n3', 'n5']) t.ok(cut(p.grudge, h, o), `${h} cut from ${o}`);
  t.notOk(cut(p.grudge, 'n1', 'n4'));
  t.throws(() => planRingPartition('homes-away', ['n1', 'n2', 'n3'], 'k', ['n1', 'n2', 'n3'], seededRandom(1)), /every member .* is a home replica.*definite/);
});

t.test('coordinator-alone: the first home cut from the other homes only; non-homes hear everyone', async (t) => {
  const p = planRingPartition('coordinator-alone', five, 'k', ['n4', 'n1', 'n2'], seededRandom(1));
  t.equal(p.coordinator, 'n4');
  t.ok(cut(p.grudge, 'n4', 'n1') && cut(p.grudge, 'n4', 'n2'));
  t.notOk(cut(p.grudge, 'n1', 'n2'), 'the other homes still talk');
  for (const o of ['n3', 'n5']) for (const n of five) if (n !== o) t.notOk(cut(p.grudge, o, n), `${o} hears ${n}`);
  const three = planRingPartition('coordinator-alone', ['n1', 'n2', 'n3'], 'k', ['n2', 'n3', 'n1'], seededRandom(1));
  t.same(three.sides, [['n2'], ['n1', 'n3']]);
});

t.test('homes-split: one home alone, the other N-1 together, non-homes dealt to both sides', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const p = planRingPartition('homes-split', five, 'k', ['n4', 'n1', 'n2'], seededRandom(seed));
    const [a, b] = p.sides as [string[], string[]];
    t.ok(p.homes.includes(p.loner!), 'the loner is a home');
    t.same(a.filter((n) => p.homes.includes(n)), [p.loner]);
    t.equal(b.filter((n) => p.homes.includes(n)).length, 2);
    t.same(sortNodeIds([...a, ...b]), five, 'every member on exactly one side');
  }
});

t.test('property: every ring cut is deterministic by seed, keeps each node with its own side, and uses only members', async () => {
  fc.assert(fc.property(fc.integer({ min: 4, max: 9 }), fc.integer({ min: 2, max: 3 }), fc.integer(), fc.constantFrom(...ringPartitionKinds), (size, n, seed, kind) => {
    const members = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const homes = members.slice(seed & 1, (seed & 1) + n);
    const p = planRingPartition(kind, members, 'k', [...homes, 'gone'], seededRandom(seed));
    const q = planRingPartition(kind, members, 'k', [...homes, 'gone'], seededRandom(seed));
    if (JSON.stringify(p) !== JSON.stringify(q)) return false;
    if (p.homes.includes('gone')) return false;
    for (const a of members) if ((p.grudge[a] ?? []).includes(a)) return false;
    return p.sides.every((s) => s.every((x) => members.includes(x)));
  }));
});

/** A runtime that answers /admin/preflist like a ring and records the grudges it was asked to apply. */
function fakeRuntime(grudges: Grudge[], asked: string[]): Runtime {
  const caps: RuntimeCapabilities = { partition: true, clock: true, crash: true, pause: true, membership: true, 'disk-loss': true };
  return {
    kind: 'sim', capabilities: () => caps, nodeIds: () => five,
    client: (node: string) => ({
      adminPreflist: async (key: string) => {
        asked.push(`${node}:${key}`);
        return { type: 'ok', value: key === 'a' ? ['n5', 'n1', 'n2'] : ['n2', 'n3', 'n4'] };
      },
    }),
    partition: async (g: Grudge) => void grudges.push(g),
    heal: async () => {},
    kill: async () => {}, restart: async () => {}, pause: async () => {}, resume: async () => {},
  } as unknown as Runtime;
}

t.test('the partition piece asks a live node for the key\'s homes and records key, homes and why', async (t) => {
  const grudges: Grudge[] = [];
  const asked: string[] = [];
  const nem = createNemesis({ runtime: fakeRuntime(grudges, asked), kinds: ['partition'], random: seededRandom(3), keys: ['a', 'b'], shapes: { partitions: ['homes-away'] } });
  const applied = await nem.start({ f: 'partition', value: { kind: 'homes-away', key: 'a' } });
  t.same(asked, ['n1:a']);
  t.match(applied.value, { kind: 'homes-away', key: 'a', homes: ['n5', 'n1', 'n2'], sides: [['n1', 'n2', 'n5'], ['n3', 'n4']], preflistFrom: 'n1', why: /hinted handoff/ });
  t.equal(grudges.length, 1);
  await nem.stop({ f: 'heal', value: {} });
  const none = createNemesis({ runtime: fakeRuntime([], []), kinds: ['partition'], random: seededRandom(3) });
  await t.rejects(none.start({ f: 'partition', value: { kind: 'homes-split' } }), /needs the workload's keys.*definite/);
  t.notOk(none.coverage!.some((s) => String(s.value.kind).startsWith('homes')), 'without keys, the default mix has no ring-aware kind');
});

t.test('coverage before chance: each shape once, kinds in turn, widest crash first, then random draws', async (t) => {
  const nem = createNemesis({ runtime: fakeRuntime([], []), kinds: ['partition', 'crash'], random: seededRandom(9), keys: ['a', 'b'] });
  const names = nem.coverage!.map((s) => `${s.f}:${String(s.value.kind ?? s.value.targets)}`);
  t.same(names, [
    'partition:homes-away', 'kill:all', 'partition:coordinator-alone', 'kill:majority', 'partition:homes-split', 'kill:minority',
    'partition:halves', 'kill:one', 'partition:random-halves', 'partition:isolate-one', 'partition:majorities-ring', 'partition:bridge',
  ]);
  const played: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const step = nem.next();
    played.push(`${step.f}:${String(step.value.kind ?? step.value.targets)}`);
    await nem.start(step);
    for (const u of nem.undo()) await nem.stop(u);
  }
  t.same(played, names, 'next() plays the coverage pass in order');
  const crashOnly = createNemesis({ runtime: fakeRuntime([], []), kinds: ['crash'], random: seededRandom(1), keys: ['a'], shapes: { targets: ['one', 'all'] } });
  t.same(crashOnly.coverage!.map((s) => s.value.targets), ['all', 'one'], 'only the targets asked for, widest first');
  const again = createNemesis({ runtime: fakeRuntime([], []), kinds: ['partition', 'crash', 'clock'], random: seededRandom(9), keys: ['a'] });
  const twice = createNemesis({ runtime: fakeRuntime([], []), kinds: ['partition', 'crash', 'clock'], random: seededRandom(9), keys: ['a'] });
  t.same(again.coverage, twice.coverage, 'the pass is fixed by the seed');
});

t.test('a sim run with --nemesis crash kills every node early, and its ring cuts are recorded', async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-ring-'));
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  const lines: string[] = [];
  const base = { runtime: 'sim', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'register', timeLimitS: 30, concurrency: 4, rate: 20, quiesceS: 1, store, skipReport: true } as const;
  await runTest({ ...base, name: 'crash', nemesis: ['crash'], seed: 5, log: (l) => lines.push(l) });
  t.ok(lines.some((l) => /nemesis coverage first: kill all → kill majority → kill minority → kill one, then random draws/.test(l)), lines.join('\n'));
  await runTest({ ...base, name: 'part', nemesis: ['partition'], seed: 5, quiet: true });
  const dir = join(store, 'part', readdirSync(join(store, 'part')).filter((d) => d !== 'latest')[0]!);
  const ops = readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { process: unknown; type: string; f: string; value: Record<string, unknown> });
  const cuts = ops.filter((o) => o.process === 'nemesis' && o.type === 'info' && o.f === 'partition');
  t.match(cuts[0]?.value, { kind: 'homes-away', key: /./, homes: Array, why: /./ });
  t.match(cuts[1]?.value, { kind: 'coordinator-alone', coordinator: /^n\d$/ });
  t.match(cuts[2]?.value, { kind: 'homes-split', loner: /^n\d$/ });
  const homes = cuts[0]!.value.homes as string[];
  t.same((cuts[0]!.value.sides as string[][])[0], sortNodeIds(homes), 'the homes recorded are the side cut away');
});
