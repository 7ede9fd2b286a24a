// Register checker: lost acknowledged writes, phantom reads, and writes whose context dropped a concurrent
// acknowledged write ("context-overcover").
import type { CheckerResult, HistoryOp } from './history.js';
import { Examples } from './evidence.js';
import { pairHistory, readValues, toMs, type ClientOp } from './ops.js';
import { buildRegisterModel, finalObservations, maybeSuperseded, supersededBy, unlinkedAfter, WriteIdSet, type KeyModel, type WriteNode } from './register-model.js';
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
    const observedAnywhere = observedWrites(m);
    const maybe = maybeSuperseded(m);
    const surelySuperseded = supersededBy(m, (w) => w.op.type === 'ok' || observedAnywhere.has(w));
    const finals = finalObservations(m);
    // Without final observations, presence is decided by later reads; index them once per key (see isPresentLater).
    const lastReadOf = finals.any ? undefined : lastReadInvokeByValue(m);
    for (const w of m.acked) {
      if (w.isDelete) continue;
      ackedWrites++;
      if (surelySuperseded.has(w)) {
        superseded++;
        continue;
      }
      const present = isPresentLater(m, w, finals, lastReadOf);
      if (present === 'never-read') {
        neverRead++;
        continue;
      }
      if (present) {
        survived++;
        continue;
      }
      if (maybe.has(w)) {
        // Superseded only by writes that may not have happened: cannot be called lost for certain.
        possiblyLost.add(() => ({ key: m.key, value: w.id, ackMs: toMs(w.ackTime), reason: 'superseded only by indeterminate (info) writes' }));
        continue;
      }
      const unlinked = unlinkedAfter(m, w);
      if (unlinked !== undefined) {
        // A write whose context the history never shows being received may have covered w: not provably lost.
        possiblyLost.add(() => ({ key: m.key, value: w.id, ackMs: toMs(w.ackTime), reason: 'may be covered by a write whose context no op in the history received', by: unlinked.id }));
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
          byReadFrom: culprit.parents.map((p) => p.id),
        }));
      }
    }
  }
  const links = { readFrom: 0, context: 0, unlinked: 0, blind: 0 };
  for (const m of models.values()) for (const w of m.writes) links[w.link]++;
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
    // How each write's causal past was found: the readFrom shortcut, the context link, or neither.
    writeLinks: links,
  };
}

/** The write ids some read or final replica state returned (values no write has cannot matter: not kept). */
function observedWrites(m: KeyModel): WriteIdSet {
  const flags = new Uint8Array(m.writes.length);
  // readWrites holds byId's writes, each the canon of its id.
  for (const written of m.readWrites) for (const w of written) if (w !== undefined) flags[w.seq] = 1;
  for (const f of m.finals) {
    if (f.type !== 'ok') continue;
    for (const v of readValues(f.value)) {
      const w = m.byId.get(v);
      if (w !== undefined) flags[w.seq] = 1;
    }
  }
  return new WriteIdSet(flags);
}

/**
 * Whether an acknowledged write is still visible: in the final observations when the key has any, otherwise
 * in some read invoked after its ack ('never-read' when no such read exists).
 */
function isPresentLater(
  m: KeyModel, w: WriteNode, finals: { observed: Set<string>; any: boolean }, lastReadOf: LastReads | undefined,
): boolean | 'never-read' {
  if (finals.any || lastReadOf === undefined) return finals.observed.has(w.id);
  // "Some read invoked after the ack returned w" is "the latest read that returned w was invoked after the ack",
  // and "some read was invoked after the ack" is "the latest read was": O(1) per write instead of a scan of
  // every read of the key, which was quadratic per key on histories without final reads.
  if (!(lastReadOf.any > w.ackTime)) return 'never-read';
  return (lastReadOf.byValue.get(w.id) ?? -Infinity) > w.ackTime;
}

interface LastReads {
  /** The latest invoke time of any read of the key (-Infinity when none). */
  any: number;
  /** Per value, the latest invoke time of a read that returned it. */
  byValue: Map<string, number>;
}

function lastReadInvokeByValue(m: KeyModel): LastReads {
  const byValue = new Map<string, number>();
  let any = -Infinity;
  for (let i = 0; i < m.reads.length; i++) {
    const t = m.reads[i]!.invokeTime;
    if (t > any) any = t;
    for (const v of m.readVals[i]!) if (!((byValue.get(v) ?? -Infinity) >= t)) byValue.set(v, t);
  }
  return { any, byValue };
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
  // The evidence's `where` is built only for a suspect value: building it (and a closure) for every read of a
  // million-op history was a measurable share of this checker's time.
  const check = (values: string[], written: readonly (WriteNode | undefined)[] | undefined, completeNs: number, read: ClientOp | undefined, final: HistoryOp | undefined): void => {
    for (let j = 0; j < values.length; j++) {
      const v = values[j]!;
      const w = written !== undefined ? written[j] : m.byId.get(v);
      if (w !== undefined && !w.isDelete && w.op.type !== 'fail' && !(w.invokeTime > completeNs)) continue;
      const where: Record<string, unknown> = final === undefined ? { readIndex: read?.complete?.index } : { finalIndex: final.index, node: final.node };
      if (w === undefined || w.isDelete) phantom.add(() => ({ key: m.key, value: v, reason: 'never written', ...where }));
      else if (w.op.type === 'fail') phantom.add(() => ({ key: m.key, value: v, reason: 'write failed (definitely not applied)', ...where }));
      else phantom.add(() => ({ key: m.key, value: v, reason: 'read before the write was invoked', ...where }));
    }
  };
  for (let i = 0; i < m.reads.length; i++) check(m.readVals[i]!, m.readWrites[i]!, m.reads[i]!.completeTime, m.reads[i], undefined);
  for (const f of m.finals) if (f.type === 'ok') check(readValues(f.value), undefined, Infinity, undefined, f);
}
