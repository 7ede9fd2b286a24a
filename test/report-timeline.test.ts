// The report's timeline and per-key drill-down in headless Chromium, on a 100,000-op synthetic cart history
// with fault windows and one lost add named the way the cart checker names it: the canvas draws bars of each
// outcome and the evidence outline, zooms, names the op under the pointer, the anomaly zooms to its ops, and
// the drill-down shows the key's ops, final replica states and the evidence in words. Screenshots go to
// .tap/report-screenshots. The render time is printed as a comment, not asserted (speed belongs in bench).
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HistoryOp } from '../checkers/history.js';
import { syntheticHistory } from '../checkers/synthetic.js';
import { renderReport } from '../harness/report/index.js';

const chromiumPath = '/usr/bin/chromium';
const shots = join(process.cwd(), '.tap', 'report-screenshots');

function withFaults(history: HistoryOp[]): HistoryOp[] {
  const s = 1e9;
  const nemesis: Omit<HistoryOp, 'index'>[] = [
    { time: 10 * s, process: 'nemesis', type: 'invoke', f: 'partition', value: { kind: 'halves' } },
    { time: 10 * s + 1, process: 'nemesis', type: 'info', f: 'partition', value: { kind: 'halves', sides: [['n1', 'n2'], ['n3', 'n4', 'n5']] } },
    { time: 20 * s, process: 'nemesis', type: 'invoke', f: 'heal', value: {} },
    { time: 20 * s + 1, process: 'nemesis', type: 'info', f: 'heal', value: { healed: true } },
    { time: 30 * s, process: 'nemesis', type: 'invoke', f: 'kill', value: { targets: 'minority' } },
    { time: 30 * s + 1, process: 'nemesis', type: 'info', f: 'kill', value: { nodes: ['n2', 'n4'] } },
    { time: 40 * s, process: 'nemesis', type: 'invoke', f: 'restart', value: { nodes: ['n2', 'n4'] } },
    { time: 40 * s + 1, process: 'nemesis', type: 'info', f: 'restart', value: { nodes: ['n2', 'n4'] } },
  ];
  return [...history, ...nemesis.map((o) => ({ ...o, index: -1 }) as HistoryOp)].sort((a, b) => a.time - b.time).map((o, index) => ({ ...o, index }));
}

