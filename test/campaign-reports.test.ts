// A campaign writes report.html only for its runs that are not valid; a valid run's report is rendered on
// demand from its folder — `quorumlab report` and `quorumlab serve` — with the same bytes as the report the
// run would have written itself (`--reports all`), and the campaign's rows and histories do not change.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { request } from 'node:http';
import { campaignOptionsFrom, runCampaign, type CampaignResult } from '../harness/campaign.js';
import { runTest, type RunOptions } from '../harness/run.js';
import { renderStoredReport, writeReportsFor } from '../harness/report/index.js';
import { serveStore } from '../harness/store-serve.js';

const root = mkdtempSync(join(tmpdir(), 'ql-campaign-reports-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

/** The campaign in store `name` (its name is the same in every store, so its runs' reports can be compared). */
async function campaign(name: string, reports?: 'all' | 'failed'): Promise<CampaignResult> {
  return runCampaign({
    ...campaignOptionsFrom({
      runtime: 'sim', store: join(root, name), name: 'c', nrw: '3/2/2', modes: 'sloppy', conflicts: 'vclock,lww', workloads: 'register',
      nemeses: 'partition,clock', seeds: 2, seed: 21, timeLimit: 4, quiesce: 1, concurrency: 5, rate: 40, jobs: 1, nemesisInterval: '1,1',
      ...(reports !== undefined ? { reports } : {}),
    }),
    quiet: true,
  });
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

const strip = (r: CampaignResult): unknown => r.rows.map(({ runDir: _d, ...row }) => row);

t.test('runTest: skipReport "valid" writes the report of a run that is not valid only', async (t) => {
  const base: RunOptions = {
    runtime: 'sim', nodes: 3, n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', vnodes: 8, workload: 'register', nemesis: [],
    timeLimitS: 1, concurrency: 2, rate: 20, seed: 5, quiesceS: 0, quiet: true, store: join(root, 'single'), skipReport: 'valid',
  };
  for (const valid of [true, false, 'unknown'] as const) {
    const r = await runTest(base, { check: async () => ({ valid, checkers: { stub: { valid } } }) });
    t.equal(r.valid, valid);
    t.equal(existsSync(join(r.runDir!, 'report.html')), valid !== true, `valid=${String(valid)}: report.html ${valid === true ? 'left for later' : 'written'}`);
  }
});

t.test('a campaign renders its valid runs\' reports on demand, byte for byte as written at run time', async (t) => {
  const eager = await campaign('eager', 'all');
  const lazy = await campaign('lazy');
  t.same(strip(lazy), strip(eager), 'same rows');
  t.ok(lazy.rows.some((r) => r.valid === true), 'at least one valid run (its report is left for later)');
  for (const [i, row] of lazy.rows.entries()) {
    const dir = row.runDir!;
    t.equal(readFileSync(join(dir, 'history.jsonl'), 'utf8'), readFileSync(join(eager.rows[i]!.runDir!, 'history.jsonl'), 'utf8'), `${row.label}: same history`);
    t.ok(existsSync(join(eager.rows[i]!.runDir!, 'report.html')), `${row.label}: --reports all wrote it`);
    t.equal(existsSync(join(dir, 'report.html')), row.valid !== true, `${row.label} (${String(row.valid)}): report.html written only when not valid`);
  }
  const campaignHtml = readFileSync(join(lazy.dir, 'campaign.html'), 'utf8');
  t.match(campaignHtml, 'quorumlab report', 'campaign.html says how to get the other reports');

  // Served: the page of a run that has none is rendered when asked for, and kept.
  const store = join(root, 'lazy');
  const server = await serveStore({ store, port: 0 });
  t.teardown(() => server.close());
  const valid = lazy.rows.findIndex((r) => r.valid === true);
  const runDir = lazy.rows[valid]!.runDir!;
  const url = `/store/${relative(store, runDir).split('/').map(encodeURIComponent).join('/')}/report.html`;
  const served = await get(server.port, url);
  t.equal(served.status, 200, 'serve renders a missing report');
  // A report names its own results folder nowhere, so the eager campaign's report of the same run is the reference.
  const reference = readFileSync(join(eager.rows[valid]!.runDir!, 'report.html'), 'utf8');
  t.equal(served.body, reference, 'the served report is the one the run would have written');
  t.equal(readFileSync(join(runDir, 'report.html'), 'utf8'), reference, 'and is kept in the run folder');
  t.equal((await get(server.port, `/store/${relative(store, lazy.dir)}/runs/report.html`)).status, 404, 'a folder that is no run: 404');
  t.equal((await get(server.port, `/store/${relative(store, lazy.dir)}/runs/nothing/report.html`)).status, 404, 'no such folder: 404');
  // A run folder whose results.json is a link out of the store is refused, not rendered.
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'results.json'), readFileSync(join(runDir, 'results.json')));
  const linked = join(lazy.dir, 'runs', 'linked');
  mkdirSync(linked);
  symlinkSync(join(outside, 'results.json'), join(linked, 'results.json'));
  t.equal((await get(server.port, `/store/${relative(store, linked)}/report.html`)).status, 403, 'results.json outside the store: 403');
  rmSync(linked, { recursive: true });

  // `writeReportsFor` on the campaign folder writes every missing one, the same bytes again.
  rmSync(join(runDir, 'report.html'));
  const written = await writeReportsFor(lazy.dir);
  t.same(written, lazy.rows.filter((r) => r.valid === true).map((r) => join(r.runDir!, 'report.html')), 'every valid run\'s report, none other');
  for (const [i, row] of lazy.rows.entries()) {
    t.equal(readFileSync(join(row.runDir!, 'report.html'), 'utf8'), readFileSync(join(eager.rows[i]!.runDir!, 'report.html'), 'utf8'), `${row.label}: same bytes as --reports all`);
  }
  t.same(await writeReportsFor(lazy.dir), [], 'nothing left to write');
  t.equal(await renderStoredReport(runDir), reference, 'a run folder renders alike');
});

t.test('quorumlab report on the command line', async (t) => {
  const cli = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/quorumlab.js', 'report', ...args], { encoding: 'utf8', env: { ...process.env, QUORUMLAB_PRECOMPILE: '0' } });
  const r = await runTest({
    runtime: 'sim', nodes: 3, n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', vnodes: 8, workload: 'cart', nemesis: [],
    timeLimitS: 1, concurrency: 2, rate: 20, seed: 6, quiesceS: 0, quiet: true, store: join(root, 'cli'), skipReport: true,
  });
  const ok = cli(r.runDir!);
  t.equal(ok.status, 0, String(ok.stderr));
  t.equal(String(ok.stdout).trim(), join(r.runDir!, 'report.html'), 'prints the report it wrote');
  t.equal(readFileSync(join(r.runDir!, 'report.html'), 'utf8'), await renderStoredReport(r.runDir!));
  const bad = cli(join(root, 'cli'));
  t.equal(bad.status, 2, 'a folder that is neither a run nor a campaign: exit 2');
  t.equal(String(bad.stderr).trim().split('\n').length, 1, 'one line');
  t.match(String(bad.stderr), 'neither a run');
  // A corrupt history is refused as `quorumlab check` refuses it (file and line), not rendered from half of it.
  const corrupt = join(root, 'cli-corrupt');
  cpSync(r.runDir!, corrupt, { recursive: true });
  rmSync(join(corrupt, 'report.html'));
  const lines = readFileSync(join(corrupt, 'history.jsonl'), 'utf8').split('\n');
  lines[1] = '{"index": 1, "oops"';
  writeFileSync(join(corrupt, 'history.jsonl'), lines.join('\n'));
  const broken = cli(corrupt);
  t.equal(broken.status, 2, 'a corrupt history.jsonl: exit 2');
  t.equal(String(broken.stderr).trim().split('\n').length, 1, 'one line');
  t.match(String(broken.stderr), `${join(corrupt, 'history.jsonl')}:2:`, 'naming the file and line');
  t.notOk(existsSync(join(corrupt, 'report.html')), 'and no report written');
});
