// The nemesis as a composition of fault pieces (Jepsen's `nemesis/compose`): every history op is routed by
// name to the piece that owns it, the random draw picks among the configured kinds that can start now, and
// undo() lists every piece's undo steps in the order the pieces are given. Kinds the runtime cannot apply
// here are left out of the draw, with the runtime's reason, and refused when asked for by name.
import type { RuntimeCapabilities } from '../runtime/runtime.js';
import { pick } from './draw.js';
import { DownNodes } from './down-nodes.js';
import type { Fault, FaultContext, FaultDefinition, FaultSettings } from './fault.js';
import { isRingPartitionKind, partitionKinds } from './grudge.js';
import type { FaultApplied, FaultStep, Nemesis, NemesisKind, NemesisOptions } from './nemesis.js';
import { targetSpecs } from './targets.js';

/** Membership changes never shrink the cluster below this many members (default). */
const defaultMinMembers = 3;

export interface ComposeOptions extends NemesisOptions {
  /** Never shrink the cluster below this many members through `leave` (default 3). */
  readonly minMembers?: number;
}

function capabilityReason(caps: RuntimeCapabilities, kind: NemesisKind): string | undefined {
  const c = caps[kind];
  return c === true ? undefined : c.unavailable;
}

/**
 * The draw's choices: the shapes asked for (checked), else every partition kind and target — the
 * ring-aware kinds only when the nemesis knows the workload's keys (they cut around one).
 */
function settingsFrom(options: ComposeOptions): FaultSettings {
  const known = (options.keys ?? []).length > 0 ? partitionKinds : partitionKinds.filter((k) => !isRingPartitionKind(k));
  const partitions = options.shapes?.partitions !== undefined && options.shapes.partitions.length > 0 ? options.shapes.partitions : known;
  const targets = options.shapes?.targets !== undefined && options.shapes.targets.length > 0 ? options.shapes.targets : targetSpecs;
  for (const k of partitions) if (!partitionKinds.includes(k)) throw new Error(`unknown partition kind "${String(k)}" (use ${partitionKinds.join(', ')})`);
  for (const t of targets) if (!targetSpecs.includes(t)) throw new Error(`unknown target "${String(t)}" (use ${targetSpecs.join(', ')})`);
  return { partitions, targets, minMembers: options.minMembers ?? defaultMinMembers };
}

/** `definitions` in undo order: their undo steps are concatenated in this order. */
export function composeNemesis(definitions: readonly FaultDefinition[], options: ComposeOptions): Nemesis {
  const { runtime, random } = options;
  const caps = runtime.capabilities();
  const settings = settingsFrom(options);
  const kinds: NemesisKind[] = [];
  const unavailable: Record<string, string> = {};
  for (const k of options.kinds) {
    const reason = capabilityReason(caps, k);
    if (reason === undefined) {
      if (!kinds.includes(k)) kinds.push(k);
    } else unavailable[k] = reason;
  }

  const down = new DownNodes();
  const pieces = new Map<NemesisKind, Fault>();
  const ctx: FaultContext = {
    runtime,
    random,
    settings,
    keys: [...(options.keys ?? [])],
    down,
    forget(node) {
      down.forget(node);
      for (const p of pieces.values()) p.forget?.(node);
    },
  };
  for (const d of definitions) pieces.set(d.kind, d.create(ctx));

  const kindOf = (f: string): NemesisKind | undefined => definitions.find((d) => d.owns(f))?.kind;

  // Coverage before chance: every shape and target each asked-for kind allows, the kinds taken in turn
  // (the first shape of each, then the second, ...), before any random draw; values drawn now from the
  // seeded source, so the pass is fixed by the seed and printed before the run starts.
  const perKind = kinds.map((k) => pieces.get(k)?.shapes?.() ?? []);
  const coverage: FaultStep[] = [];
  for (let i = 0; perKind.some((l) => i < l.length); i++) for (const l of perKind) if (i < l.length) coverage.push(l[i]!);
  const pending = [...coverage];

  function undo(): FaultStep[] {
    return [...pieces.values()].flatMap((p) => p.undo());
  }

  async function apply(step: FaultStep): Promise<FaultApplied> {
    const kind = kindOf(step.f);
    if (kind === undefined) throw new Error(`unknown nemesis op "${step.f}" (definite: nothing was done)`);
    const reason = capabilityReason(caps, kind);
    if (reason !== undefined) throw new Error(`${step.f} is unavailable on the ${runtime.kind} runtime: ${reason} (definite: nothing was done)`);
    return pieces.get(kind)!.apply(step);
  }

  return {
    kinds,
    unavailable,
    coverage,
    next(): FaultStep {
      const ready = kinds.filter((k) => pieces.get(k)?.startable() === true);
      // The first coverage step whose kind can start now; one that cannot waits its turn.
      const due = pending.findIndex((s) => ready.includes(kindOf(s.f)!));
      if (due >= 0) return pending.splice(due, 1)[0]!;
      if (ready.length === 0) {
        const first = undo()[0];
        if (first !== undefined) return first;
        throw new Error('the nemesis has no fault kind it can apply here (definite: nothing to do)');
      }
      return pieces.get(pick(ready, random))!.draw();
    },
    finale(): FaultStep | undefined {
      for (const k of kinds) {
        const piece = pieces.get(k)!;
        if (piece.startable() !== true) continue;
        const step = piece.finale?.();
        if (step === undefined) continue;
        // A coverage step of the same shape is played by this one.
        const same = pending.findIndex((s) => s.f === step.f && JSON.stringify(s.value) === JSON.stringify(step.value));
        if (same >= 0) pending.splice(same, 1);
        return step;
      }
      return undefined;
    },
    start: apply,
    undo,
    stop: apply,
  };
}
