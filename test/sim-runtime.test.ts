// The simulation runtime's faults and guarantees, first on the simulator's own toy quorum node (so these
// tests do not depend on the reference node), then on the reference DynamoNode when it is present.
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';
import { ToyQuorumNode } from '../harness/runtime/sim/toy-node.js';
import type { ClusterSpec } from '../harness/runtime/runtime.js';
import type { NodeFactory } from '../harness/runtime/sim/sim-node.js';
import type { ReplicaState } from '../workloads/client.js';

const toyFactory: NodeFactory = (config, env) => new ToyQuorumNode(config, env);
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

function spec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    nodes: 3,
    n: 3,
    r: 2,
    w: 2,
    sloppy: false,
    conflicts: 'lww',
    vnodes: 8,
    seed: 1,
    runDir: '',
    sim: { delay: 'uniform', delayMs: 2, fsyncMs: 2, hintIntervalMs: 200, requestTimeoutMs: 300 },
    ...overrides,
  };
}

async function withSim(s: ClusterSpec, body: (rt: SimRuntime) => Promise<void>, factory: NodeFactory = toyFactory): Promise<void> {
  const rt = new SimRuntime({ nodeFactory: factory });
  try {
    await rt.setup(s);
    await body(rt);
  } finally {
    await rt.teardown();
  }
}

function localValues(state: ReplicaState | undefined): string[] {
  if (state?.kind !== 'kv') return [];
  return state.versions.filter((v) => !v.tombstone).map((v) => text(v.value)!);
}

async function localOf(rt: SimRuntime, node: string, key: string): Promise<string[]> {
  const out = await rt.client(node).adminLocal(key);
  return out.type === 'ok' ? localValues(out.value) : [`<${out.type}: ${out.error}>`];
}

t.test('setup, describe, basic reads and writes on virtual time', async (t) => {
  await withSim(spec(), async (rt) => {
    t.same(rt.nodeIds(), ['n1', 'n2', 'n3']);
    const d = rt.describe();
    t.equal(d.seed, 1);
    t.equal(d.knobs.delay, 'uniform');
    t.equal(d.knobs.hintIntervalMs, 200);
    const start = rt.nowNs();
    const put = await rt.client('n1').put('k', bytes('v1'), undefined);
    t.equal(put.type, 'ok');
    const got = await rt.client('n2').get('k');
    t.equal(got.type, 'ok');
    if (got.type === 'ok') t.same(got.value.values.map(text), ['v1']);
    t.ok(rt.nowNs() > start, 'virtual time moved');
    const status = await rt.client('n3').adminStatus();
    t.equal(status.type, 'ok');
    const pre = await rt.client('n1').adminPreflist('k');
    t.equal(pre.type, 'ok');
    if (pre.type === 'ok') t.equal(pre.value.length, 3);
  });
});

t.test('a partition makes strict quorums fail, and heal restores them', async (t) => {
  await withSim(spec(), async (rt) => {
    await rt.partition({ n1: ['n2', 'n3'], n2: ['n1'], n3: ['n1'] });
    const put = await rt.client('n1').put('k', bytes('x'), undefined);
    t.equal(put.type, 'info', 'a write that misses W is info (it may have landed)');
    if (put.type === 'info') t.match(put.error, /quorum/);
    const get = await rt.client('n1').get('k');
    t.equal(get.type, 'fail', 'a read that misses R is fail');
    const other = await rt.client('n2').put('k2', bytes('y'), undefined);
    t.equal(other.type, 'ok', 'the majority side still has its quorum');
    await rt.heal();
    const again = await rt.client('n1').put('k', bytes('z'), undefined);
    t.equal(again.type, 'ok');
  });
});

t.test('a crash loses undurable writes and volatile state only', async (t) => {
  await withSim(spec({ sim: { delay: 'constant', delayMs: 1, fsyncMs: 20, hintIntervalMs: 10_000, requestTimeoutMs: 300 } }), async (rt) => {
    const acked = await rt.client('n1').put('durable', bytes('d'), undefined, { w: 3 });
    t.equal(acked.type, 'ok');
    const host = rt.host('n2')!;
    // A batch written directly and cut short by the kill, 1 ms into its 10-30 ms fsync.
    void host.storage!.write([{ type: 'put', ns: 'kv', key: 'lost', value: bytes(JSON.stringify({ value: 'bA==', ts: 1, origin: 'n2' })) }]);
    // A put still in flight: it is unacknowledged when n2 dies (the coordinator waits on n2's fsync).
    const inflight = rt.client('n1').put('inflight', bytes('i'), undefined, { w: 3 });
    await rt.sleep(3);
    await rt.kill('n2');
    t.equal(host.state, 'crashed');
    const refused = await rt.client('n2').get('durable');
    t.equal(refused.type, 'fail');
    if (refused.type === 'fail') t.match(refused.error, /connection refused/);
    t.equal((await inflight).type, 'info', 'the write that needed the dead node is unknown');
    await rt.restart('n2');
    t.same(await localOf(rt, 'n2', 'durable'), ['d'], 'an acknowledged write survives the crash');
    t.same(await localOf(rt, 'n2', 'lost'), [], 'a write whose fsync had not completed is lost');
    t.ok(host.disk.batchesLost >= 1);
    const st = await rt.client('n2').adminStatus();
    t.equal(st.type === 'ok' && (st.value['hints'] as { pending: number }).pending, 0, 'volatile state starts empty');
  });
});

