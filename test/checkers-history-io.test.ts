import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryError, formatHistoryLine, parseHistory, parseHistoryLine, readHistory } from '../harness/history-io.js';
import { runCheck } from '../harness/check.js';
import { HistoryBuilder } from './checkers-fixtures.js';

const line = (o: Record<string, unknown>): string => JSON.stringify(o);

t.test('round-trips a valid history', async (t) => {
  const h = new HistoryBuilder();
  h.put(0, 'k', 'a');
  h.nemesis('partition');
  h.get(1, 'k', ['a'], true);
  h.local('k', 'n1', ['a']);
  const text = h.ops.map(formatHistoryLine).join('\n') + '\n';
  t.same(parseHistory(text, 'x'), h.ops);
});

t.test('parseHistoryLine gives what JSON.parse gives, value, key order and errors alike', async (t) => {
  const base = '{"index":3,"time":40,"process":1,"type":"ok","f":"read","key":"cart-1",';
  const lines = [
    // Item maps it builds itself.
    base + '"value":{"sku-2":1,"sku-1":3}}',
    base + '"value":{"sku-1":3,"sku-2":1},"node":"n2","context":"c1","final":true}',
    '{"value":{"a":1},"index":0}',
    base + '"value":{"b":1,"a":2,"b":5}}',
    base + '"value":{"7":1,"x":2,"3":4,"":9}}',
    base + '"value":{"a":0,"b":999999999999999}}',
    base + '"value":{"é ☃":1,"a}b":2,"c,d":3,"e:f":4,"g[h":5}}',
    // A "value" before it: the later one is the one kept, in the earlier one's place.
    '{"value":1,"index":0,"value":{"a":1}}',
    // Maps JSON.parse reads (numbers it does not build, spaces, escapes, a "__proto__" key, nesting, empty).
    base + '"value":{"a":1.5}}',
    base + '"value":{"a":-1}}',
    base + '"value":{"a":1e3}}',
    base + '"value":{"a":1234567890123456789}}',
    base + '"value":{ "a":1}}',
    base + '"value":{"a" :1}}',
    base + '"value":{"a\\u0062":1}}',
    base + '"value":{"__proto__":1,"a":2}}',
    base + '"value":{"a":{"b":1}}}',
    base + '"value":{"a":"1"}}',
    base + '"value":{}}',
    // "value" keys that are not the line's own, or not the last.
    '{"x":{"value":{"a":1}},"index":0}',
    '{"x":"\\"value\\":{\\"a\\":1}","index":0}',
    '{"a\\"value":{"a":1},"index":0}',
    '{"value":{"a":1},"value":2}',
    '{"value":{"a":1},"value":{"b":2}}',
    '[{"value":{"a":1}}]',
  ];
  for (const raw of lines) {
    const want = JSON.parse(raw) as unknown;
    const got = parseHistoryLine(raw);
    t.same(got, want, raw);
    t.equal(JSON.stringify(got), JSON.stringify(want), `${raw}: key order`);
    const value = (want as { value?: unknown }).value;
    if (value !== null && typeof value === 'object') {
      const v = (got as { value: object }).value;
      t.equal(Object.getPrototypeOf(v), Object.getPrototypeOf(value), `${raw}: prototype`);
      t.same(Object.keys(v), Object.keys(value), `${raw}: keys`);
      t.same(Object.getOwnPropertyNames(v), Object.getOwnPropertyNames(value), `${raw}: own properties`);
    }
  }
  // Malformed lines fail with JSON.parse's own error.
  const broken = [
    base + '"value":{"a":1}',
    base + '"value":{"a":1}}}',
    base + '"value":{"a":1},}',
    base + '"value":{"a":1},"value"}',
    base + '"value":{"a":1}"x":2}',
    base + '"value":{"a\t":1}}',
    base + '"value":{"a":1,}}',
    '{"x":1,"value":{"a":1}} trailing',
    base + '"value":{"a":01}}',
    '{"x":["value":{"a":1}]}',
  ];
  for (const raw of broken) {
    let want = '';
    try {
      JSON.parse(raw);
    } catch (err) {
      want = (err as Error).message;
    }
    t.not(want, '', `${raw} is malformed`);
    t.throws(() => parseHistoryLine(raw), { message: want }, raw);
  }
});

