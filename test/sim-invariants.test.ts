// The simulator's invariants: replica-acks-durable must halt a run at the first acknowledgement a
// replica sends before the acknowledged state is on its disk, hints-dropped-only-when-acked at the first
// hint a fallback deletes unacknowledged; both stay quiet on the reference node. (Every scenario in
// core-scenarios.test.ts also runs with them on.)
import t from 'tap';
import { defaultNodeConfig } from '../node/core/config.js';
import { hintId } from '../node/core/hints.js';
import { dataTypes, toB64 } from '../node/core/local-store.js';
import { InvariantViolation, replicaAcksDurable, type InvariantView } from '../harness/runtime/sim/invariants.js';
import { Scheduler } from '../harness/runtime/sim/scheduler.js';
import { SimNodeHost } from '../harness/runtime/sim/sim-node.js';
import { enc, makeCluster, waitConverged } from './helpers/sim-cluster.js';

t.test('a replica acknowledging before its fsync (fault ack-not-durable) halts the run at that ack', async (t) => {
  const c = await makeCluster(3, { testFaults: ['ack-not-durable'] }, { seed: 5, fsyncMs: 40 });
  t.teardown(() => c.stopAll());
  await waitConverged(c);
  const error = await c.run(c.node('n1').put('durable', enc('v'), undefined, { w: 3 })).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, InvariantViolation, 'the put does not complete: the simulation halted');
  if (!(error instanceof InvariantViolation)) return;
  t.equal(error.invariant, 'replica-acks-durable');
  t.match(error.message, /sent write-ack .* before the kv state of "durable" its write carried was durable in its disk/);
  const replica = /: (n\d) sent/.exec(error.message)?.[1] ?? '';
  t.match(c.runtime.host(replica)?.logText() ?? '', /sim\.invariant-violated/, 'the replica\'s log names the violation');
  await t.rejects(c.advance(10), InvariantViolation, 'nothing runs after the halt');
});

t.test('the reference node acknowledges only durable writes: the same run completes', async (t) => {
  const c = await makeCluster(3, {}, { seed: 5, fsyncMs: 40 });
  t.teardown(() => c.stopAll());
  await waitConverged(c);
  const put = await c.run(c.node('n1').put('durable', enc('v'), undefined, { w: 3 }));
  t.ok(put.ok, 'the put is acknowledged');
  for (const id of c.ids) t.not(c.runtime.host(id)?.disk.get('kv', 'durable'), undefined, `${id} has it on disk`);
  t.equal(c.runtime.scheduler.failure, undefined, 'no invariant fired');
});

t.test('replica-acks-durable checks handoffs and hints against what is on disk', async (t) => {
  // A real kv state, taken from a run, so that the check decodes what the node really stores.
  const c = await makeCluster(3, {}, { seed: 2 });
  await waitConverged(c);
  const put = await c.run(c.node('n1').put('k', enc('v'), undefined, { w: 3 }));
  t.ok(put.ok);
  const bytes = c.runtime.host('n1')?.disk.get('kv', 'k');
  await c.stopAll();
  if (bytes === undefined) return t.fail('n1 stored k');
  const kv = dataTypes(false).kv;
  const s = kv.toJson(kv.decode(bytes));

  const host = new SimNodeHost(
    { ...defaultNodeConfig, secret: 'test-secret', id: 'n2', peerAddr: 'sim:n2', seeds: [] },
    { scheduler: new Scheduler(), seed: 1, factory: () => t.fail('never booted') as never, send: () => undefined, fsyncDelayMs: () => 0, logLimit: 10 },
  );
  const view: InvariantView = { nowMs: 0, host: (id) => (id === 'n2' ? host : undefined) };
  const inv = replicaAcksDurable();

  inv.delivered?.('n1', 'n2', { type: 'handoff', req: 'h1', entries: [{ kind: 'kv', key: 'k', s }] }, view);
  t.match(inv.sent?.('n2', 'n1', { type: 'handoff-ack', req: 'h1' }, view), /handoff-ack h1 .* before the kv state of "k" its handoff carried/, 'a handoff acked with nothing on disk');
  host.disk.apply([{ type: 'put', ns: 'kv', key: 'k', value: bytes }]);
  inv.delivered?.('n1', 'n2', { type: 'handoff', req: 'h2', entries: [{ kind: 'kv', key: 'k', s }] }, view);
  t.equal(inv.sent?.('n2', 'n1', { type: 'handoff-ack', req: 'h2' }, view), undefined, 'a handoff acked once it is on disk');

  // A write standing in for n3 must be durable among n2's hints, not merely in its own copy.
  inv.delivered?.('n1', 'n2', { type: 'write', req: 'w1', kind: 'kv', key: 'k', s, hint: 'n3' }, view);
  t.match(inv.sent?.('n2', 'n1', { type: 'write-ack', req: 'w1' }, view), /durable in its hints for n3/, 'a hinted write acked without the hint on disk');
  const hint = enc(JSON.stringify({ owner: 'n3', kind: 'kv', key: 'k', s: toB64(bytes) }));
  host.disk.apply([{ type: 'put', ns: 'hint', key: hintId('n3', 'kv', 'k'), value: hint }]);
  inv.delivered?.('n1', 'n2', { type: 'write', req: 'w2', kind: 'kv', key: 'k', s, hint: 'n3' }, view);
  t.equal(inv.sent?.('n2', 'n1', { type: 'write-ack', req: 'w2' }, view), undefined, 'a hinted write acked once the hint is on disk');

  t.equal(inv.sent?.('n2', 'n1', { type: 'write-ack', req: 'never-received' }, view), undefined, 'an ack of a request never seen is not judged');
});

t.test('a fallback deleting a hint its owner never acknowledged (fault drop-hints) halts the run', async (t) => {
  const c = await makeCluster(5, { hintIntervalMs: 200, testFaults: ['drop-hints'] });
  t.teardown(() => c.stopAll());
  await waitConverged(c);
  const home = c.node('n1').preflist('hinted-key');
  const down = home[2] as string;
  c.crash(down);
  await c.advance(3000);
  t.ok((await c.run(c.node(home[0] as string).put('hinted-key', enc('while-down'), undefined, { w: 3 }))).ok, 'a fallback took the write as a hint');
  const error = await c.advance(2000).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, InvariantViolation, 'the next hint round halts the simulation');
  if (!(error instanceof InvariantViolation)) return;
  t.equal(error.invariant, 'hints-dropped-only-when-acked');
  t.match(error.message, new RegExp(`deleted hint \\["${down}","kv","hinted-key"\\] which its owner never acknowledged`));
});

t.test('without the fault the same hint is delivered, acknowledged and only then deleted', async (t) => {
  const c = await makeCluster(5, { hintIntervalMs: 200 });
  t.teardown(() => c.stopAll());
  await waitConverged(c);
  const home = c.node('n1').preflist('hinted-key');
  const down = home[2] as string;
  c.crash(down);
  await c.advance(3000);
  t.ok((await c.run(c.node(home[0] as string).put('hinted-key', enc('while-down'), undefined, { w: 3 }))).ok);
  await c.advance(2000);
  await c.restart(down);
  await c.advance(4000);
  t.equal(c.ids.reduce((n, id) => n + c.node(id).status().hints.delivered, 0), 1, 'the hint was delivered and deleted');
  t.equal(c.runtime.scheduler.failure, undefined, 'no invariant fired');
});
