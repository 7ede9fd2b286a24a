// The nemesis quorumlab runs: every standard fault kind composed (compose.ts), drawing from the seeded
// source only among the kinds the run asked for. A step carries enough in its value to replay exactly
// (explicit nodes, sides or offsets override the random choice).
import { composeNemesis, type ComposeOptions } from './compose.js';
import type { Nemesis } from './nemesis.js';
import { standardFaults } from './standard-faults.js';

export type NemesisExtraOptions = Pick<ComposeOptions, 'minMembers'>;

export function createNemesis(options: ComposeOptions): Nemesis {
  return composeNemesis(standardFaults, options);
}
