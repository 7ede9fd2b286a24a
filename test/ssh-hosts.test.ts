// The SSH runtime's inputs, without hosts: `--hosts` and inventory parsing, the flags' usage errors, ssh's
// complaints put in one sentence, and the host facts that decide whether a host can run a node.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sshOptionsFrom } from '../harness/ssh-args.js';
import { describeSshFailure, shellQuote } from '../harness/runtime/ssh-client.js';
import { controllerArch, hostPartitionCapability, hostUnusable, parseFacts } from '../harness/runtime/ssh-host-check.js';
import { parseRemoved, parseRuns } from '../harness/runtime/ssh-host-run.js';
import { parseHostList, parseInventory, resolveHosts } from '../harness/runtime/ssh-hosts.js';

t.test('--hosts items', async (t) => {
  t.same(parseHostList('root@10.0.0.1, admin@db2:2222,10.0.0.3', { key: '/k' }), [
    { host: '10.0.0.1', port: 22, user: 'root', key: '/k', dir: '/var/tmp/quorumlab' },
    { host: 'db2', port: 2222, user: 'admin', key: '/k', dir: '/var/tmp/quorumlab' },
    { host: '10.0.0.3', port: 22, user: 'root', key: '/k', dir: '/var/tmp/quorumlab' },
  ]);
  t.same(parseHostList('root@[fd00::1]:22')[0]!.host, 'fd00::1');
  t.throws(() => parseHostList(''), /at least one/);
  t.throws(() => parseHostList('root@a:99999'), /port must be 1-65535/);
  t.throws(() => parseHostList('a,root@a'), /listed twice/);
  t.throws(() => parseHostList('a b'), /not user@host\[:port\]/);
});

t.test('inventory files', async (t) => {
  const inv = parseInventory(JSON.stringify({
    user: 'ops', key: 'keys/id', dir: '/srv/ql', knownHosts: 'kh', peerPort: 7100,
    hosts: [{ host: 'db1', client: '192.0.2.1', peer: '10.1.0.1' }, { host: '10.0.0.2', port: 2200, user: 'root', dir: '/tmp/x/' }, 'admin@10.0.0.3'],
  }), '/etc/ql/cluster.json');
  t.same(inv.hosts, [
    { host: 'db1', port: 22, user: 'ops', key: '/etc/ql/keys/id', client: '192.0.2.1', peer: '10.1.0.1', dir: '/srv/ql' },
    { host: '10.0.0.2', port: 2200, user: 'root', key: '/etc/ql/keys/id', dir: '/tmp/x' },
    { host: '10.0.0.3', port: 22, user: 'admin', key: '/etc/ql/keys/id', dir: '/srv/ql' },
  ]);
  t.equal(inv.knownHostsFile, '/etc/ql/kh');
  t.equal(inv.peerPort, 7100);
  t.throws(() => parseInventory('{', 'c.json'), /c\.json: not JSON/);
  t.throws(() => parseInventory('{"hosts":[]}', 'c.json'), /non-empty list/);
  t.throws(() => parseInventory('{"hosts":["a"],"hsots":1}', 'c.json'), /unknown field "hsots"/);
  t.throws(() => parseInventory('{"hosts":[{"host":"a","peer":"db"}]}', 'c.json'), /peer must be an IP address/);
  t.throws(() => parseInventory('{"hosts":[{"host":"a","dir":"rel/dir"}]}', 'c.json'), /dir must be an absolute path/);
});

t.test('addresses settle to IPs, one node per peer address', async (t) => {
  const [h] = await resolveHosts(parseHostList('root@10.0.0.9'));
  t.equal(h!.client, '10.0.0.9');
  t.equal(h!.peer, '10.0.0.9');
  const named = await resolveHosts([{ host: 'db1', port: 22, user: 'root', dir: '/x', client: '192.0.2.1', peer: '10.1.0.1' }]);
  t.equal(named[0]!.peer, '10.1.0.1', 'given addresses need no lookup');
  await t.rejects(resolveHosts([...parseHostList('root@10.0.0.9'), { host: '10.0.0.8', port: 22, user: 'root', dir: '/x', peer: '10.0.0.9' }]), /share the peer address 10\.0\.0\.9/);
});

