// The causal model of a register history: which writes each write observed, per key (from the context it
// sent, or the `readFrom` shortcut when recorded; see links.ts). A write x "supersedes" v when v is reachable
// from x through these edges. Everything here is linear or
// bounded by a time window so the checkers stay fast on million-op histories.
import type { HistoryOp } from './history.js';
import { clientOpsByKey, readValues, type ClientOp, type PairedHistory } from './ops.js';
import { contextReceivers, contextSource } from './links.js';

export interface WriteNode {
  /** The value written, or `delete@<invoke index>` for a delete. */
  id: string;
  op: ClientOp;
  isDelete: boolean;
  /** Whether the write sent a context (false = blind write). */
  hasContext: boolean;
  /**
   * How its parents were found: 'readFrom' (the shortcut), 'context' (the op that received the same context),
   * 'unlinked' (it sent a context the history never shows being received: what it covered is unknown), or
   * 'blind'.
   */
  link: 'readFrom' | 'context' | 'unlinked' | 'blind';
  parents: WriteNode[];
  invokeTime: number;
  /** Completion time of an ok write; Infinity otherwise. */
  ackTime: number;
  /** 1-based rank among this key's acknowledged writes by ack time; 0 when not acknowledged. */
  ackRank: number;
  /** The key's first write of the same id (itself, unless the value was written twice): what `byId` names. */
  canon: WriteNode;
  /** Its position in the key's `writes`. */
  seq: number;
  /** Scratch mark used by traversals (a generation number). */
  mark: number;
  /** Scratch for the session checker: the read (a generation number) whose questions `askedMask` holds. */
  askedGen: number;
  /** One bit per session guarantee already asked about this write for read `askedGen`. */
  askedMask: number;
}

export interface KeyModel {
  key: string;
  writes: WriteNode[];
  byId: Map<string, WriteNode>;
  /** Acknowledged writes in ack order (index i has ackRank i + 1). */
  acked: WriteNode[];
  /** Deletes that may have happened, in invoke order. */
  deletes: WriteNode[];
  /** Ok reads (f "get"), in invoke order. */
  reads: ClientOp[];
  /**
   * readValues of each read's result, parallel to `reads`. Extracted once while the model is built: the register,
   * quorum and siblings checkers each walk every read, and reaching through to the completion op's value for each
   * of them costs a cache miss per read on a million-op history.
   */
  readVals: string[][];
  /**
   * The write each of those values names (`byId`, undefined for a value never written), parallel to `readVals`:
   * resolved once here rather than looked up by string in every checker that walks the reads.
   */
  readWrites: (WriteNode | undefined)[][];
  /** Final replica states (process "final") for this key. */
  finals: HistoryOp[];
  /** The latest-invoked write that may have happened and sent a context the history cannot link. */
  latestUnlinked: WriteNode | undefined;
  /** maybeSuperseded's memo. */
  maybeSuperseded?: WriteIdSet;
}

export const isWrite = (f: string): boolean => f === 'put' || f === 'delete';

/** readWrites of a read that returned nothing (shared; never mutated). */
const NO_WRITES: (WriteNode | undefined)[] = [];

const modelCache = new WeakMap<PairedHistory, Map<string, KeyModel>>();

/** The per-key causal model, memoised per paired history (traversal marks are generation-stamped, so reuse is safe). */
export function buildRegisterModel(paired: PairedHistory): Map<string, KeyModel> {
  let models = modelCache.get(paired);
  if (models === undefined) modelCache.set(paired, (models = buildUncached(paired)));
  return models;
}

