// The names this node writes under. Request ids and cart dots carry a boot nonce so they never repeat
// across restarts; version dots are minted under an actor id `${base}#${epoch}` (plain base for epoch 0)
// whose epoch moves on, durably, before this node forgets any dot it minted, so it never mints one twice.
// The base and epoch live in the node's metadata, on the same disk as its data: a node that boots without
// metadata cannot tell a first boot from a lost disk, so it takes a base of its own boot (`${id}@${nonce}`)
// and never mints under an actor whose counters an earlier life advanced (Riak's kv679).
import type { NodeId } from './env.js';

/** Cart keys whose dot stream a node keeps per boot (see `ActorIds.cartDot`). */
export const maxCartStreams = 4096;
/** Whether `actor` is a `freshActor()` id: it minted one dot and mints no other (its node id has no '~'). */
export function isOneShotActor(actor: NodeId): boolean {
  return actor.includes('~');
}

/** Keys whose minted counters one actor's table keeps before the node moves to a fresh epoch. */
const maxMintedKeys = 100_000;

export class ActorIds {
  /**
   * The actor id this node mints dots under is `${base}#${epoch}` (plain base for epoch 0). Before it
   * deletes a key it holds (handoff, reap) it makes sure the current epoch has never minted anything,
   * bumping it durably if it has, so a later write of that key can never repeat a dot it no longer remembers.
   */
  epoch = 0;
  private epochFresh = false;
  /** `${id}@${nonce}` of the boot that found no metadata (see `bootWithoutMetadata`); kept in metadata. */
  base = '';
  bootNonce = '';
  private seq = 0;
  /**
   * Cart dot streams of this boot, by key (least recently used first): a stream's dots are
   * `${id}:${bootNonce}.${stream}:${counter}`, its counters 1, 2, 3… for that key alone. A cart's removed
   * dots then form runs per stream, which its encoding and its removed set keep as ranges; one counter
   * shared by every key would leave a gap in a cart's runs for each dot minted for another key meanwhile.
   * Uniqueness needs no disk: the boot nonce is new per boot (a lost disk included) and the stream number
   * is new per stream within the boot, so no counter is ever reused under a prefix (kv679 concerns the
   * version actors below, whose counters live on disk with the data).
   */
  private readonly cartStreams = new Map<string, { readonly prefix: string; counter: number }>();
  private cartStreamSeq = 0;
  /**
   * Per key, the largest counter the current actor minted (see `mintedFloor`). Cleared when the actor
   * changes: a new epoch or base has minted nothing yet.
   */
  private readonly minted = new Map<string, number>();
  private mintedBy = '';
  /** Test fault 'actor-reuse': set by `bootWithoutMetadata(true)`; deletions then keep the actor. */
  private reuseActor = false;
  /** The epoch bump of a full table, until it is durable (no dot is minted under it before). */
  private bumping: Promise<void> | undefined;

  constructor(
    private readonly id: NodeId,
    /** Persists the node's metadata (the epoch is part of it); resolves once durable. */
    private readonly persist: () => Promise<void>,
  ) {}

  /** A node with an earlier life starts a fresh epoch (persisted by the caller before serving anyone). */
  startNewEpoch(): void {
    this.epoch += 1;
    this.epochFresh = true;
  }

  /** A request id, unique across this node's lives. */
  nextId(): string {
    return `${this.id}:${this.bootNonce}:${++this.seq}`;
  }

  /** A one-off actor id no other write will ever use, for a coordinator that holds no replica of the key. */
  freshActor(): NodeId {
    return `${this.id}~${this.bootNonce}.${++this.seq}`;
  }

  /**
   * A cart add's dot for `key`: unique by construction (node, boot nonce, stream, counter), so any node may
   * coordinate one. Streams beyond `maxCartStreams` keys are forgotten least recently used first; such a key
   * takes a new stream next time (one more prefix in its cart), so memory stays bounded by design.
   */
  cartDot(key: string): string {
    let s = this.cartStreams.get(key);
    if (s === undefined) {
      s = { prefix: `${this.id}:${this.bootNonce}.${(++this.cartStreamSeq).toString(36)}`, counter: 0 };
      if (this.cartStreams.size >= maxCartStreams) this.cartStreams.delete(this.cartStreams.keys().next().value as string);
    } else {
      this.cartStreams.delete(key);
    }
    this.cartStreams.set(key, s);
    return `${s.prefix}:${++s.counter}`;
  }

