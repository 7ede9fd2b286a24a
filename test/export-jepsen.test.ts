// `quorumlab export`: every format is read back by a real EDN parser (edn-data) and must have the shape
// the Jepsen checker it is meant for takes: keywords as keywords, integer processes, :nemesis, the four
// op types, times in ns, dense indices; set-full elements as sets, independent [k v] tuples, Elle's
// rw-register micro-ops. A bad history or format is one line and exit 2; a closed pipe ends quietly.
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEDNString, type EDNVal } from 'edn-data';
import { HistoryBuilder } from './checkers-fixtures.js';
import { formatHistoryLine } from '../harness/history-io.js';
import { exportLines } from '../harness/export.js';
import type { HistoryOp } from '../checkers/history.js';

const bin = fileURLToPath(new URL('../bin/quorumlab.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ql-export-'));

function writeHistory(name: string, ops: readonly HistoryOp[]): string {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, ops.map((op) => `${formatHistoryLine(op)}\n`).join(''));
  return path;
}

/** A Jepsen op as parsed: field name (which must be a keyword) → parsed value. */
type Op = Record<string, EDNVal>;

/**
 * Parses export output strictly. edn-data is lenient (an unclosed map reads as null, a map with an odd
 * number of forms drops the last, trailing forms are ignored), so each line must be one whole map, the
 * whole text, as one vector, must hold exactly as many forms as there are lines, and every field a format
 * writes is asserted (a dropped last field would show).
 */
function parseOps(t: Test, text: string): Op[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const all = parseEDNString(`[${text}]`) as EDNVal[] | null;
  t.ok(Array.isArray(all) && all.length === lines.length, 'the whole export reads as one map per line');
  return lines.map((line) => {
    const v = parseEDNString(line) as { map?: [EDNVal, EDNVal][] } | null;
    if (v === null || !Array.isArray(v.map)) throw new Error(`not an EDN map: ${line}`);
    const op: Op = {};
    for (const [k, x] of v.map) {
      if (k === null || typeof k !== 'object' || !('key' in k)) throw new Error(`field name is not a keyword in ${line}`);
      op[(k as { key: string }).key] = x;
    }
    return op;
  });
}

const kwName = (v: EDNVal): string | undefined => (v !== null && typeof v === 'object' && 'key' in v ? (v as { key: string }).key : undefined);
const setItems = (v: EDNVal): EDNVal[] | undefined => (v !== null && typeof v === 'object' && 'set' in v ? (v as { set: EDNVal[] }).set : undefined);

/** What every Jepsen format shares. */
function checkCommon(t: Test, ops: Op[], source: readonly HistoryOp[]): void {
  const times = new Set(source.map((op) => op.time));
  ops.forEach((op, i) => {
    t.same(Object.keys(op).filter((k) => !['node', 'error', 'final'].includes(k)).sort(), ['f', 'index', 'process', 'time', 'type', 'value']);
    t.equal(op['index'], i, 'dense :index');
    t.ok(['invoke', 'ok', 'fail', 'info'].includes(kwName(op['type']!) ?? ''), ':type is a keyword of the four');
    t.ok(kwName(op['f']!) !== undefined, ':f is a keyword');
    const p = op['process'];
    t.ok((typeof p === 'number' && Number.isInteger(p)) || kwName(p!) === 'nemesis', ':process is an integer or :nemesis');
    if (kwName(p!) === 'nemesis') t.equal(kwName(op['type']!), 'info', 'nemesis ops are :info, as Jepsen records them');
    t.ok(typeof op['time'] === 'number' && times.has(op['time']), ':time is the op\'s nanoseconds');
  });
}

function cartHistory(): HistoryOp[] {
  const h = new HistoryBuilder();
  const r0 = h.read(1, 'cart-7', {});
  h.add(0, 'cart-7', 'sku-1');
  h.add(2, 'cart-8', 'sku-2');
  h.nemesis('partition', { sides: [['n1', 'n2'], ['n3']] });
  h.add(0, 'cart-7', 'sku-"3"', 'fail');
  h.remove(1, 'cart-7', 'sku-1', r0);
  h.read(3, 'cart-7', { 'sku-1': 2, 'sku-4': 0 });
  h.read(10_000_000, 'cart-7', { 'sku-1': 1 }, true);
  h.local('cart-7', 'n1', { 'sku-1': 1 });
  return h.ops;
}

