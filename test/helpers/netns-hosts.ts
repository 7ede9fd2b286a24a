// Hosts for the SSH runtime's tests, made on this machine: each host is a network namespace (`ip netns`) on a
// bridge of the test's own (qlssh0, 10.213.0.0/24; nothing else is ever a target), running Debian's
// openssh-server on its own address with a host key generated here, and accepting a client key generated
// here; the known_hosts file lists exactly those host keys. Hosts share this machine's filesystem and
// process table, but each has its own address, its own iptables and its own working directory, which is
// all the SSH runtime relies on. Everything made here is removed by teardown (and by the next lab, should
// a test process die before its teardown).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SshHost } from '../../harness/runtime/ssh-hosts.js';

export const labBridge = 'qlssh0';
const subnet = '10.213.0';
const nsPrefix = 'qlssh-h';
const vethPrefix = 'qlsshv';
const sshd = '/usr/sbin/sshd';
const forwardRule = ['FORWARD', '-i', labBridge, '-o', labBridge, '-j', 'ACCEPT'];

export interface LabHost {
  readonly ns: string;
  readonly ip: string;
  /** The host's working directory (its `dir` in the inventory). */
  readonly dir: string;
  readonly sshd: ChildProcess;
}

export interface NetnsLab {
  readonly root: string;
  readonly hosts: readonly LabHost[];
  readonly knownHosts: string;
  readonly clientKey: string;
  /**
   * The hosts as the SSH runtime takes them (root, port 22, the lab's client key), each with a working
   * directory of its own, or all with one (`shared`: like hosts with an NFS home, the bundle is sent once).
   */
  sshHosts(opts?: { readonly shared?: boolean }): SshHost[];
  /** Runs a command inside a host's namespace (iptables -S, say) and returns its stdout. */
  inHost(index: number, args: readonly string[]): string;
  teardown(): Promise<void>;
}

function run(file: string, args: readonly string[]): string {
  return execFileSync(file, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function quiet(file: string, args: readonly string[]): boolean {
  try {
    run(file, args);
    return true;
  } catch {
    return false;
  }
}

/** Why the lab cannot be built here (not root, no ip or sshd, namespaces refused), or false. */
export function whyNoNetnsLab(): string | false {
  if (process.getuid?.() !== 0) return 'SSH hosts as network namespaces need root (run as root to include this test)';
  if (!existsSync(sshd)) return `the lab's hosts run Debian's openssh-server, and ${sshd} is missing (apt-get install openssh-server)`;
  for (const bin of ['ip', 'ssh', 'ssh-keygen', 'iptables']) if (!quiet('sh', ['-c', `command -v ${bin}`])) return `the SSH lab needs ${bin}, which is not installed`;
  const probe = `${nsPrefix}probe`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['netns', 'del', probe]);
  } catch (err) {
    return `network namespaces cannot be created here: ${String((err as { stderr?: string }).stderr ?? err).trim().split('\n')[0]}`;
  }
  return false;
}

/** Namespaces of the lab that exist now (ours by name). */
export function labNamespaces(): string[] {
  return run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(nsPrefix));
}

/** Removes what an earlier lab left (processes in its namespaces, namespaces, bridge, forward rule). */
export function removeLabLeftovers(): string[] {
  const removed: string[] = [];
  for (const ns of labNamespaces()) {
    for (const pid of run('ip', ['netns', 'pids', ns]).split('\n').filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    quiet('ip', ['netns', 'del', ns]);
    removed.push(ns);
  }
  if (quiet('ip', ['link', 'show', labBridge])) {
    quiet('ip', ['link', 'del', labBridge]);
    removed.push(labBridge);
  }
  while (quiet('iptables', ['-w', '5', '-D', ...forwardRule])) removed.push('forward rule');
  return removed;
}

async function waitForPort(ip: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: ip, port, timeout: 500 });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd on ${ip}:${port} did not answer within ${timeoutMs} ms`);
}

export async function createNetnsLab(count: number): Promise<NetnsLab> {
  removeLabLeftovers();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ql-ssh-lab-'));
  const hosts: LabHost[] = [];
  // sshd refuses to start without its privilege separation directory; made only when missing, removed after.
  const madePrivsep = !existsSync('/run/sshd');
  const teardown = async (): Promise<void> => {
    for (const h of hosts) h.sshd.kill('SIGTERM');
    await Promise.all(hosts.map((h) => (h.sshd.exitCode !== null || h.sshd.signalCode !== null ? undefined : new Promise((r) => h.sshd.once('exit', r)))));
    removeLabLeftovers();
    if (madePrivsep) rmSync('/run/sshd', { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  };
  try {
    if (madePrivsep) mkdirSync('/run/sshd', { mode: 0o755 });
    run('ip', ['link', 'add', labBridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', labBridge]);
    run('ip', ['link', 'set', labBridge, 'up']);
    // Docker's br_netfilter sends bridged frames through FORWARD, whose policy it sets to DROP.
    run('iptables', ['-w', '5', '-I', ...forwardRule.slice(0, 1), '1', ...forwardRule.slice(1)]);
    const clientKey = path.join(root, 'client_key');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'quorumlab-test-client', '-f', clientKey]);
    writeFileSync(path.join(root, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
    const known: string[] = [];
    for (let i = 1; i <= count; i++) {
      const ns = `${nsPrefix}${i}`;
      const ip = `${subnet}.${10 + i}`;
      const hostRoot = path.join(root, `h${i}`);
      mkdirSync(hostRoot);
      run('ip', ['netns', 'add', ns]);
      run('ip', ['link', 'add', `${vethPrefix}${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run('ip', ['link', 'set', `${vethPrefix}${i}`, 'master', labBridge, 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      const hostKey = path.join(hostRoot, 'host_key');
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `quorumlab-test-${ns}`, '-f', hostKey]);
      known.push(`${ip} ${readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}`);
      const config = path.join(hostRoot, 'sshd_config');
      writeFileSync(config, [
        `ListenAddress ${ip}:22`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(hostRoot, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(root, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The lab's files live in a temp dir whose modes sshd's checks were not written for.
        'StrictModes no',
        'MaxSessions 64',
        'MaxStartups 64:30:128',
        'LogLevel ERROR',
        '',
      ].join('\n'));
      const proc = spawn('ip', ['netns', 'exec', ns, sshd, '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let err = '';
      proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      hosts.push({ ns, ip, dir: path.join(hostRoot, 'work'), sshd: proc });
      await waitForPort(ip, 22, 10_000).catch((e: Error) => {
        throw new Error(`${e.message}: ${err.trim()}`);
      });
    }
    const knownHosts = path.join(root, 'known_hosts');
    writeFileSync(knownHosts, known.join('\n') + '\n');
    return {
      root,
      hosts,
      knownHosts,
      clientKey,
      sshHosts: (opts = {}) => hosts.map((h) => ({ host: h.ip, port: 22, user: 'root', key: clientKey, dir: opts.shared === true ? path.join(root, 'shared-work') : h.dir })),
      inHost: (index, args) => run('ip', ['netns', 'exec', hosts[index]!.ns, ...args]),
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}
