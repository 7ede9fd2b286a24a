// Background work runs in bounded slices (anti-entropy.ts, hinted-handoff.ts, ownership-handoff.ts): each
// slice does a bounded amount of work and leaves the rest to a 0 ms timer, so no slice holds the event
// loop for long, and the slices together still cover everything one unsliced pass covered.
import t from 'tap';
import { AntiEntropy } from '../node/core/anti-entropy.js';
import { HintedHandoff } from '../node/core/hinted-handoff.js';
import { OwnershipHandoff } from '../node/core/ownership-handoff.js';
import { MerkleTree } from '../node/core/merkle.js';
import { sha256Hex } from '../node/core/hash.js';
import type { NodeContext } from '../node/core/node-context.js';

interface Sent {
  readonly to: string;
  readonly msg: Record<string, unknown> & { type: string };
}

/** A context with just what the background tasks use; timers queue callbacks that `drain` runs one per slice. */
function fakeContext(partitions: number, opts: { hints?: number; held?: number[] } = {}) {
  const sent: Sent[] = [];
  const queued: (() => void)[] = [];
  const trees = new Map<number, MerkleTree>();
  const tree = (p: number): MerkleTree => {
    let x = trees.get(p);
    if (x === undefined) trees.set(p, (x = new MerkleTree()));
    return x;
  };
  const hints = Array.from({ length: opts.hints ?? 0 }, (_, i) => ({ id: `h${i}`, owner: 'n2', kind: 'kv' as const, key: `k${i}`, state: {}, version: 1 }));
  const all = Array.from({ length: partitions }, (_, p) => p);
  const ctx = {
    id: 'n1',
    config: { antiEntropy: true, hintedHandoff: true, requestTimeoutMs: 1000 },
    faults: { noRepair: false, dropHints: false, durable: true },
    counters: { aeRounds: 0, keysRepaired: 0, hintsDelivered: 0, handoffKeys: 0 },
    env: { random: { next: () => 0 }, logger: { log: () => undefined } },
    view: {
      ring: { version: 1 },
      replicatedPartitions: () => all,
      homeOfPartition: (p: number) => ((opts.held ?? []).includes(p) ? ['n2', 'n3'] : ['n1', 'n2', 'n3']),
      homeOf: () => ['n2'],
      isHealthy: () => true,
      members: new Map(),
      partialHandoff: false,
      handedOff: 0,
      prunePastRings: () => undefined,
    },
    store: {
      tree,
      partitionsHeld: () => opts.held ?? [],
      keysOf: () => [],
    },
    hints: { size: hints.length, all: () => hints, get: (id: string) => hints.find((h) => h.id === id), remove: async () => true },
    requests: { start: () => ({ id: 'r', finish: () => undefined }) },
    timers: { after: (_ms: number, fn: () => void) => void queued.push(fn) },
    send: (to: string, msg: Sent['msg']) => void sent.push({ to, msg }),
    encodeState: () => ({}),
    stopped: () => false,
  };
  /** Runs the queued slices one at a time; returns how many ran. */
  const drain = (each: () => void = () => undefined): number => {
    let n = 0;
    while (queued.length > 0) {
      queued.shift()!();
      n += 1;
      each();
    }
    return n;
  };
  return { ctx: ctx as unknown as NodeContext, sent, queued, tree, drain };
}

