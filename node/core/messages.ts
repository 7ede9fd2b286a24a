// Every message one node sends another, as one discriminated union, and the one place where a message off
// the wire is checked. The core builds messages of these types (with states in their JSON form) and
// handles only decoded ones (with states decoded): a malformed message is reported by decodePeerMessage,
// counted and dropped by the node, and never reaches a handler half-parsed.
//
// Each type also declares its latency class, which a simulated network's delay model uses (the PBS paper's
// WARS classes): a request on the write path, its acknowledgement, a read request, its response, or
// background traffic (membership, anti-entropy, reaping) that no client waits for.
import type { PutResult } from './api.js';
import type { NodeId, PeerMessage } from './env.js';
import { type DataType, type Kind, type State, fromB64 } from './local-store.js';
import { type Liveness, type MemberEntry, type VersionedRing, isLiveness, isMemberEntry, ringFromJson } from './membership.js';
import { type Dot, type VersionVector, isVersionVector } from './version-vector.js';

export type LatencyClass = 'write' | 'ack' | 'read' | 'response' | 'background';

/** One stored state in a message that moves many (handoff, anti-entropy). */
export type StateEntry<S> = { readonly kind: Kind; readonly key: string; readonly s: S };

// `S` is how states travel: `unknown` (their JSON form) in a message being sent, `State` once decoded.

/**
 * Failure-detector heartbeat to a member gossip did not pick this round, with the sender's member-table
 * and ring digests (absent from older senders): a peer then knows what the sender has and sends it the
 * entries or the ring only when they differ (gossip.ts). Class: background.
 */
export type PingMsg = {
  readonly type: 'ping';
  readonly membersDigest?: string;
  readonly ringDigest?: string;
  /** A probe (clusters beyond maxPingsPerRound peers, probe.ts): the receiver answers with `ack` of this number. */
  readonly probe?: number;
  /** The answer to the probe of this number. */
  readonly ack?: number;
  /** With `probe`: probe this member for the sender (an indirect probe). With `ack`: the member that answered one. */
  readonly target?: NodeId;
  /** With `probe` or `ack`: the node an indirect probe is for (the relay forwards the ack to it). */
  readonly origin?: NodeId;
  /** As in gossip: the sender's suspicions and alive notices, which probes and acks carry too (SWIM's piggybacking). */
  readonly suspects?: readonly Liveness[];
  readonly alive?: readonly Liveness[];
};

/**
 * Membership and ring exchange; `reply` asks the receiver to answer with its own view. The ring itself
 * (O(Q)) travels only to a peer whose last digest differed from the sender's: otherwise the field is left
 * out and `ringDigest` alone says which ring the sender has (gossip.ts). The member entries likewise, behind
 * `membersDigest`. Class: background.
 */
export type GossipMsg<R, P> = {
  readonly type: 'gossip';
  readonly reply: boolean;
  /** The sender's member entries; left out when the receiver has the same table (decoded as none). */
  readonly members?: readonly MemberEntry[];
  /** The sender's member table as a digest (membership-view.ts MemberTable); absent from older senders. */
  readonly membersDigest?: string;
  /** Set by the decoder only: the sender left its entries out (it believes the receiver has them). */
  readonly membersOmitted?: boolean;
  /**
   * The sender's ring: JSON (or null) when sent, or absent when the receiver has it already; undefined
   * once decoded if absent, malformed or of another Q.
   */
  readonly ring?: R;
  readonly pastRings?: readonly P[];
  /** The sender's ring as version and content hash (membership.ts ringDigest); absent from older senders. */
  readonly ringDigest?: string;
  /** Set by the decoder only: the sender left its ring out (it believes the receiver has it). */
  readonly ringOmitted?: boolean;
  /** Members the sender suspects of having failed (suspicions.ts); absent when none. */
  readonly suspects?: readonly Liveness[];
  /** Members' notices that they are alive, refuting suspicions (suspicions.ts); absent when none. */
  readonly alive?: readonly Liveness[];
};

