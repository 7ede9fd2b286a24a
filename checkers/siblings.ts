// Siblings checker: how many versions each ok read returned, beside the Dynamo paper's §6.3 figures.
import type { CheckerResult, HistoryOp } from './history.js';
import { round } from './evidence.js';
import { pairHistory, NS_PER_MS } from './ops.js';
import { buildRegisterModel } from './register-model.js';
import type { CheckOptions } from './options.js';

/** DeCandia et al., SOSP 2007, §6.3: versions seen by reads of the shopping cart over 24 hours. */
export const DYNAMO_VERSIONS_SEEN = { '1': 0.9994, '2': 0.0000057, '3': 0.0000047, '4': 0.0000009 } as const;

export function checkSiblings(history: readonly HistoryOp[], _options: CheckOptions): CheckerResult {
  const paired = pairHistory(history);
  const dist = { '0': 0, '1': 0, '2': 0, '3': 0, '4+': 0 };
  const perSecond = new Map<number, { reads: number; multi: number; max: number }>();
  let reads = 0;
  // The register model already holds every ok get (grouped by key) with its values extracted; the tallies below
  // do not depend on the order reads are visited, so walking the model avoids a pass over all client ops.
  for (const m of buildRegisterModel(paired).values()) for (let i = 0; i < m.reads.length; i++) {
    const op = m.reads[i]!;
    const n = m.readVals[i]!.length;
    reads++;
    const bucket = n >= 4 ? '4+' : (String(n) as '0' | '1' | '2' | '3');
    dist[bucket]++;
    const s = Math.floor(op.completeTime / (1000 * NS_PER_MS));
    let row = perSecond.get(s);
    if (row === undefined) perSecond.set(s, (row = { reads: 0, multi: 0, max: 0 }));
    row.reads++;
    if (n > 1) row.multi++;
    row.max = Math.max(row.max, n);
  }
  const found = reads - dist['0'];
  return {
    valid: true,
    reads,
    distribution: dist,
    fractionOne: found === 0 ? null : round(dist['1'] / found),
    note: 'fractionOne is over reads that found the key (0 values = not found), as in the paper',
    dynamoPaper: { source: 'DeCandia et al., SOSP 2007, §6.3', versionsSeen: DYNAMO_VERSIONS_SEEN },
    perSecond: [...perSecond.entries()].sort((a, b) => a[0] - b[0]).map(([t, r]) => ({ t, ...r })),
  };
}
