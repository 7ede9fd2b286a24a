// The Docker runtime: every node is a container on a private bridge network of this run, with a fixed
// address so seeds are known before anything starts. Faults come from outside: SIGKILL + start on the same
// bind-mounted data, `docker pause`, iptables DROP rules inside each container's network namespace
// (nsenter from the host), and a libfaketime offset file in a bind-mounted directory.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { NodeClient } from '../../workloads/client.js';
import { createHttpClient, type HttpNodeClient } from '../../workloads/http-client.js';
import type { Capability, ClusterSpec, Grudge, Runtime, RuntimeCapabilities } from './runtime.js';
import { isStaleRun, newRunId, registerTeardown, removeStaleTempDirs } from './cleanup.js';
import { ensureNodeImage } from './docker-image.js';
import { faketimeCapability, writeOffset } from './faketime.js';
import { applyRules, iptablesArgs, namespaceGrudgeRules, type CommandRunner } from './iptables.js';
import { type ReadyWhen, notReadyReason } from './readiness.js';

export interface DockerRuntimeOptions {
  /** Test another image (spec.image also does); default: the reference node's image, built if missing. */
  readonly image?: string;
  readonly socketPath?: string;
  readonly readyTimeoutMs?: number;
  readonly repoRoot?: string;
  readonly log?: (line: string) => void;
}

interface DockerNode {
  readonly id: string;
  readonly index: number;
  readonly ip: string;
  readonly hostPort: number;
  readonly containerName: string;
  readonly dataDir: string;
  readonly faketimeDir: string;
  readonly logFile: string;
  container: Docker.Container | undefined;
  state: 'running' | 'killed' | 'paused' | 'stopped';
}

const httpPort = 8080;
const peerPort = 7000;
const runLabel = 'quorumlab.run';
const defaultRepoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const execFileAsync = promisify(execFile);

const runCommand: CommandRunner = async (file, args) => {
  const r = await execFileAsync(file, [...args], { timeout: 20_000 });
  return { stdout: r.stdout };
};

/** Whether a Docker daemon answers, and if not why (tests skip with this message). */
export async function dockerAvailable(socketPath?: string): Promise<Capability> {
  const docker = new Docker(socketPath !== undefined ? { socketPath } : {});
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 3 s')), 3000).unref())]);
    return true;
  } catch (err) {
    return { unavailable: `no Docker daemon answers (${(err as Error).message})` };
  }
}

function which(bin: string): boolean {
  return (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => existsSync(path.join(d, bin)));
}

