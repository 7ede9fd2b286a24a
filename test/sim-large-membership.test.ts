// Membership at a size where a node no longer pings every peer each round (more than maxPingsPerRound
// peers; it probes one a round, probe.ts): the messages per round stay bounded per node, yet every node
// keeps seeing every other up, and a crashed node is still reported down by all (more in sim-probing).
import t from 'tap';
import { maxPingsPerRound } from '../node/core/membership-view.js';
import { makeCluster, waitConverged } from './helpers/sim-cluster.js';

const nodes = 24;

t.test(`${nodes} nodes: probes, no false suspicion, a crash seen by all`, async (t) => {
  t.ok(nodes - 1 > maxPingsPerRound, 'the cluster is large enough to probe');
  const c = await makeCluster(nodes, {}, { seed: 3 });
  await waitConverged(c, 30_000);
  const stats = c.runtime.network.stats;
  const sent0 = stats.sent;
  const seconds = 6;
  // Every 100 virtual ms: does any node see a live node as down? (A peer probed every few dozen rounds must
  // not look dead between its probes.)
  let falseDown = 0;
  for (let i = 0; i < seconds * 10; i++) {
    await c.advance(100);
    for (const id of c.ids) falseDown += c.node(id).status().members.filter((m) => m.status !== 'up').length;
  }
  t.equal(falseDown, 0, 'no live node was ever reported down');
  const rounds = (seconds * 1000) / 200;
  const perNodeRound = (stats.sent - sent0) / rounds / nodes;
  // A probe and its ack, a seed's gossip and its answer now and then; nothing proportional to the cluster.
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

t.test('a settled cluster gossips member digests, not entries; a changed entry still reaches every node', async (t) => {
  const c = await makeCluster(5, {}, { seed: 5 });
  await waitConverged(c, 30_000);
  type Gossip = { type: string; members?: { id: string; incarnation: number }[]; membersDigest?: string };
  let withMembers = 0;
  let digestOnly = 0;
  const lastDigest = new Map<string, string>();
  const incarnationsOfN3 = new Set<number>();
  const original = c.runtime.network.send.bind(c.runtime.network);
  c.runtime.network.send = (from, to, message) => {
    const m = message as Gossip;
    if (m.type === 'gossip') {
      if (m.members !== undefined) withMembers++;
      else if (typeof m.membersDigest === 'string') digestOnly++;
      if (m.membersDigest !== undefined) lastDigest.set(from, m.membersDigest);
      for (const e of m.members ?? []) if (e.id === 'n3') incarnationsOfN3.add(e.incarnation);
    }
    original(from, to, message);
  };
  await c.advance(3000);
  t.ok(digestOnly > 20, `${digestOnly} gossips carried the member digest alone`);
  t.equal(withMembers, 0, 'no settled gossip carried the entries');
  // A restart is a new incarnation of n3's entry: it must travel, and the tables agree again afterwards.
  c.crash('n3');
  await c.advance(1000);
  await c.restart('n3');
  await waitConverged(c, 30_000);
  t.ok(withMembers > 0, `${withMembers} gossips carried entries after the restart`);
  t.ok(Math.max(...incarnationsOfN3) >= 2, `n3's new incarnation was gossiped (${[...incarnationsOfN3].join(', ')})`);
  // The restarted node's handoff reports still change its entry for a while; then the tables settle.
  await c.advance(2000);
  lastDigest.clear();
  const before = withMembers;
  await c.advance(3000);
  t.equal(new Set(lastDigest.values()).size, 1, 'every node gossips the same member digest once settled again');
  t.equal(lastDigest.size, 5, 'from all five');
  t.equal(withMembers - before, 0, 'and no gossip carries entries any more');
  await c.stopAll();
});

t.test('an entry of another life with the same incarnation (a lost metadata write) is detected by its boot nonce', async (t) => {
  const c = await makeCluster(3, {}, { seed: 6 });
  await waitConverged(c, 30_000);
  type Entry = { id: string; addr: string; status: string; incarnation: number; heartbeat: number; boot?: string };
  const seen: Entry[] = [];
  const original = c.runtime.network.send.bind(c.runtime.network);
  c.runtime.network.send = (from, to, message) => {
    const m = message as { type: string; members?: Entry[] };
    if (m.type === 'gossip' && from === 'n1') for (const e of m.members ?? []) if (e.id === 'n1') seen.push(e);
    original(from, to, message);
  };
  // n1's own entry as it gossips it: a restart makes it travel.
  c.crash('n2');
  await c.advance(500);
  await c.restart('n2');
  await waitConverged(c, 30_000);
  const mine = seen.at(-1);
  if (mine === undefined) throw new Error('n1 never gossiped its entry');
  t.type(mine.boot, 'string', 'an entry carries its boot nonce');
  // The same incarnation and an older heartbeat, from a boot that is not this one: not newer by
  // (incarnation, heartbeat), so only the nonce tells.
  const other = { ...mine, heartbeat: 0, boot: `${mine.boot}x` };
  c.node('n1').receive('n2', { type: 'gossip', reply: false, members: [other], membersDigest: '1:0' });
  seen.length = 0;
  c.crash('n3');
  await c.advance(500);
  await c.restart('n3');
  await waitConverged(c, 30_000);
  t.ok(seen.some((e) => e.incarnation > mine.incarnation), `n1 moved past the other life (incarnations ${[...new Set(seen.map((e) => e.incarnation))].join(', ')})`);
  await c.stopAll();
});

t.test(`${nodes} nodes: a restart greets a few seeds, a new ring is pushed to a few peers, and both still reach every node`, async (t) => {
  const c = await makeCluster(nodes, {}, { seed: 6 });
  await waitConverged(c, 30_000);
  type Gossip = { type: string; reply?: boolean; ring?: unknown; ringDigest?: string; members?: { id: string; incarnation: number }[]; membersDigest?: string };
  const greetings = new Set<string>();
  const n7Incarnations = new Set<number>();
  const lastDigest = new Map<string, string>();
  const ringPushes = new Map<string, number>();
  const gossipAt = new Map<string, number>();
  const original = c.runtime.network.send.bind(c.runtime.network);
  let counting: 'greet' | 'ring' | undefined;
  c.runtime.network.send = (from, to, message) => {
    const m = message as Gossip;
    if (m.type === 'gossip' && counting === 'greet' && from === 'n7' && m.reply === true) greetings.add(to);
    if (m.type === 'gossip' && from === 'n7') for (const e of m.members ?? []) if (e.id === 'n7') n7Incarnations.add(e.incarnation);
    if ((m.type === 'gossip' || m.type === 'ping') && m.membersDigest !== undefined) lastDigest.set(from, m.membersDigest);
    // A push of a new ring asks for no answer and carries the ring (a round's gossip asks for one), and is
    // no answer itself: in a cluster that probes, a round's gossip carries digests alone and the ring comes
    // in the answers (gossip.ts tick).
    const answer = (gossipAt.get(`${to}>${from}`) ?? Number.NEGATIVE_INFINITY) > c.nowMs - 100;
    if (m.type === 'gossip') gossipAt.set(`${from}>${to}`, c.nowMs);
    if (m.type === 'gossip' && counting === 'ring' && m.reply !== true && m.ring !== undefined && !answer) {
      const k = `${from} ${String(m.ringDigest)}`;
      ringPushes.set(k, (ringPushes.get(k) ?? 0) + 1);
    }
    original(from, to, message);
  };
  c.crash('n7');
  await c.advance(1000);
  counting = 'greet';
  await c.restart('n7');
  counting = undefined;
  // Greetings are what the start sends before its first round; rounds add one gossip each.
  t.ok(greetings.size <= maxPingsPerRound, `the restarted node greeted ${greetings.size} of ${nodes - 1} seeds`);
  await waitConverged(c, 30_000);
  t.ok(Math.max(...n7Incarnations) >= 2, `the restarted node gossiped its new incarnation (${[...n7Incarnations].join(', ')})`);
  // Equal member digests are equal tables: every node then holds the restarted node's newest entry.
  await c.advance(3000);
  lastDigest.clear();
  await c.advance(2000);
  t.equal(lastDigest.size, nodes, 'every node sent its member digest');
  t.equal(new Set(lastDigest.values()).size, 1, 'and all of them are the same');
  counting = 'ring';
  const added = await c.addNode();
  await waitConverged(c, 30_000);
  counting = undefined;
  const most = Math.max(0, ...ringPushes.values());
  t.ok(ringPushes.size > 0, `${ringPushes.size} (node, ring) pairs pushed`);
  // Without the bound every node that took the new ring pushed it to all its peers.
  t.ok(most <= maxPingsPerRound, `at most ${most} pushes of one ring from one node (${nodes} peers)`);
  const ring = String(c.node('n1').status().ringHash);
  t.same(c.ids.filter((id) => String(c.node(id).status().ringHash) !== ring), [], `every node, ${added} included, has the same ring`);
  await c.stopAll();
});

t.test(`${nodes} seeds starting together found one ring, not one per member each heard of`, async (t) => {
  t.ok(nodes > maxPingsPerRound, 'more seeds than a node greets');
  const c = await makeCluster(nodes, {}, { seed: 16 });
  await waitConverged(c, 30_000);
  // Each seed waits a few rounds before founding (membership-view.ts mayFoundRing), so all found the same
  // first ring; founding at once, each walked through a ring per member it heard of.
  t.same(new Set(c.ids.map((id) => c.node(id).status().ring.version)), new Set([1]), 'every node is on ring version 1');
  await c.stopAll();
});

t.test(`${nodes} nodes: a restart greets with digests, and an answer to a whole table holds only what it lacked`, async (t) => {
  const c = await makeCluster(nodes, {}, { seed: 8 });
  await waitConverged(c, 30_000);
  type Gossip = { type: string; reply?: boolean; members?: { id: string }[]; membersDigest?: string };
  const whole = (m: Gossip): boolean => m.members !== undefined && m.membersDigest !== undefined && m.members.length === Number(m.membersDigest.split(':')[0]);
  let greetingEntries = 0;
  let greetings = 0;
  let counting = false;
  // Whole tables sent asking for an answer, by (sender, receiver); then the answers and the entries they held.
  const asked = new Set<string>();
  let answers = 0;
  let answered = 0;
  const lastDigest = new Map<string, string>();
  const original = c.runtime.network.send.bind(c.runtime.network);
  c.runtime.network.send = (from, to, message) => {
    const m = message as Gossip;
    if (m.type === 'gossip' && counting && from === 'n3' && m.reply === true) {
      greetings++;
      greetingEntries += m.members?.length ?? 0;
    }
    // The answer to the last gossip asking for one (a later one that is no whole table is answered otherwise).
    if (m.type === 'gossip' && m.reply === true) {
      if (whole(m)) asked.add(`${from}>${to}`);
      else asked.delete(`${from}>${to}`);
    }
    if (m.type === 'gossip' && m.reply !== true && m.members !== undefined && asked.delete(`${to}>${from}`)) {
      answers++;
      answered += m.members.length;
    }
    if ((m.type === 'gossip' || m.type === 'ping') && m.membersDigest !== undefined) lastDigest.set(from, m.membersDigest);
    original(from, to, message);
  };
  c.crash('n3');
  await c.advance(1000);
  counting = true;
  await c.restart('n3');
  counting = false;
  t.ok(greetings > 0, `the restarted node greeted ${greetings} seeds`);
  t.equal(greetingEntries, 0, 'with the digests alone');
  await waitConverged(c, 30_000);
  await c.advance(3000);
  t.ok(answers > 0, `${answers} answers to a whole table, with ${answered} entries`);
  // Each answer holds the entries the table lacked or held older (the restarted node's table, read from
  // disk, is older in the entries that changed after it was written), not the answering node's whole table.
  t.ok(answered < (answers * nodes) / 2, `${(answered / answers).toFixed(1)} entries per answer (${nodes} members)`);
  // Equal member digests are equal tables.
  lastDigest.clear();
  await c.advance(2000);
  t.equal(lastDigest.size, nodes, 'every node sent its member digest');
  t.equal(new Set(lastDigest.values()).size, 1, 'and all of them are the same');
  await c.stopAll();
});
