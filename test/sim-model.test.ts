// Model-based test (fast-check commands) of the reference node on a 3-node simulated cluster with a strict
// quorum, N=3 R=2 W=2: fast-check drives the NodeClient of each node with put/get/delete and cart
// add/remove/read, interleaved with faults (partition/heal, kill/restart), and checks every successful read
// against a reference model. Commands run one at a time, so the model is sequential; what makes it subtle is
// that a write that timed out or missed its quorum (`info`) may still land later, so the model keeps those
// as "maybe" values instead of guessing.
//
// Why the checks hold even while faults are in force: with a strict quorum R + W > N every acknowledged write
// is on W of the N home replicas and every successful read asks R of them, so they intersect. A read that
// cannot reach R replicas fails (503) and is not checked. A final check after heal and restart adds the
// "no faults in force" case explicitly.
import t from 'tap';
import fc from 'fast-check';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';
import { grudgeFromSides } from '../harness/nemesis/grudge.js';
import type { NodeClient } from '../workloads/client.js';

const NODES = ['n1', 'n2', 'n3'] as const;
const REG_KEYS = ['k1', 'k2'] as const;
const CART_KEYS = ['c1', 'c2'] as const;
const ITEMS = ['apple', 'pear', 'plum'] as const;
/** Marks a delete among the writes that may supersede the last acknowledged value. */
const TOMBSTONE = '\u0000tombstone';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

interface RegisterModel {
  /** undefined: no constraint yet; a value: every read must show it; null: the key must read as not found. */
  must: string | null | undefined;
  /** Writes issued after `must` was set whose outcome is unknown (info): any of them may have superseded it. */
  maybeAfter: Set<string>;
  /** Every put whose outcome is unknown: it may land at any time, as a sibling. */
  maybe: Set<string>;
  /** Every value ever put and not certainly refused (a read showing anything else is a phantom). */
  written: Set<string>;
}

interface CartModel {
  /** Items with an acknowledged add that no later remove (acknowledged or not) could have observed. */
  mustHave: Set<string>;
  /** Items ever added and not certainly refused. */
  added: Set<string>;
}

interface Model {
  readonly reg: Map<string, RegisterModel>;
  readonly cart: Map<string, CartModel>;
  partitioned: boolean;
  readonly killed: Set<string>;
  nextValue: number;
  /** Successful reads checked against the model (to show the test checks something). */
  checkedReads: number;
}

interface Real {
  readonly rt: SimRuntime;
  client(node: string): NodeClient;
}

function regOf(m: Model, key: string): RegisterModel {
  let r = m.reg.get(key);
  if (r === undefined) m.reg.set(key, (r = { must: undefined, maybeAfter: new Set(), maybe: new Set(), written: new Set() }));
  return r;
}

function cartOf(m: Model, key: string): CartModel {
  let c = m.cart.get(key);
  if (c === undefined) m.cart.set(key, (c = { mustHave: new Set(), added: new Set() }));
  return c;
}

const faultsText = (m: Model): string => `partitioned=${m.partitioned} killed=[${[...m.killed].join(',')}]`;

/** Checks one successful register read; throws with the model's view when it disagrees. */
function checkRegisterRead(m: Model, key: string, node: string, values: string[]): void {
  const r = regOf(m, key);
  m.checkedReads++;
  const where = `get ${key} via ${node} returned [${values.join(', ')}] (${faultsText(m)})`;
  for (const v of values) if (!r.written.has(v)) throw new Error(`${where}: phantom value ${v}`);
  const superseded = values.some((v) => r.maybeAfter.has(v)) || r.maybeAfter.has(TOMBSTONE);
  if (typeof r.must === 'string' && !values.includes(r.must) && !superseded) {
    throw new Error(`${where}: the acknowledged value ${r.must} is missing (no later write could have replaced it)`);
  }
  if (r.must === null && !values.every((v) => r.maybe.has(v))) {
    throw new Error(`${where}: the key was deleted (acknowledged) yet shows values no unacknowledged write explains`);
  }
}

function checkCartRead(m: Model, key: string, node: string, items: Record<string, number>): void {
  const c = cartOf(m, key);
  m.checkedReads++;
  const where = `cart read ${key} via ${node} returned ${JSON.stringify(items)} (${faultsText(m)})`;
  for (const item of c.mustHave) if (!((items[item] ?? 0) > 0)) throw new Error(`${where}: acknowledged add of ${item} is missing`);
  for (const [item, qty] of Object.entries(items)) if (qty > 0 && !c.added.has(item)) throw new Error(`${where}: phantom item ${item}`);
}