t.test('readHistory reads a file in chunks exactly as parseHistory reads its text', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ql-hio-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const h = new HistoryBuilder();
  for (let i = 0; i < 20; i++) {
    h.put(i % 3, 'k', `v${i}-é€😀`);
    h.get((i + 1) % 3, 'k', [`v${i}-é€😀`]);
  }
  h.add(4, 'cart', 'sku-ü');
  h.local('k', 'n1', ['v19-é€😀']);
  const lines = h.ops.map(formatHistoryLine);
  // Blank lines, CRLF endings, surrounding spaces, a multi-byte line and no final line break.
  const text = lines.map((l, i) => (i % 5 === 1 ? ` ${l}\r` : i % 7 === 3 ? `${l}\n\n` : l)).join('\n');
  const path = join(dir, 'history.jsonl');
  writeFileSync(path, text);
  const expected = parseHistory(text, path);
  t.same(expected, h.ops);
  // Chunk sizes below one line (the buffer grows), around a line, and larger than the file.
  for (const chunk of [1, 7, 64, 100, 101, 4096, 1 << 20]) t.same(readHistory(path, chunk), expected, `chunk ${chunk}`);
  writeFileSync(path, text + '\n');
  t.same(readHistory(path, 64), expected, 'with a final line break');
  // A broken line is reported with the same line number, wherever the chunks end.
  const broken = [...lines.slice(0, 30), '', '{"index":30,', ...lines.slice(31)].join('\n');
  writeFileSync(path, broken);
  for (const chunk of [1, 50, 1 << 20]) t.throws(() => readHistory(path, chunk), new RegExp(`${path}:32: not valid JSON`), `chunk ${chunk}`);
  t.throws(() => parseHistory(broken, path), new RegExp(`${path}:32: not valid JSON`));
});

const bad: [string, string[], RegExp][] = [
  ['bad JSON', ['{"index":0,'], /x:1: not valid JSON/],
  ['missing f', [line({ index: 0, time: 1, process: 0, type: 'invoke', key: 'k' })], /x:1: missing "f"/],
  ['wrong index', [line({ index: 3, time: 1, process: 0, type: 'invoke', f: 'get', key: 'k' })], /x:1: "index" is 3/],
  ['completion without invoke', [line({ index: 0, time: 1, process: 0, type: 'ok', f: 'get', key: 'k' })], /x:1: "ok" for process 0 without a preceding invoke/],
  ['two in flight', [
    line({ index: 0, time: 1, process: 0, type: 'invoke', f: 'get', key: 'k' }),
    line({ index: 1, time: 2, process: 0, type: 'invoke', f: 'get', key: 'k' }),
  ], /x:2: process 0 already has an op in flight/],
  ['issue after info', [
    line({ index: 0, time: 1, process: 0, type: 'invoke', f: 'put', key: 'k', value: 'a' }),
    line({ index: 1, time: 2, process: 0, type: 'info', f: 'put', key: 'k' }),
    line({ index: 2, time: 3, process: 0, type: 'invoke', f: 'get', key: 'k' }),
  ], /x:3: process 0 invoked again after an info/],
  ['mismatched completion', [
    line({ index: 0, time: 1, process: 0, type: 'invoke', f: 'put', key: 'k', value: 'a' }),
    line({ index: 1, time: 2, process: 0, type: 'ok', f: 'get', key: 'k' }),
  ], /x:2: completion f "get" does not match/],
];
for (const [name, lines, re] of bad) {
  t.test(`rejects: ${name}`, async (t) => {
    t.throws(() => parseHistory(lines.join('\n'), 'x'), re);
    try {
      parseHistory(lines.join('\n'), 'x');
    } catch (err) {
      t.ok(err instanceof HistoryError);
    }
  });
}

t.test('runCheck: results dir, history file, and malformed input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ql-check-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const h = new HistoryBuilder();
  h.add(0, 'c', 'x');
  h.read(1, 'c', { x: 1 }, true);
  h.local('c', 'n1', { x: 1 });
  writeFileSync(join(dir, 'history.jsonl'), h.ops.map(formatHistoryLine).join('\n') + '\n');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ workload: 'cart', n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock' }));
  const ok = await runCheck(dir, { print: false });
  t.equal(ok.exitCode, 0);
  const written = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { valid: unknown; checkers: Record<string, unknown>; config: Record<string, unknown> };
  t.equal(written.valid, true);
  t.same(Object.keys(written.checkers), ['cart', 'convergence', 'availability', 'perf']);
  t.equal(written.config.workload, 'cart');

  // A bare history whose final state lost the add: inferred cart workload, invalid.
  const h2 = new HistoryBuilder();
  h2.add(0, 'c', 'x');
  h2.read(1, 'c', {}, true);
  const p2 = join(dir, 'h2.jsonl');
  writeFileSync(p2, h2.ops.map(formatHistoryLine).join('\n'));
  rmSync(join(dir, 'config.json'));
  const inv = await runCheck(p2, { print: false });
  t.equal(inv.exitCode, 1);
  t.ok((inv.results as { notes: string[] }).notes.some((n) => /N not in config/.test(n)));
  t.ok((inv.results as { notes: string[] }).notes.some((n) => /inferred .*: cart/.test(n)));

  writeFileSync(p2, '{"index":0}\n');
  const broken = await runCheck(p2, { print: false });
  t.equal(broken.exitCode, 2);
  t.match(broken.results, { error: /h2.jsonl:1/ });
});
