// Message delay models for the simulated network. Besides the textbook constant, uniform and exponential
// delays, the PBS paper's production fits (Bailis et al., VLDB 2012; ../../../../shared/reference/
// pbs-vldb2012.json) are here so that its t-visibility table can be reproduced: each is a mixture of a
// Pareto body and an exponential tail, and differs by message class — W (write to a replica), A (its
// acknowledgement), R (read request) and S (read response), the "WARS" model.

import { type LatencyClass, latencyClassOf } from '../../../node/core/messages.js';

export type DelayKind = 'constant' | 'uniform' | 'exponential' | 'lnkd-ssd' | 'lnkd-disk' | 'ymmr';

export const delayKinds: readonly DelayKind[] = ['constant', 'uniform', 'exponential', 'lnkd-ssd', 'lnkd-disk', 'ymmr'];

/** The WARS message classes; everything that is not a read or write path message counts as A. */
export type MessageClass = 'W' | 'A' | 'R' | 'S';

/** A random source of floats in [0, 1). */
export type Uniform = () => number;

export type DelaySampler = (random: Uniform) => number;

/** Pareto(xm, alpha) by inversion: xm / U^(1/alpha), with U in (0, 1]. */
export function pareto(xm: number, alpha: number): DelaySampler {
  return (random) => xm / Math.pow(1 - random(), 1 / alpha);
}

/** Exponential with rate `lambda` per millisecond (mean 1/lambda ms), by inversion. */
export function exponential(lambda: number): DelaySampler {
  return (random) => -Math.log(1 - random()) / lambda;
}

/** With probability `p` the first sampler, otherwise the second (one uniform draw picks the branch). */
export function mixture(p: number, first: DelaySampler, second: DelaySampler): DelaySampler {
  return (random) => (random() < p ? first(random) : second(random));
}

// The fits as published (pbs-vldb2012.json, latency_fits_ms).
const lnkdSsd = mixture(0.9122, pareto(0.235, 10), exponential(1.66));
const lnkdDiskW = mixture(0.38, pareto(1.05, 1.51), exponential(0.183));
const ymmrW = mixture(0.939, pareto(3, 3.35), exponential(0.0028));
const ymmrARS = mixture(0.982, pareto(1.5, 3.8), exponential(0.0217));

/** The samplers of a PBS production fit, per WARS class. */
export const pbsFits: Readonly<Record<'lnkd-ssd' | 'lnkd-disk' | 'ymmr', Readonly<Record<MessageClass, DelaySampler>>>> = {
  'lnkd-ssd': { W: lnkdSsd, A: lnkdSsd, R: lnkdSsd, S: lnkdSsd },
  'lnkd-disk': { W: lnkdDiskW, A: lnkdSsd, R: lnkdSsd, S: lnkdSsd },
  ymmr: { W: ymmrW, A: ymmrARS, R: ymmrARS, S: ymmrARS },
};

export interface DelayModel {
  readonly kind: DelayKind;
  /** Mean delay for constant/exponential, and the default centre of uniform. */
  readonly delayMs: number;
  /** Bounds of the uniform model (defaults: 0 and 2 × delayMs, so the mean is delayMs). */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** A delay sampler per message class for a model. */
export function delaySampler(model: DelayModel): (cls: MessageClass, random: Uniform) => number {
  switch (model.kind) {
    case 'constant':
      return () => model.delayMs;
    case 'uniform': {
      const lo = model.minDelayMs ?? 0;
      const hi = model.maxDelayMs ?? 2 * model.delayMs;
      if (hi < lo) throw new RangeError(`uniform delay: maxDelayMs ${hi} < minDelayMs ${lo}`);
      return (_cls, random) => lo + (hi - lo) * random();
    }
    case 'exponential': {
      const sample = exponential(1 / Math.max(model.delayMs, 1e-9));
      return (_cls, random) => sample(random);
    }
    case 'lnkd-ssd':
    case 'lnkd-disk':
    case 'ymmr': {
      const fit = pbsFits[model.kind];
      return (cls, random) => fit[cls](random);
    }
  }
}

/**
 * The WARS class of a message of the reference node, from the latency class its type declares
 * (node/core/messages.ts): write-path requests are W, their acknowledgements A, read requests R and their
 * responses S; background traffic (gossip, anti-entropy, reaping) travels as A, as everything the WARS
 * model does not name. A type the node does not declare counts as background.
 */
export function classifyMessage(type: string): MessageClass {
  return warsClassOf[latencyClassOf(type)];
}

const warsClassOf: Readonly<Record<LatencyClass, MessageClass>> = { write: 'W', ack: 'A', read: 'R', response: 'S', background: 'A' };
