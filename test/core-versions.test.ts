// Properties of version vectors and of dotted-version-vector siblings, checked against a model of which
// writes truly saw which: after every replica has merged, exactly the writes no other write saw remain.
import t from 'tap';
import fc from 'fast-check';
import {
  type VersionVector,
  pruneVersionVector,
  vvCompare,
  vvCovers,
  vvDescends,
  vvEqual,
  vvMerge,
  vvAddDot,
} from '../node/core/version-vector.js';
import {
  type Versions,
  decodeVersions,
  emptyVersions,
  encodeVersions,
  lwwMerge,
  lwwWrite,
  causalContext,
  versionsContext,
  versionsEqual,
  versionsFromJson,
  versionsLive,
  versionsToJson,
  versionsMerge,
  versionsWrite,
} from '../node/core/versions.js';
import { isOneShotActor } from '../node/core/actor-ids.js';
import { jsonText } from '../node/core/json-text.js';

const nodes = ['a', 'b', 'c', 'd'];
const arbVv: fc.Arbitrary<VersionVector> = fc.dictionary(fc.constantFrom(...nodes), fc.integer({ min: 0, max: 6 }), { maxKeys: 4 });
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));
const runs = { numRuns: 200 };

t.test('version vectors: partial order laws', async (t) => {
  fc.assert(fc.property(arbVv, (a) => vvDescends(a, a) && vvCompare(a, a) === 'equal'), runs);
  fc.assert(
    fc.property(arbVv, arbVv, (a, b) => {
      if (vvDescends(a, b) && vvDescends(b, a)) return vvEqual(a, b) && vvCompare(a, b) === 'equal';
      const c = vvCompare(a, b);
      const flipped = vvCompare(b, a);
      const mirror = { before: 'after', after: 'before', concurrent: 'concurrent', equal: 'equal' } as const;
      return flipped === mirror[c] && (c === 'after') === (vvDescends(a, b) && !vvDescends(b, a));
    }),
    runs,
  );
  fc.assert(fc.property(arbVv, arbVv, arbVv, (a, b, c) => !(vvDescends(a, b) && vvDescends(b, c)) || vvDescends(a, c)), runs);
  t.equal(vvCompare({ a: 1 }, { b: 1 }), 'concurrent');
  t.equal(vvCompare({ a: 1 }, { a: 2 }), 'before');
  t.equal(vvCompare({ a: 2, b: 0 }, { a: 2 }), 'equal', 'a zero entry equals an absent one');
});

t.test('version vectors: merge is a least upper bound', async (t) => {
  fc.assert(fc.property(arbVv, arbVv, (a, b) => vvEqual(vvMerge(a, b), vvMerge(b, a))), runs);
  fc.assert(fc.property(arbVv, arbVv, arbVv, (a, b, c) => vvEqual(vvMerge(vvMerge(a, b), c), vvMerge(a, vvMerge(b, c)))), runs);
  fc.assert(fc.property(arbVv, (a) => vvEqual(vvMerge(a, a), a)), runs);
  fc.assert(
    fc.property(arbVv, arbVv, arbVv, (a, b, c) => {
      const m = vvMerge(a, b);
      const upper = vvDescends(m, a) && vvDescends(m, b);
      const least = !(vvDescends(c, a) && vvDescends(c, b)) || vvDescends(c, m);
      return upper && least;
    }),
    runs,
  );
  t.ok(vvCovers({ a: 3 }, { node: 'a', counter: 3 }));
  t.notOk(vvCovers({ a: 3 }, { node: 'a', counter: 4 }));
  t.notOk(vvCovers({}, { node: 'b', counter: 1 }));
});