  /** The actor for a dot minted now; call it under the key's lock, in the same turn as the mint. */
  ownActor(): NodeId {
    this.epochFresh = false;
    return this.epoch === 0 ? this.base : `${this.base}#${this.epoch}`;
  }

  /**
   * Test fault 'actor-reuse': the next counter of `actor` for `key` from this life's table alone (the one
   * `mintedFloor` reads), ignoring the stored versions, as a node that keeps its per-key counters beside its
   * data would. Within one life it never repeats; after a lost disk the table starts again at 1 under the same
   * actor (the fault keeps it, see `bootWithoutMetadata`), repeating the dots of its earlier life.
   */
  lifeCounter(actor: NodeId, key: string): number {
    const next = this.mintedFloor(actor, key) + 1;
    this.noteMinted(actor, key, next);
    return next;
  }

  /**
   * The counter a new dot of `key` under `actor` (the current own actor) must exceed, beside what the stored
   * state says. The state alone does not know: clients write with pruned read contexts (the Dynamo paper's
   * clock truncation, `clockPruneEntries`), and once a version whose past lacks this actor's entry
   * supersedes the rest, no replica remembers its counter, so it would mint its old dots again (two writes
   * with one dot: a client's context for the older one then replaces the newer one, which it never saw).
   * Actors are per life, so this life's table is the whole truth about them.
   */
  mintedFloor(actor: NodeId, key: string): number {
    return actor === this.mintedBy ? (this.minted.get(key) ?? 0) : 0;
  }

  /** Records a dot minted under the current own actor (under the key's lock, in the turn of the mint). */
  noteMinted(actor: NodeId, key: string, counter: number): void {
    if (actor !== this.mintedBy) {
      this.minted.clear();
      this.mintedBy = actor;
    }
    if (counter > (this.minted.get(key) ?? 0)) this.minted.set(key, counter);
  }

  /**
   * Keeps the table bounded: once it holds `maxMintedKeys` keys, the next mint goes under a fresh epoch
   * (persisted before that mint, so a crash cannot bring back an epoch whose table is lost), which has
   * minted nothing and starts an empty table. Call under the key's lock before minting.
   */
  roomToMint(): Promise<void> | undefined {
    // Undefined when the caller may mint in this very turn; a promise while an epoch is being persisted.
    if (this.bumping !== undefined) return this.bumping;
    // Under the test fault the table is the fault's only counter: clearing it would repeat dots within one
    // life, a defect other than the one the fault models, and its epoch never moves (see `freshEpoch`).
    if (this.minted.size < maxMintedKeys || this.reuseActor) return undefined;
    this.minted.clear();
    this.mintedBy = '';
    this.epochFresh = false;
    this.bumping = this.freshEpoch().finally(() => {
      this.bumping = undefined;
    });
    return this.bumping;
  }

  /** Called under the key's lock right before local data is deleted. */
  async freshEpoch(): Promise<void> {
    // Test fault 'actor-reuse' models a node that keeps one actor for its disk's whole life (Riak before kv679):
    // bumping here would hand its reborn life a new actor by luck and hide the defect.
    if (this.epochFresh || this.reuseActor) return;
    this.epoch += 1;
    this.epochFresh = true;
    await this.persist();
  }

  /**
   * A boot that found no metadata (a first boot or a lost disk: the same thing seen from here) mints under
   * a base no earlier life can have used, because the boot nonce is new. Call it after `bootNonce` is set
   * and before the metadata is persisted. One base per such boot keeps version vectors bounded: an entry
   * per disk a node ever started on. With `reuse` (test fault 'actor-reuse') it keeps the plain node id.
   */
  bootWithoutMetadata(reuse = false): void {
    this.reuseActor = reuse;
    this.base = reuse ? this.id : `${this.id}@${this.bootNonce}`;
    this.epoch = 0;
  }

  /**
   * The cluster remembers a newer life of this node than its disk does: never mint under that life's actor
   * again. A base taken by this very boot (`bootWithoutMetadata`) is already new, and its epoch may have
   * moved on since, so it is kept: starting its epochs again from 0 would repeat its own dots.
   */
  lostState(reuse = false): void {
    if (reuse || this.base === `${this.id}@${this.bootNonce}`) return;
    this.base = `${this.id}@${this.bootNonce}`;
    this.epoch = 0;
  }
}
