import t, { type Test } from 'tap';
import net from 'node:net';
import { recordingRelay } from './helpers/recording-relay.js';
import type { PeerMessage } from '../node/core/env.js';
import { FrameLateness } from '../node/frame-lateness.js';
import { PeerTransport, type PeerTransportOptions } from '../node/peer-transport.js';
import { RealRandom } from '../node/real-env.js';

interface Logged {
  level: string;
  event: string;
  fields: Record<string, unknown>;
}

function make(t: Test, id: string, host: string, secret?: string, port = 0, extra: Partial<PeerTransportOptions> = {}) {
  const logs: Logged[] = [];
  const got: [string, PeerMessage][] = [];
  const tr = new PeerTransport({
    id,
    listen: `${host}:${port}`,
    logger: { log: (level, event, fields = {}) => logs.push({ level, event, fields }) },
    random: new RealRandom(),
    backoffBaseMs: 20,
    backoffCapMs: 200,
    ...extra,
    ...(secret === undefined ? {} : { secret }),
  });
  tr.onMessage((from, msg) => got.push([from, msg]));
  t.teardown(() => tr.close());
  return { tr, logs, got, addr: () => `${host}:${tr.port()}` };
}

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

t.test('messages flow both ways, in order, and the hello teaches the return address', async (t) => {
  const a = make(t, 'n1', '127.0.0.21', 'k');
  const b = make(t, 'n2', '127.0.0.22', 'k');
  await a.tr.listen();
  await b.tr.listen();
  a.tr.learnPeer('n2', b.addr());
  for (let i = 0; i < 100; i++) a.tr.send('n2', { type: 'ping-test', i });
  t.ok(await until(() => b.got.length === 100), 'all 100 messages arrive');
  t.same(b.got.map(([from, m]) => [from, m['i']]), Array.from({ length: 100 }, (_, i) => ['n1', i]), 'in order, from n1');
  // n2 learned n1's address from the hello, so it can answer without gossip.
  b.tr.send('n1', { type: 'reply' });
  t.ok(await until(() => a.got.length === 1), 'the reply arrives');
  t.equal(a.got[0]![0], 'n2');
});

t.test('messages queued while the peer is down arrive after it starts', async (t) => {
  const port = await freePort('127.0.0.24');
  const a = make(t, 'n1', '127.0.0.23');
  await a.tr.listen();
  a.tr.learnPeer('n2', `127.0.0.24:${port}`);
  for (let i = 0; i < 5; i++) a.tr.send('n2', { type: 'early', i });
  await new Promise((r) => setTimeout(r, 300));
  const b = make(t, 'n2', '127.0.0.24', undefined, port);
  await b.tr.listen();
  t.ok(await until(() => b.got.length === 5), 'the queue is flushed after reconnecting');
});

t.test('a redial waiting out its backoff goes at once when the peer dials in', async (t) => {
  const port = await freePort('127.0.0.38');
  // A backoff of ten minutes: without the early redial the queued message would not arrive within this
  // test's 20 s wait, so its arrival shows the dial-in triggered the redial (no speed is assumed).
  const a = make(t, 'n1', '127.0.0.37', 'k', 0, { backoffBaseMs: 600_000, backoffCapMs: 600_000 });
  await a.tr.listen();
  a.tr.learnPeer('n2', `127.0.0.38:${port}`);
  a.tr.send('n2', { type: 'early' });
  // The first dial is refused at once, and the retry is scheduled 5-10 minutes out.
  await new Promise((r) => setTimeout(r, 200));
  const b = make(t, 'n2', '127.0.0.38', 'k', port);
  await b.tr.listen();
  b.tr.learnPeer('n1', a.addr());
  b.tr.send('n1', { type: 'hello-from-n2' });
  t.ok(await until(() => a.got.length === 1, 20_000), 'n2 reaches n1');
  t.ok(await until(() => b.got.length === 1, 20_000), "n1's queued message reached n2 once n2 dialed in, not after the backoff");
  t.same(b.got.map(([, m]) => m.type), ['early']);
});

t.test('messages that waited longer than maxDelayMs are dropped on arrival; fresh ones still flow', async (t) => {
  // A partition's worth of writes must not reach a replica the moment the link heals: that would do the
  // work of hinted handoff and repair, and hide a node without them (see peer-transport.ts).
  const port = await freePort('127.0.0.36');
  // Frames queued 4 s before the peer starts are far past a 1 s limit; a fresh frame would have to be held
  // a whole second on loopback to be dropped, so the test does not depend on the machine's speed.
  const a = make(t, 'n1', '127.0.0.35', undefined, 0, { maxDelayMs: 1000 });
  await a.tr.listen();
  a.tr.learnPeer('n2', `127.0.0.36:${port}`);
  for (let i = 0; i < 5; i++) a.tr.send('n2', { type: 'old', i });
  await new Promise((r) => setTimeout(r, 4000));
  const b = make(t, 'n2', '127.0.0.36', undefined, port, { maxDelayMs: 1000 });
  await b.tr.listen();
  t.ok(await until(() => b.tr.stats.stale === 5), `the 5 stale messages are counted (stale=${b.tr.stats.stale})`);
  a.tr.send('n2', { type: 'fresh' });
  t.ok(await until(() => b.got.length === 1), 'a fresh message is delivered');
  t.same(b.got.map(([, m]) => m.type), ['fresh'], 'and only the fresh one');
});

