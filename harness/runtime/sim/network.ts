// The simulated inter-node network: unreliable and unordered like a real one. Each message gets its own
// delay from the configured model (so messages overtake each other), may be dropped or duplicated, and is
// deep-copied (through JSON, like the real transport) so that sender and receiver never share an object.
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
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, partitioned: 0 };

  constructor(private readonly options: NetworkOptions) {
    this.sample = delaySampler(options.model);
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
    // Only the PBS mixtures depend on the message class; skip classifying for the others.
    const pbs = this.options.model.kind === 'lnkd-ssd' || this.options.model.kind === 'lnkd-disk' || this.options.model.kind === 'ymmr';
    const cls: MessageClass = pbs ? (this.options.classify?.(message) ?? classifyMessage(message.type)) : 'A';
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
    // A JSON round trip, as the real transport frames messages: it deep-copies and it also catches a
    // core that puts something non-JSON (a Uint8Array, undefined) in a message, as the process would.
    // The message is framed once, at send time (so later changes by the sender cannot leak into it), and
    // each copy is parsed only when it is delivered: a message cut by a partition is never parsed.
    const frame = JSON.stringify(message);
    for (let i = 0; i < copies; i++) {
      this.options.scheduler.after(this.delayFor(message), () => {
        if (this.blocked(from, to)) {
          this.stats.partitioned++;
          return;
        }
        this.stats.delivered++;
        this.options.deliver(from, to, JSON.parse(frame) as PeerMessage);
      });
    }
  }
}
