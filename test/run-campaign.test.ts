// A small campaign on fake runtimes: every configuration runs once, the table and campaign.html are
// written, the rows carry the measured figures, and a lost-add store makes the campaign invalid.
import t from 'tap';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { campaignOptionsFrom, formatTable, runCampaign, type CampaignOptions } from '../harness/campaign.js';
import { FakeRuntime } from './helpers/run-fake-runtime.js';

const base = (store: string): CampaignOptions => ({
  name: 'mini', runtime: 'sim', nodes: 3, nrw: [{ n: 3, r: 2, w: 2 }, { n: 3, r: 1, w: 1 }], sloppy: [true, false], conflicts: ['vclock'],
  workloads: ['register', 'cart'], nemeses: [['partition'], ['crash']], seeds: [1], timeLimitS: 6, concurrency: 3, rate: 30,
  quiesceS: 1, nemesisQuietS: 1, nemesisFaultS: 2, store, quiet: true, runtimeFactory: () => new FakeRuntime(),
});

t.test('a campaign runs every configuration and writes its table and html', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-campaign-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const result = await runCampaign(base(store));
  t.equal(result.rows.length, 2 * 2 * 2 * 2, 'workloads × nrw × modes × faults');
  for (const f of ['campaign.json', 'campaign.html', 'table.txt']) t.ok((await stat(join(result.dir, f))).size > 0, `${f} written`);
  const cart = result.rows.filter((r) => r.workload === 'cart');
  t.ok(cart.every((r) => r.lostAdds === 0), 'cart rows count lost adds (none on a correct store)');
  t.ok(result.rows.every((r) => r.availability !== null && r.availability > 0 && r.availability <= 1), 'availability measured');
  t.ok(result.rows.every((r) => r.p99Ms !== null), 'p99 measured');
  t.ok(result.rows.every((r) => r.replay.includes(`--seed ${r.seed}`)), 'each row says how to replay it');
  const table = await readFile(join(result.dir, 'table.txt'), 'utf8');
  t.match(table, /configuration\s+valid\s+avail\s+p99 ms\s+stale\s+lost\s+converge ms/);
  t.equal(table.trim().split('\n').length, 2 + result.rows.length);
  t.equal(formatTable([]).split('\n').length, 2, 'an empty table is just its header');
});

t.test('a campaign with a lost-add store is invalid', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-campaign-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const result = await runCampaign({ ...base(store), workloads: ['cart'], nrw: [{ n: 3, r: 2, w: 2 }], sloppy: [true], nemeses: [[]],
    runtimeFactory: () => new FakeRuntime({ loseAdds: true }) });
  t.equal(result.valid, false);
  t.equal(result.exitCode, 1);
  t.ok((result.rows[0]?.lostAdds ?? 0) > 0, 'the row shows the lost adds');
});

t.test('--quick is a bounded sweep of strict and sloppy × four faults × register and cart', async (t) => {
  const o = campaignOptionsFrom({ quick: true, runtime: 'local', store: 'x' });
  t.same(o.sloppy, [false, true]);
  t.same(o.nemeses, [['partition'], ['clock'], ['crash'], ['pause']]);
  t.same(o.workloads, ['register', 'cart']);
  const runs = o.sloppy.length * o.nemeses.length * o.workloads.length * o.nrw.length * o.conflicts.length * o.seeds.length;
  t.equal(runs, 16);
  // Whether 16 runs fit in 5 minutes is measured, not computed: `npm run bench` times quick-campaign runs
  // on the local runtime and reports the sweep's estimated duration.
  // Two faults per quick run: the coverage pass's first two, a key's homes cut away then split 1 | N-1, and
  // every node then a majority crashed or paused, unless overridden.
  t.same(o.faultShapes, { partitions: ['homes-away', 'homes-split'], targets: ['all', 'majority'] });
  t.equal(o.timeLimitS, 10);
  t.equal(o.nemesisQuietS + 2 * (o.nemesisQuietS + o.nemesisFaultS), 11, 'the second fault ends inside the run (10 s) and no third starts');
  t.same(campaignOptionsFrom({ quick: true, partitions: ['bridge'], store: 'x' }).faultShapes, { partitions: ['bridge'] });
  t.equal(campaignOptionsFrom({ store: 'x' }).faultShapes, undefined, 'a full campaign draws from every shape');
  t.throws(() => campaignOptionsFrom({ nrw: '3/2' }), /N\/R\/W/);
});
