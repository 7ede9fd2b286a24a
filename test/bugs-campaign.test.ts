// `quorumlab campaign --quick --fault X` flags a deliberate defect of the reference node, and the same
// quick sweep passes the reference node: on the simulation runtime for speed, plus one fixture on real
// local processes (strict register under partitions, the campaign's own quick settings).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { campaignOptionsFrom, runCampaign } from '../harness/campaign.js';
import { LocalRuntime } from '../harness/runtime/local.js';

let store = '';
t.before(() => {
  store = mkdtempSync(join(tmpdir(), 'ql-bugs-campaign-'));
});
t.teardown(() => {
  if (store !== '') rmSync(store, { recursive: true, force: true });
});

t.test('campaign --quick parses --fault into QL_TEST_FAULTS and rejects unknown faults', async (t) => {
  const o = campaignOptionsFrom({ quick: true, runtime: 'sim', fault: 'no-repair,drop-hints', env: ['QL_X=1'] });
  t.same(o.env, { QL_X: '1', QL_TEST_FAULTS: 'no-repair,drop-hints' });
  t.equal(o.keyCount, 12);
  t.throws(() => campaignOptionsFrom({ quick: true, fault: 'not-a-fault' }), /unknown test fault/);
});

t.test('a quick sim campaign flags ack-before-w and passes the reference node', async (t) => {
  const bad = await runCampaign({ ...campaignOptionsFrom({ quick: true, runtime: 'sim', fault: 'ack-before-w', store, name: 'bad' }), quiet: true });
  t.equal(bad.valid, false, bad.rows.map((r) => `${r.label}: ${String(r.valid)}`).join('\n'));
  t.equal(bad.exitCode, 1);
  const good = await runCampaign({ ...campaignOptionsFrom({ quick: true, runtime: 'sim', store, name: 'good' }), quiet: true });
  t.equal(good.valid, true, good.rows.filter((r) => r.valid !== true).map((r) => `${r.label}: ${String(r.valid)} → ${String(r.runDir)}`).join('\n'));
});

const rootSkip = process.getuid?.() !== 0 ? 'needs root for iptables partitions' : (() => {
  try {
    execFileSync('iptables', ['-L', '-n'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs a working iptables';
  }
})();

t.test('a quick local campaign (strict register, partitions) flags read-fewer-than-r', { skip: rootSkip }, async (t) => {
  const quick = campaignOptionsFrom({ quick: true, runtime: 'local', fault: 'read-fewer-than-r', store, name: 'local-bad', concurrency: 10, rate: 100 });
  const r = await runCampaign({
    // Two seeds: on a loaded machine one short real-process run may not happen to read from a lagging replica.
    ...quick, workloads: ['register'], sloppy: [false], nemeses: [['partition']], seeds: [1, 2], quiet: true,
    runtimeFactory: () => new LocalRuntime({ hostBase: 50, httpPort: 18500, peerPort: 17500, log: () => {} }),
  });
  t.equal(r.rows.length, 2);
  t.equal(r.valid, false, r.rows.map((x) => `${x.label}: ${String(x.valid)} stale=${String(x.staleReadRate)}`).join('\n'));
});
