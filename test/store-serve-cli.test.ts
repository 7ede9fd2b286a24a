// `quorumlab serve` as a program: it prints the URL it listens on (port 0 picks one), answers there,
// and Ctrl-C (SIGINT) stops it with exit code 0.
import t from 'tap';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { makeStoreFixture } from './helpers/store-fixture.js';

t.test('serve prints its URL and stops on SIGINT', async (t) => {
  const fx = await makeStoreFixture();
  t.teardown(() => rm(fx.root, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/cli.ts', 'serve', fx.store, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const url = await new Promise<string>((done, fail) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /serving .* on (http:\/\/127\.0\.0\.1:\d+\/) /.exec(out);
      if (m !== null) done(m[1]!);
    });
    child.once('exit', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
  const res = await fetch(`${url}api/entries?kind=campaign`);
  t.equal(res.status, 200);
  t.match(await res.json(), [{ name: 'sweep' }]);
  const code = await new Promise<number | null>((done) => { child.once('exit', (c) => done(c)); child.kill('SIGINT'); });
  t.equal(code, 0, 'SIGINT stops it cleanly');
  t.equal(err, '', 'nothing on stderr');
});
