// Campaign axes beyond the matrix's own: --nodes, --request-timeout and --mechanisms (ablation sets) as lists,
// beside --net, so one campaign compares configurations across networks. The plan is their product, each
// run named and labelled by the values it varies; a campaign without them keeps its names; bad values are
// one line and exit 2; one small simulated campaign runs through all of them.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../harness/cli.js';
import { campaignOptionsFrom, campaignPlan, runCampaign } from '../harness/campaign.js';

let store = '';
t.before(() => {
  store = mkdtempSync(join(tmpdir(), 'ql-axes-'));
});
t.teardown(() => {
  if (store !== '') rmSync(store, { recursive: true, force: true });
});

const base = { runtime: 'sim', workloads: 'pbs', nrw: '3/1/1', modes: 'sloppy', nemeses: 'none' };

t.test('the plan is the product of the axes, each run carrying its values', async (t) => {
  const o = campaignOptionsFrom({ ...base, net: 'lnkd-ssd,lnkd-disk', nodes: '3,5', requestTimeout: '200,1000', mechanisms: 'all,no-read-repair+no-anti-entropy', store });
  const plan = campaignPlan(o);
  t.equal(plan.length, 2 * 2 * 2 * 2);
  t.equal(new Set(plan.map((p) => p.run.name)).size, plan.length, 'every run its own name');
  t.same([...new Set(plan.map((p) => p.run.nodes))].sort(), [3, 5]);
  t.same([...new Set(plan.map((p) => p.run.requestTimeoutMs))].sort(), [1000, 200]);
  t.same([...new Set(plan.map((p) => p.run.world?.net))], ['lnkd-ssd', 'lnkd-disk']);
  const ablated = plan.filter((p) => p.run.axes?.['mechanisms'] === 'no-anti-entropy+no-read-repair');
  t.equal(ablated.length, 8);
  t.ok(ablated.every((p) => p.run.mechanisms?.readRepair === false && p.run.mechanisms.antiEntropy === false && p.run.mechanisms.hintedHandoff === true));
  t.ok(plan.filter((p) => p.run.axes?.['mechanisms'] === 'all').every((p) => p.run.mechanisms?.readRepair === true));
  t.same(plan[0]!.run.axes, { net: 'lnkd-ssd', nodes: '3 nodes', timeout: 'timeout 200ms', mechanisms: 'all' });
});

t.test('the --no-* flags apply to every set; one-valued axes name nothing', async (t) => {
  const o = campaignOptionsFrom({ ...base, readRepair: false, mechanisms: 'all,no-anti-entropy', store });
  const plan = campaignPlan(o);
  t.same(plan.map((p) => [p.run.mechanisms?.readRepair, p.run.mechanisms?.antiEntropy]), [[false, true], [false, false]]);
  const plain = campaignPlan(campaignOptionsFrom({ ...base, store }));
  t.equal(plain.length, 1);
  t.equal(plain[0]!.run.name, 'campaign-pbs-n3r1w1-sloppy-vclock-none', 'a campaign without the new axes keeps its run names');
  t.equal(plain[0]!.run.requestTimeoutMs, undefined);
  const timed = campaignPlan(campaignOptionsFrom({ ...base, requestTimeout: '300', store }));
  t.equal(timed[0]!.run.requestTimeoutMs, 300, 'a single timeout applies to every run (it used to be ignored by campaign)');
});

t.test('bad axis values: one line, exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--nodes', '0'], /--nodes expects whole numbers ≥ 1/],
    [['--nodes', '3,x'], /--nodes expects whole numbers/],
    [['--nodes', '3,3'], /--nodes lists a value twice/],
    [['--request-timeout', '0,100'], /--request-timeout expects whole numbers ≥ 1/],
    [['--request-timeout', ''], /--request-timeout expects/],
    [['--mechanisms', 'all,no-gossip'], /--mechanisms: unknown set "no-gossip"/],
    [['--mechanisms', 'no-read-repair,no-read-repair'], /--mechanisms lists "no-read-repair" twice/],
  ];
  for (const [args, pattern] of cases) {
    let message = '';
    const codes: number[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => { message += s; return true; }) as typeof process.stderr.write;
    try {
      await main(['campaign', '--runtime', 'sim', '--workloads', 'pbs', '--nemeses', 'none', ...args, '--store', store], (c) => codes.push(c));
    } finally {
      process.stderr.write = write;
    }
    t.same(codes, [2], args.join(' '));
    t.equal(message.trim().split('\n').length, 1, `one line: ${message.trim()}`);
    t.match(message, pattern);
  }
});

t.test('a simulated campaign across nodes × ablations (a 300 ms timeout for all): one labelled row per run', async (t) => {
  const o = campaignOptionsFrom({ ...base, nodes: '3,4', requestTimeout: '300', mechanisms: 'all,no-read-repair', net: 'lnkd-ssd', timeLimit: 1, quiesce: 0, jobs: 1, name: 'axes', store, quiet: true });
  const result = await runCampaign({ ...o, quiet: true });
  t.equal(result.rows.length, 4);
  t.equal(new Set(result.rows.map((r) => r.label)).size, 4, 'labels tell the runs apart');
  t.ok(result.rows.every((r) => r.valid === true), 'all valid');
  t.ok(result.rows.some((r) => /lnkd-ssd 4 nodes no-read-repair$/.test(r.label)), result.rows.map((r) => r.label).join(' | '));
});
