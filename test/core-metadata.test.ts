// The node's metadata record: built from cached per-ring bytes, it must be exactly the JSON of the whole
// record (a node restarting on it reads it back with JSON.parse), and load what was persisted.
import t from 'tap';
import { defaultNodeConfig, type NodeConfig } from '../node/core/config.js';
import type { CoreEnv, StorageWrite } from '../node/core/env.js';
import { MembershipView } from '../node/core/membership-view.js';
import { nextRing, ringToJson } from '../node/core/membership.js';
import { MetaStore } from '../node/core/metadata.js';

function fixture(): { view: MembershipView; meta: MetaStore; writes: StorageWrite[]; env: CoreEnv } {
  const writes: StorageWrite[] = [];
  const env = {
    clock: { wallMs: () => 0, monoMs: () => 0 },
    logger: { log: () => undefined },
    storage: {
      write: async (batch: readonly StorageWrite[]) => void writes.push(...batch),
      get: async () => {
        const last = writes.at(-1);
        return last?.type === 'put' ? last.value : undefined;
      },
    },
  } as unknown as CoreEnv;
  const config = { ...defaultNodeConfig, id: 'n1', peerAddr: 'sim:n1', seeds: [], partitions: 64, secret: 'core-metadata-test' } as NodeConfig;
  const view = new MembershipView('n1', config, env, () => false, () => undefined);
  const actor = { epoch: 0, base: 'n1' } as never;
  return { view, meta: new MetaStore('n1', 64, env, view, actor), writes, env };
}

t.test('the persisted record is the JSON of the whole view, rings included', async (t) => {
  const { view, meta, writes } = fixture();
  const r1 = nextRing(undefined, ['n1', 'n2'], 64)!;
  const r2 = nextRing(r1, ['n1', 'n2', 'n3ü'], 64)!;
  view.members.set('n2', { id: 'n2', addr: 'sim:n2', status: 'up', incarnation: 1, heartbeat: 3 });
  for (const [ring, past] of [[undefined, []], [r1, []], [r2, [r1]], [r2, [r1, r2]]] as const) {
    view.ring = ring;
    view.pastRings = [...past];
    view.incarnation += 1;
    await meta.persist();
    const expected = JSON.stringify({
      incarnation: view.incarnation, actorEpoch: 0, actorBase: 'n1',
      members: [{ id: 'n2', addr: 'sim:n2', status: 'up', incarnation: 1, heartbeat: 3 }],
      ring: ring === undefined ? null : ringToJson(ring), pastRings: past.map(ringToJson),
    });
    const w = writes.at(-1)!;
    t.equal(w.type === 'put' ? new TextDecoder().decode(w.value) : '', expected);
  }
  const { view: fresh, meta: reader } = fixture();
  (reader as unknown as { env: CoreEnv }).env.storage.get = async () => (writes.at(-1) as { value: Uint8Array }).value;
  t.equal(await reader.load(), true);
  t.same(fresh.ring, r2);
  t.same(fresh.pastRings, [r1, r2]);
});

t.test('changes made while a write is in flight go into one later write, holding the newest view', async (t) => {
  const { view, meta, writes, env } = fixture();
  // Writes complete only when the test says so, as a slow fsync would.
  const pending: (() => void)[] = [];
  env.storage.write = (batch: readonly StorageWrite[]) =>
    new Promise<void>((resolve) => pending.push(() => (writes.push(...batch), resolve())));
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  view.incarnation = 1;
  const first = meta.persist();
  await flush();
  t.equal(pending.length, 1, 'the first persist writes at once');
  const asked: Promise<void>[] = [];
  for (let i = 2; i <= 5; i++) {
    view.incarnation = i;
    asked.push(meta.persist());
  }
  await flush();
  t.equal(pending.length, 1, 'no second write starts while the first is in flight');
  pending.shift()!();
  await first;
  await flush();
  t.equal(pending.length, 1, 'the four persists asked meanwhile share one write');
  pending.shift()!();
  await Promise.all(asked);
  t.equal(writes.length, 2);
  const last = JSON.parse(new TextDecoder().decode((writes[1] as { value: Uint8Array }).value)) as { incarnation: number };
  t.equal(last.incarnation, 5, 'it holds the view as it was when it started, the newest');
  meta.persist().catch(() => undefined);
  await flush();
  t.equal(pending.length, 0, 'a record equal to the last one written is not written again');
  view.incarnation = 6;
  const sixth = meta.persist();
  await flush();
  t.equal(pending.length, 1, 'a changed record is');
  pending.shift()!();
  await sixth;
});

t.test('after a failed write the same record is written again', async (t) => {
  const { view, meta, writes, env } = fixture();
  let fail = true;
  env.storage.write = async (batch: readonly StorageWrite[]) => {
    if (fail) throw new Error('disk full');
    writes.push(...batch);
  };
  view.incarnation = 1;
  await t.rejects(meta.persist(), /disk full/);
  fail = false;
  await meta.persist();
  t.equal(writes.length, 1, 'the record that may not be on disk is written again');
});

t.test('nodes reading the same record share its rings and entries, and read what was written', async (t) => {
  const a = fixture();
  const r1 = nextRing(undefined, ['n1', 'n2'], 64)!;
  const r2 = nextRing(r1, ['n1', 'n2', 'n3'], 64)!;
  a.view.members.set('n2', { id: 'n2', addr: 'sim:n2', status: 'up', incarnation: 1, heartbeat: 3, handedOff: 2 });
  a.view.members.set('n3', { id: 'n3', addr: 'sim:n3', status: 'up', incarnation: 2, heartbeat: 0, boot: 'x' });
  a.view.ring = r2;
  a.view.pastRings = [r1];
  await a.meta.persist();
  const record = a.writes.at(-1)!;
  const load = async () => {
    const b = fixture();
    b.writes.push(record);
    t.ok(await b.meta.load());
    return b.view;
  };
  const [x, y] = [await load(), await load()];
  t.same(ringToJson(x.ring!), ringToJson(r2));
  t.same(x.pastRings.map(ringToJson), [ringToJson(r1)]);
  t.same([...x.members.values()], [...a.view.members.values()].filter((e) => e.id !== 'n1'));
  t.equal(y.ring, x.ring, 'one ring object for the same ring read twice');
  t.equal(y.pastRings[0], x.pastRings[0]);
  t.equal(y.members.get('n3'), x.members.get('n3'), 'one entry object for the same entry read twice');
  // A different ring of the same version, or an entry differing in one field, is its own object.
  const r2b = nextRing(r1, ['n1', 'n3'], 64)!;
  t.equal(r2b.version, r2.version);
  const c = fixture();
  c.view.members.set('n3', { id: 'n3', addr: 'sim:n3', status: 'up', incarnation: 2, heartbeat: 0 });
  c.view.ring = r2b;
  await c.meta.persist();
  const d = fixture();
  d.writes.push(c.writes.at(-1)!);
  await d.meta.load();
  t.same(ringToJson(d.view.ring!), ringToJson(r2b));
  t.not(d.view.ring, x.ring);
  t.not(d.view.members.get('n3'), x.members.get('n3'));
  t.same(d.view.members.get('n3'), { id: 'n3', addr: 'sim:n3', status: 'up', incarnation: 2, heartbeat: 0 });
});
