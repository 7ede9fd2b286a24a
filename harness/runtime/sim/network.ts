// The simulated inter-node network: unreliable and unordered like a real one. Each message gets its own
// delay from the configured model (so messages overtake each other), may be dropped or duplicated, and
// crosses as a structured value: checked to be plain JSON data and deep-frozen at send time (see
// frozenMessage), so sender and receiver may share it but neither can change it for the other.
// Partitions are grudges, checked when a message arrives (so messages in flight when a partition starts
// are cut too, as iptables would).
import type { NodeId, PeerMessage } from '../../../node/core/env.js';
import type { Grudge } from '../runtime.js';
import { classifyMessage, delaySampler, type DelayModel, type MessageClass, type Uniform } from './delay.js';
import type { Scheduler } from './scheduler.js';

export interface NetworkOptions {
  readonly scheduler: Scheduler;
  readonly random: Uniform;
  readonly model: DelayModel;
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Hands a message to its destination at delivery time (the destination decides crashed/paused). */
  readonly deliver: (from: NodeId, to: NodeId, message: PeerMessage) => void;
  /** Overrides the WARS classification of messages (defaults to classifyMessage on the type). */
  readonly classify?: (message: PeerMessage) => MessageClass;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  partitioned: number;
}

export class SimNetwork {
  private grudge: Grudge = {};
  private readonly sample: (cls: MessageClass, random: Uniform) => number;
  /** Only the PBS mixtures depend on the message class; the others skip classifying. */
  private readonly byClass: boolean;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, partitioned: 0 };

  constructor(private readonly options: NetworkOptions) {
    this.sample = delaySampler(options.model);
    const kind = options.model.kind;
    this.byClass = kind === 'lnkd-ssd' || kind === 'lnkd-disk' || kind === 'ymmr';
  }

  /** Replaces the partition: grudge[a] lists the nodes whose messages a drops. */
  setGrudge(grudge: Grudge): void {
    const copy: Record<string, readonly string[]> = {};
    for (const [node, enemies] of Object.entries(grudge)) copy[node] = [...enemies];
    this.grudge = copy;
  }

  get currentGrudge(): Grudge {
    return this.grudge;
  }

  /** Whether `to` currently drops messages from `from`. */
  blocked(from: NodeId, to: NodeId): boolean {
    return this.grudge[to]?.includes(from) ?? false;
  }

  /** The delay this message would get (one sample). Exposed for tests and for the PBS experiments. */
  delayFor(message: PeerMessage): number {
    const cls: MessageClass = this.byClass ? (this.options.classify?.(message) ?? classifyMessage(message.type)) : 'A';
    return Math.max(0, this.sample(cls, this.options.random));
  }

  send(from: NodeId, to: NodeId, message: PeerMessage): void {
    const { random, dropRate, duplicateRate } = this.options;
    this.stats.sent++;
    // Always draw the same number of random values per message so that knobs at 0 and knobs above 0
    // consume the stream alike (changing one knob then perturbs only what it controls).
    const dropDraw = random();
    const dupDraw = random();
    if (dropDraw < dropRate) {
      this.stats.dropped++;
      return;
    }
    const copies = dupDraw < duplicateRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    // Checked and frozen once, at send time: later changes by the sender cannot leak into it, and the
    // receiver's decodePeerMessage validates it as it validates a parsed frame. Serialising it here would
    // cost a stringify and a parse per message for nothing: both ends are in this process.
    const frame = frozenMessage(message);
    for (let i = 0; i < copies; i++) {
      this.options.scheduler.after(this.delayFor(message), () => {
        if (this.blocked(from, to)) {
          this.stats.partitioned++;
          return;
        }
        this.stats.delivered++;
        this.options.deliver(from, to, frame);
      });
    }
  }
}

/** Thrown at send time for a message the real transport could not frame faithfully (a core bug). */
export class NotJsonError extends Error {
  override readonly name = 'NotJsonError';
}

/**
 * `message` deep-frozen, after checking that it is plain JSON data: what a JSON round trip would give back
 * unchanged (plain objects and arrays of strings, finite numbers, booleans and null). A property whose
 * value is undefined is allowed, as JSON.stringify drops it and every decoder reads such a field as absent.
 * Anything else (a Uint8Array, a Map, a bigint, NaN, a function) throws NotJsonError: over a real link it
 * would arrive as something else than was sent. The contents of already frozen parts (the memoised JSON
 * forms of cart states, which cart.ts builds and freezes) are not walked again: a frozen plain object or
 * array was either frozen here or by an encoder of JSON forms.
 */
export function frozenMessage(message: PeerMessage): PeerMessage {
  // The walk that names the offending field builds a path string per property; it runs only once the
  // pathless walk has found something to name.
  if (!frozeJson(message)) freezeJson(message, 'message');
  return message;
}

/** freezeJson without paths: false (with what was checked so far frozen) where freezeJson would throw. */
function frozeJson(v: unknown): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      break;
    default:
      return false;
  }
  const o = v as object;
  const isArray = Array.isArray(o);
  if (!isArray) {
    const proto = Object.getPrototypeOf(o) as unknown;
    if (proto !== Object.prototype && proto !== null) return false;
  }
  if (Object.isFrozen(o)) return true;
  if (isArray) {
    for (let i = 0; i < o.length; i++) if (!frozeJson(o[i])) return false;
  } else {
    for (const k in o) {
      const x = (o as Record<string, unknown>)[k];
      if (x !== undefined && !frozeJson(x)) return false;
    }
  }
  Object.freeze(o);
  return true;
}

function freezeJson(v: unknown, path: string): void {
  if (v === null) return;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new NotJsonError(`${path} is ${v}, which JSON cannot carry`);
      return;
    case 'object':
      break;
    default:
      throw new NotJsonError(`${path} is a ${typeof v}, which JSON cannot carry`);
  }
  const o = v as object;
  const isArray = Array.isArray(o);
  if (!isArray) {
    const proto = Object.getPrototypeOf(o) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new NotJsonError(`${path} is a ${o.constructor?.name ?? 'non-plain object'}, which JSON cannot carry faithfully`);
  }
  if (Object.isFrozen(o)) return;
  if (isArray) {
    for (let i = 0; i < o.length; i++) freezeJson(o[i], path);
  } else {
    for (const k in o) {
      const x = (o as Record<string, unknown>)[k];
      if (x !== undefined) freezeJson(x, `${path}.${k}`);
    }
  }
  Object.freeze(o);
}