t.test('siblings: blind writes, context writes and resolution', async (t) => {
  const x = versionsWrite(emptyVersions, {}, enc('x'), 'a', 1).versions;
  const xy = versionsMerge(x, versionsWrite(emptyVersions, {}, enc('y'), 'b', 2).versions);
  t.same(versionsLive(xy).map((s) => dec(s.value)), ['x', 'y'], 'two blind writes give two siblings');

  const blind = versionsWrite(xy, {}, enc('z'), 'a', 3);
  t.equal(blind.versions.siblings.length, 3, 'a blind write is a sibling of everything');
  t.same(blind.written.dot, { node: 'a', counter: 2 }, 'the coordinator mints past its own earlier dot');

  const resolved = versionsWrite(xy, versionsContext(xy), enc('xy'), 'c', 4).versions;
  t.same(versionsLive(resolved).map((s) => dec(s.value)), ['xy'], 'a write that read both siblings resolves them');

  // A context that saw only x replaces x and leaves y.
  const ctxX = versionsContext(x);
  const partial = versionsWrite(xy, ctxX, enc('x2'), 'b', 5).versions;
  t.same(versionsLive(partial).map((s) => dec(s.value)).sort(), ['x2', 'y'], 'a context write supersedes exactly what it saw');

  // Merging a stale replica back does not revive superseded versions.
  t.ok(versionsEqual(versionsMerge(partial, x), partial), 'a superseded version does not come back through a merge');

  const deleted = versionsWrite(resolved, versionsContext(resolved), null, 'a', 6).versions;
  t.same(versionsLive(deleted), [], 'a delete leaves only a tombstone');
  t.equal(deleted.siblings.length, 1);
  t.ok(vvCovers(versionsContext(deleted), resolved.siblings[0]!.dot), 'the tombstone context still covers what it deleted');
});

// ---- A model-checked history of replicas, clients and merges -------------------------------------

type Op =
  | { kind: 'write'; replica: number; readFrom: number[]; blind: boolean; del: boolean }
  | { kind: 'merge'; to: number; from: number };

const replicaCount = 3;
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    replica: fc.integer({ min: 0, max: replicaCount - 1 }),
    readFrom: fc.uniqueArray(fc.integer({ min: 0, max: replicaCount - 1 }), { minLength: 1, maxLength: replicaCount }),
    blind: fc.boolean(),
    del: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('merge' as const),
    to: fc.integer({ min: 0, max: replicaCount - 1 }),
    from: fc.integer({ min: 0, max: replicaCount - 1 }),
  }),
);

/**
 * Runs a history. Writes are coordinated by a replica (its id is the dot node), carry the context of a
 * read that merged some replicas, and reach other replicas only through full-state merges. The model
 * records, for every write, the set of writes its client had seen (transitively).
 */
function runHistory(ops: readonly Op[]): { replicas: Versions[]; seen: Map<string, Set<string>>; writes: string[] } {
  const ids = ['a', 'b', 'c'];
  const replicas: Versions[] = Array.from({ length: replicaCount }, () => emptyVersions);
  const seen = new Map<string, Set<string>>();
  const writes: string[] = [];
  let wallMs = 0;
  for (const op of ops) {
    if (op.kind === 'merge') {
      replicas[op.to] = versionsMerge(replicas[op.to]!, replicas[op.from]!);
      continue;
    }
    const read = op.readFrom.reduce((acc, i) => versionsMerge(acc, replicas[i]!), emptyVersions);
    const id = `w${writes.length}`;
    const saw = new Set<string>();
    if (!op.blind) {
      for (const s of read.siblings) {
        const sid = s.value === null ? `w${s.wallMs}` : dec(s.value)!;
        saw.add(sid);
        for (const x of seen.get(sid) ?? []) saw.add(x);
      }
    }
    seen.set(id, saw);
    writes.push(id);
    const ctx = op.blind ? {} : versionsContext(read);
    // Tombstones are identified by their wall time, which equals the write's index.
    replicas[op.replica] = versionsWrite(replicas[op.replica]!, ctx, op.del ? null : enc(id), ids[op.replica]!, wallMs++).versions;
  }
  return { replicas, seen, writes };
}

function siblingIds(v: Versions): string[] {
  return v.siblings.map((s) => (s.value === null ? `w${s.wallMs}` : dec(s.value)!)).sort();
}

t.test('DVV: after merging everything, exactly the writes nobody saw survive', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 40, size: 'max' }), (ops) => {
      const { replicas, seen, writes } = runHistory(ops);
      const all = replicas.reduce((acc, r) => versionsMerge(acc, r), emptyVersions);
      const superseded = new Set<string>();
      for (const s of seen.values()) for (const x of s) superseded.add(x);
      const expected = writes.filter((w) => !superseded.has(w)).sort();
      return JSON.stringify(siblingIds(all)) === JSON.stringify(expected);
    }),
    { numRuns: 300 },
  );
});

