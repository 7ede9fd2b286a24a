// The node's own durable metadata, one record in the "meta" namespace: incarnation, actor epoch and base,
// the member entries it knew, its ring and the earlier rings still in transition. Written whole, one write
// after another (each waits for the one before, failed or not), so the last write is the newest state;
// changes made while a write is in flight are written together by the next one.
import type { ActorIds } from './actor-ids.js';
import type { CoreEnv, NodeId } from './env.js';
import { type MemberEntry, type VersionedRing, internEntry, isMemberEntry, ringFromJson, ringToJson } from './membership.js';
import type { MembershipView } from './membership-view.js';

/** The JSON of each member entry persisted so far (entries are immutable). */
const entryJsons = new WeakMap<MemberEntry, string>();

function entryJson(e: MemberEntry): string {
  let j = entryJsons.get(e);
  if (j === undefined) {
    j = JSON.stringify(e);
    entryJsons.set(e, j);
  }
  return j;
}

/** The JSON of each ring persisted so far, as UTF-8: rings are immutable values, persisted on every change of the view. */
const ringJsonBytes = new WeakMap<VersionedRing, Uint8Array>();
const utf8 = new TextEncoder();
const comma = utf8.encode(',');

function ringBytes(r: VersionedRing): Uint8Array {
  let b = ringJsonBytes.get(r);
  if (b === undefined) {
    b = utf8.encode(JSON.stringify(ringToJson(r)));
    ringJsonBytes.set(r, b);
  }
  return b;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A record in parts: its bytes are the UTF-8 of `head`, the ring's JSON (or null), then the past rings'
 * JSON in a list, closing the object: JSON.stringify({ ...head, ring, pastRings }). Comparing parts (text,
 * and rings by object before bytes) tells an unchanged record without encoding it: a ring's JSON is O(Q)
 * bytes and the record holds up to nine rings, and every persist asked for compared all of them.
 */
interface MetaRecord {
  readonly head: string;
  readonly ring: VersionedRing | undefined;
  readonly pastRings: readonly VersionedRing[];
}

function sameRingBytes(a: VersionedRing | undefined, b: VersionedRing | undefined): boolean {
  if (a === b) return true;
  return a !== undefined && b !== undefined && sameBytes(ringBytes(a), ringBytes(b));
}

/** Equal parts give equal bytes, and equal bytes parse to equal parts (each part is the JSON of its value). */
function sameRecord(a: MetaRecord, b: MetaRecord): boolean {
  return a.head === b.head && sameRingBytes(a.ring, b.ring) && a.pastRings.length === b.pastRings.length &&
    a.pastRings.every((r, i) => sameRingBytes(r, b.pastRings[i]));
}

function recordBytes(r: MetaRecord): Uint8Array {
  const parts: Uint8Array[] = [utf8.encode(r.head)];
  parts.push(r.ring === undefined ? utf8.encode('null') : ringBytes(r.ring), utf8.encode(',"pastRings":['));
  r.pastRings.forEach((past, i) => {
    if (i > 0) parts.push(comma);
    parts.push(ringBytes(past));
  });
  parts.push(utf8.encode(']}'));
  return concat(parts);
}

export class MetaStore {
  private metaWrite: Promise<void> = Promise.resolve();
  /**
   * The write queued behind the one in flight, not started yet. Every persist asked for meanwhile joins it:
   * it encodes the view when it starts, so it carries all of their changes, and a burst of changes (a ring
   * moving through versions while a cluster forms) costs one write per fsync instead of one per change.
   */
  private queued: Promise<void> | undefined;
  /** The last record handed to storage, in parts: a record equal to it is not written again. */
  private lastWritten: MetaRecord | undefined;
  /** The JSON of the member entries but this node's, at a version of the table. */
  private membersJson: { version: number; text: string } | undefined;

  constructor(
    private readonly id: NodeId,
    private readonly partitions: number,
    private readonly env: CoreEnv,
    private readonly view: MembershipView,
    private readonly actor: ActorIds,
  ) {}

  /** Loads the stored record into the view and the actor ids; false when there was none (a first boot). */
  async load(): Promise<boolean> {
    const meta = await this.env.storage.get('meta', 'state');
    if (meta === undefined) return false;
    try {
      const m = JSON.parse(new TextDecoder().decode(meta)) as Record<string, unknown>;
      if (Number.isSafeInteger(m.incarnation)) this.view.incarnation = m.incarnation as number;
      if (Number.isSafeInteger(m.actorEpoch)) this.actor.epoch = m.actorEpoch as number;
      if (typeof m.actorBase === 'string' && m.actorBase !== '') this.actor.base = m.actorBase;
      if (Array.isArray(m.members)) for (const e of m.members) if (isMemberEntry(e) && e.id !== this.id) this.view.members.set(e.id, internEntry(e));
      this.view.ring = ringFromJson(m.ring, this.partitions);
      if (Array.isArray(m.pastRings)) {
        for (const r of m.pastRings) {
          const past = ringFromJson(r, this.partitions);
          if (past !== undefined) this.view.pastRings.push(past);
        }
      }
    } catch (err) {
      this.env.logger.log('warn', 'meta-undecodable', { error: (err as Error).message });
    }
    return true;
  }

  /**
   * Resolves once a record holding the view as it is now (or newer) is durable. Records are written one
   * after another (each waits for the one before, failed or not), so the last write is the newest state.
   */
  persist(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const start = (): Promise<void> => {
      this.queued = undefined;
      const record = this.record();
      const last = this.lastWritten;
      if (last !== undefined && sameRecord(last, record)) return Promise.resolve();
      this.lastWritten = record;
      const value = recordBytes(record);
      return this.env.storage.write([{ type: 'put', ns: 'meta', key: 'state', value }]).catch((err: unknown) => {
        // A failed write may not be on disk: the next record must not be skipped as equal to it.
        this.lastWritten = undefined;
        throw err;
      });
    };
    const write = this.metaWrite.then(start, start);
    this.queued = write;
    this.metaWrite = write;
    return write;
  }

  /** The record as it is now: the JSON text before its rings (O(members)), and the rings themselves. */
  private record(): MetaRecord {
    const view = this.view;
    // JSON.stringify({ incarnation, actorEpoch, actorBase, members }) without its closing brace; the
    // members' part is built once per version of the table (a ring change alone leaves it as it was).
    const table = view.members;
    if (this.membersJson?.version !== table.version) {
      // JSON.stringify of the list, from each entry's JSON (entries are immutable, and in simulation shared
      // by every node that took them: a forming or restarted cluster's nodes persisted the same entries
      // over and over, every change of their tables).
      const parts: string[] = [];
      for (const m of table.values()) if (m.id !== this.id) parts.push(entryJson(m));
      this.membersJson = { version: table.version, text: `[${parts.join(',')}]` };
    }
    const head = `{"incarnation":${JSON.stringify(view.incarnation)},"actorEpoch":${JSON.stringify(this.actor.epoch)},"actorBase":${JSON.stringify(this.actor.base)},"members":${this.membersJson.text},"ring":`;
    return { head, ring: view.ring, pastRings: [...view.pastRings] };
  }

  persistSoon(): void {
    this.persist().catch((err: unknown) => this.env.logger.log('error', 'meta-write-failed', { error: String(err) }));
  }
}
