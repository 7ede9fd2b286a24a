// The SSH runtime: every node on a host of its own, driven over SSH the way Jepsen drives its DB nodes. The
// controller ships the node bundle (the Docker image's self-contained one) to each host once, starts each
// node detached with the run's QL_* variables and secret, and breaks the world from outside: iptables DROP
// rules in a chain of the run on each host (by peer address and port), SIGKILL + restart on the same data,
// SIGSTOP/SIGCONT to the node's process group, and libfaketime's offset file for clock skew. Node i runs
// on host i; hosts beyond --nodes are where joins go. Everything the run adds on a host (processes, chain,
// directory) is removed at teardown, on SIGINT/SIGTERM, at a plain exit, and — after a controller crash —
// by the next run of this controller machine, which says so.
import { mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireCapability } from './capability.js';
import { isPidAlive, newRunId, registerExitHook, registerTeardown, removeStaleTempDirs, runMarkerEnv } from './cleanup.js';
import { faketimeEnv } from './faketime.js';
import { chainName, hostGrudgeRules, iptablesArgs } from './iptables.js';
import { nodeEnv, seedList } from './node-env.js';
import { removeWithLeave } from './node-removal.js';
import { type ReadyWhen, waitUntilReady } from './readiness.js';
import { runSecret, type Capability, type ClusterSpec, type Grudge, type Runtime, type RuntimeCapabilities } from './runtime.js';
import { hasBundle, installBundle, nodeCommandWords, nodeVersionWords, planNodeBundle, remoteBundleDir, stageNodeBundle, type NodeBundle } from './ssh-bundle.js';
import { shellQuote, SshConnection } from './ssh-client.js';
import { hostPartitionCapability, hostUnusable, probeHost, type HostFacts } from './ssh-host-check.js';
import { hostKey, prepareRunScript, removeRunScript, scriptPrelude } from './ssh-host-run.js';
import { resolveHosts, type ResolvedSshHost, type SshHost } from './ssh-hosts.js';
import { controllerName, removeSshLeftovers } from './ssh-leftovers.js';
import { RemoteNode, remoteNodeFiles } from './ssh-node.js';
import { ProcessRuntime } from './process-runtime.js';

export { removeSshLeftovers } from './ssh-leftovers.js';

/** How a run reaches its hosts: what `--hosts`/`--inventory` and the host-key flags give. */
export interface SshRunOptions {
  readonly hosts: readonly SshHost[];
  readonly knownHostsFile?: string;
  /** Accept and record keys of hosts not in known_hosts yet; default: refuse them. */
  readonly acceptNewHostKeys?: boolean;
  /** The nodes' client API and peer ports on every host (default 8080 and 7000, as in the Docker image). */
  readonly httpPort?: number;
  readonly peerPort?: number;
}

export interface SshRuntimeOptions extends Partial<SshRunOptions> {
  readonly readyTimeoutMs?: number;
  readonly connectTimeoutS?: number;
  readonly repoRoot?: string;
  readonly log?: (line: string) => void;
}

interface HostSlot {
  readonly host: ResolvedSshHost;
  readonly conn: SshConnection;
  facts?: HostFacts;
  partition: Capability;
  /** The run's directory (and chain, with partitions) exist on the host. */
  prepared: boolean;
  /** The member running here now, if any. */
  nodeId: string | undefined;
}

interface SshNode {
  readonly id: string;
  readonly slot: HostSlot;
  readonly remote: RemoteNode;
  readonly peerAddr: string;
  readonly baseUrl: string;
  readonly logFile: string;
  state: 'running' | 'killed' | 'paused' | 'stopped';
}

const defaultRepoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const notProbed: Capability = { unavailable: 'not known until setup has reached the hosts' };

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

