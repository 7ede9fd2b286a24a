// The progress line: redrawn in place on a terminal, plain lines at most every few seconds elsewhere.
import t from 'tap';
import { createProgress, formatProgress, type ProgressState } from '../harness/progress.js';

const state = (elapsedS: number, fault?: string): ProgressState =>
  ({ elapsedS, limitS: 60, phase: 'workload', ops: elapsedS * 10, ok: elapsedS * 9, fault });

t.test('the line says ops/s, ok count, fault in force and elapsed/limit', async (t) => {
  t.equal(formatProgress(state(10, 'partition')), '[workload] 10.0/60s  10.0 ops/s  90/100 ok  fault: partition');
  t.equal(formatProgress({ ...state(0), phase: 'final reads' }), '[final reads] 0.0s  0.0 ops/s  0/0 ok  fault: none');
});

t.test('a terminal gets one redrawn line; a pipe gets periodic plain lines', async (t) => {
  const tty: string[] = [];
  const p = createProgress({ write: (s) => tty.push(s), tty: true });
  for (let s = 0; s < 10; s++) p.update(state(s));
  p.update(state(9.05));
  p.done();
  t.equal(tty.length, 11, 'updates closer than 0.2 s are not redrawn');
  t.ok(tty.slice(0, 10).every((s) => s.startsWith('\r\x1b[2K') && !s.includes('\n')), 'redrawn in place');
  t.equal(tty[10], '\n', 'the line is ended once done');
  const plain: string[] = [];
  const q = createProgress({ write: (s) => plain.push(s), tty: false, plainEveryS: 5 });
  for (let s = 0; s <= 12; s += 0.5) q.update(state(s));
  q.done();
  t.equal(plain.length, 3, 'at 0, 5 and 10 s');
  t.ok(plain.every((s) => s.endsWith('\n') && !s.includes('\r')));
});
