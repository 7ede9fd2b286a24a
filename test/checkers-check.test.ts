// `quorumlab check` of a stored run: the same convergence time the run measured, the run's stats kept, and
// malformed histories refused with one line naming the line, exit 2.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../harness/check.js';
import { formatHistoryLine } from '../harness/history-io.js';
import { runTest } from '../harness/run.js';
import { createRuntime } from '../harness/run-runtime.js';
import { HistoryBuilder } from './checkers-fixtures.js';

const readJson = (path: string): Record<string, any> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;

t.test('a re-check reports the convergence time the run measured, and keeps the run\'s stats', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ql-check-conv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.nemesis('partition', { kind: 'halves' });
  h.nemesis('heal');
  h.wait(10_000); // quiesce: the replicas agreed 15 ms after heal, the final states were taken 10 s later
  h.get(1, 'k', ['a'], true);
  h.local('k', 'n1', ['a']);
  h.local('k', 'n2', ['a']);
  writeFileSync(join(dir, 'history.jsonl'), h.ops.map(formatHistoryLine).join('\n') + '\n');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ workload: 'register', n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock' }));
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ valid: true, checkers: {}, stats: { ops: 2, convergenceMs: 15 }, logs: { n1: 'nodes/n1/node.log' } }));
  for (const round of [1, 2]) {
    const out = await runCheck(dir, { print: false });
    t.equal(out.exitCode, 0, `check ${round}`);
    const conv = (out.results as { checkers: Record<string, any> }).checkers['convergence'];
    t.equal(conv.convergenceTimeMs, 15, `check ${round}: the run's measurement`);
    t.ok(conv.healToFinalStatesMs >= 10_000, `check ${round}: heal → final states is reported apart`);
    const written = readJson(join(dir, 'results.json'));
    t.same(written['stats'], { ops: 2, convergenceMs: 15 }, `check ${round}: stats kept`);
    t.same(written['logs'], { n1: 'nodes/n1/node.log' }, `check ${round}: logs kept`);
  }
  // A bare history has no measurement: the checker says so rather than reporting heal → final states.
  rmSync(join(dir, 'results.json'));
  const bare = await runCheck(join(dir, 'history.jsonl'), { print: false });
  const conv = (bare.results as { checkers: Record<string, any> }).checkers['convergence'];
  t.equal(conv.convergenceTimeMs, null);
  t.match(conv.convergenceTimeSource, /not measured/);
});

const simUnavailable = await createRuntime('sim').then(
  () => false as const,
  (error: unknown) => `sim runtime cannot load: ${error instanceof Error ? error.message : String(error)}`,
);

t.test('check of a stored sim run reports the convergence time the run measured', { skip: simUnavailable }, async (t) => {
  const store = mkdtempSync(join(tmpdir(), 'ql-check-sim-'));
  t.teardown(() => rmSync(store, { recursive: true, force: true }));
  const run = await runTest({
    runtime: 'sim', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'register',
    nemesis: ['partition'], timeLimitS: 6, concurrency: 4, rate: 40, seed: 5,
    // The run's last cut leaves keys' homes apart at the heal (the final phase), and anti-entropy needs a few
    // seconds to bring them together: the quiesce must outlast that for the run to measure it.
    nemesisQuietS: 1, nemesisFaultS: 2, quiesceS: 8, quiet: true, store, skipReport: true,
  });
  const stored = readJson(join(run.runDir!, 'results.json'));
  const measured = stored['stats']['convergenceMs'];
  t.type(measured, 'number', 'the run measured a convergence time');
  t.equal(stored['checkers']['convergence']['convergenceTimeMs'], measured, 'the run\'s own verdict reports it');
  const again = await runCheck(run.runDir!, { print: false });
  t.equal((again.results as { checkers: Record<string, any> }).checkers['convergence'].convergenceTimeMs, measured, 'and so does the re-check');
  t.equal(again.exitCode, run.exitCode, 'same verdict');
});

const line = (o: Record<string, unknown>): string => JSON.stringify(o);
const malformed: [string, string[], RegExp][] = [
  ['a process\'s ops out of time order', [
    line({ index: 0, time: 5000, process: 0, type: 'invoke', f: 'get', key: 'k' }),
    line({ index: 1, time: 4000, process: 0, type: 'ok', f: 'get', key: 'k', value: [] }),
  ], /history\.jsonl:2: process 0 goes back in time/],
  ['an ok without an invoke', [
    line({ index: 0, time: 1, process: 3, type: 'ok', f: 'get', key: 'k', value: [] }),
  ], /history\.jsonl:1: "ok" for process 3 without a preceding invoke/],
  ['two ops in flight in one process', [
    line({ index: 0, time: 1, process: 0, type: 'invoke', f: 'get', key: 'k' }),
    line({ index: 1, time: 2, process: 0, type: 'invoke', f: 'put', key: 'k', value: 'a' }),
  ], /history\.jsonl:2: process 0 already has an op in flight/],
  ['a line that is not JSON', [
    line({ index: 0, time: 1, process: 0, type: 'invoke', f: 'get', key: 'k' }),
    'this is not json',
  ], /history\.jsonl:2: not valid JSON/],
];

for (const [name, lines, re] of malformed) {
  t.test(`quorumlab check refuses ${name}: one line naming the line, exit 2`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ql-check-bad-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'history.jsonl'), lines.join('\n') + '\n');
    const out = spawnSync(process.execPath, ['--import=tsx', 'bin/quorumlab.js', 'check', join(dir, 'history.jsonl')], {
      encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' },
    });
    t.equal(out.status, 2, 'exit 2');
    const errLines = out.stderr.trim().split('\n');
    t.equal(errLines.length, 1, `one line: ${out.stderr}`);
    t.match(errLines[0], re);
    t.notMatch(out.stderr, /\n\s+at /, 'no stack trace');
  });
}
