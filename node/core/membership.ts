// Gossiped membership: each node owns its own entry (status, incarnation, heartbeat) and only it ever
// changes it, so two views merge by taking, per member, the entry with the higher (incarnation,
// heartbeat). The ring travels with the table, versioned: whenever the set of ring members a node sees
// differs from the ring's, it recomputes the assignment deterministically from the current ring, so two
// nodes that see the same members compute the same ring, and rings merge by (version, then a fixed
// tie-break on the owner list), which makes every view converge in a few gossip rounds.
import type { MemberStatus } from './api.js';
import type { NodeId } from './env.js';
import { sha256Hex } from './hash.js';
import { type Ring, assignPartitions } from './ring.js';

/** 'left' is a member that left for good; it is reported as "down" and owns nothing. */
export type MemberState = Exclude<MemberStatus, 'down'> | 'left';

export interface MemberEntry {
  readonly id: NodeId;
  readonly addr: string;
  readonly status: MemberState;
  /** Bumped on every start of the node, so a restarted node's entries beat its old ones. */
  readonly incarnation: number;
  /**
   * The entry's version within an incarnation: bumped by the node itself whenever its entry changes (not
   * every round, so a settled cluster's tables stay equal and gossip sends their digest alone).
   */
  readonly heartbeat: number;
  /**
   * The ring version up to which this node has handed off everything it held but no longer replicates
   * (absent: nothing reported yet). Other nodes end a ring transition once every member of the old ring
   * reports the new version here.
   */
  readonly handedOff?: number;
  /**
   * The boot nonce of the life that wrote the entry (absent from older nodes). Two lives with the same
   * incarnation (a start whose metadata write was lost) tell their entries apart by it, so a node learns
   * that the cluster saw a life of it that its disk forgot even when that life's entry never changed.
   */
  readonly boot?: string;
}

/**
 * A claim about a member's liveness within one of its lives (suspicions.ts): a suspicion that it failed, or
 * its own notice that it is alive. `seq` orders the member's notices within the incarnation: a suspicion
 * names the last one its raiser knew, and a later notice refutes it.
 */
export interface Liveness {
  readonly id: NodeId;
  readonly incarnation: number;
  readonly seq: number;
}

export function isLiveness(x: unknown): x is Liveness {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return typeof e.id === 'string' && e.id !== '' && Number.isSafeInteger(e.incarnation) && Number.isSafeInteger(e.seq);
}

export interface VersionedRing {
  readonly version: number;
  readonly ring: Ring;
}

/**
 * Whether `a` beats `b` (entries of one member): the higher (incarnation, heartbeat), then, for entries of
 * two lives with the same incarnation, the higher entry hash, so every node keeps the same one and their
 * tables, and so their digests, agree.
 */
export function entryNewer(a: MemberEntry, b: MemberEntry): boolean {
  if (a.incarnation !== b.incarnation) return a.incarnation > b.incarnation;
  if (a.heartbeat !== b.heartbeat) return a.heartbeat > b.heartbeat;
  // Equal entries in two objects (a restarted cluster's nodes each read every entry from their own disk,
  // then gossip them) have equal hashes: compared field by field, neither is hashed.
  return a !== b && !sameEntry(a, b) && entryHash(a) > entryHash(b);
}

/** Whether two entries hold the same fields (and so hash alike). */
function sameEntry(a: MemberEntry, b: MemberEntry): boolean {
  return a.id === b.id && a.addr === b.addr && a.status === b.status && a.incarnation === b.incarnation && a.heartbeat === b.heartbeat &&
    a.handedOff === b.handedOff && a.boot === b.boot;
}

/** Boot nonces are short (actor-ids.ts); a longer one is not an entry this node reads. */
const maxBootLength = 64;