t.test('a paused node queues messages and requests until it resumes', async (t) => {
  await withSim(spec(), async (rt) => {
    await rt.pause('n2');
    const timedOut = await rt.client('n2').get('k');
    t.equal(timedOut.type, 'info', 'a client of a paused node times out (info)');
    if (timedOut.type === 'info') t.match(timedOut.error, /timeout/);
    const put = await rt.client('n1').put('k', bytes('p'), undefined, { w: 3 });
    t.equal(put.type, 'info', 'W=3 cannot be met while n2 is paused');
    t.same(await localOf(rt, 'n1', 'k'), ['p']);
    await rt.resume('n2');
    await rt.sleep(50);
    t.same(await localOf(rt, 'n2', 'k'), ['p'], 'the queued replica write ran at resume');
  });
});

t.test('writes missed during a partition reach the replica after heal (handoff)', async (t) => {
  await withSim(spec(), async (rt) => {
    await rt.partition({ n3: ['n1', 'n2'], n1: ['n3'], n2: ['n3'] });
    const put = await rt.client('n1').put('h', bytes('hint'), undefined);
    t.equal(put.type, 'ok');
    await rt.sleep(1000);
    t.same(await localOf(rt, 'n3', 'h'), [], 'the partitioned replica has nothing yet');
    await rt.heal();
    await rt.sleep(1000);
    t.same(await localOf(rt, 'n3', 'h'), ['hint'], 'handed off after heal');
  });
});

t.test('clock skew moves a node\'s wall clock only', async (t) => {
  await withSim(spec(), async (rt) => {
    // LWW by wall clock: a node 60 s behind writes later in real time but loses to an earlier write.
    await rt.setClockOffset('n1', -60_000);
    t.equal((await rt.client('n2').put('k', bytes('early'), undefined)).type, 'ok');
    await rt.sleep(100);
    t.equal((await rt.client('n1').put('k', bytes('late'), undefined)).type, 'ok');
    const got = await rt.client('n3').get('k', { r: 3 });
    t.equal(got.type === 'ok' && text(got.value.values[0]), 'early', 'the skewed later write is lost under LWW');
    await rt.setClockOffset('n1', 0);
    t.equal((await rt.client('n1').put('k', bytes('fixed'), undefined)).type, 'ok');
    const after = await rt.client('n3').get('k', { r: 3 });
    t.equal(after.type === 'ok' && text(after.value.values[0]), 'fixed');
  });
});

t.test('membership: addNode and removeNode; logs land in the run directory', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'ql-sim-'));
  t.teardown(() => rmSync(runDir, { recursive: true, force: true }));
  await withSim(spec({ runDir }), async (rt) => {
    const id = await rt.addNode();
    t.equal(id, 'n4');
    t.same(rt.nodeIds(), ['n1', 'n2', 'n3', 'n4']);
    t.equal((await rt.client('n4').adminStatus()).type, 'ok');
    await rt.removeNode('n2');
    t.same(rt.nodeIds(), ['n1', 'n3', 'n4']);
    const gone = await rt.client('n2').get('k');
    t.equal(gone.type, 'fail', 'a removed node refuses connections');
  });
  const log = join(runDir, 'nodes', 'n1', 'node.log');
  t.ok(existsSync(log));
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string });
  t.ok(lines.some((l) => l.event === 'sim.boot'));
  t.ok(existsSync(join(runDir, 'nodes', 'n2', 'node.log')), 'removed nodes keep their logs');
});

/**
 * Drives `concurrency` clients for `simSeconds` of virtual time, each doing read-modify-write cycles
 * (a get, then a put with the context it read, so siblings stay bounded) with `thinkMs` between ops.
 */
async function load(rt: SimRuntime, simSeconds: number, concurrency: number, thinkMs: number): Promise<{ ok: number; other: number }> {
  const ids = rt.nodeIds();
  const endNs = rt.nowNs() + simSeconds * 1e9;
  const counts = { ok: 0, other: 0 };
  await Promise.all(
    Array.from({ length: concurrency }, async (_, p) => {
      for (let i = 0; rt.nowNs() < endNs; i++) {
        const c = rt.client(ids[(p + i) % ids.length]!);
        const key = `k${(p * 7 + i) % 20}`;
        const got = await c.get(key);
        const put = await c.put(key, bytes(`p${p}-${i}`), got.type === 'ok' ? got.value.context : undefined);
        for (const out of [got, put]) {
          if (out.type === 'ok') counts.ok++;
          else counts.other++;
        }
        await rt.sleep(thinkMs);
      }
    }),
  );
  return counts;
}

