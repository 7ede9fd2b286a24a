// Mulberry32, the same generator as node/core/random.ts, kept here because the checkers import nothing from
// the rest of the project (a checker judges any history, with or without the node beside it): the draws of
// the synthetic histories and of the t-visibility bootstrap. Small, fast, and seeded, so a check repeats.
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
