// kill -9 a node in the middle of a stream of acknowledged writes, restart it, and check that its own
// store still holds every write it acknowledged. With N=3 and W=3 every acknowledged write was made
// durable on the victim before the coordinator answered 204, so none may be missing after the restart.
import t from 'tap';
import { LocalCluster, sleep, type LocalNode } from './helpers/local-cluster.js';

t.test('SIGKILL during acknowledged writes loses none of them', async (t) => {
  const cluster = await LocalCluster.start({ size: 3, firstOctet: 51, env: { QL_N: '3', QL_R: '2', QL_W: '3', QL_SLOPPY: '0' } });
  t.teardown(() => cluster.close());
  const [a, b, victim] = cluster.nodes as [LocalNode, LocalNode, LocalNode];

  const acked = new Map<string, string>();
  let attempts = 0;
  let stop = false;
  // Writers through every node, the victim included, so some acknowledged writes were coordinated by it.
  const writer = async (lane: number): Promise<void> => {
    const node = cluster.nodes[lane % 3]!;
    for (let i = 0; !stop; i++) {
      const key = `crash-${lane}-${i}`;
      const value = `value-${lane}-${i}`;
      attempts++;
      try {
        const res = await fetch(`${node.url}/kv/${key}?timeout=300`, { method: 'PUT', body: value, signal: AbortSignal.timeout(3000) });
        await res.arrayBuffer();
        if (res.status === 204) acked.set(key, value);
      } catch {
        // A connection refused or reset by the dying node is an unknown outcome, never an ack.
        await sleep(20);
      }
    }
  };
  const writers = Array.from({ length: 6 }, (_, lane) => writer(lane));
  // Kill once enough writes are acknowledged (bounded in time, so a slow machine still finishes).
  const killBy = Date.now() + 10_000;
  await sleep(500);
  while (acked.size < 60 && Date.now() < killBy) await sleep(20);
  const ackedBeforeKill = acked.size;
  await cluster.kill(victim);
  await sleep(300);
  stop = true;
  await Promise.all(writers);
  t.ok(ackedBeforeKill >= 10, `${ackedBeforeKill} writes were acknowledged before the kill (${attempts} attempts in all)`);

  cluster.spawn(victim);
  await cluster.waitReady(victim);

  let missing = 0;
  const missingKeys: string[] = [];
  for (const [key, value] of acked) {
    const res = await fetch(`${victim.url}/admin/local/${key}`);
    const body = (await res.json()) as { versions?: { value: string; tombstone: boolean }[] };
    const values = (body.versions ?? []).filter((v) => !v.tombstone).map((v) => Buffer.from(v.value, 'base64').toString());
    if (!values.includes(value)) {
      missing++;
      if (missingKeys.length < 5) missingKeys.push(key);
    }
  }
  t.equal(missing, 0, `the restarted victim holds all ${acked.size} acknowledged writes${missing > 0 ? ` (missing e.g. ${missingKeys.join(", ")})` : ""}`);

  // And a quorum read through each node sees them.
  await cluster.waitAllUp([a, b, victim], 20_000);
  let unreadable = 0;
  const sample = [...acked].filter((_, i) => i % 5 === 0);
  const unreadableExamples: string[] = [];
  for (const [key, value] of sample) {
    const res = await fetch(`${b.url}/kv/${key}?r=3`);
    const body = await res.text();
    if (res.status !== 200 || body !== value) {
      unreadable++;
      if (unreadableExamples.length < 3) unreadableExamples.push(`${key}: ${res.status} ${body.slice(0, 120)}`);
    }
  }
  if (unreadable > 0) t.comment(`unreadable: ${unreadableExamples.join(' | ')}`);
  t.equal(unreadable, 0, `${sample.length} sampled acknowledged writes are readable with r=3`);
});
