// The nemesis package's public surface: the interface, the implementation and its pieces, partition
// geometry, scripted schedules and recipes.
export type { FaultApplied, FaultShapes, FaultStep, Nemesis, NemesisKind, NemesisOptions } from './nemesis.js';
export type { Fault, FaultContext, FaultDefinition, FaultSettings } from './fault.js';
export { composeNemesis, type ComposeOptions } from './compose.js';
export { createNemesis, type NemesisExtraOptions } from './create-nemesis.js';
export { kindOfOp, standardFaults } from './standard-faults.js';
export { pickTargets, targetSpecs, targetsWidestFirst, type TargetSpec } from './targets.js';
export {
  cut, grudgeFromSides, isRingPartitionKind, nodePartitionKinds, partitionKinds, planPartition, ringPartitionKinds, shuffle, sortNodeIds,
  type NodePartitionKind, type PartitionKind, type PartitionPlan, type RingPartitionKind,
} from './grudge.js';
export { planRingPartition, type RingPartitionPlan } from './ring.js';
export { homeReplicas } from './preflists.js';
export { kv679Recipe, recipes, riakLostWriteRecipe, type NemesisRecipe } from './recipes.js';
export {
  isTimedSchedule, parseSchedule, parseScript, parseTimedSchedule, scheduleFaultNames, scheduleKinds, scheduleSpanS, scriptedNemesis, scriptNemesis, timedNemesis,
  type FaultSchedule, type Script, type TimedFault, type TimedSchedule,
} from './schedule.js';
