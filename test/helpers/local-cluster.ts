// Spawns real node processes (node/main.ts under tsx) on loopback addresses for end-to-end tests. Every
// node gets its own 127.0.0.x address, free ports and a temporary data directory; `close` kills every
// child and removes every directory, and a process exit hook does the same if a test runner dies.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LocalNode {
  readonly id: string;
  readonly host: string;
  readonly httpPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** Base URL of the client API, e.g. http://127.0.0.41:40123 */
  readonly url: string;
  env: Record<string, string>;
  proc: ChildProcess | undefined;
  /** Every stdout/stderr line the node printed (bounded to the last 20,000). */
  readonly logs: string[];
}

export interface LocalClusterOptions {
  readonly size: number;
  /** Last octet of the first node's 127.0.0.x address; node i gets firstOctet + i. */
  readonly firstOctet: number;
  /** QL_* settings shared by every node (QL_ID, QL_HTTP, QL_PEER, QL_SEEDS, QL_DATA are filled in). */
  readonly env?: Record<string, string>;
  readonly idPrefix?: string;
  /** Extra flags for the node's `node` binary (e.g. --cpu-prof for profiling). */
  readonly nodeArgs?: readonly string[];
}

const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of liveChildren) c.kill('SIGKILL');
});

export async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

export class LocalCluster {
  readonly nodes: LocalNode[] = [];
  private readonly dirs: string[] = [];
  private nodeArgs: readonly string[] = [];

  private constructor() {}

  /** Creates (does not start) the nodes' configuration; `start` launches them. */
  static async create(options: LocalClusterOptions): Promise<LocalCluster> {
    const cluster = new LocalCluster();
    cluster.nodeArgs = options.nodeArgs ?? [];
    const prefix = options.idPrefix ?? 'n';
    const specs: { id: string; host: string; httpPort: number; peerPort: number }[] = [];
    for (let i = 0; i < options.size; i++) {
      const host = `127.0.0.${options.firstOctet + i}`;
      specs.push({ id: `${prefix}${i + 1}`, host, httpPort: await freePort(host), peerPort: await freePort(host) });
    }
    const seeds = specs.map((s) => `${s.id}@${s.host}:${s.peerPort}`).join(',');
    // Nodes refuse to start without a secret; each cluster gets a fresh one, as a harness run does.
    const secret = randomBytes(32).toString('hex');
    for (const s of specs) {
      const dataDir = mkdtempSync(join(tmpdir(), `ql-node-${s.id}-`));
      cluster.dirs.push(dataDir);
      cluster.nodes.push({
        ...s,
        dataDir,
        url: `http://${s.host}:${s.httpPort}`,
        proc: undefined,
        logs: [],
        env: {
          QL_ID: s.id,
          QL_HTTP: `${s.host}:${s.httpPort}`,
          QL_PEER: `${s.host}:${s.peerPort}`,
          QL_SEEDS: seeds,
          QL_DATA: dataDir,
          QL_GOSSIP_MS: '100',
          QL_SECRET: secret,
          ...options.env,
        },
      });
    }
    return cluster;
  }

  /** Creates, starts and waits until every node sees every other as up. */
  static async start(options: LocalClusterOptions, readyTimeoutMs = 30_000): Promise<LocalCluster> {
    const cluster = await LocalCluster.create(options);
    try {
      for (const n of cluster.nodes) cluster.spawn(n);
      await cluster.waitAllUp(cluster.nodes, readyTimeoutMs);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** Starts a node process (again, after a kill) with its env, plus `extraEnv`. */
  spawn(node: LocalNode, extraEnv: Record<string, string> = {}): ChildProcess {
    if (node.proc && node.proc.exitCode === null && node.proc.signalCode === null) throw new Error(`${node.id} is already running`);
    // QL_* variables of the test runner's own environment must not leak into a node's configuration.
    const parentEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QL_')));
    const proc = spawn(process.execPath, [...this.nodeArgs, '--import', 'tsx', 'node/main.ts'], {
      cwd: repoRoot,
      env: { ...parentEnv, ...node.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveChildren.add(proc);
    proc.once('exit', () => liveChildren.delete(proc));
    const collect = (stream: NodeJS.ReadableStream | null): void => {
      let rest = '';
      stream?.on('data', (chunk: Buffer) => {
        rest += chunk.toString();
        const lines = rest.split('\n');
        rest = lines.pop()!;
        node.logs.push(...lines);
        if (node.logs.length > 20_000) node.logs.splice(0, node.logs.length - 20_000);
      });
    };
    collect(proc.stdout);
    collect(proc.stderr);
    node.proc = proc;
    return proc;
  }

  /** SIGKILL: the process dies with whatever was not durable. */
  async kill(node: LocalNode): Promise<void> {
    await this.signal(node, 'SIGKILL');
  }

  /** SIGTERM: a clean stop; resolves with the exit code. */
  async stop(node: LocalNode): Promise<number | null> {
    return this.signal(node, 'SIGTERM');
  }

  private async signal(node: LocalNode, signal: NodeJS.Signals): Promise<number | null> {
    const proc = node.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  async status(node: LocalNode): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await fetch(`${node.url}/admin/status`, { signal: AbortSignal.timeout(2000) });
      if (res.status !== 200) return undefined;
      return (await res.json()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /** Waits until each of `nodes` answers /admin/status and lists every one of `nodes` as up. */
  async waitAllUp(nodes: readonly LocalNode[] = this.nodes, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ids = nodes.map((n) => n.id);
    for (;;) {
      let ready = true;
      for (const n of nodes) {
        if (n.proc && n.proc.exitCode !== null) throw new Error(`${n.id} exited with ${n.proc.exitCode}: ${n.logs.slice(-5).join(' | ')}`);
        const s = await this.status(n);
        const members = (s?.['members'] ?? []) as { id: string; status: string }[];
        if (!s || !ids.every((id) => members.some((m) => m.id === id && m.status === 'up'))) {
          ready = false;
          break;
        }
      }
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`cluster not up after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Waits until a node answers /admin/status with 200. */
  async waitReady(node: LocalNode, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.status(node)) === undefined) {
      if (node.proc && node.proc.exitCode !== null) throw new Error(`${node.id} exited with ${node.proc.exitCode}: ${node.logs.slice(-5).join(' | ')}`);
      if (Date.now() > deadline) throw new Error(`${node.id} not ready after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Parsed JSON log lines of a node that have the given event. */
  events(node: LocalNode, event: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of node.logs) {
      if (!line.includes(event)) continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o['event'] === event) out.push(o);
      } catch {
        // Not a log line (stderr noise); ignore.
      }
    }
    return out;
  }

  /** Kills every child and removes every data directory. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
