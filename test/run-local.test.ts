// A short real run: three reference nodes as local processes, the cart workload under partitions, heal,
// final reads, checks and report. It must end valid and write every results file. The partition test
// needs root and iptables and skips, saying so, without them (the membership test needs neither).
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTest, type RunOptions, type RunResult } from '../harness/run.js';
import { LocalRuntime } from '../harness/runtime/local.js';
import type { Runtime } from '../harness/runtime/runtime.js';
import { whyNoPartitions } from './helpers/skips.js';

type LocalRunOptions = Omit<RunOptions, 'runtime' | 'store'>;

/** One run on the local runtime with a results store of its own (removed after the test). */
async function localRun(t: Test, options: LocalRunOptions): Promise<{ result: RunResult; runtime: Runtime }> {
  // Addresses 127.0.0.71-80 keep this test clear of the runtime's own tests running in parallel.
  const runtime = new LocalRuntime({ hostBase: 70, httpPort: 18180, peerPort: 17100, log: () => {} });
  const store = await mkdtemp(join(tmpdir(), 'ql-run-local-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const result = await runTest({ ...options, runtime: 'local', store }, { runtime });
  t.equal(result.error, undefined, 'the run completed');
  const verdicts = Object.fromEntries(Object.entries(result.checkers).map(([k, v]) => [k, (v as { valid: unknown }).valid]));
  t.equal(result.valid, true, `valid (${JSON.stringify(verdicts)})`);
  return { result, runtime };
}

async function readHistory(dir: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(dir, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('3 local nodes, cart under partitions: valid, with every results file', { skip: whyNoPartitions() }, async (t) => {
  const lines: string[] = [];
  const run = await localRun(t, {
    nodes: 3, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'cart', nemesis: ['partition'],
    timeLimitS: 8, concurrency: 4, rate: 40, seed: 11, nemesisQuietS: 2, nemesisFaultS: 3, quiesceS: 5,
    log: (l) => lines.push(l),
  });
  const { result, runtime } = run;
  t.equal(result.exitCode, 0);
  const dir = result.runDir!;
  for (const f of ['config.json', 'history.jsonl', 'results.json', 'report.html']) t.ok((await stat(join(dir, f))).size > 0, `${f} written`);
  const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { logs: Record<string, string> };
  t.equal(Object.keys(results.logs).length, 3, 'three node logs listed');
  for (const path of Object.values(results.logs)) t.ok((await stat(join(dir, path))).isFile(), `${path} is in the results folder`);
  const history = await readHistory(dir);
  t.ok(history.filter((op) => op['type'] === 'ok' && op['f'] === 'add').length > 20, 'adds were acknowledged');
  t.ok(history.some((op) => op['process'] === 'final' && op['f'] === 'local'), 'replica states were recorded');
  t.equal(runtime.capabilities().partition, true, 'the runtime can partition');
  t.ok(history.some((op) => op['process'] === 'nemesis' && op['f'] === 'partition' && op['type'] === 'info' && op['error'] === undefined), 'partitions were injected');
  t.ok(lines[0]?.includes('seed=11'), 'the seed is printed first');
});

t.test('4 local nodes, strict register (N=3 R=1 W=3) under joins and leaves: no stale read', async (t) => {
  // Seed 8 read nothing through a node that had just joined, before joiners learned the cluster's earlier
  // rings from gossip (README: "Membership changes keep R + W > N").
  const run = await localRun(t, {
    nodes: 4, n: 3, r: 1, w: 3, sloppy: false, conflicts: 'vclock', workload: 'register', nemesis: ['membership'],
    timeLimitS: 14, concurrency: 8, rate: 40, seed: 8, nemesisQuietS: 2, nemesisFaultS: 3, quiesceS: 3, quiet: true, skipReport: true,
  });
  const quorum = run.result.checkers['quorum'] as { valid?: unknown; mode?: unknown; staleReads?: unknown };
  t.match(String(quorum.mode), /^strict/, 'the quorum checker judged strictly');
  t.equal(quorum.valid, true, `no stale read (staleReads=${String(quorum.staleReads)})`);
  const history = await readHistory(run.result.runDir!);
  const changes = history.filter((op) => op['process'] === 'nemesis' && op['type'] === 'info' && (op['f'] === 'join' || op['f'] === 'leave'));
  t.ok(changes.length >= 2, `membership changed ${changes.length} times`);
});
