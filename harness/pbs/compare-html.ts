// pbs.html of `quorumlab pbs`: one self-contained page (inline SVG, no script) with a chart per network
// model — the WARS prediction as a line, each measured run's binned curve as points, the paper's published
// P(consistent at t=0) as a mark — and the comparison table.
import { escapeHtml } from '../report/escape.js';
import type { PbsRow } from './compare.js';

export function num(v: number | null, digits: number): string {
  return v === null ? '–' : v.toFixed(digits);
}

/** A bootstrap interval; an upper end of null means beyond the longest lag read. */
function interval(ci: readonly [number | null, number | null], digits: number): string {
  return ci[0] === null && ci[1] === null ? '–' : `[${num(ci[0], digits)}, ${ci[1] === null ? '>max lag' : num(ci[1], digits)}]`;
}

/** The comparison as aligned text: measured / predicted / paper for each figure. */
export function formatPbsTable(rows: readonly PbsRow[]): string {
  const header = ['model', 'R/W', 'variant', 'writes', 'reads', 'RMSE (floor)', 'P(t=0) meas/pred/paper', 't99.9 ms meas/pred/paper', 't99.9 95% CI', 'Lr p99.9 ms meas/pred/paper', 'Lw p99.9 ms meas/pred/paper', 'targets'];
  const triple = (x: { measured: number | null; predicted: number; paper: number | null }, d: number): string =>
    `${num(x.measured, d)} / ${num(x.predicted, d)} / ${num(x.paper, d)}`;
  const body = rows.map((r) => [
    r.net, `${r.r}/${r.w}`, r.variant, String(r.writes), String(r.reads), `${num(r.rmse, 4)} (${num(r.noiseFloor, 4)})`,
    triple(r.t0, 3), triple(r.t999, r.t999.predicted < 10 ? 2 : 1), interval(r.t999Interval, r.t999.predicted < 10 ? 2 : 1), triple(r.readP999Ms, 2), triple(r.writeP999Ms, 2),
    r.error !== undefined ? `run failed: ${r.error}` : r.meets === null ? '' : [
      r.meets.rmse ? 'rmse ok' : 'RMSE MISSED', r.meets.t0 === null ? '' : r.meets.t0 ? 't0 ok' : 'T0 MISSED', r.meets.t999 === null ? '' : r.meets.t999 ? 't99.9 ok' : 'T99.9 MISSED',
    ].filter((s) => s !== '').join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}


const colours: Readonly<Record<PbsRow['variant'], string>> = { paper: '#1f6feb', 'read-repair': '#2da44e', dynamo: '#cf222e' };
const lineColours = ['#1f6feb', '#8250df', '#bf8700', '#0a3069'];

function chart(net: string, rows: readonly PbsRow[]): string {
  const width = 640;
  const height = 320;
  const pad = { l: 48, r: 12, t: 24, b: 36 };
  const maxT = Math.max(1e-9, ...rows.flatMap((r) => r.curve.map((p) => p.hiMs)));
  const minP = Math.min(0.3, ...rows.flatMap((r) => r.curve.map((p) => p.probability)));
  const x = (t: number): number => pad.l + ((width - pad.l - pad.r) * t) / maxT;
  const y = (p: number): number => pad.t + ((height - pad.t - pad.b) * (1 - p)) / (1 - minP);
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const p = minP + ((1 - minP) * k) / 4;
    parts.push(`<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(p)}" y2="${y(p)}" stroke="#eee"/><text x="${pad.l - 4}" y="${y(p) + 4}" text-anchor="end" font-size="10">${p.toFixed(2)}</text>`);
    const t = (maxT * k) / 4;
    parts.push(`<text x="${x(t)}" y="${height - pad.b + 14}" text-anchor="middle" font-size="10">${t.toFixed(t < 10 ? 1 : 0)}</text>`);
  }
  parts.push(`<text x="${(pad.l + width - pad.r) / 2}" y="${height - 4}" text-anchor="middle" font-size="11">t (ms after the write's commit)</text>`);
  rows.filter((r) => r.variant === 'paper').forEach((r, i) => {
    const pts = r.predictedCurve.filter((q) => q.tMs <= maxT).map((q) => `${x(q.tMs).toFixed(1)},${y(q.p).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${lineColours[i % lineColours.length]}" stroke-width="1.5" points="${pts}"><title>WARS prediction R=${r.r} W=${r.w}</title></polyline>`);
  });
  for (const r of rows) {
    for (const p of r.curve) {
      const c = r.variant === 'paper' ? lineColours[rows.filter((q) => q.variant === 'paper').indexOf(r) % lineColours.length] : colours[r.variant];
      parts.push(`<circle cx="${x(p.tMs).toFixed(1)}" cy="${y(p.probability).toFixed(1)}" r="${r.variant === 'paper' ? 2.5 : 2}" fill="${r.variant === 'paper' ? c : 'none'}" stroke="${c}"><title>${escapeHtml(`${r.variant} R=${r.r} W=${r.w}: t≈${p.tMs.toFixed(2)} ms, ${p.visible}/${p.reads} consistent (${p.probability.toFixed(4)}), predicted ${p.predicted?.toFixed(4) ?? '–'}`)}</title></circle>`);
    }
    if (r.variant === 'paper' && r.t0.paper !== null) {
      parts.push(`<rect x="${x(0) - 4}" y="${y(r.t0.paper) - 4}" width="8" height="8" fill="none" stroke="#000"><title>paper: P(consistent at t=0) = ${r.t0.paper}</title></rect>`);
    }
  }
  const legend = rows.map((r) => r.variant === 'paper' ? `R=${r.r} W=${r.w}: line = WARS prediction, dots = measured` : `${r.variant === 'dynamo' ? "Dynamo's coordination" : 'read repair on'} R=${r.r} W=${r.w}: open circles`).join('; ');
  return `<h2>${escapeHtml(net)}</h2><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="t-visibility ${escapeHtml(net)}">${parts.join('')}</svg><p class="legend">${escapeHtml(legend)}; square = the paper's published P(consistent at t=0).</p>`;
}

export function renderPbsHtml(rows: readonly PbsRow[]): string {
  const nets = [...new Set(rows.map((r) => r.net))];
  return `<!doctype html><html><head><meta charset="utf-8"><title>quorumlab pbs: paper vs predicted vs measured</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5em;max-width:72em}pre{font-size:12px;overflow-x:auto}.legend{font-size:12px;color:#555}</style></head><body>
<h1>PBS t-visibility: the paper, quorumlab's WARS prediction, the simulated cluster</h1>
<p>Bailis et al., VLDB 2012. Each model's runs: N=3 on 3 simulated nodes, WARS coordination (the coordinator's own copy delayed like a remote one),
read repair and anti-entropy off, no faults, clients at the coordinator. "read-repair" turns read repair on; "dynamo" lets the coordinator use its own copy at once.</p>
${nets.map((net) => chart(net, rows.filter((r) => r.net === net))).join('\n')}
<h2>Table</h2><pre>${escapeHtml(formatPbsTable(rows))}</pre>
</body></html>
`;
}
