// Scripted faults as data, in one place for both of their uses: a `--schedule` file (a property-test
// counterexample replays from it) and a recipe's timed list (recipes.ts). Steps are the nemesis's own
// FaultSteps, applied and undone by the ordinary nemesis, so a scripted fault is recorded, undone and
// healed exactly like a random one.
import { createNemesis } from './create-nemesis.js';
import type { FaultStep, Nemesis, NemesisKind, NemesisOptions } from './nemesis.js';
import { kindOfOp } from './standard-faults.js';

/**
 * A periodic schedule (the `--schedule` file): the run's nemesis loop waits `quietS`, starts the next
 * fault, holds it `faultS`, then undoes it (heal, restart, resume, clock-reset), so the k-th fault (from 0)
 * is in force from `quietS + k·(quietS + faultS)` seconds into the workload for `faultS` seconds. Targets
 * should be explicit (`nodes`, partition `sides`) so the schedule means the same thing whatever the seed;
 * a symbolic target (`targets: "one"`, partition `kind`) is resolved by the seed.
 */
export interface FaultSchedule {
  readonly quietS: number;
  readonly faultS: number;
  readonly faults: readonly FaultStep[];
}

/** A fault at a fixed time, not undone until a later step (or the final heal) undoes it: recipes use it. */
export interface TimedFault {
  /** Seconds after the workload starts. */
  readonly atS: number;
  readonly step: FaultStep;
}

/** The fault op names a schedule may start; the undo ops are the nemesis's own business. */
export const scheduleFaultNames: readonly string[] = ['partition', 'kill', 'pause', 'clock-skew', 'clock-bump', 'clock-strobe', 'join', 'leave', 'disk-loss'];

/** Checks a parsed JSON schedule and returns it typed; throws one line saying what is wrong. */
export function parseSchedule(json: unknown): FaultSchedule {
  const o = json as { quietS?: unknown; faultS?: unknown; faults?: unknown } | null;
  if (o === null || typeof o !== 'object') throw new Error('--schedule: expected an object {quietS, faultS, faults}');
  if (typeof o.quietS !== 'number' || !(o.quietS > 0)) throw new Error('--schedule: quietS must be a number above 0');
  if (typeof o.faultS !== 'number' || !(o.faultS >= 0)) throw new Error('--schedule: faultS must be a number, 0 or more');
  if (!Array.isArray(o.faults)) throw new Error('--schedule: faults must be an array of {f, value}');
  const faults = o.faults.map((s: unknown, i): FaultStep => {
    const step = s as { f?: unknown; value?: unknown } | null;
    if (step === null || typeof step !== 'object' || typeof step.f !== 'string' || !scheduleFaultNames.includes(step.f)) {
      throw new Error(`--schedule: faults[${i}].f must be one of ${scheduleFaultNames.join(', ')}`);
    }
    const value = step.value ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`--schedule: faults[${i}].value must be an object`);
    return { f: step.f, value: value as Record<string, unknown> };
  });
  return { quietS: o.quietS, faultS: o.faultS, faults };
}

/** The nemesis kinds a schedule uses (what config.json records as the run's nemesis). */
export function scheduleKinds(schedule: FaultSchedule): NemesisKind[] {
  const kinds = schedule.faults.map((s) => kindOfOp(s.f)).filter((k): k is NemesisKind => k !== undefined);
  return [...new Set(kinds)];
}

/**
 * Workload seconds that play the whole schedule and end one quiet period after its last fault is undone.
 * The run's loop checks its deadline after each quiet period, so it never asks for a fault past the list.
 */
export function scheduleSpanS(schedule: FaultSchedule): number {
  return schedule.quietS + schedule.faults.length * (schedule.quietS + schedule.faultS);
}

/** A Nemesis that plays the schedule's faults in order, applying and undoing them as createNemesis does. */
export function scriptedNemesis(schedule: FaultSchedule): (options: NemesisOptions) => Nemesis {
  return (options) => {
    const inner = createNemesis(options);
    let next = 0;
    return {
      kinds: inner.kinds,
      unavailable: inner.unavailable,
      next: () => {
        const step = schedule.faults[next++];
        // The run's time limit (scheduleSpanS) ends it before the list runs out; running past it is a harness bug.
        if (step === undefined) throw new Error(`the scripted schedule has only ${schedule.faults.length} faults (definite: nothing was done)`);
        return step;
      },
      start: (step) => inner.start(step),
      undo: () => inner.undo(),
      stop: (step) => inner.stop(step),
    };
  };
}
