// campaign.html: one self-contained page per campaign. Charts per configuration, a heat map of
// configuration (workload, N/R/W, mode, conflicts) × fault for a chosen measure, each cell a link to the
// run behind it, and the comparison table, sortable by any column. Links are relative to the campaign
// folder, so the page works opened from disk and served by `quorumlab serve` alike.
import type { CampaignRow } from './campaign.js';
import { relative, sep } from 'node:path';
import { chartJsSource, escapeHtml } from './report/index.js';
import { scriptJson } from './report/html.js';

function cell(v: number | null, digits: number, scale = 1, suffix = ''): string {
  return v === null ? '–' : `${(v * scale).toFixed(digits)}${suffix}`;
}

/** Session violation rates as "ryw/mr/mw/wfr" percentages, e.g. "0/1.2/0/0". */
export function sessionCell(s: CampaignRow['session']): string {
  if (s === null) return '–';
  const pc = (v: number | null): string => (v === null ? '–' : String(Math.round(v * 1000) / 10));
  return `${pc(s.ryw)}/${pc(s.mr)}/${pc(s.mw)}/${pc(s.wfr)}`;
}

/** The highest of a run's session violation rates: what its session column sorts by. */
function sessionWorst(s: CampaignRow['session']): number | null {
  const rates = s === null ? [] : [s.ryw, s.mr, s.mw, s.wfr].filter((v): v is number => v !== null);
  return rates.length === 0 ? null : Math.max(...rates);
}

/** The run's report as a link from the campaign folder (absolute when no folder is given). */
function reportHref(dir: string | undefined, runDir: string | null): string | null {
  if (runDir === null) return null;
  const rel = dir === undefined ? runDir : relative(dir, runDir).split(sep).join('/');
  return `${rel.split('/').map((s, i) => (i === 0 && s === '' ? '' : encodeURIComponent(s))).join('/')}/report.html`;
}

/** A row as the page's script sees it: the measures plus where its report is and which heat-map cell it falls in. */
interface PageRow {
  label: string; config: string; nemesis: string; seed: number; valid: string;
  availability: number | null; staleReadRate: number | null; p99Ms: number | null; convergenceMs: number | null; href: string | null;
}

const columns: readonly { key: string; title: string; type: 'text' | 'number' }[] = [
  { key: 'label', title: 'configuration', type: 'text' }, { key: 'valid', title: 'valid', type: 'text' },
  { key: 'availability', title: 'availability', type: 'number' }, { key: 'p99', title: 'p99 ms', type: 'number' },
  { key: 'stale', title: 'stale reads', type: 'number' }, { key: 'lost', title: 'lost adds', type: 'number' },
  { key: 'convergence', title: 'convergence ms', type: 'number' },
  { key: 'session', title: 'session violations % (read your writes / monotonic reads / monotonic writes / writes follow reads; sorts by the highest)', type: 'number' },
];

function tableRow(r: CampaignRow, href: string | null): string {
  const v = String(r.valid);
  const num = (x: number | null, text: string): string => `<td data-v="${x === null ? '' : x}">${text}</td>`;
  return `<tr><td data-v="${escapeHtml(r.label)}">${escapeHtml(r.label)}</td><td data-v="${v}" class="v-${v}">${v}</td>` +
    num(r.availability, cell(r.availability, 1, 100, '%')) + num(r.p99Ms, cell(r.p99Ms, 1)) +
    num(r.staleReadRate, cell(r.staleReadRate, 2, 100, '%')) + num(r.lostAdds, r.lostAdds === null ? '–' : String(r.lostAdds)) +
    num(r.convergenceMs, cell(r.convergenceMs, 0)) + num(sessionWorst(r.session), sessionCell(r.session)) +
    `<td>${href !== null ? `<a href="${escapeHtml(href)}">report</a>` : ''}</td><td><code>${escapeHtml(r.replay)}</code></td></tr>`;
}

