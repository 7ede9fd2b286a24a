// Membership at a size where a node no longer pings every peer each round (more than maxPingsPerRound
// peers): the messages per round stay bounded per node, yet every node keeps seeing every other up, and a
// crashed node is still reported down by all.
import t from 'tap';
import { maxPingsPerRound } from '../node/core/membership-view.js';
import { makeCluster, waitConverged } from './helpers/sim-cluster.js';

const nodes = 24;

t.test(`${nodes} nodes: pings in turn, no false suspicion, a crash seen by all`, async (t) => {
  t.ok(nodes - 1 > maxPingsPerRound, 'the cluster is large enough that pings go in turn');
  const c = await makeCluster(nodes, {}, { seed: 3 });
  await waitConverged(c, 30_000);
  const stats = c.runtime.network.stats;
  const sent0 = stats.sent;
  const seconds = 6;
  // Every 100 virtual ms: does any node see a live node as down? (A peer pinged every few rounds must not
  // look dead between its pings.)
  let falseDown = 0;
  for (let i = 0; i < seconds * 10; i++) {
    await c.advance(100);
    for (const id of c.ids) falseDown += c.node(id).status().members.filter((m) => m.status !== 'up').length;
  }
  t.equal(falseDown, 0, 'no live node was ever reported down');
  const rounds = (seconds * 1000) / 200;
  const perNodeRound = (stats.sent - sent0) / rounds / nodes;
  // A gossip, its answer, a seed now and then, and the pings; nothing proportional to the cluster.
  t.ok(perNodeRound <= maxPingsPerRound + 4, `${perNodeRound.toFixed(1)} messages per node per round (${nodes - 1} peers)`);
  c.crash('n5');
  await c.advance(4000);
  const seeing = c.ids.filter((id) => id !== 'n5' && c.node(id).status().members.find((m) => m.id === 'n5')?.status === 'down');
  t.equal(seeing.length, nodes - 1, 'every other node reports the crashed one down within 4 s');
  await c.stopAll();
});

t.test('a settled cluster gossips ring digests, not rings; a node whose ring differs still gets the ring', async (t) => {
  const c = await makeCluster(5, {}, { seed: 4 });
  await waitConverged(c, 30_000);
  let withRing = 0;
  let digestOnly = 0;
  const original = c.runtime.network.send.bind(c.runtime.network);
  c.runtime.network.send = (from, to, message) => {
    const m = message as { type: string; ring?: unknown; ringDigest?: string };
    if (m.type === 'gossip') {
      if (m.ring !== undefined) withRing++;
      else if (typeof m.ringDigest === 'string') digestOnly++;
    }
    original(from, to, message);
  };
  await c.advance(3000);
  t.ok(digestOnly > 20, `${digestOnly} gossips carried the digest alone`);
  t.equal(withRing, 0, 'no settled gossip carried the ring');
  // A node added now has no ring: it must be sent one, and the cluster converges with it in the ring.
  const id = await c.addNode();
  await waitConverged(c, 30_000);
  t.ok(withRing > 0, `${withRing} gossips carried the ring to the new node or about the new ring`);
  t.equal(String(c.node(id).status().ringHash), String(c.node('n1').status().ringHash), 'the new node has the ring of the others');
  t.ok(c.node('n1').status().members.some((m) => m.id === id && m.status === 'up'), 'and they see it up');
  await c.stopAll();
});