t.test('the flags: usage errors, and an inventory read from disk', async (t) => {
  t.equal(sshOptionsFrom({ runtime: 'local' }), undefined);
  t.throws(() => sshOptionsFrom({ runtime: 'local', hosts: 'a' }), /--hosts needs --runtime ssh/);
  t.throws(() => sshOptionsFrom({ runtime: 'docker', acceptNewHostKeys: true }), /--accept-new-host-keys needs --runtime ssh/);
  t.throws(() => sshOptionsFrom({ runtime: 'ssh' }), /needs --hosts .* or --inventory/);
  t.throws(() => sshOptionsFrom({ runtime: 'ssh', hosts: 'a', inventory: 'b' }), /not both/);
  t.throws(() => sshOptionsFrom({ runtime: 'ssh', inventory: '/nonexistent/inv.json' }), /cannot read \/nonexistent\/inv\.json: ENOENT/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ql-ssh-args-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'inv.json');
  writeFileSync(file, JSON.stringify({ knownHosts: 'kh', httpPort: 9000, hosts: ['root@10.0.0.1'] }));
  t.same(sshOptionsFrom({ runtime: 'ssh', inventory: file, acceptNewHostKeys: true }), {
    hosts: [{ host: '10.0.0.1', port: 22, user: 'root', dir: '/var/tmp/quorumlab' }], knownHostsFile: path.join(dir, 'kh'), httpPort: 9000, acceptNewHostKeys: true,
  });
  t.throws(() => sshOptionsFrom({ runtime: 'ssh', inventory: file, sshKey: '/k' }), /--ssh-key goes with --hosts/);
});

t.test('ssh complaints in one sentence each', async (t) => {
  const target = { user: 'root', host: '10.0.0.1', port: 22 };
  t.match(describeSshFailure('Host key verification failed.\n', target, { knownHostsFile: '/kh' }), /not in \/kh .*--accept-new-host-keys/);
  t.match(describeSshFailure('@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.', target), /differs from the one in/);
  t.match(describeSshFailure('root@10.0.0.1: Permission denied (publickey).', target), /authentication was refused for root/);
  t.match(describeSshFailure('ssh: connect to host 10.0.0.1 port 22: Connection refused', target), /connection refused on port 22/);
  t.match(describeSshFailure('ssh: connect to host 10.0.0.1 port 22: No route to host', target), /cannot be reached \(.*No route to host\)/);
  t.match(describeSshFailure('ssh: connect to host 10.0.0.1 port 22: Connection timed out', target), /cannot be reached/);
  t.equal(shellQuote("it's"), `'it'\\''s'`);
  t.equal(shellQuote('/plain/path-1.2'), '/plain/path-1.2');
});

t.test('host facts', async (t) => {
  const ok = parseFacts(`os=Linux\narch=${controllerArch()}\nuid=0\niptables=ok\n`);
  t.equal(hostUnusable(ok), undefined);
  t.equal(hostPartitionCapability('root@h', ok), true);
  t.match(hostUnusable({ ...ok, arch: 'riscv64' }), /riscv64, and the node bundle carries this controller's/);
  t.match(hostUnusable(parseFacts(`os=Linux\narch=${controllerArch()}\nuid=0\nmissing=setsid\nmissing=tar\n`)), /lacks setsid, tar/);
  t.match(hostUnusable({ ...ok, os: 'FreeBSD' }), /FreeBSD/);
  t.same(hostPartitionCapability('admin@h', { ...ok, uid: 1000 }), { unavailable: 'partitions need root for iptables on admin@h (log in as root)' });
  t.same(hostPartitionCapability('root@h', { ...ok, iptables: 'not installed' }), { unavailable: 'iptables is not usable on root@h: not installed' });
  t.same(parseRuns('run 123-abcd controller=ctl pid=123 started=x \nnoise\nrun bad;id controller=x\n'), [{ runId: '123-abcd', controller: 'ctl', pid: 123 }]);
  t.same(parseRemoved('processes=2 chain=1 dir=0\n'), { processes: 2, chain: true, dir: false });
});
