// Renders report.html: one self-contained file (chart.js's UMD build and the data inlined) that opens
// from disk with no network. Charts: latency over time with fault windows shaded, throughput, availability
// inside vs outside faults, t-visibility beside PBS's published figures, sibling counts, cart anomalies.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { pbsConsistentAtT0N3R1W1, pbsQuorumIntersection, pbsTable4N3, reportFigures, type ReportInput } from './data.js';
import { replayCommand } from './replay.js';

let chartJsCache: string | undefined;

/** chart.js's UMD bundle (a global `Chart`), read once from node_modules. */
export async function chartJsSource(): Promise<string> {
  if (chartJsCache === undefined) {
    const path = fileURLToPath(new URL('../../node_modules/chart.js/dist/chart.umd.min.js', import.meta.url));
    chartJsCache = await readFile(path, 'utf8');
  }
  return chartJsCache;
}

/** JSON safe inside a <script> element (no "</script>" or "<!--" can appear). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** At most this many latency points are plotted (evenly thinned), so huge runs still open quickly. */
const maxPoints = 20_000;

function thin<T>(points: T[], limit: number): T[] {
  if (points.length <= limit) return points;
  const step = points.length / limit;
  return Array.from({ length: limit }, (_, i) => points[Math.floor(i * step)]!);
}

export async function renderReport(input: ReportInput): Promise<string> {
  const figures = reportFigures(input.history, input.checkers);
  const totalPoints = Object.values(figures.latency).reduce((s, p) => s + p.length, 0);
  const latency = Object.fromEntries(Object.entries(figures.latency)
    .map(([k, p]) => [k, thin(p, Math.max(1, Math.floor((maxPoints * p.length) / Math.max(1, totalPoints))))]));
  const { n, r, w } = input.config;
  const config = input.config as Readonly<Record<string, unknown>>;
  const pbs = {
    intersection: pbsQuorumIntersection(n, r, w),
    table4: n === 3 ? pbsTable4N3.find((row) => row.r === r && row.w === w)?.t ?? null : null,
    t0: n === 3 && r === 1 && w === 1 ? pbsConsistentAtT0N3R1W1 : null,
  };
  const data = { figures: { ...figures, latency }, pbs, config: input.config };
  const verdict = input.valid === true ? 'valid' : input.valid === false ? 'INVALID' : 'unknown';
  const checkerRows = Object.entries(input.checkers).map(([name, result]) => {
    const v = (result as { valid?: unknown } | null)?.valid;
    const summary = JSON.stringify(result, (_k, val: unknown) => (Array.isArray(val) && val.length > 5 ? [...val.slice(0, 5), `… ${val.length - 5} more`] : val), 1);
    return `<tr><td>${escapeHtml(name)}</td><td class="v-${escapeHtml(String(v))}">${escapeHtml(String(v))}</td>` +
      `<td><details><summary>evidence</summary><pre>${escapeHtml(summary ?? '')}</pre></details></td></tr>`;
  }).join('\n');
  const stats = (input.stats ?? {}) as Record<string, unknown>;
  const convergence = stats['convergenceMs'];
  const facts: [string, string][] = [
    ['verdict', verdict],
    ['operations', `${String(stats['ok'] ?? '?')} ok / ${String(stats['ops'] ?? '?')} (fail ${String(stats['fail'] ?? '?')}, info ${String(stats['info'] ?? '?')})`],
    ['faults injected', String(stats['faults'] ?? '?')],
    ['latency of ok ops', `p50 ${fmt(figures.latencyMs.p50)} ms, p99 ${fmt(figures.latencyMs.p99)} ms, max ${fmt(figures.latencyMs.max)} ms`],
    ['availability', `inside faults ${pct(figures.availability.inside.rate)} (${figures.availability.inside.total} ops), outside ${pct(figures.availability.outside.rate)} (${figures.availability.outside.total} ops)`],
    ['convergence after heal', typeof convergence === 'number' ? `${convergence.toFixed(0)} ms` : 'not within the quiesce period (or not measured)'],
    ['replicas disagreeing at the end', figures.divergentKeys.length === 0 ? 'none' : figures.divergentKeys.join(', ')],
    ...(figures.staleReadRate !== null ? [['stale-read rate', pct(figures.staleReadRate)] as [string, string]] : []),
    ...(input.error !== undefined ? [['error', input.error] as [string, string]] : []),
  ];
  const title = `quorumlab — ${String(config['name'] ?? config['workload'] ?? 'run')} (seed ${String(config['seed'])})`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;max-width:1200px;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top;text-align:left}