export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly options: DockerRuntimeOptions;
  private readonly readyTimeoutMs: number;
  private readonly repoRoot: string;
  private readonly log: (line: string) => void;
  private readonly runId = newRunId();
  private readonly networkName = `quorumlab-${this.runId}`;

  private spec: ClusterSpec | undefined;
  private image: string | undefined;
  private customImage = false;
  private network: Docker.Network | undefined;
  private subnetPrefix = '';
  private tempDir: string | undefined;
  private startedNs = process.hrtime.bigint();
  private readonly nodes = new Map<string, DockerNode>();
  private readonly removed = new Map<string, DockerNode>();
  private readonly clients = new Map<string, HttpNodeClient>();
  private nextIndex = 1;
  private grudge: Grudge = {};
  private unregister: (() => void) | undefined;
  private tornDown = false;
  /** Timings of the last setup, for reports and the test's printout. */
  readonly timings: { imageSeconds?: number; imageBuilt?: boolean; startedSeconds?: number; readySeconds?: number } = {};

  constructor(options: DockerRuntimeOptions = {}) {
    this.options = options;
    this.docker = new Docker(options.socketPath !== undefined ? { socketPath: options.socketPath } : {});
    this.readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.repoRoot = options.repoRoot ?? defaultRepoRoot;
    this.log = options.log ?? ((line) => process.stderr.write(`[docker] ${line}\n`));
  }

  get id(): string {
    return this.runId;
  }

  capabilities(): RuntimeCapabilities {
    const root = typeof process.getuid !== 'function' || process.getuid() === 0;
    const partition: Capability = !root
      ? { unavailable: 'partitions use nsenter + iptables in the containers, which needs root' }
      : !which('nsenter') || !which('iptables')
        ? { unavailable: 'nsenter and iptables must be installed on the host' }
        : true;
    const custom = this.customImage || this.options.image !== undefined;
    const clock: Capability = custom
      ? { unavailable: 'clock skew needs libfaketime inside the image; only the reference image is known to have it' }
      : faketimeCapability();
    return { partition, clock, crash: true, pause: true, membership: true };
  }

  async setup(spec: ClusterSpec): Promise<void> {
    if (this.spec !== undefined) throw new Error('setup was already called on this runtime (definite: nothing started)');
    if (spec.nodes < 1 || spec.nodes > 200) throw new Error(`the docker runtime runs 1-200 nodes, asked for ${spec.nodes} (definite: nothing started)`);
    this.spec = spec;
    this.startedNs = process.hrtime.bigint();
    this.unregister = registerTeardown(() => this.teardown());
    try {
      const available = await dockerAvailable(this.options.socketPath);
      if (available !== true) throw new Error(`${available.unavailable} (definite: nothing started)`);
      await this.removeLeftovers();
      const custom = spec.image ?? this.options.image;
      if (custom !== undefined) {
        this.customImage = true;
        this.image = custom;
      } else {
        const built = await ensureNodeImage(this.docker, this.repoRoot, this.log);
        this.image = built.tag;
        this.timings.imageSeconds = built.seconds;
        this.timings.imageBuilt = built.built;
      }
      const readyStarted = Date.now();
      this.tempDir = await mkdtemp(path.join(os.tmpdir(), `quorumlab-${this.runId}-`));
      await this.createNetwork();
      const initial: DockerNode[] = [];
      for (let i = 0; i < spec.nodes; i++) {
        const node = await this.defineNode(this.nextIndex++);
        initial.push(node);
        this.nodes.set(node.id, node);
      }
      const seeds = initial.map((n) => `${n.id}@${n.ip}:${peerPort}`).join(',');
      await Promise.all(initial.map((n) => this.createAndStart(n, seeds)));
      this.timings.startedSeconds = (Date.now() - readyStarted) / 1000;
      const ids = initial.map((n) => n.id);
      await Promise.all(initial.map((n) => this.waitReady(n, { expected: ids, settled: true })));
      this.timings.readySeconds = (Date.now() - readyStarted) / 1000;
    } catch (err) {
      await this.teardown().catch(() => undefined);
      throw err;
    }
  }

  nodeIds(): string[] {
    return [...this.nodes.keys()];
  }

  client(nodeId: string): NodeClient {
    const node = this.mustGet(nodeId);
    let c = this.clients.get(nodeId);
    if (c === undefined) {
      c = createHttpClient(nodeId, `http://127.0.0.1:${node.hostPort}`);
      this.clients.set(nodeId, c);
    }
    return c;
  }

  nowNs(): number {
    return Number(process.hrtime.bigint() - this.startedNs);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async partition(grudge: Grudge): Promise<void> {
    this.require('partition', this.capabilities().partition);
    this.grudge = grudge;
    for (const node of this.nodes.values()) await this.applyGrudgeTo(node);
  }

  async heal(): Promise<void> {
    this.grudge = {};
    if (this.capabilities().partition !== true) return;
    for (const node of this.nodes.values()) await this.applyGrudgeTo(node);
  }

  async kill(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    const c = node.container!;
    const info = await c.inspect();
    if (info.State.Running) {
      await c.kill({ signal: 'SIGKILL' });
      // A paused container receives the kill once it is thawed.
      if (info.State.Paused) await c.unpause().catch(() => undefined);
      await c.wait();
    }
    node.state = 'killed';
  }

  async restart(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    await node.container!.start();
    node.state = 'running';
    // A started container has a fresh network namespace: the partition in force must be put back.
    await this.applyGrudgeTo(node);
    await this.waitReady(node, { expected: [node.id] });
  }

  async pause(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    await node.container!.pause();
    node.state = 'paused';
  }

  async resume(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    await node.container!.unpause();
    node.state = 'running';
  }

  async setClockOffset(nodeId: string, offsetMs: number): Promise<void> {
    this.require('clock', this.capabilities().clock);
    await writeOffset(path.join(this.mustGet(nodeId).faketimeDir, 'offset'), offsetMs);
  }

  async addNode(): Promise<string> {
    const seeds = [...this.nodes.values()].map((n) => `${n.id}@${n.ip}:${peerPort}`).join(',');
    const node = await this.defineNode(this.nextIndex++);
    this.nodes.set(node.id, node);
    await this.createAndStart(node, seeds);
    await this.applyGrudgeTo(node);
    await this.waitReady(node, { expected: [node.id], joining: true });
    return node.id;
  }

  async removeNode(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    const leave = await this.client(nodeId).adminLeave();
    if (leave.type !== 'ok') this.log(`${nodeId}: /admin/leave answered ${leave.type} (${leave.error}); stopping it anyway`);
    await node.container!.stop({ t: 10 }).catch(() => undefined);
    node.state = 'stopped';
    await this.collectLogs(node);
    await node.container!.remove({ force: true, v: true }).catch(() => undefined);
    node.container = undefined;
    this.nodes.delete(nodeId);
    this.removed.set(nodeId, node);
    this.clients.get(nodeId)?.close();
    this.clients.delete(nodeId);
  }

  logFiles(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const n of [...this.nodes.values(), ...this.removed.values()]) out[n.id] = n.logFile;
    return out;
  }

  /** Writes every live container's log so far to `<runDir>/nodes/<id>/node.log` (teardown does it too). */
  async collectAllLogs(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => this.collectLogs(n)));
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await Promise.all(
      [...this.nodes.values()].map(async (n) => {
        await this.collectLogs(n);
        await n.container?.remove({ force: true, v: true }).catch((err) => this.log(`could not remove ${n.containerName}: ${String(err)}`));
        n.container = undefined;
      }),
    );
    // Containers created but not yet registered (a failed setup) are found by label.
    const stray = await this.docker.listContainers({ all: true, filters: { label: [`${runLabel}=${this.runId}`] } }).catch(() => []);
    for (const c of stray) await this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
    if (this.network !== undefined) {
      await this.network.remove().catch((err) => this.log(`could not remove network ${this.networkName}: ${String(err)}`));
      this.network = undefined;
    }
    if (this.tempDir !== undefined) {
      await rm(this.tempDir, { recursive: true, force: true });
      this.tempDir = undefined;
    }
    this.unregister?.();
  }

  // --- internals ---

  /** A private /24 for this run; a random one in 10.213-220.x, retried when it overlaps another network. */
  private async createNetwork(): Promise<void> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 12; attempt++) {
      const second = 213 + Math.floor(Math.random() * 8);
      const third = Math.floor(Math.random() * 256);
      const prefix = `10.${second}.${third}`;
      try {
        this.network = await this.docker.createNetwork({
          Name: this.networkName,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: { [runLabel]: this.runId },
          IPAM: { Driver: 'default', Config: [{ Subnet: `${prefix}.0/24`, Gateway: `${prefix}.1` }] },
        });
        this.subnetPrefix = prefix;
        return;
      } catch (err) {
        lastErr = err;
        if (!/overlap|in use|conflict/i.test(String((err as Error).message))) break;
      }
    }
    throw new Error(`could not create the run's Docker network ${this.networkName}: ${String((lastErr as Error)?.message ?? lastErr)} (definite: nothing started)`);
  }

  private async defineNode(index: number): Promise<DockerNode> {
    if (index > 240) throw new Error(`no address left in the run's /24 for n${index} (definite: nothing started)`);
    const id = `n${index}`;
    const dataDir = path.join(this.tempDir!, id, 'data');
    const faketimeDir = path.join(this.tempDir!, id, 'faketime');
    const logDir = path.join(this.spec!.runDir, 'nodes', id);
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(faketimeDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    await writeOffset(path.join(faketimeDir, 'offset'), 0);
    return {
      id,
      index,
      ip: `${this.subnetPrefix}.${10 + index}`,
      hostPort: await freeLoopbackPort(),
      containerName: `quorumlab-${this.runId}-${id}`,
      dataDir,
      faketimeDir,
      logFile: path.join(logDir, 'node.log'),
      container: undefined,
      state: 'stopped',
    };
  }

  private async createAndStart(node: DockerNode, seeds: string): Promise<void> {
    const spec = this.spec!;
    const env: Record<string, string> = {
      QL_ID: node.id,
      QL_HTTP: `0.0.0.0:${httpPort}`,
      QL_PEER: `${node.ip}:${peerPort}`,
      QL_SEEDS: seeds,
      QL_DATA: '/data',
      QL_N: String(spec.n),
      QL_R: String(spec.r),
      QL_W: String(spec.w),
      QL_SLOPPY: spec.sloppy ? '1' : '0',
      QL_CONFLICTS: spec.conflicts,
      QL_VNODES: String(spec.vnodes),
      ...(spec.secret !== undefined ? { QL_SECRET: spec.secret } : {}),
      ...(spec.env ?? {}),
    };
    if (this.capabilities().clock === true) {
      Object.assign(env, {
        LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
        FAKETIME_TIMESTAMP_FILE: '/faketime/offset',
        FAKETIME_NO_CACHE: '1',
        DONT_FAKE_MONOTONIC: '1',
      });
    }
    node.container = await this.docker.createContainer({
      name: node.containerName,
      Image: this.image!,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { [runLabel]: this.runId, 'quorumlab.node': node.id },
      ExposedPorts: { [`${httpPort}/tcp`]: {} },
      HostConfig: {
        NetworkMode: this.networkName,
        PortBindings: { [`${httpPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(node.hostPort) }] },
        Binds: [`${node.dataDir}:/data`, `${node.faketimeDir}:/faketime`],
        LogConfig: { Type: 'json-file', Config: {} },
      },
      NetworkingConfig: { EndpointsConfig: { [this.networkName]: { IPAMConfig: { IPv4Address: node.ip } } } },
    });
    await node.container.start();
    node.state = 'running';
  }

  private async containerPid(node: DockerNode): Promise<number | undefined> {
    const info = await node.container!.inspect();
    return info.State.Running && info.State.Pid > 0 ? info.State.Pid : undefined;
  }

  /** Replaces the INPUT rules in the node's namespace with the DROP rules the grudge in force asks for. */
  private async applyGrudgeTo(node: DockerNode): Promise<void> {
    if (this.capabilities().partition !== true || node.container === undefined) return;
    const pid = await this.containerPid(node);
    if (pid === undefined) return; // A stopped container gets its rules when it starts again.
    const inNs: CommandRunner = (file, args) => runCommand('nsenter', ['-t', String(pid), '-n', file, ...args]);
    await inNs('iptables', iptablesArgs(['-F', 'INPUT']));
    await applyRules(inNs, namespaceGrudgeRules(this.grudge[node.id] ?? [], (id) => (this.nodes.get(id) ?? this.removed.get(id))?.ip));
  }

  private async waitReady(node: DockerNode, when: ReadyWhen): Promise<void> {
    const client = this.client(node.id);
    const deadline = Date.now() + this.readyTimeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const s = await client.adminStatus();
      if (s.type === 'ok') {
        const reason = notReadyReason(s.value, node.id, when);
        if (reason === undefined) return;
        last = reason;
      } else {
        last = s.error;
        const info = await node.container!.inspect().catch(() => undefined);
        if (info !== undefined && !info.State.Running) {
          throw new Error(`${node.id} (${node.containerName}) exited during startup with code ${info.State.ExitCode} (definite: the cluster is not up). Last log lines:\n${await this.logTail(node)}`);
        }
      }
      await this.sleep(100);
    }
    throw new Error(`${node.id} (${node.containerName}) was not ready within ${this.readyTimeoutMs} ms (${last}) (definite: the cluster is not up). Last log lines:\n${await this.logTail(node)}`);
  }

  private async logText(node: DockerNode): Promise<string> {
    if (node.container === undefined) return '';
    const buf = (await node.container.logs({ stdout: true, stderr: true, follow: false, timestamps: false })) as unknown as Buffer;
    return demuxDockerLog(buf);
  }

  private async logTail(node: DockerNode, lines = 20): Promise<string> {
    try {
      return (await this.logText(node)).trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private async collectLogs(node: DockerNode): Promise<void> {
    try {
      writeFileSync(node.logFile, await this.logText(node));
    } catch (err) {
      this.log(`could not collect the log of ${node.id}: ${String(err)}`);
    }
  }

  private async removeLeftovers(): Promise<void> {
    await removeDockerLeftovers(this.docker, this.log);
  }

  private mustGet(nodeId: string): DockerNode {
    const n = this.nodes.get(nodeId);
    if (n === undefined) throw new Error(`no such node "${nodeId}" in this cluster (definite: nothing was done)`);
    return n;
  }

  private require(what: string, cap: Capability): void {
    if (cap !== true) throw new Error(`${what} is unavailable on the docker runtime: ${cap.unavailable} (definite: nothing was done)`);
  }
}

/**
 * Removes containers and networks labelled by runs whose harness process is gone (live runs of other
 * harness processes are left alone). Returns the names it removed.
 */
export async function removeDockerLeftovers(docker: Docker, log: (line: string) => void): Promise<{ containers: string[]; networks: string[] }> {
  const removed = { containers: [] as string[], networks: [] as string[] };
  const containers = await docker.listContainers({ all: true, filters: { label: [runLabel] } });
  for (const c of containers) {
    const runId = c.Labels[runLabel] ?? '';
    if (!isStaleRun(runId)) continue;
    const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
    log(`removing leftover container ${name} of dead run ${runId}`);
    await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
    removed.containers.push(name);
  }
  const networks = await docker.listNetworks({ filters: { label: [runLabel] } });
  for (const n of networks) {
    const runId = n.Labels?.[runLabel] ?? '';
    if (!isStaleRun(runId)) continue;
    log(`removing leftover network ${n.Name} of dead run ${runId}`);
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
    removed.networks.push(n.Name);
  }
  removeStaleTempDirs(log);
  return removed;
}

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

/** A port on 127.0.0.1 that is free now (bound and released); published ports stay fixed across restarts. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
