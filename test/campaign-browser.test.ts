// campaign.html in headless Chromium: the comparison table sorts by a clicked header (both ways, a
// missing value last), the heat map shows configuration × fault for the chosen measure, and a click on a
// cell opens that run's report — from disk and through `quorumlab serve`. No network, no console errors.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderCampaignHtml, type CampaignRow } from '../harness/campaign.js';
import { serveStore } from '../harness/store-serve.js';

const chromiumPath = '/usr/bin/chromium';
const shots = join(process.cwd(), '.tap', 'report-screenshots');

function row(dir: string, sloppy: boolean, nemesis: string, valid: CampaignRow['valid'], availability: number | null, stale: number): CampaignRow {
  const label = `cart N3R2W2 ${sloppy ? 'sloppy' : 'strict'} vclock ${nemesis} #1`;
  return { label, workload: 'cart', n: 3, r: 2, w: 2, sloppy, conflicts: 'vclock', nemesis, seed: 1, valid, availability, p99Ms: 10,
    staleReadRate: stale, lostAdds: 0, convergenceMs: 100, session: null, runDir: join(dir, 'runs', `${sloppy ? 'sloppy' : 'strict'}-${nemesis}`, '20261201T100000.000Z'), replay: 'npx quorumlab run' };
}

t.test('campaign page: sort and heat map', { skip: existsSync(chromiumPath) ? false : `${chromiumPath} is missing (apt-get install chromium)` }, async (t) => {
  const { chromium } = await import('playwright-core');
  await mkdir(shots, { recursive: true });
  const store = await mkdtemp(join(tmpdir(), 'ql-campaign-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const dir = join(store, 'mini', '20261201T095959.000Z');
  const rows = [row(dir, true, 'partition', true, 0.9, 0.01), row(dir, true, 'crash', 'unknown', null, 0.03),
    row(dir, false, 'partition', true, 0.5, 0), row(dir, false, 'crash', false, 0.7, 0.2)];
  for (const r of rows) {
    await mkdir(r.runDir!, { recursive: true });
    await writeFile(join(r.runDir!, 'report.html'), `<!doctype html><title>run</title><h1 id="which">${r.label}</h1>`);
    await writeFile(join(r.runDir!, 'config.json'), JSON.stringify({ name: r.label, workload: 'cart', n: 3, r: 2, w: 2, sloppy: r.sloppy, nemesis: [r.nemesis], seed: 1 }));
    await writeFile(join(r.runDir!, 'results.json'), JSON.stringify({ valid: r.valid }));
  }
  await writeFile(join(dir, 'campaign.html'), await renderCampaignHtml('mini', rows, dir));
  await writeFile(join(dir, 'campaign.json'), JSON.stringify({ options: { name: 'mini' }, rows }));

  // A fresh profile of its own, so nothing from another run of Chromium leaks in.
  const profile = await mkdtemp(join(tmpdir(), 'ql-chromium-'));
  t.teardown(() => rm(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const server = await serveStore({ store, port: 0 });
  t.teardown(() => server.close());

  for (const [how, url] of [['from disk', pathToFileURL(join(dir, 'campaign.html')).href], ['served', `${server.url}store/mini/20261201T095959.000Z/campaign.html`]] as const) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    const allowed = how === 'served' ? server.url : 'file:';
    await page.route((u) => !u.href.startsWith(allowed), (route) => { errors.push(`network request: ${route.request().url()}`); return route.abort(); });
    await page.goto(url);
    const labels = (): Promise<string[]> => page.evaluate<string[]>(`Array.from(document.querySelectorAll('#comparison tbody tr td:first-child')).map((td) => { const w = td.textContent.split(' '); return w[2] + ' ' + w[4]; })`);
    t.same(await labels(), ['sloppy partition', 'sloppy crash', 'strict partition', 'strict crash'], `${how}: campaign order at first`);
    await page.click('#comparison th[data-key=availability]');
    t.same(await labels(), ['strict partition', 'strict crash', 'sloppy partition', 'sloppy crash'], `${how}: ascending availability, the missing one last`);
    t.equal(await page.getAttribute('#comparison th[data-key=availability]', 'aria-sort'), 'ascending');
    await page.click('#comparison th[data-key=availability]');
    t.same(await labels(), ['sloppy partition', 'strict crash', 'strict partition', 'sloppy crash'], `${how}: descending, the missing one still last`);
    await page.click('#comparison th[data-key=stale]');
    t.same(await labels(), ['strict partition', 'sloppy partition', 'sloppy crash', 'strict crash'], `${how}: by stale-read rate`);
    t.equal(await page.getAttribute('#comparison th[data-key=availability]', 'aria-sort'), 'none', 'one sorted column at a time');

    const cells = (): Promise<string[][]> => page.evaluate<string[][]>(`Array.from(document.querySelectorAll('#heatmap tr')).map((tr) => Array.from(tr.children).map((c) => c.textContent))`);
    t.same(await cells(), [['configuration \\ fault', 'partition', 'crash'], ['cart N3R2W2 sloppy vclock', 'true', 'unknown'], ['cart N3R2W2 strict vclock', 'true', 'false']], `${how}: validity heat map`);
    await page.selectOption('#metric', 'staleReadRate');
    t.same((await cells())[2], ['cart N3R2W2 strict vclock', '0.00%', '20.00%'], `${how}: stale-read heat map`);
    await page.selectOption('#metric', 'availability');
    t.same((await cells())[1], ['cart N3R2W2 sloppy vclock', '90.0%', '–'], `${how}: availability heat map`);
    const shades = await page.evaluate<string[]>(`Array.from(document.querySelectorAll('#heatmap td.cell')).map((c) => c.style.background)`);
    t.equal(new Set(shades).size, 4, `${how}: each availability has its own shade`);
    await page.click('#heatmap td[data-config="cart N3R2W2 strict vclock"][data-fault="crash"] a');
    await page.waitForSelector('#which');
    t.equal(await page.textContent('#which'), 'cart N3R2W2 strict vclock crash #1', `${how}: the cell opened its run's report`);
    t.match(page.url(), /runs\/strict-crash\/20261201T100000\.000Z\/report\.html$/);
    t.same(errors, [], `${how}: no console errors, no network`);
    if (how === 'from disk') {
      await page.goBack();
      await page.screenshot({ path: join(shots, 'campaign-heatmap.png'), fullPage: true });
    }
    await page.close();
  }

  // The store browser's own page: the live text filter narrows the rows without a round trip.
  const page = await browser.newPage();
  await page.goto(server.url);
  const visible = (): Promise<number> => page.evaluate<number>(`Array.from(document.querySelectorAll('#entries tbody tr')).filter((tr) => !tr.hidden).length`);
  t.equal(await visible(), 5, 'store page: the campaign and its four runs');
  await page.fill('#q', 'strict crash');
  t.equal(await visible(), 1, 'store page: typing narrows to the strict crash run');
  t.match(await page.textContent('#count'), /^1 of 5 shown/);
  await page.fill('#q', '');
  t.equal(await visible(), 5, 'store page: clearing shows every row again');
  await page.screenshot({ path: join(shots, 'store-browser.png'), fullPage: true });
  t.comment(`screenshots in ${shots}`);
  await page.close();
});