type Cmd = fc.AsyncCommand<Model, Real>;

class PutCommand implements Cmd {
  constructor(readonly node: string, readonly key: string) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    const client = real.client(this.node);
    // Read first and send the read's context, as a client should: the write then replaces what it read.
    const read = await client.get(this.key);
    if (read.type === 'ok') checkRegisterRead(m, this.key, this.node, read.value.values.map(text));
    const value = `v${m.nextValue++}`;
    const out = await client.put(this.key, bytes(value), read.type === 'ok' ? read.value.context : undefined);
    const r = regOf(m, this.key);
    if (out.type === 'fail') return;
    r.written.add(value);
    if (out.type === 'ok') {
      r.must = value;
      r.maybeAfter.clear();
    } else {
      r.maybe.add(value);
      r.maybeAfter.add(value);
    }
  }
  toString = (): string => `put(${this.node}, ${this.key})`;
}

class GetCommand implements Cmd {
  constructor(readonly node: string, readonly key: string) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    const read = await real.client(this.node).get(this.key);
    if (read.type === 'ok') checkRegisterRead(m, this.key, this.node, read.value.values.map(text));
  }
  toString = (): string => `get(${this.node}, ${this.key})`;
}

class DeleteCommand implements Cmd {
  constructor(readonly node: string, readonly key: string) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    const client = real.client(this.node);
    const read = await client.get(this.key);
    if (read.type !== 'ok') return;
    checkRegisterRead(m, this.key, this.node, read.value.values.map(text));
    // A delete needs a context to say what it removes; a key never written has none.
    if (read.value.context === undefined) return;
    const out = await client.delete(this.key, read.value.context);
    const r = regOf(m, this.key);
    if (out.type === 'ok') {
      r.must = null;
      r.maybeAfter.clear();
    } else if (out.type === 'info') {
      r.maybeAfter.add(TOMBSTONE);
    }
  }
  toString = (): string => `delete(${this.node}, ${this.key})`;
}

class CartAddCommand implements Cmd {
  constructor(readonly node: string, readonly key: string, readonly item: string) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    const out = await real.client(this.node).cartAdd(this.key, this.item, 1);
    const c = cartOf(m, this.key);
    if (out.type === 'fail') return;
    c.added.add(this.item);
    if (out.type === 'ok') c.mustHave.add(this.item);
  }
  toString = (): string => `cartAdd(${this.node}, ${this.key}, ${this.item})`;
}

class CartRemoveCommand implements Cmd {
  constructor(readonly node: string, readonly key: string, readonly item: string) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    const client = real.client(this.node);
    const read = await client.cartRead(this.key);
    if (read.type !== 'ok') return;
    checkCartRead(m, this.key, this.node, read.value.items);
    const out = await client.cartRemove(this.key, this.item, read.value.context);
    // Even an unacknowledged remove may have landed, and it takes away every add its read observed —
    // which, by the check just made, includes every acknowledged one.
    if (out.type !== 'fail') cartOf(m, this.key).mustHave.delete(this.item);
  }
  toString = (): string => `cartRemove(${this.node}, ${this.key}, ${this.item})`;
}

class CartReadCommand implements Cmd {
  constructor(readonly node: string, readonly key: string) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    const read = await real.client(this.node).cartRead(this.key);
    if (read.type === 'ok') checkCartRead(m, this.key, this.node, read.value.items);
  }
  toString = (): string => `cartRead(${this.node}, ${this.key})`;
}

class PartitionCommand implements Cmd {
  constructor(readonly isolated: string) {}
  check = (m: Readonly<Model>): boolean => !m.partitioned;
  async run(m: Model, real: Real): Promise<void> {
    await real.rt.partition(grudgeFromSides(NODES, [[this.isolated], NODES.filter((n) => n !== this.isolated)]));
    m.partitioned = true;
  }
  toString = (): string => `partition(isolate ${this.isolated})`;
}

class HealCommand implements Cmd {
  check = (m: Readonly<Model>): boolean => m.partitioned;
  async run(m: Model, real: Real): Promise<void> {
    await real.rt.heal();
    m.partitioned = false;
  }
  toString = (): string => 'heal';
}

class KillCommand implements Cmd {
  constructor(readonly node: string) {}
  check = (m: Readonly<Model>): boolean => !m.killed.has(this.node);
  async run(m: Model, real: Real): Promise<void> {
    await real.rt.kill(this.node);
    m.killed.add(this.node);
  }
  toString = (): string => `kill(${this.node})`;
}

