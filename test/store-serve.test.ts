// `quorumlab serve` on port 0 over a small store: the listing and its filters, a report served as
// HTML, traversal and out-of-store links refused with 4xx, foreign Host headers refused, and the
// socket bound to 127.0.0.1 only.
import t from 'tap';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { rm } from 'node:fs/promises';
import { serveStore } from '../harness/store-serve.js';
import { makeStoreFixture } from './helpers/store-fixture.js';

interface Reply { status: number; type: string; body: string }

/** A raw GET: the path goes out exactly as written (fetch would resolve the `..` itself). */
function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => done({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', fail);
    req.end();
  });
}

t.test('store browser', async (t) => {
  const fx = await makeStoreFixture();
  t.teardown(() => rm(fx.root, { recursive: true, force: true }));
  const server = await serveStore({ store: fx.store, port: 0 });
  t.teardown(() => server.close());
  t.equal(server.host, '127.0.0.1', 'listens on loopback');
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  t.not(server.port, 0, 'port 0 became a real port');
  const port = server.port;

  t.test('listing', async (t) => {
    const all = JSON.parse((await get(port, '/api/entries')).body) as { name: string; kind: string; valid: unknown; url: string | null; campaign: string | null }[];
    t.same(all.map((e) => e.name).sort(), ['alpha', 'beta', 'gamma', 'sweep', 'sweep-cart-a', 'sweep-cart-b'], 'every run and campaign once (latest is not a second copy)');
    t.same(all.map((e) => e.name).slice(0, 3), ['gamma', 'beta', 'alpha'], 'newest first');
    const sweep = all.find((e) => e.name === 'sweep')!;
    t.equal(sweep.kind, 'campaign');
    t.equal(sweep.valid, 'unknown', 'a campaign merges its runs\' verdicts');
    t.equal(all.find((e) => e.name === 'gamma')!.valid, null, 'a run without results has no verdict');
    t.equal(all.find((e) => e.name === 'sweep-cart-a')!.campaign, 'sweep/20261201T090000.000Z');
    const page = await get(port, '/');
    t.equal(page.status, 200);
    t.match(page.type, /text\/html/);
    for (const name of ['alpha', 'beta', 'gamma', 'sweep']) t.match(page.body, `>${name}<`, `${name} on the page`);
    t.match(page.body, 'href="/store/alpha/20261201T100000.000Z/report.html"', 'a run links to its report');
    t.match(page.body, 'href="/store/sweep/20261201T090000.000Z/campaign.html"', 'a campaign links to its page');
    t.match(page.body, /3\/1\/1<\/td><td>strict<\/td>/, 'N/R/W and mode shown');
  });

  t.test('filters', async (t) => {
    const names = async (q: string): Promise<string[]> =>
      (JSON.parse((await get(port, `/api/entries?${q}`)).body) as { name: string }[]).map((e) => e.name).sort();
    t.same(await names('verdict=false'), ['beta']);
    t.same(await names('verdict=none'), ['gamma']);
    t.same(await names('kind=campaign'), ['sweep']);
    t.same(await names('workload=cart&kind=run'), ['alpha', 'sweep-cart-a', 'sweep-cart-b']);
    t.same(await names('q=strict%20partition'), ['sweep', 'sweep-cart-b'], 'every word must match (the campaign swept strict too)');
    t.same(await names('q=3%2F1%2F1'), ['beta'], 'N/R/W is searchable');
    const page = await get(port, '/?verdict=false');
    t.match(page.body, '>beta<');
    t.notMatch(page.body, '>alpha<', 'the page applies the same filter');
    const bad = await get(port, '/api/entries?verdict=maybe');
    t.equal(bad.status, 400);
    t.match(JSON.parse(bad.body), { error: /verdict must be one of/ });
    t.equal((await get(port, '/?kind=x')).status, 400);
  });

  t.test('files', async (t) => {
    const report = await get(port, '/store/alpha/20261201T100000.000Z/report.html');
    t.equal(report.status, 200);
    t.match(report.type, /text\/html/);
    t.match(report.body, 'alpha seed 7');
    const latest = await get(port, '/store/latest/report.html');
    t.match(latest.body, 'beta seed 8', 'latest, a link inside the store, is followed');
    const config = await get(port, '/store/alpha/20261201T100000.000Z/config.json');
    t.match(config.type, /application\/json/);
    t.match(JSON.parse(config.body), { name: 'alpha', n: 3 });
    const dir = await get(port, '/store/alpha/20261201T100000.000Z/');
    t.match(dir.body, 'href="/store/alpha/20261201T100000.000Z/report.html"', 'a folder lists its files');
    t.equal((await get(port, '/store/alpha/nope.html')).status, 404);
  });

  t.test('traversal refused', async (t) => {
    for (const path of ['/store/../../secret.txt', '/store/..%2F..%2Fsecret.txt', '/store/%2e%2e/%2e%2e/secret.txt',
      '/store/alpha/..%2f..%2f..%2fsecret.txt', '/store/..%5c..%5csecret.txt', '/store/%2fetc%2fpasswd', '/store/alpha/20261201T100000.000Z/leak.txt']) {
      const r = await get(port, path);
      t.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
      t.notMatch(r.body, 'not for the browser', `${path}: the outside file is not sent`);
      t.notMatch(r.body, 'root:', `${path}: no system file`);
    }
    t.equal((await get(port, '/store/alpha/20261201T100000.000Z/leak.txt')).status, 403, 'a link out of the store is refused, not followed');
    t.equal((await get(port, '/store/a%00b')).status, 400);
  });

  t.test('only loopback', async (t) => {
    const foreign = await get(port, '/', `evil.example:${port}`);
    t.equal(foreign.status, 421, 'a request for another host name is refused (DNS rebinding)');
    t.equal((await get(port, '/', `localhost:${port}`)).status, 200, 'localhost is fine');
    const external = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
    t.test('not reachable from another address', { skip: external === undefined ? 'no non-loopback IPv4 address on this machine to try' : false }, async (t) => {
      const err = await new Promise<string>((done) => {
        const s = connect({ host: external!.address, port }, () => { s.destroy(); done('connected'); });
        s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
      });
      t.equal(err, 'ECONNREFUSED', `not reachable on ${external!.address}`);
    });
  });
});
