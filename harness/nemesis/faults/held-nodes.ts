// What crash and pause have in common: a start op takes nodes down one by one (explicit `nodes`, or a
// target spec drawn from the eligible nodes) and adds them to a held set; the stop op brings back the
// listed nodes, or every held one, and removes them from it; undo names every held node, sorted.
import type { Fault, FaultContext } from '../fault.js';
import { unknownOp } from '../fault.js';
import { pick } from '../draw.js';
import { sortNodeIds } from '../grudge.js';
import type { FaultApplied, FaultStep } from '../nemesis.js';
import { resolveTargets, stringList, targetsWidestFirst } from '../targets.js';

export interface HeldNodesFault {
  readonly start: string;
  readonly stop: string;
  /** The nodes this fault holds down (shared bookkeeping, see down-nodes.ts). */
  readonly held: Set<string>;
  /** The members a fresh start may pick from now. */
  eligible(): string[];
  takeDown(node: string): Promise<void>;
  bringBack(node: string): Promise<void>;
  /** Bookkeeping after a node was taken down, beyond adding it to `held`. */
  afterDown?(node: string): void;
}

export function heldNodesFault(ctx: FaultContext, h: HeldNodesFault): Fault {
  const { runtime, random, down } = ctx;
  return {
    startable: () => down.live(runtime.nodeIds()).length > 0,
    draw: (): FaultStep => ({ f: h.start, value: { targets: pick(ctx.settings.targets, random) } }),
    shapes: (): FaultStep[] => targetsWidestFirst(ctx.settings.targets).map((targets) => ({ f: h.start, value: { targets } })),
    async apply(step: FaultStep): Promise<FaultApplied> {
      if (step.f === h.start) {
        const nodes = resolveTargets(step, h.eligible(), runtime.nodeIds().length, random);
        for (const n of nodes) {
          await h.takeDown(n);
          h.held.add(n);
          h.afterDown?.(n);
        }
        return { f: h.start, value: { nodes } };
      }
      if (step.f !== h.stop) throw unknownOp(step.f);
      const nodes = stringList(step.value.nodes) ?? sortNodeIds([...h.held]);
      for (const n of nodes) {
        await h.bringBack(n);
        h.held.delete(n);
      }
      return { f: h.stop, value: { nodes } };
    },
    undo: (): FaultStep[] => (h.held.size > 0 ? [{ f: h.stop, value: { nodes: sortNodeIds([...h.held]) } }] : []),
  };
}
