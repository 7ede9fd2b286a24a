// Convergence checker: after heal and quiesce, every reachable home replica of a key holds the same state,
// and that state contains every acknowledged write that nothing superseded or removed.
import type { CheckerResult, HistoryOp } from './history.js';
import { Examples } from './evidence.js';
import { clientOpsByKey, groupByKey, pairHistory, readItems, readValues, toMs, type ClientOp, type PairedHistory } from './ops.js';
import { buildRegisterModel, maybeSuperseded, unlinkedAfter } from './register-model.js';
import { healTime } from './faults.js';
import { survivorBound } from './cart-bound.js';
import { cartOps } from './cart-ops.js';
import type { CheckOptions } from './options.js';

const isCartWorkload = (w: string): boolean => w === 'cart' || w === 'cart-kv';

export function checkConvergence(history: readonly HistoryOp[], options: CheckOptions): CheckerResult {
  const paired = pairHistory(history);
  const disagreeing = new Examples<Record<string, unknown>>();
  const missing = new Examples<Record<string, unknown>>();
  const finalsByKey = groupByKey(paired.finals);
  let keysChecked = 0;
  let keysUnreachable = 0;
  let unreachableReplicas = 0;
  const cart = isCartWorkload(options.workload) || (options.workload !== 'register' && options.workload !== 'pbs' && looksLikeCart(paired));
  const expected = cart ? cartExpectations(paired, options.workload !== 'cart-kv') : registerExpectations(paired);

  for (const [key, finals] of finalsByKey) {
    const reachable = finals.filter((f) => f.type === 'ok');
    unreachableReplicas += finals.length - reachable.length;
    if (reachable.length === 0) {
      keysUnreachable++;
      continue;
    }
    keysChecked++;
    const states = reachable.map((f) => ({ node: f.node, state: cart ? normaliseItems(readItems(f.value)) : normaliseSet(readValues(f.value)) }));
    const first = JSON.stringify(states[0]!.state);
    if (states.some((s) => JSON.stringify(s.state) !== first)) {
      disagreeing.add(() => ({ key, replicas: states.map((s) => ({ node: s.node, state: s.state })) }));
    }
    const need = expected.get(key);
    if (need === undefined) continue;
    for (const s of states) {
      for (const [value, count] of need) {
        const have = cart ? ((s.state as Record<string, number>)[value] ?? 0) : (s.state as string[]).includes(value) ? 1 : 0;
        if (have < count) missing.add(() => ({ key, node: s.node, [cart ? 'item' : 'value']: value, need: count, have }));
      }
    }
  }
  const heal = healTime(paired.nemesis);
  // Found while pairing (the pass over every op the checkers share) rather than by a pass of its own.
  const lastFinal = paired.lastFinalTime;
  // The history shows the replica states only once, after the quiesce and the final reads, so heal → last
  // final state bounds the time to agree from above; it is not the convergence time. That is measured by the
  // run while quiescing and comes in through the options (results.json stats when re-checked).
  const healToFinalStatesMs = heal !== undefined && lastFinal !== undefined ? toMs(Math.max(0, lastFinal - heal)) : null;
  const measured = options.measuredConvergenceMs;
  const convergenceTimeMs = typeof measured === 'number' ? measured : null;
  const convergenceTimeSource = measured === undefined
    ? 'not measured: the history alone does not say when replicas first agreed (see healToFinalStatesMs)'
    : measured === null ? 'measured during quiesce: the replicas did not agree within it' : 'measured during quiesce (polling /admin/local)';
  const valid = disagreeing.count > 0 || missing.count > 0 ? false : keysChecked === 0 ? 'unknown' : true;
  const repair = repairExercised(paired);
  return {
    valid,
    ...repair,
    keysChecked,
    keysUnreachable,
    unreachableReplicas,
    disagreeingKeys: disagreeing.count,
    disagreeing: disagreeing.examples,
    missingAcknowledged: missing.count,
    missing: missing.examples,
    convergenceTimeMs,
    convergenceTimeSource,
    healToFinalStatesMs,
    ...(heal !== undefined ? { healAtMs: toMs(heal) } : {}),
  };
}

/**
 * Whether the run gave repair anything to do: the harness records, just before the final heal, which keys'
 * home replicas differed (nemesis op `divergence`). With none, agreement at the end proves nothing about read
 * repair, anti-entropy or hinted handoff: the verdict stands for what it checked, and `warning` says so.
 * 'unknown': the history has no such record (no faults, or a history from elsewhere).
 */
function repairExercised(paired: PairedHistory): Record<string, unknown> {
  const op = paired.nemesis.filter((o) => o.f === 'divergence').at(-1);
  const v = op?.complete?.value as { keys?: unknown; divergent?: unknown; divergentKeys?: unknown } | undefined;
  if (v === undefined || typeof v.divergent !== 'number') {
    return { repairExercised: 'unknown', divergentAtHeal: null };
  }
  const divergentAtHeal = { keys: v.keys, divergent: v.divergent, divergentKeys: Array.isArray(v.divergentKeys) ? v.divergentKeys : [] };
  if (v.divergent > 0) return { repairExercised: true, divergentAtHeal };
  return {
    repairExercised: false,
    divergentAtHeal,
    warning: 'repair not exercised: no key\'s home replicas differed when the faults ended, so agreement says nothing about read repair, anti-entropy or hinted handoff',
  };
}

function looksLikeCart(paired: PairedHistory): boolean {
  return paired.client.some((op) => op.f === 'add' || op.f === 'remove' || op.f === 'read');
}

const normaliseSet = (values: string[]): string[] => [...new Set(values)].sort();
const normaliseItems = (items: Record<string, number>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const k of Object.keys(items).sort()) if (items[k]! > 0) out[k] = items[k]!;
  return out;
};

/** Per key, acknowledged put values no write that may have happened superseded (each needed once). */
function registerExpectations(paired: PairedHistory): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const [key, m] of buildRegisterModel(paired)) {
    const covered = maybeSuperseded(m);
    const need = new Map<string, number>();
    for (const w of m.acked) if (!w.isDelete && !covered.has(w) && unlinkedAfter(m, w) === undefined) need.set(w.id, 1);
    out.set(key, need);
  }
  return out;
}

/**
 * Per key and item, how many acknowledged adds every home replica must hold: those no remove that may
 * have happened could have observed, and, for the add-wins cart, at least as many as no set of removes
 * could have taken away counting each remove's observed quantity (cart-bound.ts).
 */
function cartExpectations(paired: PairedHistory, countBound: boolean): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const [key, ops] of clientOpsByKey(paired)) {
    // The latest cutoff per item: adds invoked before it may have been observed by some remove.
    const cutoff = new Map<string, number>();
    const derived = cartOps(ops, paired);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.f !== 'remove' || op.type === 'fail') continue;
      const item = derived.items[i]!;
      const read: ClientOp | undefined = derived.observed[i];
      const c = read !== undefined ? read.completeTime : op.completeTime === Infinity ? paired.endTime + 1 : op.completeTime;
      cutoff.set(item, Math.max(cutoff.get(item) ?? -Infinity, c));
    }
    const need = new Map<string, number>();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.f !== 'add' || op.type !== 'ok') continue;
      const item = derived.items[i]!;
      if (op.invokeTime < (cutoff.get(item) ?? -Infinity)) continue;
      need.set(item, (need.get(item) ?? 0) + 1);
    }
    if (countBound) {
      for (const [item, b] of survivorBound(ops, paired)) {
        if (b.mustSurvive > (need.get(item) ?? 0)) need.set(item, b.mustSurvive);
      }
    }
    out.set(key, need);
  }
  return out;
}
