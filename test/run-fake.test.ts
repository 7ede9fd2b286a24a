// A whole run against an in-memory fake runtime on virtual time: the history has Jepsen's shape, every
// results file is written, the run is deterministic per seed, and a lost-add bug makes it invalid.
import t, { type Test } from 'tap';
import { mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTest, type RunOptions } from '../harness/run.js';
import type { HistoryOp } from '../checkers/history.js';
import { FakeRuntime } from './helpers/run-fake-runtime.js';

const base: Omit<RunOptions, 'store'> = {
  runtime: 'sim', nodes: 3, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'cart',
  nemesis: ['partition', 'crash'], timeLimitS: 20, concurrency: 4, rate: 40, seed: 7,
  nemesisQuietS: 3, nemesisFaultS: 3, quiesceS: 2, quiet: true, skipReport: true,
};

async function readHistory(dir: string): Promise<HistoryOp[]> {
  const text = await readFile(join(dir, 'history.jsonl'), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l) as HistoryOp);
}

/** Every client invoke is followed by exactly one completion of the same process, f and key; no process reused after info. */
function checkShape(t: Test, history: HistoryOp[]): void {
  const open = new Map<unknown, HistoryOp>();
  const retired = new Set<unknown>();
  let problems = 0;
  let lastTime = -1;
  history.forEach((op, i) => {
    if (op.index !== i) problems++;
    if (!Number.isInteger(op.time) || op.time < lastTime) problems++;
    lastTime = op.time;
    if (typeof op.process !== 'number') return;
    if (retired.has(op.process)) problems++;
    if (op.type === 'invoke') {
      if (open.has(op.process)) problems++;
      open.set(op.process, op);
    } else {
      const inv = open.get(op.process);
      if (inv === undefined || inv.f !== op.f || inv.key !== op.key) problems++;
      open.delete(op.process);
      if (op.type === 'info') retired.add(op.process);
    }
  });
  t.equal(problems, 0, 'history has the invoke/completion shape, indices and monotonic times');
  t.equal(open.size, 0, 'no op left without a completion');
}

t.test('a cart run on the fake runtime writes a well-formed history and every results file', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-run-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const runtime = new FakeRuntime();
  const result = await runTest({ ...base, store, skipReport: false, env: { QL_TEST_FAULTS: 'no-repair' } }, { runtime });
  t.same(runtime.spec?.env, { QL_TEST_FAULTS: 'no-repair' }, 'extra QL_* variables reach the runtime');
  t.equal(runtime.spec?.runDir, result.runDir, 'nodes log under the results folder');
  t.ok(runtime.tornDown, 'the runtime was torn down');
  t.ok(result.runDir !== undefined, 'a results folder was made');
  const dir = result.runDir!;
  for (const f of ['config.json', 'history.jsonl', 'results.json', 'report.html']) {
    t.ok((await stat(join(dir, f))).size > 0, `${f} written`);
  }
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const k of ['workload', 'runtime', 'nodes', 'n', 'r', 'w', 'sloppy', 'conflicts', 'nemesis', 'seed', 'timeLimitS']) {
    t.ok(k in config, `config.json has ${k}`);
  }
  const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as Record<string, unknown>;
  t.same(results['valid'], result.valid, 'results.json holds the verdict');
  t.ok(results['checkers'] !== undefined && results['config'] !== undefined, 'results.json has checkers and config');
  t.equal(await readlink(join(store, 'latest')), join('cart', dir.split('/').pop()!), 'store/latest points at the run');

  const history = await readHistory(dir);
  checkShape(t, history);
  const client = history.filter((op) => typeof op.process === 'number' && op.final !== true);
  t.ok(client.length > 100, `the workload ran (${client.length} events)`);
  t.ok(client.some((op) => op.f === 'remove' && op.type === 'invoke' && typeof op.readIndex === 'number'), 'removes cite their read');
  for (const op of client.filter((o) => o.f === 'remove' && o.type === 'invoke')) {
    const read = history[op.readIndex as number]!;
    if (read.type !== 'ok' || read.f !== 'read' || read.key !== op.key) t.fail(`remove ${op.index} cites a non-read ${read.index}`);
  }
  t.ok(client.some((op) => op.type === 'info'), 'faults produced indefinite outcomes');
  const nemesis = history.filter((op) => op.process === 'nemesis');
  t.ok(nemesis.some((op) => op.f === 'partition' && op.type === 'invoke'), 'a partition was recorded');
  t.ok(nemesis.every((op) => op.type === 'invoke' || op.type === 'info'), 'nemesis ops are invoke then info');
  t.ok(history.some((op) => op.final === true && op.f === 'read' && op.type === 'ok'), 'final reads were taken');
  const locals = history.filter((op) => op.process === 'final' && op.f === 'local');
  t.equal(locals.length, 3 * 3, 'one replica state per key per home replica');
  t.ok(runtime.calls.includes('heal'), 'the partition was healed');
  t.equal(result.stats.convergenceMs !== null, true, 'convergence was measured');
  const verdicts = Object.fromEntries(Object.entries(result.checkers).map(([k, v]) => [k, (v as { valid: unknown }).valid]));
  t.equal(result.valid, true, `a correct store is valid (${JSON.stringify(verdicts)})`);
});

