// The HTML report opens from disk in headless Chromium with no network, draws every chart (non-blank
// canvases) and logs no console errors. Skipped, saying why, where /usr/bin/chromium is missing.
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runTest } from '../harness/run.js';
import { runCampaign } from '../harness/campaign.js';
import { FakeRuntime } from './helpers/run-fake-runtime.js';

const chromiumPath = '/usr/bin/chromium';
/** Screenshots of each view land in tap's output directory (git-ignored) for a person to look at. */
const shots = join(process.cwd(), '.tap', 'report-screenshots');

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

  // launch() gives every browser a fresh temporary --user-data-dir of its own (it refuses one passed in args).
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
    t.ok(canvases.length >= (isCampaign ? 2 : 4), `${path.split('/').slice(-3).join('/')}: ${canvases.length} charts`);
    for (const c of canvases) t.ok(c.width > 0 && c.painted > 500, `canvas ${c.id} is drawn (${c.painted} painted pixels)`);
    t.same(errors, [], 'no console errors');
    if (!isCampaign) {
      const visibility = await page.evaluate<string>(`document.getElementById('pbs-note')?.textContent ?? ''`);
      t.match(visibility, /PBS reference for N=3 R=1 W=1/);
      const isCart = path === reports[0];
      const timeline = await page.evaluate<{ ops: number; invokes: number; laneLabels: number }>(`({
        ops: Number(document.getElementById('timeline').dataset.ops),
        invokes: JSON.parse(document.getElementById('data').textContent).timeline.start.length,
        laneLabels: JSON.parse(document.getElementById('data').textContent).timeline.lanes.length,
      })`);
      t.ok(timeline.ops > 100 && timeline.ops === timeline.invokes, `the timeline draws every client op of the run (${timeline.ops})`);
      t.ok(timeline.laneLabels >= 3, `a lane per client slot (${timeline.laneLabels})`);
      const view = await page.evaluate<{ ids: string[]; notDrawn: string[]; cartLabels: string[]; legend: string[] }>(`({
        ids: Array.from(document.querySelectorAll('canvas')).map((c) => c.id),
        notDrawn: Array.from(document.querySelectorAll('.not-drawn')).map((p) => p.textContent),
        cartLabels: document.getElementById('cart') ? Chart.getChart('cart').data.datasets.map((d) => d.label) : [],
        legend: Array.from(document.querySelectorAll('#fault-legend tr')).slice(1).map((r) => r.textContent),
      })`);
      if (isCart) {
        t.notOk(view.ids.includes('visibility') || view.ids.includes('siblings'), 'a cart run draws neither t-visibility nor siblings');
        t.match(view.notDrawn.join('\n'), /t-visibility not drawn: only the pbs workload/, 'it says why t-visibility is absent');
        t.match(view.notDrawn.join('\n'), /Siblings per read not drawn/, 'and why siblings are absent');
        t.same(view.cartLabels, ['stable', 'removed', 'never read', 'lost', 'acknowledged', 'stale', 'resurrected (final reads)', 'resurrected (transient)', 'duplicated', 'stale final reads'],
          'the cart chart shows every count the cart checker reports');
      } else {
        t.ok(view.ids.includes('visibility'), 'a pbs run draws t-visibility');
      }
      t.ok(view.legend.length > 0 && view.legend.every((row) => /F\d+.*partition [\w-]+: n\d/.test(row)), `fault windows named in the legend: ${view.legend[0] ?? 'none'}`);
      // Hovering inside the first fault window of the latency chart names it.
      const at = await page.evaluate<{ x: number; y: number }>(`(() => {
        const chart = Chart.getChart('latency'), w = JSON.parse(document.getElementById('data').textContent).figures.windows[0];
        const r = chart.canvas.getBoundingClientRect();
        return { x: r.left + chart.scales.x.getPixelForValue((w.startS + w.endS) / 2), y: r.top + (chart.chartArea.top + chart.chartArea.bottom) / 2 };
      })()`);
      await page.mouse.move(at.x, at.y);
      const tip = await page.evaluate<{ hidden: boolean; text: string }>(`({ hidden: document.getElementById('fault-tip').hidden, text: document.getElementById('fault-tip').textContent })`);
      t.ok(!tip.hidden && /^F1 .*partition [\w-]+: n\d/.test(tip.text), `hover names the fault window: ${tip.text}`);
    }
    await mkdir(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${isCampaign ? 'campaign' : path === reports[0] ? 'run-cart' : 'run-pbs'}.png`), fullPage: true });
    await page.close();
  }
});
