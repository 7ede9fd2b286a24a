// The nemesis package's public surface: the interface, the implementation, partition geometry and recipes.
export type { FaultApplied, FaultShapes, FaultStep, Nemesis, NemesisKind, NemesisOptions } from './nemesis.js';
export { createNemesis, kindOfOp, pickTargets, targetSpecs, type NemesisExtraOptions, type TargetSpec } from './create-nemesis.js';
export { cut, grudgeFromSides, partitionKinds, planPartition, shuffle, sortNodeIds, type PartitionKind, type PartitionPlan } from './grudge.js';
export { recipes, riakLostWriteRecipe, type NemesisRecipe, type TimedFault } from './recipes.js';
