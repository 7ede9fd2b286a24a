// Container logs: Docker's multiplexed log stream as text, for a node's log file and for error tails.
import type Docker from 'dockerode';

/** Docker multiplexes stdout/stderr of non-TTY containers in 8-byte-header frames; this strips them. */
export function demuxDockerLog(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    if (kind !== 0 && kind !== 1 && kind !== 2) return buf.toString('utf8'); // Not multiplexed.
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Everything the container wrote to stdout and stderr so far. */
export async function containerLogText(container: Docker.Container): Promise<string> {
  const buf = (await container.logs({ stdout: true, stderr: true, follow: false, timestamps: false })) as unknown as Buffer;
  return demuxDockerLog(buf);
}
