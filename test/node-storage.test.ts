import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStorage } from '../node/storage-level.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ql-storage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('get, put, delete and namespaces are isolated', async (t) => {
  const s = new LevelStorage(tempDir(t));
  await s.open();
  t.teardown(() => s.close());
  await s.write([
    { type: 'put', ns: 'kv', key: 'a', value: enc('1') },
    { type: 'put', ns: 'kv2', key: 'a', value: enc('2') },
    { type: 'put', ns: 'k', key: 'v', value: enc('3') },
  ]);
  t.equal(dec(await s.get('kv', 'a')), '1');
  t.equal(dec(await s.get('kv2', 'a')), '2');
  t.equal(await s.get('kv', 'missing'), undefined);
  await s.write([{ type: 'del', ns: 'kv', key: 'a' }]);
  t.equal(await s.get('kv', 'a'), undefined);
  t.equal(dec(await s.get('kv2', 'a')), '2', 'deleting in one namespace leaves the other');
  // Empty values are legal (an empty register value).
  await s.write([{ type: 'put', ns: 'kv', key: 'empty', value: new Uint8Array(0) }]);
  t.same(await s.get('kv', 'empty'), new Uint8Array(0));
});

t.test('scan stays inside its namespace and prefix, in byte order', async (t) => {
  const s = new LevelStorage(tempDir(t));
  await s.open();
  t.teardown(() => s.close());
  const keys = ['b', 'a', 'ab', 'a\u00ff', 'a\uffff', 'b0', 'é', ''];
  await s.write(keys.map((key) => ({ type: 'put' as const, ns: 'kv', key, value: enc(key) })));
  await s.write([
    { type: 'put', ns: 'kv2', key: 'a', value: enc('x') },
    { type: 'put', ns: 'k', key: 'zz', value: enc('x') },
  ]);
  const all: string[] = [];
  for await (const [k, v] of s.scan('kv')) {
    all.push(k);
    t.equal(dec(v), k);
  }
  const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  t.same(all, expected);
  const prefixed: string[] = [];
  for await (const [k] of s.scan('kv', 'a')) prefixed.push(k);
  t.same(prefixed, expected.filter((k) => k.startsWith('a')));
});

t.test('group commit: concurrent writes are coalesced into few synchronous batches', async (t) => {
  const s = new LevelStorage(tempDir(t));
  await s.open();
  t.teardown(() => s.close());
  const count = 500;
  // All 500 are issued before the first fsync can finish: the first write starts a flush on its own and
  // the other 499 queue behind it, so they go out together as the next batch, however slow the disk.
  // (Batch sizes under sustained load are figures for `npm run bench`, section storage.)
  await Promise.all(Array.from({ length: count }, (_, i) => s.write([{ type: 'put', ns: 'kv', key: `k${i}`, value: enc(`v${i}`) }])));
  const stats = s.getStats();
  t.equal(stats.writes, count);
  t.ok(stats.syncBatches >= 1 && stats.syncBatches <= 2, `500 concurrent writes took ${stats.syncBatches} fsyncs (the first write's, then one for the rest)`);
  t.ok(stats.maxCoalesced >= count - 1, `largest group held ${stats.maxCoalesced} writes`);
  for (const i of [0, 250, 499]) t.equal(dec(await s.get('kv', `k${i}`)), `v${i}`);
});

t.test('close waits for queued writes, and writes after close fail', async (t) => {
  const dir = tempDir(t);
  const s = new LevelStorage(dir);
  await s.open();
  const pending = Array.from({ length: 50 }, (_, i) => s.write([{ type: 'put', ns: 'kv', key: `k${i}`, value: enc('x') }]));
  await s.close();
  await Promise.all(pending);
  await t.rejects(s.write([{ type: 'put', ns: 'kv', key: 'late', value: enc('x') }]));
  const again = new LevelStorage(dir);
  await again.open();
  t.teardown(() => again.close());
  t.equal(dec(await again.get('kv', 'k49')), 'x');
});

t.test('kill -9 loses no acknowledged write', async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/node-storage-writer.ts', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const acked: number[] = [];
  let buffer = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith('acked ')) acked.push(Number(line.slice(6)));
      if (acked.length >= 300) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const s = new LevelStorage(dir);
  await s.open();
  t.teardown(() => s.close());
  let missing = 0;
  for (const i of acked) {
    if (dec(await s.get('kv', `k${i}`)) !== `v${i}`) missing++;
    // Both halves of a batch are there: batches are atomic.
    if ((await s.get('meta', `m${i}`)) === undefined) missing++;
  }
  t.equal(missing, 0, `all ${acked.length} acknowledged writes survived SIGKILL`);
});
