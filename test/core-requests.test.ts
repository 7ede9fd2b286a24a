// The request tracker: a request finishes exactly once (by its owner, its deadline or the node stopping),
// always cancels its timer and forgets its id, so a late reply finds nothing.
import t from 'tap';
import type { CoreEnv, TimerHandle } from '../node/core/env.js';
import { type CloseReason, RequestTracker } from '../node/core/requests.js';
import { TimerTable } from '../node/core/timers.js';

/** Timers run by hand: `advance(ms)` fires what is due, in order. */
function manualTimers(): { env: CoreEnv; advance: (ms: number) => void; armed: () => number } {
  let now = 0;
  let next = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const env = {
    clock: { wallMs: () => now, monoMs: () => now },
    timers: {
      setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
        const id = next++;
        due.set(id, { at: now + delayMs, fn });
        return { id };
      },
      clearTimeout: (h: TimerHandle) => void due.delete(h.id),
    },
    random: { next: () => 0 },
    logger: { log: () => undefined },
  } as unknown as CoreEnv;
  const advance = (ms: number): void => {
    const until = now + ms;
    for (;;) {
      const first = [...due.entries()].filter(([, d]) => d.at <= until).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (first === undefined) break;
      due.delete(first[0]);
      now = first[1].at;
      first[1].fn();
    }
    now = until;
  };
  return { env, advance, armed: () => due.size };
}

function setup(): { tracker: RequestTracker; timers: TimerTable; advance: (ms: number) => void; armed: () => number } {
  const m = manualTimers();
  const timers = new TimerTable(m.env, () => false);
  let seq = 0;
  return { tracker: new RequestTracker(timers, () => `req-${++seq}`), timers, advance: m.advance, armed: m.armed };
}

t.test('finished by its owner: closes once, cancels its timer, ignores late replies', async (t) => {
  const { tracker, armed, advance } = setup();
  const closes: CloseReason[] = [];
  const replies: string[] = [];
  const req = tracker.start({
    deadlineMs: 100,
    onReply: (from) => {
      replies.push(from);
      if (replies.length === 2) req.finish();
    },
    onClose: (why) => closes.push(why),
  });
  t.equal(armed(), 1, 'the deadline is armed');
  t.equal(tracker.size, 1);
  tracker.deliver('a', { type: 'write-ack', req: req.id });
  tracker.deliver('b', { type: 'write-ack', req: req.id });
  tracker.deliver('c', { type: 'write-ack', req: req.id });
  req.finish();
  advance(1000);
  t.same(replies, ['a', 'b'], 'no reply after it finished');
  t.same(closes, ['finished'], 'closed exactly once');
  t.equal(armed(), 0, 'its timer was cancelled');
  t.equal(tracker.size, 0, 'its id is forgotten');
  t.ok(req.done);
});

t.test('deadline: closes once with the reason, replies for other ids go nowhere', async (t) => {
  const { tracker, advance, armed } = setup();
  const closes: CloseReason[] = [];
  const req = tracker.start({ deadlineMs: 100, onReply: () => t.fail('no reply expected'), onClose: (why) => closes.push(why) });
  tracker.deliver('a', { type: 'write-ack', req: 'someone-else' });
  advance(99);
  t.same(closes, [], 'not before the deadline');
  advance(1);
  t.same(closes, ['deadline']);
  req.finish();
  t.same(closes, ['deadline'], 'finishing after the deadline does nothing');
  t.equal(armed(), 0);
});

t.test('stopAll closes every open request once and leaves no timer', async (t) => {
  const { tracker, armed, timers } = setup();
  const closes: string[] = [];
  const a = tracker.start({ deadlineMs: 100, onReply: () => undefined, onClose: (why) => closes.push(`a:${why}`) });
  tracker.start({ deadlineMs: 200, onReply: () => undefined, onClose: (why) => closes.push(`b:${why}`) });
  a.finish();
  t.not(a.id, 'req-2', 'ids are distinct');
  tracker.stopAll();
  tracker.stopAll();
  t.same(closes, ['a:finished', 'b:stopped']);
  t.equal(armed(), 0);
  t.same(timers.status().pending, {});
});

t.test('named timers: periodic tasks count their runs, one-shots are pending until they fire', async (t) => {
  const { timers, advance } = setup();
  let runs = 0;
  timers.every(['gossip'], 50, () => runs++);
  timers.after(30, () => undefined, 'reap');
  t.same(timers.status().pending, { reap: 1 });
  advance(120);
  t.equal(runs, 3, 'first run after 1 ms (random 0), then every 50 ms');
  t.same(timers.status().periodic['gossip'], { periodMs: 50, runs: 3, nextInMs: 31 });
  t.same(timers.status().pending, {}, 'the one-shot fired');
});
