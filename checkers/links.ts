// Causal links between operations as ../shared/HISTORY.md defines them: a write or remove that sends a
// `context` observed exactly what the earlier operation that received that same context string observed.
// Contexts are opaque, so string equality (per key) is the whole link. Workloads may also record the link
// directly (`readFrom`, `readIndex`); those are shortcuts, and checkers must reach the same verdicts from the
// contexts alone, so every checker asks this module rather than reading the shortcut fields itself.
import { clientOpsByKey, type ClientOp, type PairedHistory } from './ops.js';

/** Per key, per context string: the ok ops whose completion received it, in completion (file) order. */
type ContextIndex = Map<string, Map<string, ClientOp[]>>;

const indexCache = new WeakMap<PairedHistory, ContextIndex>();

function contextIndex(paired: PairedHistory): ContextIndex {
  let index = indexCache.get(paired);
  if (index !== undefined) return index;
  index = new Map();
  for (const [key, ops] of clientOpsByKey(paired)) {
    const byContext = new Map<string, ClientOp[]>();
    // Completion order, not invoke order: "earlier" means the context had been received before the invoke.
    const received = ops.filter((op) => op.type === 'ok' && typeof op.complete?.context === 'string' && op.complete.context !== '');
    received.sort((a, b) => a.complete!.index - b.complete!.index);
    for (const op of received) {
      const c = op.complete!.context!;
      let list = byContext.get(c);
      if (list === undefined) byContext.set(c, (list = []));
      list.push(op);
    }
    index.set(key, byContext);
  }
  indexCache.set(paired, index);
  return index;
}

/** Every ok op of `key` whose completion received `context`, in completion order (callers must not mutate). */
export function contextReceivers(paired: PairedHistory, key: string, context: string): readonly ClientOp[] {
  return contextIndex(paired).get(key)?.get(context) ?? [];
}

/** The context an op's invoke sent, or undefined for a blind op. */
export function sentContext(op: ClientOp): string | undefined {
  const c = op.invoke.context;
  return typeof c === 'string' && c !== '' ? c : undefined;
}

/**
 * The op whose completion received the context `op` sent: the latest one of the same process completed
 * before `op` was invoked (the documented link), else the latest one of any process (a client whose
 * processes share contexts, as this project's workloads do). Undefined for a blind op or a context the
 * history never shows being received.
 */
export function contextSource(paired: PairedHistory, op: ClientOp): ClientOp | undefined {
  const c = sentContext(op);
  if (c === undefined || op.key === undefined) return undefined;
  const list = contextIndex(paired).get(op.key)?.get(c);
  if (list === undefined) return undefined;
  let anyProcess: ClientOp | undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const src = list[i]!;
    if (src === op || !(src.complete!.index < op.invoke.index)) continue;
    if (src.process === op.process) return src;
    anyProcess ??= src;
  }
  return anyProcess;
}

/**
 * The ok read a cart remove observed: the read whose context it sent, or the one its `readIndex` shortcut
 * names (used as is when that read received the context the remove sent, or when the history links no
 * context; the context decides when they disagree, since it is what the node was told). Undefined when
 * neither identifies an ok read: the op is then taken to have possibly observed everything invoked before
 * it completed.
 */
export function observedRead(paired: PairedHistory, op: ClientOp, readF = 'read'): ClientOp | undefined {
  const readIndex = op.invoke.readIndex;
  const named = typeof readIndex === 'number' ? paired.byCompletionIndex.get(readIndex) : undefined;
  const sent = sentContext(op);
  if (isOkRead(named, readF) && (sent === undefined || named.complete?.context === sent)) return named;
  const src = contextSource(paired, op);
  if (src !== undefined) return isOkRead(src, readF) ? src : undefined;
  return isOkRead(named, readF) ? named : undefined;
}

function isOkRead(r: ClientOp | undefined, readF: string): r is ClientOp {
  return r !== undefined && r.type === 'ok' && r.f === readF;
}
