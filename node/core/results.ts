// The refusals a coordinator returns as data (api.ts): a quorum not met in time, and a request refused
// before anything was sent.
import type { QuorumError } from './api.js';

export function quorumError(needed: number, replied: number): QuorumError {
  return { ok: false, error: 'quorum', needed, replied };
}

export function badRequest(message: string): { ok: false; error: 'bad-request'; message: string } {
  return { ok: false, error: 'bad-request', message };
}

/** A per-request quorum (R or W) checked against N, or why it is not valid. */
export function quorumOf(value: number | undefined, fallback: number, name: string, n: number): number | string {
  const q = value ?? fallback;
  if (!Number.isInteger(q) || q < 1 || q > n) return `${name} must be an integer from 1 to N=${n}, got ${q}`;
  return q;
}
