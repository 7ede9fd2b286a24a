// CPU per message of the peer frame path alone (node/frame.ts, node/peer-outbound.ts): a coordinator's
// replica writes of 1 KiB values (the kv bench's load) encoded into signed frames of `perFrame` messages,
// then decoded and verified as the receiving link does; and the replicas' acks. No sockets, no core.
//   npx tsx bench/frame-path.ts
import { randomBytes } from 'node:crypto';
import { FrameDecoder, encodeFrameJson, payloadJson } from '../node/frame.js';
import { messageJson } from '../node/peer-outbound.js';
import type { PeerMessage } from '../node/core/env.js';

const key = randomBytes(32);
const state = (i: number): unknown => ({
  s: [{ n: 'n1', c: 1000 + i, p: { n1: 999 + i, n2: 500, n3: 480 }, v: randomBytes(1024).toString('base64'), t: 1_764_000_000_000 + i, w: 'n1' }],
});
const writes: PeerMessage[] = Array.from({ length: 64 }, (_, i) => ({ type: 'write', req: `r${i}-abcdef`, kind: 'kv', key: `bench-${i}`, s: state(i) }) as PeerMessage);
const acks: PeerMessage[] = Array.from({ length: 64 }, (_, i) => ({ type: 'write-ack', req: `r${i}-abcdef` }) as PeerMessage);

function run(name: string, msgs: readonly PeerMessage[], perFrame: number, frames: number): void {
  const decoder = new FrameDecoder(key);
  decoder.rekey(key);
  let seq = 0;
  let delivered = 0;
  const once = (): void => {
    for (let f = 0; f < frames; f++) {
      const batch = [];
      for (let j = 0; j < perFrame; j++) batch.push(messageJson(msgs[(f * perFrame + j) % msgs.length]!));
      const frame = encodeFrameJson(payloadJson('n1', 'n2', 12.5, batch), key, seq++);
      decoder.pushEach(frame, (p) => (delivered += p.msgs.length));
    }
  };
  once();
  const u0 = process.cpuUsage();
  once();
  const u = process.cpuUsage(u0);
  console.log(`${name}, ${perFrame} per frame: ${((u.user + u.system) / (frames * perFrame)).toFixed(2)} µs CPU per message (encode + decode)`);
}

for (let round = 0; round < 2; round++) {
  run('write 1 KiB', writes, 4, 20000);
  run('write 1 KiB', writes, 12, 7000);
  run('write-ack', acks, 4, 20000);
}