t.test('set-full: cart adds and reads as sets of items, several keys as [k x] tuples (real process)', async (t) => {
  const history = cartHistory();
  const r = await execa('node', [bin, 'export', '--edn', writeHistory('cart', history), '--format', 'set-full'], { reject: false, timeout: 60_000 });
  t.equal(r.exitCode, 0, r.stderr);
  const ops = parseOps(t, r.stdout);
  checkCommon(t, ops, history);
  t.equal(ops.length, history.length - 1, 'the replica state of process "final" is no client op and is left out');
  t.same(ops.map((op) => kwName(op['f']!)), ['read', 'read', 'add', 'add', 'add', 'add', 'partition', 'partition', 'add', 'add', 'remove', 'remove', 'read', 'read', 'read', 'read']);
  t.same(ops[2]!['value'], ['cart-7', 'sku-1'], 'an add is [key element]');
  t.same(ops[1]!['value'], ['cart-7', { set: [] }], 'an empty cart reads as the empty set');
  const finalRead = ops.find((op) => op['final'] === true && kwName(op['type']!) === 'ok')!;
  t.same(finalRead['value'], ['cart-7', { set: ['sku-1'] }]);
  const read = ops[13]!;
  t.same(read['value'], ['cart-7', { set: ['sku-1'] }], 'a read is the set of items present (quantity 0 is absent)');
  t.same(ops[9]!['value'], ['cart-7', 'sku-"3"'], 'a failed add keeps its element; strings round-trip');
  t.equal(kwName(ops[9]!['type']!), 'fail');
  t.same(ops[7]!['value'], { map: [[{ key: 'sides' }, [['n1', 'n2'], ['n3']]]] }, 'nemesis values have keyword field names');
  t.match(r.stderr, /^note: 1 acknowledged removes.*set-full knows no remove/, 'says what set-full will make of the remove');
});

t.test('set-full --key: one cart with bare elements; cart-kv elements are its unique entries', async (t) => {
  const history = cartHistory();
  const one = parseOps(t, (await exportLines(writeHistory('cart-key', history), { format: 'set-full', key: 'cart-8' })).lines.join('\n'));
  t.same(one.filter((op) => kwName(op['f']!) === 'add').map((op) => op['value']), ['sku-2', 'sku-2']);
  t.notOk(one.some((op) => Array.isArray(op['value']) && op['value'][0] === 'cart-7'), 'other keys are left out');

  const h = new HistoryBuilder();
  h.invoke(0, 'add', 'cart-0', 'sku-1', { addId: '0-1' });
  h.complete(0, 'ok', 'sku-1');
  h.invoke(1, 'add', 'cart-0', 'sku-1', { addId: '1-1' });
  h.complete(1, 'info');
  h.invoke(2, 'read', 'cart-0');
  h.complete(2, 'ok', { 'sku-1': 2 }, { entries: ['sku-1#1-1', 'sku-1#0-1', 'sku-1#1-1'] });
  const kv = parseOps(t, (await exportLines(writeHistory('cart-kv', h.ops), { format: 'set-full' })).lines.join('\n'));
  checkCommon(t, kv, h.ops);
  t.same(kv.map((op) => op['value']), [['cart-0', 'sku-1#0-1'], ['cart-0', 'sku-1#0-1'], ['cart-0', 'sku-1#1-1'], ['cart-0', 'sku-1#1-1'],
    ['cart-0', null], ['cart-0', { set: ['sku-1#0-1', 'sku-1#1-1'] }]], 'each add is its own element, as set-full requires; a set lists each once');
});

function registerHistory(): HistoryOp[] {
  const h = new HistoryBuilder();
  h.get(0, 'reg-1', []);
  h.put(1, 'reg-1', '1-1');
  h.put(2, 'reg-1', '2-1', undefined, 'fail');
  h.nemesis('kill', { nodes: ['n2'] });
  h.get(0, 'reg-1', ['3-1', '1-1']);
  h.invoke(3, 'delete', 'reg-2');
  h.complete(3, 'info', undefined, { error: 'timeout' });
  h.get(4, 'reg-2', ['4-1']);
  return h.ops;
}

t.test('knossos: :read/:write of independent [k v] tuples; siblings read as a list no register returns', async (t) => {
  const history = registerHistory();
  const ops = parseOps(t, (await exportLines(writeHistory('reg', history), { format: 'knossos' })).lines.join('\n'));
  checkCommon(t, ops, history);
  t.same(ops.map((op) => [kwName(op['f']!), kwName(op['type']!), op['value']]), [
    ['read', 'invoke', ['reg-1', null]], ['read', 'ok', ['reg-1', null]],
    ['write', 'invoke', ['reg-1', '1-1']], ['write', 'ok', ['reg-1', '1-1']],
    ['write', 'invoke', ['reg-1', '2-1']], ['write', 'fail', ['reg-1', '2-1']],
    ['kill', 'info', { map: [[{ key: 'nodes' }, ['n2']]] }], ['kill', 'info', { map: [[{ key: 'nodes' }, ['n2']]] }],
    ['read', 'invoke', ['reg-1', null]], ['read', 'ok', ['reg-1', ['1-1', '3-1']]],
    ['write', 'invoke', ['reg-2', null]], ['write', 'info', ['reg-2', null]],
    ['read', 'invoke', ['reg-2', null]], ['read', 'ok', ['reg-2', '4-1']],
  ]);
  t.equal(ops[11]!['error'], 'timeout');
  const one = parseOps(t, (await exportLines(writeHistory('reg-key', history), { format: 'knossos', key: 'reg-2' })).lines.join('\n'));
  t.same(one.filter((op) => typeof op['process'] === 'number').map((op) => op['value']), [null, null, null, '4-1'], '--key: bare values');
});

