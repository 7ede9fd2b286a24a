// `quorumlab check` of a large history runs in a child node with sized heap settings (bin/check-heap.js): the
// same results.json, output and exit codes as a check in the CLI's own process, malformed files refused alike.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECK_HEAP_MIN_BYTES, checkInSizedHeap } from '../bin/check-heap.js';
import { syntheticHistory } from '../checkers/synthetic.js';
import { formatHistoryLine } from '../harness/history-io.js';

const check = (dir: string, env: Record<string, string> = {}, options: string[] = []) => {
  rmSync(join(dir, 'results.json'), { force: true });
  const out = spawnSync(process.execPath, ['--import=tsx', 'bin/quorumlab.js', 'check', ...options, dir], {
    encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 16 << 20,
  });
  const results = (() => {
    try {
      return readFileSync(join(dir, 'results.json'), 'utf8');
    } catch {
      return undefined;
    }
  })();
  return { status: out.status, stdout: out.stdout, stderr: out.stderr, results };
};

t.test('a large history is checked in a sized child with the same results, output and exit codes', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ql-check-heap-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'run');
  mkdirSync(dir);
  // Every replica of one key losing its values makes the verdict false (exit 1), so the exit code crosses the
  // process boundary as well.
  const history = syntheticHistory('register', { seed: 3, ops: 80_000, processes: 20, keys: 40, infoRate: 0.01 });
  const lostKey = history.find((op) => op.process === 'final')!.key;
  for (const op of history) if (op.process === 'final' && op.key === lostKey) op.value = [];
  const fd = openSync(join(dir, 'history.jsonl'), 'w');
  for (let i = 0; i < history.length; i += 10_000) writeSync(fd, history.slice(i, i + 10_000).map((op) => formatHistoryLine(op)).join('\n') + '\n');
  closeSync(fd);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', workload: 'register' }));
  t.ok(statSync(join(dir, 'history.jsonl')).size >= CHECK_HEAP_MIN_BYTES, 'large enough for the child');

  const child = check(dir);
  const inProcess = check(dir, { QUORUMLAB_CHECK_HEAP: '0' });
  // With --workload before the target, as the CLI allows.
  const withWorkload = check(dir, {}, ['--workload', 'register']);
  t.equal(withWorkload.results, child.results, '--workload register: the same results');
  t.equal(child.status, 1, `a lost write: exit 1 (${child.stderr})`);
  t.equal(inProcess.status, child.status);
  t.ok(child.results !== undefined && child.results.includes('"valid": false'));
  t.equal(child.results, inProcess.results, 'results.json byte for byte');
  t.equal(child.stdout, inProcess.stdout);

  // A malformed line near the end: one line naming it, exit 2, from the child as from the process itself.
  const bad = join(root, 'bad');
  mkdirSync(bad);
  copyFileSync(join(dir, 'config.json'), join(bad, 'config.json'));
  const text = readFileSync(join(dir, 'history.jsonl'), 'utf8').split('\n');
  text[text.length - 3] = '{"index": oops';
  writeFileSync(join(bad, 'history.jsonl'), text.join('\n'));
  const badChild = check(bad);
  const badIn = check(bad, { QUORUMLAB_CHECK_HEAP: '0' });
  t.equal(badChild.status, 2);
  t.equal(badChild.stderr.trim().split('\n').length, 1, badChild.stderr);
  t.match(badChild.stderr, new RegExp(`history\\.jsonl:${text.length - 2}: not valid JSON`));
  t.equal(badChild.stderr, badIn.stderr);
});

t.test('only `check` of a large history goes to a child', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ql-check-heap-small-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'history.jsonl'), '{}\n');
  t.equal(checkInSizedHeap(['node', 'quorumlab.js', 'check', root]), undefined, 'a small history: checked here');
  t.equal(checkInSizedHeap(['node', 'quorumlab.js', 'check', join(root, 'nope')]), undefined, 'no history: check.ts says so');
  t.equal(checkInSizedHeap(['node', 'quorumlab.js', 'run', root]), undefined, 'other commands: here');
  t.equal(checkInSizedHeap(['node', 'quorumlab.js', 'check', '--workload', root, join(root, 'nope')]), undefined, "--workload's value is not the target");
});