export class SshRuntime extends ProcessRuntime<SshNode> implements Runtime {
  readonly kind = 'ssh' as const;
  private readonly options: SshRuntimeOptions;
  private readonly httpPort: number;
  private readonly peerPort: number;
  private readonly readyTimeoutMs: number;
  private readonly repoRoot: string;
  private readonly log: (line: string) => void;
  private readonly runId = newRunId();
  private readonly chain = chainName(this.runId);

  private spec: ClusterSpec | undefined;
  private controlDir: string | undefined;
  private slots: HostSlot[] = [];
  private bundle: NodeBundle | undefined;
  private nextIndex = 1;
  private grudge: Grudge = {};
  private unregister: (() => void) | undefined;
  private tornDown = false;
  /** Timings of the last setup, for the test's printout. */
  readonly timings: { reachedSeconds?: number; bundleSeconds?: number; bundleShipped?: number; readySeconds?: number } = {};

  constructor(options: SshRuntimeOptions = {}) {
    super();
    this.options = options;
    this.httpPort = options.httpPort ?? 8080;
    this.peerPort = options.peerPort ?? 7000;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    this.repoRoot = options.repoRoot ?? defaultRepoRoot;
    this.log = options.log ?? ((line) => process.stderr.write(`[ssh] ${line}\n`));
  }

  /** This run's id (names its chain and its directory on every host). */
  get id(): string {
    return this.runId;
  }

  capabilities(): RuntimeCapabilities {
    const partition = this.slots.length === 0 ? notProbed : (this.slots.map((s) => s.partition).find((c) => c !== true) ?? true);
    const clock: Capability = this.bundle === undefined
      ? notProbed
      : this.bundle.faketimeLib !== undefined ? true : { unavailable: 'libfaketime is not installed on the controller (the faketime package), so the node bundle carries none' };
    const spare = this.spec === undefined || this.slots.length > this.spec.nodes;
    const membership: Capability = spare ? true : { unavailable: `a join needs a host without a node: give more hosts than --nodes (${this.slots.length} given)` };
    return { partition, clock, crash: true, pause: true, membership, 'disk-loss': true };
  }