t.test("elle-rw: one :txn per op with [:w k v] / [:r k v] micro-ops", async (t) => {
  const history = registerHistory();
  const out = await exportLines(writeHistory('reg-elle', history), { format: 'elle-rw' });
  const ops = parseOps(t, out.lines.join('\n'));
  checkCommon(t, ops, history);
  const client = ops.filter((op) => typeof op['process'] === 'number');
  t.ok(client.every((op) => kwName(op['f']!) === 'txn'));
  const mops = client.map((op) => (op['value'] as EDNVal[][]).map(([f, k, v]) => [kwName(f!), k, v]));
  t.same(mops, [
    [['r', 'reg-1', null]], [['r', 'reg-1', null]],
    [['w', 'reg-1', '1-1']], [['w', 'reg-1', '1-1']],
    [['w', 'reg-1', '2-1']], [['w', 'reg-1', '2-1']],
    [['r', 'reg-1', null]], [['r', 'reg-1', '1-1'], ['r', 'reg-1', '3-1']],
    [['w', 'reg-2', null]], [['w', 'reg-2', null]],
    [['r', 'reg-2', null]], [['r', 'reg-2', '4-1']],
  ]);
  t.match(out.notes.join('\n'), /1 deletes, written as \[:w k nil\]/);
});

t.test('the generic export still reads back, every field kept', async (t) => {
  const history = registerHistory();
  const ops = parseOps(t, (await exportLines(writeHistory('reg-gen', history), { format: 'generic' })).lines.join('\n'));
  t.equal(ops.length, history.length);
  t.same(ops[9]!['value'], ['3-1', '1-1']);
  t.equal(kwName(ops[9]!['f']!), 'get');
  t.equal(ops[9]!['key'], 'reg-1');
  t.equal(setItems(ops[0]!['value'] ?? null), undefined);
});

t.test('a history of the wrong kind, a bad format or a malformed history: one line, exit 2', async (t) => {
  const reg = writeHistory('reg-wrong', registerHistory());
  const wrong = await execa('node', [bin, 'export', '--edn', reg, '--format', 'set-full'], { reject: false, timeout: 60_000 });
  t.equal(wrong.exitCode, 2);
  t.equal(wrong.stdout, '');
  t.match(wrong.stderr.trim(), /^[^\n]*--format set-full takes a cart history[^\n]*"get"[^\n]*$/);
  const format = await execa('node', [bin, 'export', '--edn', reg, '--format', 'porcupine'], { reject: false, timeout: 60_000 });
  t.equal(format.exitCode, 2);
  t.match(format.stderr.trim(), /^error: [^\n]*unknown format "porcupine"[^\n]*$/);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, `${formatHistoryLine(registerHistory()[0]!)}\nnot json\n`);
  const malformed = await execa('node', [bin, 'export', '--edn', bad, '--format', 'knossos'], { reject: false, timeout: 60_000 });
  t.equal(malformed.exitCode, 2);
  t.match(malformed.stderr.trim(), /^[^\n]*bad\.jsonl:2: not valid JSON[^\n]*$/);
  const key = await execa('node', [bin, 'export', '--edn', reg, '--format', 'knossos', '--key', 'nope'], { reject: false, timeout: 60_000 });
  t.equal(key.exitCode, 2);
  t.match(key.stderr.trim(), /^[^\n]*--key nope: no client operation on that key[^\n]*$/);
});

t.test('a reader that closes the pipe early (| head -1) ends the export quietly (real pipe)', async (t) => {
  // Far more EDN than a pipe buffers (64 KiB), so the export is still writing when head exits.
  const h = new HistoryBuilder();
  for (let i = 0; i < 20_000; i++) h.put(i, `reg-${i % 7}`, `${i}-1`);
  const path = writeHistory('big', h.ops);
  for (const format of ['generic', 'knossos']) {
    const r = await execa('bash', ['-c', `node "${bin}" export --edn "${path}" --format ${format} | head -1; echo "export exit: \${PIPESTATUS[0]}" >&2`],
      { reject: false, timeout: 120_000 });
    t.equal(r.stdout.split('\n').length, 1, `${format}: head printed its one line`);
    t.match(r.stdout, /^\{:type :invoke, /);
    t.equal(r.stderr.trim(), 'export exit: 0', `${format}: no stack trace, exit 0`);
  }
});
