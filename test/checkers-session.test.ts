// Session guarantees per client process: read-your-writes, monotonic reads, monotonic writes,
// writes-follow-reads. Measured in every configuration; valid: false only under a strict quorum with
// version vectors, for a miss of a write acknowledged before the read began. Each history is judged with and
// without the readFrom shortcut.
import t from 'tap';
import { checkSession } from '../checkers/session.js';
import { checkersFor } from '../checkers/index.js';
import type { CheckerResult } from '../checkers/history.js';
import { HistoryBuilder, opts, stripShortcuts } from './checkers-fixtures.js';

const strict = opts({ n: 3, r: 2, w: 2, sloppy: false });
const sloppy = opts({ n: 3, r: 2, w: 2, sloppy: true });
const partial = opts({ n: 3, r: 1, w: 1, sloppy: false });

type G = 'readYourWrites' | 'monotonicReads' | 'monotonicWrites' | 'writesFollowReads';
const stat = (r: CheckerResult, g: G): { checked: number; violations: number; rate: number | null; enforcedViolations: number; examples: Record<string, unknown>[] } =>
  r[g] as never;

/** Judges both forms (with and without shortcuts) in the three configurations. */
function judge(h: HistoryBuilder, expect: (r: CheckerResult, label: string, promised: boolean) => void): void {
  for (const [form, ops] of [['with shortcuts', h.ops], ['contexts only', stripShortcuts(h.ops)]] as const) {
    expect(checkSession(ops, strict), `strict, ${form}`, true);
    expect(checkSession(ops, sloppy), `sloppy, ${form}`, false);
    expect(checkSession(ops, partial), `R + W <= N, ${form}`, false);
  }
}

t.test('the register and pbs workloads run the session checker', async (t) => {
  t.ok(checkersFor('register').includes('session'));
  t.ok(checkersFor('pbs').includes('session'));
  t.notOk(checkersFor('cart').includes('session'));
});

t.test('read-your-writes: a session that misses its own acknowledged write', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.get(0, 'k', []);
  judge(h, (r, label, promised) => {
    t.equal(r.promised, promised, label);
    t.equal(r.valid, promised ? false : true, label);
    t.match(stat(r, 'readYourWrites'), { checked: 1, violations: 1, rate: 1, enforcedViolations: promised ? 1 : 0 }, label);
    t.match(stat(r, 'readYourWrites').examples, [{ key: 'k', process: 0, missed: 'a', returned: [], enforced: promised }], label);
  });
  const ok = new HistoryBuilder();
  ok.put(0, 'k', 'a');
  const r1 = ok.get(1, 'k', ['a']);
  ok.rmw(1, 'k', 'b', r1);
  ok.get(0, 'k', ['b']); // reflects a through b's context
  judge(ok, (r, label) => {
    t.equal(r.valid, true, label);
    t.match(stat(r, 'readYourWrites'), { checked: 1, violations: 0 }, label);
  });
});

t.test('read-your-writes: a delete is reflected unless the read returns a value it covered', async (t) => {
  const h = new HistoryBuilder();
  h.put(1, 'k', 'a');
  const r = h.get(0, 'k', ['a']);
  h.del(0, 'k', r);
  h.get(0, 'k', ['a']);
  judge(h, (res, label) => {
    t.match(stat(res, 'readYourWrites'), { checked: 1, violations: 1, enforcedViolations: 0 }, label);
    t.equal(res.valid, true, `${label}: a missed delete is measured, not enforced (see checkers/session.ts)`);
  });
  const ok = new HistoryBuilder();
  ok.put(1, 'k', 'a');
  const r2 = ok.get(0, 'k', ['a']);
  ok.del(0, 'k', r2);
  ok.get(0, 'k', []);
  judge(ok, (res, label) => t.match(stat(res, 'readYourWrites'), { checked: 1, violations: 0 }, label));
});