  async setup(spec: ClusterSpec): Promise<void> {
    if (this.spec !== undefined) throw new Error('setup was already called on this runtime (definite: nothing started)');
    const hosts = this.options.hosts ?? [];
    if (hosts.length === 0) throw new Error('the ssh runtime needs hosts: --hosts user@host[:port],… or --inventory file (definite: nothing started)');
    if (spec.nodes < 1 || spec.nodes > hosts.length) {
      throw new Error(`the ssh runtime runs one node per host: ${spec.nodes} nodes asked for, ${hosts.length} host${hosts.length === 1 ? '' : 's'} given (definite: nothing started)`);
    }
    if (spec.nodeCmd !== undefined || spec.image !== undefined) throw new Error('the ssh runtime ships the reference node; --node-cmd and --image do not apply (definite: nothing started)');
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
      removeStaleTempDirs(this.log);
      const resolved = await resolveHosts(hosts);
      this.controlDir = await mkdtemp(path.join(os.tmpdir(), `quorumlab-${this.runId}-ssh-`));
      this.slots = resolved.map((host) => ({
        host,
        conn: new SshConnection(host, {
          controlDir: this.controlDir!,
          ...(this.options.knownHostsFile !== undefined ? { knownHostsFile: this.options.knownHostsFile } : {}),
          ...(this.options.acceptNewHostKeys === true ? { acceptNewHostKeys: true } : {}),
          ...(this.options.connectTimeoutS !== undefined ? { connectTimeoutS: this.options.connectTimeoutS } : {}),
        }),
        partition: notProbed,
        prepared: false,
        nodeId: undefined,
      }));
      const started = Date.now();
      await this.reachHosts();
      this.timings.reachedSeconds = (Date.now() - started) / 1000;
      await Promise.all(this.slots.map((s) => removeSshLeftovers(s.conn, s.host.dir, this.log)));
      await this.installBundle();
      this.timings.bundleSeconds = (Date.now() - started) / 1000;
      await this.eachHost('prepare the run there', (s) => this.prepareHost(s));

      const initial: SshNode[] = [];
      for (let i = 0; i < spec.nodes; i++) initial.push(this.defineNode(this.nextIndex++, this.slots[i]!));
      const seeds = seedList(initial);
      for (const n of initial) this.nodes.add(n);
      await Promise.all(initial.map((n) => this.startNode(n, seeds)));
      const ids = initial.map((n) => n.id);
      await Promise.all(initial.map((n) => this.waitReady(n, { expected: ids, settled: true })));
      this.timings.readySeconds = (Date.now() - started) / 1000;
    } catch (err) {
      await this.teardown().catch(() => undefined);
      throw err;
    }
  }

  async partition(grudge: Grudge): Promise<void> {
    requireCapability(this.kind, 'partition', this.capabilities().partition);
    this.grudge = grudge;
    await Promise.all(this.slots.map((s) => this.applyGrudgeOn(s)));
  }

  async heal(): Promise<void> {
    this.grudge = {};
    if (this.capabilities().partition !== true) return;
    await Promise.all(this.slots.map((s) => this.applyGrudgeOn(s)));
  }

  async kill(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    await node.remote.kill();
    node.state = 'killed';
  }

  async restart(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    if (node.remote.started) throw new Error(`${nodeId} is still running; kill it before restarting (definite: nothing was done)`);
    await node.remote.start();
    node.state = 'running';
    // The host's rules outlive the node, but a firewall reload on the host would not: put the grudge back.
    await this.applyGrudgeOn(node.slot);
    await this.waitReady(node, { expected: [node.id] });
  }

  async wipe(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    if (node.remote.started) throw new Error(`${nodeId} is still running; kill it before wiping its disk (definite: nothing was done)`);
    await node.remote.wipeData();
  }

  async pause(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    await node.remote.signal('STOP');
    node.state = 'paused';
  }

  async resume(nodeId: string): Promise<void> {
    const node = this.nodes.mustGet(nodeId);
    await node.remote.signal('CONT');
    if (node.state === 'paused') node.state = 'running';
  }

  async setClockOffset(nodeId: string, offsetMs: number): Promise<void> {
    requireCapability(this.kind, 'clock', this.capabilities().clock);
    await this.nodes.mustGet(nodeId).remote.setClockOffset(offsetMs);
  }

  async addNode(): Promise<string> {
    requireCapability(this.kind, 'join', this.capabilities().membership);
    const slot = this.slots.find((s) => s.nodeId === undefined);
    if (slot === undefined) throw new Error(`every one of the ${this.slots.length} hosts runs a node; a join needs a free one (definite: nothing started)`);
    const seeds = seedList(this.nodes.current());
    const node = this.defineNode(this.nextIndex++, slot);
    this.nodes.add(node);
    await this.startNode(node, seeds);
    await this.applyGrudgeOn(slot);
    await this.waitReady(node, { expected: [node.id], joining: true });
    return node.id;
  }

  async removeNode(nodeId: string): Promise<void> {
    const slot = this.nodes.mustGet(nodeId).slot;
    await removeWithLeave(this.nodes, nodeId, this.log, async (node) => {
      await node.remote.stop(10_000);
      node.state = 'stopped';
      await this.fetchLog(node);
      slot.nodeId = undefined;
    });
    // The host is free for a later join, and drops nothing while no member runs there.
    await this.applyGrudgeOn(slot);
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    this.nodes.closeClients();
    await Promise.all(
      this.slots.map(async (s) => {
        try {
          if (s.prepared) {
            for (const n of this.nodes.everyNode().filter((n) => n.slot === s)) await this.fetchLog(n);
            await s.conn.run(removeRunScript(s.host.dir, this.runId, hostKey(s.host)), { timeoutMs: 30_000 });
            s.prepared = false;
          }
        } catch (err) {
          this.log(`${s.conn.label}: could not remove this run's processes, chain or directory: ${oneLine(err)} (the next run from this machine removes them)`);
        }
        await s.conn.close().catch(() => undefined);
      }),
    );
    if (this.controlDir !== undefined) {
      await rm(this.controlDir, { recursive: true, force: true });
      this.controlDir = undefined;
    }
    this.unregister?.();
  }

  /** What teardown does, synchronously, for a controller that exits without calling it (no logs fetched). */
  private teardownSync(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const s of this.slots) {
      if (s.prepared) s.conn.execSync(removeRunScript(s.host.dir, this.runId, hostKey(s.host)));
      s.conn.closeSync();
    }
    if (this.controlDir !== undefined) rmSync(this.controlDir, { recursive: true, force: true });
  }

  // --- internals ---

  /** Runs `what` on every host at once; every host that fails is named on one line, and setup stops. */
  private async eachHost(what: string, fn: (s: HostSlot) => Promise<void>, slots: readonly HostSlot[] = this.slots): Promise<void> {
    const problems: string[] = [];
    await Promise.all(slots.map(async (s) => {
      try {
        await fn(s);
      } catch (err) {
        const line = oneLine(err);
        problems.push(line.startsWith(s.conn.label) ? line : `${s.conn.label}: ${line}`);
      }
    }));
    if (problems.length === 0) return;
    for (const p of problems) this.log(p);
    const count = problems.length === slots.length && slots.length > 1 ? `none of the ${slots.length} hosts` : `${problems.length} of ${slots.length} host${slots.length === 1 ? '' : 's'}`;
    throw new Error(`could not ${what} on ${count}: ${problems.join('; ')} (definite: the cluster is not up)`);
  }

  /** Connects to every host and checks what it must have. */
  private async reachHosts(): Promise<void> {
    await this.eachHost('use', async (s) => {
      const facts = await probeHost(s.conn);
      const why = hostUnusable(facts);
      if (why !== undefined) throw new Error(why);
      s.facts = facts;
      s.partition = hostPartitionCapability(s.conn.label, facts);
    });
  }

  /** Sends the bundle to the hosts that lack it (staged once, only if one does), then checks the node runs on each. */
  private async installBundle(): Promise<void> {
    const bundle = planNodeBundle(this.repoRoot);
    const lacking: HostSlot[] = [];
    await this.eachHost('look for the node bundle', async (s) => {
      if (!(await hasBundle(s.conn, s.host.dir, bundle))) lacking.push(s);
    });
    if (lacking.length > 0) {
      this.log(`the node bundle ${bundle.hash} (${bundle.systemFiles.length} system files) goes to ${lacking.map((s) => s.conn.label).join(', ')}`);
      let staging: ReturnType<typeof stageNodeBundle> | undefined;
      const staged = async (): Promise<string> => (await (staging ??= stageNodeBundle(this.repoRoot, this.runId))).root;
      const owner = { controller: controllerName(), isStale: (pid: number) => pid !== process.pid && !isPidAlive(pid) };
      let shipped = 0;
      try {
        await this.eachHost('ship the node bundle', async (s) => {
          if ((await installBundle(s.conn, s.host.dir, bundle, staged, owner)) === 'shipped') shipped++;
        }, lacking);
      } finally {
        if (staging !== undefined) await (await staging).remove();
      }
      this.timings.bundleShipped = shipped;
      if (shipped < lacking.length) this.log(`sent the bundle ${shipped} time${shipped === 1 ? '' : 's'}; the other hosts share a directory with one that got it`);
    }
    this.bundle = bundle;
    const withFaketime = bundle.faketimeLib !== undefined;
    await this.eachHost('run the shipped node', async (s) => {
      const dir = remoteBundleDir(s.host.dir, bundle);
      const r = await s.conn.exec(`cd ${shellQuote(dir + bundle.appDir)} && ${nodeVersionWords(dir, bundle, withFaketime).map(shellQuote).join(' ')}`);
      if (r.exitCode !== 0 || !/^v\d+\./.test(r.stdout.trim())) {
        throw new Error(`the shipped node does not run there (exit ${r.exitCode}: ${(r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? ''})`);
      }
    });
  }

  private async prepareHost(s: HostSlot): Promise<void> {
    await s.conn.run(prepareRunScript(s.host.dir, this.runId, hostKey(s.host), controllerName(), s.partition === true));
    s.prepared = true;
  }

  private defineNode(index: number, slot: HostSlot): SshNode {
    const id = `n${index}`;
    const bundle = this.bundle!;
    const bundleDir = remoteBundleDir(slot.host.dir, bundle);
    const files = remoteNodeFiles(slot.host.dir, this.runId, hostKey(slot.host), id);
    const logDir = path.join(this.spec!.runDir, 'nodes', id);
    mkdirSync(logDir, { recursive: true });
    slot.nodeId = id;
    return {
      id,
      slot,
      remote: new RemoteNode(slot.conn, files, bundleDir + bundle.appDir, nodeCommandWords(bundleDir, bundle, this.capabilities().clock === true)),
      peerAddr: hostPort(slot.host.peer, this.peerPort),
      baseUrl: `http://${hostPort(slot.host.client, this.httpPort)}`,
      logFile: path.join(logDir, 'node.log'),
      state: 'stopped',
    };
  }

  private async startNode(node: SshNode, seeds: string): Promise<void> {
    const files = remoteNodeFiles(node.slot.host.dir, this.runId, hostKey(node.slot.host), node.id);
    const env: Record<string, string> = {
      ...nodeEnv(this.spec!, { id: node.id, http: hostPort(node.slot.host.client, this.httpPort), peer: node.peerAddr, seeds, data: files.data }),
      [runMarkerEnv]: this.runId,
    };
    if (this.capabilities().clock === true) {
      // The library itself is preloaded by the bundled loader (nodeCommandWords), not through LD_PRELOAD.
      const { LD_PRELOAD: _preload, ...vars } = faketimeEnv(files.offset);
      Object.assign(env, vars);
    }
    await node.remote.prepare(env);
    await node.remote.start();
    node.state = 'running';
  }

  /** Replaces the rules of the run's chain on the host with the DROP rules the grudge asks for its node. */
  private async applyGrudgeOn(slot: HostSlot): Promise<void> {
    if (slot.partition !== true || !slot.prepared) return;
    const dropped = slot.nodeId !== undefined ? (this.grudge[slot.nodeId] ?? []) : [];
    const rules = slot.nodeId === undefined ? [] : hostGrudgeRules(this.chain, { [slot.nodeId]: dropped }, (id) => this.nodes.find(id)?.slot.host.peer, this.peerPort);
    const script = [scriptPrelude, 'set -e', ['-F', this.chain], ...rules].map((r) => (typeof r === 'string' ? r : ['iptables', ...iptablesArgs(r)].map(shellQuote).join(' '))).join('\n');
    await slot.conn.run(script);
  }

  private async waitReady(node: SshNode, when: ReadyWhen): Promise<void> {
    await waitUntilReady({
      label: `${node.id} (${node.slot.conn.label})`,
      nodeId: node.id,
      client: this.client(node.id),
      when,
      timeoutMs: this.readyTimeoutMs,
      logHeading: `Last lines of ${node.remote.files.log} on ${node.slot.conn.label}`,
      logTail: () => node.remote.logTail(),
      sleep: (ms) => this.sleep(ms),
      goneAfterSilence: async () => ((await node.remote.alive()) === false ? 'exited during startup' : undefined),
    });
  }

  private async fetchLog(node: SshNode): Promise<void> {
    try {
      await node.remote.fetchLog(node.logFile);
    } catch (err) {
      this.log(`could not fetch the log of ${node.id}: ${oneLine(err)}`);
    }
  }
}