/** A coordinator asks a replica for its state of a key. Class: read. */
export type ReadMsg = { readonly type: 'read'; readonly req: string; readonly kind: Kind; readonly key: string };

/**
 * A replica's state of a key (null: none). The reply does not say its kind, so the state stays in its JSON
 * form here and the read coordinator, which knows the kind, decodes it (decodeState). Class: response.
 */
export type ReadReplyMsg = { readonly type: 'read-reply'; readonly req: string; readonly s: unknown };

/**
 * A replica write. Without `req` (read repair) it is not acknowledged; `hint` names the home node a sloppy
 * fallback stands in for; `removeAllOf` exists only under the 'remove-unobserved' test fault. Class: write.
 */
export type WriteMsg<S> = {
  readonly type: 'write';
  readonly req?: string;
  readonly kind: Kind;
  readonly key: string;
  readonly s: S;
  readonly hint?: NodeId;
  readonly removeAllOf?: string;
};

/** Class: ack. */
export type WriteAckMsg = { readonly type: 'write-ack'; readonly req: string };

/** A put handed to a home replica by a node that is not one. `v` is base64 (null: delete). Class: write. */
export type ForwardPutMsg<V> = {
  readonly type: 'fwd-put';
  readonly req: string;
  readonly key: string;
  readonly v: V;
  readonly ctx: VersionVector;
  /** Exact dots the client's context named beyond `ctx` (a PUT's returned context; absent: none). */
  readonly ctxDots?: readonly Dot[];
  readonly w: number;
  readonly timeoutMs?: number;
};

/** The home coordinator's result for a forwarded put (null when it could not say). Class: ack. */
export type ForwardPutReplyMsg = { readonly type: 'fwd-put-reply'; readonly req: string; readonly result: PutResult | null };

/** A hinted write offered to the node it was meant for. Class: write. */
export type HintMsg<S> = { readonly type: 'hint'; readonly req: string; readonly kind: Kind; readonly key: string; readonly s: S };

/** Class: ack. */
export type HintAckMsg = { readonly type: 'hint-ack'; readonly req: string };

/** Delete this tombstone if it is still exactly what you hold. Class: background. */
export type ReapMsg<S> = { readonly type: 'reap'; readonly key: string; readonly s: S };

/**
 * The tombstone reaper asks every member about tombstones it holds (tombstone-reaper.ts): `h` is the
 * initiator's Merkle value hash of each. Class: background.
 */
export type ReapCheckMsg = { readonly type: 'reap-check'; readonly req: string; readonly keys: readonly { readonly key: string; readonly h: string }[] };

/**
 * A member's answer: its ring version and whether it is in a ring transition, the keys it holds exactly
 * as asked (`held`) and those of which it holds nothing at all — no state, no hint, no read in progress
 * (`absent`). A key in neither list vetoes its reap. Class: background.
 */
export type ReapCheckReplyMsg = {
  readonly type: 'reap-check-reply';
  readonly req: string;
  readonly ring: number;
  readonly transition: boolean;
  readonly held: readonly string[];
  readonly absent: readonly string[];
};

/** A chunk of a partition an old owner hands to a new home. Class: write. */
export type HandoffMsg<S> = { readonly type: 'handoff'; readonly req: string; readonly entries: readonly StateEntry<S>[] };

/** Class: ack. */
export type HandoffAckMsg = { readonly type: 'handoff-ack'; readonly req: string };

/** Anti-entropy: Merkle roots per shared partition (keys are partition numbers). Class: background. */
export type AeRootsMsg = { readonly type: 'ae-roots'; readonly roots: Readonly<Record<string, string>> };

/** Anti-entropy: the leaf hashes of one partition whose root differed. Class: background. */
export type AeLeavesMsg = { readonly type: 'ae-leaves'; readonly p: number; readonly leaves: readonly string[] };

