// Renders report.html: one self-contained file (chart.js's UMD build and the data inlined) that opens
// from disk with no network. Charts: latency over time with fault windows shaded, throughput, availability
// inside vs outside faults, t-visibility beside PBS's published figures, sibling counts, cart anomalies.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { pbsConsistentAtT0N3R1W1, pbsQuorumIntersection, pbsTable4N3, reportFigures, type ReportFigures, type ReportInput } from './data.js';
import { replayCommand } from './replay.js';
import { chartsScript } from './charts-script.js';
import { escapeHtml, scriptJson } from './escape.js';
import { collectAnomalies } from './anomalies.js';
import { renderDrilldown, keyId } from './drilldown.js';
import { timelineData } from './timeline-data.js';
import { timelineScript } from './timeline-script.js';
import { unappliedFaultLines } from './faults.js';

let chartJsCache: string | undefined;

/** chart.js's UMD bundle (a global `Chart`), read once from node_modules. */
export async function chartJsSource(): Promise<string> {
  if (chartJsCache === undefined) {
    const path = fileURLToPath(new URL('../../node_modules/chart.js/dist/chart.umd.min.js', import.meta.url));
    chartJsCache = await readFile(path, 'utf8');
  }
  return chartJsCache;
}

export { scriptJson, escapeHtml } from './escape.js';

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
  const anomalies = collectAnomalies(input.checkers);
  const timeline = timelineData(input.history);
  const data = { figures: { ...figures, latency }, pbs, config: input.config, timeline, anomalies };
  const anomalyList = anomalies.length === 0 ? '<p>No checker reported an anomaly with a key.</p>'
    : `<ol id="tl-anomalies">${anomalies.map((a, i) => `<li data-anomaly="${i}"><b>${escapeHtml(a.label)}</b> on <a href="#${keyId(a.key)}">${escapeHtml(a.key)}</a>: ${escapeHtml(a.words)}</li>`).join('')}</ol>`;
  const verdict = input.valid === true ? 'valid' : input.valid === false ? 'INVALID' : 'unknown';
  const checkerRows = Object.entries(input.checkers).map(([name, result]) => {
    const v = (result as { valid?: unknown } | null)?.valid;
    const summary = JSON.stringify(result, (_k, val: unknown) => (Array.isArray(val) && val.length > 5 ? [...val.slice(0, 5), `… ${val.length - 5} more`] : val), 1);
    return `<tr><td>${escapeHtml(name)}</td><td class="v-${escapeHtml(String(v))}">${escapeHtml(String(v))}</td>` +
      `<td><details><summary>evidence</summary><pre>${escapeHtml(summary ?? '')}</pre></details></td></tr>`;
  }).join('\n');
  const stats = (input.stats ?? {}) as Record<string, unknown>;
  const convergence = stats['convergenceMs'];
  const unapplied = unappliedFaultLines(input.history, input.stats);
  const facts: [string, string][] = [
    ['verdict', verdict],
    ['operations', `${String(stats['ok'] ?? '?')} ok / ${String(stats['ops'] ?? '?')} (fail ${String(stats['fail'] ?? '?')}, info ${String(stats['info'] ?? '?')})`],
    ['faults injected', String(stats['faults'] ?? '?')],
    ['latency of ok ops', `p50 ${fmt(figures.latencyMs.p50)} ms, p99 ${fmt(figures.latencyMs.p99)} ms, max ${fmt(figures.latencyMs.max)} ms`],
    ['availability', `inside faults ${pct(figures.availability.inside.rate)} (${figures.availability.inside.total} ops), outside ${pct(figures.availability.outside.rate)} (${figures.availability.outside.total} ops)`],
    ['convergence after heal', typeof convergence === 'number' ? `${convergence.toFixed(0)} ms` : 'not within the quiesce period (or not measured)'],
    ['replicas disagreeing at the end', figures.divergentKeys.length === 0 ? 'none' : figures.divergentKeys.join(', ')],
    ...(figures.staleReadRate !== null ? [['stale-read rate', pct(figures.staleReadRate)] as [string, string]] : []),
    ...(unapplied.length > 0 ? [['faults not applied', `${unapplied.length} (see Faults)`] as [string, string]] : []),
    ...(input.error !== undefined ? [['error', input.error] as [string, string]] : []),
  ];
  const workload = String(config['workload'] ?? 'this');
  const visibilityApplies = figures.visibility.length > 0;
  const siblingsApply = Object.keys(figures.siblings).length > 0;
  // A chart with nothing to show would look like a result (an empty plot); one line says why it is absent.
  const notDrawn = [
    ...(visibilityApplies ? [] : [`t-visibility not drawn: only the pbs workload measures it (this run: ${workload} workload).`]),
    ...(siblingsApply ? [] : [`Siblings per read not drawn: no read in this run recorded versions (register reads do; this run: ${workload} workload).`]),
  ];
  const faultLegend = figures.windows.length === 0 ? '<p id="fault-legend">No fault was in force during this run.</p>'
    : `<table id="fault-legend"><tr><th>window</th><th>from – to (s)</th><th>faults</th></tr>${figures.windows.map((w, i) =>
      `<tr><td>F${i + 1}</td><td>${w.startS.toFixed(2)} – ${w.endS.toFixed(2)}</td><td>${escapeHtml((w.labels.length > 0 ? w.labels : w.faults).join('; '))}</td></tr>`).join('')}</table>`;
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
.tl-box{border:1px solid #ddd;overflow:hidden}#timeline{display:block;cursor:crosshair}
#tl-anomalies li{cursor:pointer}#tl-anomalies li:hover{background:#f3e5f5}
.o-ok{color:#176b2c}.o-fail{color:#b00020}.o-info{color:#a15c00}tr.proof{background:#f3e5f5}.ops{max-height:420px;overflow:auto}
.not-drawn{color:#666;font-style:italic;margin:.3em 0}
#fault-tip,#tl-tip{white-space:pre-wrap;position:fixed;pointer-events:none;background:#fff;border:1px solid #b00020;padding:3px 6px;font-size:12px;z-index:10;max-width:420px}
</style></head><body>
<h1>${escapeHtml(title)}: <span class="v-${escapeHtml(String(input.valid))}">${verdict}</span></h1>
<table>${facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<h2>Replay</h2><p><code>${escapeHtml(replayCommand(config))}</code></p>${typeof config['command'] === 'string' ? `<p>As typed: <code>${escapeHtml(config['command'])}</code></p>` : ''}
<h2>Charts</h2>
<div class="grid">
<div class="box wide"><canvas id="latency"></canvas></div>
<div class="box"><canvas id="throughput"></canvas></div>
<div class="box"><canvas id="availability"></canvas></div>
${visibilityApplies ? '<div class="box"><canvas id="visibility"></canvas></div>' : ''}
${siblingsApply ? '<div class="box"><canvas id="siblings"></canvas></div>' : ''}
${figures.cart !== null ? '<div class="box"><canvas id="cart"></canvas></div>' : ''}
</div>
${notDrawn.map((line) => `<p class="not-drawn">${escapeHtml(line)}</p>`).join('\n')}
<p id="pbs-note"></p>
<h2>Timeline</h2>
<p>A lane per client slot, each op a bar from invoke to completion: <span class="o-ok">ok</span>, <span class="o-fail">fail</span>, <span class="o-info">info</span>; faults shaded (F1… as below); ops a checker names outlined in purple. Wheel to zoom, drag to pan, double-click to reset, click an op for details, click an anomaly to zoom to its ops.</p>
<div class="tl-box"><canvas id="timeline"></canvas></div>
<p id="tl-detail"></p>
<div id="tl-tip" hidden></div>
<h3>Anomalies</h3>
${anomalyList}
<h2>Faults</h2>
${faultLegend}
${unapplied.length > 0 ? `<ul id="faults-unapplied">${unapplied.map((l) => `<li class="v-false">${escapeHtml(l)}</li>`).join('')}</ul>` : ''}
<div id="fault-tip" hidden></div>
${sessionSection(figures.session)}
<h2>Per-key drill-down</h2>
${renderDrilldown(input.history, anomalies)}
<h2>Checkers</h2><table><tr><th>checker</th><th>valid</th><th>evidence</th></tr>${checkerRows}</table>
<h2>Configuration</h2><pre>${escapeHtml(JSON.stringify(input.config, null, 2))}</pre>
<script>${await chartJsSource()}</script>
<script id="data" type="application/json">${scriptJson(data)}</script>
<script>${chartsScript}</script>
<script>${timelineScript}</script>
</body></html>
`;
}

/** The session guarantees table: per guarantee, reads checked, violations, rate, and whether the configuration promised it. */
export function sessionSection(session: ReportFigures['session']): string {
  if (session === null) return '';
  const rows = session.rows.map((r) => `<tr><td>${escapeHtml(r.label)}</td><td>${r.checked}</td><td>${r.violations}</td>` +
    `<td>${pct(r.rate)}</td><td class="v-${session.promised ? String(r.enforcedViolations === 0) : 'unknown'}">${session.promised ? r.enforcedViolations : 'not promised'}</td></tr>`).join('');
  const says = session.promised
    ? 'This configuration (strict quorum, R + W &gt; N, version vectors) promises each guarantee for writes acknowledged before the read began; a violation there makes the run invalid.'
    : 'This configuration promises none of these guarantees (sloppy or partial quorum, or last-write-wins): the rates are measurements.';
  return `<h2>Session guarantees</h2><p>Per client process and key (Terry et al. 1994). ${says}</p>
<table><tr><th>guarantee</th><th>reads checked</th><th>violations</th><th>rate</th><th>breaking the promise</th></tr>${rows}</table>`;
}

function fmt(v: number | null): string {
  return v === null ? '–' : v.toFixed(1);
}

function pct(v: number | null): string {
  return v === null ? '–' : `${(v * 100).toFixed(2)}%`;
}

