// Argument parsers shared by the CLI and the campaign (kept apart from cli.ts, whose top-level await runs
// the program: a module imported back from it would wait on that await forever).
import { InvalidArgumentError } from 'commander';
import type { NemesisKind } from './nemesis/nemesis.js';

export const nemesisKinds: readonly NemesisKind[] = ['partition', 'clock', 'crash', 'pause', 'membership'];

export function parseNemesis(v: string): NemesisKind[] {
  if (v === 'none' || v === '') return [];
  const kinds = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const k of kinds) {
    if (!(nemesisKinds as readonly string[]).includes(k)) {
      throw new InvalidArgumentError(`unknown fault "${k}" (use ${nemesisKinds.join(', ')} or none)`);
    }
  }
  return [...new Set(kinds)] as NemesisKind[];
}


/** The reference node's deliberate defects (node/core/config.ts TestFault), for `--fault`. Test-only. */
export const testFaultNames = [
  'ack-before-w', 'read-fewer-than-r', 'lww-in-vclock', 'drop-hints', 'no-repair', 'remove-unobserved', 'ack-not-durable', 'context-overcovers',
] as const;

/**
 * The extra node environment of `run` and `campaign`: every `--env VAR=value`, plus `--fault a,b` as
 * QL_TEST_FAULTS (merged with one given through --env). Undefined when neither flag is given.
 */
export function clusterEnvFrom(o: Record<string, unknown>): Record<string, string> | undefined {
  const list = o['env'] as string[] | undefined;
  const faults = typeof o['fault'] === 'string' ? o['fault'].split(',').map((s) => s.trim()).filter((s) => s.length > 0) : [];
  if (list === undefined && faults.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--env expects VAR=value, got "${item}"`);
    env[item.slice(0, eq)] = item.slice(eq + 1);
  }
  for (const f of faults) {
    if (!(testFaultNames as readonly string[]).includes(f)) throw new InvalidArgumentError(`unknown test fault "${f}" (use ${testFaultNames.join(', ')})`);
  }
  if (faults.length > 0) {
    const already = (env['QL_TEST_FAULTS'] ?? '').split(',').filter((s) => s.length > 0);
    env['QL_TEST_FAULTS'] = [...new Set([...already, ...faults])].join(',');
  }
  return env;
}
