// Peer messages are decoded once at the node's edge: every type the node sends decodes back to what was
// meant, a malformed one is refused with a reason, and a node receiving one counts it, logs it and drops
// it without throwing or answering.
import t from 'tap';
import { defaultNodeConfig, type NodeConfig } from '../node/core/config.js';
import type { CoreEnv, PeerMessage, StorageWrite, TimerHandle } from '../node/core/env.js';
import { dataTypes } from '../node/core/local-store.js';
import { decodePeerMessage, latencyClassOf, latencyClasses } from '../node/core/messages.js';
import { DynamoNode } from '../node/core/node.js';
import { emptyVersions, versionsToJson, versionsWrite } from '../node/core/versions.js';

const types = dataTypes(false);
const ctx = { partitions: 8, types };
const kvJson = versionsToJson(versionsWrite(emptyVersions, {}, new Uint8Array([1, 2]), 'a', 1000).versions);

t.test('every message type the node speaks decodes', async (t) => {
  const good: PeerMessage[] = [
    { type: 'ping' },
    { type: 'gossip', reply: true, members: [], ring: null },
    { type: 'read', req: 'r1', kind: 'kv', key: 'k' },
    { type: 'read-reply', req: 'r1', s: null },
    { type: 'write', req: 'r2', kind: 'kv', key: 'k', s: kvJson, hint: 'b' },
    { type: 'write', kind: 'kv', key: 'k', s: kvJson },
    { type: 'write-ack', req: 'r2' },
    { type: 'fwd-put', req: 'r3', key: 'k', v: 'AQI=', ctx: { a: 1 }, w: 2, timeoutMs: 800 },
    { type: 'fwd-put-reply', req: 'r3', result: { ok: true, context: 'c' } },
    { type: 'hint', req: 'r4', kind: 'kv', key: 'k', s: kvJson },
    { type: 'hint-ack', req: 'r4' },
    { type: 'reap', key: 'k', s: kvJson },
    { type: 'reap-check', req: 'r6', keys: [{ key: 'k', h: 'ab' }] },
    { type: 'reap-check-reply', req: 'r6', ring: 3, transition: false, held: ['k'], absent: [] },
    { type: 'handoff', req: 'r5', entries: [{ kind: 'kv', key: 'k', s: kvJson }] },
    { type: 'handoff-ack', req: 'r5' },
    { type: 'ae-roots', roots: { 3: 'abc' } },
    { type: 'ae-leaves', p: 3, leaves: ['x', 'y'] },
    { type: 'ae-hashes', p: 3, buckets: [0, 1], hashes: { 'kv/k': 'h' } },
    { type: 'ae-states', p: 3, entries: [], want: ['kv/k'] },
  ];
  t.same(new Set(good.map((m) => m.type)), new Set(Object.keys(latencyClasses)), 'one sample per declared type');
  for (const m of good) {
    const d = decodePeerMessage(JSON.parse(JSON.stringify(m)) as PeerMessage, ctx);
    t.ok(d.ok, `${m.type} decodes${d.ok ? '' : `: ${d.error}`}`);
  }
  const w = decodePeerMessage({ type: 'write', req: 'r', kind: 'kv', key: 'k', s: kvJson }, ctx);
  t.ok(w.ok && w.message.type === 'write' && types.kv.equal(w.message.s as never, types.kv.fromJson(kvJson)), 'a state arrives decoded');
  const f = decodePeerMessage({ type: 'fwd-put', req: 'r', key: 'k', v: 'AQI=', ctx: 'nonsense', w: 2 }, ctx);
  t.ok(f.ok && f.message.type === 'fwd-put' && f.message.v instanceof Uint8Array && Object.keys(f.message.ctx).length === 0, 'a forwarded value is bytes; an unreadable context is none');
});

t.test('malformed messages are refused with a reason', async (t) => {
  const bad: [string, PeerMessage][] = [
    ['unknown type', { type: 'nonsense' }],
    ['read without a key', { type: 'read', req: 'r', kind: 'kv' }],
    ['read of an unknown kind', { type: 'read', req: 'r', kind: 'blob', key: 'k' }],
    ['write without a state', { type: 'write', req: 'r', kind: 'kv', key: 'k' }],
    ['write with a garbage state', { type: 'write', req: 'r', kind: 'kv', key: 'k', s: { siblings: 'no' } }],
    ['ack without a request id', { type: 'write-ack' }],
    ['leaves of a partition out of range', { type: 'ae-leaves', p: 8, leaves: [] }],
    ['roots that are not strings', { type: 'ae-roots', roots: { 1: 5 } }],
    ['handoff entries that are not a list', { type: 'handoff', req: 'r', entries: {} }],
    ['gossip without members', { type: 'gossip', ring: null }],
    ['gossip without members behind an overlong digest', { type: 'gossip', ring: null, membersDigest: 'x'.repeat(65) }],
    ['gossip without members behind a digest that is not a string', { type: 'gossip', ring: null, membersDigest: 5 }],
  ];
  for (const [what, m] of bad) {
    const d = decodePeerMessage(m, ctx);
    t.ok(!d.ok && d.error.length > 0, `${what}: ${d.ok ? 'accepted' : d.error}`);
  }
});

