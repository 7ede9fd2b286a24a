// Reads the node's configuration from the QL_* environment variables of NODE-API.md. Every problem is
// reported as one ConfigError with a sentence naming the variable, so `main` can print one line and
// exit 2 instead of starting a node that misbehaves later.
import { defaultNodeConfig, testFaultNames, type ConflictMode, type NodeConfig, type SeedPeer, type TestFault } from './core/config.js';
import type { LogLevel } from './core/env.js';
import { createHmac, randomBytes } from 'node:crypto';
import { parseHostPort } from './host-port.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What the process needs besides the core's NodeConfig. */
export interface ProcessConfig {
  readonly core: NodeConfig;
  /** Client API listen address "host:port". */
  readonly httpAddr: string;
  /** Directory holding the LevelDB database. */
  readonly dataDir: string;
  /** QL_VNODES as given; it does not change Q, which is QL_PARTITIONS (see README, "QL_VNODES"). */
  readonly vnodes: number;
  /**
   * Variables of NODE-API.md that were set but have no effect on this node, for `/admin/status` under
   * "ignored" as NODE-API.md asks, so a run can report that the knob did nothing.
   */
  readonly ignored: readonly string[];
  readonly logLevel: LogLevel;
  /** QL_SECRET as given: the transport derives its frame keys from it. Undefined only when insecure. */
  readonly secret?: string;
  /** QL_INSECURE=1: started without a secret on purpose (nothing between nodes is authenticated). */
  readonly insecure: boolean;
  /**
   * QL_PEER_MAX_DELAY_MS: a peer message that arrives later than this after it was sent is dropped (see
   * PeerTransport). Default: the request timeout, after which the step that sent it has given up.
   */
  readonly peerMaxDelayMs: number;
}

/**
 * NODE-API.md variables this node reads but does not act on. QL_VNODES: Strategy 3 fixes Q for the cluster's
 * life, so Q is QL_PARTITIONS and a node's tokens are the partitions the ring gives it; the harness turns its
 * vnodes setting into QL_PARTITIONS (vnodes × initial nodes) for every runtime. The three mechanism switches
 * (QL_READ_REPAIR, QL_ANTI_ENTROPY, QL_HINTED_HANDOFF) are honoured (see switchVar).
 */
const ignoredVariables: readonly string[] = ['QL_VNODES'];

/** The test faults QL_TEST_FAULTS may name (defined once, in the core's config). */
export { testFaultNames };

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ConfigError(`${name} is required but not set`);
  return v;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const v = Number(raw);
  if (v < min || v > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** A 0/1 switch; unset or empty keeps the default. */
function switchVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim() ?? '';
  if (raw === '') return fallback;
  if (raw !== '0' && raw !== '1') throw new ConfigError(`${name} must be 0 or 1, got "${raw.slice(0, 40)}"`);
  return raw === '1';
}

function address(env: Env, name: string): string {
  const v = required(env, name);
  try {
    parseHostPort(v);
  } catch (error) {
    throw new ConfigError(`${name} must be host:port, got "${v}"`);
  }
  return v;
}

/** Parses QL_SEEDS: `id@host:port` entries separated by commas; empty means "no seeds". */
export function parseSeeds(raw: string | undefined): SeedPeer[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const at = entry.indexOf('@');
      if (at <= 0) throw new ConfigError(`QL_SEEDS entry "${entry}" is not id@host:port`);
      const id = entry.slice(0, at);
      const addr = entry.slice(at + 1);
      try {
        parseHostPort(addr);
      } catch {
        throw new ConfigError(`QL_SEEDS entry "${entry}" has no valid host:port`);
      }
      return { id, addr };
    });
}