t.test('DVV: merge is commutative, associative and idempotent over replica histories', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 30, size: 'max' }), (ops) => {
      const [x, y, z] = runHistory(ops).replicas as [Versions, Versions, Versions];
      return (
        versionsEqual(versionsMerge(x, y), versionsMerge(y, x)) &&
        versionsEqual(versionsMerge(versionsMerge(x, y), z), versionsMerge(x, versionsMerge(y, z))) &&
        versionsEqual(versionsMerge(x, x), x)
      );
    }),
    { numRuns: 300 },
  );
});

t.test('DVV: sticky read-modify-write clients never cause sibling explosion', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { minLength: 1, maxLength: 80, size: 'max' }),
      (clients, steps) => {
        const replicas: Versions[] = ['a', 'b', 'c'].map(() => emptyVersions);
        let wallMs = 0;
        for (const [c, r, merge] of steps) {
          const client = c % clients;
          if (merge) {
            const to = r % 3;
            replicas[to] = versionsMerge(replicas[to]!, replicas[(to + 1 + (c % 2)) % 3]!);
          } else {
            // Each client is pinned to one replica and always writes what it just read there.
            const home = client % 3;
            const cur = replicas[home]!;
            replicas[home] = versionsWrite(cur, versionsContext(cur), enc(`c${client}:${wallMs}`), ['a', 'b', 'c'][home]!, wallMs++).versions;
          }
          if (replicas.some((v) => v.siblings.length > clients)) return false;
        }
        const all = replicas.reduce((acc, v) => versionsMerge(acc, v), emptyVersions);
        return all.siblings.length <= clients;
      },
    ),
    { numRuns: 300 },
  );
  // The classic case: two clients alternate read-modify-write against replicas that sync between
  // writes. The sibling count stays at one however long it runs.
  let a = emptyVersions;
  let b = emptyVersions;
  for (let i = 0; i < 50; i++) {
    a = versionsWrite(a, versionsContext(a), enc(`a${i}`), 'a', i).versions;
    b = versionsMerge(b, a);
    b = versionsWrite(b, versionsContext(b), enc(`b${i}`), 'b', i).versions;
    a = versionsMerge(a, b);
  }
  t.equal(a.siblings.length, 1);
  t.equal(dec(a.siblings[0]!.value), 'b49');
});

t.test('LWW keeps one version and really drops the loser', async (t) => {
  const late = lwwWrite(emptyVersions, enc('late'), 'a', 200).versions;
  const early = lwwWrite(emptyVersions, enc('early'), 'b', 100).versions;
  t.same(versionsLive(lwwMerge(late, early)).map((s) => dec(s.value)), ['late']);
  t.ok(versionsEqual(lwwMerge(late, early), lwwMerge(early, late)), 'commutative');
  // A write from a node whose clock runs behind is lost even though it came later in real time.
  const skewed = lwwWrite(late, enc('newer-but-skewed'), 'c', 150);
  t.same(versionsLive(skewed.versions).map((s) => dec(s.value)), ['late'], 'the skewed write is silently lost');
  t.equal(dec(skewed.written.value), 'newer-but-skewed');
  // Equal clocks: the writer id breaks the tie the same way everywhere.
  const tieA = lwwWrite(emptyVersions, enc('A'), 'a', 5).versions;
  const tieB = lwwWrite(emptyVersions, enc('B'), 'b', 5).versions;
  t.same(versionsLive(lwwMerge(tieA, tieB)).map((s) => dec(s.value)), ['B']);
  t.same(versionsLive(lwwMerge(tieB, tieA)).map((s) => dec(s.value)), ['B']);
});

