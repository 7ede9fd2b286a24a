// What a results store holds, read back from disk: every run (a folder with config.json) and every
// campaign (a folder with campaign.json, whose runs sit under its runs/), with verdict, configuration
// and date. `quorumlab ls` prints it and `quorumlab serve` lists it; both filter it the same way.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { mergeValidity, type Validity } from '../checkers/history.js';

export interface StoreEntry {
  readonly kind: 'run' | 'campaign';
  /** The folder, relative to the store, with / separators (what the server's URLs use). */
  readonly path: string;
  readonly name: string;
  /** ISO date of the start (from the folder name, else the folder's mtime). */
  readonly date: string;
  /** null: no results yet (a run still going, or one killed before it wrote them). */
  readonly valid: Validity | null;
  readonly workload: string;
  /** "3/2/2" for a run; the list of triples for a campaign. */
  readonly nrw: string;
  /** sloppy or strict (a campaign lists the modes it swept). */
  readonly mode: string;
  readonly conflicts: string;
  readonly nemesis: string;
  readonly runtime: string;
  readonly seed: number | null;
  /**
   * The report to open, relative to the store, or null when there is none: a finished run's (results.json)
   * report.html may not be written yet, and `quorumlab serve` renders it when asked (store-serve.ts).
   */
  readonly report: string | null;
  /** A run inside a campaign: the campaign's path. */
  readonly campaign: string | null;
  /** A campaign: how many runs its table holds. */
  readonly runs: number | null;
  readonly error: string | null;
}

/** How deep the scan goes: <store>/<campaign>/<ts>/runs/<name>/<ts> is the deepest layout store.ts makes. */
const maxDepth = 6;

/** Reads the whole store; newest first. A missing store is an error the caller reports (one line). */
export async function scanStore(root: string): Promise<StoreEntry[]> {
  const st = await stat(root);
  if (!st.isDirectory()) throw new Error(`${root} is not a folder`);
  const entries: StoreEntry[] = [];
  await walk(root, root, 0, null, entries);
  return entries.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : a.path < b.path ? -1 : 1));
}

async function walk(root: string, dir: string, depth: number, campaign: string | null, out: StoreEntry[]): Promise<void> {
  let names: import('node:fs').Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const files = new Set(names.filter((d) => d.isFile()).map((d) => d.name));
  const rel = relative(root, dir).split(sep).join('/');
  if (files.has('campaign.json')) {
    const entry = await campaignEntry(dir, rel, files);
    if (entry !== null) out.push(entry);
    await walk(root, join(dir, 'runs'), depth + 1, rel, out);
    return;
  }
  if (files.has('config.json')) {
    const entry = await runEntry(dir, rel, files, campaign);
    if (entry !== null) out.push(entry);
    return; // A run's own subfolders (nodes/, logs/) hold no runs.
  }
  if (depth >= maxDepth) return;
  // Symbolic links (store/latest) are skipped: each run is listed once, under its real folder.
  for (const d of names) if (d.isDirectory()) await walk(root, join(dir, d.name), depth + 1, campaign, out);
}

async function readJsonOrNull(path: string): Promise<Record<string, unknown> | null> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function validityOf(v: unknown): Validity | null {
  return v === true || v === false || v === 'unknown' ? v : null;
}

/** The start date from a folder named by timestampName (20261122T073012.345Z, maybe with a -1 suffix). */
export function dateFromFolder(name: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?Z/.exec(name);
  if (m === null) return null;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

async function dateOf(dir: string, rel: string): Promise<string> {
  const fromName = dateFromFolder(rel.split('/').pop() ?? '');
  if (fromName !== null) return fromName;
  return (await stat(dir)).mtime.toISOString();
}

function str(v: unknown, fallback = '?'): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback;
}

