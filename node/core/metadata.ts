// The node's own durable metadata, one record in the "meta" namespace: incarnation, actor epoch and base,
// the member entries it knew, its ring and the earlier rings still in transition. Written whole, one write
// after another (each waits for the one before, failed or not), so the last write is the newest state;
// changes made while a write is in flight are written together by the next one.
import type { ActorIds } from './actor-ids.js';
import type { CoreEnv, NodeId } from './env.js';
import { type VersionedRing, isMemberEntry, ringFromJson, ringToJson } from './membership.js';
import type { MembershipView } from './membership-view.js';

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

export class MetaStore {
  private metaWrite: Promise<void> = Promise.resolve();
  /**
   * The write queued behind the one in flight, not started yet. Every persist asked for meanwhile joins it:
   * it encodes the view when it starts, so it carries all of their changes, and a burst of changes (a ring
   * moving through versions while a cluster forms) costs one write per fsync instead of one per change.
   */
  private queued: Promise<void> | undefined;
  /** The bytes of the last record handed to storage: a record equal to it is not written again. */
  private lastWritten: Uint8Array | undefined;

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
      if (Array.isArray(m.members)) for (const e of m.members) if (isMemberEntry(e) && e.id !== this.id) this.view.members.set(e.id, e);
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
      const value = this.encode();
      const last = this.lastWritten;
      if (last !== undefined && sameBytes(last, value)) return Promise.resolve();
      this.lastWritten = value;
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

  /** The record: the UTF-8 of JSON.stringify({ ...head, ring, pastRings }), each ring's (O(Q)) bytes made once per ring. */
  private encode(): Uint8Array {
    const view = this.view;
    const head = {
      incarnation: view.incarnation,
      actorEpoch: this.actor.epoch,
      actorBase: this.actor.base,
      members: [...view.members.values()].filter((m) => m.id !== this.id),
    };
    const parts: Uint8Array[] = [utf8.encode(`${JSON.stringify(head).slice(0, -1)},"ring":`)];
    parts.push(view.ring === undefined ? utf8.encode('null') : ringBytes(view.ring), utf8.encode(',"pastRings":['));
    view.pastRings.forEach((r, i) => {
      if (i > 0) parts.push(comma);
      parts.push(ringBytes(r));
    });
    parts.push(utf8.encode(']}'));
    return concat(parts);
  }

  persistSoon(): void {
    this.persist().catch((err: unknown) => this.env.logger.log('error', 'meta-write-failed', { error: String(err) }));
  }
}
