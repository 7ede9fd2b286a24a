// The sim client and the HTTP path must turn every core result into the same ok / fail / info: both take it
// from node/outcome.ts, and this drives each result variant through both (a real HTTP server and the
// workloads' HTTP client on one side, the simulation's client on virtual time on the other) and compares.
import t from 'tap';
import type { BadRequest, CoreNode, NodeStatus, QuorumError } from '../node/core/api.js';
import { startHttpApi } from '../node/http-api.js';
import { refusalAnswer, readStatus } from '../node/outcome.js';
import { SimClient } from '../harness/runtime/sim/client.js';
import { Scheduler } from '../harness/runtime/sim/scheduler.js';
import type { SimNodeHost } from '../harness/runtime/sim/sim-node.js';
import { createHttpClient } from '../workloads/http-client.js';
import type { NodeClient, Outcome } from '../workloads/client.js';

/** A core whose every client call answers with `next`. */
class ScriptedCore {
  readonly id = 'n1';
  next: unknown = { ok: true };
  private answer = async (): Promise<never> => this.next as never;
  start = async (): Promise<void> => {};
  stop(): void {}
  receive(): void {}
  get = this.answer;
  put = this.answer;
  delete = this.answer;
  cartRead = this.answer;
  cartAdd = this.answer;
  cartRemove = this.answer;
  status(): NodeStatus {
    return {
      id: 'n1',
      members: [{ id: 'n1', addr: '127.0.0.1:1', status: 'up' }],
      ring: { vnodes: 8, partitions: 8, owned: 8, version: 1 },
      hints: { pending: 0, delivered: 0 },
      antiEntropy: { rounds: 0, keysRepaired: 0 },
      readRepair: { repairs: 0 },
      config: { n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock' },
    };
  }
  local = async (): Promise<undefined> => undefined;
  preflist = (): string[] => ['n1'];
  async *keys(): AsyncIterable<string> {}
  digest = async (): Promise<Record<string, string>> => ({});
  leave = async (): Promise<void> => {};
}

type Op = 'get' | 'put' | 'delete' | 'cartRead' | 'cartAdd' | 'cartRemove';
const ops: readonly Op[] = ['get', 'put', 'delete', 'cartRead', 'cartAdd', 'cartRemove'];
const isRead = (op: Op): boolean => op === 'get' || op === 'cartRead';

const quorum: QuorumError = { ok: false, error: 'quorum', needed: 2, replied: 1 };
const badRequest: BadRequest = { ok: false, error: 'bad-request', message: 'value larger than 1048576 bytes' };
const badContext: BadRequest = { ok: false, error: 'bad-context', message: 'forged context' };

/** Every result variant each operation's core call can return. */
function variants(op: Op): { name: string; result: unknown }[] {
  const refusals = [
    { name: 'quorum', result: quorum },
    { name: 'bad-request', result: badRequest },
    { name: 'bad-context', result: badContext },
  ];
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  switch (op) {
    case 'get':
      return [
        { name: 'no live value', result: { ok: true, values: [], context: 'ctx-0' } },
        { name: 'never written', result: { ok: true, values: [] } },
        { name: 'one value', result: { ok: true, values: [bytes('a')], context: 'ctx-1' } },
        { name: 'siblings', result: { ok: true, values: [bytes('a'), bytes('b')], context: 'ctx-2' } },
        ...refusals,
      ];
    case 'put':
    case 'delete':
      return [{ name: 'written', result: { ok: true, context: 'ctx-new' } }, ...refusals];
    case 'cartRead':
      return [{ name: 'items', result: { ok: true, items: { x: 2 }, context: 'cart-ctx' } }, ...refusals];
    default:
      return [{ name: 'written', result: { ok: true } }, ...refusals];
  }
}

function invoke(client: NodeClient, op: Op): Promise<Outcome<unknown>> {
  switch (op) {
    case 'get':
      return client.get('k');
    case 'put':
      return client.put('k', new Uint8Array([1]), undefined);
    case 'delete':
      return client.delete('k', 'ctx');
    case 'cartRead':
      return client.cartRead('cart');
    case 'cartAdd':
      return client.cartAdd('cart', 'x', 1);
    case 'cartRemove':
      return client.cartRemove('cart', 'x', 'cart-ctx');
  }
}

/** The comparable part of an outcome: its type, and for ok the value with bytes as text. */
function shape(o: Outcome<unknown>): unknown {
  if (o.type !== 'ok') return { type: o.type };
  return { type: 'ok', value: JSON.parse(JSON.stringify(o.value ?? null, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v))) };
}

t.test('every core result maps to the same outcome through HTTP and through the sim client', async (t) => {
  const core = new ScriptedCore();
  const api = await startHttpApi('127.0.0.1:0', { core: core as unknown as CoreNode, logger: { log: () => {} }, replicationFactor: 3 });
  const http = createHttpClient('n1', `http://127.0.0.1:${api.port}`);
  t.teardown(async () => {
    http.close();
    await api.close();
  });
  const scheduler = new Scheduler();
  const host = { state: 'running', core, incarnation: 1, onKill: () => () => {}, runInNode: (fn: () => void) => fn() } as unknown as SimNodeHost;
  const sim = new SimClient('n1', { scheduler, host: () => host, delayMs: () => 1, timeoutMs: () => 1000 });

  let compared = 0;
  for (const op of ops) {
    for (const { name, result } of variants(op)) {
      core.next = result;
      const overHttp = await invoke(http, op);
      const pending = invoke(sim, op);
      await scheduler.runUntilIdle();
      const inSim = await pending;
      t.same(shape(inSim), shape(overHttp), `${op} / ${name}: sim and HTTP agree (${JSON.stringify(shape(overHttp))})`);
      const r = result as { ok: boolean };
      if (!r.ok) {
        // The shared mapping is what both said: a refused read fails, a write that missed its quorum is unknown.
        const expected = refusalAnswer(result as QuorumError | BadRequest, isRead(op) ? 'read' : 'write');
        t.equal(overHttp.type, expected.type, `${op} / ${name}: ${expected.type} as node/outcome.ts maps it`);
        t.equal(inSim.type === 'ok' ? '' : inSim.error, expected.error, `${op} / ${name}: the sim records the mapping's error text`);
      } else {
        t.equal(overHttp.type, 'ok', `${op} / ${name}: a success is ok`);
      }
      compared++;
    }
  }
  t.equal(compared, 7 + 5 * 4, 'every variant of every operation was compared');
});

t.test('the mapping itself: statuses and outcomes per variant', async (t) => {
  t.same(refusalAnswer(quorum, 'read'), { type: 'fail', error: 'quorum: needed 2, replied 1', status: 503, code: 'quorum', message: 'Only 1 of the 2 replicas needed answered in time.', extra: { needed: 2, replied: 1 } });
  t.equal(refusalAnswer(quorum, 'write').type, 'info', 'a write that missed its quorum may still become visible');
  t.equal(refusalAnswer(quorum, 'write').status, 503);
  for (const op of ['read', 'write'] as const) {
    const a = refusalAnswer(badContext, op);
    t.same([a.type, a.status, a.code, a.message], ['fail', 400, 'bad-context', 'forged context.'], `bad-context on a ${op} is a definite 400`);
  }
  t.equal(refusalAnswer({ ok: false, error: 'bad-request', message: '' }, 'write').message, 'The request was refused.', 'an empty core message still gives a sentence');
  t.same([readStatus(0), readStatus(1), readStatus(2), readStatus(5)], [404, 200, 300, 300]);
});
