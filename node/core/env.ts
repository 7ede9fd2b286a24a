// The node core is sans-IO: every effect it needs arrives through this environment, so the same
// state machine runs in the deterministic simulation, as a local process and inside a container.
// Nothing under node/core/ may touch the clock, timers, sockets, files or Math.random directly
// (scripts/check-core-purity.mjs enforces it).

export type NodeId = string;

/** Time as the node sees it. The runtime controls skew on the wall clock, never on the monotonic one. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch, including any skew the runtime or a fault applies. */
  wallMs(): number;
  /** Monotonic milliseconds from an arbitrary origin; used for timeouts and failure detection. */
  monoMs(): number;
}

export interface TimerHandle {
  readonly id: number;
}

/** One-shot timers on the monotonic clock. */
export interface Timers {
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** A seeded random source; in the simulation one generator per node derived from the run's seed. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/**
 * Messages between nodes are plain JSON-serialisable objects with a string `type`. Binary values are
 * carried base64-encoded inside them, so every transport can frame them the same way.
 */
export interface PeerMessage {
  readonly type: string;
  readonly [field: string]: unknown;
}

/**
 * An unreliable, unordered, fire-and-forget link to peers, as a real network is. Delivery may fail
 * silently (partition, crash); the core relies on its own timeouts, never on transport errors.
 */
export interface Transport {
  send(to: NodeId, message: PeerMessage): void;
  /** Tells the transport the peer address of a member learned through gossip (for dialing it). */
  learnPeer?(id: NodeId, addr: string): void;
}

export interface StorageWrite {
  readonly type: 'put' | 'del';
  /** A namespace such as "kv", "hint" or "meta"; engines may map it to a key prefix. */
  readonly ns: string;
  readonly key: string;
  readonly value?: Uint8Array;
}

/**
 * A durable key-value engine. `write` resolves only when the whole batch is durable (fsync'd), and a
 * batch is atomic: after a crash either all of it or none of it is visible. Reads see every write whose
 * promise resolved. What is not durable when the process dies is lost, and the simulation models that.
 */
export interface Storage {
  get(ns: string, key: string): Promise<Uint8Array | undefined>;
  write(batch: readonly StorageWrite[]): Promise<void>;
  /** Every entry of a namespace in key order (bytewise); keys optionally limited to a prefix. */
  scan(ns: string, prefix?: string): AsyncIterable<[string, Uint8Array]>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logging: one event with fields; the process turns it into one JSON line with the node id. */
export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

/** Pure computation that the core may use (hashing, signatures) without I/O. */
export interface CoreEnv {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly transport: Transport;
  readonly storage: Storage;
  readonly logger: Logger;
}
