// The report: figures from the history, rendered to one self-contained HTML file.
import { writeFile } from 'node:fs/promises';
import { renderReport } from './html.js';
import type { ReportInput } from './data.js';

export { renderReport, chartJsSource, escapeHtml } from './html.js';
export { reportFigures, sessionFigures, SESSION_LABELS, faultWindows, quantile, pbsQuorumIntersection, type ReportFigures, type ReportInput, type FaultWindow, type SessionFigures } from './data.js';
export { replayCommand } from './replay.js';

export async function writeReport(path: string, input: ReportInput): Promise<void> {
  await writeFile(path, await renderReport(input));
}
export { renderStoredReport, storedReportInput, writeReportsFor, writeStoredReport } from './stored.js';
