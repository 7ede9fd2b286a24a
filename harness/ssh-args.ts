// The SSH runtime's flags of `run` and `campaign`: `--hosts user@host[:port],…` or `--inventory file`, with
// `--ssh-key`, `--known-hosts` and `--accept-new-host-keys`. They mean something only with `--runtime ssh`,
// and that runtime means nothing without hosts; every complaint is one usage line (exit 2).
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { parseHostList, parseInventory } from './runtime/ssh-hosts.js';
import type { SshRunOptions } from './runtime/ssh.js';

const sshFlags = ['hosts', 'inventory', 'sshKey', 'knownHosts', 'acceptNewHostKeys'] as const;

export function addSshOptions(cmd: Command): Command {
  return cmd
    .option('--hosts <list>', 'ssh runtime: user@host[:port],… (node i on host i; hosts beyond --nodes are where joins go)')
    .option('--inventory <file>', 'ssh runtime: a JSON inventory of hosts (user, port, key, client and peer addresses, working dir; see README)')
    .option('--ssh-key <file>', 'ssh runtime: the private key for --hosts (default: the ssh client\'s own identities)')
    .option('--known-hosts <file>', 'ssh runtime: the known_hosts file host keys are checked against (default ~/.ssh/known_hosts)')
    .option('--accept-new-host-keys', 'ssh runtime: accept and record keys of hosts not in known_hosts yet (a changed key is still refused)');
}

/** The hosts and how to reach them, or undefined for another runtime; a usage error when they do not fit. */
export function sshOptionsFrom(o: Record<string, unknown>): SshRunOptions | undefined {
  const runtime = String(o['runtime'] ?? 'local');
  const given = sshFlags.filter((f) => o[f] !== undefined && o[f] !== false);
  if (runtime !== 'ssh') {
    if (given.length > 0) throw new InvalidArgumentError(`--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --runtime ssh`);
    return undefined;
  }
  const hosts = typeof o['hosts'] === 'string' ? o['hosts'] : undefined;
  const inventory = typeof o['inventory'] === 'string' ? o['inventory'] : undefined;
  if (hosts === undefined && inventory === undefined) throw new InvalidArgumentError('--runtime ssh needs --hosts user@host[:port],… or --inventory file');
  if (hosts !== undefined && inventory !== undefined) throw new InvalidArgumentError('give --hosts or --inventory, not both');
  const key = typeof o['sshKey'] === 'string' ? o['sshKey'] : undefined;
  const knownHosts = typeof o['knownHosts'] === 'string' ? o['knownHosts'] : undefined;
  const accept = o['acceptNewHostKeys'] === true ? { acceptNewHostKeys: true } : {};
  try {
    if (hosts !== undefined) {
      return { hosts: parseHostList(hosts, key !== undefined ? { key } : {}), ...(knownHosts !== undefined ? { knownHostsFile: knownHosts } : {}), ...accept };
    }
    if (key !== undefined) throw new Error('--ssh-key goes with --hosts; an inventory names its keys itself');
    let text: string;
    try {
      text = readFileSync(inventory!, 'utf8');
    } catch (e) {
      throw new Error(`--inventory: cannot read ${inventory}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const inv = parseInventory(text, inventory!);
    const known = knownHosts ?? inv.knownHostsFile;
    return {
      hosts: inv.hosts,
      ...(known !== undefined ? { knownHostsFile: known } : {}),
      ...(inv.httpPort !== undefined ? { httpPort: inv.httpPort } : {}),
      ...(inv.peerPort !== undefined ? { peerPort: inv.peerPort } : {}),
      ...accept,
    };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.split('\n')[0]!);
  }
}
