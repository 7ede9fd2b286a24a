// The suspicions of a cluster that probes (probe.ts), SWIM's dissemination part: which members this node
// suspects of having failed, and the members' own notices that they are alive. A suspicion names a member's
// life (incarnation) and the last alive notice of it that its raiser knew (seq); a later notice of that
// life, or a later life in the member table, refutes it. A member that hears a suspicion of itself
// issues the next notice. Notices live here, not in the member entries: an entry change makes every
// table's digest differ and gossip send every entry (O(members) a message) until the tables agree again,
// and a partition's heal refutes a suspicion of every member on the other side.
// Each node gossips a suspicion or notice it took for a while (spreadWindowMs, SWIM's bounded
// piggybacking), long enough to reach everyone; a member heard from later is reminded by the node that
// hears it (Gossip.remind), so it still refutes what it missed.
import type { NodeId } from './env.js';
import type { Liveness, MemberEntry } from './membership.js';

interface Held {
  readonly incarnation: number;
  readonly seq: number;
  /** The claim as gossiped: one object for the life of the entry (see Notice.claim). */
  readonly claim: Liveness;
  /** When this node took it (monotonic ms): a gossiped suspicion counts from here, and spreads for a window from here. */
  readonly sinceMs: number;
  /** This node's own probes failed to reach the member: down here at once. */
  readonly local: boolean;
  /** Gossiped on (a suspicion taken from gossip, or raised when no one could reach the member). */
  readonly spread: boolean;
}

interface Notice {
  readonly incarnation: number;
  readonly seq: number;
  readonly sinceMs: number;
  /** The notice as gossiped: one object for as long as the notice stands, so building a list allocates none. */
  readonly claim: Liveness;
}

const none: readonly Liveness[] = Object.freeze([]);
/** piggyback() when there is nothing to carry. */
const nothingCarried = Object.freeze({});

/** (incarnation, seq) of `a` after that of `b`. */
function later(a: { readonly incarnation: number; readonly seq: number }, b: { readonly incarnation: number; readonly seq: number }): boolean {
  return a.incarnation !== b.incarnation ? a.incarnation > b.incarnation : a.seq > b.seq;
}

export class SuspicionTable {
  private readonly held = new Map<NodeId, Held>();
  /** The latest alive notice known of each member, this node's own included. */
  private readonly notices = new Map<NodeId, Notice>();
  /** The gossiped lists as last built, dropped on a change, and until when they hold (the next to stop spreading). */
  private suspectsCache: readonly Liveness[] | undefined;
  private suspectsUntilMs = 0;
  private noticesCache: readonly Liveness[] | undefined;
  private noticesUntilMs = 0;
  /** piggyback() as last built, and the two lists it was built of. */
  private carried: { suspects: readonly Liveness[]; alive: readonly Liveness[]; fields: { readonly suspects?: readonly Liveness[]; readonly alive?: readonly Liveness[] } } | undefined;

