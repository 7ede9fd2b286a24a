// A 3-member etcd cluster on loopback, started by the bench as the system users would otherwise pick for
// replicated, durable key-value storage. etcd fsyncs its WAL before acknowledging, as our node does, so the
// comparison is durable against durable. Driven through its HTTP/JSON gateway (/v3/kv/put, /v3/kv/range).
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

export interface EtcdCluster {
  readonly endpoints: string[];
  /** The members' process ids, for their CPU time. */
  readonly pids: number[];
  stop(): Promise<void>;
}

export function etcdAvailable(): string | undefined {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'etcd is not installed (Debian: apt-get install etcd-server)';
  }
}

const hosts = ['127.0.0.71', '127.0.0.72', '127.0.0.73'];

export async function startEtcd(): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ql-bench-etcd-'));
  const initial = hosts.map((h, i) => `e${i + 1}=http://${h}:2380`).join(',');
  const children: ChildProcess[] = hosts.map((host, i) =>
    spawn('etcd', [
      '--name', `e${i + 1}`,
      '--data-dir', join(dir, `e${i + 1}`),
      '--listen-client-urls', `http://${host}:2379`,
      '--advertise-client-urls', `http://${host}:2379`,
      '--listen-peer-urls', `http://${host}:2380`,
      '--initial-advertise-peer-urls', `http://${host}:2380`,
      '--initial-cluster', initial,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', 'quorumlab-bench',
      '--log-level', 'error',
    ], { stdio: 'ignore' }),
  );
  const endpoints = hosts.map((h) => `http://${h}:2379`);
  const stop = async (): Promise<void> => {
    for (const c of children) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const healthy = await Promise.all(endpoints.map((e) => etcdPut(e, 'bench-probe', 'x').then(() => true, () => false)));
    if (healthy.every(Boolean)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('etcd cluster did not become healthy within 30 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { endpoints, pids: children.map((c) => c.pid).filter((p): p is number => p !== undefined), stop };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) resolve(text);
        else reject(new Error(`etcd answered ${res.statusCode}: ${text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('etcd request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function etcdPut(endpoint: string, key: string, value: string): Promise<void> {
  await post(`${endpoint}/v3/kv/put`, JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }));
}

/** A linearizable read (etcd's default), the counterpart of our quorum read. */
export async function etcdGet(endpoint: string, key: string): Promise<void> {
  await post(`${endpoint}/v3/kv/range`, JSON.stringify({ key: Buffer.from(key).toString('base64') }));
}
