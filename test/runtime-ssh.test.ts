// The SSH runtime for real: hosts are network namespaces on the test's own bridge (qlssh0, 10.213.0.0/24),
// each running Debian's sshd with a generated host key, reached with a generated client key and a
// known_hosts of the test's own. Checked here: a host that cannot be reached and a host whose key is unknown
// each get one line; a campaign from an inventory file through the CLI is valid for the reference node and
// invalid for an ack-not-durable one; a controller that dies leaves a node, a chain and a directory that the next run
// removes and reports; partitions (iptables rules in each host), clock skew (libfaketime), kill/restart,
// disk loss (wipe), pause/resume and join/leave through SSH; a run of the reference node under a scripted schedule of
// partition, clock, pause and crash is valid, the same harness on an `ack-not-durable` node killed all at once is invalid; and nothing
// is left behind (processes, chains, run directories, then namespaces, bridge and forward rule).
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runTest, type RunOptions, type RunResult } from '../harness/run.js';
import { scriptedNemesis, type FaultSchedule } from '../harness/nemesis/schedule.js';
import type { ClusterSpec } from '../harness/runtime/runtime.js';
import { SshRuntime } from '../harness/runtime/ssh.js';
import type { SshHost } from '../harness/runtime/ssh-hosts.js';
import { crashOnly, verdicts } from './helpers/bug-runs.js';
import { createNetnsLab, labBridge, labNamespaces, whyNoNetnsLab, type NetnsLab } from './helpers/netns-hosts.js';
import { bytes, distinctValues, eventually, markerPids } from './helpers/runtime-checks.js';

const noLab = whyNoNetnsLab();


const spec = (runDir: string, nodes: number, env: Record<string, string> = {}): ClusterSpec => ({
  nodes, n: Math.min(3, nodes), r: Math.min(2, nodes), w: Math.min(2, nodes), sloppy: false, conflicts: 'vclock', vnodes: 8, seed: 1, runDir,
  env: { QL_PARTITIONS: '16', ...env },
});

