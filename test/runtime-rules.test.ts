// Pure pieces of the runtimes: iptables rules generated from a grudge, chain naming and parsing, the
// libfaketime offset syntax, run ids that name their owner, and the image's dependency closure.
import t from 'tap';
import { chainName, hostGrudgeRules, namespaceGrudgeRules, parseChains } from '../harness/runtime/iptables.js';
import { formatOffset } from '../harness/runtime/faketime.js';
import { isStaleRun, newRunId, ownerPid } from '../harness/runtime/cleanup.js';
import { dependencyClosure, importedPackages } from '../harness/runtime/docker-image.js';

const addr: Record<string, string> = { n1: '127.0.0.11', n2: '127.0.0.12', n3: '127.0.0.13' };

t.test('host rules drop from each grudged source to the node that holds the grudge', async (t) => {
  const rules = hostGrudgeRules('QUORUMLAB-1-ab', { n1: ['n2', 'n3'], n2: ['n1'] }, (id) => addr[id]);
  t.same(rules, [
    ['-A', 'QUORUMLAB-1-ab', '-s', '127.0.0.12', '-d', '127.0.0.11', '-j', 'DROP'],
    ['-A', 'QUORUMLAB-1-ab', '-s', '127.0.0.13', '-d', '127.0.0.11', '-j', 'DROP'],
    ['-A', 'QUORUMLAB-1-ab', '-s', '127.0.0.11', '-d', '127.0.0.12', '-j', 'DROP'],
  ]);
  t.same(hostGrudgeRules('C', { n1: ['n2'] }, (id) => addr[id], 17000), [
    ['-A', 'C', '-s', '127.0.0.12', '-d', '127.0.0.11', '-p', 'tcp', '--dport', '17000', '-j', 'DROP'],
    ['-A', 'C', '-s', '127.0.0.12', '-d', '127.0.0.11', '-p', 'tcp', '--sport', '17000', '-j', 'DROP'],
  ], 'with a peer port only that run\'s peer traffic is cut');
  t.same(hostGrudgeRules('C', { n1: ['n9'] }, (id) => addr[id]), [], 'unknown nodes are ignored');
  t.same(hostGrudgeRules('C', {}, (id) => addr[id]), [], 'an empty grudge is no rules');
});

t.test('namespace rules only match the source', async (t) => {
  t.same(namespaceGrudgeRules(['n2'], (id) => ({ n2: '10.1.2.12' })[id]), [['-A', 'INPUT', '-s', '10.1.2.12', '-j', 'DROP']]);
});

t.test('chain names: prefixed, bounded, parsed back from iptables -S', async (t) => {
  t.equal(chainName('123-abcd'), 'QUORUMLAB-123-abcd');
  t.throws(() => chainName('x'.repeat(30)), /invalid iptables chain/);
  t.throws(() => chainName('a b'), /invalid/);
  t.same(parseChains('-P INPUT ACCEPT\n-N QUORUMLAB-1-aa\n-N DOCKER\n-A INPUT -j QUORUMLAB-1-aa\n-N QUORUMLAB-2-bb\n'), ['QUORUMLAB-1-aa', 'QUORUMLAB-2-bb']);
});

t.test('libfaketime offsets: signed seconds with millisecond decimals', async (t) => {
  t.equal(formatOffset(0), '+0');
  t.equal(formatOffset(3_600_000), '+3600');
  t.equal(formatOffset(-7_200_000), '-7200');
  t.equal(formatOffset(1250), '+1.250');
  t.equal(formatOffset(-5), '-0.005');
  t.throws(() => formatOffset(Number.NaN), /definite/);
});

t.test('run ids name their owner; a run whose owner is gone is stale', async (t) => {
  const id = newRunId();
  t.equal(ownerPid(id), process.pid);
  t.notOk(isStaleRun(id), 'our own run is never stale');
  // pid 2^22+ is above Linux's pid_max default, so no such process exists.
  t.ok(isStaleRun('4194999-abcd'));
  t.notOk(isStaleRun('not-a-run-id'), 'ids we did not make are left alone');
  t.notOk(isStaleRun('1-abcd'), 'pid 1 is alive');
});

t.test('the image carries the packages the node imports and their dependencies', async (t) => {
  const roots = importedPackages(process.cwd());
  t.ok(roots.includes('tsx'), 'the loader');
  t.ok(roots.includes('classic-level'), 'the storage engine');
  t.notOk(roots.includes('dockerode'), 'no harness packages');
  const closure = [...dependencyClosure(process.cwd(), roots).keys()];
  for (const p of ['node_modules/tsx', 'node_modules/esbuild', 'node_modules/classic-level', 'node_modules/abstract-level']) t.ok(closure.includes(p), p);
  t.ok(closure.length < 40, `small closure (${closure.length})`);
});
