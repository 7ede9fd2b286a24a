// Sharded and parallel campaigns (harness/campaign-shard.ts, campaign-pool.ts, campaign-merge.ts): a
// simulated campaign run whole in this process, one run at a time, and the same campaign run as three
// shards through the CLI (one of them on two worker processes) and merged, give the same campaign.html,
// table.txt and campaign.json rows and header, byte for byte. What differs by nature is left out of the
// comparison: the campaign folder's own name (a timestamp) and campaign.json's `options` (it records the
// store each was written to and which shards a merge came from). Run folders inside a campaign are named
// by their place in the matrix and their seed, not by the clock, so every link and path compared is
// deterministic. Merge refuses shards of another campaign, a missing, duplicate or incomplete shard, in
// one line with exit 2.
import t from 'tap';
import { execa } from 'execa';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { campaignOptionsFrom, campaignPlan, parseShard, runCampaign, type CampaignOptions } from '../harness/campaign.js';
import { campaignIdentity, inShard, shardSize } from '../harness/campaign-shard.js';
import { main } from '../harness/cli.js';

const bin = fileURLToPath(new URL('../bin/quorumlab.js', import.meta.url));

// Six short simulated runs: two workloads × three seeds, partitions; small enough for well under a minute.
const flags = ['--runtime', 'sim', '--nrw', '3/2/2', '--modes', 'sloppy', '--workloads', 'register,cart', '--nemeses', 'partition',
  '--seeds', '3', '--time-limit', '2', '--quiesce', '1', '--nemesis-interval', '1,1', '--concurrency', '4', '--rate', '30', '--name', 'sharded'];

let root = '';
t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ql-campaign-shard-'));
});
t.teardown(() => (root !== '' ? rm(root, { recursive: true, force: true }) : undefined));

/** Runs the CLI in this process; returns the exit code and what it wrote to stderr. */
async function cli(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  const codes: number[] = [];
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  const log = console.log;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  console.log = () => {};
  try {
    await main(args, (c) => codes.push(c));
  } finally {
    process.stderr.write = write;
    console.log = log;
  }
  return { code: codes[0] ?? -1, stderr };
}

/** The one campaign folder a store holds under the campaign's name. */
async function campaignDir(store: string): Promise<string> {
  const names = (await readdir(join(store, 'sharded'))).filter((n) => n !== 'latest');
  if (names.length !== 1) throw new Error(`expected one campaign folder in ${store}, found ${names.join(', ')}`);
  return join(store, 'sharded', names[0]!);
}

const summary = async (dir: string): Promise<{ campaign: unknown; rows: unknown[] }> => JSON.parse(await readFile(join(dir, 'campaign.json'), 'utf8'));

t.test('the plan splits into shards that cover it once; the identity follows the matrix', async (t) => {
  for (const count of [1, 2, 3, 7]) {
    const runs = 16;
    const owners = Array.from({ length: runs }, (_, i) => Array.from({ length: count }, (_, k) => k + 1).filter((k) => inShard(i, { index: k, count })));
    t.ok(owners.every((o) => o.length === 1), `n=${count}: every run in exactly one shard`);
    t.equal(Array.from({ length: count }, (_, k) => shardSize(runs, { index: k + 1, count })).reduce((a, b) => a + b, 0), runs);
  }
  t.same(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['0/3', '4/3', '3', 'a/b', '1/0', '-1/2']) t.throws(() => parseShard(bad), /--shard expects i\/n/, bad);
  const o = (extra: Record<string, unknown>): CampaignOptions => campaignOptionsFrom({ runtime: 'sim', store: 'x', seeds: 2, ...extra });
  const id = (x: CampaignOptions): string => campaignIdentity(x.name, campaignPlan(x));
  t.equal(id(o({})), id(o({ store: 'elsewhere', jobs: 1, shard: '1/2' })), 'where it writes, its jobs and its shard are not the campaign');
  t.not(id(o({})), id(o({ seeds: 3 })), 'another seed count is another campaign');
  t.not(id(o({})), id(o({ seed: 5 })), 'another first seed is another campaign');
  t.not(id(o({})), id(o({ rate: 51 })), 'another rate is another campaign');
  t.not(id(o({})), id(o({ fault: 'drop-hints' })), 'a test fault is another campaign');
  t.throws(() => campaignOptionsFrom({ runtime: 'local', jobs: 2 }), /--jobs 2 needs --runtime sim/);
  t.equal(campaignOptionsFrom({ runtime: 'local' }).jobs, 1, 'local runs stay one at a time');
});

