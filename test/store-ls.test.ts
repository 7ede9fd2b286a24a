// `quorumlab ls`: one line per run and campaign (date, name, workload, N/R/W, mode, nemesis, verdict),
// filters like the browser's, and a missing store or a bad flag is one line and exit 2.
import t from 'tap';
import { rm } from 'node:fs/promises';
import { main } from '../harness/cli.js';
import { makeStoreFixture } from './helpers/store-fixture.js';

async function cli(args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  let code: number | undefined;
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    await main(args, (c) => { code = c; });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  return { code, out, err };
}

t.test('ls', async (t) => {
  const fx = await makeStoreFixture();
  t.teardown(() => rm(fx.root, { recursive: true, force: true }));
  const all = await cli(['ls', fx.store]);
  t.equal(all.code, 0);
  const lines = all.out.trimEnd().split('\n');
  t.match(lines[0], /^date\s+name\s+workload\s+N\/R\/W\s+mode\s+nemesis\s+verdict\s+path$/);
  t.equal(lines.length, 7, 'a header and six entries');
  t.match(lines[1], /^2026-12-01 12:00:00Z\s+gamma\s+pbs\s+5\/1\/1\s+sloppy\s+none\s+none\s+gamma\/20261201T120000\.000Z$/, 'newest first; no results yet');
  t.match(lines[2], /^2026-12-01 11:00:00Z\s+beta\s+register\s+3\/1\/1\s+strict\s+clock\s+false\s/);
  t.match(lines[3], /^2026-12-01 10:00:00Z\s+alpha\s+cart\s+3\/2\/2\s+sloppy\s+partition,crash\s+true\s/);
  t.match(all.out, /\[campaign\] sweep \(2 runs\)\s+cart\s+3\/2\/2\s+sloppy,strict\s+partition\s+unknown\s/);

  const invalid = await cli(['ls', fx.store, '--verdict', 'false']);
  t.same(invalid.out.trimEnd().split('\n').slice(1).map((l) => l.split(/\s+/)[2]), ['beta']);
  const json = await cli(['ls', fx.store, '--kind', 'campaign', '--json']);
  t.match(JSON.parse(json.out), { kind: 'campaign', name: 'sweep', runs: 2, report: 'sweep/20261201T090000.000Z/campaign.html' });
  const none = await cli(['ls', fx.store, '--grep', 'no-such-run']);
  t.equal(none.code, 0);
  t.equal(none.out, '');
  t.match(none.err, /match the filter/);

  const missing = await cli(['ls', `${fx.root}/nope`]);
  t.equal(missing.code, 2);
  t.match(missing.err, /^error: store .*nope: ENOENT\n$/);
  const bad = await cli(['ls', fx.store, '--verdict', 'maybe']);
  t.equal(bad.code, 2);
  t.equal(bad.err.split('\n').length, 2, 'one line');
  const port = await cli(['serve', fx.store, '--port', '70000']);
  t.equal(port.code, 2);
  t.match(port.err, /--port must be a whole number from 0 to 65535/);
});