class RestartCommand implements Cmd {
  constructor(readonly node: string) {}
  check = (m: Readonly<Model>): boolean => m.killed.has(this.node);
  async run(m: Model, real: Real): Promise<void> {
    await real.rt.restart(this.node);
    m.killed.delete(this.node);
  }
  toString = (): string => `restart(${this.node})`;
}

const node = fc.constantFrom(...NODES);
const regKey = fc.constantFrom(...REG_KEYS);
const cartKey = fc.constantFrom(...CART_KEYS);
const item = fc.constantFrom(...ITEMS);

// Data commands outnumber faults so that most runs have long stretches of work between faults.
const commandArbs: fc.Arbitrary<Cmd>[] = [
  fc.tuple(node, regKey).map(([n, k]) => new PutCommand(n, k)),
  fc.tuple(node, regKey).map(([n, k]) => new PutCommand(n, k)),
  fc.tuple(node, regKey).map(([n, k]) => new GetCommand(n, k)),
  fc.tuple(node, regKey).map(([n, k]) => new DeleteCommand(n, k)),
  fc.tuple(node, cartKey, item).map(([n, k, i]) => new CartAddCommand(n, k, i)),
  fc.tuple(node, cartKey, item).map(([n, k, i]) => new CartAddCommand(n, k, i)),
  fc.tuple(node, cartKey, item).map(([n, k, i]) => new CartRemoveCommand(n, k, i)),
  fc.tuple(node, cartKey).map(([n, k]) => new CartReadCommand(n, k)),
  node.map((n) => new PartitionCommand(n)),
  fc.constant(new HealCommand()),
  node.map((n) => new KillCommand(n)),
  node.map((n) => new RestartCommand(n)),
];

interface ModelStats {
  runs: number;
  reads: number;
}

/** The model property on a fresh cluster per case; `testFaults` switches on a deliberate node defect. */
function modelProperty(stats: ModelStats, testFaults?: string): fc.IAsyncPropertyWithHooks<[number, Iterable<Cmd>]> {
  return fc.asyncProperty(fc.noShrink(fc.integer({ min: 1, max: 1_000_000 })), fc.commands(commandArbs, { maxCommands: 30, size: 'max' }), async (seed, cmds) => {
    const rt = new SimRuntime();
    await rt.setup({
      nodes: 3, n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', vnodes: 8, seed, runDir: '',
      ...(testFaults !== undefined ? { env: { QL_TEST_FAULTS: testFaults } } : {}),
    });
    const model: Model = { reg: new Map(), cart: new Map(), partitioned: false, killed: new Set(), nextValue: 0, checkedReads: 0 };
    const real: Real = { rt, client: (n) => rt.client(n) };
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      // No faults in force: heal, restart everything, let hints and repair run, then every key must agree
      // with the model through every node.
      if (model.partitioned) await new HealCommand().run(model, real);
      for (const n of [...model.killed]) await new RestartCommand(n).run(model, real);
      await rt.sleep(3000);
      for (const n of NODES) {
        for (const k of REG_KEYS) await new GetCommand(n, k).run(model, real);
        for (const k of CART_KEYS) await new CartReadCommand(n, k).run(model, real);
      }
    } catch (error) {
      // The sim seed plus fast-check's printed command list replay the case.
      throw new Error(`sim seed ${seed}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await rt.teardown();
    }
    stats.runs++;
    stats.reads += model.checkedReads;
  });
}

t.test('strict quorum N=3 R=2 W=2: reads agree with the model under partitions and crashes', async (t) => {
  const stats: ModelStats = { runs: 0, reads: 0 };
  const wall0 = performance.now();
  await fc.assert(modelProperty(stats), { numRuns: 20, seed: 7, includeErrorInReport: true });
  t.ok(stats.reads > stats.runs, `${stats.runs} runs checked ${stats.reads} successful reads against the model`);
  t.comment(`${stats.runs} model runs, ${stats.reads} reads checked, ${((performance.now() - wall0) / 1000).toFixed(1)} wall s`);
});

// The model must be able to fail: a coordinator that acknowledges after one replica breaks R + W > N.
t.test('the same model catches ack-before-w', async (t) => {
  const stats: ModelStats = { runs: 0, reads: 0 };
  const details = await fc.check(modelProperty(stats, 'ack-before-w'), { numRuns: 40, seed: 7, includeErrorInReport: true });
  t.ok(details.failed, `a counterexample within 40 cases:\n${fc.defaultReportMessage(details) ?? ''}`);
  t.comment((fc.defaultReportMessage(details) ?? '').split('\n').slice(0, 4).join('\n'));
});