t.test('ssh runtime on namespace hosts', { skip: noLab, timeout: 480_000 }, async (t) => {
  const started = Date.now();
  const lab: NetnsLab = await createNetnsLab(4);
  let labDown = false;
  t.teardown(async () => {
    if (!labDown) await lab.teardown();
  });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ql-ssh-test-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  // One working directory for all hosts (they share this machine's disk, as hosts with an NFS home do):
  // the bundle goes over SSH once, and every other host finds it there.
  const hosts = lab.sshHosts({ shared: true });
  const runIds: string[] = [];
  const runtime = (which: readonly SshHost[], log: (line: string) => void = (l) => t.comment(l)): SshRuntime => {
    const rt = new SshRuntime({ hosts: which, knownHostsFile: lab.knownHosts, log, connectTimeoutS: 5 });
    runIds.push(rt.id);
    return rt;
  };
  t.comment(`lab of ${lab.hosts.length} hosts up in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await t.test('a host that cannot be reached and a host with an unknown key: one line each', async (t) => {
    const emptyKnown = path.join(scratch, 'empty_known_hosts');
    writeFileSync(emptyKnown, '');
    // .99 is on the lab's bridge and nobody answers there.
    const unreachable: SshHost = { ...hosts[0]!, host: '10.213.0.99' };
    const rt = new SshRuntime({ hosts: [hosts[0]!, unreachable], knownHostsFile: emptyKnown, connectTimeoutS: 2, log: () => {} });
    const err = await rt.setup(spec(path.join(scratch, 'bad'), 2)).then(() => undefined, (e: Error) => e.message);
    t.ok(err !== undefined, 'setup refuses');
    t.match(err, /root@10\.213\.0\.11: its host key is not in .*empty_known_hosts/, 'the unknown host key, named');
    t.match(err, /root@10\.213\.0\.99: it cannot be reached/, 'the unreachable host, named');
    t.notMatch(err ?? '', /\n/, 'one line');
  });

  await t.test('a controller that dies leaves what the next run removes, and says so', async (t) => {
    const script = path.join(scratch, 'controller.mts');
    writeFileSync(script, `import { SshRuntime } from ${JSON.stringify(pathToFileURL(path.resolve('harness/runtime/ssh.ts')).href)};
const rt = new SshRuntime({ hosts: ${JSON.stringify([hosts[0]])}, knownHostsFile: ${JSON.stringify(lab.knownHosts)}, log: () => {} });
await rt.setup(${JSON.stringify(spec(path.join(scratch, 'crashed'), 1))});
process.stdout.write('READY ' + rt.id + '\\n');
process.kill(process.pid, 'SIGKILL');
`);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const signal = await new Promise<string | null>((resolve) => child.once('exit', (_code, s) => resolve(s)));
    const dead = /READY (\S+)/.exec(out)?.[1];
    t.equal(signal, 'SIGKILL', 'the controller was killed');
    if (dead === undefined) {
      t.fail(`the controller did not come up: ${err.slice(-1500)}`);
      return;
    }
    runIds.push(dead);
    t.ok(markerPids(dead).length >= 1, 'its node still runs');
    t.match(lab.inHost(0, ['iptables', '-w', '5', '-S']), `QUORUMLAB-${dead}`, 'its chain is still there');
    const lines: string[] = [];
    const rt = runtime(hosts.slice(0, 1), (l) => lines.push(l));
    await rt.setup(spec(path.join(scratch, 'after'), 1));
    await rt.teardown();
    t.match(lines.join('\n'), new RegExp(`root@10\\.213\\.0\\.11: removed leftovers of dead run ${dead}: \\d+ node process(es)?, its iptables chain, its directory`), 'the next run says what it removed');
    t.same(markerPids(dead), [], 'no process of the dead run');
    t.notMatch(lab.inHost(0, ['iptables', '-w', '5', '-S']), `QUORUMLAB-${dead}`, 'its chain is gone');
  });

  await t.test('faults through SSH: partition, clock, kill/restart, pause, join and leave', async (t) => {
    const rt = runtime(hosts);
    const runDir = path.join(scratch, 'faults');
    await rt.setup(spec(runDir, 3, { QL_REQUEST_TIMEOUT_MS: '600' }));
    t.comment(`3 nodes ready ${rt.timings.readySeconds?.toFixed(1)} s after setup began (bundle sent ${rt.timings.bundleShipped ?? 0} time(s))`);
    t.same(rt.capabilities(), { partition: true, clock: true, crash: true, pause: true, membership: true, 'disk-loss': true });
    await eventually('a first write is acknowledged', async () => (await rt.client('n1').put('k1', bytes('v1'), undefined)).type === 'ok', 15_000);

    await rt.partition({ n1: ['n2', 'n3'], n2: ['n1'], n3: ['n1'] });
    t.match(lab.inHost(0, ['iptables', '-w', '5', '-S', `QUORUMLAB-${rt.id}`]), /-s 10\.213\.0\.12\/32 -d 10\.213\.0\.11\/32 .*--dport 7000 -j DROP/, 'n1\'s host drops n2\'s peer traffic');
    const cut = await rt.client('n1').put('kp', bytes('cut'), undefined, { timeoutMs: 800 });
    t.not(cut.type, 'ok', `the isolated node misses its strict quorum: ${JSON.stringify(cut)}`);
    await rt.heal();
    t.notMatch(lab.inHost(0, ['iptables', '-w', '5', '-S', `QUORUMLAB-${rt.id}`]), /DROP/, 'heal empties the chain');
    await eventually('n1 reaches a quorum after heal', async () => (await rt.client('n1').put('kh', bytes('healed'), undefined, { timeoutMs: 800 })).type === 'ok', 15_000);

    const dateOf = async (): Promise<number> => {
      const res = await fetch('http://10.213.0.13:8080/admin/status');
      await res.arrayBuffer();
      return Date.parse(res.headers.get('date') ?? '');
    };
    await rt.setClockOffset('n3', 3_600_000);
    await eventually('n3 an hour ahead', async () => Math.abs((await dateOf()) - Date.now() - 3_600_000) < 5_000, 5_000);
    await rt.setClockOffset('n3', 0);
    await eventually('n3 back on true time', async () => Math.abs((await dateOf()) - Date.now()) < 5_000, 5_000);

    await eventually('a write on all three replicas', async () => (await rt.client('n1').put('durable', bytes('kept'), undefined, { w: 3 })).type === 'ok', 10_000);
    await rt.partition({ n2: ['n1'] });
    await rt.kill('n2');
    t.not((await rt.client('n2').get('durable', { timeoutMs: 300 })).type, 'ok', 'a killed node does not answer');
    await rt.restart('n2');
    t.match(lab.inHost(1, ['iptables', '-w', '5', '-S', `QUORUMLAB-${rt.id}`]), /-s 10\.213\.0\.11\/32 .*DROP/, 'the partition is in force after the restart');
    await rt.heal();
    const local = await rt.client('n2').adminLocal('durable');
    if (local.type === 'ok' && local.value.kind === 'kv') t.same(distinctValues(local.value.versions.map((v) => v.value)), ['kept'], 'the restarted node kept its data');
    else t.fail(`n2 lost the acknowledged write: ${JSON.stringify(local)}`);

    // Disk loss: refused while the node runs; once killed, its data directory on the host is emptied.
    const dataDir = path.join(hosts[1]!.dir, `run-${rt.id}@10.213.0.12-22`, 'n2', 'data');
    await t.rejects(rt.wipe('n2'), /still running/, 'no wipe of a running node');
    await rt.kill('n2');
    t.ok(readdirSync(dataDir).length > 0, 'the killed node\'s data is on its host');
    await rt.wipe('n2');
    t.same(readdirSync(dataDir), [], 'wipe empties its data directory');
    await rt.restart('n2');

    await rt.pause('n3');
    t.equal((await rt.client('n3').get('k1', { timeoutMs: 300 })).type, 'info', 'a paused node times out');
    await rt.resume('n3');
    await eventually('n3 answers after resume', async () => (await rt.client('n3').adminStatus()).type === 'ok', 5_000);

    const joined = await rt.addNode();
    t.equal(joined, 'n4', 'the join went to the spare host');
    await eventually('n4 coordinates a write', async () => (await rt.client('n4').put('joined', bytes('via-n4'), undefined)).type === 'ok', 15_000);
    await rt.removeNode(joined);
    t.same(rt.nodeIds(), ['n1', 'n2', 'n3']);

    await rt.teardown();
    t.same(markerPids(rt.id), [], 'no node process left');
    t.match(readFileSync(rt.logFiles()['n2']!, 'utf8'), /ready/, 'node logs fetched into the run folder');
  });

  const runOptions = (name: string, extra: Partial<RunOptions>): RunOptions => ({
    name, runtime: 'ssh', nodes: 3, n: 3, r: 2, w: 2, sloppy: false, conflicts: 'vclock', vnodes: 8, workload: 'register',
    nemesis: ['partition', 'clock', 'crash', 'pause', 'membership'], seed: 1, timeLimitS: 10, concurrency: 6, rate: 60,
    nemesisQuietS: 1, nemesisFaultS: 2, quiesceS: 3, quiet: true, skipReport: true, store: path.join(scratch, 'store'),
    ssh: { hosts, knownHostsFile: lab.knownHosts }, env: { QL_PARTITIONS: '16' }, ...extra,
  });

  await t.test('a run of the reference node under every fault through SSH is valid', async (t) => {
    // Kill last: its restart waits for readiness, which on a loaded machine would push later faults past the
    // time limit. The time limit leaves 7 s beyond the four faults, for each step's SSH round trips on a loaded
    // machine; padding steps at the end keep the list from running out when the run is on time (joins and
    // leaves were driven above).
    const pad = (node: string, offsetS: number): { f: string; value: Record<string, unknown> } => ({ f: 'clock-skew', value: { nodes: [node], offsetS } });
    const schedule: FaultSchedule = {
      quietS: 1, faultS: 2, faults: [
        { f: 'partition', value: { sides: [['n1'], ['n2', 'n3']] } },
        { f: 'clock-skew', value: { nodes: ['n2'], offsetS: 30 } },
        { f: 'pause', value: { nodes: ['n1'] } },
        { f: 'kill', value: { nodes: ['n3'] } },
        pad('n1', -5), pad('n2', 5), pad('n3', -1),
      ],
    };
    const result = await runTest(runOptions('ssh-reference', { timeLimitS: 20, nemesis: ['partition', 'clock', 'crash', 'pause'] }), { nemesis: scriptedNemesis(schedule) });
    const history = readFileSync(path.join(result.runDir!, 'history.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { process: unknown; f: string; type: string; error?: string });
    const applied = history.filter((o) => o.process === 'nemesis' && o.type === 'info' && o.error === undefined).map((o) => o.f);
    t.same(['partition', 'heal', 'clock-skew', 'clock-reset', 'pause', 'resume', 'kill', 'restart'].filter((f) => !applied.includes(f)), [], `every fault and its undo applied: ${applied.join(' ')}`);
    t.equal(result.valid, true, `valid: ${verdicts(result)} (${result.stats.ok}/${result.stats.ops} ok)`);
    t.ok(existsSync(path.join(result.runDir!, 'nodes', 'n1', 'node.log')), 'node logs in the results store');
    t.same(JSON.parse(readFileSync(path.join(result.runDir!, 'config.json'), 'utf8')).hosts, hosts.map((h) => `root@${h.host}:22`), 'config.json names the hosts');
  });

  await t.test('the same harness on an ack-not-durable node killed all at once is invalid', async (t) => {
    let bad: RunResult | undefined;
    const tried: string[] = [];
    for (const seed of [1, 2, 3]) {
      bad = await runTest(runOptions('ssh-ack-not-durable', { seed, nemesis: ['crash'], timeLimitS: 8, env: { QL_PARTITIONS: '16', QL_TEST_FAULTS: 'ack-not-durable' } }), { nemesis: crashOnly('all') });
      tried.push(`seed ${seed}: ${verdicts(bad)}`);
      if (bad.valid === false) break;
    }
    t.equal(bad?.valid, false, `invalid with the defect:\n${tried.join('\n')}`);
  });

  await t.test('a campaign through the CLI on an inventory: valid for the reference node, invalid with a defect', async (t) => {
    // What a user types: an inventory file and `quorumlab campaign --runtime ssh`, the exit code and the table.
    const inventory = path.join(scratch, 'inventory.json');
    writeFileSync(inventory, JSON.stringify({ user: 'root', key: lab.clientKey, knownHosts: lab.knownHosts, dir: hosts[0]!.dir, hosts: hosts.map((h) => `root@${h.host}`) }));
    const campaign = (name: string, extra: readonly string[]): { status: number | null; out: string } => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/quorumlab.js', 'campaign', '--runtime', 'ssh', '--inventory', inventory,
        '--nodes', '3', '--nrw', '3/2/2', '--modes', 'strict', '--workloads', 'register', '--time-limit', '10',
        '--store', path.join(scratch, 'campaigns'), '--name', name, ...extra], { encoding: 'utf8', timeout: 200_000 });
      return { status: r.status, out: `${r.stdout}\n${r.stderr}`.trim() };
    };
    const good = campaign('ssh-campaign', ['--nemeses', 'partition,clock,crash,pause', '--seeds', '1']);
    t.equal(good.status, 0, 'the reference node\'s campaign is valid (exit 0)', { output: good.out.slice(-2000) });
    t.match(good.out, /partition,clock,crash,pause #1: true/, 'its one run, valid, in the table');
    // The coverage pass kills every node first, which is what this defect needs; three seeds, for a loaded machine.
    const bad = campaign('ssh-campaign-defect', ['--nemeses', 'crash', '--seeds', '3', '--fault', 'ack-not-durable']);
    t.equal(bad.status, 1, 'the ack-not-durable campaign is invalid (exit 1)', { output: bad.out.slice(-2000) });
    t.match(bad.out, /crash #\d: false/, 'a run flagged in the table');
  });

  await t.test('nothing is left behind', async (t) => {
    for (const id of runIds) t.same(markerPids(id), [], `no process of run ${id}`);
    for (let i = 0; i < lab.hosts.length; i++) t.notMatch(lab.inHost(i, ['iptables', '-w', '5', '-S']), /QUORUMLAB-/, `no chain on host ${i + 1}`);
    const work = hosts[0]!.dir;
    t.same(readdirSync(work).filter((n) => n.startsWith('run-')), [], 'no run directory on the hosts');
    await lab.teardown();
    labDown = true;
    t.same(labNamespaces(), [], 'no namespace');
    t.notOk(readFileSync('/proc/net/dev', 'utf8').includes(labBridge), 'no bridge');
    t.notMatch(execFileSync('iptables', ['-w', '5', '-S', 'FORWARD'], { encoding: 'utf8' }), labBridge, 'no forward rule');
    t.notOk(existsSync(lab.root), 'the lab\'s files are gone');
    t.comment(`whole test ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