t.test('lateness is measured against the link baseline and tolerates clock drift between machines', async (t) => {
  // A sender whose monotonic clock runs 50 ppm slow, one frame a second for ten hours, 0.2 ms on the wire.
  const drifting = (driftPerMs?: number): number => {
    const m = new FrameLateness(driftPerMs);
    let worst = 0;
    for (let s = 0; s <= 36_000; s++) {
      const nowMs = 5_000 + s * 1000 + 0.2;
      worst = Math.max(worst, m.lateByMs(nowMs, s * 1000 * (1 - 50e-6)));
    }
    return worst;
  };
  t.equal(drifting(), 0, 'no frame of the drifting sender counts as late');
  t.ok(drifting(0) > 1000, 'without the drift allowance it would be dropped within hours');
  const m = new FrameLateness();
  t.equal(m.lateByMs(10_000, 9_000), 0, 'the first frame sets the baseline (offset 1000 ms)');
  t.equal(m.lateByMs(11_000, 10_000), 0);
  // Sent at 11 000, held 1.5 s in a buffer: 1.5 s late, give or take the drift allowance of 0.25 ms.
  t.ok(Math.abs(m.lateByMs(13_500, 11_000) - 1500) < 1);
  t.equal(m.lateByMs(13_600, 12_600), 0, 'a fresh frame afterwards is on time');
});

t.test('a peer with the wrong secret is rejected and logged with its address', async (t) => {
  const a = make(t, 'n1', '127.0.0.25', 'right');
  const evil = make(t, 'n9', '127.0.0.26', 'wrong');
  await a.tr.listen();
  await evil.tr.listen();
  evil.tr.learnPeer('n1', a.addr());
  evil.tr.send('n1', { type: 'gossip', members: ['n9'] });
  t.ok(await until(() => a.logs.some((l) => l.event === 'peer-rejected')), 'peer-rejected is logged');
  const rejected = a.logs.find((l) => l.event === 'peer-rejected')!;
  t.match(String(rejected.fields['remote']), /^127\.0\.0\.26:/, 'the log names the remote address');
  t.equal(rejected.fields['reason'], 'bad-hmac');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(a.got.length, 0, 'nothing from the outsider reaches the core');
  // A plain-text stream without any framing is rejected too.
  const raw = net.connect({ host: '127.0.0.25', port: a.tr.port() });
  raw.on('error', () => {});
  raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.ok(await until(() => a.logs.filter((l) => l.event === 'peer-rejected').length >= 2), 'garbage is rejected');
  raw.destroy();
  t.equal(a.got.length, 0);
});

t.test('the outgoing queue is bounded and drops the oldest', async (t) => {
  const a = make(t, 'n1', '127.0.0.27');
  // Nobody listens at this address; everything waits in the queue.
  a.tr.learnPeer('n2', `127.0.0.28:${await freePort('127.0.0.28')}`);
  for (let i = 0; i < 1100; i++) a.tr.send('n2', { type: 'x', i });
  t.equal(a.tr.stats.dropped, 76, '1100 sent into a 1024 queue drops 76');
});

