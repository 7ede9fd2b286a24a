// The store as runs and campaigns really write it (not a hand-made fixture): `ls` finds a run and a
// campaign with its runs, and every report link of the served campaign page opens through the server.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTest } from '../harness/run.js';
import { runCampaign } from '../harness/campaign.js';
import { filterEntries, scanStore } from '../harness/store-index.js';
import { serveStore } from '../harness/store-serve.js';
import { FakeRuntime } from './helpers/run-fake-runtime.js';

t.test('a store written by run and campaign', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-store-real-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const run = await runTest({
    name: 'single', runtime: 'sim', nodes: 3, n: 3, r: 1, w: 1, sloppy: false, conflicts: 'vclock', workload: 'register', nemesis: ['partition'],
    timeLimitS: 3, concurrency: 2, rate: 20, seed: 4, nemesisQuietS: 1, nemesisFaultS: 1, quiesceS: 1, quiet: true, store,
  }, { runtime: new FakeRuntime() });
  const campaign = await runCampaign({
    name: 'pair', runtime: 'sim', nodes: 3, nrw: [{ n: 3, r: 2, w: 2 }], sloppy: [true], conflicts: ['vclock'], workloads: ['cart'],
    nemeses: [['partition'], ['crash']], seeds: [1], timeLimitS: 3, concurrency: 2, rate: 20, quiesceS: 1, nemesisQuietS: 1, nemesisFaultS: 1,
    store, quiet: true, runtimeFactory: () => new FakeRuntime(),
  });
  const entries = await scanStore(store);
  t.equal(entries.length, 4, 'one run, one campaign, its two runs');
  const single = entries.find((e) => e.name === 'single')!;
  t.match(single, { kind: 'run', workload: 'register', nrw: '3/1/1', mode: 'strict', nemesis: 'partition', seed: 4, valid: run.valid, campaign: null });
  t.ok(single.report?.endsWith('/report.html'));
  const camp = entries.find((e) => e.kind === 'campaign')!;
  t.match(camp, { name: 'pair', runs: 2, workload: 'cart', nrw: '3/2/2', nemesis: 'partition,crash', valid: campaign.valid });
  t.same(filterEntries(entries, { text: 'pair crash', kind: 'run' }).map((e) => e.nemesis), ['crash']);

  const server = await serveStore({ store, port: 0 });
  t.teardown(() => server.close());
  const pageUrl = new URL(`store/${camp.report!}`, server.url);
  const html = await (await fetch(pageUrl)).text();
  const links = [...html.matchAll(/<a href="([^"]+report\.html)">report<\/a>/g)].map((m) => m[1]!);
  t.equal(links.length, 2, 'a report link per run');
  for (const href of links) {
    t.notMatch(href, /^\//, `${href} is relative to the campaign folder`);
    const res = await fetch(new URL(href, pageUrl));
    t.equal(res.status, 200, `${href} opens through the server`);
    t.match(await res.text(), /<html/);
  }
});
