// `--host-base` for local runs (`run`, `campaign`, `campaign --preset detection`): node i listens on
// 127.0.0.(base+i), so two measurements can run side by side on one machine; bad values are one line and
// exit 2; and where the nodes listened is not part of a campaign's identity (shards run on different
// bases merge). One real 3-node local run on 127.0.0.206-208 (this file's range, 205-209).
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { campaignOptionsFrom, campaignPlan } from '../harness/campaign.js';
import { campaignIdentity } from '../harness/campaign-shard.js';
import { detectionOptionsFrom } from '../harness/detection.js';
import { cliInProcess } from './helpers/cli-in-process.js';

const store = mkdtempSync(join(tmpdir(), 'ql-host-base-'));
t.teardown(() => rmSync(store, { recursive: true, force: true }));

t.test('bad --host-base values: one line, exit 2, nothing run', async (t) => {
  for (const [argv, why] of [
    [['run', '--host-base', '245'], /--host-base must be a whole number from 0 to 244/],
    [['run', '--host-base', 'ten'], /--host-base must be a whole number from 0 to 244.*"ten"/],
    [['run', '--host-base', '-3'], /--host-base/],
    [['run', '--host-base', '1.5'], /--host-base must be a whole number/],
    [['run', '--runtime', 'sim', '--host-base', '20'], /--host-base needs --runtime local/],
    [['campaign', '--runtime', 'sim', '--host-base', '20'], /--host-base needs --runtime local/],
    [['campaign', '--preset', 'detection', '--runtime', 'docker', '--host-base', '20'], /--host-base needs --runtime local/],
  ] as const) {
    const { codes, printed } = await cliInProcess([...argv, '--store', store]);
    t.same(codes, [2], `${argv.join(' ')}: exit 2`);
    t.match(printed, why, argv.join(' '));
    t.equal(printed.trim().split('\n').length, 1, `${argv.join(' ')}: one line: ${printed.trim()}`);
  }
  t.same(readdirSync(store), [], 'no run started');
});

t.test('campaign and the detection preset carry the base to every run; the campaign identity ignores it', async (t) => {
  const flags = { runtime: 'local', workloads: 'register', nemeses: 'partition', nrw: '3/2/2', modes: 'strict', seeds: 2 };
  const on = campaignPlan(campaignOptionsFrom({ ...flags, hostBase: 205 }));
  const off = campaignPlan(campaignOptionsFrom(flags));
  t.ok(on.length === 2 && on.every((p) => p.run.hostBase === 205), 'every planned run listens on the base');
  t.ok(off.every((p) => p.run.hostBase === undefined), 'no base unless asked');
  t.equal(campaignIdentity('c', on), campaignIdentity('c', off), 'same campaign either way, so shards on different bases merge');
  t.equal(detectionOptionsFrom({ runtime: 'local', hostBase: 205 }, () => false).hostBase, 205);
});

t.test('run --host-base 205: the local nodes listen on 127.0.0.206-208', async (t) => {
  const { codes, printed } = await cliInProcess(['run', '--runtime', 'local', '--host-base', '205', '--nodes', '3', '--workload', 'register',
    '--nemesis', 'none', '--time-limit', '2', '--quiesce', '1', '--seed', '4', '--store', store, '--name', 'hb']);
  t.same(codes, [0], printed.trim().split('\n').at(-1) ?? '');
  const dir = /→ (\S+)\s*$/m.exec(printed.trim())![1]!;
  for (const [i, id] of ['n1', 'n2', 'n3'].entries()) {
    const log = readFileSync(join(dir, 'nodes', id, 'node.log'), 'utf8');
    t.match(log, new RegExp(`"peerAddr":"127\\.0\\.0\\.${206 + i}:`), `${id} on 127.0.0.${206 + i}`);
  }
});