function buildUncached(paired: PairedHistory): Map<string, KeyModel> {
  const models = new Map<string, KeyModel>();
  const model = (key: string): KeyModel => {
    let m = models.get(key);
    if (m === undefined) {
      m = { key, writes: [], byId: new Map(), acked: [], deletes: [], reads: [], readVals: [], readWrites: [], finals: [], latestUnlinked: undefined };
      models.set(key, m);
    }
    return m;
  };
  for (const [key, ops] of clientOpsByKey(paired)) {
    const m = model(key);
    for (const op of ops) {
      if (op.f === 'get') {
        if (op.type === 'ok') {
          m.reads.push(op);
          m.readVals.push(readValues(op.complete?.value));
        }
        continue;
      }
      if (!isWrite(op.f)) continue;
      const isDelete = op.f === 'delete';
      const id = isDelete ? `delete@${op.invoke.index}` : String(op.invoke.value);
      const node: WriteNode = {
        id, op, isDelete,
        hasContext: typeof op.invoke.context === 'string' && op.invoke.context !== '',
        link: 'blind',
        parents: [],
        invokeTime: op.invokeTime,
        ackTime: op.type === 'ok' ? op.completeTime : Infinity,
        ackRank: 0,
        seq: m.writes.length,
        // Set just below, once the key's first write of this id is known.
        canon: undefined as unknown as WriteNode,
        mark: 0,
        askedGen: 0,
        askedMask: 0,
      };
      m.writes.push(node);
      // A value written twice (should not happen) keeps its first write as the identity.
      const first = m.byId.get(id);
      if (first === undefined) m.byId.set(id, node);
      node.canon = first ?? node;
      if (isDelete && op.type !== 'fail') m.deletes.push(node);
    }
    for (const values of m.readVals) {
      if (values.length === 0) {
        m.readWrites.push(NO_WRITES);
        continue;
      }
      const writes: (WriteNode | undefined)[] = [];
      for (const v of values) writes.push(m.byId.get(v));
      m.readWrites.push(writes);
    }
    // Writes are in invoke order, so a source write's own parents are resolved before any write citing it.
    // The write of each op, built only for a key whose contexts link (a history with readFrom alone never asks).
    let byOp: Map<ClientOp, WriteNode> | undefined;
    const memo = new Map<string, WriteNode[] | undefined>();
    for (const node of m.writes) {
      // The context is what the node was told, so it decides when the history links it; `readFrom` (what the
      // workload believed the context covered) serves histories whose ops do not record received contexts.
      const src = node.hasContext ? contextSource(paired, node.op) : undefined;
      if (src !== undefined && byOp === undefined) {
        byOp = new Map();
        for (const w of m.writes) byOp.set(w.op, w);
      }
      const covered = src !== undefined ? coverage(paired, m, String(node.op.invoke.context), byOp!, memo) : undefined;
      if (covered !== undefined) {
        node.link = 'context';
        for (const p of covered) if (p !== node && !node.parents.includes(p)) node.parents.push(p);
        continue;
      }
      const rf = node.op.invoke.readFrom;
      if (Array.isArray(rf)) {
        node.link = 'readFrom';
        addParents(m, node, rf);
        continue;
      }
      if (!node.hasContext) continue;
      node.link = 'unlinked';
      if (node.op.type !== 'fail' && !(node.invokeTime <= (m.latestUnlinked?.invokeTime ?? -Infinity))) m.latestUnlinked = node;
    }
    m.acked = m.writes.filter((w) => w.ackTime !== Infinity).sort((a, b) => a.ackTime - b.ackTime);
    m.acked.forEach((w, i) => (w.ackRank = i + 1));
  }
  for (const op of paired.finals) if (op.key !== undefined) model(op.key).finals.push(op);
  return models;
}

/**
 * The writes a context string covers. Equal strings are equal causal states, so every op that received it
 * says something: an ok read, that it covers the values returned; an ok write that had not sent it, that it
 * covers that write. Reads decide when any received it; otherwise the context covers what all the writes
 * agree on (the intersection). This matters because a
 * node may return a context that does not cover the write just made (the reference node returns the client's
 * context, or the empty one for a blind write, when a version vector cannot cover the new dot without a gap);
 * the same string then comes back from other ops that did not make that write. A write that received the very
 * context it sent says nothing. Undefined when no receiver says anything.
 */
function coverage(
  paired: PairedHistory, m: KeyModel, context: string, byOp: Map<ClientOp, WriteNode>, memo: Map<string, WriteNode[] | undefined>,
): WriteNode[] | undefined {
  if (memo.has(context)) return memo.get(context);
  const receivers = contextReceivers(paired, m.key, context);
  // A read's context subsumes exactly the values it returned (NODE-API), so reads decide when there are any;
  // what a write's returned context covers is the node's choice (its own version, or more, or less).
  const anyRead = receivers.some((r) => r.f === 'get');
  let acc: Set<WriteNode> | undefined;
  for (const r of receivers) {
    let says: WriteNode[];
    if (r.f === 'get') says = readValues(r.complete?.value).map((v) => m.byId.get(v)).filter((w): w is WriteNode => w !== undefined);
    else {
      const w = byOp.get(r);
      if (anyRead || w === undefined || r.invoke.context === context) continue;
      says = [w];
    }
    if (acc === undefined) acc = new Set(says);
    else {
      const next = new Set(says);
      for (const w of acc) if (!next.has(w)) acc.delete(w);
    }
  }
  const out = acc === undefined ? undefined : [...acc];
  memo.set(context, out);
  return out;
}

