// createNemesis against a recording fake Runtime: kinds the runtime cannot do are skipped with their
// reason, every step is applied through the runtime, undo() names exactly what is in force, and the
// same seed gives the same schedule.
import t from 'tap';
import type { Grudge, Runtime, RuntimeCapabilities } from '../harness/runtime/runtime.js';
import type { NodeClient } from '../workloads/client.js';
import { createNemesis } from '../harness/nemesis/create-nemesis.js';
import { riakLostWriteRecipe } from '../harness/nemesis/recipes.js';
import type { NemesisKind } from '../harness/nemesis/nemesis.js';

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

class FakeRuntime implements Runtime {
  readonly kind = 'local' as const;
  calls: string[] = [];
  members = ['n1', 'n2', 'n3', 'n4', 'n5'];
  offsets: Record<string, number> = {};
  grudge: Grudge = {};
  private next = 6;
  constructor(private readonly caps: Partial<RuntimeCapabilities> = {}) {}
  capabilities(): RuntimeCapabilities {
    return { partition: true, clock: true, crash: true, pause: true, membership: true, 'disk-loss': true, ...this.caps };
  }
  async setup(): Promise<void> {}
  nodeIds(): string[] {
    return [...this.members];
  }
  client(): NodeClient {
    throw new Error('not used');
  }
  nowNs(): number {
    return 0;
  }
  async sleep(): Promise<void> {}
  async partition(g: Grudge): Promise<void> {
    this.grudge = g;
    this.calls.push('partition');
  }
  async heal(): Promise<void> {
    this.grudge = {};
    this.calls.push('heal');
  }
  async kill(id: string): Promise<void> {
    this.calls.push(`kill ${id}`);
  }
  async restart(id: string): Promise<void> {
    this.calls.push(`restart ${id}`);
  }
  async wipe(id: string): Promise<void> {
    this.calls.push(`wipe ${id}`);
  }
  async pause(id: string): Promise<void> {
    this.calls.push(`pause ${id}`);
  }
  async resume(id: string): Promise<void> {
    this.calls.push(`resume ${id}`);
  }
  async setClockOffset(id: string, ms: number): Promise<void> {
    this.offsets[id] = ms;
    this.calls.push(`clock ${id} ${ms}`);
  }
  async addNode(): Promise<string> {
    const id = `n${this.next++}`;
    this.members.push(id);
    this.calls.push(`add ${id}`);
    return id;
  }
  async removeNode(id: string): Promise<void> {
    this.members = this.members.filter((m) => m !== id);
    this.calls.push(`remove ${id}`);
  }
  logFiles(): Record<string, string> {
    return {};
  }
  async teardown(): Promise<void> {}
}

const all: NemesisKind[] = ['partition', 'clock', 'crash', 'pause', 'membership'];

t.test('unavailable kinds are skipped with the runtime reason', async (t) => {
  const rt = new FakeRuntime({ partition: { unavailable: 'not root' }, clock: { unavailable: 'no libfaketime' } });
  const nem = createNemesis({ runtime: rt, kinds: all, random: seeded(1) });
  t.same([...nem.kinds].sort(), ['crash', 'membership', 'pause']);
  t.same(nem.unavailable, { partition: 'not root', clock: 'no libfaketime' });
  for (let i = 0; i < 30; i++) t.notMatch(nem.next().f, /partition|clock/);
  await t.rejects(nem.start({ f: 'partition', value: { kind: 'halves' } }), /unavailable.*not root/);
});