t.test('timeline and drill-down of a 100,000-op history', { skip: existsSync(chromiumPath) ? false : `${chromiumPath} is missing (apt-get install chromium)` }, async (t) => {
  const { chromium } = await import('playwright-core');
  const history = withFaults(syntheticHistory('cart', { seed: 1, ops: 100_000, processes: 10, keys: 5 }));
  const clientOps = history.filter((o) => typeof o.process === 'number' && o.type === 'invoke').length;
  // A lost add the way the cart checker reports it: the add's invoke index, and the read that missed it.
  const add = history.find((o) => o.f === 'add' && o.type === 'invoke' && o.time > 25e9)!;
  const missRead = history.find((o) => o.f === 'read' && o.type === 'ok' && o.key === add.key && o.time > add.time + 1e9)!;
  const checkers = {
    cart: {
      valid: false, reads: 1, attempted: 10, acknowledged: 10, stable: 8, lost: 1, neverRead: 1, stale: 0, removed: 0,
      lostExamples: [{ key: add.key, item: add.value, addIndex: add.index, knownMs: add.time / 1e6 + 5, lastPresentMs: null, lastAbsentMs: missRead.time / 1e6, readIndex: missRead.index }],
      staleExamples: [], resurrectedCount: 0, resurrected: [], resurrectedTransientCount: 0, resurrectedTransient: [], duplicatedCount: 0, duplicated: [],
    },
  };
  const dir = await mkdtemp(join(tmpdir(), 'ql-timeline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'report.html');
  await writeFile(path, await renderReport({ history, config: { n: 3, r: 1, w: 1, workload: 'cart', seed: 1 } as never, valid: false, checkers, stats: { unavailableFaults: {} } }));

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route(/^(?!file:)/, (route) => { errors.push(`network request: ${route.request().url()}`); return route.abort(); });
  await page.goto(pathToFileURL(path).href);

  const drawn = await page.evaluate<{ ops: string; renderMs: string; view: string; ok: number; info: number; purple: number; shade: number }>(`(() => {
    const c = document.getElementById('timeline');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ok = 0, info = 0, purple = 0, shade = 0;
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i], g = d[i + 1], b = d[i + 2], a = d[i + 3];
      if (a < 40) continue;
      if (g > r + 40 && g > b + 30) ok++;
      else if (r > 200 && g > 120 && g < 180 && b < 60) info++;
      else if (Math.abs(r - 106) < 30 && g < 60 && b > 120) purple++;
      else if (r >= 150 && g < 60 && b < 60 && a < 100) shade++;
    }
    return { ops: c.dataset.ops, renderMs: c.dataset.renderMs, view: c.dataset.view, ok, info, purple, shade };
  })()`);
  t.comment(`timeline of ${drawn.ops} ops rendered in ${drawn.renderMs} ms (parse to first draw, in the page)`);
  t.equal(Number(drawn.ops), clientOps, 'one bar per client op');
  t.ok(drawn.ok > 10_000, `ok bars drawn (${drawn.ok} green pixels)`);
  t.ok(drawn.info > 0, `info bars drawn (${drawn.info} orange pixels)`);
  t.ok(drawn.purple > 0, `the lost add's ops are outlined (${drawn.purple} purple pixels)`);
  t.ok(drawn.shade > 1000, `fault windows shaded behind (${drawn.shade} pixels)`);
  await mkdir(shots, { recursive: true });
  await page.locator('.tl-box').screenshot({ path: join(shots, 'timeline-100k.png') });

  const span = (view: string): number => { const [a, b] = view.split(',').map(Number); return b! - a!; };
  const box = (await page.locator('#timeline').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.6, box.y + 40);
  await page.mouse.wheel(0, -600);
  const zoomed = await page.evaluate<string>(`document.getElementById('timeline').dataset.view`);
  t.ok(span(zoomed) < span(drawn.view) / 2, `wheel zooms in (${drawn.view} → ${zoomed})`);
  await page.dblclick('#timeline', { position: { x: box.width * 0.5, y: 40 } });
  t.equal(await page.evaluate<string>(`document.getElementById('timeline').dataset.view`), drawn.view, 'double-click resets the zoom');

  // Hover over bars in the first lane until one is named.
  let tip = '';
  for (let x = 0.3; x < 0.9 && tip === ''; x += 0.02) {
    await page.mouse.move(box.x + box.width * x, box.y + 20 + 4);
    tip = await page.evaluate<string>(`document.getElementById('tl-tip').hidden ? '' : document.getElementById('tl-tip').textContent`);
  }
  t.match(tip, /^(add|remove|read) cart\d → (ok|fail|info)/, `hover names the op: ${tip.split('\n')[0]}`);

  // Over the band above the lanes, inside the first fault window (10–20 s of about 68.6 s), the fault is named.
  await page.mouse.move(box.x + 110 + (box.width - 114) * (15 / 68.617), box.y + 6);
  const faultTip = await page.evaluate<string>(`document.getElementById('tl-tip').hidden ? '' : document.getElementById('tl-tip').textContent`);
  t.equal(faultTip, 'F1: partition halves: n1 n2 | n3 n4 n5', 'hovering the fault band names the fault');

  const anomalies = await page.locator('#tl-anomalies li').allTextContents();
  t.equal(anomalies.length, 1, 'one anomaly listed');
  t.match(anomalies[0]!, new RegExp(`lost add on ${add.key}: The add #${add.index} of item ${String(add.value)} was known present`), 'in words');
  await page.locator('#tl-anomalies li').first().click({ position: { x: 5, y: 5 } });
  const focused = await page.evaluate<string>(`document.getElementById('timeline').dataset.view`);
  const [fa, fb] = focused.split(',').map(Number);
  t.ok(fa! <= add.time / 1e6 && fb! >= missRead.time / 1e6 && span(focused) < span(drawn.view) / 5, `the anomaly zooms to its ops (${focused})`);
  await page.locator('.tl-box').screenshot({ path: join(shots, 'timeline-anomaly.png') });

  const drill = await page.evaluate<{ sections: number; proof: string[]; finals: number; evidence: string; rows: number }>(`(() => {
    const s = document.getElementById('key-${add.key!}');
    return {
      sections: document.querySelectorAll('section.key').length,
      proof: Array.from(s.querySelectorAll('tr.proof')).map((r) => r.id),
      finals: s.querySelectorAll('table.finals tr').length - 1,
      evidence: s.querySelector('ul.evidence').textContent,
      rows: s.querySelectorAll('.ops tr').length - 1,
    };
  })()`);
  t.equal(drill.sections, 1, 'one key drilled into');
  t.ok(drill.proof.includes(`op-${add.index}`), 'the lost add is marked in the key\'s ops');
  t.equal(drill.proof.length, 2, 'so is the read that missed it');
  t.equal(drill.finals, history.filter((o) => o.process === 'final' && o.key === add.key).length, 'every home replica\'s final state is listed');
  t.match(drill.evidence, /lost add: The add #\d+ .* lost\./, 'the evidence in words');
  t.ok(drill.rows >= 21 && drill.rows <= 42, `a key with thousands of ops shows those around the evidence (${drill.rows} rows)`);
  await page.locator(`#key-${add.key!}`).screenshot({ path: join(shots, 'drilldown.png') });
  t.same(errors, [], 'no console errors');
});