/** Anti-entropy: key hashes in the buckets whose leaves differed. Class: background. */
export type AeHashesMsg = { readonly type: 'ae-hashes'; readonly p: number; readonly buckets: readonly number[]; readonly hashes: Readonly<Record<string, string>> };

/** Anti-entropy: states the receiver lacks, and the keys the sender wants back. Class: background. */
export type AeStatesMsg<S> = { readonly type: 'ae-states'; readonly p: number; readonly entries: readonly StateEntry<S>[]; readonly want: readonly string[] };

/** A message as the core builds it to send: states in their JSON form. */
export type OutMessage =
  | PingMsg
  | GossipMsg<unknown, unknown>
  | ReadMsg
  | ReadReplyMsg
  | WriteMsg<unknown>
  | WriteAckMsg
  | ForwardPutMsg<string | null>
  | ForwardPutReplyMsg
  | HintMsg<unknown>
  | HintAckMsg
  | ReapMsg<unknown>
  | ReapCheckMsg
  | ReapCheckReplyMsg
  | HandoffMsg<unknown>
  | HandoffAckMsg
  | AeRootsMsg
  | AeLeavesMsg
  | AeHashesMsg
  | AeStatesMsg<unknown>;

/** A message as handlers see it, after decodePeerMessage checked it. */
export type InMessage =
  | PingMsg
  | GossipMsg<VersionedRing | undefined, VersionedRing>
  | ReadMsg
  | ReadReplyMsg
  | WriteMsg<State>
  | WriteAckMsg
  | ForwardPutMsg<Uint8Array | null>
  | ForwardPutReplyMsg
  | HintMsg<State>
  | HintAckMsg
  | ReapMsg<State>
  | ReapCheckMsg
  | ReapCheckReplyMsg
  | HandoffMsg<State>
  | HandoffAckMsg
  | AeRootsMsg
  | AeLeavesMsg
  | AeHashesMsg
  | AeStatesMsg<State>;

export type MessageType = InMessage['type'];

/** The answers a request tracker routes to the request waiting for them (by `req`). */
export type ReplyMessage = Extract<InMessage, { type: 'read-reply' | 'write-ack' | 'fwd-put-reply' | 'hint-ack' | 'handoff-ack' | 'reap-check-reply' }>;

/** Each message type's latency class (see the type's comment for why). */
export const latencyClasses: Readonly<Record<MessageType, LatencyClass>> = {
  ping: 'background',
  gossip: 'background',
  read: 'read',
  'read-reply': 'response',
  write: 'write',
  'write-ack': 'ack',
  'fwd-put': 'write',
  'fwd-put-reply': 'ack',
  hint: 'write',
  'hint-ack': 'ack',
  reap: 'background',
  'reap-check': 'background',
  'reap-check-reply': 'background',
  handoff: 'write',
  'handoff-ack': 'ack',
  'ae-roots': 'background',
  'ae-leaves': 'background',
  'ae-hashes': 'background',
  'ae-states': 'background',
};

/** The latency class of a message type; a type this node does not speak counts as background. */
export function latencyClassOf(type: string): LatencyClass {
  return Object.hasOwn(latencyClasses, type) ? latencyClasses[type as MessageType] : 'background';
}

/** What decoding needs from the node's configuration: its Q and how each kind's states decode. */
export interface DecodeContext {
  readonly partitions: number;
  readonly types: Readonly<Record<Kind, DataType>>;
}

export type Decoded = { readonly ok: true; readonly message: InMessage } | { readonly ok: false; readonly error: string };

function fail(why: string): never {
  throw new Error(why);
}

function str(m: Record<string, unknown>, field: string): string {
  const v = m[field];
  return typeof v === 'string' ? v : fail(`${field} is not a string`);
}

function num(m: Record<string, unknown>, field: string): number {
  const v = m[field];
  return typeof v === 'number' ? v : fail(`${field} is not a number`);
}

function kindOf(m: Record<string, unknown>): Kind {
  return m.kind === 'kv' || m.kind === 'cart' ? m.kind : fail('message has no valid kind');
}

