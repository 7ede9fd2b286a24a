// The HTML report opens from disk in headless Chromium with no network, draws every chart (non-blank
// canvases) and logs no console errors. Skipped, saying why, where /usr/bin/chromium is missing.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runTest } from '../harness/run.js';
import { runCampaign } from '../harness/campaign.js';
import { FakeRuntime } from './helpers/run-fake-runtime.js';

const chromiumPath = '/usr/bin/chromium';

t.test('report.html renders every chart without errors', { skip: existsSync(chromiumPath) ? false : `${chromiumPath} is missing (apt-get install chromium)` }, async (t) => {
  const { chromium } = await import('playwright-core');
  const store = await mkdtemp(join(tmpdir(), 'ql-report-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const reports: string[] = [];
  for (const workload of ['cart', 'pbs'] as const) {
    const r = await runTest({
      runtime: 'sim', nodes: 3, n: 3, r: 1, w: 1, sloppy: true, conflicts: 'vclock', workload, nemesis: ['partition'],
      timeLimitS: 12, concurrency: 3, rate: 30, seed: 5, nemesisQuietS: 3, nemesisFaultS: 3, quiesceS: 1, quiet: true, store,
    }, { runtime: new FakeRuntime() });
    reports.push(join(r.runDir!, 'report.html'));
  }
  const campaign = await runCampaign({
    name: 'mini', runtime: 'sim', nodes: 3, nrw: [{ n: 3, r: 2, w: 2 }], sloppy: [true, false], conflicts: ['vclock'], workloads: ['cart'],
    nemeses: [['partition']], seeds: [1], timeLimitS: 4, concurrency: 2, rate: 20, quiesceS: 1, nemesisQuietS: 1, nemesisFaultS: 1,
    store, quiet: true, runtimeFactory: () => new FakeRuntime(),
  });
  reports.push(join(campaign.dir, 'campaign.html'));
  const html = await readFile(reports[0]!, 'utf8');
  t.notMatch(html, /<script[^>]+src=/, 'no external scripts: the report is self-contained');
  t.match(html, /Chart\.js v4/, 'chart.js is inlined');

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  for (const path of reports) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    // Anything but the file itself would be a network request: refuse it so the test proves self-containment.
    await page.route(/^(?!file:)/, (route) => { errors.push(`network request: ${route.request().url()}`); return route.abort(); });
    await page.goto(pathToFileURL(path).href);
    // Evaluated in the page (as a string, since the project compiles without DOM types): painted pixels per canvas.
    const canvases = await page.evaluate<{ id: string; width: number; painted: number }[]>(`
      Array.from(document.querySelectorAll('canvas')).map((c) => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        return { id: c.id, width: c.width, painted };
      })`);
    const isCampaign = path.endsWith('campaign.html');
    t.ok(canvases.length >= (isCampaign ? 2 : 5), `${path.split('/').slice(-3).join('/')}: ${canvases.length} charts`);
    for (const c of canvases) t.ok(c.width > 0 && c.painted > 500, `canvas ${c.id} is drawn (${c.painted} painted pixels)`);
    t.same(errors, [], 'no console errors');
    if (!isCampaign) {
      const visibility = await page.evaluate<string>(`document.getElementById('pbs-note')?.textContent ?? ''`);
      t.match(visibility, /PBS reference for N=3 R=1 W=1/);
    }
    await page.close();
  }
});
