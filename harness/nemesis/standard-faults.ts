// The fault kinds quorumlab knows, in undo order: heal first, then resume the paused before restarting the
// killed (a paused node the harness kills is only crashed) and the wiped, then put clocks back, then restore
// membership.
import type { FaultDefinition } from './fault.js';
import { clockFault } from './faults/clock.js';
import { crashFault } from './faults/crash.js';
import { diskLossFault } from './faults/disk-loss.js';
import { membershipFault } from './faults/membership.js';
import { partitionFault } from './faults/partition.js';
import { pauseFault } from './faults/pause.js';
import type { NemesisKind } from './nemesis.js';

export const standardFaults: readonly FaultDefinition[] = [partitionFault, pauseFault, crashFault, diskLossFault, clockFault, membershipFault];

/** Which NemesisKind a history op name belongs to (for start/stop dispatch and capabilities). */
export function kindOfOp(f: string): NemesisKind | undefined {
  return standardFaults.find((d) => d.owns(f))?.kind;
}