t.test('pruning only drops the oldest entries and never makes a write supersede more', async (t) => {
  const vv = { a: 3, b: 1, c: 7, d: 2 };
  t.same(pruneVersionVector(vv, 2, { a: 10, b: 40, c: 30, d: 20 }), { b: 1, c: 7 });
  t.same(pruneVersionVector(vv, 10), vv);
  t.same(pruneVersionVector(vv, 2), { a: 3, b: 1 }, 'without times, ties break by node id');
  // One-shot actors (a non-home coordinator's fresh id) go first, however new: a home's entry covers every
  // dot it minted, a one-shot entry one.
  const mixed = { 'n1@x': 3, 'n2~a.1': 1, 'n3~b.2': 1, 'n4@y': 2 };
  t.same(pruneVersionVector(mixed, 3, { 'n2~a.1': 50, 'n3~b.2': 40, 'n4@y': 10 }, isOneShotActor), { 'n1@x': 3, 'n2~a.1': 1, 'n4@y': 2 });
  t.same(pruneVersionVector(mixed, 1, { 'n2~a.1': 50, 'n4@y': 10 }, isOneShotActor), { 'n4@y': 2 }, 'then by time among the lasting ones');
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 25, size: 'max' }), fc.integer({ min: 0, max: 3 }), (ops, max) => {
      const [x] = runHistory(ops).replicas as [Versions];
      const full = versionsContext(x);
      const pruned = pruneVersionVector(full, max);
      if (!vvDescends(full, pruned) || Object.keys(pruned).length > max) return false;
      const keptFull = versionsWrite(x, full, enc('n'), 'a', 999).versions.siblings.length;
      const keptPruned = versionsWrite(x, pruned, enc('n'), 'a', 999).versions.siblings.length;
      return keptPruned >= keptFull;
    }),
    runs,
  );
});

/** The encoding as JSON.stringify of a freshly built form: what the memoised sibling texts must reproduce. */
function referenceText(v: Versions): string {
  return JSON.stringify({
    s: [...v.siblings]
      .sort((x, y) => (x.dot.node < y.dot.node ? -1 : x.dot.node > y.dot.node ? 1 : x.dot.counter - y.dot.counter))
      .map((s) => ({
        n: s.dot.node,
        c: s.dot.counter,
        p: Object.fromEntries(Object.entries(s.past).filter(([, c]) => c > 0).sort(([a], [b]) => (a < b ? -1 : 1))),
        v: s.value === null ? null : Buffer.from(s.value).toString('base64'),
        t: s.wallMs,
        w: s.writer,
        ...(s.pastDots !== undefined && s.pastDots.length > 0 ? { d: s.pastDots.map((d) => [d.node, d.counter]) } : {}),
      })),
  });
}

t.test('a state\'s context is the fold of its siblings\' pasts and dots, and a dotless causal context its vector', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 30, size: 'max' }), arbVv, (ops, vv) => {
      const replicas = runHistory(ops).replicas;
      for (const x of replicas) {
        let ref: VersionVector = {};
        for (const s of x.siblings) ref = vvAddDot(vvMerge(ref, s.past), s.dot);
        if (JSON.stringify(versionsContext(x)) !== JSON.stringify(ref)) return false;
      }
      return JSON.stringify(causalContext(vv)) === JSON.stringify({ vv: vvMerge({}, vv), dots: [] });
    }),
    runs,
  );
});

t.test('the encoding is JSON.stringify of the JSON form, however its text is built', async (t) => {
  const arbNode = fc.constantFrom('a', 'b', '1', '10', 'é"\\', 'n\u2028');
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 20, size: 'max' }), fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }), arbNode, fc.double({ noNaN: true, noDefaultInfinity: true }), (ops, bytes, by, wallMs) => {
      const [x] = runHistory(ops).replicas as [Versions];
      const v = versionsWrite(x, { vv: { [by]: 2 }, dots: [{ node: by, counter: 5 }] }, bytes, by, wallMs).versions;
      const text = new TextDecoder().decode(encodeVersions(v));
      const back = decodeVersions(encodeVersions(v));
      return (
        text === referenceText(v) &&
        jsonText(versionsToJson(v)) === JSON.stringify(versionsToJson(v)) &&
        new TextDecoder().decode(encodeVersions(back)) === text
      );
    }),
    runs,
  );
});