t.test('a link that stops answering pings is torn down and redialed', async (t) => {
  // A "peer" that accepts connections and reads but never answers: a paused process or a half-open
  // connection after a partition looks exactly like this from the sender's side.
  let connections = 0;
  const silent = net.createServer((socket) => {
    connections++;
    socket.resume();
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.30', r));
  t.teardown(() => new Promise((r) => { silent.close(r); }));
  const a = make(t, 'n1', '127.0.0.29', undefined, 0, { pingIntervalMs: 50, pingTimeoutMs: 200 });
  a.tr.learnPeer('n2', `127.0.0.30:${(silent.address() as net.AddressInfo).port}`);
  a.tr.send('n2', { type: 'first' });
  t.ok(await until(() => a.logs.some((l) => l.event === 'peer-link-stalled')), 'the silent link is detected (it never answers the hello)');
  a.tr.send('n2', { type: 'second' });
  t.ok(await until(() => connections >= 2, 15_000), 'the next message dials a fresh connection (after reconnect backoff)');
});


t.test('recorded frames are refused on a new connection and when replayed within one, and counted', async (t) => {
  const a = make(t, 'n1', '127.0.0.41', 'k');
  const b = make(t, 'n2', '127.0.0.42', 'k');
  await a.tr.listen();
  await b.tr.listen();
  const relay = await recordingRelay(t, '127.0.0.43', () => b.addr());
  a.tr.learnPeer('n2', relay.addr());
  a.tr.send('n2', { type: 'put', key: 'k', value: 'v1' });
  t.ok(await until(() => b.got.length === 1), 'the genuine message arrives through the relay');
  const frames = relay.frames();
  t.ok(frames.length >= 2, 'hello and the message were recorded');

  // Within the connection: the message frame again, on the same upstream socket.
  relay.upstreams[0]!.write(frames[1]!);
  t.ok(await until(() => b.tr.stats.replayed === 1), `a frame replayed within its connection is refused (replayed=${b.tr.stats.replayed})`);
  t.equal(b.got.length, 1, 'and never reaches the core');

  // On a fresh connection: the whole recording, hello included.
  const replay = net.connect({ host: '127.0.0.42', port: b.tr.port() });
  replay.on('error', () => {});
  replay.write(Buffer.concat(frames));
  t.ok(await until(() => b.tr.stats.replayed === 2), `the recording played on a new connection is refused (replayed=${b.tr.stats.replayed})`);
  replay.destroy();
  t.equal(b.got.length, 1, 'nothing replayed reached the core');
  t.ok(b.logs.some((l) => l.event === 'peer-rejected' && l.fields['reason'] === 'replay'), 'the rejection is logged as a replay');
  // The genuine link still works (it redials after the replay closed the old connection).
  a.tr.send('n2', { type: 'put', key: 'k', value: 'v2' });
  t.ok(await until(() => b.got.length === 2), 'a fresh genuine message still arrives');
});

t.test('rejections are rate-limited in the log and counted; the outsider says it cannot authenticate', async (t) => {
  const a = make(t, 'n1', '127.0.0.44', 'right');
  await a.tr.listen();
  for (let i = 0; i < 20; i++) {
    const raw = net.connect({ host: '127.0.0.44', port: a.tr.port(), localAddress: '127.0.0.45' });
    raw.on('error', () => {});
    raw.write('garbage that is not a frame at all, just bytes\r\n');
  }
  t.ok(await until(() => a.tr.stats.rejected === 20), `all 20 are rejected (rejected=${a.tr.stats.rejected})`);
  const lines = a.logs.filter((l) => l.event === 'peer-rejected').length;
  t.equal(lines, 1, 'one warning for the source within the window');
  t.equal(a.tr.stats.warningsSuppressed, 19, 'the other 19 are counted, not logged');

  const evil = make(t, 'n9', '127.0.0.46', 'wrong');
  await evil.tr.listen();
  evil.tr.learnPeer('n1', a.addr());
  evil.tr.send('n1', { type: 'gossip' });
  t.ok(await until(() => evil.tr.stats.authFailures >= 1), 'the node with the wrong secret notices');
  const loud = evil.logs.find((l) => l.event === 'peer-auth-failed');
  t.equal(loud?.level, 'error', 'and says so at error level');
  t.match(String(loud?.fields['message']), /QL_SECRET/, 'naming the variable');
});

t.test('messages sent to a peer in one event-loop turn leave as one signed frame; a big turn splits into bounded frames', async (t) => {
  const a = make(t, 'n1', '127.0.0.141', 'k');
  const b = make(t, 'n2', '127.0.0.142', 'k');
  await a.tr.listen();
  await b.tr.listen();
  const relay = await recordingRelay(t, '127.0.0.143', () => b.addr());
  a.tr.learnPeer('n2', relay.addr());
  a.tr.send('n2', { type: 'first' });
  t.ok(await until(() => b.got.length === 1), 'the link is up');
  const before = relay.frames().length;
  const framesBefore = a.tr.stats.framesSent;
  for (let i = 0; i < 50; i++) a.tr.send('n2', { type: 'small', i });
  t.ok(await until(() => b.got.length === 51), 'all 50 arrive');
  t.equal(relay.frames().length - before, 1, 'in one frame');
  t.equal(a.tr.stats.framesSent - framesBefore, 1, 'which the sender counts as one data frame');
  t.same(b.got.slice(1).map(([, m]) => m['i']), Array.from({ length: 50 }, (_, i) => i), 'in the order sent');
  // Any two 600 kB messages together exceed the 1 MiB bound on a batch, so a turn sending three of them
  // writes three frames, and every message still arrives in order.
  const big = 'x'.repeat(600_000);
  const mid = relay.frames().length;
  for (let i = 0; i < 3; i++) a.tr.send('n2', { type: 'big', i, big });
  t.ok(await until(() => b.got.length === 54), 'the three big messages arrive');
  const bigFrames = relay.frames().slice(mid);
  t.equal(bigFrames.length, 3, 'each in a frame of its own, since any two together pass the bound');
  t.equal(a.tr.stats.framesSent - framesBefore, 4, 'and counts as three more');
  t.ok(bigFrames.every((f) => f.length < 2 * 600_000), 'no frame joins two of them');
  t.same(b.got.slice(51).map(([, m]) => m['i']), [0, 1, 2], 'in order');
});
