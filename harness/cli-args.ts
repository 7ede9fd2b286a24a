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

