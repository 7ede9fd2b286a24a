// The Docker end-to-end campaign CI runs: five reference nodes in containers built FROM scratch, the cart
// workload under partitions (iptables in each container's namespace), clock skew (libfaketime), crashes
// (SIGKILL and restart on the same volume) and pauses (docker pause); heal, final reads, checks. It must
// end valid and leave no container or network behind. Skipped, saying why, where no Docker daemon answers.
import t from 'tap';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runTest } from '../harness/run.js';
import { DockerRuntime, dockerAvailable } from '../harness/runtime/docker.js';

const available = await dockerAvailable();
const skip = available === true ? false : `no Docker daemon here (${available.unavailable}); start dockerd to run this test`;

t.test('docker: 5 containers, cart under partition, clock, crash and pause faults', { skip, timeout: 240_000 }, async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-run-docker-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const runtime = new DockerRuntime({ log: () => {} });
  const result = await runTest({
    runtime: 'docker', nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', workload: 'cart',
    nemesis: ['partition', 'clock', 'crash', 'pause'], timeLimitS: 24, concurrency: 6, rate: 40, seed: 5,
    nemesisQuietS: 2, nemesisFaultS: 3, quiesceS: 6, store, quiet: true,
  }, { runtime });
  t.equal(result.error, undefined, `the run completed${result.error ? `: ${result.error}` : ''}`);
  const verdicts = Object.fromEntries(Object.entries(result.checkers).map(([k, v]) => [k, (v as { valid: unknown }).valid]));
  t.equal(result.valid, true, `valid (${JSON.stringify(verdicts)})`);
  t.ok(result.stats.faults >= 3, `faults were injected (${result.stats.faults})`);
  for (const f of ['config.json', 'history.jsonl', 'results.json', 'report.html']) t.ok((await stat(join(result.runDir!, f))).size > 0, `${f} written`);
  // Asked through the docker CLI, independently of the runtime's own bookkeeping.
  const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=quorumlab.run=${runtime.id}`], { encoding: 'utf8' }).trim();
  t.equal(left, '', 'no container of the run is left');
  const nets = execFileSync('docker', ['network', 'ls', '-q', '--filter', `name=quorumlab-${runtime.id}`], { encoding: 'utf8' }).trim();
  t.equal(nets, '', 'no network of the run is left');
});
