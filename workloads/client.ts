// The client side of ../shared/NODE-API.md as the workloads see it. The HTTP implementation talks to
// real nodes (local and docker runtimes); the simulation implements the same interface on virtual time.
// Outcomes follow Jepsen: ok (happened), fail (certainly did not), info (unknown).

export type Outcome<T> =
  | { readonly type: 'ok'; readonly value: T }
  | { readonly type: 'fail'; readonly error: string }
  | { readonly type: 'info'; readonly error: string };

export interface ClientOptions {
  readonly r?: number;
  readonly w?: number;
  readonly timeoutMs?: number;
}

export interface KvRead {
  /** Live sibling values (one normally; none for 404). */
  readonly values: Uint8Array[];
  readonly context?: string;
}

export interface CartRead {
  readonly items: Record<string, number>;
  readonly context: string;
}

/** What /admin/local answered, decoded: register versions, or a cart's items. */
export type ReplicaState =
  | { readonly kind: 'kv'; readonly versions: { value: Uint8Array; clock: Record<string, number>; tombstone: boolean }[] }
  | { readonly kind: 'cart'; readonly items: Record<string, number> }
  | { readonly kind: 'none' };

/**
 * Mapping of errors, decided once here so every runtime agrees:
 * - a read that misses its quorum (503) is `fail`: it returned nothing;
 * - a write (put, delete, cart add or remove) that misses its quorum is `info`, because Dynamo does not roll
 *   back the replicas that did store it, so it may still become visible;
 * - 4xx answers are `fail` (the node refused before writing anything);
 * - timeouts, refused or reset connections are `info`.
 */
export interface NodeClient {
  readonly nodeId: string;
  get(key: string, options?: ClientOptions): Promise<Outcome<KvRead>>;
  put(key: string, value: Uint8Array, context: string | undefined, options?: ClientOptions): Promise<Outcome<{ context?: string }>>;
  delete(key: string, context: string | undefined, options?: ClientOptions): Promise<Outcome<{ context?: string }>>;
  cartRead(key: string, options?: ClientOptions): Promise<Outcome<CartRead>>;
  cartAdd(key: string, item: string, qty: number, options?: ClientOptions): Promise<Outcome<void>>;
  cartRemove(key: string, item: string, context: string, options?: ClientOptions): Promise<Outcome<void>>;

  adminStatus(): Promise<Outcome<Record<string, unknown>>>;
  adminLocal(key: string): Promise<Outcome<ReplicaState>>;
  adminPreflist(key: string): Promise<Outcome<string[]>>;
  /** Extension to NODE-API.md (documented in the README): ask the node to leave the ring with handoff. */
  adminLeave(): Promise<Outcome<void>>;
}
