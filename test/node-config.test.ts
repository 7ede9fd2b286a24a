import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configFromEnv, contextKey, parseSeeds } from '../node/config-env.js';
import { decodeKvContext, encodeKvContext } from '../node/core/context.js';
import { JsonLogger } from '../node/logger.js';
import { RealRandom, RealTimers } from '../node/real-env.js';
import { freePort, repoRoot } from './helpers/local-cluster.js';

const base = { QL_ID: 'n1', QL_HTTP: '127.0.0.1:8080', QL_PEER: '127.0.0.1:7000', QL_DATA: '/tmp/x', QL_SECRET: 'test-secret' };

t.test('configFromEnv maps QL_* variables', async (t) => {
  const c = configFromEnv({
    ...base,
    QL_SEEDS: 'n1@127.0.0.1:7000, n2@127.0.0.2:7000,n3@[::1]:7001',
    QL_N: '5',
    QL_R: '3',
    QL_W: '4',
    QL_SLOPPY: '0',
    QL_CONFLICTS: 'lww',
    QL_VNODES: '32',
    QL_PARTITIONS: '512',
    QL_SECRET: 's',
    QL_TEST_FAULTS: 'drop-hints, no-repair',
    QL_REQUEST_TIMEOUT_MS: '750',
    QL_GOSSIP_MS: '50',
    QL_AE_MS: '1000',
    QL_HINT_MS: '250',
  });
  t.match(c.core, { id: 'n1', n: 5, r: 3, w: 4, sloppy: false, conflicts: 'lww', partitions: 512, secret: contextKey('s'), requestTimeoutMs: 750, gossipIntervalMs: 50, antiEntropyIntervalMs: 1000, hintIntervalMs: 250 });
  t.same(c.core.testFaults, ['drop-hints', 'no-repair']);
  t.same(c.core.seeds.map((s) => s.id), ['n1', 'n2', 'n3'], 'a node keeps itself in the seed list: it is a seed');
  t.equal(c.vnodes, 32);
  const d = configFromEnv(base);
  t.match(d.core, { n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', partitions: 256 });
  t.equal(c.secret, 's', 'the transport gets the secret itself');
  t.not(c.core.secret, 's', 'contexts are signed with a key derived from it, not the secret');
  t.equal(d.insecure, false);
  t.same(parseSeeds(''), []);
});

t.test('invalid configurations are ConfigErrors naming the variable', async (t) => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ QL_ID: '' }, /QL_ID/],
    [{ QL_HTTP: 'nope' }, /QL_HTTP/],
    [{ QL_PEER: '127.0.0.1:99999' }, /QL_PEER/],
    [{ QL_N: 'three' }, /QL_N/],
    [{ QL_N: '2', QL_R: '3' }, /QL_R/],
    [{ QL_W: '0' }, /QL_W/],
    [{ QL_SLOPPY: 'yes' }, /QL_SLOPPY/],
    [{ QL_CONFLICTS: 'crdt' }, /QL_CONFLICTS/],
    [{ QL_SEEDS: 'n2-127.0.0.1:7000' }, /QL_SEEDS/],
    [{ QL_TEST_FAULTS: 'eat-data' }, /QL_TEST_FAULTS/],
    [{ QL_PARTITIONS: '0' }, /QL_PARTITIONS/],
  ];
  for (const [env, re] of bad) {
    try {
      configFromEnv({ ...base, ...env });
      t.fail(`${JSON.stringify(env)} was accepted`);
    } catch (error) {
      t.type(error, ConfigError);
      t.match((error as Error).message, re);
    }
  }
  t.throws(() => configFromEnv({ QL_HTTP: 'a:1' }), ConfigError, 'missing QL_ID');
});

t.test('fail closed: no QL_SECRET is a ConfigError unless QL_INSECURE=1', async (t) => {
  const { QL_SECRET: _, ...open } = base;
  t.throws(() => configFromEnv(open), { name: 'ConfigError', message: /QL_SECRET.*QL_INSECURE=1/ }, 'no secret: refused, naming both variables');
  t.throws(() => configFromEnv({ ...open, QL_SECRET: '' }), ConfigError, 'an empty secret is no secret');
  t.throws(() => configFromEnv({ ...open, QL_INSECURE: '0' }), ConfigError, 'QL_INSECURE=0 is not insecure');
  t.throws(() => configFromEnv({ ...open, QL_INSECURE: 'yes' }), /QL_INSECURE/, 'a bad QL_INSECURE names itself');
  const insecure = configFromEnv({ ...open, QL_INSECURE: '1' });
  t.equal(insecure.insecure, true);
  t.equal(insecure.secret, undefined, 'no peer secret: frames are not authenticated');
  // Contexts are still signed, with a key no source file holds: random per process, so it is no default
  // anyone could forge with, and a context is valid only on the node that issued it.
  const other = configFromEnv({ ...open, QL_INSECURE: '1' });
  t.match(insecure.core.secret, /^[0-9a-f]{64}$/, 'a derived key');
  t.not(insecure.core.secret, other.core.secret, 'each insecure process draws its own');
  const token = encodeKvContext({ n1: 1 }, insecure.core.secret, 'k');
  t.same(decodeKvContext(token, insecure.core.secret, 'k'), { vv: { n1: 1 }, dots: [] }, 'its own contexts are valid');
  t.match(decodeKvContext(token, other.core.secret, 'k'), { error: /signature/ }, 'another insecure node refuses them');
  t.equal(configFromEnv(base).core.secret, contextKey('test-secret'), 'with QL_SECRET the key is derived from it');
});

