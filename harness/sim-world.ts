// The simulated world of a run, as the CLI names it: the network's latency model (`--net`), message drops and
// duplicates, fsync latency, the client↔node delay, and how a coordinator treats its own copy. Parsed once
// here, recorded in config.json as `world`, printed in the run header, turned into the sim runtime's knobs,
// and written back as flags by the replay command. Only the sim can honour it: local and Docker nodes live
// on the real network and disks, so a world flag given with them is an error, never silently ignored.
import { InvalidArgumentError } from 'commander';
import type { RuntimeKind } from './runtime/runtime.js';
import type { WorkloadName } from '../workloads/workload.js';

/** A latency model as `--net` spells it. */
export type NetModel =
  | { readonly kind: 'constant'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: 'exponential'; readonly meanMs: number }
  | { readonly kind: 'lnkd-ssd' | 'lnkd-disk' | 'ymmr' | 'wan' };

/**
 * `dynamo`: the coordinator uses its own copy at once (it stores first and reads itself without delay), as
 * Dynamo and the reference node do. `wars`: the PBS paper's model, where every one of the N replicas,
 * the coordinator's own included, is reached through the network with W, A, R and S delays.
 */
export type Coordination = 'dynamo' | 'wars';

/** The WAN's extra one-way delay between datacenters (PBS paper, §5: LNKD-DISK plus 75 ms). */
export const wanRemoteDelayMs = 75;

export interface SimWorld {
  /** The model in `--net` syntax (canonical), e.g. "exponential:1" or "lnkd-disk". */
  readonly net: string;
  /** wan only: nodes in the remote datacenter (null: every node a datacenter of its own). */
  readonly remoteNodes: readonly string[] | null;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly fsyncMs: number;
  readonly clientDelayMs: number;
  readonly coordination: Coordination;
}

/** The world flags as given (each undefined when not given). */
export interface WorldFlags {
  readonly net?: string;
  readonly remoteNodes?: readonly string[];
  readonly dropRate?: number;
  readonly duplicateRate?: number;
  readonly fsyncMs?: number;
  readonly clientDelayMs?: number;
  readonly coordination?: Coordination;
}

const netSyntax = 'constant:<ms>, uniform:<min>-<max>, exponential:<mean ms>, lnkd-ssd, lnkd-disk, ymmr or wan';

function nonNegative(text: string): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** Parses `--net`; a bad value throws one line. */
export function parseNet(v: string): NetModel {
  const text = v.trim().toLowerCase();
  if (text === 'lnkd-ssd' || text === 'lnkd-disk' || text === 'ymmr' || text === 'wan') return { kind: text };
  const [kind, arg, ...rest] = text.split(':');
  const bad = (): InvalidArgumentError => new InvalidArgumentError(`--net must be ${netSyntax}, got "${v}"`);
  if (arg === undefined || rest.length > 0) throw bad();
  if (kind === 'constant' || kind === 'exponential') {
    const ms = nonNegative(arg);
    if (ms === undefined) throw bad();
    if (kind === 'exponential' && ms === 0) throw new InvalidArgumentError(`--net exponential needs a mean above 0 ms, got "${v}"`);
    return kind === 'constant' ? { kind, ms } : { kind, meanMs: ms };
  }
  if (kind === 'uniform') {
    const parts = arg.split('-');
    const [lo, hi] = parts.map(nonNegative);
    if (parts.length !== 2 || lo === undefined || hi === undefined) throw bad();
    if (hi < lo) throw new InvalidArgumentError(`--net uniform:<min>-<max> needs min ≤ max, got "${v}"`);
    return { kind, minMs: lo, maxMs: hi };
  }
  throw bad();
}

export function formatNet(m: NetModel): string {
  switch (m.kind) {
    case 'constant':
      return `constant:${m.ms}`;
    case 'uniform':
      return `uniform:${m.minMs}-${m.maxMs}`;
    case 'exponential':
      return `exponential:${m.meanMs}`;
    default:
      return m.kind;
  }
}

/** `--drop` and `--duplicate`: a probability. */
export function probabilityArg(flag: string): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1) throw new InvalidArgumentError(`${flag} must be a probability from 0 to 1, got "${v}"`);
    return x;
  };
}

/** `--remote-nodes n4,n5`. */
export function parseRemoteNodes(v: string): string[] {
  const ids = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0) throw new InvalidArgumentError('--remote-nodes needs node ids like n4,n5');
  for (const id of ids) if (!/^n[1-9]\d*$/.test(id)) throw new InvalidArgumentError(`--remote-nodes: "${id}" is not a node id (n1, n2, …)`);
  return [...new Set(ids)];
}

export function parseCoordination(v: string): Coordination {
  if (v !== 'dynamo' && v !== 'wars') throw new InvalidArgumentError(`--coordination must be wars or dynamo, got "${v}"`);
  return v;
}

/** `--net a,b`: one model (run) or a list of them (a campaign axis); each item checked, canonical. */
export function parseNetList(v: string): string {
  const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError(`--net must be ${netSyntax}, got "${v}"`);
  return [...new Set(items.map((s) => formatNet(parseNet(s))))].join(',');
}

