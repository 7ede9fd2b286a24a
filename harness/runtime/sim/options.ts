// The `sim` knobs of a ClusterSpec, parsed once with their defaults so that describe() can print every
// value a run used (a failing seed only replays with the same knobs).
import { delayKinds, type DelayKind } from './delay.js';

export interface SimKnobs {
  /** Inter-node message delay model. */
  readonly delay: DelayKind;
  readonly delayMs: number;
  readonly minDelayMs: number | undefined;
  readonly maxDelayMs: number | undefined;
  /**
   * Extra one-way delay of a message between datacenters (the PBS paper's WAN: 75 ms over LNKD-DISK).
   * With `remoteNodes` there are two datacenters, those nodes and the rest; without, every node is a
   * datacenter of its own. A node's messages to itself never cross one.
   */
  readonly remoteDelayMs: number;
  readonly remoteNodes: readonly string[] | undefined;
  /** The WARS condition: each coordinator's own copy travels the network like a remote one (NodeConfig). */
  readonly localCopyViaNetwork: boolean;
  /** Probability that an inter-node message is lost. */
  readonly dropRate: number;
  /** Probability that an inter-node message is delivered twice (with independent delays). */
  readonly duplicateRate: number;
  /** Simulated fsync latency of a storage batch. */
  readonly fsyncMs: number;
  /** One-way client↔node delay (exponential with this mean; 0 = immediate). */
  readonly clientDelayMs: number;
  /** How long a client waits for an answer before recording `info` (default: request timeout + 1 s). */
  readonly clientTimeoutMs: number | undefined;
  /** Q, the fixed number of ring partitions (default: ringPartitions of the spec, the rule every runtime uses). */
  readonly partitions: number | undefined;
  /** Node timing overrides (undefined = the node's defaults). */
  readonly requestTimeoutMs: number | undefined;
  readonly gossipIntervalMs: number | undefined;
  readonly antiEntropyIntervalMs: number | undefined;
  readonly hintIntervalMs: number | undefined;
  readonly tombstoneGraceMs: number | undefined;
  /** Log entries kept in memory per node (older ones are dropped and counted). */
  readonly logLimit: number;
  /** Virtual time allowed for setup/addNode convergence before they fail. */
  readonly convergeTimeoutMs: number;
  /** Runaway guard: consecutive events without virtual time advancing. */
  readonly maxEventsWithoutProgress: number;
}

export const defaultSimKnobs: SimKnobs = {
  delay: 'exponential',
  delayMs: 1,
  minDelayMs: undefined,
  maxDelayMs: undefined,
  remoteDelayMs: 0,
  remoteNodes: undefined,
  localCopyViaNetwork: false,
  dropRate: 0,
  duplicateRate: 0,
  fsyncMs: 1,
  clientDelayMs: 0.5,
  clientTimeoutMs: undefined,
  partitions: undefined,
  requestTimeoutMs: undefined,
  gossipIntervalMs: undefined,
  antiEntropyIntervalMs: undefined,
  hintIntervalMs: undefined,
  tombstoneGraceMs: undefined,
  logLimit: 20_000,
  convergeTimeoutMs: 60_000,
  maxEventsWithoutProgress: 1_000_000,
};

/** Parses the knobs; a wrong type or value is a definite configuration error (thrown). */
export function parseSimKnobs(raw: Readonly<Record<string, unknown>> | undefined): { knobs: SimKnobs; ignored: string[] } {
  const input = raw ?? {};
  const out: Record<string, unknown> = { ...defaultSimKnobs };
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!(name in defaultSimKnobs)) {
      // Unknown knobs are reported by describe() rather than rejected, so newer callers still run.
      ignored.push(name);
      continue;
    }
    if (name === 'delay') {
      if (typeof value !== 'string' || !(delayKinds as readonly string[]).includes(value.toLowerCase())) {
        throw new Error(`sim knob delay must be one of ${delayKinds.join(', ')}, got ${JSON.stringify(value)}`);
      }
      out[name] = value.toLowerCase();
      continue;
    }
    if (name === 'localCopyViaNetwork') {
      if (typeof value !== 'boolean') throw new Error(`sim knob localCopyViaNetwork must be true or false, got ${JSON.stringify(value)}`);
      out[name] = value;
      continue;
    }
    if (name === 'remoteNodes') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`sim knob remoteNodes must be a list of node ids, got ${JSON.stringify(value)}`);
      out[name] = [...value];
      continue;
    }
    const n = typeof value === 'string' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      throw new Error(`sim knob ${name} must be a non-negative number, got ${JSON.stringify(value)}`);
    }
    if ((name === 'dropRate' || name === 'duplicateRate') && n > 1) {
      throw new Error(`sim knob ${name} is a probability in [0, 1], got ${n}`);
    }
    out[name] = n;
  }
  return { knobs: out as unknown as SimKnobs, ignored };
}
