// Sloppy quorum and hinted handoff across real processes: with a home replica killed, a write still
// gets W acknowledgements from a fallback, which keeps a hint (in its LevelDB) and hands the write to
// the home replica once it is back.
import t from 'tap';
import { LocalCluster, sleep, type LocalNode } from './helpers/local-cluster.js';

t.test('a write reaches a dead home replica through a hint after it restarts', async (t) => {
  const cluster = await LocalCluster.start({ size: 4, firstOctet: 36, env: { QL_N: '3', QL_R: '2', QL_W: '2', QL_SLOPPY: '1', QL_HINT_MS: '200' } });
  t.teardown(() => cluster.close());
  const byId = (id: string): LocalNode => cluster.nodes.find((n) => n.id === id)!;
  const pre = (await (await fetch(`${cluster.nodes[0]!.url}/admin/preflist/handoff-key`)).json()) as { nodes: string[] };
  t.equal(pre.nodes.length, 3);
  const coordinator = byId(pre.nodes[0]!);
  const victim = byId(pre.nodes[2]!);
  await cluster.kill(victim);

  // Wait until the coordinator's failure detector has marked the victim down.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const members = ((await cluster.status(coordinator))?.['members'] ?? []) as { id: string; status: string }[];
    if (members.some((m) => m.id === victim.id && m.status === 'down')) break;
    if (Date.now() > deadline) throw new Error('the victim was never marked down');
    await sleep(100);
  }
  const put = await fetch(`${coordinator.url}/kv/handoff-key?w=3`, { method: 'PUT', body: 'via-a-fallback' });
  t.equal(put.status, 204, 'w=3 succeeds with a fallback standing in (sloppy quorum)');
  const pending = await Promise.all(cluster.nodes.filter((n) => n !== victim).map(async (n) => ((await cluster.status(n))?.['hints'] as { pending: number }).pending));
  t.ok(pending.reduce((a, b) => a + b, 0) >= 1, 'a fallback holds a hint');

  cluster.spawn(victim);
  await cluster.waitReady(victim);
  let held = false;
  for (let i = 0; i < 100 && !held; i++) {
    const local = await fetch(`${victim.url}/admin/local/handoff-key`);
    if (local.status === 200) {
      const body = (await local.json()) as { versions: { value: string }[] };
      held = body.versions.some((v) => Buffer.from(v.value, 'base64').toString() === 'via-a-fallback');
    } else {
      await local.arrayBuffer();
    }
    if (!held) await sleep(100);
  }
  t.ok(held, 'the restarted home replica received the hinted write');
});