export function configFromEnv(env: Env): ProcessConfig {
  const id = required(env, 'QL_ID');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new ConfigError(`QL_ID must be 1-64 letters, digits, '.', '_' or '-', got "${id}"`);
  const httpAddr = address(env, 'QL_HTTP');
  const peerAddr = address(env, 'QL_PEER');
  const dataDir = required(env, 'QL_DATA');
  const seeds = parseSeeds(env['QL_SEEDS']);

  const n = integer(env, 'QL_N', defaultNodeConfig.n, 1, 64);
  const r = integer(env, 'QL_R', Math.min(defaultNodeConfig.r, n), 1, 64);
  const w = integer(env, 'QL_W', Math.min(defaultNodeConfig.w, n), 1, 64);
  if (r > n) throw new ConfigError(`QL_R (${r}) must not exceed QL_N (${n})`);
  if (w > n) throw new ConfigError(`QL_W (${w}) must not exceed QL_N (${n})`);

  const sloppyRaw = env['QL_SLOPPY']?.trim() ?? '';
  let sloppy = defaultNodeConfig.sloppy;
  if (sloppyRaw !== '') {
    if (sloppyRaw !== '0' && sloppyRaw !== '1') throw new ConfigError(`QL_SLOPPY must be 0 or 1, got "${sloppyRaw}"`);
    sloppy = sloppyRaw === '1';
  }

  const conflictsRaw = env['QL_CONFLICTS']?.trim() || defaultNodeConfig.conflicts;
  if (conflictsRaw !== 'vclock' && conflictsRaw !== 'lww') throw new ConfigError(`QL_CONFLICTS must be vclock or lww, got "${conflictsRaw}"`);
  const conflicts: ConflictMode = conflictsRaw;

  const partitions = integer(env, 'QL_PARTITIONS', defaultNodeConfig.partitions, 1, 65536);
  const vnodes = integer(env, 'QL_VNODES', 64, 1, 65536);

  const faults: TestFault[] = [];
  for (const f of (env['QL_TEST_FAULTS'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (!(testFaultNames as readonly string[]).includes(f)) throw new ConfigError(`QL_TEST_FAULTS names unknown fault "${f}" (known: ${testFaultNames.join(', ')})`);
    faults.push(f as TestFault);
  }

  const secret = env['QL_SECRET'] === undefined || env['QL_SECRET'] === '' ? undefined : env['QL_SECRET'];
  const insecureRaw = env['QL_INSECURE']?.trim() ?? '';
  if (insecureRaw !== '' && insecureRaw !== '0' && insecureRaw !== '1') throw new ConfigError(`QL_INSECURE must be 0 or 1, got "${insecureRaw.slice(0, 40)}"`);
  const insecure = insecureRaw === '1';
  // Fail closed: a node without a secret accepts any peer and any forged context, and a reference node's
  // defaults become other people's; running so must be asked for by name.
  if (secret === undefined && !insecure) {
    throw new ConfigError('QL_SECRET is not set; every node of a cluster needs the same secret (e.g. 64 hex digits from `openssl rand -hex 32`), or QL_INSECURE=1 to run without authentication');
  }
  const logLevelRaw = env['QL_LOG_LEVEL']?.trim() || 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevelRaw)) throw new ConfigError(`QL_LOG_LEVEL must be debug, info, warn or error, got "${logLevelRaw}"`);

  const core: NodeConfig = {
    ...defaultNodeConfig,
    id,
    peerAddr,
    // The seed list is usually the same for every node. A node finds itself in it and knows it is a seed
    // (seeds found the ring; a node that joins through them waits for theirs); it never dials itself.
    seeds,
    n,
    r,
    w,
    sloppy,
    conflicts,
    partitions,
    requestTimeoutMs: integer(env, 'QL_REQUEST_TIMEOUT_MS', defaultNodeConfig.requestTimeoutMs, 1, 600_000),
    gossipIntervalMs: integer(env, 'QL_GOSSIP_MS', defaultNodeConfig.gossipIntervalMs, 1, 600_000),
    antiEntropyIntervalMs: integer(env, 'QL_AE_MS', defaultNodeConfig.antiEntropyIntervalMs, 1, 3_600_000),
    hintIntervalMs: integer(env, 'QL_HINT_MS', defaultNodeConfig.hintIntervalMs, 1, 3_600_000),
    readRepair: switchVar(env, 'QL_READ_REPAIR', defaultNodeConfig.readRepair),
    antiEntropy: switchVar(env, 'QL_ANTI_ENTROPY', defaultNodeConfig.antiEntropy),
    hintedHandoff: switchVar(env, 'QL_HINTED_HANDOFF', defaultNodeConfig.hintedHandoff),
    // Contexts are signed with a key of their own, derived from the secret, so a context tag and a peer
    // frame tag never share a key (the transport derives its keys separately, peer-session.ts). There is
    // no built-in key: an insecure node signs with a random secret of its own, so its contexts are valid
    // on it alone (main.ts says so at start) and no key is public in the source.
    secret: contextKey(secret ?? randomBytes(32).toString('hex')),
    ...(faults.length > 0 ? { testFaults: faults } : {}),
  };
  const peerMaxDelayMs = integer(env, 'QL_PEER_MAX_DELAY_MS', core.requestTimeoutMs, 1, 3_600_000);
  // The reaper's safety rests on every message under way at one check having arrived by the next, which
  // the transport bounds by the peer delay (tombstone-reaper.ts): a shorter grace period is refused.
  const tombstoneGraceMs = integer(env, 'QL_TOMBSTONE_GRACE_MS', Math.max(defaultNodeConfig.tombstoneGraceMs, peerMaxDelayMs), 1, 2 ** 31 - 1);
  if (tombstoneGraceMs < peerMaxDelayMs) {
    throw new ConfigError(`QL_TOMBSTONE_GRACE_MS (${tombstoneGraceMs}) must be at least QL_PEER_MAX_DELAY_MS (${peerMaxDelayMs}): a tombstone must outlive every message that could still bring back what it deleted`);
  }
  const ignored = ignoredVariables.filter((name) => (env[name] ?? '').trim() !== '');
  return { core: { ...core, tombstoneGraceMs }, httpAddr, dataDir, vnodes, ignored, logLevel: logLevelRaw as LogLevel, peerMaxDelayMs, insecure, ...(secret === undefined ? {} : { secret }) };
}

/** The key client contexts are signed with: derived from QL_SECRET, never the secret itself. */
export function contextKey(secret: string): string {
  return createHmac('sha256', secret).update('quorumlab client contexts v1').digest('hex');
}

/** The configuration as it is logged at start: everything but the secret's value. */
export function describeConfig(config: ProcessConfig): Record<string, unknown> {
  const { secret: _contextKey, ...core } = config.core;
  return { ...core, secret: config.secret === undefined ? 'none (QL_INSECURE=1: a random one of this process)' : 'set', http: config.httpAddr, data: config.dataDir, vnodes: config.vnodes, ignored: config.ignored, peerMaxDelayMs: config.peerMaxDelayMs };
}