.v-true{color:#176b2c;font-weight:bold}.v-false{color:#b00020;font-weight:bold}.v-unknown{color:#a15c00;font-weight:bold}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1em}.box{border:1px solid #ddd;padding:.5em;height:320px;position:relative}
.wide{grid-column:1/3} code,pre{background:#f5f5f5;padding:2px 4px;white-space:pre-wrap;word-break:break-all} pre{max-height:300px;overflow:auto}
</style></head><body>
<h1>${escapeHtml(title)}: <span class="v-${escapeHtml(String(input.valid))}">${verdict}</span></h1>
<table>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<h2>Replay</h2><p><code>${escapeHtml(replayCommand(config))}</code></p>${typeof config['command'] === 'string' ? `<p>As typed: <code>${escapeHtml(config['command'])}</code></p>` : ''}
<h2>Charts</h2>
<div class="grid">
<div class="box wide"><canvas id="latency"></canvas></div>
<div class="box"><canvas id="throughput"></canvas></div>
<div class="box"><canvas id="availability"></canvas></div>
<div class="box"><canvas id="visibility"></canvas></div>
<div class="box"><canvas id="siblings"></canvas></div>
${figures.cart !== null ? '<div class="box"><canvas id="cart"></canvas></div>' : ''}
</div>
<p id="pbs-note"></p>
<h2>Checkers</h2><table><tr><th>checker</th><th>valid</th><th>evidence</th></tr>${checkerRows}</table>
<h2>Configuration</h2><pre>${escapeHtml(JSON.stringify(input.config, null, 2))}</pre>
<script>${await chartJsSource()}</script>
<script id="data" type="application/json">${scriptJson(data)}</script>
<script>${clientScript}</script>
</body></html>
`;
}

function fmt(v: number | null): string {
  return v === null ? '–' : v.toFixed(1);
}

function pct(v: number | null): string {
  return v === null ? '–' : `${(v * 100).toFixed(2)}%`;
}

/** Runs in the browser: builds the charts from the inlined data. Plain ES2017, no imports. */
const clientScript = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('data').textContent);
  var f = data.figures;
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var outcomeColor = { ok: 'rgba(23,107,44,0.6)', fail: 'rgba(176,0,32,0.7)', info: 'rgba(230,140,0,0.8)' };
  var shapes = ['circle', 'triangle', 'rect', 'crossRot', 'star', 'rectRot'];
  // Shades the fault windows behind the data on any chart with a linear x axis in seconds.
  var windowsPlugin = {
    id: 'faultWindows',
    beforeDatasetsDraw: function (chart) {
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = 'rgba(200,0,0,0.08)';
      f.windows.forEach(function (w) {
        var a = Math.max(area.left, x.getPixelForValue(w.startS)), b = Math.min(area.right, x.getPixelForValue(w.endS));
        if (b > a) ctx.fillRect(a, area.top, b - a, area.bottom - area.top);
      });
      ctx.restore();
    }
  };
  var fs = {};
  Object.keys(f.latency).forEach(function (k) { fs[k.split(' ')[0]] = true; });
  var fNames = Object.keys(fs).sort();
  var latencySets = Object.keys(f.latency).sort().map(function (k) {
    var parts = k.split(' ');
    return { label: k, data: f.latency[k], backgroundColor: outcomeColor[parts[1]] || 'gray', borderColor: outcomeColor[parts[1]] || 'gray',
      pointStyle: shapes[fNames.indexOf(parts[0]) % shapes.length], pointRadius: 2.5 };
  });
  var xMax = Math.max(1, f.durationS);
  new Chart(document.getElementById('latency'), {
    type: 'scatter', data: { datasets: latencySets }, plugins: [windowsPlugin],
    options: { plugins: { title: { display: true, text: 'Latency by op and outcome (shaded: faults in force)' } },
      scales: { x: { type: 'linear', min: 0, max: xMax, title: { display: true, text: 'time (s)' } },
                y: { type: 'logarithmic', title: { display: true, text: 'latency (ms)' } } } }
  });
  function series(values) { return f.throughput.seconds.map(function (s, i) { return { x: s, y: values[i] }; }); }
  new Chart(document.getElementById('throughput'), {
    type: 'line', plugins: [windowsPlugin],
    data: { datasets: [
      { label: 'ok/s', data: series(f.throughput.ok), borderColor: outcomeColor.ok, backgroundColor: outcomeColor.ok, stepped: true, pointRadius: 0 },
      { label: 'fail/s', data: series(f.throughput.fail), borderColor: outcomeColor.fail, backgroundColor: outcomeColor.fail, stepped: true, pointRadius: 0 },
      { label: 'info/s', data: series(f.throughput.info), borderColor: outcomeColor.info, backgroundColor: outcomeColor.info, stepped: true, pointRadius: 0 } ] },
    options: { plugins: { title: { display: true, text: 'Throughput (completions per second)' } },
      scales: { x: { type: 'linear', min: 0, max: xMax, title: { display: true, text: 'time (s)' } }, y: { beginAtZero: true } } }
  });
  var av = f.availability;
  new Chart(document.getElementById('availability'), {
    type: 'bar',
    data: { labels: ['outside faults (' + av.outside.total + ' ops)', 'inside faults (' + av.inside.total + ' ops)'],
      datasets: [{ label: 'share of ops ok', data: [av.outside.rate, av.inside.rate], backgroundColor: ['rgba(23,107,44,0.6)', 'rgba(176,0,32,0.5)'] }] },
    options: { plugins: { title: { display: true, text: 'Availability inside vs outside faults' } }, scales: { y: { min: 0, max: 1 } } }
  });
  var vis = f.visibility.map(function (v) { return { x: v.targetMs, y: v.probability }; });
  var maxT = vis.length > 0 ? vis[vis.length - 1].x : 100;
  var visSets = [
    { label: 'measured P(read sees the write)', data: vis, borderColor: '#1f4e9c', backgroundColor: '#1f4e9c', showLine: true },
    { label: 'PBS worst case at t=0 (no propagation): 1 − C(N−W,R)/C(N,R)', data: [{ x: 0, y: data.pbs.intersection }, { x: maxT, y: data.pbs.intersection }],
      borderColor: '#999', borderDash: [6, 4], pointRadius: 0, showLine: true }
  ];
  if (data.pbs.table4) {
    Object.keys(data.pbs.table4).forEach(function (fit, i) {
      var t = data.pbs.table4[fit];
      visSets.push({ label: 'PBS ' + fit + ': 99.9% at ' + t + ' ms', data: [{ x: t, y: 0.999 }], pointStyle: 'triangle', pointRadius: 6,
        backgroundColor: ['#d62728', '#9467bd', '#8c564b', '#e377c2'][i % 4] });
    });
  }
  new Chart(document.getElementById('visibility'), {
    type: 'scatter', data: { datasets: visSets },
    options: { plugins: { title: { display: true, text: 't-visibility (pbs workload) beside PBS, VLDB 2012' } },
      scales: { x: { type: 'linear', min: 0, title: { display: true, text: 'ms after the write was acknowledged' } }, y: { min: 0, max: 1.02 } } }
  });
  var sibKeys = Object.keys(f.siblings).sort(function (a, b) { return a - b; });
  new Chart(document.getElementById('siblings'), {
    type: 'bar',
    data: { labels: sibKeys.length ? sibKeys : ['(no register reads)'], datasets: [{ label: 'reads', data: sibKeys.map(function (k) { return f.siblings[k]; }), backgroundColor: '#1f4e9c' }] },
    options: { plugins: { title: { display: true, text: 'Versions returned per read (siblings); Dynamo saw 1 version in 99.94% of reads' } },
      scales: { x: { title: { display: true, text: 'siblings' } }, y: { beginAtZero: true } } }
  });
  if (f.cart) {
    new Chart(document.getElementById('cart'), {
      type: 'bar',
      data: { labels: ['acknowledged adds', 'stable', 'lost', 'stale', 'resurrected'],
        datasets: [{ label: 'items', data: [f.cart.acknowledged, f.cart.stable, f.cart.lost, f.cart.stale, f.cart.resurrected],
          backgroundColor: ['#1f4e9c', '#176b2c', '#b00020', '#e68c00', '#9467bd'] }] },
      options: { plugins: { title: { display: true, text: 'Cart items: lost, stale, resurrected' } }, scales: { y: { beginAtZero: true } } }
    });
  }
  var note = 'PBS reference for N=' + data.config.n + ' R=' + data.config.r + ' W=' + data.config.w + ': quorum intersection without propagation ' +
    (data.pbs.intersection * 100).toFixed(1) + '%.';
  if (data.pbs.t0) note += ' Published P(consistent at t=0), N=3 R=W=1: ' + Object.keys(data.pbs.t0).map(function (k) { return k + ' ' + data.pbs.t0[k]; }).join(', ') + '.';
  if (data.pbs.table4) note += ' Table 4 (ms to 99.9% consistency): ' + Object.keys(data.pbs.table4).map(function (k) { return k + ' ' + data.pbs.table4[k]; }).join(', ') + '.';
  document.getElementById('pbs-note').textContent = note;
})();
`;
