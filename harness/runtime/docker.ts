// The Docker runtime: every node is a container on a private bridge network of this run, with a fixed
// address so seeds are known before anything starts. Faults come from outside: SIGKILL + start on the same
// bind-mounted data, `docker pause`, iptables DROP rules inside each container's network namespace
// (nsenter from the host), and a libfaketime offset file in a bind-mounted directory.
// What it shares with the local runtime (the QL_* environment, the roster and its clients, readiness,
// removal by leave) lives in modules of its own beside this file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { runSecret, type Capability, type ClusterSpec, type Grudge, type Runtime, type RuntimeCapabilities } from './runtime.js';
import { requireCapability } from './capability.js';
import { newRunId, registerTeardown } from './cleanup.js';
import { emptyDirectory } from './data-directory.js';
import { dockerAvailable, removeDockerLeftovers, runLabel } from './docker-engine.js';
import { ensureNodeImage } from './docker-image.js';
import { containerLogText } from './docker-logs.js';
import { createRunNetwork } from './docker-network.js';
import { faketimeCapability, faketimeEnv, writeOffset } from './faketime.js';
import { freeLoopbackPort } from './loopback-ports.js';
import { namespacePartitionCapability, replaceNamespaceRules } from './namespace-partition.js';
import { nodeEnv, seedList } from './node-env.js';
import { removeWithLeave } from './node-removal.js';
import { type ReadyWhen, waitUntilReady } from './readiness.js';
import { ProcessRuntime } from './process-runtime.js';

export { dockerAvailable, removeDockerLeftovers } from './docker-engine.js';
export { demuxDockerLog } from './docker-logs.js';

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
  readonly peerAddr: string;
  readonly hostPort: number;
  readonly baseUrl: string;
  readonly containerName: string;
  readonly dataDir: string;
  readonly faketimeDir: string;
  readonly logFile: string;
  container: Docker.Container | undefined;
  state: 'running' | 'killed' | 'paused' | 'stopped';
}

