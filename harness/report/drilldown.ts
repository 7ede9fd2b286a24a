// Per-key drill-down: for each key an anomaly names, its ops in order (values and contexts), what every home
// replica held at the end, and the checker's evidence in words. Rendered to HTML on the server side.
import type { HistoryOp } from '../../checkers/history.js';
import type { Anomaly } from './anomalies.js';
import { escapeHtml } from './escape.js';

/** Past this many ops a key shows the ops near its evidence only, so a long run's report stays openable. */
const maxRowsPerKey = 1500;
/** Keys drilled into at most (the anomaly list still names every one). */
const maxKeys = 50;

interface Row {
  invoke: HistoryOp;
  complete: HistoryOp | undefined;
}

function show(v: unknown): string {
  if (v === undefined) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return escapeHtml(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function contextCell(c: unknown): string {
  if (typeof c !== 'string') return '';
  // Contexts are opaque and long; the short form is enough to see two ops share one (equality is the link).
  return `<code title="${escapeHtml(c)}">${escapeHtml(c.length > 14 ? `…${c.slice(-12)}` : c)}</code>`;
}

export function keyId(key: string): string {
  return `key-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function renderDrilldown(history: readonly HistoryOp[], anomalies: readonly Anomaly[]): string {
  const keys = [...new Set(anomalies.map((a) => a.key))];
  if (keys.length === 0) return '<p id="drilldown-none">No checker named a key: nothing to drill into.</p>';
  const wanted = new Set(keys.slice(0, maxKeys));
  const rows = new Map<string, Row[]>();
  const finals = new Map<string, HistoryOp[]>();
  const open = new Map<number, Row>();
  for (const op of history) {
    if (op.key === undefined || !wanted.has(op.key)) continue;
    if (op.process === 'final') {
      (finals.get(op.key) ?? finals.set(op.key, []).get(op.key)!).push(op);
      continue;
    }
    if (typeof op.process !== 'number') continue;
    if (op.type === 'invoke') {
      const row: Row = { invoke: op, complete: undefined };
      open.set(op.process, row);
      (rows.get(op.key) ?? rows.set(op.key, []).get(op.key)!).push(row);
    } else {
      const row = open.get(op.process);
      if (row !== undefined) row.complete = op;
      open.delete(op.process);
    }
  }
  const sections = keys.slice(0, maxKeys).map((key) => {
    const mine = anomalies.filter((a) => a.key === key);
    const proof = new Set(mine.flatMap((a) => a.ops));
    let list = rows.get(key) ?? [];
    let note = '';
    if (list.length > maxRowsPerKey) {
      const near = new Set<number>();
      list.forEach((r, i) => { if (proof.has(r.invoke.index) || (r.complete !== undefined && proof.has(r.complete.index))) for (let j = i - 10; j <= i + 10; j++) near.add(j); });
      note = `<p>${list.length} ops on this key; shown: the ten before and after each op the evidence names.</p>`;
      list = list.filter((_, i) => near.has(i));
    }
    const body = list.map((r) => {
      const c = r.complete;
      const isProof = proof.has(r.invoke.index) || (c !== undefined && proof.has(c.index));
      return `<tr id="op-${r.invoke.index}"${isProof ? ' class="proof"' : ''}><td>#${r.invoke.index}</td><td>${(r.invoke.time / 1e9).toFixed(3)}</td>` +
        `<td>${escapeHtml(String(r.invoke.process))}</td><td>${escapeHtml(r.invoke.node ?? '')}</td><td>${escapeHtml(r.invoke.f)}${r.invoke.final === true ? ' (final)' : ''}</td>` +
        `<td>${show(r.invoke.value)}</td><td>${contextCell(r.invoke.context)}</td>` +
        `<td class="o-${c?.type ?? 'info'}">${c !== undefined ? `<a id="op-${c.index}"></a>` : ''}${c?.type ?? 'never completed'}${c !== undefined ? ` #${c.index}` : ''}</td>` +
        `<td>${c !== undefined ? ((c.time - r.invoke.time) / 1e6).toFixed(1) : ''}</td><td>${show(c?.value ?? c?.error)}</td><td>${contextCell(c?.context)}</td></tr>`;
    }).join('\n');
    const states = (finals.get(key) ?? []).map((op) => `<tr><td>${escapeHtml(op.node ?? '?')}</td><td>${op.type === 'ok' ? show(op.value) : `unreachable (${escapeHtml(op.type)})`}</td></tr>`).join('');
    return `<section class="key" id="${keyId(key)}"><h3>${escapeHtml(key)}</h3>
<ul class="evidence">${mine.map((a) => `<li><b>${escapeHtml(a.label)}</b>: ${escapeHtml(a.words)}${a.ops.length > 0 ? ` (ops ${a.ops.map((i) => `<a href="#op-${i}">#${i}</a>`).join(' ')})` : ''}</li>`).join('')}</ul>
<h4>Final replica states</h4>${states === '' ? '<p>Not recorded for this key.</p>' : `<table class="finals"><tr><th>replica</th><th>holds</th></tr>${states}</table>`}
<h4>Ops in order</h4>${note}<div class="ops"><table><tr><th>invoke</th><th>at (s)</th><th>process</th><th>node</th><th>f</th><th>argument</th><th>context sent</th><th>outcome</th><th>ms</th><th>result</th><th>context got</th></tr>
${body}</table></div></section>`;
  });
  const more = keys.length > maxKeys ? `<p>${keys.length - maxKeys} more keys are named; the first ${maxKeys} are shown.</p>` : '';
  return sections.join('\n') + more;
}