  constructor(
    private readonly self: NodeId,
    private readonly entryOf: (id: NodeId) => MemberEntry | undefined,
    /** This node's incarnation now. */
    private readonly incarnation: () => number,
    /** How long a suspicion or notice taken here is gossiped on. */
    private readonly spreadWindowMs: () => number,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** The life and latest notice of `id` known here: what a suspicion raised now names. */
  current(id: NodeId): { incarnation: number; seq: number } | undefined {
    const e = this.entryOf(id);
    if (e === undefined) return undefined;
    const n = this.notices.get(id);
    return n !== undefined && n.incarnation >= e.incarnation ? { incarnation: n.incarnation, seq: n.seq } : { incarnation: e.incarnation, seq: 0 };
  }

  /**
   * Takes a suspicion of `s.id` (this node's own finding when `local`; gossiped on when `spread`). Ignored
   * for this node, a member not known or gone, and one refuted already. True when it is new here.
   */
  suspect(s: Liveness, nowMs: number, local: boolean, spread: boolean): boolean {
    if (s.id === this.self) return false;
    const cur = this.current(s.id);
    if (cur === undefined || this.entryOf(s.id)?.status === 'left' || later(cur, s)) return false;
    const h = this.held.get(s.id);
    if (h !== undefined && !later(s, h)) {
      if ((local && !h.local) || (spread && !h.spread)) {
        this.held.set(s.id, { ...h, local: h.local || local, spread: h.spread || spread });
        this.suspectsCache = undefined;
      }
      return false;
    }
    this.held.set(s.id, { incarnation: s.incarnation, seq: s.seq, claim: { id: s.id, incarnation: s.incarnation, seq: s.seq }, sinceMs: nowMs, local, spread });
    this.suspectsCache = undefined;
    return true;
  }

  /** Whether a suspicion at `s` or a later one is held here and gossiped on (so taking `s` changes nothing). */
  holds(s: Liveness): boolean {
    const h = this.held.get(s.id);
    return h !== undefined && h.spread && !later(s, h);
  }

  /** Whether a suspicion of `id` is held (refuted or not). */
  has(id: NodeId): boolean {
    return this.held.has(id);
  }

  /** Whether this node reports `id` down for a suspicion: its own finding, or one older than `timeoutMs`. */
  isDown(id: NodeId, nowMs: number, timeoutMs: number): boolean {
    const h = this.held.get(id);
    return h !== undefined && !this.refuted(id, h) && (h.local || nowMs - h.sinceMs >= timeoutMs);
  }

  /** `id` spoke to this node: its suspicion ends here, and is returned when it was gossiped (see Gossip.remind). */
  heard(id: NodeId): Liveness | undefined {
    const h = this.held.get(id);
    if (h === undefined || this.refuted(id, h)) return undefined;
    this.held.delete(id);
    this.suspectsCache = undefined;
    return h.spread ? h.claim : undefined;
  }

  /** Takes a member's alive notice; true when it is later than the one known (it refutes what it follows). */
  takeNotice(n: Liveness, nowMs: number): boolean {
    if (n.id === this.self) return false;
    const known = this.notices.get(n.id);
    if (known !== undefined && !later(n, known)) return false;
    const e = this.entryOf(n.id);
    if (e !== undefined && e.incarnation > n.incarnation) return false;
    this.notices.set(n.id, { incarnation: n.incarnation, seq: n.seq, sinceMs: nowMs, claim: { id: n.id, incarnation: n.incarnation, seq: n.seq } });
    this.noticesCache = undefined;
    return true;
  }

  /**
   * A peer suspects this node at `s`: of this life, it is answered with a notice after it (or, when the
   * latest notice is after it already but no longer spreading, that notice spreads again). True when this
   * node has a notice to push.
   */
  refute(s: Liveness, nowMs: number): boolean {
    const incarnation = this.incarnation();
    if (s.id !== this.self || s.incarnation !== incarnation) return false;
    const own = this.notices.get(this.self);
    const seq = own !== undefined && own.incarnation === incarnation ? own.seq : 0;
    if (s.seq < seq && own !== undefined && nowMs - own.sinceMs < this.spreadWindowMs()) return false;
    const next = Math.max(seq, s.seq + 1);
    this.notices.set(this.self, { incarnation, seq: next, sinceMs: nowMs, claim: { id: this.self, incarnation, seq: next } });
    this.noticesCache = undefined;
    return true;
  }

  /** The members held suspected, refuted ones dropped (probe.ts probes them again). */
  suspected(): NodeId[] {
    const out: NodeId[] = [];
    this.held.forEach((h, id) => {
      if (!this.refuted(id, h)) out.push(id);
    });
    return out;
  }

  /** The suspicions this node gossips now: taken within the spread window, not refuted. One shared array per change. */
  suspects(nowMs: number): readonly Liveness[] {
    if (this.held.size === 0) return none;
    if (this.suspectsCache === undefined || nowMs >= this.suspectsUntilMs) {
      ({ list: this.suspectsCache, untilMs: this.suspectsUntilMs } = this.spreading(this.held, nowMs, (id, h) => !h.spread || this.refuted(id, h)));
    }
    return this.suspectsCache;
  }

  /** The alive notices this node gossips now (its own included): taken within the spread window. */
  aliveNotices(nowMs: number): readonly Liveness[] {
    if (this.notices.size === 0) return none;
    if (this.noticesCache === undefined || nowMs >= this.noticesUntilMs) {
      ({ list: this.noticesCache, untilMs: this.noticesUntilMs } = this.spreading(this.notices, nowMs, () => false));
    }
    return this.noticesCache;
  }

  /**
   * What a ping, probe, ack or gossip carries of these (SWIM's piggybacking): the suspicions and notices
   * gossiped now, each field absent when empty.
   */
  piggyback(nowMs: number): { readonly suspects?: readonly Liveness[]; readonly alive?: readonly Liveness[] } {
    const suspects = this.suspects(nowMs);
    const alive = this.aliveNotices(nowMs);
    if (suspects.length === 0 && alive.length === 0) return nothingCarried;
    // Asked for every probe and ack sent: one object while both lists stand.
    const c = this.carried;
    if (c !== undefined && c.suspects === suspects && c.alive === alive) return c.fields;
    const fields = { ...(suspects.length > 0 ? { suspects } : {}), ...(alive.length > 0 ? { alive } : {}) };
    this.carried = { suspects, alive, fields };
    return fields;
  }

  /**
   * The claims of `entries` still within the spread window and not skipped, and when the first of them
   * leaves it (until then the list holds, barring a change).
   */
  private spreading<T extends { readonly claim: Liveness; readonly sinceMs: number }>(
    entries: ReadonlyMap<NodeId, T>,
    nowMs: number,
    skip: (id: NodeId, e: T) => boolean,
  ): { list: readonly Liveness[]; untilMs: number } {
    const window = this.spreadWindowMs();
    const list: Liveness[] = [];
    let untilMs = Number.POSITIVE_INFINITY;
    // forEach rather than for-of: no [id, entry] pair per entry (lists are rebuilt on every change and expiry).
    entries.forEach((e, id) => {
      if (nowMs - e.sinceMs >= window || skip(id, e)) return;
      list.push(e.claim);
      untilMs = Math.min(untilMs, e.sinceMs + window);
    });
    return { list, untilMs };
  }

  /** Drops a held suspicion refuted by a later notice or life, or of a member gone or left; true if it did. */
  private refuted(id: NodeId, h: Held): boolean {
    // current(id) compared with `h` in place (asked for every held suspicion each time the gossiped list is
    // rebuilt, and by every health check of a suspect): one entry lookup and no object.
    const e = this.entryOf(id);
    if (e !== undefined && e.status !== 'left') {
      const n = this.notices.get(id);
      const byNotice = n !== undefined && n.incarnation >= e.incarnation;
      const incarnation = byNotice ? n.incarnation : e.incarnation;
      const seq = byNotice ? n.seq : 0;
      if (incarnation !== h.incarnation ? incarnation < h.incarnation : seq <= h.seq) return false;
    }
    this.held.delete(id);
    this.suspectsCache = undefined;
    return true;
  }
}
