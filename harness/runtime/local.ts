// The local runtime: every node is a child process on its own loopback address (node i on 127.0.0.(10+i)),
// with faults applied from outside: SIGKILL/SIGSTOP/SIGCONT to the node's process group, iptables DROP
// rules in a chain owned by this run for partitions, and a libfaketime offset file for clock skew.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, execaSync, type ResultPromise } from 'execa';
import type { NodeClient } from '../../workloads/client.js';
import { createHttpClient, type HttpNodeClient } from '../../workloads/http-client.js';
import type { Capability, ClusterSpec, Grudge, Runtime, RuntimeCapabilities } from './runtime.js';
import { isStaleRun, newRunId, registerExitHook, registerTeardown, removeStaleTempDirs, runMarkerEnv, staleNodeProcesses } from './cleanup.js';
import { faketimeCapability, faketimeEnv, writeOffset } from './faketime.js';
import {
  applyRules,
  chainName,
  chainPrefix,
  createChain,
  deleteChain,
  flushChain,
  hostGrudgeRules,
  iptablesCapability,
  listChains,
  type CommandRunner,
} from './iptables.js';
import { type ReadyWhen, notReadyReason } from './readiness.js';

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
}

interface LocalNode {
  readonly id: string;
  readonly index: number;
  readonly host: string;
  readonly httpAddr: string;
  readonly peerAddr: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly offsetFile: string;
  readonly env: Record<string, string>;
  proc: ResultPromise | undefined;
  exited: Promise<void> | undefined;
  state: 'running' | 'killed' | 'paused' | 'stopped';
}

const defaultRepoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** execa as the iptables module's command runner. */
const runCommand: CommandRunner = async (file, args) => {
  const r = await execa(file, [...args], { reject: true, timeout: 20_000 });
  return { stdout: r.stdout };
};

export class LocalRuntime implements Runtime {
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
  private startedNs = process.hrtime.bigint();
  private readonly nodes = new Map<string, LocalNode>();
  private readonly removed = new Map<string, LocalNode>();
  private readonly clients = new Map<string, HttpNodeClient>();
  private nextIndex = 1;
  private partitionCap: Capability;
  private readonly clockCap: Capability;
  private chainCreated = false;
  private unregister: (() => void) | undefined;
  private tornDown = false;

  constructor(options: LocalRuntimeOptions = {}) {
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
    this.clockCap = faketimeCapability();
  }

