// Where an SSH run's nodes go: hosts from `--hosts user@host[:port],…` or an inventory file (JSON), each
// with how to log in (user, port, key), the addresses its node uses (client: where the harness sends
// requests; peer: where the other nodes reach it, and the source address of its own peer connections,
// so partitions cut exactly by it) and the directory it works in. Parsing is pure and every complaint is
// one line; names are resolved to addresses only when a run starts (resolveHosts).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface SshHost {
  /** What ssh connects to (a name or an address). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly key?: string;
  /** The node's client API address (an IP of the host); default: the host's address. */
  readonly client?: string;
  /** The node's peer address (an IP of the host); default: the client address. */
  readonly peer?: string;
  /** Working directory on the host: the node bundle cache and each run's files. */
  readonly dir: string;
}

/** Hosts with both addresses settled to IPs (what the runtime uses). */
export interface ResolvedSshHost extends SshHost {
  readonly client: string;
  readonly peer: string;
}

export interface SshInventory {
  readonly hosts: readonly SshHost[];
  readonly knownHostsFile?: string;
  readonly httpPort?: number;
  readonly peerPort?: number;
}

export const defaultRemoteDir = '/var/tmp/quorumlab';
const fieldsOfHost = ['host', 'port', 'user', 'key', 'client', 'peer', 'dir'];
const fieldsOfInventory = ['hosts', 'user', 'port', 'key', 'dir', 'knownHosts', 'httpPort', 'peerPort'];

interface HostDefaults {
  readonly user?: string;
  readonly port?: number;
  readonly key?: string;
  readonly dir?: string;
}

function port(v: unknown, where: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${where}: port must be 1-65535, got ${JSON.stringify(v)}`);
  return n;
}

function expandHome(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(baseDir, p);
}

function remoteDir(v: unknown, where: string): string {
  if (typeof v !== 'string' || !v.startsWith('/') || /[\s'"\\$`]/.test(v) || v.split('/').includes('..')) {
    throw new Error(`${where}: dir must be an absolute path without spaces, quotes or "..", got ${JSON.stringify(v)}`);
  }
  return v.replace(/\/+$/, '') || '/';
}

function address(v: unknown, where: string, what: string): string {
  if (typeof v !== 'string' || isIP(v) === 0) throw new Error(`${where}: ${what} must be an IP address of the host, got ${JSON.stringify(v)}`);
  return v;
}

/** One `user@host[:port]` item (`[v6]:port` for IPv6); the user defaults to root. */
export function parseHostItem(item: string, defaults: HostDefaults = {}): SshHost {
  const m = /^(?:([^@\s]+)@)?(\[[^\]\s]+\]|[^:@\s\[\]]+)(?::(\d+))?$/.exec(item.trim());
  if (m === null) throw new Error(`--hosts: "${item}" is not user@host[:port]`);
  const host = m[2]!.replace(/^\[|\]$/g, '');
  return {
    host,
    port: m[3] !== undefined ? port(m[3], `--hosts ${item}`) : (defaults.port ?? 22),
    user: m[1] ?? defaults.user ?? 'root',
    ...(defaults.key !== undefined ? { key: defaults.key } : {}),
    dir: defaults.dir ?? defaultRemoteDir,
  };
}

/** `--hosts a,b,c`: at least one, none twice. */
export function parseHostList(value: string, defaults: HostDefaults = {}): SshHost[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new Error('--hosts needs at least one user@host[:port]');
  return noDuplicates(items.map((i) => parseHostItem(i, defaults)), '--hosts');
}

function noDuplicates(hosts: SshHost[], where: string): SshHost[] {
  const seen = new Set<string>();
  for (const h of hosts) {
    const id = `${h.host}:${h.port}`;
    if (seen.has(id)) throw new Error(`${where}: ${id} is listed twice (one node per host)`);
    seen.add(id);
  }
  return hosts;
}

/**
 * An inventory file's text: `{"user","port","key","dir","knownHosts","httpPort","peerPort","hosts":[…]}`, where
 * each host is `{"host", "port"?, "user"?, "key"?, "client"?, "peer"?, "dir"?}` (the top-level fields are
 * defaults). Relative key and known_hosts paths are read from the inventory's own directory.
 */
