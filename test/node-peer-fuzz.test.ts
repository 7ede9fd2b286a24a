// A peer-frame fuzzer against a real PeerTransport on loopback: 500 connections of 20 frames each (10,000
// frames) mixing random bytes, framing errors, frames signed with other keys, unsigned frames, frames signed
// with the right cluster key but out of protocol, and replays of a genuine recorded link. Whatever arrives:
// nothing reaches the core, every connection is closed by the node (none hangs), nothing throws, and a
// genuine peer is still served afterwards. The figures are printed as comments.
import t from 'tap';
import fc from 'fast-check';
import net from 'node:net';
import type { PeerMessage } from '../node/core/env.js';
import { encodeFrame, type FramePayload } from '../node/frame.js';
import { PeerTransport } from '../node/peer-transport.js';
import { clusterKey, newNonce } from '../node/peer-session.js';
import { RealRandom } from '../node/real-env.js';
import { recordingRelay } from './helpers/recording-relay.js';

const secret = 'fuzz-secret';
const host = '127.0.0.61';

function transport(id: string, addr: string, got: [string, PeerMessage][]): PeerTransport {
  const tr = new PeerTransport({ id, listen: addr, secret, logger: { log: () => {} }, random: new RealRandom(), backoffBaseMs: 10, backoffCapMs: 50 });
  tr.onMessage((from, msg) => got.push([from, msg]));
  return tr;
}

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return check();
}

const payload = (msg: Record<string, unknown>, to = 'n2', from = 'n9'): FramePayload => ({ from, to, msgs: [{ type: 'put', ...msg } as PeerMessage], at: performance.now() });

t.test('10,000 fuzzed peer frames: nothing delivered, every connection closed, the node still serves', async (t) => {
  const got: [string, PeerMessage][] = [];
  const b = transport('n2', `${host}:0`, got);
  await b.listen();
  t.teardown(() => b.close());

  // A genuine link recorded through a relay, so its bytes can be replayed by the fuzzer.
  const relay = await recordingRelay(t, '127.0.0.62', () => `${host}:${b.port()}`);
  const aGot: [string, PeerMessage][] = [];
  const a = transport('n1', '127.0.0.63:0', aGot);
  await a.listen();
  t.teardown(() => a.close());
  a.learnPeer('n2', relay.addr());
  for (let i = 0; i < 3; i++) a.send('n2', { type: 'put', key: `genuine-${i}`, value: 'v' });
  t.ok(await until(() => got.length === 3), 'the genuine link works through the relay');
  const genuineStream = relay.stream();
  const genuineFrames: Buffer[] = [];
  for (let at = 0; at + 4 <= genuineStream.length; ) {
    const end = at + 4 + genuineStream.readUInt32BE(at);
    genuineFrames.push(genuineStream.subarray(at, end));
    at = end;
  }
  const deliveredBefore = got.length;
  const rejectedBefore = b.stats.rejected;

  const key = clusterKey(secret)!;
  const jsonish = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
  const frame = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 40 })).map(([len, body]) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(len);
      return Buffer.concat([head, Buffer.from(body)]);
    }),
    fc.dictionary(fc.string({ maxLength: 8 }), jsonish, { maxKeys: 4 }).map((m) => encodeFrame(payload(m), 'another-secret')),
    fc.dictionary(fc.string({ maxLength: 8 }), jsonish, { maxKeys: 4 }).map((m) => encodeFrame(payload(m))),
    // Right key, wrong protocol: a message before any hello, a hello without a nonce, a challenge.
    fc.constantFrom('put', 'gossip', 'ql-hello', 'ql-challenge', 'ql-ping').map((type) => encodeFrame({ from: 'n9', to: 'n2', msgs: [{ type }] }, key)),
    // A valid hello with a message riding in the same frame: a handshake frame must carry the hello alone.
    fc.constant(0).map(() => encodeFrame({ from: 'n9', to: 'n2', msgs: [{ type: 'ql-hello', addr: '127.0.0.9:1', nonce: newNonce() }, { type: 'put', key: 'k' }] }, key)),
    // A well-formed hello from an insider, followed (in the same stream) by frames it cannot sign for the session.
    fc.constant(0).map(() => encodeFrame({ from: 'n9', to: 'n2', msgs: [{ type: 'ql-hello', addr: '127.0.0.9:1', nonce: newNonce() }] }, key)),
    fc.constantFrom(...genuineFrames),
  );
  const stream = fc.tuple(fc.array(frame, { minLength: 20, maxLength: 20 }), fc.integer({ min: 1, max: 97 }));

  let frames = 0;
  let connections = 0;
  let hangs = 0;
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(stream, async ([parts, chunk]) => {
      frames += parts.length;
      connections++;
      const bytes = Buffer.concat(parts);
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host, port: b.port() });
        const timer = setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 3000);
        s.on('error', () => {});
        s.on('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
        s.on('data', () => {});
        s.on('connect', () => {
          for (let at = 0; at < bytes.length; at += chunk) s.write(bytes.subarray(at, at + chunk));
          // Our side ends the stream; a node waiting for the rest of a partial frame must still let go.
          s.end();
        });
      });
      if (!closed) hangs++;
      return closed && got.length === deliveredBefore;
    }),
    { numRuns: 500, seed: 1616, endOnFailure: true },
  );
  const wallS = (Date.now() - started) / 1000;
  t.equal(frames, 10_000, '10,000 frames sent');
  t.equal(hangs, 0, 'no connection left hanging');
  t.equal(got.length, deliveredBefore, 'no fuzzed frame reached the core');
  // A stream of nothing but partial frames or stale replays may end without a complete bad frame; every
  // other one is rejected exactly once.
  t.ok(b.stats.rejected - rejectedBefore <= connections, 'at most one rejection per connection');
  t.ok(b.stats.rejected - rejectedBefore > connections * 0.9, 'and nearly every fuzzed stream is rejected');
  t.comment(`peer fuzz: ${frames} frames on ${connections} connections in ${wallS.toFixed(1)} s; rejected ${b.stats.rejected - rejectedBefore}, replayed ${b.stats.replayed}, delivered 0, hangs ${hangs}`);

  a.send('n2', { type: 'put', key: 'after', value: 'v' });
  t.ok(await until(() => got.some(([, m]) => m['key'] === 'after')), 'the genuine peer is still served afterwards');
});
