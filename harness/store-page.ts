// The store browser's one page: every run and campaign with verdict, configuration and date, a filter
// form (query parameters, so a filtered view is a link) and a live text filter in the page itself.
import { escapeHtml } from './report/index.js';
import { searchText, verdictName, verdictNames, type StoreEntry, type StoreFilter } from './store-index.js';

/** The URL prefix under which the store's files are served. */
export const filesPrefix = '/store/';

/** A store path as a URL path: each segment encoded, the / kept. */
export function fileUrl(path: string): string {
  return filesPrefix + path.split('/').map(encodeURIComponent).join('/');
}

function options(values: readonly string[], selected: string | undefined, any: string): string {
  return [`<option value="">${any}</option>`, ...values.map((v) =>
    `<option value="${escapeHtml(v)}"${v === selected ? ' selected' : ''}>${escapeHtml(v)}</option>`)].join('');
}

function row(e: StoreEntry): string {
  const verdict = verdictName(e.valid);
  const name = e.report !== null ? `<a href="${escapeHtml(fileUrl(e.report))}">${escapeHtml(e.name)}</a>` : escapeHtml(e.name);
  const inCampaign = e.campaign !== null ? ` <span class="muted">in ${escapeHtml(e.campaign.split('/')[0] ?? '')}</span>` : '';
  const cells = [e.date.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.kind === 'campaign' ? `campaign (${e.runs ?? 0} runs)` : 'run'];
  return `<tr data-search="${escapeHtml(searchText(e))}" data-kind="${e.kind}" data-verdict="${verdict}">` +
    cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('') +
    `<td>${name}${inCampaign}${e.error !== null ? `<div class="err">${escapeHtml(e.error)}</div>` : ''}</td>` +
    [e.workload, e.nrw, e.mode, e.conflicts, e.nemesis, e.runtime, e.seed === null ? '' : String(e.seed)]
      .map((c) => `<td>${escapeHtml(c)}</td>`).join('') +
    `<td class="v-${verdict}">${verdict === 'none' ? 'no results' : verdict}</td>` +
    `<td><a href="${escapeHtml(fileUrl(e.path))}/">files</a></td></tr>`;
}

export function renderStorePage(store: string, all: readonly StoreEntry[], shown: readonly StoreEntry[], filter: StoreFilter): string {
  const workloads = [...new Set(all.filter((e) => e.kind === 'run').map((e) => e.workload))].sort();
  const counts = verdictNames.map((v) => `${shown.filter((e) => verdictName(e.valid) === v).length} ${v === 'none' ? 'without results' : v}`).join(', ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>quorumlab store</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
.v-true{color:#176b2c}.v-false{color:#b00020;font-weight:bold}.v-unknown{color:#a15c00}.v-none{color:#777}.muted{color:#777;font-size:12px}
.err{color:#b00020;font-size:12px}form{margin:1em 0}form>*{margin-right:.6em}</style>
</head><body><h1>quorumlab store</h1><p class="muted">${escapeHtml(store)}</p>
<form method="get" action="/">
<label>kind <select name="kind">${options(['run', 'campaign'], filter.kind, 'any')}</select></label>
<label>verdict <select name="verdict">${options(verdictNames, filter.verdict, 'any')}</select></label>
<label>workload <select name="workload">${options(workloads, filter.workload, 'any')}</select></label>
<label>text <input id="q" name="q" value="${escapeHtml(filter.text ?? '')}" placeholder="name, 3/2/2, partition, seed…"></label>
<button type="submit">filter</button> <a href="/">clear</a></form>
<p id="count">${shown.length} of ${all.length} shown: ${escapeHtml(counts)}</p>
<table id="entries"><thead><tr><th>date</th><th>kind</th><th>name</th><th>workload</th><th>N/R/W</th><th>mode</th><th>conflicts</th>
<th>nemesis</th><th>runtime</th><th>seed</th><th>verdict</th><th></th></tr></thead>
<tbody>${shown.map(row).join('\n')}</tbody></table>
<script>
(function () {
  // Typing narrows the rows already shown, without a round trip; submitting makes the filter a link.
  var q = document.getElementById('q'), rows = document.querySelectorAll('#entries tbody tr');
  q.addEventListener('input', function () {
    var words = q.value.toLowerCase().split(/\\s+/).filter(Boolean), n = 0;
    rows.forEach(function (tr) {
      var s = tr.getAttribute('data-search'), ok = words.every(function (w) { return s.indexOf(w) >= 0; });
      tr.hidden = !ok; if (ok) n++;
    });
    document.getElementById('count').textContent = n + ' of ${all.length} shown';
  });
})();
</script></body></html>
`;
}
