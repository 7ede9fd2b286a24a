// What a host must have for the SSH runtime, asked in one command per host: Linux on the controller's
// architecture (the node bundle carries this machine's binaries), the few programs the remote scripts use,
// and root with a working iptables for partitions. Missing programs and a foreign architecture are errors;
// a host without iptables (or not root) only makes partitions unavailable, said with the host's name.
import type { Capability } from './runtime.js';
import type { SshConnection } from './ssh-client.js';
import { scriptPrelude } from './ssh-host-run.js';

/** Programs the remote scripts run (GNU or busybox flavours both do). */
const requiredPrograms = ['sh', 'tar', 'setsid', 'kill', 'mktemp', 'sed', 'grep', 'tail', 'tr', 'sleep'];

export interface HostFacts {
  readonly os: string;
  readonly arch: string;
  readonly uid: number;
  readonly missing: readonly string[];
  /** 'ok', or iptables's complaint ('not installed' when absent). */
  readonly iptables: string;
}

export const probeScript = [
  scriptPrelude,
  'echo "os=$(uname -s)"',
  'echo "arch=$(uname -m)"',
  'echo "uid=$(id -u)"',
  `for p in ${requiredPrograms.join(' ')}; do command -v "$p" >/dev/null 2>&1 || echo "missing=$p"; done`,
  'if ! command -v iptables >/dev/null 2>&1; then echo "iptables=not installed"',
  'elif e=$(iptables -w 5 -S INPUT 2>&1 >/dev/null); then echo "iptables=ok"',
  'else echo "iptables=$(printf \'%s\' "$e" | head -n 1)"; fi',
].join('\n');

export function parseFacts(stdout: string): HostFacts {
  const get = (k: string): string[] => stdout.split('\n').filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1).trim());
  return { os: get('os')[0] ?? '', arch: get('arch')[0] ?? '', uid: Number(get('uid')[0] ?? NaN), missing: get('missing'), iptables: get('iptables')[0] ?? 'not reported' };
}

/** `uname -m` of this machine, which the bundle's binaries are built for. */
export function controllerArch(): string {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
}

/** Why the host cannot run the bundle at all (one line), or undefined when it can. */
export function hostUnusable(facts: HostFacts): string | undefined {
  if (facts.os !== 'Linux') return `it runs ${facts.os || 'an unknown system'}, and the node bundle is built for Linux`;
  if (facts.arch !== controllerArch()) return `it is ${facts.arch}, and the node bundle carries this controller's ${controllerArch()} binaries`;
  if (facts.missing.length > 0) return `it lacks ${facts.missing.join(', ')} (needed to unpack and start the node)`;
  return undefined;
}

/** Whether partitions can be applied on the host: root and a working iptables. */
export function hostPartitionCapability(label: string, facts: HostFacts): Capability {
  if (facts.uid !== 0) return { unavailable: `partitions need root for iptables on ${label} (log in as root)` };
  if (facts.iptables !== 'ok') return { unavailable: `iptables is not usable on ${label}: ${facts.iptables}` };
  return true;
}

export async function probeHost(conn: SshConnection): Promise<HostFacts> {
  return parseFacts(await conn.run(probeScript, { timeoutMs: 30_000 }));
}
