// SWIM-style probing in a cluster beyond maxPingsPerRound peers (node/core/probe.ts, suspicions.ts): a round
// costs a node a few messages whatever the cluster's size, a crash, a pause and an isolated node are still
// reported down by every other node within a bounded time, a node that comes back refutes the suspicion
// and is reported up again, and a member only one node cannot reach (an indirect probe gets through) is
// down for that node alone.
import t from 'tap';
import type { NodeId } from '../node/core/env.js';
import { maxPingsPerRound } from '../node/core/membership-view.js';
import { SuspicionTable } from '../node/core/suspicions.js';
import type { MemberEntry } from '../node/core/membership.js';
import { makeCluster, waitConverged, type SimCluster } from './helpers/sim-cluster.js';

const nodes = 24;

function seenDownBy(c: SimCluster, target: NodeId): NodeId[] {
  return c.ids.filter((id) => id !== target && c.node(id).status().members.find((m) => m.id === target)?.status === 'down');
}

/** Advances in steps of 100 ms until `done` or `maxMs`; the virtual ms it took. */
async function until(c: SimCluster, done: () => boolean, maxMs: number): Promise<number> {
  const t0 = c.nowMs;
  while (!done() && c.nowMs - t0 < maxMs) await c.advance(100);
  return c.nowMs - t0;
}

t.test(`${nodes} nodes: a few messages per node per round, no false suspicion`, async (t) => {
  t.ok(nodes - 1 > maxPingsPerRound, 'the cluster is large enough to probe');
  const c = await makeCluster(nodes, {}, { seed: 11 });
  await waitConverged(c, 30_000);
  const stats = c.runtime.network.stats;
  const sent0 = stats.sent;
  let falseDown = 0;
  for (let i = 0; i < 60; i++) {
    await c.advance(100);
    for (const id of c.ids) falseDown += c.node(id).status().members.filter((m) => m.status !== 'up').length;
  }
  t.equal(falseDown, 0, 'no live node was ever reported down');
  const perNodeRound = (stats.sent - sent0) / 30 / nodes;
  // A probe and its ack, a seed's gossip and its answer now and then: pinging in turn sent maxPingsPerRound
  // more (17.8), and a gossip and its answer every round 2 more (4.5).
  t.ok(perNodeRound <= 3.5, `${perNodeRound.toFixed(1)} messages per node per round (${nodes - 1} peers)`);
  await c.stopAll();
});

t.test(`${nodes} nodes: a crash is reported down by every node within 3 s`, async (t) => {
  const c = await makeCluster(nodes, {}, { seed: 12 });
  await waitConverged(c, 30_000);
  c.crash('n9');
  const took = await until(c, () => seenDownBy(c, 'n9').length === nodes - 1, 3000);
  t.equal(seenDownBy(c, 'n9').length, nodes - 1, `every other node reports the crashed one down (${took} ms)`);
  await c.restart('n9');
  const back = await until(c, () => seenDownBy(c, 'n9').length === 0, 5000);
  t.equal(seenDownBy(c, 'n9').length, 0, `and up again after its restart (${back} ms)`);
  await c.stopAll();
});

t.test(`${nodes} nodes: a paused node is reported down, refutes the suspicion once resumed, and is up again`, async (t) => {
  const c = await makeCluster(nodes, {}, { seed: 13 });
  await waitConverged(c, 30_000);
  await c.runtime.pause('n4');
  const took = await until(c, () => seenDownBy(c, 'n4').length === nodes - 1, 3000);
  t.equal(seenDownBy(c, 'n4').length, nodes - 1, `every other node reports the paused one down (${took} ms)`);
  // Long enough that gossip no longer carries the suspicion: the node must still learn of it (remind).
  await c.advance(8000);
  await c.runtime.resume('n4');
  const back = await until(c, () => seenDownBy(c, 'n4').length === 0, 5000);
  t.equal(seenDownBy(c, 'n4').length, 0, `every node reports it up again after it resumed (${back} ms)`);
  const falseDown = c.ids.reduce((n, id) => n + c.node(id).status().members.filter((m) => m.status !== 'up').length, 0);
  t.equal(falseDown, 0, 'and no other node is down anywhere');
  await c.stopAll();
});

t.test(`${nodes} nodes: an isolated node is down for all and sees all down; after the heal all are up`, async (t) => {
  const c = await makeCluster(nodes, {}, { seed: 14 });
  await waitConverged(c, 30_000);
  c.isolate('n6');
  const took = await until(c, () => seenDownBy(c, 'n6').length === nodes - 1, 3000);
  t.equal(seenDownBy(c, 'n6').length, nodes - 1, `every other node reports the isolated one down (${took} ms)`);
  const seenByIt = await until(c, () => c.node('n6').status().members.filter((m) => m.status === 'down').length === nodes - 1, 3000);
  t.equal(c.node('n6').status().members.filter((m) => m.status === 'down').length, nodes - 1, `and it reports every other node down (${took + seenByIt} ms)`);
  c.heal();
  const back = await until(c, () => c.ids.every((id) => c.node(id).status().members.every((m) => m.status === 'up')), 8000);
  t.ok(c.ids.every((id) => c.node(id).status().members.every((m) => m.status === 'up')), `every node reports every node up after the heal (${back} ms)`);
  await c.stopAll();
});