t.test('a value must be canonical base64, and a re-decoded sibling is the same only when every field is', async (t) => {
  const one = (v: string, extra = ''): string => `{"s":[{"n":"a","c":1,"p":{},"v":${JSON.stringify(v)},"t":1,"w":"a"${extra}}]}`;
  t.same(dec(decodeVersions(enc(one('YQ=='))).siblings[0]!.value), 'a');
  for (const bad of ['YQ', 'YR==', 'Y Q==', 'Y-8=', 'YQ==YQ==', '!!!!']) t.throws(() => decodeVersions(enc(one(bad))), /base64/, `refused: ${bad}`);
  // The same dot with another value, time, writer, past or past dots is decoded afresh, never taken for the first.
  const first = versionsFromJson(JSON.parse(one('YQ==')));
  t.equal(versionsFromJson(JSON.parse(one('YQ=='))).siblings[0], first.siblings[0], 'the same sibling again: the same object');
  const variants = [
    one('Yg=='),
    one('YQ==').replace('"t":1', '"t":2'),
    one('YQ==').replace('"w":"a"', '"w":"b"'),
    one('YQ==').replace('"p":{}', '"p":{"b":1}'),
    one('YQ==', ',"d":[["b",3]]'),
  ];
  for (const text of variants) {
    const v = versionsFromJson(JSON.parse(text));
    t.not(v.siblings[0], first.siblings[0]);
    t.equal(new TextDecoder().decode(encodeVersions(v)), text, `decoded as sent: ${text}`);
  }
  t.same(dec(versionsFromJson(JSON.parse(one('YQ=='))).siblings[0]!.value), 'a', 'and the first still reads as it was');
});

t.test('a re-decoded sibling is matched on its whole past: fewer, more or other entries are another sibling', async (t) => {
  const one = (p: string): string => `{"s":[{"n":"q","c":4,"p":${p},"v":"YQ==","t":1,"w":"q"}]}`;
  const first = versionsFromJson(JSON.parse(one('{"b":1,"c":2}'))).siblings[0]!;
  t.equal(versionsFromJson(JSON.parse(one('{"b":1,"c":2}'))).siblings[0], first, 'the same past: the same object');
  for (const p of ['{"b":1}', '{"c":2}', '{"b":1,"c":2,"d":1}', '{"b":2,"c":2}', '{"b":1,"d":2}', '{}']) {
    const s = versionsFromJson(JSON.parse(one(p))).siblings[0]!;
    t.not(s, first, `past ${p} is not taken for {"b":1,"c":2}`);
    t.same(s.past, JSON.parse(p), `past ${p} decoded as sent`);
  }
  // The same entries in another order or with a zero entry normalise to the same past, whichever object holds it.
  for (const p of ['{"c":2,"b":1}', '{"a":0,"b":1,"c":2}']) {
    const s = versionsFromJson(JSON.parse(one(p))).siblings[0]!;
    t.same(s.past, { b: 1, c: 2 });
    t.equal(new TextDecoder().decode(encodeVersions({ siblings: [s] })), one('{"b":1,"c":2}'));
  }
});

t.test('encoding round-trips any bytes and rejects garbage', async (t) => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 20, size: 'max' }), fc.uint8Array({ maxLength: 64 }), (ops, bytes) => {
      const [x] = runHistory(ops).replicas as [Versions];
      const v = versionsWrite(x, {}, bytes, 'd', 7).versions;
      const e = encodeVersions(v);
      const back = decodeVersions(e);
      return versionsEqual(back, v) && Buffer.from(encodeVersions(back)).equals(Buffer.from(e));
    }),
    runs,
  );
  t.throws(() => decodeVersions(enc('not json')), /malformed versions/);
  t.throws(() => decodeVersions(enc('{"s":[{"n":"a","c":0,"p":{},"v":null,"t":1,"w":"a"}]}')), /counter/);
  t.throws(() => decodeVersions(enc('{"s":[{"n":"a","c":1,"p":{"b":-1},"v":null,"t":1,"w":"a"}]}')), /past/);
});

t.test('the siblings kept for re-decoding hold a bounded number of value bytes', async (t) => {
  const big = Buffer.alloc(1024 * 1024, 7).toString('base64');
  const form = (c: number): unknown => JSON.parse(`{"s":[{"n":"big","c":${c},"p":{},"v":"${big}","t":1,"w":"big"}]}`);
  const first = versionsFromJson(form(1)).siblings[0];
  t.equal(versionsFromJson(form(1)).siblings[0], first, 'kept while there is room');
  // 40 MiB of values later, the first is no longer held (the entry bound alone would keep 4096 of them).
  for (let c = 2; c <= 41; c++) versionsFromJson(form(c));
  t.not(versionsFromJson(form(1)).siblings[0], first, 'decoded afresh once the byte bound cleared the map');
});
