// The checkers' anomalies as the report marks them: each example a checker gives (an object naming a key),
// with the history indexes of the ops that prove it and the evidence in words. Pure, so tests feed it results.
import type { HistoryOp } from '../../checkers/history.js';

export interface Anomaly {
  /** Where the checker reported it, e.g. "cart.lostExamples" or "session.readYourWrites.examples". */
  readonly kind: string;
  /** Short name for marks and lists, e.g. "lost add", "stale read". */
  readonly label: string;
  readonly key: string;
  /** History indexes of the ops the example names (invokes or completions). */
  readonly ops: number[];
  readonly words: string;
}

/** Plain names for the example lists the checkers give. */
const labels: Record<string, string> = {
  lostExamples: 'lost add', staleExamples: 'stale add', resurrected: 'resurrection', resurrectedTransient: 'transient resurrection',
  duplicated: 'duplicated item', lost: 'lost write', possiblyLost: 'possibly lost write', phantom: 'phantom value',
  contextOvercover: 'context over-cover', stale: 'stale read', disagreeing: 'replicas disagree', missing: 'missing acknowledged write',
};

/** Example lists that describe the run as it should be, not an anomaly. */
const notAnomalies = new Set(['staleLatencyMs', 'overall', 'perF', 'latency', 'latencyByOutcome']);

const ms = (v: unknown): string => (typeof v === 'number' ? `${v.toFixed(1)} ms` : '?');

/** The evidence of one example in words; the cart's lists have their own sentences, others list their fields. */
function words(list: string, e: Readonly<Record<string, unknown>>): string {
  const item = typeof e['item'] === 'string' ? `item ${e['item']}` : '';
  switch (list) {
    case 'lostExamples':
      if (e['byCount'] === true) {
        return `${String(e['acknowledgedAdds'])} acknowledged adds of ${item}, at most ${String(e['removableAtMost'])} removable, so at least ` +
          `${String(Number(e['acknowledgedAdds']) - Number(e['removableAtMost']))} must survive; the final read #${String(e['finalReadIndex'])} ` +
          `shows ${String(e['finalQuantity'])}: ${String(e['missing'])} missing.`;
      }
      return `The add #${String(e['addIndex'])} of ${item} was known present from ${ms(e['knownMs'])}` +
        `${e['lastPresentMs'] !== null && e['lastPresentMs'] !== undefined ? `, last seen at ${ms(e['lastPresentMs'])}` : ''}, ` +
        `then absent from a read at ${ms(e['lastAbsentMs'])} with no remove that could have observed it: lost.`;
    case 'staleExamples':
      return `The add #${String(e['addIndex'])} of ${item} was seen, then a later read missed it ${ms(e['staleLatencyMs'])} after it was first known (stale, later seen again).`;
    case 'resurrected':
      return `${item} had been removed, yet the final read #${String(e['readIndex'])} (after heal and quiescence) shows ${String(e['quantity'])} where at most ${String(e['possiblyPresent'])} may be present: the remove was lost.`;
    case 'resurrectedTransient':
      return `${item} had been removed, yet read #${String(e['readIndex'])} at ${ms(e['readAtMs'])} shows ${String(e['quantity'])} where at most ${String(e['possiblyPresent'])} may be present (a read that had not yet seen the remove).`;
    case 'duplicated':
      return `Read #${String(e['readIndex'])} shows ${String(e['quantity'])} of ${item}, more than the ${String(e['possiblyPresent'])} adds that may be present.`;
    default:
      // A read that missed an acknowledged write (quorum staleness, session guarantees) says so in one sentence.
      if (e['readIndex'] !== undefined && e['missed'] !== undefined) {
        return `Read #${String(e['readIndex'])}${e['process'] !== undefined ? ` by process ${String(e['process'])}` : ''} returned ${JSON.stringify(e['returned'] ?? '?')}, ` +
          `missing ${JSON.stringify(e['missed'])} (write #${String(e['missedIndex'])}${e['writer'] !== undefined ? ` by process ${String(e['writer'])}` : ''}) acknowledged ` +
          `${ms(e['ackedMsBeforeRead'])} before the read began${typeof e['versionsBehind'] === 'number' ? `; ${e['versionsBehind']} version(s) behind` : ''}` +
          `${e['enforced'] === true ? '; this configuration promises it' : ''}.`;
      }
      return Object.entries(e).filter(([k]) => k !== 'key').map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
  }
}

/** Every history index an example names: fields called index or ending in Index, alone or in lists. */
function opIndexes(e: Readonly<Record<string, unknown>>): number[] {
  const out: number[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (!/(^index$|Index$|Indexes$|Indices$)/.test(k)) continue;
    if (typeof v === 'number') out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'number') out.push(x);
  }
  return out;
}

/** Walks each checker's result (a few levels deep, as the session checker nests per guarantee) for example lists. */
export function collectAnomalies(checkers: Record<string, unknown>): Anomaly[] {
  const out: Anomaly[] = [];
  const walk = (path: string[], v: unknown, depth: number): void => {
    if (depth > 3 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      const list = path[path.length - 1]!;
      for (const e of v) {
        if (e === null || typeof e !== 'object' || typeof (e as Record<string, unknown>)['key'] !== 'string') continue;
        const ex = e as Record<string, unknown>;
        const named = labels[list] ?? (list === 'examples' && path.length >= 2 ? path[path.length - 2]! : list);
        out.push({ kind: path.join('.'), label: named, key: ex['key'] as string, ops: opIndexes(ex), words: words(list, ex) });
      }
      return;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      if (!notAnomalies.has(k)) walk([...path, k], child, depth + 1);
    }
  };
  for (const [name, result] of Object.entries(checkers)) walk([name], result, 0);
  return out;
}

/** A history index → the position of the op in `history` (indexes are positions in a whole history). */
export function opAt(history: readonly HistoryOp[], index: number): HistoryOp | undefined {
  const direct = history[index];
  return direct !== undefined && direct.index === index ? direct : history.find((op) => op.index === index);
}