t.test('monotonic reads: a later read of the session misses what an earlier one returned', async (t) => {
  const h = new HistoryBuilder();
  h.put(1, 'k', 'a');
  h.get(0, 'k', ['a']);
  h.get(0, 'k', []);
  judge(h, (r, label, promised) => {
    t.match(stat(r, 'monotonicReads'), { checked: 1, violations: 1, enforcedViolations: promised ? 1 : 0 }, label);
    t.equal(r.valid, promised ? false : true, label);
  });
});

t.test('monotonic reads: a value whose write was still in flight is measured, never enforced', async (t) => {
  const h = new HistoryBuilder();
  h.invoke(1, 'put', 'k', 'a');
  h.get(0, 'k', ['a']);
  h.get(0, 'k', []);
  h.complete(1, 'info');
  judge(h, (r, label) => {
    t.match(stat(r, 'monotonicReads'), { checked: 1, violations: 1, enforcedViolations: 0 }, label);
    t.equal(r.valid, true, label);
  });
});

t.test('monotonic writes: a read shows the session\'s second write but not its first', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(0, 'k', 'b'); // blind: does not cover a
  h.get(1, 'k', ['b']);
  judge(h, (r, label) => {
    t.match(stat(r, 'monotonicWrites'), { checked: 1, violations: 1, enforcedViolations: 0 }, label);
    t.match(stat(r, 'monotonicWrites').examples, [{ missed: 'a', writer: 0, process: 1 }], label);
    t.equal(r.valid, true, `${label}: measured, not enforced (see checkers/session.ts)`);
  });
  // The session passing its context: b covers a, and a read of b reflects a.
  const ok = new HistoryBuilder();
  const a = ok.put(0, 'k', 'a');
  ok.rmw(0, 'k', 'b', a);
  ok.get(1, 'k', ['b']);
  judge(ok, (r, label) => {
    t.match(stat(r, 'monotonicWrites'), { checked: 1, violations: 0 }, label);
    t.equal(r.valid, true, label);
  });
});

t.test('writes follow reads: a read shows a session\'s write but not what the session had read before it', async (t) => {
  const h = new HistoryBuilder();
  h.put(1, 'k', 'a');
  h.get(0, 'k', ['a']);
  h.put(0, 'k', 'b'); // blind
  h.get(2, 'k', ['b']);
  judge(h, (r, label) => {
    t.match(stat(r, 'writesFollowReads'), { checked: 1, violations: 1, enforcedViolations: 0 }, label);
    t.match(stat(r, 'writesFollowReads').examples, [{ missed: 'a', process: 2 }], label);
    t.equal(r.valid, true, `${label}: measured, not enforced (see checkers/session.ts)`);
  });
  const ok = new HistoryBuilder();
  ok.put(1, 'k', 'a');
  const r1 = ok.get(0, 'k', ['a']);
  ok.rmw(0, 'k', 'b', r1);
  ok.get(2, 'k', ['b']);
  judge(ok, (r, label) => t.match(stat(r, 'writesFollowReads'), { checked: 1, violations: 0 }, label));
});

t.test('last-write-wins promises none: a newer write replacing the session\'s own is not a miss; misses are measured', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.put(1, 'k', 'b');
  h.get(0, 'k', ['b']);
  const lww = checkSession(h.ops, opts({ conflicts: 'lww' }));
  t.equal(lww.promised, false);
  t.match(stat(lww, 'readYourWrites'), { checked: 1, violations: 0 });
  const vclock = checkSession(h.ops, strict);
  t.match(stat(vclock, 'readYourWrites'), { checked: 1, violations: 1 }, 'under version vectors b does not cover a');
  t.equal(vclock.valid, false);
});

t.test('no read at all is unknown; reads no guarantee applies to are valid, with nothing checked', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  t.equal(checkSession(h.ops, strict).valid, 'unknown');
  h.get(1, 'k', ['a']);
  const r = checkSession(h.ops, strict);
  t.equal(r.valid, true);
  t.match(stat(r, 'readYourWrites'), { checked: 0, violations: 0, rate: null });
});
