// Ctrl-C during a run tears the cluster down, leaves a results folder saying "interrupted" with the history
// so far, and exits 2. Uses the sim runtime (no ports, no processes to leak; it needs nothing from the machine,
// so it is never skipped).
import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/quorumlab.js', import.meta.url));

t.test('SIGINT mid-run: teardown, results.json says interrupted, exit 2', async (t) => {
  const store = await mkdtemp(join(tmpdir(), 'ql-sigint-'));
  t.teardown(() => rm(store, { recursive: true, force: true }));
  const child = execa('node', [bin, 'run', '--runtime', 'sim', '--time-limit', '3000', '--seed', '4', '--store', store], { reject: false, timeout: 40_000 });
  // Wait until the workload is under way (the first progress line), then interrupt.
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => { if (chunk.toString().includes('[workload]')) resolve(); });
    void child.then(() => resolve());
  });
  await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGINT');
  const r = await child;
  t.equal(r.exitCode, 2, 'exit 2');
  t.match(r.stdout, /interrupted: tearing the cluster down/);
  const results = JSON.parse(await readFile(join(store, 'latest', 'results.json'), 'utf8')) as { valid: unknown; error: string };
  t.equal(results.valid, 'unknown');
  t.match(results.error, /interrupted/);
  const history = await readFile(join(store, 'latest', 'history.jsonl'), 'utf8');
  t.ok(history.split('\n').length > 10, 'the history so far was kept');
});
