// A small results store written directly (the layout store.ts and campaign.ts make): two runs, one run
// still without results, a campaign with two runs, the `latest` link, and a link that points out of
// the store (which the server must refuse to follow).
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface RunSpec { name: string; workload: string; n: number; r: number; w: number; sloppy: boolean; nemesis: string[]; seed: number; valid?: true | false | 'unknown' }

async function writeRun(dir: string, s: RunSpec): Promise<void> {
  await mkdir(dir, { recursive: true });
  const config = { name: s.name, workload: s.workload, runtime: 'sim', nodes: 5, n: s.n, r: s.r, w: s.w, sloppy: s.sloppy, conflicts: 'vclock', nemesis: s.nemesis, seed: s.seed };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  if (s.valid !== undefined) {
    await writeFile(join(dir, 'results.json'), JSON.stringify({ valid: s.valid, checkers: {}, config }));
    await writeFile(join(dir, 'report.html'), `<!doctype html><title>report ${s.name} ${s.seed}</title><h1 id="which">${s.name} seed ${s.seed}</h1>`);
  }
}

export interface StoreFixture { root: string; store: string; outside: string }

export async function makeStoreFixture(): Promise<StoreFixture> {
  const root = await mkdtemp(join(tmpdir(), 'ql-store-'));
  const store = join(root, 'store');
  await writeRun(join(store, 'alpha', '20261201T100000.000Z'), { name: 'alpha', workload: 'cart', n: 3, r: 2, w: 2, sloppy: true, nemesis: ['partition', 'crash'], seed: 7, valid: true });
  await writeRun(join(store, 'beta', '20261201T110000.000Z'), { name: 'beta', workload: 'register', n: 3, r: 1, w: 1, sloppy: false, nemesis: ['clock'], seed: 8, valid: false });
  await writeRun(join(store, 'gamma', '20261201T120000.000Z'), { name: 'gamma', workload: 'pbs', n: 5, r: 1, w: 1, sloppy: true, nemesis: [], seed: 9 });
  const camp = join(store, 'sweep', '20261201T090000.000Z');
  const runA = join(camp, 'runs', 'sweep-cart-a', '20261201T090001.000Z');
  const runB = join(camp, 'runs', 'sweep-cart-b', '20261201T090002.000Z');
  await writeRun(runA, { name: 'sweep-cart-a', workload: 'cart', n: 3, r: 2, w: 2, sloppy: true, nemesis: ['partition'], seed: 1, valid: true });
  await writeRun(runB, { name: 'sweep-cart-b', workload: 'cart', n: 3, r: 2, w: 2, sloppy: false, nemesis: ['partition'], seed: 1, valid: 'unknown' });
  await writeFile(join(camp, 'campaign.json'), JSON.stringify({
    options: { name: 'sweep', runtime: 'sim', nrw: [{ n: 3, r: 2, w: 2 }], sloppy: [true, false], conflicts: ['vclock'], workloads: ['cart'], nemeses: [['partition']] },
    rows: [{ label: 'a', valid: true, runDir: runA }, { label: 'b', valid: 'unknown', runDir: runB }],
  }));
  await writeFile(join(camp, 'campaign.html'), '<!doctype html><title>campaign sweep</title>');
  await symlink('beta/20261201T110000.000Z', join(store, 'latest'));
  const outside = join(root, 'secret.txt');
  await writeFile(outside, 'not for the browser');
  await symlink(outside, join(store, 'alpha', '20261201T100000.000Z', 'leak.txt'));
  return { root, store, outside };
}
