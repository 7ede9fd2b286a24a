import t from 'tap';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { FrameDecoder, FrameError, encodeFrame, encodeFrameJson, frameVersion, payloadJson, type FramePayload } from '../node/frame.js';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof FrameError ? error.reason : 'not-a-frame-error';
  }
  return undefined;
}

const payload = (i: number): FramePayload => ({ from: 'n1', to: 'n2', msgs: [{ type: 'put', key: `k${i}`, value: 'AAEC', n: i }] });

t.test('frames round trip with and without a secret, split at every byte', async (t) => {
  for (const secret of [undefined, 's3cret']) {
    const frames = [payload(1), payload(2), payload(3)];
    const stream = Buffer.concat(frames.map((p) => encodeFrame(p, secret)));
    // One byte at a time exercises every split point of length, version, HMAC and body.
    const decoder = new FrameDecoder(secret);
    const out: FramePayload[] = [];
    for (const byte of stream) out.push(...decoder.push(Buffer.from([byte])));
    t.same(out, frames, `byte-wise decode, secret=${secret ?? 'none'}`);
    t.same(new FrameDecoder(secret).push(stream), frames, 'one chunk');
  }
});

t.test('random chunking never changes what is decoded (property)', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ key: fc.string(), value: fc.string(), n: fc.integer() }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (msgs, cuts) => {
        // One message per frame and all of them batched in one frame, back to back on the stream.
        const frames: FramePayload[] = [...msgs.map((m) => ({ from: 'a', to: 'b', msgs: [{ type: 'x', ...m }] })), { from: 'a', to: 'b', msgs: msgs.map((m) => ({ type: 'y', ...m })), at: 12.5 }];
        const stream = Buffer.concat(frames.map((p) => encodeFrame(p, 'k')));
        const decoder = new FrameDecoder('k');
        const out: FramePayload[] = [];
        let at = 0;
        let i = 0;
        while (at < stream.length) {
          const size = cuts[i++ % cuts.length]!;
          out.push(...decoder.push(stream.subarray(at, at + size)));
          at += size;
        }
        return JSON.stringify(out) === JSON.stringify(frames);
      },
    ),
    { numRuns: 200 },
  );
  t.pass('property held');
});

t.test('HMAC rejects tampered frames, wrong secrets and unsigned frames', async (t) => {
  const good = encodeFrame(payload(1), 'right');
  // Flip one bit in every region after the length: version, HMAC, payload.
  for (const at of [4, 5, 20, 37, good.length - 2]) {
    const bad = Buffer.from(good);
    bad[at] = bad[at]! ^ 0x01;
    t.throws(() => new FrameDecoder('right').push(bad), FrameError, `bit flip at byte ${at} is rejected`);
  }
  try {
    new FrameDecoder('right').push(encodeFrame(payload(1), 'wrong'));
    t.fail('a frame signed with another secret must be rejected');
  } catch (error) {
    t.equal((error as FrameError).reason, 'bad-hmac');
  }
  t.throws(() => new FrameDecoder('right').push(encodeFrame(payload(1))), FrameError, 'an unsigned frame is rejected');
  t.same(new FrameDecoder('right').push(good), [payload(1)], 'the untampered frame passes');
});

t.test('the HMAC covers the version byte, the position as 64-bit big-endian and the body, at any position', async (t) => {
  // Pins the signed bytes independently of frame.ts, with positions past 2^32 that a test stream never
  // reaches: the signature is what two nodes of different builds must agree on.
  const key = 'k3y';
  for (const seq of [undefined, 0, 1, 0xffff_ffff, 0x1_0000_0000 + 7, Number.MAX_SAFE_INTEGER]) {
    const frame = encodeFrame(payload(seq ?? -1), key, seq);
    const body = frame.subarray(5 + 32);
    const h = createHmac('sha256', key).update(Buffer.from([frameVersion]));
    if (seq !== undefined) {
      const n = Buffer.alloc(8);
      n.writeBigUInt64BE(BigInt(seq));
      h.update(n);
    }
    t.same(frame.subarray(5, 5 + 32), h.update(body).digest(), `position ${seq ?? 'none'}`);
  }
});

t.test('a decoder that failed refuses everything afterwards', async (t) => {
  const decoder = new FrameDecoder('k');
  const bad = Buffer.from(encodeFrame(payload(1), 'k'));
  bad[bad.length - 1] = 0x20;
  t.throws(() => decoder.push(bad));
  t.throws(() => decoder.push(encodeFrame(payload(2), 'k')), FrameError);
});