/** The world flags from parsed CLI options (commander's camelCase names); `net` must be one model here. */
export function worldFlagsFrom(o: Record<string, unknown>): WorldFlags {
  const out: Record<string, unknown> = {};
  if (typeof o['net'] === 'string') {
    if (o['net'].includes(',')) throw new InvalidArgumentError(`run takes one --net model, got "${o['net']}" (a list is a campaign axis)`);
    out['net'] = formatNet(parseNet(o['net']));
  }
  if (Array.isArray(o['remoteNodes'])) out['remoteNodes'] = o['remoteNodes'];
  if (typeof o['drop'] === 'number') out['dropRate'] = o['drop'];
  if (typeof o['duplicate'] === 'number') out['duplicateRate'] = o['duplicate'];
  if (typeof o['fsyncMs'] === 'number') out['fsyncMs'] = o['fsyncMs'];
  if (typeof o['clientDelayMs'] === 'number') out['clientDelayMs'] = o['clientDelayMs'];
  if (typeof o['coordination'] === 'string') out['coordination'] = o['coordination'];
  return out as WorldFlags;
}

const flagOf: Readonly<Record<keyof WorldFlags, string>> = {
  net: '--net', remoteNodes: '--remote-nodes', dropRate: '--drop', duplicateRate: '--duplicate', fsyncMs: '--fsync-ms',
  clientDelayMs: '--client-delay-ms', coordination: '--coordination',
};

/**
 * Checks that the runtime can honour the flags given; returns one line saying what is wrong, or undefined.
 * `--coordination dynamo` is what real nodes do anyway, so it is accepted everywhere.
 */
export function worldFlagError(flags: WorldFlags, runtime: RuntimeKind, nodes: number): string | undefined {
  if (runtime !== 'sim') {
    const given = (Object.keys(flags) as (keyof WorldFlags)[]).filter((k) => flags[k] !== undefined && !(k === 'coordination' && flags[k] === 'dynamo'));
    if (given.length > 0) {
      return `${given.map((k) => flagOf[k]).join(', ')} ${given.length > 1 ? 'need' : 'needs'} --runtime sim (${runtime} nodes run on the real network and disks, which quorumlab does not shape)`;
    }
    return undefined;
  }
  if (flags.remoteNodes !== undefined) {
    if (flags.net !== 'wan') return '--remote-nodes needs --net wan';
    const outside = flags.remoteNodes.filter((id) => Number(id.slice(1)) > nodes);
    if (outside.length > 0) return `--remote-nodes ${outside.join(',')}: the cluster has n1..n${nodes}`;
    if (flags.remoteNodes.length >= nodes) return '--remote-nodes must leave at least one node in the local datacenter';
  }
  return undefined;
}

/**
 * The world a sim run lives in: the flags given over the defaults. The defaults are the sim's own (an
 * exponential 1 ms network, 1 ms fsync, 0.5 ms client delay, Dynamo's coordination) except for the pbs
 * workload, which measures the paper's quantity: clients at the coordinator (0 ms), in-memory replicas
 * (0 ms fsync, as the paper's Cassandra validation) and WARS coordination.
 */
export function resolveWorld(flags: WorldFlags, workload: WorkloadName): SimWorld {
  const pbs = workload === 'pbs';
  return {
    net: flags.net ?? 'exponential:1',
    remoteNodes: flags.remoteNodes === undefined ? null : [...flags.remoteNodes],
    dropRate: flags.dropRate ?? 0,
    duplicateRate: flags.duplicateRate ?? 0,
    fsyncMs: flags.fsyncMs ?? (pbs ? 0 : 1),
    clientDelayMs: flags.clientDelayMs ?? (pbs ? 0 : 0.5),
    coordination: flags.coordination ?? (pbs ? 'wars' : 'dynamo'),
  };
}

/** The sim runtime's knobs (harness/runtime/sim/options.ts) for a world. */
export function simKnobsOf(world: SimWorld): Record<string, unknown> {
  const m = parseNet(world.net);
  const model: Record<string, unknown> =
    m.kind === 'constant' ? { delay: 'constant', delayMs: m.ms }
      : m.kind === 'uniform' ? { delay: 'uniform', minDelayMs: m.minMs, maxDelayMs: m.maxMs, delayMs: (m.minMs + m.maxMs) / 2 }
        : m.kind === 'exponential' ? { delay: 'exponential', delayMs: m.meanMs }
          : m.kind === 'wan' ? { delay: 'lnkd-disk', remoteDelayMs: wanRemoteDelayMs, ...(world.remoteNodes === null ? {} : { remoteNodes: world.remoteNodes }) }
            : { delay: m.kind };
  return {
    ...model,
    dropRate: world.dropRate,
    duplicateRate: world.duplicateRate,
    fsyncMs: world.fsyncMs,
    clientDelayMs: world.clientDelayMs,
    ...(world.coordination === 'wars' ? { localCopyViaNetwork: true } : {}),
  };
}

/** The world as the run header prints it. */
export function describeWorld(world: SimWorld): string {
  return `  world: net=${world.net}${world.remoteNodes !== null ? ` remote-nodes=${world.remoteNodes.join(',')}` : ''} drop=${world.dropRate} duplicate=${world.duplicateRate} ` +
    `fsync=${world.fsyncMs}ms client-delay=${world.clientDelayMs}ms coordination=${world.coordination}`;
}

/** The world as flags, for the replay command. */
export function worldArgs(world: SimWorld): string[] {
  return [
    '--net', world.net,
    ...(world.remoteNodes !== null ? ['--remote-nodes', world.remoteNodes.join(',')] : []),
    '--drop', String(world.dropRate), '--duplicate', String(world.duplicateRate),
    '--fsync-ms', String(world.fsyncMs), '--client-delay-ms', String(world.clientDelayMs),
    '--coordination', world.coordination,
  ];
}