function partitionOf(m: Record<string, unknown>, ctx: DecodeContext): number {
  const p = m.p;
  return Number.isInteger(p) && (p as number) >= 0 && (p as number) < ctx.partitions ? (p as number) : fail('p is not a partition');
}

function stringRecord(x: unknown, field: string): Record<string, string> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(`${field} is not an object`);
  for (const v of Object.values(x)) if (typeof v !== 'string') fail(`${field} holds a non-string`);
  return x as Record<string, string>;
}

function stringArray(x: unknown, field: string): string[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'string') ? x : fail(`${field} is not a list of strings`);
}

/** A state in its JSON form decoded for `kind`; throws when malformed. */
function stateOf(ctx: DecodeContext, kind: Kind, s: unknown): State {
  if (s === null || s === undefined) fail('message carries no state');
  return ctx.types[kind].fromJson(s);
}

/** A read reply's state: undefined for "none"; an error when malformed. */
export function decodeState(types: Readonly<Record<Kind, DataType>>, kind: Kind, s: unknown): { ok: true; state: State | undefined } | { ok: false; error: string } {
  if (s === null) return { ok: true, state: undefined };
  try {
    if (s === undefined) fail('message carries no state');
    return { ok: true, state: types[kind].fromJson(s) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function entries(ctx: DecodeContext, x: unknown): StateEntry<State>[] {
  if (!Array.isArray(x)) fail('entries is not a list');
  return x.map((e: unknown) => {
    if (typeof e !== 'object' || e === null) fail('an entry is not an object');
    const m = e as Record<string, unknown>;
    const kind = kindOf(m);
    return { kind, key: str(m, 'key'), s: stateOf(ctx, kind, m.s) };
  });
}

/** A forwarded put's result as the home coordinator sent it, normalised (anything unknown is a bad request). */
function putResultOf(r: unknown): PutResult | null {
  if (r === null || typeof r !== 'object') return null;
  const m = r as Record<string, unknown>;
  if (m.ok === true && typeof m.context === 'string') return { ok: true, context: m.context };
  if (m.error === 'quorum') return { ok: false, error: 'quorum', needed: Number(m.needed), replied: Number(m.replied) };
  return { ok: false, error: m.error === 'bad-context' ? 'bad-context' : 'bad-request', message: String(m.message) };
}

/**
 * Entries checked before and frozen since (a simulated peer's entries travel as the sender's own frozen
 * objects, and are gossiped on by every node that takes them): not checked again.
 */
const checkedEntries = new WeakSet<object>();

/** The readable entries of a gossiped list; the list itself when it is frozen and every entry is readable. */
function memberEntriesOf(list: readonly unknown[]): readonly MemberEntry[] {
  let all = true;
  for (const e of list) {
    if (typeof e === 'object' && e !== null && checkedEntries.has(e)) continue;
    if (!isMemberEntry(e)) {
      all = false;
      continue;
    }
    if (Object.isFrozen(e)) checkedEntries.add(e);
  }
  if (all && Object.isFrozen(list)) return list as readonly MemberEntry[];
  return all ? [...(list as readonly MemberEntry[])] : list.filter(isMemberEntry);
}

/** A member count and a colon before 13 hex digits (membership-view.ts MemberTable.digest), with room to spare. */
const maxMembersDigestLength = 64;

/** Suspicions or notices read from one gossip: a sender has at most one of each per member, and clusters stay far below this. */
const maxLiveness = 4096;

/** A version (16 digits at most) and a colon before the hash's 32 hex digits. */
const maxRingDigestLength = 64;

/** Adds the suspicions and alive notices of a ping or gossip; ones this node cannot read are skipped like unreadable entries. */
function addLiveness(out: { suspects?: readonly Liveness[]; alive?: readonly Liveness[] }, m: Record<string, unknown>): void {
  if (Array.isArray(m.suspects) && m.suspects.length > 0) out.suspects = livenessList(m.suspects);
  if (Array.isArray(m.alive) && m.alive.length > 0) out.alive = livenessList(m.alive);
}

/**
 * Lists decoded from frozen arrays (a simulated peer's, which travel as the sender's own shared list and
 * cannot change once checked): each probe and ack carries them, and most receivers see the same list.
 */
const checkedLiveness = new WeakMap<readonly unknown[], readonly Liveness[]>();

function livenessList(list: readonly unknown[]): readonly Liveness[] {
  const frozen = Object.isFrozen(list);
  const known = frozen ? checkedLiveness.get(list) : undefined;
  if (known !== undefined) return known;
  const out = list.filter(isLiveness).slice(0, maxLiveness);
  if (frozen) checkedLiveness.set(list, out);
  return out;
}

/** A message under construction: its optional fields are set one by one. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function decode(m: Record<string, unknown>, ctx: DecodeContext): InMessage {
  const type = m.type;
  switch (type) {
    case 'ping': {
      // Built field by field (optional fields present only when set, in this order) rather than from
      // spread literals, which made and copied a small object per field on every message.
      const out: Mutable<PingMsg> = { type };
      if (typeof m.membersDigest === 'string' && m.membersDigest.length <= maxMembersDigestLength) out.membersDigest = m.membersDigest;
      if (typeof m.ringDigest === 'string' && m.ringDigest.length <= maxRingDigestLength) out.ringDigest = m.ringDigest;
      if (Number.isSafeInteger(m.probe)) out.probe = m.probe as number;
      if (Number.isSafeInteger(m.ack)) out.ack = m.ack as number;
      if (typeof m.target === 'string' && m.target !== '') out.target = m.target;
      if (typeof m.origin === 'string' && m.origin !== '') out.origin = m.origin;
      addLiveness(out, m);
      return out;
    }
    case 'gossip': {
      // Entries and earlier rings this node cannot read are skipped, not fatal: a peer's view stays
      // useful even when one entry of it is not (the ring of another Q is ignored the same way).
      // Entries may be left out only behind a digest (a sender that believes the receiver has them).
      const membersDigest = typeof m.membersDigest === 'string' && m.membersDigest.length <= maxMembersDigestLength ? m.membersDigest : undefined;
      const omitted = m.members === undefined && membersDigest !== undefined;
      const members = Array.isArray(m.members) ? memberEntriesOf(m.members) : omitted ? [] : fail('members is not a list');
      const pastRings = Array.isArray(m.pastRings)
        ? m.pastRings.map((r: unknown) => ringFromJson(r, ctx.partitions)).filter((r): r is VersionedRing => r !== undefined)
        : undefined;
      const out: Mutable<GossipMsg<VersionedRing | undefined, VersionedRing>> = { type, reply: m.reply === true, members, ring: ringFromJson(m.ring, ctx.partitions) };
      if (pastRings !== undefined) out.pastRings = pastRings;
      // A digest is short (membership.ts ringDigest); anything else is ignored like an unreadable ring.
      if (typeof m.ringDigest === 'string' && m.ringDigest.length <= maxRingDigestLength) out.ringDigest = m.ringDigest;
      if (m.ring === undefined) out.ringOmitted = true;
      if (membersDigest !== undefined) out.membersDigest = membersDigest;
      if (omitted) out.membersOmitted = true;
      addLiveness(out, m);
      return out;
    }
    case 'read':
      return { type, req: str(m, 'req'), kind: kindOf(m), key: str(m, 'key') };
    case 'read-reply':
      return { type, req: str(m, 'req'), s: m.s };
    case 'write': {
      const kind = kindOf(m);
      const key = str(m, 'key');
      const out: Mutable<WriteMsg<State>> = typeof m.req === 'string' ? { type, req: m.req, kind, key, s: stateOf(ctx, kind, m.s) } : { type, kind, key, s: stateOf(ctx, kind, m.s) };
      if (typeof m.hint === 'string') out.hint = m.hint;
      if (typeof m.removeAllOf === 'string') out.removeAllOf = m.removeAllOf;
      return out;
    }
    case 'fwd-put': {
      const v = m.v === null ? null : fromB64(str(m, 'v'));
      // An unreadable context is treated as none, as for a blind write; the quorum is range-checked by
      // the coordinator, which answers a bad one with a definite bad-request.
      const ctxVv = isVersionVector(m.ctx) ? m.ctx : {};
      // Malformed exact dots are dropped: the write then covers less than its client saw (a spurious
      // sibling, never a lost write).
      const ctxDots = Array.isArray(m.ctxDots) ? (m.ctxDots as unknown[]).filter(isDot) : [];
      const req = str(m, 'req');
      const key = str(m, 'key');
      const out: Mutable<ForwardPutMsg<Uint8Array | null>> = ctxDots.length > 0 ? { type, req, key, v, ctx: ctxVv, ctxDots, w: num(m, 'w') } : { type, req, key, v, ctx: ctxVv, w: num(m, 'w') };
      if (typeof m.timeoutMs === 'number') out.timeoutMs = m.timeoutMs;
      return out;
    }
    case 'fwd-put-reply':
      return { type, req: str(m, 'req'), result: putResultOf(m.result) };
    case 'hint': {
      const kind = kindOf(m);
      return { type, req: str(m, 'req'), kind, key: str(m, 'key'), s: stateOf(ctx, kind, m.s) };
    }
    case 'reap':
      return { type, key: str(m, 'key'), s: stateOf(ctx, 'kv', m.s) };
    case 'reap-check': {
      if (!Array.isArray(m.keys)) fail('keys is not a list');
      const keys = (m.keys as unknown[]).map((k) => {
        if (typeof k !== 'object' || k === null) fail('a reap-check key is not an object');
        const e = k as Record<string, unknown>;
        return { key: str(e, 'key'), h: str(e, 'h') };
      });
      return { type, req: str(m, 'req'), keys };
    }
    case 'reap-check-reply':
      return { type, req: str(m, 'req'), ring: num(m, 'ring'), transition: m.transition === true, held: stringArray(m.held, 'held'), absent: stringArray(m.absent, 'absent') };
    case 'handoff':
      return { type, req: str(m, 'req'), entries: entries(ctx, m.entries) };
    case 'write-ack':
    case 'hint-ack':
    case 'handoff-ack':
      return { type, req: str(m, 'req') };
    case 'ae-roots':
      return { type, roots: stringRecord(m.roots, 'roots') };
    case 'ae-leaves':
      return { type, p: partitionOf(m, ctx), leaves: stringArray(m.leaves, 'leaves') };
    case 'ae-hashes': {
      const buckets = Array.isArray(m.buckets) && m.buckets.every((b) => Number.isInteger(b)) ? (m.buckets as number[]) : fail('buckets is not a list of integers');
      return { type, p: partitionOf(m, ctx), buckets, hashes: stringRecord(m.hashes, 'hashes') };
    }
    case 'ae-states':
      return { type, p: num(m, 'p'), entries: entries(ctx, m.entries), want: stringArray(m.want, 'want') };
    default:
      return fail(`unknown message type ${JSON.stringify(type)}`);
  }
}

/** A dot as a peer sends it: {node, counter} with a non-empty node and a positive counter. */
function isDot(x: unknown): x is Dot {
  const d = x as { node?: unknown; counter?: unknown } | null;
  return typeof d === 'object' && d !== null && typeof d.node === 'string' && d.node !== '' && Number.isSafeInteger(d.counter) && (d.counter as number) >= 1;
}

/** Checks a message off the wire and decodes its states; never throws. */
export function decodePeerMessage(raw: PeerMessage, ctx: DecodeContext): Decoded {
  try {
    if (typeof raw !== 'object' || raw === null) return { ok: false, error: 'message is not an object' };
    return { ok: true, message: decode(raw as Record<string, unknown>, ctx) };
  } catch (err) {
    // A state decoder's own error is a malformed message too: the bytes came from a peer.
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
