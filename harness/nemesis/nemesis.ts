// Faults as data: a nemesis step is a plain object that prints, is recorded in the history, replays and
// shrinks. The run (harness/run) decides when faults start and stop and records them; the nemesis
// decides which fault and applies it through the Runtime, never through the node's cooperation.
import type { Runtime } from '../runtime/runtime.js';
import type { PartitionKind } from './grudge.js';
import type { TimedFault } from './schedule.js';
import type { TargetSpec } from './targets.js';

export type NemesisKind = 'partition' | 'clock' | 'crash' | 'pause' | 'membership' | 'disk-loss';

/** A fault to start, chosen by a schedule. `f` is the history's op name (partition, kill, pause, clock-skew, join, leave, ...). */
export interface FaultStep {
  readonly f: string;
  /** The invoke value: what was asked for, e.g. {kind:"halves"} or {targets:"minority"}. */
  readonly value: Readonly<Record<string, unknown>>;
}

/** What was actually done, recorded as the `info` completion: e.g. {sides:[["n1","n2"],["n3","n4","n5"]]}. */
export interface FaultApplied {
  readonly f: string;
  readonly value: Readonly<Record<string, unknown>>;
}

export interface Nemesis {
  /** Fault kinds this nemesis was configured with that the runtime can apply here. */
  readonly kinds: readonly NemesisKind[];
  /** Kinds asked for that the runtime cannot apply here, each with the reason (shown to the user). */
  readonly unavailable: Readonly<Record<string, string>>;
  /**
   * The coverage pass: the steps next() returns first, in order (each shape and target asked for), before
   * it draws at random. Absent for a nemesis that plays a fixed script.
   */
  readonly coverage?: readonly FaultStep[];
  /**
   * A timed script (schedule.ts TimedSchedule): the run applies each step at its time, seconds after the
   * workload starts, and undoes nothing between steps (a step may itself be an undo); next() is not used.
   */
  readonly timed?: readonly TimedFault[];
  /** Picks the next fault (deterministically from the nemesis's seeded random source). */
  next(): FaultStep;
  /**
   * The fault for the run's last window (fault.ts `finale`), or undefined to play next() there. A nemesis
   * that has it asks the run to hold that window until the workload ends, so it is in force at the final
   * heal; one without it (a scripted schedule) has every window undone after its time.
   */
  finale?(): FaultStep | undefined;
  /** Applies a fault and says exactly what was done. */
  start(step: FaultStep): Promise<FaultApplied>;
  /** The step that undoes the fault(s) in force (heal, resume, restart, clock-reset, ...), or none. */
  undo(): FaultStep[];
  /** Applies an undo step. */
  stop(step: FaultStep): Promise<FaultApplied>;
}

export interface NemesisOptions {
  readonly runtime: Runtime;
  readonly kinds: readonly NemesisKind[];
  /** A seeded source in [0, 1); the same seed gives the same schedule. */
  readonly random: () => number;
  /** Narrows the shapes the nemesis draws from (default: every partition kind and target). */
  readonly shapes?: FaultShapes;
  /** The workload's keys: the ring-aware partitions cut around one of them (none: those kinds are left out). */
  readonly keys?: readonly string[];
}

/**
 * Which shapes of fault a random nemesis may draw. A short sweep has room for one or two faults per run,
 * so it is worth spending them on the revealing shapes (see the quick campaign); a long run draws from all.
 */
export interface FaultShapes {
  /** Partition kinds to draw from (grudge.ts). */
  readonly partitions?: readonly PartitionKind[];
  /** Crash and pause targets to draw from: one, minority, majority, all. */
  readonly targets?: readonly TargetSpec[];
}