t.test('an anti-entropy round sends every shared root, in slices of at most 16 partitions and 64 rehashed buckets', async (t) => {
  const f = fakeContext(192);
  // Stale buckets everywhere: 192 trees × 20 keys, none hashed yet.
  for (let p = 0; p < 192; p++) for (let k = 0; k < 20; k++) f.tree(p).set(`p${p}-k${k}`, sha256Hex(`${p}/${k}`));
  const ae = new AntiEntropy(f.ctx);
  let staleBefore = 0;
  const sliceWork: number[] = [];
  const stale = (): number => [...Array(192).keys()].reduce((n, p) => n + f.tree(p).dirtyBuckets, 0);
  staleBefore = stale();
  ae.tick();
  sliceWork.push(staleBefore - stale());
  staleBefore = stale();
  const slices = 1 + f.drain(() => {
    sliceWork.push(staleBefore - stale());
    staleBefore = stale();
  });
  const rootMsgs = f.sent.filter((s) => s.msg.type === 'ae-roots');
  const covered = rootMsgs.flatMap((s) => Object.keys(s.msg['roots'] as Record<string, string>).map(Number)).sort((a, b) => a - b);
  t.same(covered, [...Array(192).keys()], 'every shared partition once, in order');
  t.ok(rootMsgs.every((s) => Object.keys(s.msg['roots'] as object).length <= 16), 'at most 16 roots per message');
  t.ok(sliceWork.every((w) => w <= 64), `at most 64 buckets rehashed per slice (max ${Math.max(...sliceWork)})`);
  t.ok(slices > 192 / 16, `the round took ${slices} slices`);
  for (const s of rootMsgs) {
    for (const [p, root] of Object.entries(s.msg['roots'] as Record<string, string>)) t.equal(root, f.tree(Number(p)).root(), `root of ${p} is the tree's`);
  }
  t.equal(stale(), 0);
  t.equal(f.ctx.counters.aeRounds, 1);
  // With every tree clean, the partition bound alone sets the slices: 192 roots in 12 messages of 16.
  const sentBefore = f.sent.length;
  ae.tick();
  f.drain();
  t.same(f.sent.slice(sentBefore).map((s) => Object.keys(s.msg['roots'] as object).length), new Array(12).fill(16));
  t.equal(f.ctx.counters.aeRounds, 2);
});

t.test('a responder answers one slice with leaves for at most 4 differing partitions, rotating which', async (t) => {
  const f = fakeContext(32);
  for (let p = 0; p < 32; p++) f.tree(p).set(`k${p}`, sha256Hex(String(p)));
  const ae = new AntiEntropy(f.ctx);
  const roots = Object.fromEntries([...Array(16).keys()].map((p) => [String(p), 'differs']));
  const answered = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const before = f.sent.length;
    ae.onRoots('n2', { type: 'ae-roots', roots });
    const leaves = f.sent.slice(before).filter((s) => s.msg.type === 'ae-leaves');
    t.equal(leaves.length, 4, 'four partitions answered');
    for (const l of leaves) answered.add(l.msg['p'] as number);
  }
  t.ok(answered.size > 4, `the answered partitions rotate (${answered.size} distinct over 4 messages)`);
});

t.test('the initiator lists the differing buckets that fit in 256 keys, and one bucket at least', async (t) => {
  const f = fakeContext(1);
  for (let k = 0; k < 2000; k++) f.tree(0).set(`key-${k}`, sha256Hex(String(k)));
  const ae = new AntiEntropy(f.ctx);
  ae.onLeaves('n2', { type: 'ae-leaves', p: 0, leaves: new Array(64).fill('other') });
  const m = f.sent.find((s) => s.msg.type === 'ae-hashes')!.msg;
  const keys = Object.keys(m['hashes'] as object).length;
  t.ok(keys <= 256 && keys > 0, `${keys} keys listed`);
  t.equal((m['buckets'] as number[]).reduce((n, b) => n + f.tree(0).bucketSize(b), 0), keys, 'exactly the keys of the buckets listed');
});

t.test('hint delivery offers at most 64 hints per slice and every hint once per pass', async (t) => {
  const f = fakeContext(1, { hints: 300 });
  const hh = new HintedHandoff(f.ctx);
  const perSlice: number[] = [];
  let before = 0;
  hh.tick();
  perSlice.push(f.sent.length - before);
  before = f.sent.length;
  f.drain(() => {
    perSlice.push(f.sent.length - before);
    before = f.sent.length;
  });
  t.same(perSlice, [64, 64, 64, 64, 44]);
  t.same(new Set(f.sent.map((s) => s.msg['key'])).size, 300, 'each hint offered once');
  hh.tick();
  t.equal(f.sent.length, 300, 'hints in flight are not offered again');
});

t.test('ownership handoff streams at most 4 partitions at once', async (t) => {
  const f = fakeContext(16, { held: [...Array(10).keys()] });
  let started = 0;
  const oh = new OwnershipHandoff(f.ctx);
  const never = new Promise<boolean>(() => undefined);
  (oh as unknown as { handoffPartition: () => Promise<boolean> }).handoffPartition = () => {
    started += 1;
    return never;
  };
  oh.tick();
  t.equal(started, 4);
  oh.tick();
  t.equal(started, 4, 'no more while four are in flight');
  t.equal(f.ctx.view.handedOff, 0, 'the ring is not confirmed while partitions wait');
});