t.test(`${nodes} nodes: a member only one node cannot reach is down for that node alone (the indirect probe gets through)`, async (t) => {
  const c = await makeCluster(nodes, {}, { seed: 15 });
  await waitConverged(c, 30_000);
  c.partition('n1', 'n8');
  // n1 probes n8 within two passes through its 23 peers.
  const took = await until(c, () => c.node('n1').status().members.find((m) => m.id === 'n8')?.status === 'down', 2 * nodes * 200 + 1000);
  t.equal(c.node('n1').status().members.find((m) => m.id === 'n8')?.status, 'down', `n1 reports n8 down (${took} ms)`);
  await c.advance(3000);
  t.same(seenDownBy(c, 'n8'), ['n1'], 'no other node does: the others reach it, so n1 raised no suspicion');
  t.equal(c.node('n8').status().members.find((m) => m.id === 'n1')?.status === 'down' || seenDownBy(c, 'n1').length <= 1, true, 'and n1 is down for n8 at most');
  c.heal();
  const back = await until(c, () => seenDownBy(c, 'n8').length === 0, 2 * nodes * 200 + 2000);
  t.same(seenDownBy(c, 'n8'), [], `after the heal n1 reports n8 up again (${back} ms)`);
  await c.stopAll();
});

t.test('suspicions: a later notice or life refutes, a stale one does not, the member answers its own', (t) => {
  const entries = new Map<NodeId, MemberEntry>([
    ['a', { id: 'a', addr: 'a', status: 'up', incarnation: 1, heartbeat: 0 }],
    ['b', { id: 'b', addr: 'b', status: 'up', incarnation: 3, heartbeat: 0 }],
  ]);
  let incarnation = 1;
  const table = new SuspicionTable('a', (id) => entries.get(id), () => incarnation, () => 1000);
  t.ok(table.suspect({ id: 'b', incarnation: 3, seq: 0 }, 0, false, true), 'a suspicion of the current life is taken');
  t.notOk(table.suspect({ id: 'b', incarnation: 2, seq: 5 }, 0, false, true), 'one of an earlier life is not');
  t.notOk(table.isDown('b', 100, 500), 'a gossiped suspicion waits out the timeout');
  t.ok(table.isDown('b', 600, 500), 'and then the member is down');
  t.same(table.suspects(600), [{ id: 'b', incarnation: 3, seq: 0 }], 'it is gossiped within the window');
  t.same(table.suspects(1200), [], 'and not after it');
  t.notOk(table.takeNotice({ id: 'b', incarnation: 2, seq: 9 }, 700), 'a notice of an earlier life is ignored');
  t.ok(table.isDown('b', 700, 500), 'and refutes nothing');
  t.ok(table.takeNotice({ id: 'b', incarnation: 3, seq: 1 }, 700), 'a later notice is taken');
  t.notOk(table.isDown('b', 800, 500), 'and refutes the suspicion');
  t.notOk(table.suspect({ id: 'b', incarnation: 3, seq: 0 }, 800, false, true), 'which is not taken again');
  t.ok(table.suspect({ id: 'b', incarnation: 3, seq: 1 }, 800, true, true), 'one after the notice is');
  t.ok(table.isDown('b', 800, 500), "and this node's own finding counts at once");
  entries.set('b', { id: 'b', addr: 'b', status: 'up', incarnation: 4, heartbeat: 0 });
  t.notOk(table.isDown('b', 900, 500), 'a later life in the member table refutes it too');
  t.same(table.heard('b'), undefined, 'a refuted suspicion needs no reminder');
  t.ok(table.refute({ id: 'a', incarnation: 1, seq: 0 }, 2000), 'this node answers a suspicion of itself');
  t.same(table.aliveNotices(2000), [{ id: 'a', incarnation: 1, seq: 1 }], "with the next notice (b's is past its window)");
  t.notOk(table.refute({ id: 'a', incarnation: 1, seq: 0 }, 2010), 'an older suspicion while that notice spreads needs nothing');
  t.ok(table.refute({ id: 'a', incarnation: 1, seq: 0 }, 5000), 'after the window the notice spreads again');
  t.same(table.aliveNotices(5000), [{ id: 'a', incarnation: 1, seq: 1 }], 'unchanged');
  incarnation = 2;
  t.notOk(table.refute({ id: 'a', incarnation: 1, seq: 7 }, 5000), 'a suspicion of an earlier life of this node is no concern');
  t.end();
});
