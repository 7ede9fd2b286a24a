// The event-loop delay figures of /admin/status: a callback held up behind a synchronous task shows in the
// window in progress, a window closes into `last`, and a stopped monitor keeps no timer alive.
import t from 'tap';
import { LoopDelayMonitor } from '../node/loop-delay.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('a loop blocked for 80 ms shows a delay of at least that in the current window, then in last', async (t) => {
  const m = new LoopDelayMonitor(300);
  t.teardown(() => m.stop());
  t.equal(m.summary().last, undefined, 'no complete window yet');
  await sleep(20);
  const until = performance.now() + 80;
  while (performance.now() < until) {
    // Busy: nothing else on this loop may run.
  }
  await sleep(20);
  // A lower bound only: a loaded machine makes the delay longer, never shorter.
  t.ok(m.summary().current.maxMs >= 70, `current window max ${m.summary().current.maxMs} ms`);
  await sleep(400);
  const s = m.summary();
  t.ok(s.last !== undefined && s.maxMs >= 70, `the window closed into last and the running max (${s.maxMs} ms)`);
  t.equal(s.windowMs, 300);
});