t.test('the same seed gives the same history; another seed does not', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-run-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const run = async (seed: number, workload: RunOptions['workload']) => {
    const r = await runTest({ ...base, store, seed, workload, timeLimitS: 8 }, { runtime: new FakeRuntime() });
    return (await readFile(join(r.runDir!, 'history.jsonl'), 'utf8'));
  };
  for (const workload of ['register', 'cart-kv', 'pbs'] as const) {
    const a = await run(3, workload);
    const b = await run(3, workload);
    t.equal(a, b, `${workload}: bit-identical histories for seed 3`);
    t.not(a, await run(4, workload), `${workload}: seed 4 differs`);
  }
});

t.test('a store that loses acknowledged adds is found invalid (exit 1)', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-run-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const result = await runTest({ ...base, store, nemesis: [] }, { runtime: new FakeRuntime({ loseAdds: true }) });
  t.equal(result.valid, false, 'invalid');
  t.equal(result.exitCode, 1, 'exit code 1');
});

t.test('a cluster that cannot start gives exit 2 with one line, and tears down', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-run-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const lines: string[] = [];
  const runtime = new FakeRuntime({ failSetup: 'port 127.0.0.1:8080 is in use' });
  const result = await runTest({ ...base, store, quiet: false, log: (l) => lines.push(l) }, { runtime });
  t.equal(result.exitCode, 2);
  t.match(result.error ?? '', /setup failed: port 127.0.0.1:8080 is in use/);
  t.ok(runtime.tornDown, 'torn down even so');
  t.ok(lines.some((l) => l.includes('seed=7')), 'the seed was printed first');
  const bad = await runTest({ ...base, store, r: 4 }, { runtime: new FakeRuntime() });
  t.equal(bad.exitCode, 2, 'R > N is refused');
  t.match(bad.error ?? '', /--r must be between 1 and --n/);
});

t.test('clients never ask a node that left while they waited to send (membership changes mid-run)', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-run-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const runtime = new FakeRuntime({ membership: true });
  // Short quiet and fault windows and a high rate: leaves happen while workers sleep before their next op.
  const result = await runTest(
    { ...base, store, nemesis: ['membership'], nemesisQuietS: 1, nemesisFaultS: 1, rate: 200, concurrency: 8 },
    { runtime },
  );
  t.ok(runtime.calls.some((c) => c.startsWith('leave ')), `nodes joined and left: ${runtime.calls.join(', ')}`);
  t.equal(result.error, undefined, 'the run completed');
  t.equal(result.exitCode, 0, 'and is valid');
  checkShape(t, await readHistory(result.runDir!));
});