t.test('gossip: a ring left out is told apart from no ring, and a ring digest is read when it is short', async (t) => {
  const dec = (m: PeerMessage) => {
    const d = decodePeerMessage(JSON.parse(JSON.stringify(m)) as PeerMessage, ctx);
    if (!d.ok || d.message.type !== 'gossip') throw new Error(`not a gossip: ${JSON.stringify(d)}`);
    return d.message;
  };
  const omitted = dec({ type: 'gossip', reply: false, members: [], ringDigest: '3:abc' });
  t.equal(omitted.ringOmitted, true, 'no ring field: the sender left it out');
  t.equal(omitted.ring, undefined);
  t.equal(omitted.ringDigest, '3:abc');
  const none = dec({ type: 'gossip', reply: false, members: [], ring: null, ringDigest: 'none' });
  t.equal(none.ringOmitted, undefined, 'ring null: the sender has no ring, it did not leave one out');
  const bad = dec({ type: 'gossip', reply: false, members: [], ring: { version: 1, partitions: 99, owners: [], members: [] }, ringDigest: 7 });
  t.equal(bad.ringOmitted, undefined, 'a ring of another Q is unreadable, not left out');
  t.equal(bad.ringDigest, undefined, 'a digest that is not a string is ignored');
  t.equal(dec({ type: 'gossip', reply: false, members: [], ringDigest: 'x'.repeat(65) }).ringDigest, undefined, 'so is an overlong one');
  const spoof = dec({ type: 'gossip', reply: false, members: [], ring: null, ringOmitted: true } as PeerMessage);
  t.equal(spoof.ringOmitted, undefined, 'ringOmitted is the decoder\'s to set, never the sender\'s');
});

t.test('gossip: entries left out behind a member digest decode as none, flagged; bad entries are skipped', async (t) => {
  const dec = (m: PeerMessage) => {
    const d = decodePeerMessage(JSON.parse(JSON.stringify(m)) as PeerMessage, ctx);
    if (!d.ok || d.message.type !== 'gossip') throw new Error(`not a gossip: ${JSON.stringify(d)}`);
    return d.message;
  };
  const omitted = dec({ type: 'gossip', reply: false, membersDigest: '5:abc', ring: null });
  t.equal(omitted.membersOmitted, true, 'no members field behind a digest: the sender left them out');
  t.same(omitted.members, []);
  t.equal(omitted.membersDigest, '5:abc');
  const entry = { id: 'n2', addr: 'sim:n2', status: 'up', incarnation: 2, heartbeat: 0, boot: '2.abc' } as const;
  const full = dec({ type: 'gossip', reply: false, members: [entry], membersDigest: '1:abc', ring: null });
  t.equal(full.membersOmitted, undefined, 'entries sent: nothing left out');
  t.same(full.members, [entry], 'an entry with a boot nonce is read');
  const odd = dec({ type: 'gossip', reply: false, members: [entry, { ...entry, id: 'n3', boot: 'x'.repeat(65) }, { ...entry, id: 'n4', boot: 7 }], ring: null } as unknown as PeerMessage);
  t.same(odd.members?.map((m) => m.id), ['n2'], 'entries with an overlong or non-string boot nonce are skipped');
  t.equal(odd.membersDigest, undefined, 'an older sender has no digest');
  const spoof = dec({ type: 'gossip', reply: false, members: [], ring: null, membersOmitted: true } as PeerMessage);
  t.equal(spoof.membersOmitted, undefined, "membersOmitted is the decoder's to set, never the sender's");
});

t.test('latency classes: replies are acks or responses, unknown types background', async (t) => {
  t.equal(latencyClassOf('write'), 'write');
  t.equal(latencyClassOf('write-ack'), 'ack');
  t.equal(latencyClassOf('read'), 'read');
  t.equal(latencyClassOf('read-reply'), 'response');
  t.equal(latencyClassOf('gossip'), 'background');
  t.equal(latencyClassOf('toString'), 'background', 'not fooled by inherited properties');
});

/** A node on a hand-driven environment: nothing runs unless the test says so. */
function bareNode(): { node: DynamoNode; sent: [string, PeerMessage][]; logs: string[] } {
  const sent: [string, PeerMessage][] = [];
  const logs: string[] = [];
  const data = new Map<string, Uint8Array>();
  let id = 0;
  const env: CoreEnv = {
    clock: { wallMs: () => 1_000_000, monoMs: () => 0 },
    timers: { setTimeout: (): TimerHandle => ({ id: id++ }), clearTimeout: () => undefined },
    random: { next: () => 0.5 },
    transport: { send: (to, m) => void sent.push([to, m]) },
    storage: {
      get: async (ns, key) => data.get(`${ns}/${key}`),
      write: async (batch: readonly StorageWrite[]) => {
        for (const w of batch) w.type === 'put' ? data.set(`${w.ns}/${w.key}`, w.value as Uint8Array) : data.delete(`${w.ns}/${w.key}`);
      },
      scan: async function* () {},
    },
    logger: { log: (_level, event) => void logs.push(event) },
  };
  const config: NodeConfig = { ...defaultNodeConfig, secret: 'test-secret', id: 'a', peerAddr: 'a:1', seeds: [{ id: 'a', addr: 'a:1' }], partitions: 8 };
  return { node: new DynamoNode(config, env), sent, logs };
}

t.test('a node counts, logs and drops a malformed message', async (t) => {
  const { node, sent, logs } = bareNode();
  await node.start();
  const before = sent.length;
  t.doesNotThrow(() => node.receive('b', { type: 'read', req: 'r', kind: 'blob', key: 'k' }));
  t.doesNotThrow(() => node.receive('b', { type: 'no-such-type' }));
  await new Promise((r) => setImmediate(r));
  t.same(node.status()['messages'], { malformed: 2 }, 'visible in status');
  t.equal(logs.filter((e) => e === 'bad-peer-message').length, 2, 'logged once each');
  t.equal(sent.length, before, 'nothing answered');
  node.receive('b', { type: 'read', req: 'r', kind: 'kv', key: 'k' });
  await new Promise((r) => setImmediate(r));
  t.same(sent.at(-1), ['b', { type: 'read-reply', req: 'r', s: null }], 'a well-formed read is answered');
  t.same(node.status()['messages'], { malformed: 2 });
  node.stop();
});
