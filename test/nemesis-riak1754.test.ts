// The riak-1754-lost-write recipe end to end on the simulation, as a user replays it (`run --schedule
// riak-1754-lost-write`): its cluster and load, two joins at 40 s and the two joined nodes removed at 80 s and
// 90 s while 40 clients keep writing, and the reference node losing no acknowledged write through the
// ownership changes. The whole 120 s recipe runs (its last step is at 90 s, so --time-limit cannot shorten it
// below that); on the simulation it costs about 10 s of CPU.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliInProcess } from './helpers/cli-in-process.js';

const store = mkdtempSync(join(tmpdir(), 'ql-riak1754-'));
t.teardown(() => rmSync(store, { recursive: true, force: true }));

interface Op { process: unknown; type: string; f: string; time: number; value: unknown }

t.test('riak-1754-lost-write on the reference node: both joins and both leaves happen under load, no acknowledged write is lost', async (t) => {
  const { codes, printed } = await cliInProcess(['run', '--runtime', 'sim', '--seed', '1', '--store', store, '--schedule', 'riak-1754-lost-write']);
  t.equal(codes[0], 0, printed.split('\n').at(-2) ?? printed);
  const dir = /→ (\S+)\s*$/m.exec(printed.trim())![1]!;
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.match(config, { name: 'riak-1754-lost-write', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, workload: 'register', concurrency: 40, keyCount: 10, timeLimitS: 120, nemesis: ['membership'] });

  const ops = readFileSync(join(dir, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Op);
  const start = ops.find((o) => typeof o.process === 'number')!.time;
  const atS = (o: Op): number => (o.time - start) / 1e9;
  const done = ops.filter((o) => o.process === 'nemesis' && o.type === 'info' && (o.f === 'join' || o.f === 'leave'));
  t.same(done.map((o) => [o.f, (o.value as { node?: string }).node]), [['join', 'n6'], ['join', 'n7'], ['leave', 'n6'], ['leave', 'n7']],
    'two nodes joined, then the first and the second joined node were removed');
  const [join1, , leave1, leave2] = done.map(atS);
  t.ok(join1! >= 39.5 && join1! < 42 && leave1! >= 79.5 && leave1! < 83 && leave2! >= 89.5 && leave2! < 93, `steps at their times: ${done.map((o) => atS(o).toFixed(1)).join(', ')} s`);

  // The recipe's point is writes acknowledged while ownership moves: they must exist for the verdict to mean anything.
  const okWritesDuring = ops.filter((o) => typeof o.process === 'number' && o.type === 'ok' && o.f === 'put' && atS(o) > join1! && atS(o) < leave2! + 5).length;
  t.ok(okWritesDuring > 500, `acknowledged writes while the ring changed: ${okWritesDuring}`);

  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { valid: unknown; checkers: Record<string, { valid: unknown; lostCount?: number; ackedWrites?: number }> };
  t.equal(results.valid, true);
  t.equal(results.checkers['register']!.lostCount, 0, 'no acknowledged write lost');
  t.ok(results.checkers['register']!.ackedWrites! > 1000, `the register checker checked ${results.checkers['register']!.ackedWrites} acknowledged writes`);
});