export function isMemberEntry(x: unknown): x is MemberEntry {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return typeof e.id === 'string' && e.id !== '' && typeof e.addr === 'string' &&
    (e.status === 'up' || e.status === 'joining' || e.status === 'leaving' || e.status === 'left') &&
    Number.isSafeInteger(e.incarnation) && Number.isSafeInteger(e.heartbeat) &&
    (e.handedOff === undefined || Number.isSafeInteger(e.handedOff)) &&
    (e.boot === undefined || (typeof e.boot === 'string' && e.boot.length <= maxBootLength));
}

/** 2^52: entry hashes are 52-bit integers, so a sum of two is exact in a double. */
const hashSpace = 2 ** 52;

/** Entry hashes by entry object: entries are immutable, and in simulation shared by every node that took them. */
const entryHashes = new WeakMap<MemberEntry, number>();

/** 52 bits of a SHA-256 of everything in the entry: the part of a member table's digest it contributes. */
export function entryHash(e: MemberEntry): number {
  let h = entryHashes.get(e);
  if (h === undefined) {
    const text = `${e.id}\u0000${e.addr}\u0000${e.status}\u0000${e.incarnation}\u0000${e.heartbeat}\u0000${e.handedOff ?? ''}\u0000${e.boot ?? ''}`;
    h = Number.parseInt(sha256Hex(text).slice(0, 13), 16);
    entryHashes.set(e, h);
  }
  return h;
}

/** (a + b) mod 2^52 and (a - b) mod 2^52, exact for a, b < 2^52. */
export function addHash(a: number, b: number): number {
  const s = a + b;
  return s >= hashSpace ? s - hashSpace : s;
}

export function subHash(a: number, b: number): number {
  const d = a - b;
  return d < 0 ? d + hashSpace : d;
}

/**
 * Whether the move away from an earlier ring is over as far as data goes: every member of that ring has
 * left for good or reports that it handed off what it held up to the current ring version. Until then the
 * earlier ring's home replicas may hold acknowledged writes the current homes lack, so coordinators keep
 * its quorum too (see DynamoNode.planFor).
 */
export function transitionOver(past: VersionedRing, currentVersion: number, members: ReadonlyMap<NodeId, MemberEntry>): boolean {
  return past.ring.members.every((id) => {
    const m = members.get(id);
    return m !== undefined && (m.status === 'left' || (m.handedOff ?? 0) >= currentVersion);
  });
}

/** Two rings are the same ring when version and assignment agree. */
export function sameRing(a: VersionedRing, b: VersionedRing): boolean {
  if (a.version !== b.version) return false;
  return (a.ring.owners === b.ring.owners && a.ring.members === b.ring.members) || ringKey(a) === ringKey(b);
}

/** Members that should own partitions: everyone not leaving and not gone. */
export function ringCandidates(members: Iterable<MemberEntry>): NodeId[] {
  const out: NodeId[] = [];
  for (const m of members) if (m.status === 'up' || m.status === 'joining') out.push(m.id);
  return out.sort();
}

/** Each ring's member set, built once: asked on every gossip a node receives and every round. */
const memberSets = new WeakMap<Ring, ReadonlySet<NodeId>>();

/**
 * Whether the members that should own partitions (ringCandidates) are exactly the ring's members, in
 * O(members) without sorting or allocating: the common case, in which nextRing has nothing to do.
 */
export function ringMatchesCandidates(ring: Ring, members: Iterable<MemberEntry>): boolean {
  let set = memberSets.get(ring);
  if (set === undefined) memberSets.set(ring, (set = new Set(ring.members)));
  // A gossiped ring listing a member twice is left to nextRing, which compares the lists themselves.
  if (set.size !== ring.members.length) return false;
  let n = 0;
  for (const m of members) {
    if (m.status !== 'up' && m.status !== 'joining') continue;
    if (!set.has(m.id)) return false;
    n++;
  }
  return n === set.size;
}

