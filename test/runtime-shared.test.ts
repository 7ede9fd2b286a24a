// What the local and Docker runtimes share: the QL_* environment built from a spec, the seeds list, and
// the bounded readiness wait (its two ways of noticing a node that exited, and its timeout message).
import t from 'tap';
import { nodeEnv, seedList } from '../harness/runtime/node-env.js';
import { waitUntilReady, type ReadyProbe } from '../harness/runtime/readiness.js';
import type { ClusterSpec } from '../harness/runtime/runtime.js';

const spec: ClusterSpec = { nodes: 3, n: 3, r: 2, w: 1, sloppy: false, conflicts: 'lww', vnodes: 16, seed: 1, runDir: '/tmp/x', secret: 'ab' };

t.test('nodeEnv: every NODE-API.md variable from the spec; extra variables override', async (t) => {
  const env = nodeEnv({ ...spec, env: { QL_TEST_FAULTS: 'drop-hints', QL_N: '5' } }, { id: 'n2', http: 'h:1', peer: 'p:2', data: '/d', seeds: 'n1@p:2' });
  t.same(env, {
    QL_ID: 'n2', QL_HTTP: 'h:1', QL_PEER: 'p:2', QL_SEEDS: 'n1@p:2', QL_DATA: '/d', QL_N: '5', QL_R: '2', QL_W: '1',
    QL_SLOPPY: '0', QL_CONFLICTS: 'lww', QL_VNODES: '16', QL_PARTITIONS: '48', QL_SECRET: 'ab',
    QL_READ_REPAIR: '1', QL_ANTI_ENTROPY: '1', QL_HINTED_HANDOFF: '1', QL_TEST_FAULTS: 'drop-hints',
    // libuv's pool: one thread in every runtime unless the harness's environment says otherwise.
    UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] ?? '1',
  });
  t.equal(nodeEnv({ ...spec, env: { UV_THREADPOOL_SIZE: '4' } }, { id: 'n1', http: 'h', peer: 'p', data: '/d' })['UV_THREADPOOL_SIZE'], '4', "the run's own variables override the pool size");
  t.equal(nodeEnv({ ...spec, env: { QL_PARTITIONS: '32' } }, { id: 'n1', http: 'h', peer: 'p', data: '/d' })['QL_PARTITIONS'], '32', "the run's QL_PARTITIONS is Q");
  t.notOk('QL_SEEDS' in nodeEnv(spec, { id: 'n1', http: 'h', peer: 'p', data: '/d' }), 'no seeds when not yet known');
  t.equal(seedList([{ id: 'n1', peerAddr: 'a:1' }, { id: 'n2', peerAddr: 'b:1' }]), 'n1@a:1,n2@b:1');
});

type Status = Awaited<ReturnType<ReadyProbe['client']['adminStatus']>>;

function probe(answers: ('ok' | 'down')[], extra: Partial<ReadyProbe> = {}): ReadyProbe & { polls: number } {
  const p: ReadyProbe & { polls: number } = {
    polls: 0,
    label: 'n1 (c1)',
    nodeId: 'n1',
    when: { expected: ['n1'] },
    timeoutMs: 60_000,
    logHeading: 'Last log lines',
    logTail: async () => 'tail',
    sleep: async () => undefined,
    client: {
      adminStatus: async (): Promise<Status> => {
        const a: 'ok' | 'down' | undefined = answers[Math.min(p.polls++, answers.length - 1)];
        return a === 'ok'
          ? { type: 'ok' as const, value: { members: [{ id: 'n1', status: 'up' }] } }
          : { type: 'fail' as const, error: 'connection refused' };
      },
    },
    ...extra,
  };
  return p;
}

t.test('waitUntilReady: polls until the status says ready', async (t) => {
  const p = probe(['down', 'down', 'ok']);
  await waitUntilReady(p);
  t.equal(p.polls, 3);
});

t.test('waitUntilReady: an exited node fails at once, with the log tail', async (t) => {
  await t.rejects(waitUntilReady(probe(['down'], { goneBeforePoll: () => 'exited during startup' })),
    { message: 'n1 (c1) exited during startup (definite: the cluster is not up). Last log lines:\ntail' });
  const p = probe(['down'], { goneAfterSilence: async () => 'exited during startup with code 3' });
  await t.rejects(waitUntilReady(p), /exited during startup with code 3/);
  t.equal(p.polls, 1, 'the costly check runs after the first silent poll');
});

t.test('waitUntilReady: bounded; the message says what was last seen', async (t) => {
  await t.rejects(waitUntilReady(probe(['down'], { timeoutMs: 0 })), /was not ready within 0 ms \(no answer yet\)/);
  await t.rejects(waitUntilReady(probe(['down'], { timeoutMs: 30, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })), /within 30 ms \(connection refused\)/);
});
