// The detection preset's small local version for CI: on real node processes, a strict register run with
// --nemesis crash flags `ack-not-durable` (its coverage pass kills every node first, so the crash that
// exposes non-durable acks is no longer left to chance) and passes the reference node.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDetection } from '../harness/detection.js';
import { LocalRuntime } from '../harness/runtime/local.js';

t.test('local: one short crash run flags ack-not-durable and passes the reference node', async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-detect-local-'));
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  // 12 s: the first fault (5-10 s) is the coverage pass's kill of every node.
  const r = await runDetection({
    runtime: 'local', seeds: [1], timeLimitS: 12, faults: ['ack-not-durable'], store, name: 'ci-local', quiet: true,
    runtimeFactory: () => new LocalRuntime({ hostBase: 164, maxNodes: 5, httpPort: 18165, peerPort: 17165, log: () => {} }),
  });
  const [s] = r.summaries;
  t.equal(s!.flagged, 1, JSON.stringify(r.rows));
  t.equal(s!.falseAlarms, 0, JSON.stringify(r.rows));
  t.equal(r.rows.length, 2);
});
