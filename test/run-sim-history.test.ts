// The history recorder writes history.jsonl as JSON lines, one per op, each exactly JSON.stringify(op):
// batched lines are cut from one JSON text of the batch, so ops whose values look like op boundaries
// (arrays of objects keyed by index, strings holding `},{"index":`) must still come out line for line.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryRecorder, jsonLines } from '../harness/store.js';
import type { HistoryOp } from '../checkers/history.js';

const tricky = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom('},{"index":1', '"},{"index":', '\\', '\n', '{"index":0}'),
  fc.array(fc.record({ index: fc.nat(), x: fc.jsonValue() }), { maxLength: 3 }),
  fc.array(fc.oneof(fc.record({ index: fc.nat() }), fc.string()), { maxLength: 3 }),
);

const op = fc.record(
  {
    index: fc.nat(),
    time: fc.nat(),
    process: fc.oneof(fc.nat(), fc.constantFrom('nemesis', 'final')),
    type: fc.constantFrom('invoke', 'ok', 'fail', 'info'),
    f: fc.string(),
    key: fc.string(),
    value: tricky,
    context: fc.string(),
  },
  { requiredKeys: ['index', 'time', 'process', 'type', 'f'] },
) as fc.Arbitrary<HistoryOp>;

t.test('jsonLines: each op as JSON.stringify gives it, one per line', async (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
      t.equal(jsonLines(ops), ops.map((o) => `${JSON.stringify(o)}\n`).join(''));
    }),
    { numRuns: 500 },
  );
  t.equal(jsonLines([{ index: 0, time: 1, process: 0, type: 'ok', f: 'read', value: [{ index: 3 }, { index: 4 }] }]), '{"index":0,"time":1,"process":0,"type":"ok","f":"read","value":[{"index":3},{"index":4}]}\n');
});

t.test('HistoryRecorder: the file holds every op recorded before close, in order, and nothing after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ql-history-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'history.jsonl');
  const recorder = new HistoryRecorder(path);
  const seen: number[] = [];
  recorder.onRecord((o) => seen.push(o.index));
  for (let i = 0; i < 600; i++) {
    recorder.record({ time: i + 0.4, process: i % 3, type: i % 2 === 0 ? 'invoke' : 'ok', f: 'read', key: `k${i % 5}`, value: i % 7 === 0 ? [{ index: i }, { index: i + 1 }] : undefined, context: undefined });
  }
  await recorder.close();
  recorder.record({ time: 700, process: 0, type: 'invoke', f: 'read' });
  await recorder.close();
  const lines = readFileSync(path, 'utf8').split('\n');
  t.equal(lines.pop(), '', 'ends with a newline');
  t.equal(lines.length, 600);
  t.same(lines.map((l) => JSON.parse(l) as HistoryOp), recorder.ops.slice(0, 600));
  t.equal(lines[7], '{"index":7,"time":7,"process":1,"type":"ok","f":"read","key":"k2","value":[{"index":7},{"index":8}]}', 'undefined fields left out, time rounded');
  t.same(seen, [...Array(601).keys()], 'listeners see every op');
});
