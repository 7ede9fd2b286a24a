// Small helpers shared by the runtime end-to-end tests (local processes, Docker and SSH hosts).
import { readdirSync, readFileSync } from 'node:fs';

export const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
export const text = (v: Uint8Array | undefined): string => (v === undefined ? '' : Buffer.from(v).toString());

/** Polls `fn` every 150 ms until it returns true; throws, naming `what`, once `timeoutMs` has passed. */
export async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

/**
 * The distinct values among a key's versions, sorted. The tests retry a blind write until it is acknowledged,
 * and an attempt that timed out (`info`) may still have been stored; two blind writes are concurrent, so a
 * correct node keeps both as siblings holding the same value (CI saw `["kept","kept"]` once). What the tests
 * claim is that the acknowledged value is there and nothing else is, so they compare distinct values.
 */
export function distinctValues(values: readonly (Uint8Array | undefined)[]): string[] {
  return [...new Set(values.map(text))].sort();
}

/** Pids of the processes carrying a run's marker (QL_HARNESS_RUN in their environment): what a run left running. */
export function markerPids(runId: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(`QL_HARNESS_RUN=${runId}`)) out.push(Number(name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return out;
}
