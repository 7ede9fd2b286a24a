// Clock faults, all from outside the node (libfaketime in local and Docker, the sim's clock offset):
// `clock-skew` sets an offset from true time, `clock-bump` moves the current offset, `clock-strobe` flips
// between an offset and true time a bounded number of times, and `clock-reset` puts clocks back.
import type { FaultContext, FaultDefinition } from '../fault.js';
import { unknownOp } from '../fault.js';
import { pick } from '../draw.js';
import { sortNodeIds } from '../grudge.js';
import type { FaultApplied, FaultStep } from '../nemesis.js';
import { resolveTargets, stringList } from '../targets.js';

/** Clock offsets the nemesis picks from, in seconds: small enough to reorder LWW writes, large enough to matter. */
const skewChoicesS = [-7200, -3600, -300, -30, -5, -1, 1, 5, 30, 300, 3600, 7200];
const bumpChoicesMs = [-60_000, -5_000, -500, 500, 5_000, 60_000];
/** Strobe: a few bounded oscillations, so one step never holds the run for long. */
const strobeMaxFlips = 6;
const strobeMaxPeriodMs = 500;

function create(ctx: FaultContext) {
  const { runtime, random } = ctx;
  /** Offsets in force, by node; a node back on true time is not in it. */
  const offsetsMs = new Map<string, number>();

  async function setOffset(node: string, ms: number): Promise<void> {
    await runtime.setClockOffset(node, ms);
    if (ms === 0) offsetsMs.delete(node);
    else offsetsMs.set(node, ms);
  }

  const targetsOf = (step: FaultStep): string[] => resolveTargets(step, runtime.nodeIds(), runtime.nodeIds().length, random);

  function draw(): FaultStep {
    const mode = pick(['skew', 'skew', 'bump', 'strobe'] as const, random);
    const targets = pick(['one', 'minority', 'majority'] as const, random);
    if (mode === 'skew') return { f: 'clock-skew', value: { targets, offsetS: pick(skewChoicesS, random) } };
    if (mode === 'bump') return { f: 'clock-bump', value: { targets, deltaMs: pick(bumpChoicesMs, random) } };
    return {
      f: 'clock-strobe',
      value: { targets, offsetS: pick(skewChoicesS, random), periodMs: 100 + Math.floor(random() * (strobeMaxPeriodMs - 100)), flips: 2 + Math.floor(random() * (strobeMaxFlips - 1)) },
    };
  }

  /** Coverage: a skew, a bump and a strobe, each of a majority (drawn values), then the random draws. */
  function shapes(): FaultStep[] {
    return [
      { f: 'clock-skew', value: { targets: 'majority', offsetS: pick(skewChoicesS, random) } },
      { f: 'clock-bump', value: { targets: 'majority', deltaMs: pick(bumpChoicesMs, random) } },
      { f: 'clock-strobe', value: { targets: 'majority', offsetS: pick(skewChoicesS, random), periodMs: 100 + Math.floor(random() * (strobeMaxPeriodMs - 100)), flips: 2 + Math.floor(random() * (strobeMaxFlips - 1)) } },
    ];
  }

  async function apply(step: FaultStep): Promise<FaultApplied> {
    switch (step.f) {
      case 'clock-skew': {
        const nodes = targetsOf(step);
        const offsetMs = Math.round(Number(step.value.offsetS ?? 0) * 1000);
        for (const n of nodes) await setOffset(n, offsetMs);
        return { f: 'clock-skew', value: { nodes, offsetMs } };
      }
      case 'clock-bump': {
        const nodes = targetsOf(step);
        const deltaMs = Math.round(Number(step.value.deltaMs ?? 0));
        const offsets: Record<string, number> = {};
        for (const n of nodes) {
          const next = (offsetsMs.get(n) ?? 0) + deltaMs;
          await setOffset(n, next);
          offsets[n] = next;
        }
        return { f: 'clock-bump', value: { nodes, deltaMs, offsetsMs: offsets } };
      }
      case 'clock-strobe': {
        const nodes = targetsOf(step);
        const offsetMs = Math.round(Number(step.value.offsetS ?? 0) * 1000);
        const periodMs = Math.min(strobeMaxPeriodMs, Math.max(10, Number(step.value.periodMs ?? 200)));
        const flips = Math.min(strobeMaxFlips, Math.max(1, Math.floor(Number(step.value.flips ?? 4))));
        // Alternate between the offset and true time; end on the offset so clock-reset has work to do.
        for (let i = 0; i < flips; i++) {
          const target = (flips - i) % 2 === 1 ? offsetMs : 0;
          for (const n of nodes) await setOffset(n, target);
          if (i < flips - 1) await runtime.sleep(periodMs);
        }
        return { f: 'clock-strobe', value: { nodes, offsetMs, periodMs, flips } };
      }
      case 'clock-reset': {
        const nodes = stringList(step.value.nodes) ?? sortNodeIds([...offsetsMs.keys()]);
        for (const n of nodes) await setOffset(n, 0);
        return { f: 'clock-reset', value: { nodes } };
      }
      default:
        throw unknownOp(step.f);
    }
  }

  return {
    startable: () => runtime.nodeIds().length > 0,
    draw,
    shapes,
    apply,
    undo: (): FaultStep[] => (offsetsMs.size > 0 ? [{ f: 'clock-reset', value: { nodes: sortNodeIds([...offsetsMs.keys()]) } }] : []),
    forget: (node: string) => void offsetsMs.delete(node),
  };
}

export const clockFault: FaultDefinition = { kind: 'clock', owns: (f) => f.startsWith('clock-'), create };
