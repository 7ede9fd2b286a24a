// Invariants the simulator checks as it runs (TigerBeetle checks its replicas' state on every tick):
// each one watches every peer message as it arrives and as it leaves a node, and may look at the node's
// disk. A violation halts the scheduler with an InvariantViolation, so the run fails at the event that
// broke the rule instead of, much later, in a checker that sees only the client history — if at all.
import type { NodeId, PeerMessage, StorageWrite } from '../../../node/core/env.js';
import { decodeStoredHint, hintDeltaNamespace, hintId } from '../../../node/core/hints.js';
import { type DataType, type Kind, type State, dataTypes, decodeStored, deltaKeyPrefix, deltaNamespace } from '../../../node/core/local-store.js';
import type { SimNodeHost } from './sim-node.js';

export interface InvariantView {
  readonly nowMs: number;
  host(id: NodeId): SimNodeHost | undefined;
}

export interface SimInvariant {
  readonly name: string;
  /** A peer message reaches `to` (before its node sees it). */
  delivered?(from: NodeId, to: NodeId, message: PeerMessage, view: InvariantView): void;
  /** A peer message leaves `from`'s process. Returns what is wrong, or undefined when all is well. */
  sent?(from: NodeId, to: NodeId, message: PeerMessage, view: InvariantView): string | undefined;
  /** `node` hands a batch to its storage (before it is durable). Returns what is wrong, if anything. */
  wrote?(node: NodeId, batch: readonly StorageWrite[], view: InvariantView): string | undefined;
}

/** Definite: the simulated cluster broke a rule the node must always keep. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  constructor(
    readonly invariant: string,
    readonly atMs: number,
    detail: string,
  ) {
    super(`invariant ${invariant} violated at ${atMs} virtual ms: ${detail}`);
  }
}

interface Carried {
  readonly kind: Kind;
  readonly key: string;
  /** The state as it travelled (the messages' JSON form). */
  readonly s: unknown;
  /** Set when the replica stores the state as a hint for this owner instead of as its own copy. */
  readonly hintFor?: NodeId;
}

/** Which request each acknowledgement answers, and what states that request asked the replica to keep. */
const carriedBy: Readonly<Record<string, { readonly ack: string; readonly states: (m: Record<string, unknown>, replica: NodeId) => Carried[] }>> = {
  write: {
    ack: 'write-ack',
    states: (m, replica) => [
      { kind: m['kind'] as Kind, key: String(m['key']), s: m['s'], ...(typeof m['hint'] === 'string' && m['hint'] !== replica ? { hintFor: m['hint'] } : {}) },
    ],
  },
  hint: { ack: 'hint-ack', states: (m) => [{ kind: m['kind'] as Kind, key: String(m['key']), s: m['s'] }] },
  handoff: {
    ack: 'handoff-ack',
    states: (m) =>
      (Array.isArray(m['entries']) ? (m['entries'] as Record<string, unknown>[]) : []).map((e) => ({ kind: e['kind'] as Kind, key: String(e['key']), s: e['s'] })),
  },
};
const requestOfAck = new Map(Object.entries(carriedBy).map(([request, { ack }]) => [ack, request]));

/**
 * The reference node's durability promise: a replica acknowledges a write, a delivered hint or a handoff
 * only once every state it was asked to keep is on its disk (durable, not merely in memory) — its own
 * copy, or the hint it holds for the owner. Checked when the acknowledgement leaves the replica.
 */
