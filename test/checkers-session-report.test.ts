// The session guarantees reach the report (a section with a table) and the campaign tables (a column).
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSession } from '../checkers/session.js';
import { formatTable, runCampaign } from '../harness/campaign.js';
import { renderReport, reportFigures } from '../harness/report/index.js';
import { FakeRuntime } from './helpers/run-fake-runtime.js';
import { HistoryBuilder, opts } from './checkers-fixtures.js';

t.test('the report shows a session guarantees table with the rates and the promise', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(0, 'k', []); // a read-your-writes violation
  h.get(0, 'k', []);
  const session = checkSession(h.ops, opts({ sloppy: true }));
  const fig = reportFigures(h.ops, { session });
  t.same(fig.session?.promised, false);
  t.match(fig.session?.rows, [
    { guarantee: 'readYourWrites', label: 'read your writes', checked: 2, violations: 2, rate: 1, enforcedViolations: 0 },
    { guarantee: 'monotonicReads', checked: 0, violations: 0 }, // the earlier read returned nothing to keep
    { guarantee: 'monotonicWrites', checked: 0 },
    { guarantee: 'writesFollowReads', checked: 0 },
  ]);
  t.equal(reportFigures(h.ops, {}).session, null, 'no session checker, no section');
  const html = await renderReport({ history: h.ops, config: { n: 3, r: 2, w: 2 }, valid: true, checkers: { session } });
  t.match(html, /<h2>Session guarantees<\/h2>/);
  t.match(html, /<td>read your writes<\/td><td>2<\/td><td>2<\/td><td>100\.00%<\/td><td[^>]*>not promised<\/td>/);
  const strict = checkSession(h.ops, opts());
  const html2 = await renderReport({ history: h.ops, config: { n: 3, r: 2, w: 2 }, valid: false, checkers: { session: strict } });
  t.match(html2, /<td>read your writes<\/td><td>2<\/td><td>2<\/td><td>100\.00%<\/td><td class="v-false">2<\/td>/);
  const none = await renderReport({ history: h.ops, config: { n: 3, r: 2, w: 2 }, valid: true, checkers: {} });
  t.notMatch(none, /Session guarantees/);
});

t.test('campaign rows and tables carry the session violation rates of register runs', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-campaign-session-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const result = await runCampaign({
    name: 'sess', runtime: 'sim', nodes: 3, nrw: [{ n: 3, r: 2, w: 2 }], sloppy: [false], conflicts: ['vclock'],
    workloads: ['register', 'cart'], nemeses: [[]], seeds: [1], timeLimitS: 4, concurrency: 3, rate: 30,
    quiesceS: 1, nemesisQuietS: 1, nemesisFaultS: 1, store, quiet: true, runtimeFactory: () => new FakeRuntime(),
  });
  const reg = result.rows.find((r) => r.workload === 'register')!;
  const cart = result.rows.find((r) => r.workload === 'cart')!;
  t.ok(reg.session !== null, 'a register row has session rates');
  // The fake store is no correct version-vector store (a delete drops every sibling), so the rates are whatever
  // it earns: numbers between 0 and 1, where a cart row has none.
  t.ok(['ryw', 'mr', 'mw', 'wfr'].every((g) => { const v = reg.session![g as 'ryw']; return v === null || (v >= 0 && v <= 1); }), 'rates');
  t.equal(cart.session, null, 'a cart row has none');
  const table = await readFile(join(result.dir, 'table.txt'), 'utf8');
  t.match(table, /converge ms\s+session % ryw\/mr\/mw\/wfr/);
  t.match(table.split('\n').find((l) => l.startsWith('register'))!, /\s[\d.–]+\/[\d.–]+\/[\d.–]+\/[\d.–]+$/);
  t.match(table.split('\n').find((l) => l.startsWith('cart'))!, /\s–$/);
  t.match(formatTable([{ ...reg, session: { ryw: 0.125, mr: null, mw: 0, wfr: 0.5 } }]), /12\.5\/–\/0\/50/);
  const html = await readFile(join(result.dir, 'campaign.html'), 'utf8');
  t.match(html, /session violations %/);
});