export function parseInventory(text: string, file: string): SshInventory {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`--inventory ${file}: not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const o = json as Record<string, unknown> | null;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error(`--inventory ${file}: expected an object with a "hosts" list`);
  const unknown = Object.keys(o).filter((k) => !fieldsOfInventory.includes(k));
  if (unknown.length > 0) throw new Error(`--inventory ${file}: unknown field "${unknown[0]}" (fields: ${fieldsOfInventory.join(', ')})`);
  const baseDir = path.dirname(path.resolve(file));
  const text0 = (v: unknown, what: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new Error(`--inventory ${file}: ${what} must be a non-empty string`);
    return v;
  };
  const defaults: HostDefaults = {
    ...(o['user'] !== undefined ? { user: text0(o['user'], 'user')! } : {}),
    ...(o['port'] !== undefined ? { port: port(o['port'], `--inventory ${file}`) } : {}),
    ...(o['key'] !== undefined ? { key: expandHome(text0(o['key'], 'key')!, baseDir) } : {}),
    ...(o['dir'] !== undefined ? { dir: remoteDir(o['dir'], `--inventory ${file}`) } : {}),
  };
  if (!Array.isArray(o['hosts']) || o['hosts'].length === 0) throw new Error(`--inventory ${file}: "hosts" must be a non-empty list`);
  const hosts = o['hosts'].map((entry: unknown, i: number): SshHost => {
    const where = `--inventory ${file}: hosts[${i}]`;
    if (typeof entry === 'string') return parseHostItem(entry, defaults);
    const h = entry as Record<string, unknown> | null;
    if (h === null || typeof h !== 'object' || Array.isArray(h)) throw new Error(`${where} must be "user@host[:port]" or an object`);
    const bad = Object.keys(h).filter((k) => !fieldsOfHost.includes(k));
    if (bad.length > 0) throw new Error(`${where}: unknown field "${bad[0]}" (fields: ${fieldsOfHost.join(', ')})`);
    const host = text0(h['host'], `hosts[${i}].host`);
    if (host === undefined) throw new Error(`${where}: "host" is required`);
    const key = h['key'] !== undefined ? expandHome(text0(h['key'], `hosts[${i}].key`)!, baseDir) : defaults.key;
    return {
      host,
      port: h['port'] !== undefined ? port(h['port'], where) : (defaults.port ?? 22),
      user: text0(h['user'], `hosts[${i}].user`) ?? defaults.user ?? 'root',
      ...(key !== undefined ? { key } : {}),
      ...(h['client'] !== undefined ? { client: address(h['client'], where, 'client') } : {}),
      ...(h['peer'] !== undefined ? { peer: address(h['peer'], where, 'peer') } : {}),
      dir: h['dir'] !== undefined ? remoteDir(h['dir'], where) : (defaults.dir ?? defaultRemoteDir),
    };
  });
  const knownHosts = text0(o['knownHosts'], 'knownHosts');
  return {
    hosts: noDuplicates(hosts, `--inventory ${file}`),
    ...(knownHosts !== undefined ? { knownHostsFile: expandHome(knownHosts, baseDir) } : {}),
    ...(o['httpPort'] !== undefined ? { httpPort: port(o['httpPort'], `--inventory ${file}: httpPort`) } : {}),
    ...(o['peerPort'] !== undefined ? { peerPort: port(o['peerPort'], `--inventory ${file}: peerPort`) } : {}),
  };
}

/**
 * Settles each host's client and peer addresses: given ones stay, a host given as an address is its own,
 * a name is resolved here (IPv4 first). Two hosts on one peer address would make partitions ambiguous.
 */
export async function resolveHosts(hosts: readonly SshHost[]): Promise<ResolvedSshHost[]> {
  const out: ResolvedSshHost[] = [];
  for (const h of hosts) {
    let own = isIP(h.host) !== 0 ? h.host : undefined;
    if (own === undefined && (h.client === undefined || h.peer === undefined)) {
      try {
        own = (await lookup(h.host)).address;
      } catch (e) {
        throw new Error(`${h.user}@${h.host}: its name does not resolve (${(e as NodeJS.ErrnoException).code ?? String(e)}); give its client and peer addresses in the inventory (definite: nothing started)`);
      }
    }
    const client = h.client ?? own!;
    out.push({ ...h, client, peer: h.peer ?? client });
  }
  const peers = new Map<string, string>();
  for (const h of out) {
    const other = peers.get(h.peer);
    if (other !== undefined) throw new Error(`${other} and ${h.host} share the peer address ${h.peer}: one node per address, or partitions would cut both (definite: nothing started)`);
    peers.set(h.peer, h.host);
  }
  return out;
}