export function replicaAcksDurable(): SimInvariant {
  // (replica, coordinator, request id) → what the request carried; forgotten once acknowledged.
  const received = new Map<string, Carried[]>();
  const id = (replica: NodeId, coordinator: NodeId, req: unknown): string => JSON.stringify([replica, coordinator, req]);
  const typesOf = (host: SimNodeHost): Record<Kind, DataType> =>
    // As the node chooses its merge: by wall clock in lww mode and under the fault that imitates it.
    dataTypes(host.config.conflicts === 'lww' || (host.config.testFaults ?? []).includes('lww-in-vclock'));
  const durableState = (host: SimNodeHost, types: Record<Kind, DataType>, c: Carried): State | undefined => {
    if (c.hintFor === undefined) {
      // A cart is stored as a base and the deltas appended since (local-store.ts).
      const ns = deltaNamespace(c.kind);
      const deltas = ns === undefined ? [] : host.disk.entries(ns, deltaKeyPrefix(c.key)).map(([, v]) => v);
      return decodeStored(types[c.kind], host.disk.get(c.kind, c.key), deltas);
    }
    // A hint is stored the same way: a base and the hinted writes merged into it since (hints.ts).
    const id = hintId(c.hintFor, c.kind, c.key);
    const bytes = host.disk.get('hint', id);
    if (bytes === undefined) return undefined;
    const deltas = host.disk.entries(hintDeltaNamespace, deltaKeyPrefix(id)).map(([, v]) => v);
    return decodeStoredHint(types, bytes, deltas)?.state;
  };
  return {
    name: 'replica-acks-durable',
    delivered(from, to, message) {
      const spec = carriedBy[message.type];
      if (spec === undefined || typeof message['req'] !== 'string') return;
      received.set(id(to, from, message['req']), spec.states(message, to));
    },
    sent(from, to, message, view) {
      const request = requestOfAck.get(message.type);
      if (request === undefined) return undefined;
      const key = id(from, to, message['req']);
      const carried = received.get(key);
      received.delete(key);
      const host = view.host(from);
      if (carried === undefined || host === undefined) return undefined;
      const types = typesOf(host);
      for (const c of carried) {
        if (c.kind !== 'kv' && c.kind !== 'cart') continue;
        const t = types[c.kind];
        const incoming = t.fromJson(c.s);
        const onDisk = durableState(host, types, c);
        const covered = onDisk === undefined ? t.isEmpty(incoming) : t.equal(t.merge(onDisk, incoming), onDisk);
        if (!covered) {
          const where = c.hintFor === undefined ? 'its disk' : `its hints for ${c.hintFor}`;
          return `${from} sent ${message.type} ${String(message['req'])} to ${to} before the ${c.kind} state of ${JSON.stringify(c.key)} its ${request} carried was durable in ${where}`;
        }
      }
      return undefined;
    },
  };
}

/**
 * Hinted handoff's promise: a fallback deletes a hint from its disk only after the hint's owner
 * acknowledged a delivery of it (hint → hint-ack); a hint deleted unacknowledged is a write lost for the
 * owner, which only anti-entropy might still repair.
 */
export function hintsDroppedOnlyWhenAcked(): SimInvariant {
  // (fallback, owner, request id) → the hint that request delivered.
  const inFlight = new Map<string, string>();
  // (fallback, hint id): hints whose owner acknowledged a delivery and that the fallback may now delete.
  const acked = new Set<string>();
  const id = (...parts: unknown[]): string => JSON.stringify(parts);
  return {
    name: 'hints-dropped-only-when-acked',
    sent(from, to, message) {
      if (message.type === 'hint' && typeof message['req'] === 'string') {
        inFlight.set(id(from, to, message['req']), hintId(to, message['kind'] as Kind, String(message['key'])));
      }
      return undefined;
    },
    delivered(from, to, message) {
      if (message.type !== 'hint-ack') return;
      const key = id(to, from, message['req']);
      const hint = inFlight.get(key);
      inFlight.delete(key);
      if (hint !== undefined) acked.add(id(to, hint));
    },
    wrote(node, batch) {
      for (const w of batch) {
        if (w.type !== 'del' || w.ns !== 'hint') continue;
        if (!acked.delete(id(node, w.key))) return `${node} deleted hint ${w.key} which its owner never acknowledged`;
      }
      return undefined;
    },
  };
}

/** Every invariant above, for runs of the reference node. */
export function referenceNodeInvariants(): SimInvariant[] {
  return [replicaAcksDurable(), hintsDroppedOnlyWhenAcked()];
}
