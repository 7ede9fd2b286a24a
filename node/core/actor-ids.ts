// The names this node writes under. Request ids and cart dots carry a boot nonce so they never repeat
// across restarts; version dots are minted under an actor id `${base}#${epoch}` (plain base for epoch 0)
// whose epoch moves on, durably, before this node forgets any dot it minted, so it never mints one twice.
import type { NodeId } from './env.js';

export class ActorIds {
  /**
   * The actor id this node mints dots under is `${base}#${epoch}` (plain base for epoch 0). Before it
   * deletes a key it holds (handoff, reap) it makes sure the current epoch has never minted anything,
   * bumping it durably if it has, so a later write of that key can never repeat a dot it no longer remembers.
   */
  epoch = 0;
  private epochFresh = false;
  /** This node's id, or `${id}@${nonce}` once it learned it lost its disk (its old dots are unknown). */
  base = '';
  bootNonce = '';
  private seq = 0;
  private cartCounter = 0;

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

  /** A cart add's dot: unique by construction (node, boot nonce, counter), so any node may coordinate one. */
  cartDot(): string {
    return `${this.id}:${this.bootNonce}:${++this.cartCounter}`;
  }

  /** The actor for a dot minted now; call it under the key's lock, in the same turn as the mint. */
  ownActor(): NodeId {
    this.epochFresh = false;
    return this.epoch === 0 ? this.base : `${this.base}#${this.epoch}`;
  }

  /** Called under the key's lock right before local data is deleted. */
  async freshEpoch(): Promise<void> {
    if (this.epochFresh) return;
    this.epoch += 1;
    this.epochFresh = true;
    await this.persist();
  }

  /** The disk lost an earlier life's state: never mint under that life's actor again. */
  lostState(): void {
    this.base = `${this.id}@${this.bootNonce}`;
    this.epoch = 0;
  }
}
