// status() (and so /admin/status) shows the node's named timers — gossip, hint delivery and ownership
// handoff (one slot), anti-entropy, pending reaps — and the requests it has open, on the product's sim.
import t from 'tap';
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';

t.test('named timers run and show in /admin/status', async (t) => {
  const rt = new SimRuntime();
  try {
    await rt.setup({
      nodes: 3, n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', vnodes: 8, seed: 3, runDir: '',
      sim: { delay: 'uniform', delayMs: 2, fsyncMs: 2, hintIntervalMs: 200, requestTimeoutMs: 300 },
    });
    await rt.sleep(5000);
    const res = await rt.client('n1').adminStatus();
    t.equal(res.type, 'ok');
    if (res.type !== 'ok') return;
    const s = res.value as Record<string, any>;
    const periodic = s['timers']?.['periodic'] ?? {};
    t.same(Object.keys(periodic).sort(), ['anti-entropy', 'gossip', 'handoff', 'hints']);
    t.ok(periodic['gossip'].runs > 5, `gossip ran ${periodic['gossip'].runs} times in 5 s`);
    t.equal(periodic['hints'].periodMs, 200, 'the configured hint interval');
    t.same(periodic['hints'], periodic['handoff'], 'hints and handoff share one slot');
    t.ok(periodic['anti-entropy'].runs >= 1, 'anti-entropy ran');
    t.ok(periodic['gossip'].nextInMs <= periodic['gossip'].periodMs, 'the next gossip is within a period');
    t.equal(typeof s['timers']['openRequests'], 'number');
    t.same(s['messages'], { malformed: 0 }, 'no malformed peer message between reference nodes');
  } finally {
    await rt.teardown();
  }
});