function sameMembers(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The next ring when the candidates differ from the ring's members, else undefined. Deterministic in
 * (current ring, candidates), which is what lets every node compute it independently.
 */
export function nextRing(current: VersionedRing | undefined, candidates: readonly NodeId[], partitions: number): VersionedRing | undefined {
  if (candidates.length === 0) return undefined;
  if (current !== undefined && sameMembers(current.ring.members, candidates)) return undefined;
  // Every node that sees the same change computes the same next ring (that is the point), and one node
  // may compute it again for each gossip until its view settles: assign once per (ring, candidates).
  const from = current === undefined ? `|${partitions}` : `${current.version}|${ringKey(current)}`;
  const to = candidates.join(',');
  let byCandidates = nextRings.get(from);
  const hit = byCandidates?.get(to);
  if (hit !== undefined) return hit;
  const ring = assignPartitions(candidates, partitions, current?.ring);
  const next: VersionedRing = { version: (current?.version ?? 0) + 1, ring };
  if (byCandidates === undefined) {
    if (nextRings.size >= maxNextRings) nextRings.clear();
    nextRings.set(from, (byCandidates = new Map()));
  }
  if (byCandidates.size >= maxNextRings) byCandidates.clear();
  byCandidates.set(to, next);
  return next;
}

/**
 * Rings computed by nextRing, by the ring they follow and then by the candidates. Rings are immutable
 * values, so nodes share them. Bounded: a run sees few ring transitions at a time.
 */
const nextRings = new Map<string, Map<string, VersionedRing>>();
const maxNextRings = 64;

/**
 * Ring keys by owner and member list: a key is O(Q) to build and is compared on every gossip a node
 * receives (pickRing, sameRing over the earlier rings), while a ring's lists never change after they are
 * built or checked. Keyed by the lists themselves, so a ring decoded from a message that never left the
 * process (see ringFromJson) shares the sender's key.
 */
const ownersKeys = new WeakMap<readonly NodeId[], string>();
const membersKeys = new WeakMap<readonly NodeId[], string>();

function listKey(cache: WeakMap<readonly NodeId[], string>, list: readonly NodeId[]): string {
  let k = cache.get(list);
  if (k === undefined) {
    k = list.join(',');
    cache.set(list, k);
  }
  return k;
}

/** The key of each ring, built once (flat): a key built anew is a fresh O(Q) string at every comparison. */
const ringKeys = new WeakMap<Ring, string>();

function ringKey(r: VersionedRing): string {
  let k = ringKeys.get(r.ring);
  if (k === undefined) {
    k = `${listKey(membersKeys, r.ring.members)}|${listKey(ownersKeys, r.ring.owners)}`;
    // Reading a character flattens the concatenation once, so later comparisons and hashing do not.
    void k.charCodeAt(0);
    ringKeys.set(r.ring, k);
  }
  return k;
}

/** Digests by ring object (a digest hashes the O(Q) key once per ring). */
const digests = new WeakMap<VersionedRing, string>();

/**
 * A short name of a ring (version and 128 bits of a hash of its members and owners) that gossip sends in
 * its place when the peer has it: equal digests are the same ring. "none" when there is no ring.
 */
export function ringDigest(r: VersionedRing | undefined): string {
  if (r === undefined) return 'none';
  let d = digests.get(r);
  if (d === undefined) {
    d = `${r.version}:${sha256Hex(ringKey(r)).slice(0, 32)}`;
    digests.set(r, d);
  }
  return d;
}

/** Picks the winner of two rings: the higher version, then the smaller key so every node picks the same. */
export function pickRing(a: VersionedRing | undefined, b: VersionedRing | undefined): VersionedRing | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.version !== b.version) return a.version > b.version ? a : b;
  if (a.ring.owners === b.ring.owners && a.ring.members === b.ring.members) return a;
  return ringKey(a) <= ringKey(b) ? a : b;
}

export function ringToJson(r: VersionedRing): { version: number; partitions: number; owners: readonly NodeId[]; members: readonly NodeId[] } {
  return { version: r.version, partitions: r.ring.partitions, owners: r.ring.owners, members: r.ring.members };
}