t.test('QL_TOMBSTONE_GRACE_MS: default, range, and never shorter than the peer delay bound', async (t) => {
  t.equal(configFromEnv(base).core.tombstoneGraceMs, 10_000, 'default 10 s');
  t.equal(configFromEnv({ ...base, QL_TOMBSTONE_GRACE_MS: '2000' }).core.tombstoneGraceMs, 2000);
  t.equal(configFromEnv({ ...base, QL_PEER_MAX_DELAY_MS: '30000' }).core.tombstoneGraceMs, 30_000, 'the default grows with QL_PEER_MAX_DELAY_MS');
  t.throws(() => configFromEnv({ ...base, QL_TOMBSTONE_GRACE_MS: '500' }), { name: 'ConfigError', message: /QL_TOMBSTONE_GRACE_MS \(500\) must be at least QL_PEER_MAX_DELAY_MS \(1000\)/ }, 'shorter than a message may travel: refused');
  t.throws(() => configFromEnv({ ...base, QL_TOMBSTONE_GRACE_MS: 'soon' }), /QL_TOMBSTONE_GRACE_MS must be an integer/);
});

t.test('logger writes one JSON object per line', async (t) => {
  const lines: string[] = [];
  const log = new JsonLogger({ node: 'n7', write: (l) => lines.push(l) });
  log.log('info', 'hello', { node: 'spoofed', n: 1n, err: new Error('boom'), bytes: new Uint8Array([1, 2]) });
  log.log('debug', 'dropped');
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  log.log('warn', 'cyclic', { cyclic });
  t.equal(lines.length, 2, 'debug is off by default');
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.match(first, { node: 'n7', level: 'info', event: 'hello', n: '1', err: { message: 'boom' }, bytes: 'AQI=' });
  t.type(first['ts'], 'string');
  t.match(JSON.parse(lines[1]!), { event: 'cyclic', level: 'warn' });
});

t.test('real timers and random', async (t) => {
  const timers = new RealTimers();
  let fired = 0;
  timers.setTimeout(() => fired++, 5);
  const h = timers.setTimeout(() => fired += 100, 5);
  timers.clearTimeout(h);
  await new Promise((r) => setTimeout(r, 30));
  t.equal(fired, 1);
  timers.setTimeout(() => fired++, 10_000);
  timers.clearAll();
  t.equal(timers.size, 0);
  const rnd = new RealRandom();
  const xs = Array.from({ length: 10_000 }, () => rnd.next());
  t.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  t.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean} is near 0.5`);
});

function run(env: Record<string, string>, untilLine?: (line: string) => boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'node/main.ts'], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  let err = '';
  let rest = '';
  const matched = new Promise<void>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      rest += c.toString();
      const lines = rest.split('\n');
      rest = lines.pop()!;
      out.push(...lines);
      if (untilLine && lines.some(untilLine)) resolve();
    });
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out, err: () => err, matched, exit };
}

t.test('the process: bad config exits 2 with one line; SIGTERM stops cleanly with 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ql-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = run({ ...base, QL_DATA: dir, QL_N: 'x' });
  t.equal(await bad.exit, 2);
  t.equal(bad.err().trim().split('\n').length, 1, 'one line on stderr');
  t.match(bad.err(), /QL_N/);
  const { QL_SECRET: _s, ...noSecret } = base;
  const closed = run({ ...noSecret, QL_DATA: dir });
  t.equal(await closed.exit, 2, 'no secret: exit 2');
  t.equal(closed.err().trim().split('\n').length, 1, 'one line on stderr');
  t.match(closed.err(), /QL_SECRET/, 'naming the variable');

  const host = '127.0.0.29';
  const env = { QL_ID: 'solo', QL_HTTP: `${host}:${await freePort(host)}`, QL_PEER: `${host}:${await freePort(host)}`, QL_DATA: dir, QL_N: '1', QL_R: '1', QL_W: '1', QL_INSECURE: '1' };
  for (let round = 0; round < 2; round++) {
    // The second round reopens the same data directory: the clean stop released LevelDB's lock.
    const p = run(env, (l) => l.includes('"node-ready"'));
    t.teardown(() => p.child.kill('SIGKILL'));
    await Promise.race([p.matched, p.exit]);
    t.match(JSON.parse(p.out[0]!), { event: 'node-config', config: { id: 'solo', n: 1 } }, 'the first log line is the configuration');
    t.match(JSON.parse(p.out[1]!), { event: 'node-insecure', level: 'warn' }, 'QL_INSECURE=1 is logged as a warning at start');
    const res = await fetch(`http://${env.QL_HTTP}/kv/persist`, round === 0 ? { method: 'PUT', body: 'kept' } : {});
    t.equal(res.status, round === 0 ? 204 : 200);
    if (round === 1) t.equal(await res.text(), 'kept', 'data survives a clean restart');
    p.child.kill('SIGTERM');
    t.equal(await p.exit, 0, 'SIGTERM exits 0');
    t.ok(p.out.some((l) => l.includes('"node-stopped"')));
  }
});
