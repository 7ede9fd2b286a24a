// The public face of a core node: what the node process (HTTP + TCP) and the simulation runtime call.
// Results are data, never exceptions, so the caller maps them to HTTP statuses or history outcomes.
import type { NodeId, PeerMessage } from './env.js';

export interface RequestOptions {
  /** Per-request read quorum (defaults to the node's R). */
  readonly r?: number;
  /** Per-request write quorum (defaults to the node's W). */
  readonly w?: number;
  readonly timeoutMs?: number;
}

/** A quorum that could not be met in time. For writes this is not definite: some replicas may hold it. */
export interface QuorumError {
  readonly ok: false;
  readonly error: 'quorum';
  readonly needed: number;
  readonly replied: number;
}

/** A request the core refuses (bad context, bad arguments). Always definite: nothing was written. */
export interface BadRequest {
  readonly ok: false;
  readonly error: 'bad-request' | 'bad-context';
  readonly message: string;
}

export interface GetOk {
  readonly ok: true;
  /** Live values; one normally, several when concurrent siblings exist, none when only tombstones remain. */
  readonly values: Uint8Array[];
  /** Opaque, signed causal context subsuming everything returned (absent when the key never existed). */
  readonly context?: string;
}

export interface PutOk {
  readonly ok: true;
  /** The context of the new version: exactly the versions the write superseded plus itself. */
  readonly context: string;
}

export interface CartReadOk {
  readonly ok: true;
  readonly items: Record<string, number>;
  /** Opaque context naming the adds this read observed; a remove sends it back. */
  readonly context: string;
}

export interface Ok {
  readonly ok: true;
}

export type GetResult = GetOk | QuorumError | BadRequest;
export type PutResult = PutOk | QuorumError | BadRequest;
export type CartReadResult = CartReadOk | QuorumError | BadRequest;
export type CartWriteResult = Ok | QuorumError | BadRequest;

export type MemberStatus = 'up' | 'down' | 'joining' | 'leaving';

export interface NodeStatus {
  readonly id: NodeId;
  readonly members: { id: NodeId; addr: string; status: MemberStatus; phi?: number }[];
  readonly ring: { vnodes: number; partitions: number; owned: number; version: number };
  readonly hints: { pending: number; delivered: number };
  readonly antiEntropy: { rounds: number; keysRepaired: number };
  readonly readRepair: { repairs: number };
  readonly config: { n: number; r: number; w: number; sloppy: boolean; conflicts: string };
  /** The mechanism switches as honoured (all true unless a run switched one off); the toy sim node has none. */
  readonly mechanisms?: { readRepair: boolean; antiEntropy: boolean; hintedHandoff: boolean };
  readonly [extra: string]: unknown;
}

/** What /admin/local answers: this node's own versions of a key, no quorum. */
export type LocalState =
  | { kind: 'kv'; versions: { value: Uint8Array; clock: Record<NodeId, number>; tombstone: boolean }[] }
  | { kind: 'cart'; items: Record<string, number>; state: unknown };

export interface CoreNode {
  readonly id: NodeId;
  /** Loads durable state (membership, ring, hints) and starts gossip, anti-entropy and hint timers. */
  start(): Promise<void>;
  /** Cancels every timer; the node no longer sends anything. */
  stop(): void;
  /** A message from a peer (already authenticated by the transport). */
  receive(from: NodeId, message: PeerMessage): void;

  get(key: string, options?: RequestOptions): Promise<GetResult>;
  put(key: string, value: Uint8Array, context: string | undefined, options?: RequestOptions): Promise<PutResult>;
  delete(key: string, context: string | undefined, options?: RequestOptions): Promise<PutResult>;
  cartRead(key: string, options?: RequestOptions): Promise<CartReadResult>;
  cartAdd(key: string, item: string, qty: number, options?: RequestOptions): Promise<CartWriteResult>;
  cartRemove(key: string, item: string, context: string, options?: RequestOptions): Promise<CartWriteResult>;

  status(): NodeStatus;
  local(key: string): Promise<LocalState | undefined>;
  /** The key's first N distinct physical nodes by this node's ring (home replicas, no fallbacks). */
  preflist(key: string): NodeId[];
  keys(): AsyncIterable<string>;
  /** Merkle root (hex) per partition this node stores. */
  digest(): Promise<Record<string, string>>;
  /** Leaves the cluster: hands every partition it holds to the new owners, then stops serving them. */
  leave(): Promise<void>;
}
