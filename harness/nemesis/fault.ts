// One fault kind as a piece of the nemesis (Jepsen's nemeses under `compose`): it draws a fresh fault
// from the seeded source, applies the history ops routed to it by name, remembers what it has in force,
// and names the steps that undo it. compose.ts routes ops to pieces and keeps their undo order.
import type { Runtime } from '../runtime/runtime.js';
import type { DownNodes } from './down-nodes.js';
import type { PartitionKind } from './grudge.js';
import type { FaultApplied, FaultStep, NemesisKind } from './nemesis.js';
import type { TargetSpec } from './targets.js';

/** What the random draws may choose from, settled once for the whole nemesis. */
export interface FaultSettings {
  readonly partitions: readonly PartitionKind[];
  readonly targets: readonly TargetSpec[];
  /** Membership changes never shrink the cluster below this many members. */
  readonly minMembers: number;
}

export interface FaultContext {
  readonly runtime: Runtime;
  readonly random: () => number;
  readonly settings: FaultSettings;
  /** The workload's keys: the ring-aware partitions cut around one of them. */
  readonly keys: readonly string[];
  /** Shared by crash and pause (see down-nodes.ts). */
  readonly down: DownNodes;
  /** A node left the cluster: every piece forgets the faults it holds on it. */
  forget(node: string): void;
}

export interface Fault {
  /** Whether a fresh fault of this kind can start now; one already in force waits for its undo. */
  startable(): boolean;
  /** Draws a fresh fault (the only place a piece consumes random draws before applying). */
  draw(): FaultStep;
  /**
   * The coverage pass (compose.ts): one step for each shape and target of this kind the settings allow,
   * in the order to play them, before any random draw. A kind without one is only drawn.
   */
  shapes?(): FaultStep[];
  /**
   * The step for the run's last window, held until the faults end (Jepsen's final phase: stop the faults,
   * heal, wait, read): a shape that leaves a key's home replicas apart while the workload still writes, so
   * that when the faults end only repair (read repair, anti-entropy, hinted handoff) can bring them
   * together. A kind without one plays its ordinary next step last.
   */
  finale?(): FaultStep | undefined;
  /** Applies one of this piece's ops and says exactly what was done. */
  apply(step: FaultStep): Promise<FaultApplied>;
  /** The steps that undo what this piece has in force, in the order to apply them; none when nothing is. */
  undo(): FaultStep[];
  forget?(node: string): void;
}

export interface FaultDefinition {
  readonly kind: NemesisKind;
  /** Whether a history op name (start or undo) belongs to this kind: how compose routes a step. */
  owns(f: string): boolean;
  create(ctx: FaultContext): Fault;
}

/** The one error for an op a piece was routed but does not know. */
export function unknownOp(f: string): Error {
  return new Error(`unknown nemesis op "${f}" (definite: nothing was done)`);
}
