// PBS (Bailis et al., VLDB 2012): the closed-form k-staleness prediction and the paper's published figures,
// embedded because checkers must not read files.

/** Binomial coefficient C(n, k) for small n (exact for the quorum sizes used here). */
export function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let out = 1;
  for (let i = 1; i <= k; i++) out = (out * (n - k + i)) / i;
  return Math.round(out);
}

/** Probability that one read misses one write under uniform random replica choice: C(N−W, R) / C(N, R). */
export function pbsStaleOne(n: number, r: number, w: number): number {
  const denom = choose(n, r);
  return denom === 0 ? 0 : choose(n - w, r) / denom;
}

/** P(a read returns one of the last k versions) = 1 − p_stale^k, for k = 1..kMax. */
export function pbsWithinK(n: number, r: number, w: number, kMax = 5): { k: number; p: number }[] {
  const p = pbsStaleOne(n, r, w);
  const out: { k: number; p: number }[] = [];
  for (let k = 1; k <= kMax; k++) out.push({ k, p: 1 - p ** k });
  return out;
}

/** Table 4 of the paper (N=3): per latency distribution [p99.9 read ms, p99.9 write ms, t ms for 99.9% consistency]. */
export const PBS_TABLE4_N3: readonly { R: number; W: number; rows: Record<string, readonly [number, number, number]> }[] = [
  { R: 1, W: 1, rows: { 'LNKD-SSD': [0.66, 0.66, 1.85], 'LNKD-DISK': [0.66, 10.99, 45.5], YMMR: [5.58, 10.83, 1364], WAN: [3.4, 55.12, 113] } },
  { R: 1, W: 2, rows: { 'LNKD-SSD': [0.66, 1.63, 1.79], 'LNKD-DISK': [0.65, 20.97, 43.3], YMMR: [5.61, 427.12, 1352], WAN: [3.4, 167.64, 0] } },
  { R: 2, W: 1, rows: { 'LNKD-SSD': [1.63, 0.65, 0], 'LNKD-DISK': [1.63, 10.9, 13.6], YMMR: [32.6, 10.73, 202], WAN: [151.3, 56.36, 30.2] } },
  { R: 2, W: 2, rows: { 'LNKD-SSD': [1.62, 1.64, 0], 'LNKD-DISK': [1.64, 20.96, 0], YMMR: [33.18, 428.11, 0], WAN: [151.31, 167.72, 0] } },
  { R: 3, W: 1, rows: { 'LNKD-SSD': [4.14, 0.65, 0], 'LNKD-DISK': [4.12, 10.89, 0], YMMR: [219.27, 10.79, 0], WAN: [153.86, 55.19, 0] } },
  { R: 1, W: 3, rows: { 'LNKD-SSD': [0.65, 4.09, 0], 'LNKD-DISK': [0.65, 112.65, 0], YMMR: [5.63, 1870.86, 0], WAN: [3.44, 241.55, 0] } },
];

/** Published probability of a consistent read at t = 0 for N=3, R=W=1. */
export const PBS_CONSISTENT_T0_N3_R1_W1: Readonly<Record<string, number>> = { 'LNKD-SSD': 0.974, 'LNKD-DISK': 0.439, YMMR: 0.893, WAN: 0.33 };

/** The paper's validation error between predicted and measured t-visibility (3-node Cassandra). */
export const PBS_VALIDATION_RMSE = 0.0028;

export const PBS_SOURCE = 'Bailis et al., Probabilistically Bounded Staleness for Practical Partial Quorums, VLDB 2012';
