// What the cart checkers (cart.ts, cart-bound.ts, convergence.ts) each derived from every op of a key: the
// item an add or remove names and the read a remove observed (links.ts), with that read's quantity of the
// item. Derived once per key's op list and shared: each of the three walked every op of the history for it,
// and finding a remove's read is a context lookup.
import { readItems, type ClientOp, type PairedHistory } from './ops.js';
import { observedRead } from './links.js';

export interface CartOps {
  /** Per op (parallel to the list): the item of an add or remove, as String(invoke.value); '' for others. */
  readonly items: readonly string[];
  /** Per op: the ok read a remove that did not fail observed (observedRead), else undefined. */
  readonly observed: readonly (ClientOp | undefined)[];
  /** Per op: the item's quantity in that read (0 when absent), NaN when there is no such read. */
  readonly observedQty: readonly number[];
}

const cache = new WeakMap<readonly ClientOp[], CartOps>();

/** CartOps of one key's ops (clientOpsByKey's list), memoised per list. Callers must not mutate it. */
export function cartOps(ops: readonly ClientOp[], paired: PairedHistory): CartOps {
  let out = cache.get(ops);
  if (out === undefined) cache.set(ops, (out = derive(ops, paired)));
  return out;
}

function derive(ops: readonly ClientOp[], paired: PairedHistory): CartOps {
  const items: string[] = [];
  const observed: (ClientOp | undefined)[] = [];
  const observedQty: number[] = [];
  for (const op of ops) {
    const f = op.f;
    if (f !== 'add' && f !== 'remove') {
      items.push('');
      observed.push(undefined);
      observedQty.push(NaN);
      continue;
    }
    const item = String(op.invoke.value);
    items.push(item);
    const read = f === 'remove' && op.type !== 'fail' ? observedRead(paired, op) : undefined;
    observed.push(read);
    observedQty.push(read !== undefined ? readItems(read.complete?.value)[item] ?? 0 : NaN);
  }
  return { items, observed, observedQty };
}
