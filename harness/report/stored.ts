// A run's report rendered from what its results folder holds (history.jsonl, results.json), for a run that
// did not write one: a campaign writes report.html only for its runs that are not valid (rendering every
// run's cost a few per cent of a simulated run), and the rest are rendered when someone asks — by
// `quorumlab report <folder>` or by `quorumlab serve` when the page is opened. results.json holds what the
// run handed its own report (verdict, checkers, configuration, figures, error), so the bytes are the same.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryOp, Validity } from '../../checkers/history.js';
import { parseHistory } from '../history-io.js';
import type { ReportInput } from './data.js';
import { renderReport } from './html.js';

/**
 * A history.jsonl as the run wrote it, read and validated as `quorumlab check` reads one (history-io.ts);
 * a missing file is an empty history (a run that failed before its first op).
 */
export async function readStoredHistory(runDir: string): Promise<HistoryOp[]> {
  const path = join(runDir, 'history.jsonl');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return parseHistory(text, path);
}

/** What the run's report is made of, read back from its folder; throws (one line) when results.json is missing or unreadable. */
export async function storedReportInput(runDir: string): Promise<ReportInput> {
  let results: Record<string, unknown>;
  try {
    results = JSON.parse(await readFile(join(runDir, 'results.json'), 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${runDir} holds no readable results.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): not a finished run's folder`);
  }
  const config = results['config'];
  if (config === null || typeof config !== 'object') throw new Error(`${join(runDir, 'results.json')} has no config`);
  return {
    history: await readStoredHistory(runDir),
    config: config as ReportInput['config'],
    valid: results['valid'] as Validity,
    checkers: (results['checkers'] ?? {}) as Record<string, unknown>,
    ...(results['stats'] !== undefined ? { stats: results['stats'] as object } : {}),
    ...(typeof results['error'] === 'string' ? { error: results['error'] } : {}),
  };
}

/** report.html of a finished run, from its folder. */
export async function renderStoredReport(runDir: string): Promise<string> {
  return renderReport(await storedReportInput(runDir));
}

/** Writes `<runDir>/report.html` from the folder's own files; returns its path. */
export async function writeStoredReport(runDir: string): Promise<string> {
  const path = join(runDir, 'report.html');
  await writeFile(path, await renderStoredReport(runDir));
  return path;
}

/**
 * `quorumlab report <folder>`: a run folder's report.html (written again if there is one: a `quorumlab
 * check` may have changed the verdict since), or, for a campaign folder (campaign.json, runs/), the report
 * of each of its runs that has none yet. Returns the reports written.
 */
export async function writeReportsFor(folder: string): Promise<string[]> {
  if (await exists(join(folder, 'results.json'))) return [await writeStoredReport(folder)];
  if (!(await exists(join(folder, 'campaign.json')))) {
    throw new Error(`${folder} is neither a run's results folder (results.json) nor a campaign's (campaign.json)`);
  }
  const runsDir = join(folder, 'runs');
  let names: string[];
  try {
    names = (await readdir(runsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    names = [];
  }
  const written: string[] = [];
  for (const name of names) {
    const runDir = join(runsDir, name);
    if (await exists(join(runDir, 'report.html')) || !(await exists(join(runDir, 'results.json')))) continue;
    written.push(await writeStoredReport(runDir));
  }
  return written;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
