// The replica side: what a node does with a request a coordinator sent it about data it holds. It answers
// reads from its store (merged with any hints it keeps for the key), merges and persists writes before it
// acknowledges them (as a hint when it stands in for a home node), and reaps a tombstone a coordinator saw
// on every home once it is still exactly that tombstone.
import { type CartState, cartObserved, cartRemoveDelta } from './cart.js';
import type { NodeId } from './env.js';
import { type Kind, type State, mkey } from './local-store.js';
import type { ReadMsg, ReapMsg, WriteMsg } from './messages.js';
import type { NodeContext } from './node-context.js';

export class Replica {
  constructor(private readonly ctx: NodeContext) {}

  /** A replica's answer to a read: its own state merged with any hints it holds for the key. */
  async readLocal(kind: Kind, key: string): Promise<State | undefined> {
    const { store, hints, types } = this.ctx;
    let s = await store.get(kind, key);
    for (const h of hints.statesFor(kind, key)) s = types[kind].merge(s ?? types[kind].empty, h);
    return s;
  }

  async onRead(from: NodeId, msg: ReadMsg): Promise<void> {
    const s = await this.readLocal(msg.kind, msg.key);
    this.ctx.send(from, { type: 'read-reply', req: msg.req, s: s === undefined ? null : this.ctx.encodeState(msg.kind, s) });
  }

  /** A replica write: merged and persisted (as a hint when we stand in for another node), then acknowledged. */
  async onWrite(from: NodeId, msg: WriteMsg<State>): Promise<void> {
    const { kind, key } = msg;
    const { faults, hints, store } = this.ctx;
    let state = msg.s;
    if (kind === 'cart' && msg.removeAllOf !== undefined) {
      // Test fault 'remove-unobserved': the replica removes every add of the item it knows.
      const local = (await this.readLocal('cart', key)) as CartState | undefined;
      if (local !== undefined) state = this.ctx.types.cart.merge(state, cartRemoveDelta(msg.removeAllOf, cartObserved(local, msg.removeAllOf)));
    }
    const durable = faults.durable;
    if (!durable) this.ack(from, msg);
    if (msg.hint !== undefined && msg.hint !== this.ctx.id) await hints.add(msg.hint, kind, key, state, durable);
    else await store.merge(kind, key, state, durable);
    if (durable) this.ack(from, msg);
  }

  /** Acknowledges a write that asked for it (a repair does not). A method, not a closure per write. */
  private ack(from: NodeId, msg: WriteMsg<State>): void {
    if (msg.req !== undefined) this.ctx.send(from, { type: 'write-ack', req: msg.req });
  }

  async onReap(msg: ReapMsg<State>): Promise<void> {
    const { store, types, actor, counters } = this.ctx;
    const key = msg.key;
    const expected = msg.s;
    await store.lock.run(mkey('kv', key), async () => {
      const cur = await store.get('kv', key);
      if (cur === undefined || !types.kv.equal(cur, expected)) return;
      await actor.freshEpoch();
      await store.del('kv', key);
      counters.reaped += 1;
    });
  }
}