/**
 * Runs the load for `simSeconds` of virtual time; asserts it ran and mostly succeeded. The speed figure is a
 * comment only: how fast the simulation runs is measured by `npm run bench` (section simulation), not asserted.
 */
async function measure(t: Test, rt: SimRuntime, label: string, simSeconds: number, thinkMs: number): Promise<void> {
  const wall0 = performance.now();
  const sim0 = rt.nowNs();
  const events0 = rt.scheduler.eventsRun;
  const counts = await load(rt, simSeconds, 5, thinkMs);
  const wallS = (performance.now() - wall0) / 1000;
  const simS = (rt.nowNs() - sim0) / 1e9;
  const speed = simS / wallS;
  t.comment(
    `${label}: ${((counts.ok + counts.other) / simS).toFixed(0)} ops per simulated s; ${simS.toFixed(1)} simulated s in ${wallS.toFixed(2)} wall s = ${speed.toFixed(0)}x real time; ` +
      `${counts.ok} ok, ${counts.other} not ok; ${((rt.scheduler.eventsRun - events0) / simS).toFixed(0)} events per simulated s`,
  );
  t.ok(simS >= simSeconds, `virtual time advanced ${simS.toFixed(1)} s for a ${simSeconds} s load`);
  t.ok(counts.ok > 0, 'the load ran');
  t.ok(counts.ok > 0.9 * (counts.ok + counts.other), 'the load ran and mostly succeeded');
}

t.test('5 toy nodes under a closed-loop load: virtual time advances and the load succeeds', async (t) => {
  await withSim(spec({ nodes: 5 }), async (rt) => {
    await measure(t, rt, 'toy, heavy load', 10, 20);
    await measure(t, rt, 'toy, run-like load', 20, 100);
  });
});

t.test('reference DynamoNode in the simulation', async (t) => {
  const real = (s: Partial<ClusterSpec>): ClusterSpec =>
    spec({ conflicts: 'vclock', sim: { delay: 'exponential', delayMs: 1, fsyncMs: 1, requestTimeoutMs: 500 }, ...s });
  const dyn = async (s: ClusterSpec, body: (rt: SimRuntime) => Promise<void>): Promise<void> => {
    const rt = new SimRuntime();
    try {
      await rt.setup(s);
      await body(rt);
    } finally {
      await rt.teardown();
    }
  };

  t.test('strict quorum: a partitioned minority coordinator fails, heal restores', async (t) => {
    await dyn(real({ sloppy: false }), async (rt) => {
      t.equal((await rt.client('n1').put('k', bytes('a'), undefined)).type, 'ok');
      await rt.partition({ n1: ['n2', 'n3'], n2: ['n1'], n3: ['n1'] });
      t.equal((await rt.client('n1').put('k', bytes('b'), undefined)).type, 'info');
      t.equal((await rt.client('n1').get('k')).type, 'fail');
      await rt.heal();
      await rt.sleep(2000);
      t.equal((await rt.client('n1').get('k')).type, 'ok');
    });
  });

  t.test('sloppy quorum: hinted handoff delivers to the home replica after heal', async (t) => {
    await dyn(real({ nodes: 5, sloppy: true }), async (rt) => {
      const pre = await rt.client('n1').adminPreflist('hk');
      t.equal(pre.type, 'ok');
      if (pre.type !== 'ok') return;
      const [coord, , victim] = pre.value as [string, string, string];
      const others = rt.nodeIds().filter((n) => n !== victim);
      const grudge: Record<string, string[]> = { [victim]: others };
      for (const o of others) grudge[o] = [victim];
      await rt.partition(grudge);
      await rt.sleep(3000); // let failure detection notice
      const put = await rt.client(coord).put('hk', bytes('handed'), undefined);
      t.equal(put.type, 'ok', 'the sloppy quorum accepts the write on a fallback');
      t.same(await localOf(rt, victim, 'hk'), [], 'the partitioned home replica has nothing');
      await rt.heal();
      await rt.sleep(10_000);
      t.same(await localOf(rt, victim, 'hk'), ['handed'], 'hinted handoff or anti-entropy delivered it');
    });
  });

  t.test('5 reference nodes idle and under load: virtual time advances and the load succeeds', async (t) => {
    await dyn(real({ nodes: 5, sloppy: true, vnodes: 16 }), async (rt) => {
      const wall0 = performance.now();
      const sim0 = rt.nowNs();
      await rt.sleep(20_000);
      t.ok((rt.nowNs() - sim0) / 1e9 >= 20, 'an idle cluster sleeps through 20 virtual seconds');
      const idle = (rt.nowNs() - sim0) / 1e9 / ((performance.now() - wall0) / 1000);
      t.comment(`DynamoNode, idle cluster (gossip, anti-entropy): ${idle.toFixed(0)}x real time`);
      await measure(t, rt, 'DynamoNode, heavy load', 5, 20);
      await measure(t, rt, 'DynamoNode, run-like load', 10, 100);
    });
  });
});