/** `dir`: the campaign folder, so run links are relative to it. */
export async function renderCampaignHtml(name: string, rows: readonly CampaignRow[], dir?: string): Promise<string> {
  const hrefs = rows.map((r) => reportHref(dir, r.runDir));
  const pageRows: PageRow[] = rows.map((r, i) => ({
    label: r.label, config: `${r.workload} N${r.n}R${r.r}W${r.w} ${r.sloppy ? 'sloppy' : 'strict'} ${r.conflicts}`, nemesis: r.nemesis,
    seed: r.seed, valid: String(r.valid), availability: r.availability, staleReadRate: r.staleReadRate,
    p99Ms: r.p99Ms, convergenceMs: r.convergenceMs, href: hrefs[i] ?? null,
  }));
  const head = columns.map((c) => `<th data-key="${c.key}" data-type="${c.type}" aria-sort="none" tabindex="0">${c.title}</th>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>quorumlab campaign ${escapeHtml(name)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px}
.v-true{color:#176b2c}.v-false{color:#b00020;font-weight:bold}.v-unknown{color:#a15c00}.box{height:360px;position:relative;margin:1em 0}code{font-size:11px}
#comparison th{cursor:pointer;user-select:none;background:#f4f4f4}#comparison th[aria-sort=ascending]::after{content:" ▲"}#comparison th[aria-sort=descending]::after{content:" ▼"}
#heatmap td.cell{padding:0;text-align:center;min-width:6em}#heatmap td.cell a{display:block;padding:6px;color:#111;text-decoration:none}
#heatmap td.cell a:hover{outline:2px solid #1f4e9c}.muted{color:#777;font-size:12px}</style>
</head><body><h1>Campaign ${escapeHtml(name)}</h1>
<div class="box"><canvas id="availability"></canvas></div>
<div class="box"><canvas id="latency"></canvas></div>
<h2>Heat map</h2>
<label>measure <select id="metric" autocomplete="off"><option value="valid">validity</option><option value="staleReadRate">stale-read rate</option>
<option value="availability">availability</option></select></label>
<p class="muted">Rows: workload, N/R/W, mode, conflicts; columns: faults. With several seeds a cell shows the worst of them
(validity merged, the highest stale-read rate, the lowest availability) and links to that run's report.</p>
<table id="heatmap"></table>
<h2>Comparison</h2>
<p class="muted">Click a column header to sort; click again to reverse. A run that is not valid wrote its report as it
finished (every run did with <code>campaign --reports all</code>); a valid run's report is rendered when first opened
through <code>quorumlab serve</code>, or written with <code>quorumlab report &lt;this campaign's folder&gt;</code>.</p>
<table id="comparison"><thead><tr>${head}<th></th><th>replay</th></tr></thead>
<tbody>${rows.map((r, i) => tableRow(r, hrefs[i] ?? null)).join('\n')}</tbody></table>
<script>${await chartJsSource()}</script>
<script id="data" type="application/json">${scriptJson(pageRows)}</script>
<script>${pageScript}</script></body></html>
`;
}

/** The page's own script: charts, heat map, sorting. Plain ES5 so it needs nothing but the browser. */
const pageScript = String.raw`
(function () {
  var rows = JSON.parse(document.getElementById('data').textContent);
  Chart.defaults.animation = false; Chart.defaults.maintainAspectRatio = false;
  var labels = rows.map(function (r) { return r.label; });
  new Chart(document.getElementById('availability'), { type: 'bar', data: { labels: labels, datasets: [
    { label: 'availability (share of ops ok)', data: rows.map(function (r) { return r.availability; }), backgroundColor: '#176b2c' },
    { label: 'stale-read rate', data: rows.map(function (r) { return r.staleReadRate; }), backgroundColor: '#e68c00' } ] },
    options: { scales: { y: { min: 0, max: 1 } }, plugins: { title: { display: true, text: 'Availability and stale reads per configuration' } } } });
  new Chart(document.getElementById('latency'), { type: 'bar', data: { labels: labels, datasets: [
    { label: 'p99 latency (ms)', data: rows.map(function (r) { return r.p99Ms; }), backgroundColor: '#1f4e9c' },
    { label: 'convergence after heal (ms)', data: rows.map(function (r) { return r.convergenceMs; }), backgroundColor: '#9467bd' } ] },
    options: { plugins: { title: { display: true, text: 'Latency and convergence per configuration' } } } });

  // Heat map: the worst run of each (configuration, fault) cell for the chosen measure.
  var rank = { 'false': 0, 'unknown': 1, 'true': 2 };
  var measures = {
    valid: { worse: function (a, b) { return rank[a.valid] < rank[b.valid]; }, text: function (r) { return r.valid; },
      colour: function (r) { return r.valid === 'true' ? '#b7e4c0' : r.valid === 'false' ? '#f4a3ad' : '#ffd9a0'; } },
    staleReadRate: { worse: function (a, b) { return (a.staleReadRate || 0) > (b.staleReadRate || 0); }, text: pct('staleReadRate', 2),
      colour: scale(function (r) { return r.staleReadRate; }, false) },
    availability: { worse: function (a, b) { return (a.availability === null ? 2 : a.availability) < (b.availability === null ? 2 : b.availability); },
      text: pct('availability', 1), colour: scale(function (r) { return r.availability === null ? null : 1 - r.availability; }, true) }
  };
  function pct(key, digits) { return function (r) { return r[key] === null ? '–' : (r[key] * 100).toFixed(digits) + '%'; }; }
  // Stale reads are usually a few percent: shade against the largest in the campaign so differences show.
  function scale(get, absolute) {
    return function (r, all) {
      var v = get(r); if (v === null) return '#eee';
      var top = absolute ? 1 : Math.max.apply(null, all.map(function (x) { return get(x) || 0; }).concat([1e-9]));
      var k = Math.min(1, v / top); return 'rgb(255,' + Math.round(255 - 150 * k) + ',' + Math.round(255 - 170 * k) + ')';
    };
  }
  var configs = [], faults = [];
  rows.forEach(function (r) {
    if (configs.indexOf(r.config) < 0) configs.push(r.config);
    if (faults.indexOf(r.nemesis) < 0) faults.push(r.nemesis);
  });
  function drawHeatmap() {
    var m = measures[document.getElementById('metric').value];
    var table = document.getElementById('heatmap');
    var html = '<tr><th>configuration \\ fault</th>' + faults.map(function (f) { return '<th>' + esc(f) + '</th>'; }).join('') + '</tr>';
    configs.forEach(function (c) {
      html += '<tr><th>' + esc(c) + '</th>';
      faults.forEach(function (f) {
        var runs = rows.filter(function (r) { return r.config === c && r.nemesis === f; });
        if (runs.length === 0) { html += '<td class="cell"></td>'; return; }
        var worst = runs.reduce(function (a, b) { return m.worse(b, a) ? b : a; });
        var title = runs.map(function (r) { return r.label + ': ' + m.text(r); }).join('\n');
        var inner = esc(m.text(worst)) + (runs.length > 1 ? ' <span class="muted">(' + runs.length + ' seeds)</span>' : '');
        html += '<td class="cell" style="background:' + m.colour(worst, rows) + '" data-config="' + esc(c) + '" data-fault="' + esc(f) + '">' +
          (worst.href !== null ? '<a href="' + esc(worst.href) + '" title="' + esc(title) + '">' + inner + '</a>' : inner) + '</td>';
      });
      html += '</tr>';
    });
    table.innerHTML = html;
  }
  function esc(s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }
  document.getElementById('metric').addEventListener('change', drawHeatmap);
  // Back from a run's report, the browser may restore the chosen measure after this script ran.
  window.addEventListener('pageshow', drawHeatmap);
  drawHeatmap();

  // Sorting: numbers as numbers, a missing value last either way; equal keys keep their order.
  var heads = document.querySelectorAll('#comparison thead th[data-key]');
  Array.prototype.forEach.call(heads, function (th, col) {
    function sort() {
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1, numeric = th.getAttribute('data-type') === 'number';
      var body = document.querySelector('#comparison tbody');
      var trs = Array.prototype.slice.call(body.children).map(function (tr, i) { return { tr: tr, i: i, v: tr.children[col].getAttribute('data-v') }; });
      trs.sort(function (a, b) {
        if (a.v === '' || b.v === '') return a.v === b.v ? a.i - b.i : a.v === '' ? 1 : -1;
        var x = numeric ? Number(a.v) - Number(b.v) : a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
        return x !== 0 ? dir * x : a.i - b.i;
      });
      trs.forEach(function (o) { body.appendChild(o.tr); });
      Array.prototype.forEach.call(heads, function (h) { h.setAttribute('aria-sort', 'none'); });
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
  });
})();
`;