t.test('three shards merged equal the campaign run whole, byte for byte', async (t) => {
  // The whole campaign: in this process, one run at a time (the serial reference).
  const whole = await runCampaign({ ...campaignOptionsFrom({ ...optionsOf(flags), store: join(root, 'whole'), jobs: 1 }), quiet: true });
  t.equal(whole.rows.length, 6);
  t.equal(whole.exitCode, 0, 'the reference node is valid in every run');

  // Three shards through the CLI; shard 2 on two worker processes.
  for (const i of [1, 2, 3]) {
    const r = await cli(['campaign', ...flags, '--shard', `${i}/3`, '--jobs', i === 2 ? '2' : '1', '--store', join(root, `shard-${i}`)]);
    t.equal(r.code, 0, `shard ${i}/3 exits 0 ${r.stderr}`);
  }
  const shardRows = await Promise.all([1, 2, 3].map(async (i) => (await summary(await campaignDir(join(root, `shard-${i}`)))).rows.length));
  t.same(shardRows, [2, 2, 2], 'each shard ran its third');

  const merged = await cli(['campaign', 'merge', join(root, 'shard-3'), join(root, 'shard-1'), join(root, 'shard-2'), '--store', join(root, 'merged')]);
  t.equal(merged.code, 0, `merge exits 0 ${merged.stderr}`);
  const a = await campaignDir(join(root, 'whole'));
  const b = await campaignDir(join(root, 'merged'));
  for (const f of ['campaign.html', 'table.txt']) t.equal(await readFile(join(b, f), 'utf8'), await readFile(join(a, f), 'utf8'), `${f} is the same bytes`);
  const [sa, sb] = [await summary(a), await summary(b)];
  t.equal(JSON.stringify(sb.rows), JSON.stringify(sa.rows), 'campaign.json rows are the same bytes');
  t.equal(JSON.stringify(sb.campaign), JSON.stringify(sa.campaign), 'and name the same campaign');
  t.same((await readdir(join(b, 'runs'))).sort(), (await readdir(join(a, 'runs'))).filter((n) => n !== 'latest').sort(), 'every run folder was brought along');
  const report = (sb.rows[0] as { runDir: string }).runDir;
  t.match(report, /^runs\/0000-/, 'rows point at their run folder relative to the campaign');
  t.ok((await readFile(join(b, report, 'history.jsonl'), 'utf8')).length > 0, 'the merged campaign holds the runs themselves');

  // Refusals: one line, exit 2.
  const refuse = async (args: string[], pattern: RegExp, what: string): Promise<void> => {
    const r = await cli(['campaign', 'merge', ...args]);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
    t.match(r.stderr, pattern, `${what}: ${r.stderr.trim()}`);
  };
  const s = (i: number): string => join(root, `shard-${i}`);
  await refuse([s(1), s(3)], /missing shard 2\/3 of campaign [0-9a-f]{16} "sharded" \(have 1\/3, 3\/3\)/, 'a missing shard');
  await refuse([s(1), s(2), s(2), s(3)], /shard 2\/3 given twice/, 'a duplicate shard');
  await refuse([s(1), s(2), join(root, 'whole')], /shards split differently/, 'a whole campaign among shards');
  // Another campaign (another first seed, one workload): its shard 1/3 beside the three.
  const other = await cli(['campaign', ...flags, '--seed', '4', '--seeds', '1', '--workloads', 'register', '--shard', '1/3', '--store', join(root, 'other')]);
  t.equal(other.code, 0);
  await refuse([s(1), s(2), s(3), join(root, 'other')], /shards of different campaigns: .* is campaign [0-9a-f]{16} "sharded", .* is [0-9a-f]{16} "sharded"/, 'another campaign');
  // A shard that was interrupted: its campaign.json holds fewer rows than its share.
  const cut = join(root, 'cut');
  await cp(await campaignDir(s(2)), cut, { recursive: true });
  const json = await summary(cut);
  await writeFile(join(cut, 'campaign.json'), JSON.stringify({ ...json, rows: json.rows.slice(0, 1) }));
  await refuse([s(1), cut, s(3)], /shard 2\/3\) is incomplete: 1 of its 2 runs have results/, 'an incomplete shard');
  await refuse([join(root, 'nowhere')], /is not a folder/, 'a folder that is not there');

  // The program itself, as a job engine runs it: the same one line and exit code.
  const real = await execa('node', [bin, 'campaign', 'merge', s(1), s(3)], { reject: false, timeout: 30_000 });
  t.equal(real.exitCode, 2);
  t.match(real.stderr.trim(), /^error: campaign merge: missing shard 2\/3/);
});

/** `campaign` flags as the options object commander would give campaignOptionsFrom. */
function optionsOf(args: readonly string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i]!.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = args[i + 1]!;
    o[key] = /^\d+$/.test(v) && !['nrw', 'nemesisInterval'].includes(key) ? Number(v) : v;
  }
  return o;
}