const httpPort = 8080;
const peerPort = 7000;
const defaultRepoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export class DockerRuntime extends ProcessRuntime<DockerNode> implements Runtime {
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
  private nextIndex = 1;
  private grudge: Grudge = {};
  private unregister: (() => void) | undefined;
  private tornDown = false;
  /** Timings of the last setup, for reports and the test's printout. */
  readonly timings: { imageSeconds?: number; imageBuilt?: boolean; startedSeconds?: number; readySeconds?: number } = {};

  constructor(options: DockerRuntimeOptions = {}) {
    super();
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
    const partition = namespacePartitionCapability();
    const custom = this.customImage || this.options.image !== undefined;
    const clock: Capability = custom
      ? { unavailable: 'clock skew needs libfaketime inside the image; only the reference image is known to have it' }
      : faketimeCapability();
    return { partition, clock, crash: true, pause: true, membership: true, 'disk-loss': true };
  }

  async setup(spec: ClusterSpec): Promise<void> {
    if (this.spec !== undefined) throw new Error('setup was already called on this runtime (definite: nothing started)');
    if (spec.nodes < 1 || spec.nodes > 200) throw new Error(`the docker runtime runs 1-200 nodes, asked for ${spec.nodes} (definite: nothing started)`);
    // One secret for every node of the run, joiners included (see runSecret).
    this.spec = { ...spec, secret: runSecret(spec) };
    this.clock.restart();
    this.unregister = registerTeardown(() => this.teardown());
    try {
      const available = await dockerAvailable(this.options.socketPath);
      if (available !== true) throw new Error(`${available.unavailable} (definite: nothing started)`);
      await removeDockerLeftovers(this.docker, this.log);
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
      const net = await createRunNetwork(this.docker, this.networkName, this.runId);
      this.network = net.network;
      this.subnetPrefix = net.prefix;
      const initial: DockerNode[] = [];
      for (let i = 0; i < spec.nodes; i++) {
        const node = await this.defineNode(this.nextIndex++);
        initial.push(node);
        this.nodes.add(node);
      }
      const seeds = seedList(initial);
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

  async partition(grudge: Grudge): Promise<void> {
    requireCapability(this.kind, 'partition', this.capabilities().partition);
    this.grudge = grudge;
    for (const node of this.nodes.current()) await this.applyGrudgeTo(node);
  }

  async heal(): Promise<void> {
    this.grudge = {};
    if (this.capabilities().partition !== true) return;
    for (const node of this.nodes.current()) await this.applyGrudgeTo(node);
  }

  async kill(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
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
    const node = this.nodes.mustGet(nodeId);
    await node.container!.start();
    node.state = 'running';
    // A started container has a fresh network namespace: the partition in force must be put back.
    await this.applyGrudgeTo(node);
    await this.waitReady(node, { expected: [node.id] });
  }

  async wipe(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    if (node.container !== undefined && (await node.container.inspect()).State.Running) {
      throw new Error(`${nodeId} is still running; kill it before wiping its disk (definite: nothing was done)`);
    }
    // The bind-mounted directory itself stays (the container's mount names it); only what is in it goes.
    emptyDirectory(node.dataDir);
  }

  async pause(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    await node.container!.pause();
    node.state = 'paused';
  }

  async resume(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    await node.container!.unpause();
    node.state = 'running';
  }

  async setClockOffset(nodeId: string, offsetMs: number): Promise<void> {
    requireCapability(this.kind, 'clock', this.capabilities().clock);
    await writeOffset(path.join(this.nodes.mustGet(nodeId).faketimeDir, 'offset'), offsetMs);
  }

  async addNode(): Promise<string> {
    const seeds = seedList(this.nodes.current());
    const node = await this.defineNode(this.nextIndex++);
    this.nodes.add(node);
    await this.createAndStart(node, seeds);
    await this.applyGrudgeTo(node);
    await this.waitReady(node, { expected: [node.id], joining: true });
    return node.id;
  }

  async removeNode(nodeId: string): Promise<void> {
    await removeWithLeave(this.nodes, nodeId, this.log, async (node) => {
      await node.container!.stop({ t: 10 }).catch(() => undefined);
      node.state = 'stopped';
      await this.collectLogs(node);
      await node.container!.remove({ force: true, v: true }).catch(() => undefined);
      node.container = undefined;
    });
  }

  /** Writes every live container's log so far to `<runDir>/nodes/<id>/node.log` (teardown does it too). */
  async collectAllLogs(): Promise<void> {
    await Promise.all(this.nodes.current().map((n) => this.collectLogs(n)));
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    this.nodes.closeClients();
    await Promise.all(
      this.nodes.current().map(async (n) => {
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
    const ip = `${this.subnetPrefix}.${10 + index}`;
    const hostPort = await freeLoopbackPort();
    return {
      id,
      index,
      ip,
      peerAddr: `${ip}:${peerPort}`,
      hostPort,
      baseUrl: `http://127.0.0.1:${hostPort}`,
      containerName: `quorumlab-${this.runId}-${id}`,
      dataDir,
      faketimeDir,
      logFile: path.join(logDir, 'node.log'),
      container: undefined,
      state: 'stopped',
    };
  }

  private async createAndStart(node: DockerNode, seeds: string): Promise<void> {
    const env = nodeEnv(this.spec!, { id: node.id, http: `0.0.0.0:${httpPort}`, peer: node.peerAddr, seeds, data: '/data' });
    // The reference image carries libfaketime at the host's path (docker-image.ts copies it there).
    if (this.capabilities().clock === true) Object.assign(env, faketimeEnv('/faketime/offset'));
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
    await replaceNamespaceRules(pid, this.grudge[node.id] ?? [], (id) => this.nodes.find(id)?.ip);
  }

  /** Waits (bounded) until the node is ready; asks the engine whether the container exited when it is silent. */
  private async waitReady(node: DockerNode, when: ReadyWhen): Promise<void> {
    await waitUntilReady({
      label: `${node.id} (${node.containerName})`,
      nodeId: node.id,
      client: this.client(node.id),
      when,
      timeoutMs: this.readyTimeoutMs,
      logHeading: 'Last log lines',
      logTail: () => this.logTail(node),
      sleep: (ms) => this.sleep(ms),
      goneAfterSilence: async () => {
        const info = await node.container!.inspect().catch(() => undefined);
        return info !== undefined && !info.State.Running ? `exited during startup with code ${info.State.ExitCode}` : undefined;
      },
    });
  }

  private async logText(node: DockerNode): Promise<string> {
    return node.container === undefined ? '' : containerLogText(node.container);
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
}

