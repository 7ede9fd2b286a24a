// The simulation is a pure function of its seed: the same seed and workload (puts, gets, cart adds, and
// faults chosen from the seed) give identical operation logs and identical node logs; another seed differs.
import t from 'tap';
import { createHash } from 'node:crypto';
import { deriveSeed, seededRandom } from '../node/core/random.js';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';
import { ToyQuorumNode } from '../harness/runtime/sim/toy-node.js';
import type { NodeFactory } from '../harness/runtime/sim/sim-node.js';
import type { Outcome } from '../workloads/client.js';

interface Run {
  readonly ops: string[];
  readonly nodeLogsHash: string;
  readonly endNs: number;
}

const describeOutcome = (o: Outcome<unknown>): string =>
  o.type === 'ok' ? `ok ${JSON.stringify(o.value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}` : `${o.type} ${o.error}`;

/** A scripted workload with seeded faults; returns everything observable about the run. */
async function scripted(seed: number, factory: NodeFactory | undefined, simMs: number): Promise<Run> {
  const rt = new SimRuntime(factory === undefined ? {} : { nodeFactory: factory });
  const ops: string[] = [];
  try {
    await rt.setup({
      nodes: 5,
      n: 3,
      r: 2,
      w: 2,
      sloppy: true,
      conflicts: 'vclock',
      vnodes: 8,
      seed,
      runDir: '',
      sim: { delay: 'exponential', delayMs: 2, dropRate: 0.02, duplicateRate: 0.02, fsyncMs: 1, requestTimeoutMs: 300 },
    });
    ops.push(`setup done at ${rt.nowNs()}`);
    const rand = seededRandom(deriveSeed(seed, 'test-workload'));
    const ids = rt.nodeIds();
    const endNs = rt.nowNs() + simMs * 1e6;
    const nemesis = async (): Promise<void> => {
      const down = new Set<string>();
      while (rt.nowNs() < endNs) {
        await rt.sleep(200 + rand() * 300);
        const victim = ids[Math.floor(rand() * ids.length)]!;
        const kind = Math.floor(rand() * 5);
        let what: string;
        if (kind === 0) {
          const side = ids.filter(() => rand() < 0.5);
          const other = ids.filter((i) => !side.includes(i));
          const grudge: Record<string, string[]> = {};
          for (const a of side) grudge[a] = other;
          for (const b of other) grudge[b] = side;
          await rt.partition(grudge);
          what = `partition ${side.join(',')}|${other.join(',')}`;
        } else if (kind === 1 && !down.has(victim)) {
          await rt.kill(victim);
          down.add(victim);
          what = `kill ${victim}`;
        } else if (kind === 2 && !down.has(victim)) {
          await rt.pause(victim);
          await rt.sleep(100);
          await rt.resume(victim);
          what = `pause+resume ${victim}`;
        } else if (kind === 3) {
          const offset = Math.round((rand() - 0.5) * 20_000);
          await rt.setClockOffset(victim, offset);
          what = `clock ${victim} ${offset}`;
        } else {
          await rt.heal();
          for (const d of down) await rt.restart(d);
          down.clear();
          what = 'heal+restart';
        }
        ops.push(`${rt.nowNs()} nemesis ${what}`);
      }
      await rt.heal();
      for (const d of down) await rt.restart(d);
    };
    const client = async (p: number): Promise<void> => {
      for (let i = 0; rt.nowNs() < endNs; i++) {
        const node = ids[Math.floor(rand() * ids.length)]!;
        const c = rt.client(node);
        const key = `k${Math.floor(rand() * 4)}`;
        const choice = rand();
        let out: Outcome<unknown>;
        let f: string;
        if (choice < 0.4) {
          f = 'put';
          out = await c.put(key, new Uint8Array(Buffer.from(`p${p}-${i}`)), undefined);
        } else if (choice < 0.7) {
          f = 'get';
          out = await c.get(key);
        } else if (choice < 0.9) {
          f = 'add';
          out = await c.cartAdd(`cart-${key}`, `item-${p}-${i}`, 1);
        } else {
          f = 'read';
          out = await c.cartRead(`cart-${key}`);
        }
        ops.push(`${rt.nowNs()} p${p} ${node} ${f} ${key} ${describeOutcome(out)}`);
        await rt.sleep(rand() * 40);
      }
    };
    await Promise.all([nemesis(), client(0), client(1), client(2)]);
    await rt.sleep(2000);
    for (const id of ids) ops.push(`final ${id} ${describeOutcome(await rt.client(id).adminLocal('k0'))}`);
    const logs = createHash('sha256');
    for (const id of ids) logs.update(rt.host(id)!.logText());
    return { ops, nodeLogsHash: logs.digest('hex'), endNs: rt.nowNs() };
  } finally {
    await rt.teardown();
  }
}

const toy: NodeFactory = (config, env) => new ToyQuorumNode(config, env);

t.test('toy node: same seed, same run; other seed, other run', async (t) => {
  const a = await scripted(11, toy, 4000);
  const b = await scripted(11, toy, 4000);
  const c = await scripted(12, toy, 4000);
  t.ok(a.ops.length > 50, `${a.ops.length} ops recorded`);
  t.same(b.ops, a.ops, 'identical operation logs');
  t.equal(b.nodeLogsHash, a.nodeLogsHash, 'identical node logs');
  t.equal(b.endNs, a.endNs);
  t.notSame(c.ops, a.ops, 'a different seed gives a different run');
});

t.test('reference DynamoNode: same seed, same run', async (t) => {
  const a = await scripted(21, undefined, 3000);
  const b = await scripted(21, undefined, 3000);
  const c = await scripted(22, undefined, 3000);
  t.ok(a.ops.length > 30, `${a.ops.length} ops recorded, ${a.ops.filter((o) => / ok /.test(o)).length} ok`);
  t.ok(a.ops.some((o) => / ok /.test(o)), 'some operations succeeded');
  t.same(b.ops, a.ops, 'identical operation logs');
  t.equal(b.nodeLogsHash, a.nodeLogsHash, 'identical node logs');
  t.notSame(c.ops, a.ops, 'a different seed gives a different run');
});
