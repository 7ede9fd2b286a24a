// The phi accrual detector: phi stays low while heartbeats keep their rhythm, grows with silence, and a
// jittery peer is given more slack than a regular one.
import t from 'tap';
import { PhiAccrualDetector } from '../node/core/failure-detector.js';

t.test('phi grows with silence and resets on a heartbeat', async (t) => {
  const d = new PhiAccrualDetector({ minStdDevMs: 50, firstHeartbeatEstimateMs: 1000 });
  t.equal(d.phi(0), 0, 'before any heartbeat the peer is presumed up');
  let now = 0;
  for (let i = 0; i < 50; i++) d.heartbeat((now += 1000));
  t.ok(d.phi(now + 500) < 1, 'half an interval late is nothing');
  t.ok(d.isAvailable(now + 1000, 8));
  const phis = [1500, 2000, 3000, 5000].map((late) => d.phi(now + late));
  t.ok(phis.every((p, i) => i === 0 || p > phis[i - 1]!), `phi rises with silence: ${phis.map((p) => p.toFixed(2)).join(' ')}`);
  t.notOk(d.isAvailable(now + 3000, 8), 'three missed beats with a tight rhythm is down');
  d.heartbeat(now + 3000);
  t.ok(d.phi(now + 3100) < 1, 'a heartbeat brings phi back down');
  t.ok(Number.isFinite(d.phi(now + 1e9)), 'phi stays a finite number (JSON-safe) after very long silence');
});

t.test('a jittery peer gets more slack than a regular one', async (t) => {
  const regular = new PhiAccrualDetector({ minStdDevMs: 10 });
  const jittery = new PhiAccrualDetector({ minStdDevMs: 10 });
  let a = 0;
  let b = 0;
  for (let i = 0; i < 100; i++) {
    regular.heartbeat((a += 1000));
    jittery.heartbeat((b += i % 2 === 0 ? 400 : 1600));
  }
  t.ok(jittery.stdDevMs() > regular.stdDevMs());
  t.ok(jittery.phi(b + 1800) < regular.phi(a + 1800), 'the same silence is less suspicious for a jittery peer');
});

t.test('the window forgets old intervals', async (t) => {
  const d = new PhiAccrualDetector({ windowSize: 10, minStdDevMs: 1 });
  let now = 0;
  for (let i = 0; i < 10; i++) d.heartbeat((now += 5000));
  for (let i = 0; i < 20; i++) d.heartbeat((now += 100));
  t.ok(Math.abs(d.meanMs() - 100) < 1e-6, 'only the last 10 intervals count');
  t.ok(d.phi(now + 1000) > 8, 'after the rhythm sped up, a 1 s silence is suspicious');
  d.heartbeat(now - 50);
  t.equal(d.lastHeartbeatMs, now, 'a heartbeat from the past does not move time back');
});

t.test('a floor on the usual interval: a peer pinged every few rounds is not down after one long gap', async (t) => {
  const d = new PhiAccrualDetector({ minStdDevMs: 100, acceptablePauseMs: 200, firstHeartbeatEstimateMs: 200 });
  let now = 0;
  for (let i = 0; i < 20; i++) d.heartbeat((now += 200));
  t.notOk(d.isAvailable(now + 1400, 8), 'without the floor, 1.4 s of silence after a 200 ms rhythm is down');
  t.ok(d.isAvailable(now + 1400, 8, 1400), 'with a 1.4 s floor it is not');
  t.notOk(d.isAvailable(now + 4000, 8, 1400), 'and a silence well past the floor still is');
  t.equal(d.phi(now + 300, 0), d.phi(now + 300), 'a floor of 0 is no floor');
});