/** Parses a gossiped ring; undefined when malformed or of another Q (a misconfigured peer is ignored). */
export function ringFromJson(x: unknown, partitions: number): VersionedRing | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = x as Record<string, unknown>;
  if (!Number.isSafeInteger(r.version) || r.partitions !== partitions) return undefined;
  if (!Array.isArray(r.owners) || !Array.isArray(r.members)) return undefined;
  const owners = r.owners as NodeId[];
  const members = r.members as NodeId[];
  const version = r.version as number;
  // Lists that cannot have changed since they were checked (frozen: a simulated peer's ring, which
  // travels as the sender's own lists) are not checked again, and decode to the same ring object.
  const frozen = Object.isFrozen(owners) && Object.isFrozen(members);
  if (frozen) {
    const known = checkedRings.get(owners);
    if (known !== undefined && known.version === version && known.ring.members === members && known.ring.partitions === partitions) return known;
  }
  if (owners.length !== partitions || !owners.every((o) => typeof o === 'string')) return undefined;
  if (!members.every((o) => typeof o === 'string')) return undefined;
  // A ring read before with the same content is that ring: a restarted simulated cluster's nodes each read
  // the same current and earlier rings from their own disks, and one shared object keeps one copy of each
  // and of what is derived from it (its key and digest, its walks and replicated partitions: ring.ts).
  const key = frozen ? undefined : `${version}|${partitions}`;
  const sameVersion = key === undefined ? undefined : readRings.get(key);
  const read = sameVersion?.find((r) => sameList(r.ring.members, members) && sameList(r.ring.owners, owners));
  if (read !== undefined) return read;
  const memberSet = new Set(members);
  if (!owners.every((o) => memberSet.has(o))) return undefined;
  const ring: VersionedRing = { version, ring: { partitions, owners, members } };
  if (frozen) checkedRings.set(owners, ring);
  if (key !== undefined) {
    if (sameVersion !== undefined && sameVersion.length < maxReadRings) sameVersion.push(ring);
    else {
      if (readRings.size >= maxReadRings) readRings.clear();
      readRings.set(key, [ring]);
    }
  }
  return ring;
}

function sameList(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Rings decoded from frozen lists, by owner list (see ringFromJson). */
const checkedRings = new WeakMap<readonly NodeId[], VersionedRing>();

/**
 * Rings decoded from lists that were not frozen (read from disk, or off a real link), by version and Q;
 * a hit is found by comparing the lists (rings of one version are few: the nodes that computed one from
 * another view). Bounded: a node reads a few rings at each start, the whole cluster the same ones.
 */
const readRings = new Map<string, VersionedRing[]>();
const maxReadRings = 64;

/**
 * The entry read from disk as one object per content: each node of a restarted simulated cluster reads
 * every member's entry from its own disk, then gossips them, and equal entries in one object are neither
 * hashed twice nor compared field by field (entryNewer), and are checked once when they travel
 * (messages.ts). An entry with fields beyond the known ones is kept as it is. Bounded.
 */
export function internEntry(e: MemberEntry): MemberEntry {
  let fields = 0;
  for (const k in e) if (Object.hasOwn(e, k)) fields++;
  if (fields !== 5 + (e.handedOff === undefined ? 0 : 1) + (e.boot === undefined ? 0 : 1)) return e;
  const key = `${e.id}\u0000${e.addr}\u0000${e.status}\u0000${e.incarnation}\u0000${e.heartbeat}\u0000${e.handedOff ?? '-'}\u0000${e.boot === undefined ? '-' : `+${e.boot}`}`;
  const known = readEntries.get(key);
  if (known !== undefined && sameEntry(known, e)) return known;
  if (readEntries.size >= maxReadEntries) readEntries.clear();
  readEntries.set(key, e);
  return e;
}

const readEntries = new Map<string, MemberEntry>();
const maxReadEntries = 4096;