async function runEntry(dir: string, rel: string, files: Set<string>, campaign: string | null): Promise<StoreEntry | null> {
  const config = await readJsonOrNull(join(dir, 'config.json'));
  if (config === null) return null;
  const results = files.has('results.json') ? await readJsonOrNull(join(dir, 'results.json')) : null;
  const nemesis = Array.isArray(config['nemesis']) ? (config['nemesis'] as unknown[]).map(String).join(',') : '';
  return {
    kind: 'run',
    path: rel,
    name: str(config['name'], rel.split('/')[0] ?? rel),
    date: await dateOf(dir, rel),
    valid: results === null ? null : validityOf(results['valid']),
    workload: str(config['workload']),
    nrw: `${str(config['n'])}/${str(config['r'])}/${str(config['w'])}`,
    mode: config['sloppy'] === false ? 'strict' : 'sloppy',
    conflicts: str(config['conflicts']),
    nemesis: nemesis.length > 0 ? nemesis : 'none',
    runtime: str(config['runtime']),
    seed: typeof config['seed'] === 'number' ? config['seed'] : null,
    // A finished run without one (a campaign's valid runs) has its report rendered when it is first asked for (store-serve.ts).
    report: files.has('report.html') || results !== null ? `${rel}/report.html` : null,
    campaign,
    runs: null,
    error: results !== null && typeof results['error'] === 'string' ? results['error'] : null,
  };
}

function joinList(v: unknown, each: (x: unknown) => string): string {
  return Array.isArray(v) ? [...new Set(v.map(each))].join(',') : '?';
}

async function campaignEntry(dir: string, rel: string, files: Set<string>): Promise<StoreEntry | null> {
  const json = await readJsonOrNull(join(dir, 'campaign.json'));
  if (json === null) return null;
  const o = (typeof json['options'] === 'object' && json['options'] !== null ? json['options'] : {}) as Record<string, unknown>;
  const rows = Array.isArray(json['rows']) ? (json['rows'] as Record<string, unknown>[]) : [];
  const valids = rows.map((r) => validityOf(r['valid']) ?? 'unknown');
  const triple = (x: unknown): string => {
    const t = (x ?? {}) as Record<string, unknown>;
    return `${str(t['n'])}/${str(t['r'])}/${str(t['w'])}`;
  };
  return {
    kind: 'campaign',
    path: rel,
    name: str(o['name'], rel.split('/')[0] ?? rel),
    date: await dateOf(dir, rel),
    // A campaign whose table is still empty has no verdict yet.
    valid: rows.length === 0 ? null : mergeValidity(valids),
    workload: joinList(o['workloads'], String),
    nrw: joinList(o['nrw'], triple),
    mode: joinList(o['sloppy'], (s) => (s === false ? 'strict' : 'sloppy')),
    conflicts: joinList(o['conflicts'], String),
    nemesis: joinList(o['nemeses'], (n) => (Array.isArray(n) && n.length > 0 ? n.join('+') : 'none')),
    runtime: str(o['runtime']),
    seed: null,
    report: files.has('campaign.html') ? `${rel}/campaign.html` : null,
    campaign: null,
    runs: rows.length,
    error: null,
  };
}

export interface StoreFilter {
  readonly kind?: 'run' | 'campaign';
  /** true, false, unknown, or none (no results yet). */
  readonly verdict?: string;
  readonly workload?: string;
  /** Words (case-insensitive), each found somewhere in the path, name, configuration or nemesis. */
  readonly text?: string;
}

export const verdictNames = ['true', 'false', 'unknown', 'none'] as const;

export function verdictName(v: Validity | null): string {
  return v === null ? 'none' : String(v);
}

export function filterEntries(entries: readonly StoreEntry[], f: StoreFilter): StoreEntry[] {
  const words = (f.text ?? '').toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  return entries.filter((e) =>
    (f.kind === undefined || e.kind === f.kind) &&
    (f.verdict === undefined || verdictName(e.valid) === f.verdict) &&
    (f.workload === undefined || e.workload.split(',').includes(f.workload)) &&
    words.every((w) => searchText(e).includes(w)));
}

/** What the free-text filter looks in (the browser page filters on the same string). */
export function searchText(e: StoreEntry): string {
  return [e.path, e.name, e.workload, `n${e.nrw}`, e.mode, e.conflicts, e.nemesis, e.runtime, e.seed ?? ''].join(' ').toLowerCase();
}

/** One line per entry for the terminal: date, name, workload, N/R/W, mode, nemesis, verdict. */
export function formatEntries(entries: readonly StoreEntry[]): string {
  if (entries.length === 0) return '';
  const header = ['date', 'name', 'workload', 'N/R/W', 'mode', 'nemesis', 'verdict', 'path'];
  const body = entries.map((e) => [e.date.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    e.kind === 'campaign' ? `[campaign] ${e.name} (${e.runs ?? 0} runs)` : e.name,
    e.workload, e.nrw, e.mode, e.nemesis, verdictName(e.valid), e.path]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}
