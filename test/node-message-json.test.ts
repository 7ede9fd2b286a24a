import t from 'tap';
import type { PeerMessage } from '../node/core/env.js';
import { jsonText } from '../node/core/json-text.js';
import { dataTypes } from '../node/core/local-store.js';
import { emptyVersions, versionsWrite } from '../node/core/versions.js';
import { messageJson } from '../node/peer-outbound.js';

t.test('jsonText is JSON.stringify, once per object', async (t) => {
  for (const v of [null, 1, 'a"b', [1, 'x'], { a: 1, b: [true, null] }]) t.equal(jsonText(v), JSON.stringify(v));
  const o = { a: 'x'.repeat(2000) };
  t.equal(jsonText(o), jsonText(o));
  // The memo is by identity: an equal object is serialised on its own.
  t.equal(jsonText({ a: 'x'.repeat(2000) }), JSON.stringify(o));
});

t.test('messageJson parses back to the message, with or without a state', async (t) => {
  const kv = dataTypes(false).kv;
  const state = versionsWrite(emptyVersions, {}, new Uint8Array([0, 1, 2, 250]), 'n1', 1000).versions;
  const s = kv.toJson(state);
  const messages: PeerMessage[] = [
    { type: 'write', req: 'r1', kind: 'kv', key: 'k"\u2028', s },
    { type: 'read-reply', req: 'r2', s },
    { type: 'read-reply', req: 'r3', s: null },
    { type: 'write-ack', req: 'r4' },
    { type: 'hint', req: 'r5', kind: 'kv', key: 'k', s, extra: [1, { x: 2 }] },
  ];
  for (const m of messages) {
    t.same(JSON.parse(messageJson(m)), JSON.parse(JSON.stringify(m)), `${m.type} round trip`);
    t.same(kv.fromJson(JSON.parse(messageJson(m))['s'] ?? kv.toJson(emptyVersions)), m['s'] === s ? state : emptyVersions);
  }
  // The same state sent twice (a fan-out) gives the same text both times.
  t.equal(messageJson(messages[0]!), messageJson({ ...messages[0]! }));
});
