// A single Redis server without replication: the ceiling of one server, not a like-for-like competitor. Run
// twice by the bench: without persistence (the in-memory ceiling), and with an append-only file fsynced
// before every reply (`appendfsync always`), the durable one-server ceiling beside our durable writes.
// Spoken to with a minimal RESP client (one connection per load worker).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

export function redisAvailable(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'redis-server is not installed (Debian: apt-get install redis-server)';
  }
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** The server's process id, for its CPU time. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** 'none': no persistence at all; 'fsync-always': AOF with appendfsync always (fsync before replying). */
export type RedisDurability = 'none' | 'fsync-always';

export async function startRedis(host = '127.0.0.74', port = 6390, durability: RedisDurability = 'none'): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ql-bench-redis-'));
  const persistence = durability === 'none' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  const child = spawn('redis-server', ['--bind', host, '--port', String(port), '--save', '', ...persistence, '--protected-mode', 'no'], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const c = await RespConnection.open(host, port);
      await c.command(['PING']);
      c.close();
      return { host, port, pid: child.pid, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server did not answer within 10 s: ${String(error)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** One request at a time per connection, which is what a closed-loop worker needs. */
export class RespConnection {
  private buffer = Buffer.alloc(0);
  private pending: { resolve: (v: string | null) => void; reject: (e: Error) => void } | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.tryParse();
    });
    socket.on('error', (e) => this.pending?.reject(e));
  }

  static open(host: string, port: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(new RespConnection(socket)));
      socket.once('error', reject);
    });
  }

  command(args: readonly (string | Buffer)[]): Promise<string | null> {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = typeof a === 'string' ? Buffer.from(a) : a;
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(Buffer.concat(parts));
    });
  }

  private tryParse(): void {
    if (!this.pending) return;
    const lineEnd = this.buffer.indexOf('\r\n');
    if (lineEnd < 0) return;
    const kind = String.fromCharCode(this.buffer[0]!);
    const line = this.buffer.subarray(1, lineEnd).toString();
    let consumed: number;
    let value: string | null;
    if (kind === '$') {
      const length = Number(line);
      if (length < 0) {
        consumed = lineEnd + 2;
        value = null;
      } else {
        if (this.buffer.length < lineEnd + 2 + length + 2) return;
        value = this.buffer.subarray(lineEnd + 2, lineEnd + 2 + length).toString();
        consumed = lineEnd + 2 + length + 2;
      }
    } else if (kind === '-') {
      const p = this.pending;
      this.pending = undefined;
      this.buffer = this.buffer.subarray(lineEnd + 2);
      p.reject(new Error(`redis error: ${line}`));
      return;
    } else {
      value = line;
      consumed = lineEnd + 2;
    }
    const p = this.pending;
    this.pending = undefined;
    this.buffer = this.buffer.subarray(consumed);
    p.resolve(value);
  }

  close(): void {
    this.socket.destroy();
  }
}