t.test('oversized, short and non-JSON frames are protocol errors', async (t) => {
  const huge = Buffer.alloc(5);
  huge.writeUInt32BE(0xffffffff, 0);
  t.equal(reasonOf(() => new FrameDecoder(undefined, 1024).push(huge)), 'too-large');
  const short = Buffer.from([0, 0, 0, 1, frameVersion]);
  t.equal(reasonOf(() => new FrameDecoder().push(short)), 'bad-payload');
  const body = Buffer.from('not json');
  const frame = Buffer.concat([Buffer.from([0, 0, 0, body.length + 1, frameVersion]), body]);
  t.equal(reasonOf(() => new FrameDecoder().push(frame)), 'bad-payload');
  const raw = (body: unknown): Buffer => {
    const json = Buffer.from(JSON.stringify(body));
    return Buffer.concat([Buffer.from([0, 0, 0, json.length + 1, frameVersion]), json]);
  };
  t.equal(reasonOf(() => new FrameDecoder().push(raw({ from: 'a', to: 'b', msgs: [{}] }))), 'bad-payload', 'a message without a type');
  t.equal(reasonOf(() => new FrameDecoder().push(raw({ from: 'a', to: 'b', msgs: [] }))), 'bad-payload', 'a frame with no message');
  t.equal(reasonOf(() => new FrameDecoder().push(raw({ from: 'a', to: 'b', msgs: [{ type: 'x' }, 'x'] }))), 'bad-payload', 'one untyped message spoils the batch');
  t.equal(reasonOf(() => new FrameDecoder().push(raw({ from: 'a', to: 'b', msg: { type: 'x' } }))), 'bad-payload', 'the version-2 single-message shape');
  const other = Buffer.from(encodeFrame(payload(1)));
  other[4] = frameVersion + 1;
  t.equal(reasonOf(() => new FrameDecoder().push(other)), 'bad-version');
});

t.test('a session binds each frame to its position: replayed, dropped or reordered frames are refused', async (t) => {
  const key = Buffer.alloc(32, 7);
  const frames = [0, 1, 2].map((i) => encodeFrame(payload(i), key, i));
  const inOrder = new FrameDecoder('cluster');
  inOrder.rekey(key);
  t.same(inOrder.push(Buffer.concat(frames)), [payload(0), payload(1), payload(2)], 'in order, each at its position, all pass');
  t.equal(reasonOf(() => inOrder.push(frames[2]!)), 'replay', 'the same frame again is a replay');
  const skipped = new FrameDecoder('cluster');
  skipped.rekey(key);
  t.equal(reasonOf(() => skipped.push(frames[1]!)), 'replay', 'a frame out of its position is refused');
  const otherSession = new FrameDecoder('cluster');
  otherSession.rekey(Buffer.alloc(32, 8));
  t.equal(reasonOf(() => otherSession.push(frames[0]!)), 'replay', 'a frame of another session is refused');
  // A handshake frame signed with the cluster key, then the session, in one chunk: pushEach rekeys between them.
  const hello = encodeFrame({ from: 'n1', to: 'n2', msgs: [{ type: 'hello' }] }, 'cluster');
  const d = new FrameDecoder('cluster');
  const seen: string[] = [];
  d.pushEach(Buffer.concat([hello, frames[0]!, frames[1]!]), (f) => {
    seen.push(f.msgs[0]!.type);
    if (f.msgs[0]!.type === 'hello') d.rekey(key);
  });
  t.same(seen, ['hello', 'put', 'put'], 'the frames behind the handshake are read with the session key');
  const unsigned = new FrameDecoder();
  unsigned.rekey(undefined);
  t.same(unsigned.push(encodeFrame(payload(5))), [payload(5)], 'without a secret nothing is signed');
});

t.test('a batch frame built from serialised messages decodes to the same messages, signed once for its position', async (t) => {
  const msgs = [{ type: 'write', key: 'a', s: { v: 'AAEC' } }, { type: 'write-ack', req: 'r1' }, { type: 'read', req: 'r2', kind: 'kv', key: 'é/"q"' }];
  const key = Buffer.alloc(32, 3);
  const json = payloadJson('n1', 'n2', 7.25, msgs.map((m) => JSON.stringify(m)));
  t.same(JSON.parse(json), { from: 'n1', to: 'n2', at: 7.25, msgs }, 'the joined payload is the JSON of the whole frame');
  const d = new FrameDecoder('cluster');
  d.rekey(key);
  t.same(d.push(Buffer.concat([encodeFrameJson(json, key, 0), encodeFrame({ from: 'n1', to: 'n2', msgs: [msgs[0]!] }, key, 1)])), [
    { from: 'n1', to: 'n2', at: 7.25, msgs },
    { from: 'n1', to: 'n2', msgs: [msgs[0]] },
  ]);
  t.same(JSON.parse(payloadJson('n1', 'n2', undefined, ['{"type":"x"}'])), { from: 'n1', to: 'n2', msgs: [{ type: 'x' }] }, 'no send time, no at');
  const replayed = new FrameDecoder('cluster');
  replayed.rekey(key);
  t.equal(reasonOf(() => replayed.push(encodeFrameJson(json, key, 1))), 'replay', 'a batch is bound to its position like any frame');
});
