// Partitions inside a container's network namespace, applied from the host: `nsenter -t PID -n iptables …`
// replaces the namespace's INPUT rules with the DROP rules of the grudge in force. The container image
// needs nothing for it, so a node under test cannot opt out of a partition.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Capability } from './runtime.js';
import { applyRules, iptablesArgs, namespaceGrudgeRules, type CommandRunner } from './iptables.js';

const execFileAsync = promisify(execFile);

const runCommand: CommandRunner = async (file, args) => {
  const r = await execFileAsync(file, [...args], { timeout: 20_000 });
  return { stdout: r.stdout };
};

function which(bin: string): boolean {
  return (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => existsSync(path.join(d, bin)));
}

/** Whether this host can enter a container's namespace and run iptables there (root, both programs). */
export function namespacePartitionCapability(): Capability {
  const root = typeof process.getuid !== 'function' || process.getuid() === 0;
  return !root
    ? { unavailable: 'partitions use nsenter + iptables in the containers, which needs root' }
    : !which('nsenter') || !which('iptables')
      ? { unavailable: 'nsenter and iptables must be installed on the host' }
      : true;
}

/** Makes the namespace of process `pid` drop exactly the packets from `dropped` (an empty list heals it). */
export async function replaceNamespaceRules(pid: number, dropped: readonly string[], addressOf: (nodeId: string) => string | undefined): Promise<void> {
  const inNs: CommandRunner = (file, args) => runCommand('nsenter', ['-t', String(pid), '-n', file, ...args]);
  await inNs('iptables', iptablesArgs(['-F', 'INPUT']));
  await applyRules(inNs, namespaceGrudgeRules(dropped, addressOf));
}
