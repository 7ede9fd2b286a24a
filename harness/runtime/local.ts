// The local runtime: every node is a child process on its own loopback address (node i on 127.0.0.(10+i)),
// with faults applied from outside: SIGKILL/SIGSTOP/SIGCONT to the node's process group, iptables DROP
// rules in a chain owned by this run for partitions, and a libfaketime offset file for clock skew.
// What it shares with the Docker runtime (the QL_* environment, the roster and its clients, readiness,
// removal by leave) lives in modules of its own beside this file.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';
import { runSecret, type Capability, type ClusterSpec, type Grudge, type Runtime, type RuntimeCapabilities } from './runtime.js';
import { requireCapability } from './capability.js';
import { newRunId, registerExitHook, registerTeardown, runMarkerEnv } from './cleanup.js';
import { emptyDirectory } from './data-directory.js';
import { faketimeCapability, faketimeEnv, writeOffset } from './faketime.js';
import { runHostCommand } from './host-command.js';
import { applyRules, chainName, createChain, deleteChain, flushChain, hostGrudgeRules, iptablesCapability } from './iptables.js';
import { removeLocalLeftovers } from './local-leftovers.js';
import { assertFree } from './loopback-ports.js';
import { nodeEnv, seedList } from './node-env.js';
import { NodeProcess } from './node-process.js';
import { removeWithLeave } from './node-removal.js';
import { type ReadyWhen, waitUntilReady } from './readiness.js';
import { ProcessRuntime } from './process-runtime.js';

export { removeLocalLeftovers } from './local-leftovers.js';
export { assertFree } from './loopback-ports.js';

export interface LocalRuntimeOptions {
  /** Node i listens on 127.0.0.(hostBase + i); default 10 (so 127.0.0.11-20). */
  readonly hostBase?: number;
  /** Highest node index allowed (addresses stay inside the range reserved for this runtime); default 10. */
  readonly maxNodes?: number;
  readonly httpPort?: number;
  readonly peerPort?: number;
  /** Bound on setup (and on a restarted or added node becoming ready). */
  readonly readyTimeoutMs?: number;
  /** The repository root the reference node runs from; default: derived from this file. */
  readonly repoRoot?: string;
  /** Progress and cleanup messages; default stderr. */
  readonly log?: (line: string) => void;
  /**
   * false: nodes start without libfaketime preloaded, so the clock fault is unavailable. For measuring the
   * node as it would be deployed (the bench): with FAKETIME_NO_CACHE every wall-clock read goes through the
   * library and re-reads the offset file. Default true.
   */
  readonly faketime?: boolean;
}

interface LocalNode {
  readonly id: string;
  readonly index: number;
  readonly host: string;
  readonly peerAddr: string;
  readonly baseUrl: string;
  readonly logFile: string;
  readonly offsetFile: string;
  readonly env: Record<string, string>;
  readonly process: NodeProcess;
  state: 'running' | 'killed' | 'paused' | 'stopped';
}

const defaultRepoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export class LocalRuntime extends ProcessRuntime<LocalNode> implements Runtime {
  readonly kind = 'local' as const;
  private readonly hostBase: number;
  private readonly maxNodes: number;
  private readonly httpPort: number;
  private readonly peerPort: number;
  private readonly readyTimeoutMs: number;
  private readonly repoRoot: string;
  private readonly log: (line: string) => void;
  private readonly runId = newRunId();
  private readonly chain = chainName(this.runId);

  private spec: ClusterSpec | undefined;
  private tempDir: string | undefined;
  private nextIndex = 1;
  private partitionCap: Capability;
  private readonly clockCap: Capability;
  private chainCreated = false;
  private unregister: (() => void) | undefined;
  private tornDown = false;

  constructor(options: LocalRuntimeOptions = {}) {
    super();
    this.hostBase = options.hostBase ?? 10;
    this.maxNodes = options.maxNodes ?? 10;
    this.httpPort = options.httpPort ?? 18080;
    this.peerPort = options.peerPort ?? 17000;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.repoRoot = options.repoRoot ?? defaultRepoRoot;
    this.log = options.log ?? ((line) => process.stderr.write(`[local] ${line}\n`));
    // Partition support is settled in setup (it runs iptables); until then say why it is not known yet.
    this.partitionCap =
      typeof process.getuid === 'function' && process.getuid() !== 0
        ? { unavailable: 'partitions need iptables, which needs root (run the harness as root)' }
        : true;
    this.clockCap = options.faketime === false ? { unavailable: 'this runtime was started without libfaketime (faketime: false)' } : faketimeCapability();
  }

  capabilities(): RuntimeCapabilities {
    return { partition: this.partitionCap, clock: this.clockCap, crash: true, pause: true, membership: true, 'disk-loss': true };
  }

  /** This run's id (names its iptables chain, temp dir and node markers). */
  get id(): string {
    return this.runId;
  }

  async setup(spec: ClusterSpec): Promise<void> {
    if (this.spec !== undefined) throw new Error('setup was already called on this runtime (definite: nothing started)');
    if (spec.nodes < 1 || spec.nodes > this.maxNodes) {
      throw new Error(`the local runtime runs 1-${this.maxNodes} nodes on 127.0.0.${this.hostBase + 1}-${this.hostBase + this.maxNodes}, asked for ${spec.nodes} (definite: nothing started)`);
    }
    // One secret for every node of the run, joiners included (see runSecret).
    this.spec = { ...spec, secret: runSecret(spec) };
    this.clock.restart();
    const unregisterSignals = registerTeardown(() => this.teardown());
    const unregisterExit = registerExitHook(() => this.teardownSync());
    this.unregister = () => {
      unregisterSignals();
      unregisterExit();
    };
    try {
      await removeLocalLeftovers(this.log, this.partitionCap === true);
      if (this.partitionCap === true) {
        this.partitionCap = await iptablesCapability(runHostCommand);
        if (this.partitionCap === true) {
          await createChain(runHostCommand, this.chain);
          this.chainCreated = true;
        }
      }
      this.tempDir = await mkdtemp(path.join(os.tmpdir(), `quorumlab-${this.runId}-`));
      const initial: LocalNode[] = [];
      for (let i = 0; i < spec.nodes; i++) initial.push(this.defineNode(this.nextIndex++));
      const seeds = seedList(initial);
      for (const n of initial) {
        n.env['QL_SEEDS'] = seeds;
        await assertFree(n.host, this.httpPort);
        await assertFree(n.host, this.peerPort);
      }
      for (const n of initial) {
        this.nodes.add(n);
        await this.spawn(n);
      }
      const ids = initial.map((n) => n.id);
      await Promise.all(initial.map((n) => this.waitReady(n, { expected: ids, settled: true })));
    } catch (err) {
      await this.teardown().catch(() => undefined);
      throw err;
    }
  }

  async partition(grudge: Grudge): Promise<void> {
    requireCapability(this.kind, 'partition', this.partitionCap);
    const rules = hostGrudgeRules(this.chain, grudge, (id) => this.nodes.get(id)?.host, this.peerPort);
    await flushChain(runHostCommand, this.chain);
    await applyRules(runHostCommand, rules);
  }

  async heal(): Promise<void> {
    if (!this.chainCreated) return;
    await flushChain(runHostCommand, this.chain);
  }

  async kill(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    await this.stopProcess(node, 'SIGKILL');
    node.state = 'killed';
  }

  async restart(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    if (node.process.running) throw new Error(`${nodeId} is still running; kill it before restarting (definite: nothing was done)`);
    await this.spawn(node);
    await this.waitReady(node, { expected: [node.id] });
  }

  async wipe(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    if (node.process.running) throw new Error(`${nodeId} is still running; kill it before wiping its disk (definite: nothing was done)`);
    emptyDirectory(node.env['QL_DATA']!);
  }

  async pause(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    node.process.signal('SIGSTOP');
    node.state = 'paused';
  }

  async resume(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    node.process.signal('SIGCONT');
    if (node.state === 'paused') node.state = 'running';
  }

  async setClockOffset(nodeId: string, offsetMs: number): Promise<void> {
    requireCapability(this.kind, 'clock', this.clockCap);
    await writeOffset(this.nodes.mustGet(nodeId).offsetFile, offsetMs);
  }

  async addNode(): Promise<string> {
    const members = this.nodes.current();
    const node = this.defineNode(this.nextIndex++);
    node.env['QL_SEEDS'] = seedList(members);
    await assertFree(node.host, this.httpPort);
    await assertFree(node.host, this.peerPort);
    this.nodes.add(node);
    await this.spawn(node);
    await this.waitReady(node, { expected: [node.id], joining: true });
    return node.id;
  }

  async removeNode(nodeId: string): Promise<void> {
    await removeWithLeave(this.nodes, nodeId, this.log, async (node) => {
      await this.stopProcess(node, 'SIGTERM', 10_000);
      node.state = 'stopped';
    });
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    await Promise.all(this.nodes.everyNode().map((n) => this.stopProcess(n, 'SIGKILL').catch(() => undefined)));
    this.nodes.closeClients();
    if (this.chainCreated) {
      await deleteChain(runHostCommand, this.chain).catch((err) => this.log(`could not delete iptables chain ${this.chain}: ${String(err)}`));
      this.chainCreated = false;
    }
    if (this.tempDir !== undefined) {
      await rm(this.tempDir, { recursive: true, force: true });
      this.tempDir = undefined;
    }
    this.unregister?.();
  }

  /** What teardown does, synchronously, for a process that exits without calling it. */
  private teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const n of this.nodes.everyNode()) n.process.killNow();
    if (this.chainCreated) {
      for (const args of [['-D', 'INPUT', '-j', this.chain], ['-F', this.chain], ['-X', this.chain]]) {
        try {
          execaSync('iptables', ['-w', '5', ...args], { stdio: 'ignore' });
        } catch {
          // Already gone.
        }
      }
    }
    if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
  }

  // --- internals ---

  private defineNode(index: number): LocalNode {
    const spec = this.spec!;
    if (index > this.maxNodes) {
      throw new Error(`the local runtime has addresses for ${this.maxNodes} nodes (127.0.0.${this.hostBase + 1}-${this.hostBase + this.maxNodes}); cannot add n${index} (definite: nothing started)`);
    }
    const id = `n${index}`;
    const host = `127.0.0.${this.hostBase + index}`;
    const dataDir = path.join(this.tempDir!, id, 'data');
    const logDir = path.join(spec.runDir, 'nodes', id);
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const offsetFile = path.join(this.tempDir!, id, 'faketime');
    const httpAddr = `${host}:${this.httpPort}`;
    const peerAddr = `${host}:${this.peerPort}`;
    // QL_SEEDS is set once every initial node is defined (setup) or from the members of now (addNode).
    const env = { ...nodeEnv(spec, { id, http: httpAddr, peer: peerAddr, data: dataDir }), [runMarkerEnv]: this.runId };
    if (this.clockCap === true) Object.assign(env, faketimeEnv(offsetFile));
    return {
      id, index, host, peerAddr, baseUrl: `http://${httpAddr}`, logFile: path.join(logDir, 'node.log'), offsetFile, env,
      process: new NodeProcess(id, this.log), state: 'stopped',
    };
  }

  private async spawn(node: LocalNode): Promise<void> {
    if (this.clockCap === true && !existsSync(node.offsetFile)) await writeOffset(node.offsetFile, 0);
    const nodeCmd = this.spec!.nodeCmd;
    node.process.start({ cwd: this.repoRoot, env: node.env, logFile: node.logFile, ...(nodeCmd !== undefined ? { nodeCmd } : {}) });
    node.state = 'running';
  }

  private stopProcess(node: LocalNode, signal: NodeJS.Signals, graceMs?: number): Promise<void> {
    return node.process.stop(signal, node.state === 'paused', graceMs);
  }

  /** Waits (bounded) until the node is ready; a node process that exits meanwhile fails it at once. */
  private async waitReady(node: LocalNode, when: ReadyWhen): Promise<void> {
    await waitUntilReady({
      label: node.id,
      nodeId: node.id,
      client: this.client(node.id),
      when,
      timeoutMs: this.readyTimeoutMs,
      logHeading: `Last lines of ${node.logFile}`,
      logTail: async () => tail(node.logFile),
      sleep: (ms) => this.sleep(ms),
      goneBeforePoll: () => (node.process.running ? undefined : 'exited during startup'),
    });
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
