// Register checker: lost acknowledged writes, phantom reads, and writes whose context dropped a concurrent
// acknowledged write ("context-overcover").
import type { CheckerResult, HistoryOp } from './history.js';
import { Examples } from './evidence.js';
import { pairHistory, readValues, toMs } from './ops.js';
import { buildRegisterModel, finalObservations, supersededBy, type KeyModel, type WriteNode } from './register-model.js';
import type { CheckOptions } from './options.js';

export function checkRegister(history: readonly HistoryOp[], options: CheckOptions): CheckerResult {
  const paired = pairHistory(history);
  const models = buildRegisterModel(paired);
  const lost = new Examples<Record<string, unknown>>();
  const possiblyLost = new Examples<Record<string, unknown>>();
  const phantom = new Examples<Record<string, unknown>>();
  const overcover = new Examples<Record<string, unknown>>();
  let ackedWrites = 0;
  let superseded = 0;
  let survived = 0;
  let neverRead = 0;
  let reads = 0;

  for (const m of models.values()) {
    reads += m.reads.length;
    checkPhantoms(m, phantom);
    // Any write that may have happened can supersede what it read; only ok or observed writes do so for sure.
    const observedAnywhere = observedValues(m);
    const maybeSuperseded = supersededBy(m, (w) => w.op.type !== 'fail');
    const surelySuperseded = supersededBy(m, (w) => w.op.type === 'ok' || observedAnywhere.has(w.id));
    const finals = finalObservations(m);
    for (const w of m.acked) {
      if (w.isDelete) continue;
      ackedWrites++;
      if (surelySuperseded.has(w.id)) {
        superseded++;
        continue;
      }
      const present = isPresentLater(m, w, finals);
      if (present === 'never-read') {
        neverRead++;
        continue;
      }
      if (present) {
        survived++;
        continue;
      }
      if (maybeSuperseded.has(w.id)) {
        // Superseded only by writes that may not have happened: cannot be called lost for certain.
        possiblyLost.add(() => ({ key: m.key, value: w.id, ackMs: toMs(w.ackTime), reason: 'superseded only by indeterminate (info) writes' }));
        continue;
      }
      const culprit = options.conflicts === 'lww' ? undefined : overcoveringWrite(m, w, finals.observed);
      lost.add(() => ({
        key: m.key,
        value: w.id,
        index: w.op.invoke.index,
        ackMs: toMs(w.ackTime),
        cause: options.conflicts === 'lww' ? 'lww-overwrite' : culprit !== undefined ? 'context-overcover' : 'vanished',
        ...(finals.any ? { finalValues: [...finals.observed].slice(0, 20) } : {}),
      }));
      if (culprit !== undefined) {
        overcover.add(() => ({
          key: m.key,
          dropped: w.id,
          by: culprit.id,
          byIndex: culprit.op.invoke.index,
          byReadFrom: culprit.op.invoke.readFrom ?? [],
        }));
      }
    }
  }
  const valid = lost.count > 0 || phantom.count > 0 ? false : ackedWrites === 0 || survived + superseded === 0 ? 'unknown' : true;
  return {
    valid,
    ackedWrites,
    superseded,
    survived,
    neverRead,
    reads,
    lostCount: lost.count,
    lost: lost.examples,
    possiblyLostCount: possiblyLost.count,
    possiblyLost: possiblyLost.examples,
    phantomCount: phantom.count,
    phantom: phantom.examples,
    contextOvercoverCount: overcover.count,
    contextOvercover: overcover.examples,
  };
}

function observedValues(m: KeyModel): Set<string> {
  const out = new Set<string>();
  for (const r of m.reads) for (const v of readValues(r.complete?.value)) out.add(v);
  for (const f of m.finals) if (f.type === 'ok') for (const v of readValues(f.value)) out.add(v);
  return out;
}

/**
 * Whether an acknowledged write is still visible: in the final observations when the key has any, otherwise
 * in some read invoked after its ack ('never-read' when no such read exists).
 */
function isPresentLater(m: KeyModel, w: WriteNode, finals: { observed: Set<string>; any: boolean }): boolean | 'never-read' {
  if (finals.any) return finals.observed.has(w.id);
  let anyRead = false;
  for (const r of m.reads) {
    if (r.invokeTime <= w.ackTime) continue;
    anyRead = true;
    if (readValues(r.complete?.value).includes(w.id)) return true;
  }
  return anyRead ? false : 'never-read';
}

/** A surviving write that sent a context, was invoked after w, and did not observe w: its context dropped w. */
function overcoveringWrite(m: KeyModel, w: WriteNode, finalValues: Set<string>): WriteNode | undefined {
  for (const x of m.writes) {
    if (x === w || !x.hasContext || x.invokeTime <= w.invokeTime || x.op.type === 'fail') continue;
    if (x.isDelete || finalValues.has(x.id)) return x;
  }
  return undefined;
}

function checkPhantoms(m: KeyModel, phantom: Examples<Record<string, unknown>>): void {
  const check = (values: string[], completeNs: number, where: Record<string, unknown>): void => {
    for (const v of values) {
      const w = m.byId.get(v);
      if (w === undefined || w.isDelete) phantom.add(() => ({ key: m.key, value: v, reason: 'never written', ...where }));
      else if (w.op.type === 'fail') phantom.add(() => ({ key: m.key, value: v, reason: 'write failed (definitely not applied)', ...where }));
      else if (w.invokeTime > completeNs) phantom.add(() => ({ key: m.key, value: v, reason: 'read before the write was invoked', ...where }));
    }
  };
  for (const r of m.reads) check(readValues(r.complete?.value), r.completeTime, { readIndex: r.complete?.index });
  for (const f of m.finals) if (f.type === 'ok') check(readValues(f.value), Infinity, { finalIndex: f.index, node: f.node });
}
