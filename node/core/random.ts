// Seeded pseudo-random numbers shared by the core and the simulation. A whole simulated campaign is a
// pure function of its seed, so every random choice must come from a generator derived from that seed,
// never from ambient randomness.
import { hash32 } from './hash.js';

/** SplitMix32-style finaliser: spreads a 32-bit input over all output bits (used to scramble seeds). */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * SplitMix64 as a generator of 64-bit BigInts, for callers that want wide values (nonces, ids).
 * It is slower than mulberry32 because of BigInt, so hot paths should prefer `seededRandom`.
 */
export function splitmix64(seed: bigint): () => bigint {
  const mask = (1n << 64n) - 1n;
  let state = BigInt.asUintN(64, seed);
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & mask;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask;
    return z ^ (z >> 31n);
  };
}

/** Mulberry32: a small, fast 32-bit generator; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A deterministic generator of floats in [0, 1) for a seed. The seed is scrambled first so that
 * neighbouring seeds (1, 2, 3 …) give unrelated streams.
 */
export function seededRandom(seed: number): () => number {
  return mulberry32(mix32(Math.trunc(seed) >>> 0));
}

/**
 * A child seed for a named purpose ("node:n1", "network", …), so that adding a consumer of randomness
 * does not shift the stream every other consumer sees.
 */
export function deriveSeed(seed: number, label: string): number {
  return hash32(`${Math.trunc(seed)}\u0000${label}`);
}

/** An integer in [0, n) from a float source. */
export function randomInt(next: () => number, n: number): number {
  return Math.floor(next() * n);
}
