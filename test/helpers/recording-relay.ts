// A TCP relay that records what a dialer sends through it, so tests can replay a genuine peer link's bytes.
import type { Test } from 'tap';
import net from 'node:net';

/** A TCP relay that records what the dialer sends, so a test can play it again. */
export async function recordingRelay(t: Test, host: string, target: () => string) {
  const recorded: Buffer[] = [];
  const upstreams: net.Socket[] = [];
  const server = net.createServer((down) => {
    const [h, p] = target().split(':');
    const up = net.connect({ host: h!, port: Number(p) });
    upstreams.push(up);
    down.on('data', (d: Buffer) => {
      recorded.push(Buffer.from(d));
      up.write(d);
    });
    up.on('data', (d: Buffer) => down.write(d));
    for (const s of [up, down]) s.on('error', () => {});
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  t.teardown(() => new Promise((r) => { server.close(r); for (const u of upstreams) u.destroy(); }));
  /** The recorded dialer→acceptor stream cut into whole frames (u32 length prefix). */
  const frames = (): Buffer[] => {
    const all = Buffer.concat(recorded);
    const out: Buffer[] = [];
    for (let at = 0; at + 4 <= all.length; ) {
      const end = at + 4 + all.readUInt32BE(at);
      out.push(all.subarray(at, end));
      at = end;
    }
    return out;
  };
  /** Everything the dialer sent, as one buffer. */
  const stream = (): Buffer => Buffer.concat(recorded);
  return { addr: () => `${host}:${(server.address() as net.AddressInfo).port}`, frames, stream, upstreams };
}
