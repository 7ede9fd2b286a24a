// What the node says about itself for checkers and operators (/admin/status, /admin/local): its view of
// the cluster, queues and counters, its timers, and its own stored versions of a key, with no quorum.
import type { LocalState, NodeStatus } from './api.js';
import { type CartState, cartItems } from './cart.js';
import { sha256Hex } from './hash.js';
import { ringToJson } from './membership.js';
import type { NodeContext } from './node-context.js';
import { partitionsOwnedBy } from './ring.js';
import { vvAddDot } from './version-vector.js';
import type { Versions } from './versions.js';

export function nodeStatus(ctx: NodeContext): NodeStatus {
  const { view, config, counters, hints, store } = ctx;
  const now = ctx.env.clock.monoMs();
  const members = [...view.members.values()]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((m) => {
      const d = m.id === ctx.id ? undefined : view.detectorOf(m.id);
      let status: NodeStatus['members'][number]['status'] = m.status === 'left' ? 'down' : m.status;
      if (m.id === ctx.id) status = view.selfStatus === 'left' ? 'down' : view.selfStatus;
      else if (status !== 'down' && !view.isHealthy(m.id)) status = 'down';
      return { id: m.id, addr: m.addr, status, ...(d !== undefined ? { phi: d.phi(now) } : {}) };
    });
  const ring = view.ring;
  const owned = ring === undefined ? 0 : partitionsOwnedBy(ring.ring, ctx.id).length;
  return {
    id: ctx.id,
    members,
    ring: { vnodes: owned, partitions: config.partitions, owned, version: ring?.version ?? 0 },
    ringMembers: ring?.ring.members ?? [],
    ringHash: ring === undefined ? '' : sha256Hex(JSON.stringify(ringToJson(ring))),
    hints: { pending: hints.size, delivered: counters.hintsDelivered },
    antiEntropy: { rounds: counters.aeRounds, keysRepaired: counters.keysRepaired },
    readRepair: { repairs: counters.readRepairs },
    handoff: { keys: counters.handoffKeys, partitionsHeld: store.partitionsHeld().length, handedOffVersion: view.handedOff },
    // Earlier ring versions whose quorums requests still meet too, because their handoff is unconfirmed.
    ringTransition: view.pastRings.map((r) => r.version),
    reaped: counters.reaped,
    config: { n: config.n, r: config.r, w: config.w, sloppy: config.sloppy, conflicts: config.conflicts },
    // The mechanism switches as this node honours them (QL_READ_REPAIR, QL_ANTI_ENTROPY, QL_HINTED_HANDOFF).
    mechanisms: { readRepair: config.readRepair, antiEntropy: config.antiEntropy, hintedHandoff: config.hintedHandoff },
    // The node's named timers (periodic tasks with their period, runs and next run; armed one-shots),
    // and the requests it coordinates or offers that wait for replies.
    timers: { ...ctx.timers.status(), openRequests: ctx.requests.size },
    // Peer messages dropped at the boundary because they did not decode.
    messages: { malformed: counters.malformedMessages },
  };
}

export async function localState(ctx: NodeContext, key: string): Promise<LocalState | undefined> {
  const v = (await ctx.store.get('kv', key)) as Versions | undefined;
  if (v !== undefined) {
    return {
      kind: 'kv',
      versions: v.siblings.map((s) => ({
        value: s.value ?? new Uint8Array(0),
        clock: { ...vvAddDot(s.past, s.dot) },
        tombstone: s.value === null,
      })),
    };
  }
  const c = (await ctx.store.get('cart', key)) as CartState | undefined;
  if (c !== undefined) return { kind: 'cart', items: cartItems(c), state: JSON.parse(new TextDecoder().decode(ctx.types.cart.encode(c))) as unknown };
  return undefined;
}