t.test('partition, kill, pause, clock: applied through the runtime and undone exactly', async (t) => {
  const rt = new FakeRuntime();
  const nem = createNemesis({ runtime: rt, kinds: all, random: seeded(3) });
  const p = await nem.start({ f: 'partition', value: { kind: 'halves' } });
  t.same(p.value.sides, [['n1', 'n2'], ['n3', 'n4', 'n5']]);
  t.same(rt.grudge['n1'], ['n3', 'n4', 'n5']);
  const k = await nem.start({ f: 'kill', value: { targets: 'minority' } });
  t.equal((k.value.nodes as string[]).length, 2, 'minority of 5 is 2');
  const pa = await nem.start({ f: 'pause', value: { targets: 'one' } });
  const pausedNode = (pa.value.nodes as string[])[0]!;
  t.notOk((k.value.nodes as string[]).includes(pausedNode), 'pauses a live node, not a killed one');
  const c = await nem.start({ f: 'clock-skew', value: { nodes: ['n3'], offsetS: -3600 } });
  t.same(c.value, { nodes: ['n3'], offsetMs: -3_600_000 });
  await nem.start({ f: 'clock-bump', value: { nodes: ['n3'], deltaMs: 500 } });
  t.equal(rt.offsets['n3'], -3_599_500);

  const undo = nem.undo();
  t.same(undo.map((s) => s.f), ['heal', 'resume', 'restart', 'clock-reset']);
  for (const s of undo) await nem.stop(s);
  t.same(rt.grudge, {});
  t.equal(rt.offsets['n3'], 0);
  for (const n of k.value.nodes as string[]) t.ok(rt.calls.includes(`restart ${n}`));
  t.ok(rt.calls.includes(`resume ${pausedNode}`));
  t.same(nem.undo(), [], 'nothing left in force');
});

t.test('strobe is bounded and ends on the offset', async (t) => {
  const rt = new FakeRuntime();
  const nem = createNemesis({ runtime: rt, kinds: ['clock'], random: seeded(4) });
  const s = await nem.start({ f: 'clock-strobe', value: { nodes: ['n1'], offsetS: 5, periodMs: 10, flips: 100 } });
  t.equal(s.value.flips, 6, 'flips capped');
  t.equal(rt.calls.filter((c) => c.startsWith('clock n1')).length, 6);
  t.equal(rt.offsets['n1'], 5000);
  t.same(nem.undo(), [{ f: 'clock-reset', value: { nodes: ['n1'] } }]);
});

t.test('membership: join then leave of the joined node; the riak recipe schedule replays', async (t) => {
  const rt = new FakeRuntime();
  const nem = createNemesis({ runtime: rt, kinds: ['membership'], random: seeded(5) });
  for (const { step } of riakLostWriteRecipe.schedule) await nem.start(step);
  t.same(rt.calls, ['add n6', 'add n7', 'remove n6', 'remove n7']);
  t.same(rt.members, ['n1', 'n2', 'n3', 'n4', 'n5']);
  await nem.start({ f: 'join', value: {} });
  t.same(nem.undo(), [{ f: 'leave', value: { node: 'n8' } }]);
  t.equal(riakLostWriteRecipe.cluster.nodes, 5);
  t.equal(riakLostWriteRecipe.workload.clients, 40);
});

t.test('same seed, same schedule', async (t) => {
  const run = async (seed: number): Promise<string[]> => {
    const rt = new FakeRuntime();
    const nem = createNemesis({ runtime: rt, kinds: all, random: seeded(seed) });
    const out: string[] = [];
    for (let i = 0; i < 12; i++) {
      const step = nem.next();
      const applied = await nem.start(step);
      out.push(JSON.stringify(applied));
      for (const u of nem.undo()) out.push(JSON.stringify(await nem.stop(u)));
    }
    return out;
  };
  t.same(await run(11), await run(11));
  t.not(JSON.stringify(await run(11)), JSON.stringify(await run(12)));
});

t.test('fault shapes narrow what the random nemesis draws; unknown shapes are refused', async (t) => {
  const rt = new FakeRuntime();
  const nem = createNemesis({ runtime: rt, kinds: ['partition', 'crash', 'pause'], random: seeded(9), shapes: { partitions: ['random-halves'], targets: ['majority', 'all'] } });
  const seen = { partition: new Set<unknown>(), targets: new Set<unknown>() };
  for (let i = 0; i < 60; i++) {
    const step = nem.next();
    if (step.f === 'partition') seen.partition.add(step.value.kind);
    else seen.targets.add(step.value.targets);
  }
  t.same([...seen.partition], ['random-halves']);
  t.same([...seen.targets].sort(), ['all', 'majority']);
  t.throws(() => createNemesis({ runtime: rt, kinds: ['partition'], random: seeded(1), shapes: { partitions: ['sideways' as never] } }), /unknown partition kind "sideways"/);
  t.throws(() => createNemesis({ runtime: rt, kinds: ['crash'], random: seeded(1), shapes: { targets: ['most' as never] } }), /unknown target "most"/);
});

