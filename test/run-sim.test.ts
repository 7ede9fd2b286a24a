// Under the simulation runtime a seed replays to a bit-identical history (the run uses only the runtime's
// clock and seeded randomness). The sim runtime is part of this project and needs nothing from the machine, so
// a sim runtime that cannot load fails this test rather than skipping it.
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTest, type RunOptions } from '../harness/run.js';

t.test('the same seed replays bit-identically on the sim runtime', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-run-sim-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const options = (seed: number): RunOptions => ({
    runtime: 'sim', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'register',
    nemesis: ['partition', 'crash', 'pause', 'clock'], timeLimitS: 15, concurrency: 5, rate: 50, seed,
    nemesisQuietS: 2, nemesisFaultS: 3, quiesceS: 2, quiet: true, store, skipReport: true,
  });
  const history = async (seed: number): Promise<string> => {
    const r = await runTest(options(seed));
    t.not(r.valid, false, `seed ${seed}: not invalid`);
    return readFile(join(r.runDir!, 'history.jsonl'), 'utf8');
  };
  const a = await history(21);
  const b = await history(21);
  t.ok(a.split('\n').length > 300, 'a real history');
  t.ok(a.includes('"process":"nemesis"'), 'with faults');
  t.equal(a, b, 'identical for the same seed');
  t.not(a, await history(22), 'different for another seed');
});
