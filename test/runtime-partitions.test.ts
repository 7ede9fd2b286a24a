// Q, the ring's partition count, follows one rule in every runtime (harness/runtime/runtime.ts
// ringPartitions): the run's QL_PARTITIONS, else vnodes × initial nodes (at least 8). The sim configures its
// nodes with it; a real node takes Q from QL_PARTITIONS only and says in /admin/status that QL_VNODES is ignored.
import t from 'tap';
import { ringPartitions, type ClusterSpec } from '../harness/runtime/runtime.js';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';
import { ToyQuorumNode } from '../harness/runtime/sim/toy-node.js';
import { configFromEnv } from '../node/config-env.js';

const spec = (overrides: Partial<ClusterSpec> = {}): ClusterSpec => ({
  nodes: 3, n: 3, r: 2, w: 2, sloppy: false, conflicts: 'lww', vnodes: 8, seed: 1, runDir: '', ...overrides,
});

t.test('the rule', async (t) => {
  t.equal(ringPartitions(spec({ vnodes: 64, nodes: 5 })), 320, 'vnodes tokens per initial member');
  t.equal(ringPartitions(spec({ vnodes: 1, nodes: 3 })), 8, 'at least 8');
  t.equal(ringPartitions(spec({ env: { QL_PARTITIONS: '32' } })), 32, "the run's QL_PARTITIONS wins");
  t.equal(ringPartitions(spec({ env: { QL_PARTITIONS: ' ' } })), 24, 'an empty QL_PARTITIONS is unset, as on a node');
  for (const bad of ['0', 'x', '70000', '-3']) {
    t.throws(() => ringPartitions(spec({ env: { QL_PARTITIONS: bad } })), /QL_PARTITIONS/, `"${bad}" is refused, as a node refuses it`);
    t.throws(() => configFromEnv({ QL_ID: 'n1', QL_HTTP: '127.0.0.1:1', QL_PEER: '127.0.0.1:2', QL_DATA: '/tmp/x', QL_SECRET: 's', QL_PARTITIONS: bad }), /QL_PARTITIONS/);
  }
});

t.test('the sim configures its nodes by the rule, QL_PARTITIONS included', async (t) => {
  for (const [s, q] of [
    [spec({ vnodes: 8, nodes: 3 }), 24],
    [spec({ vnodes: 8, nodes: 3, env: { QL_PARTITIONS: '40' } }), 40],
  ] as const) {
    const rt = new SimRuntime({ nodeFactory: (config, env) => new ToyQuorumNode(config, env) });
    try {
      await rt.setup(s);
      t.equal(rt.describe().partitions, q, `Q = ${q}`);
    } finally {
      await rt.teardown();
    }
  }
});

t.test('a real node takes Q from QL_PARTITIONS and reports QL_VNODES as ignored', async (t) => {
  const base = { QL_ID: 'n1', QL_HTTP: '127.0.0.1:1', QL_PEER: '127.0.0.1:2', QL_DATA: '/tmp/x', QL_SEEDS: 'n1@127.0.0.1:2,n2@127.0.0.2:2', QL_SECRET: 's' };
  const c = configFromEnv({ ...base, QL_VNODES: '8', QL_PARTITIONS: ringPartitions(spec({ vnodes: 8, nodes: 2 })).toString() });
  t.equal(c.core.partitions, 16, 'the Q the harness computed');
  t.same(c.ignored, ['QL_VNODES'], 'QL_VNODES never changes Q, and the node says so');
  t.equal(configFromEnv({ ...base, QL_VNODES: '8' }).core.partitions, 256, 'without QL_PARTITIONS Q is 256 whatever QL_VNODES says');
  t.same(configFromEnv(base).ignored, [], 'nothing set, nothing ignored');
  t.same(configFromEnv({ ...base, QL_READ_REPAIR: '0' }).ignored, [], 'a mechanism switch is honoured, so not reported (test/mechanism-ablation.test.ts)');
});

t.test('local runtime: a fresh secret and Q by the rule reach every node, a joiner included', async (t) => {
  const { LocalRuntime } = await import('../harness/runtime/local.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'ql-partitions-test-'));
  t.teardown(() => rmSync(runDir, { recursive: true, force: true }));
  // Addresses and ports of its own: tap runs two files at once, and others use the runtime's defaults.
  const rt = new LocalRuntime({ hostBase: 90, httpPort: 18900, peerPort: 17900, log: () => {} });
  t.teardown(() => rt.teardown());
  // No secret and no QL_PARTITIONS in the spec: the runtime must supply both, or the nodes would not start
  // (no secret) or the joiner would not agree on Q.
  await rt.setup({ nodes: 2, n: 2, r: 1, w: 1, sloppy: true, conflicts: 'vclock', vnodes: 8, seed: 1, runDir });
  const joiner = await rt.addNode();
  const ids = rt.nodeIds();
  t.ok(ids.includes(joiner), 'the joiner is a member');
  for (const id of ids) {
    const s = await rt.client(id).adminStatus();
    t.equal(s.type, 'ok', `${id} answers`);
    if (s.type !== 'ok') continue;
    t.equal((s.value['ring'] as { partitions: number }).partitions, 16, `${id}: Q = 8 vnodes × 2 initial nodes`);
    t.same(s.value['ignored'], ['QL_VNODES'], `${id}: says QL_VNODES did not change Q`);
  }
  const put = await rt.client(ids[0]!).put('k', new Uint8Array([1]), undefined);
  t.equal(put.type, 'ok', 'the authenticated cluster serves writes');
});