t.test('disk-loss: one node, the same all run, killed and wiped while down, restarted on the empty disk', async (t) => {
  const rt = new FakeRuntime();
  const nem = createNemesis({ runtime: rt, kinds: ['disk-loss', 'crash', 'pause'], random: seeded(6) });
  const first = await nem.start({ f: 'disk-loss', value: { targets: 'one' } });
  const nodes = first.value.nodes as string[];
  t.equal(nodes.length, 1, 'exactly one node loses its disk');
  const victim = nodes[0]!;
  t.same(rt.calls, [`kill ${victim}`, `wipe ${victim}`], 'killed first, wiped while down');
  for (let i = 0; i < 40; i++) t.not(nem.next().f, 'disk-loss', 'no second disk loss while the first is in force');
  for (let i = 0; i < 5; i++) {
    const k = await nem.start({ f: 'kill', value: { targets: 'all' } });
    t.notOk((k.value.nodes as string[]).includes(victim), 'a crash never picks the wiped node');
    for (const s of nem.undo().filter((x) => x.f === 'restart')) await nem.stop(s);
  }
  t.same(nem.undo(), [{ f: 'disk-restart', value: { nodes: [victim] } }], 'undo restarts the wiped node');
  await nem.stop(nem.undo()[0]!);
  t.equal(rt.calls.at(-1), `restart ${victim}`);
  const only = createNemesis({ runtime: rt, kinds: ['disk-loss'], random: seeded(7) });
  const a = await only.start(only.next());
  for (const s of only.undo()) await only.stop(s);
  const again = only.next();
  t.same(again, { f: 'disk-loss', value: { nodes: a.value.nodes } }, 'later disk losses name the same node');
});

t.test('disk-loss: the coverage pass plays one node, and a step naming several or another node is refused', async (t) => {
  const rt = new FakeRuntime();
  const nem = createNemesis({ runtime: rt, kinds: ['disk-loss'], random: seeded(8) });
  t.same(nem.coverage, [{ f: 'disk-loss', value: { targets: 'one' } }], 'one shape: one node');
  await t.rejects(nem.start({ f: 'disk-loss', value: { targets: 'all' } }), /one node/);
  await t.rejects(nem.start({ f: 'disk-loss', value: { nodes: ['n1', 'n2'] } }), /one node/);
  const a = await nem.start({ f: 'disk-loss', value: { nodes: ['n3'] } });
  t.same(a.value.nodes, ['n3']);
  for (const s of nem.undo()) await nem.stop(s);
  await t.rejects(nem.start({ f: 'disk-loss', value: { nodes: ['n4'] } }), /the run's first \(n3\)/);
});

t.test("membership: Riak's riak_kv#1754 (two join under load, then both leave) is in the default membership mix", async (t) => {
  const rt = new FakeRuntime();
  const nem = createNemesis({ runtime: rt, kinds: ['membership'], random: seeded(9) });
  const coverage = nem.coverage ?? [];
  t.ok(coverage.some((s) => s.f === 'join' && s.value.count === 2), 'the coverage pass of a plain membership run holds the two-node join');
  // Play the run's own loop: each fault, then its undo, as harness/run does.
  for (let i = 0; i < coverage.length; i++) {
    const step = nem.next();
    await nem.start(step);
    for (const u of nem.undo()) await nem.stop(u);
  }
  const calls = rt.calls.join(' ');
  t.match(calls, /add (n\d+) add (n\d+) remove \2 remove \1/, 'two nodes joined together, then both left');
  t.equal(rt.members.length, 5, 'the cluster is back to its size');
  // The run's final heal asks for undo steps until there are none: a replacement join is not undone again.
  for (let u = nem.undo(), i = 0; u.length > 0 && i < 10; u = nem.undo(), i++) for (const s of u) await nem.stop(s);
  t.same(nem.undo(), [], 'nothing left to undo');
  t.equal(rt.members.length, 5, 'still its size after the final heal');
  await t.rejects(nem.start({ f: 'join', value: { count: 5 } }), /count 1 or 2/);
});
