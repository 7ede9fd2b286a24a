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

/**
 * A timed schedule (a `--schedule` file `{"timed":[{"atS","f","value"},…]}`, or a named recipe's): each step
 * is applied at its time, seconds after the workload starts, and stays in force until a later step undoes
 * it (`heal`, `restart`, `resume`, `clock-reset`, `disk-restart`, a `leave` of a joined node) or the final
 * heal does. Steps are in time order.
 */
export interface TimedSchedule {
  readonly timed: readonly TimedFault[];
}

/** Either kind of scripted schedule `--schedule` takes. */
export type Script = FaultSchedule | TimedSchedule;

export function isTimedSchedule(s: Script): s is TimedSchedule {
  return 'timed' in s;
}

/** The fault op names a schedule may start; the undo ops are the nemesis's own business. */
export const scheduleFaultNames: readonly string[] = ['partition', 'kill', 'pause', 'clock-skew', 'clock-bump', 'clock-strobe', 'join', 'leave', 'disk-loss'];

/** Checks a parsed JSON schedule of either kind; throws one line saying what is wrong. */
export function parseScript(json: unknown): Script {
  if (json !== null && typeof json === 'object' && 'timed' in json) return parseTimedSchedule(json);
  return parseSchedule(json);
}

/** Checks a parsed `{"timed":[…]}` schedule: any op of a fault kind (start or undo), times in order. */
export function parseTimedSchedule(json: unknown): TimedSchedule {
  const list = (json as { timed?: unknown } | null)?.timed;
  if (!Array.isArray(list) || list.length === 0) throw new Error('--schedule: timed must be a non-empty array of {atS, f, value}');
  let last = 0;
  const timed = list.map((raw: unknown, i): TimedFault => {
    const e = raw as { atS?: unknown; f?: unknown; value?: unknown } | null;
    if (e === null || typeof e !== 'object') throw new Error(`--schedule: timed[${i}] must be an object {atS, f, value}`);
    if (typeof e.atS !== 'number' || !(e.atS >= 0) || !Number.isFinite(e.atS)) throw new Error(`--schedule: timed[${i}].atS must be a number of seconds, 0 or more`);
    if (e.atS < last) throw new Error(`--schedule: timed[${i}].atS (${e.atS}) is before the step above it (${last}): list the steps in time order`);
    last = e.atS;
    if (typeof e.f !== 'string' || kindOfOp(e.f) === undefined) throw new Error(`--schedule: timed[${i}].f must be a fault op (${scheduleFaultNames.join(', ')}, or an undo: heal, restart, resume, clock-reset, disk-restart)`);
    const value = e.value ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`--schedule: timed[${i}].value must be an object`);
    return { atS: e.atS, step: { f: e.f, value: value as Record<string, unknown> } };
  });
  return { timed };
}

/** Checks a parsed JSON schedule and returns it typed; throws one line saying what is wrong. */
export function parseSchedule(json: unknown): FaultSchedule {
  const o = json as { quietS?: unknown; faultS?: unknown; faults?: unknown } | null;
  if (o === null || typeof o !== 'object') throw new Error('--schedule: expected an object {quietS, faultS, faults} or {timed: [{atS, f, value}, …]}');
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
export function scheduleKinds(schedule: Script): NemesisKind[] {
  const steps = isTimedSchedule(schedule) ? schedule.timed.map((t) => t.step) : schedule.faults;
  const kinds = steps.map((s) => kindOfOp(s.f)).filter((k): k is NemesisKind => k !== undefined);
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

/**
 * A Nemesis that applies a timed schedule's steps at their times (the run's loop reads `timed`) through the
 * ordinary nemesis, so they are recorded, and what is still in force at the end is undone by the final heal.
 */
export function timedNemesis(schedule: TimedSchedule): (options: NemesisOptions) => Nemesis {
  return (options) => {
    const inner = createNemesis(options);
    return {
      kinds: inner.kinds,
      unavailable: inner.unavailable,
      timed: schedule.timed,
      next: () => {
        throw new Error('a timed schedule plays its steps at their times; nothing is drawn (definite: nothing was done)');
      },
      start: (step) => inner.start(step),
      undo: () => inner.undo(),
      stop: (step) => inner.stop(step),
    };
  };
}

/** The nemesis that plays either kind of scripted schedule. */
export function scriptNemesis(schedule: Script): (options: NemesisOptions) => Nemesis {
  return isTimedSchedule(schedule) ? timedNemesis(schedule) : scriptedNemesis(schedule);
}
