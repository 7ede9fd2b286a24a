// Guaranteed cleanup: leftovers of a run whose harness died (node processes carrying the run marker,
// iptables chains, Docker containers and networks) are found and removed, live runs are left alone, and a
// harness that gets SIGINT tears its cluster down before exiting.
import t from 'tap';
import type * as Tap from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { removeLocalLeftovers } from '../harness/runtime/local.js';
import { dockerAvailable, removeDockerLeftovers } from '../harness/runtime/docker.js';
import { isPidAlive } from '../harness/runtime/cleanup.js';
import { whyNoPartitions } from './helpers/skips.js';
import { markerPids } from './helpers/runtime-checks.js';

/** A run id whose owner pid cannot exist (above Linux's default pid_max). */
const deadRun = `4194${String(process.pid % 1000).padStart(3, '0')}-dead`;
const noPartitions = whyNoPartitions();


t.test('local leftovers of a dead run are removed, live ones kept', async (t) => {
  // A stand-in for an orphaned node: any process carrying the marker of a dead run.
  const orphan = spawn('sleep', ['30'], { env: { ...process.env, QL_HARNESS_RUN: deadRun }, stdio: 'ignore', detached: true });
  const live = spawn('sleep', ['30'], { env: { ...process.env, QL_HARNESS_RUN: `${process.pid}-beef` }, stdio: 'ignore', detached: true });
  const orphanExited = new Promise((r) => orphan.once('exit', r));
  t.teardown(() => {
    for (const p of [orphan, live]) if (p.pid !== undefined && isPidAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
  });
  const staleDir = mkdtempSync(path.join(os.tmpdir(), `quorumlab-${deadRun}-`));
  await new Promise((r) => setTimeout(r, 100));
  const lines: string[] = [];
  // Chains are the next test's business (it needs root); here only processes and temp dirs.
  const removed = await removeLocalLeftovers((l) => lines.push(l), false);
  t.ok(removed.processes.includes(orphan.pid!), 'the orphan was killed');
  t.notOk(removed.processes.includes(live.pid!), 'a live run is left alone');
  await orphanExited;
  t.ok(isPidAlive(live.pid!), 'the live run still runs');
  t.match(lines.join('\n'), /leftover node process/, 'says what it removed');
  t.notOk(existsSync(staleDir), 'the dead run\'s temp dir was removed');
});

t.test('the iptables chain of a dead run is removed, a live run\'s kept', { skip: noPartitions }, async (t) => {
  const liveRun = `${process.pid}-cafe`;
  for (const run of [deadRun, liveRun]) {
    execFileSync('iptables', ['-w', '5', '-N', `QUORUMLAB-${run}`]);
    execFileSync('iptables', ['-w', '5', '-I', 'INPUT', '1', '-j', `QUORUMLAB-${run}`]);
  }
  t.teardown(() => {
    for (const args of [['-D', 'INPUT', '-j', `QUORUMLAB-${liveRun}`], ['-X', `QUORUMLAB-${liveRun}`]]) {
      try {
        execFileSync('iptables', ['-w', '5', ...args], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
  });
  const removed = await removeLocalLeftovers(() => {}, true);
  t.ok(removed.chains.includes(`QUORUMLAB-${deadRun}`), 'the dead run\'s chain was removed');
  t.notOk(removed.chains.includes(`QUORUMLAB-${liveRun}`), 'the live run\'s chain was left alone');
  const rules = execFileSync('iptables', ['-w', '5', '-S'], { encoding: 'utf8' });
  t.notMatch(rules, `QUORUMLAB-${deadRun}`, 'chain and jump gone');
  t.match(rules, `QUORUMLAB-${liveRun}`, 'the live chain is still there');
});

t.test('docker leftovers of a dead run are removed', async (t) => {
  const available = await dockerAvailable();
  if (available !== true) {
    t.plan(0, `skip: ${available.unavailable}`);
    return;
  }
  const docker = new Docker();
  const name = `quorumlab-${deadRun}`;
  await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { 'quorumlab.run': deadRun } });
  t.teardown(async () => {
    await docker.getNetwork(name).remove().catch(() => undefined);
  });
  const lines: string[] = [];
  const removed = await removeDockerLeftovers(docker, (l) => lines.push(l));
  t.ok(removed.networks.includes(name), 'stale network removed');
  t.same((await docker.listNetworks({ filters: { name: [name] } })).map((n) => n.Name), []);
  t.match(lines.join('\n'), /leftover network/);
});

/** The run's iptables chain is gone (a real skip where local runs cannot make chains: no root or iptables). */
function chainGone(t: Tap.Test, runId: string): void {
  if (noPartitions !== false) t.pass('chain removed', { skip: noPartitions });
  else t.notMatch(execFileSync('iptables', ['-w', '5', '-S'], { encoding: 'utf8' }), `QUORUMLAB-${runId}`, 'chain removed');
}

/** Starts a child harness with a one-node local cluster; `exitWithoutTeardown` makes it exit(3) once ready. */
async function childHarness(t: Tap.Test, exitWithoutTeardown: boolean, port: number): Promise<{ runId: string; tmpDir: string; exited: Promise<number | null>; child: ReturnType<typeof spawn>; err: () => string } | undefined> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ql-cleanup-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const localUrl = pathToFileURL(path.resolve('harness/runtime/local.ts')).href;
  const script = path.join(dir, 'harness.mts');
  // One node on 127.0.0.19 or .20, away from the addresses the other local-runtime test uses.
  writeFileSync(
    script,
    `import { LocalRuntime } from ${JSON.stringify(localUrl)};
const rt = new LocalRuntime({ hostBase: ${port === 18182 ? 18 : 19}, maxNodes: 1, httpPort: ${port}, peerPort: ${port - 1080}, log: () => {} });
await rt.setup({ nodes: 1, n: 1, r: 1, w: 1, sloppy: false, conflicts: 'vclock', vnodes: 8, seed: 1, runDir: ${JSON.stringify(path.join(dir, 'run'))}, env: { QL_PARTITIONS: '8' } });
process.stdout.write('READY ' + rt.id + '\\n');
${exitWithoutTeardown ? 'setTimeout(() => process.exit(3), 200);' : 'setInterval(() => {}, 1000);'}
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 30_000;
  while (!/READY (\S+)/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  const m = /READY (\S+)/.exec(out);
  if (m === null) {
    t.fail(`the child harness did not come up: ${err.slice(-2000)}`);
    return undefined;
  }
  const runId = m[1]!;
  const tmp = readdirSync(os.tmpdir()).filter((d) => d.startsWith(`quorumlab-${runId}-`));
  return { runId, tmpDir: path.join(os.tmpdir(), tmp[0] ?? 'missing'), exited, child, err: () => err };
}

t.test('SIGINT to the harness tears the local cluster down', { timeout: 40_000 }, async (t) => {
  const h = await childHarness(t, false, 18182);
  if (h === undefined) return;
  // The node, and possibly the esbuild service tsx starts from it, carry the marker.
  t.ok(markerPids(h.runId).length >= 1, 'the node process runs with the marker');
  t.ok(existsSync(h.tmpDir), 'its temp dir exists');
  h.child.kill('SIGINT');
  t.equal(await h.exited, 130, 'exits with 130 after SIGINT');
  t.same(markerPids(h.runId), [], 'no node process left');
  t.notOk(existsSync(h.tmpDir), 'temp dir removed');
  chainGone(t, h.runId);
  t.match(h.err(), /SIGINT: tearing the cluster down/);
});

t.test('a harness that exits without teardown still leaves nothing behind', { timeout: 40_000 }, async (t) => {
  const h = await childHarness(t, true, 18183);
  if (h === undefined) return;
  t.equal(await h.exited, 3);
  await new Promise((r) => setTimeout(r, 200));
  t.same(markerPids(h.runId), [], 'no node process left');
  t.notOk(existsSync(h.tmpDir), 'temp dir removed');
  chainGone(t, h.runId);
});