function addParents(m: KeyModel, node: WriteNode, ids: readonly unknown[]): void {
  for (const id of ids) {
    const parent = m.byId.get(String(id));
    if (parent !== undefined && parent !== node && !node.parents.includes(parent)) node.parents.push(parent);
  }
}

/**
 * A set of a key's write ids, held as a flag per write (`seq`) of the key's first write of each id (`canon`):
 * `has(w)` is "w's id is in the set", without hashing strings.
 */
export class WriteIdSet {
  constructor(private readonly flags: Uint8Array) {}

  has(w: WriteNode): boolean {
    return this.flags[w.canon.seq] === 1;
  }
}

/** Ids reachable (strictly) backwards from the writes accepted by `from`: the writes they supersede. */
export function supersededBy(m: KeyModel, from: (w: WriteNode) => boolean): WriteIdSet {
  const flags = new Uint8Array(m.writes.length);
  const stack: WriteNode[] = [];
  for (const w of m.writes) if (from(w)) for (const p of w.parents) stack.push(p);
  while (stack.length > 0) {
    const n = stack.pop()!;
    // By id, as before: a second write of the same value is not walked again.
    const c = n.canon.seq;
    if (flags[c] === 1) continue;
    flags[c] = 1;
    for (const p of n.parents) stack.push(p);
  }
  return new WriteIdSet(flags);
}

/**
 * supersededBy every write that may have happened (all but failed ones), memoised per key: the register and
 * convergence checkers both ask for it.
 */
export function maybeSuperseded(m: KeyModel): WriteIdSet {
  return (m.maybeSuperseded ??= supersededBy(m, (w) => w.op.type !== 'fail'));
}

/** A write that may have happened, invoked after w, whose sent context the history cannot link. */
export function unlinkedAfter(m: KeyModel, w: WriteNode): WriteNode | undefined {
  const x = m.latestUnlinked;
  return x !== undefined && x !== w && x.invokeTime > w.invokeTime ? x : undefined;
}

let generation = 0;

/**
 * Marks every write a read reflects: the values it returned (`returned`: their writes, as `readWrites` holds
 * them) and everything they supersede, plus deletes that may have happened before the read completed (a delete
 * explains a value's absence). Writes invoked before `horizonNs` are not expanded: callers only ask about writes newer than the horizon. Returns the mark;
 * `w.mark === mark` then means "reflected".
 */
export function markReflected(m: KeyModel, returned: readonly (WriteNode | undefined)[], readCompleteNs: number, horizonNs: number): number {
  const mark = ++generation;
  const stack: WriteNode[] = [];
  for (const n of returned) if (n !== undefined) stack.push(n);
  // Deletes in [horizon, readComplete): scan back from the newest (deletes are in invoke order).
  for (let i = m.deletes.length - 1; i >= 0; i--) {
    const d = m.deletes[i]!;
    if (d.invokeTime >= readCompleteNs) continue;
    if (d.invokeTime < horizonNs) break;
    stack.push(d);
  }
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.mark === mark) continue;
    n.mark = mark;
    if (n.invokeTime < horizonNs) continue;
    for (const p of n.parents) if (p.mark !== mark) stack.push(p);
  }
  return mark;
}

/** The values present in ok final reads and reachable final replica states of a key. */
export function finalObservations(m: KeyModel): { observed: Set<string>; any: boolean } {
  const observed = new Set<string>();
  let any = false;
  for (let i = 0; i < m.reads.length; i++) {
    if (!m.reads[i]!.final) continue;
    any = true;
    for (const v of m.readVals[i]!) observed.add(v);
  }
  for (const f of m.finals) {
    if (f.type !== 'ok') continue;
    any = true;
    for (const v of readValues(f.value)) observed.add(v);
  }
  return { observed, any };
}
