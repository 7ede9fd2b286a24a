// The report's anomaly list from checker results shaped as the checkers give them: each example naming a key
// becomes an anomaly with the history indexes it names and its evidence in words; counts and rates do not.
import t from 'tap';
import { collectAnomalies } from '../harness/report/anomalies.js';

t.test('anomalies from cart, quorum and session results', async (t) => {
  const anomalies = collectAnomalies({
    cart: {
      valid: false, lost: 1, neverRead: 0, staleLatencyMs: { p50: 3 },
      lostExamples: [{ key: 'cart-1', item: 'sku-2', byCount: true, acknowledgedAdds: 3, removableAtMost: 1, finalQuantity: 1, finalReadIndex: 90, missing: 1 }],
      resurrected: [{ key: 'cart-2', item: 'sku-9', readIndex: 95, quantity: 1, possiblyPresent: 0, readAtMs: 7000 }],
    },
    quorum: { valid: true, staleReadRate: 0.2, stale: [{ key: 'reg-4', readIndex: 632, returned: ['9-11'], missed: '0-16', missedIndex: 611, ackedMsBeforeRead: 124.53, versionsBehind: 1 }] },
    session: { valid: true, readYourWrites: { checked: 4, violations: 1, examples: [{ key: 'reg-1', process: 13, readIndex: 40, returned: [], missed: '13-3', missedIndex: 30, writer: 13, ackedMsBeforeRead: 171.88, enforced: false }] } },
    availability: { valid: true, overall: { ok: 1 }, perF: { get: { all: { ok: 1 } } } },
  });
  t.same(anomalies.map((a) => [a.kind, a.label, a.key, a.ops]), [
    ['cart.lostExamples', 'lost add', 'cart-1', [90]],
    ['cart.resurrected', 'resurrection', 'cart-2', [95]],
    ['quorum.stale', 'stale read', 'reg-4', [632, 611]],
    ['session.readYourWrites.examples', 'readYourWrites', 'reg-1', [40, 30]],
  ]);
  t.equal(anomalies[0]!.words, '3 acknowledged adds of item sku-2, at most 1 removable, so at least 2 must survive; the final read #90 shows 1: 1 missing.');
  t.match(anomalies[1]!.words, /^item sku-9 had been removed, yet the final read #95 .* the remove was lost\.$/);
  t.equal(anomalies[2]!.words, 'Read #632 returned ["9-11"], missing "0-16" (write #611) acknowledged 124.5 ms before the read began; 1 version(s) behind.');
  t.equal(anomalies[3]!.words, 'Read #40 by process 13 returned [], missing "13-3" (write #30 by process 13) acknowledged 171.9 ms before the read began.');
});