  capabilities(): RuntimeCapabilities {
    return { partition: this.partitionCap, clock: this.clockCap, crash: true, pause: true, membership: true };
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
    this.spec = spec;
    this.startedNs = process.hrtime.bigint();
    const unregisterSignals = registerTeardown(() => this.teardown());
    const unregisterExit = registerExitHook(() => this.teardownSync());
    this.unregister = () => {
      unregisterSignals();
      unregisterExit();
    };
    try {
      await this.removeLeftovers();
      if (this.partitionCap === true) {
        this.partitionCap = await iptablesCapability(runCommand);
        if (this.partitionCap === true) {
          await createChain(runCommand, this.chain);
          this.chainCreated = true;
        }
      }
      this.tempDir = await mkdtemp(path.join(os.tmpdir(), `quorumlab-${this.runId}-`));
      const initial: LocalNode[] = [];
      for (let i = 0; i < spec.nodes; i++) initial.push(this.defineNode(this.nextIndex++));
      const seeds = initial.map((n) => `${n.id}@${n.peerAddr}`).join(',');
      for (const n of initial) {
        n.env['QL_SEEDS'] = seeds;
        await assertFree(n.host, this.httpPort);
        await assertFree(n.host, this.peerPort);
      }
      for (const n of initial) {
        this.nodes.set(n.id, n);
        await this.spawn(n);
      }
      const ids = initial.map((n) => n.id);
      await Promise.all(initial.map((n) => this.waitReady(n, { expected: ids, settled: true })));
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
      c = createHttpClient(nodeId, `http://${node.httpAddr}`);
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
    this.require('partition', this.partitionCap);
    const rules = hostGrudgeRules(this.chain, grudge, (id) => this.nodes.get(id)?.host, this.peerPort);
    await flushChain(runCommand, this.chain);
    await applyRules(runCommand, rules);
  }

  async heal(): Promise<void> {
    if (!this.chainCreated) return;
    await flushChain(runCommand, this.chain);
  }

  async kill(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    await this.signalAndWait(node, 'SIGKILL');
    node.state = 'killed';
  }

  async restart(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    if (node.proc !== undefined) throw new Error(`${nodeId} is still running; kill it before restarting (definite: nothing was done)`);
    await this.spawn(node);
    await this.waitReady(node, { expected: [node.id] });
  }

  async pause(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    this.signalGroup(node, 'SIGSTOP');
    node.state = 'paused';
  }

  async resume(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    this.signalGroup(node, 'SIGCONT');
    if (node.state === 'paused') node.state = 'running';
  }

  async setClockOffset(nodeId: string, offsetMs: number): Promise<void> {
    this.require('clock', this.clockCap);
    await writeOffset(this.mustGet(nodeId).offsetFile, offsetMs);
  }

  async addNode(): Promise<string> {
    const members = [...this.nodes.values()];
    const node = this.defineNode(this.nextIndex++);
    node.env['QL_SEEDS'] = members.map((n) => `${n.id}@${n.peerAddr}`).join(',');
    await assertFree(node.host, this.httpPort);
    await assertFree(node.host, this.peerPort);
    this.nodes.set(node.id, node);
    await this.spawn(node);
    await this.waitReady(node, { expected: [node.id], joining: true });
    return node.id;
  }

  async removeNode(nodeId: string): Promise<void> {
    const node = this.mustGet(nodeId);
    const leave = await this.client(nodeId).adminLeave();
    if (leave.type !== 'ok') this.log(`${nodeId}: /admin/leave answered ${leave.type} (${leave.error}); stopping it anyway`);
    await this.signalAndWait(node, 'SIGTERM', 10_000);
    node.state = 'stopped';
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

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    const all = [...this.nodes.values(), ...this.removed.values()];
    await Promise.all(all.map((n) => this.signalAndWait(n, 'SIGKILL').catch(() => undefined)));
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    if (this.chainCreated) {
      await deleteChain(runCommand, this.chain).catch((err) => this.log(`could not delete iptables chain ${this.chain}: ${String(err)}`));
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
    for (const n of [...this.nodes.values(), ...this.removed.values()]) {
      const pid = n.proc?.pid;
      if (pid === undefined) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
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
    const env: Record<string, string> = {
      QL_ID: id,
      QL_HTTP: `${host}:${this.httpPort}`,
      QL_PEER: `${host}:${this.peerPort}`,
      QL_DATA: dataDir,
      QL_N: String(spec.n),
      QL_R: String(spec.r),
      QL_W: String(spec.w),
      QL_SLOPPY: spec.sloppy ? '1' : '0',
      QL_CONFLICTS: spec.conflicts,
      QL_VNODES: String(spec.vnodes),
      ...(spec.secret !== undefined ? { QL_SECRET: spec.secret } : {}),
      ...(spec.env ?? {}),
      [runMarkerEnv]: this.runId,
    };
    if (this.clockCap === true) Object.assign(env, faketimeEnv(offsetFile));
    return { id, index, host, httpAddr: env['QL_HTTP']!, peerAddr: env['QL_PEER']!, dataDir, logFile: path.join(logDir, 'node.log'), offsetFile, env, proc: undefined, exited: undefined, state: 'stopped' };
  }

  private async spawn(node: LocalNode): Promise<void> {
    if (this.clockCap === true && !existsSync(node.offsetFile)) await writeOffset(node.offsetFile, 0);
    // Appending keeps the log of every incarnation of the node in one file; both streams go to it.
    const logTarget = { file: node.logFile, append: true } as const;
    const common = {
      cwd: this.repoRoot,
      env: node.env,
      extendEnv: true,
      stdin: 'ignore',
      stdout: logTarget,
      stderr: logTarget,
      reject: false,
      // Its own process group, so signals reach a shell-wrapped node program and all its children.
      detached: true,
      cleanup: false,
    } as const;
    const cmd = this.spec!.nodeCmd;
    node.proc = cmd !== undefined ? execa(cmd, { ...common, shell: true }) : execa(process.execPath, ['--import', 'tsx', 'node/main.ts'], common);
    const proc = node.proc;
    node.exited = proc.then(() => undefined).catch(() => undefined).finally(() => {
      if (node.proc === proc) node.proc = undefined;
    });
    node.state = 'running';
  }

  private signalGroup(node: LocalNode, signal: NodeJS.Signals): void {
    const pid = node.proc?.pid;
    if (pid === undefined) throw new Error(`${node.id} is not running (definite: no ${signal} was sent)`);
    try {
      process.kill(-pid, signal);
    } catch {
      node.proc?.kill(signal);
    }
  }

  /** Sends a signal and waits for the process to exit; escalates to SIGKILL after `graceMs`. */
  private async signalAndWait(node: LocalNode, signal: NodeJS.Signals, graceMs = 5_000): Promise<void> {
    if (node.proc === undefined) return;
    const exited = node.exited!;
    this.signalGroup(node, signal);
    // A stopped process cannot act on SIGTERM until it is continued.
    if (signal !== 'SIGKILL' && node.state === 'paused') this.signalGroup(node, 'SIGCONT');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      this.log(`${node.id} did not exit ${graceMs} ms after ${signal}; sending SIGKILL`);
      if (node.proc !== undefined) this.signalGroup(node, 'SIGKILL');
      await exited;
    }
  }

  /** Waits (bounded) until /admin/status answers and notReadyReason finds nothing; the log tail on failure. */
  private async waitReady(node: LocalNode, when: ReadyWhen): Promise<void> {
    const client = this.client(node.id);
    const deadline = Date.now() + this.readyTimeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (node.proc === undefined) {
        throw new Error(`${node.id} exited during startup (definite: the cluster is not up). Last lines of ${node.logFile}:\n${tail(node.logFile)}`);
      }
      const s = await client.adminStatus();
      if (s.type === 'ok') {
        const reason = notReadyReason(s.value, node.id, when);
        if (reason === undefined) return;
        last = reason;
      } else last = s.error;
      await this.sleep(100);
    }
    throw new Error(`${node.id} was not ready within ${this.readyTimeoutMs} ms (${last}) (definite: the cluster is not up). Last lines of ${node.logFile}:\n${tail(node.logFile)}`);
  }

  private async removeLeftovers(): Promise<void> {
    await removeLocalLeftovers(this.log, this.partitionCap === true);
  }

  private mustGet(nodeId: string): LocalNode {
    const n = this.nodes.get(nodeId);
    if (n === undefined) throw new Error(`no such node "${nodeId}" in this cluster (definite: nothing was done)`);
    return n;
  }

  private require(what: string, cap: Capability): void {
    if (cap !== true) throw new Error(`${what} is unavailable on the local runtime: ${cap.unavailable} (definite: nothing was done)`);
  }
}

/**
 * Kills node processes and deletes iptables chains left behind by runs whose harness died (their owner
 * pid is gone); live runs of other harness processes are never touched. Returns what it removed.
 */
export async function removeLocalLeftovers(log: (line: string) => void, withIptables = true): Promise<{ processes: number[]; chains: string[] }> {
  const removed = { processes: [] as number[], chains: [] as string[] };
  for (const [pid, runId] of staleNodeProcesses()) {
    log(`killing leftover node process ${pid} of dead run ${runId}`);
    try {
      // Node processes lead their own process group; take any children with them.
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    removed.processes.push(pid);
  }
  removeStaleTempDirs(log);
  if (!withIptables) return removed;
  let chains: string[] = [];
  try {
    chains = await listChains(runCommand);
  } catch {
    return removed;
  }
  for (const chain of chains) {
    const runId = chain.slice(chainPrefix.length);
    if (isStaleRun(runId)) {
      log(`removing leftover iptables chain ${chain} of dead run ${runId}`);
      await deleteChain(runCommand, chain);
      removed.chains.push(chain);
    }
  }
  return removed;
}

/** Fails with a one-line message when host:port cannot be bound (another run or a stale node holds it). */
export async function assertFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use (another quorumlab run, or a node left running?)' : `cannot be bound (${err.code ?? err.message})`;
      reject(new Error(`${host}:${port} ${why}; the local runtime needs it (definite: nothing started)`));
    });
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
