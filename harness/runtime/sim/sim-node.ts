// One simulated node "process": a CoreNode plus the environment it runs in (virtual clock with skew,
// timers as scheduler events, the simulated network and disk, a seeded random source, a log buffer).
// The host models the process's life: a kill ends the incarnation (every timer, pending fsync and queued
// message of it is dropped and volatile state is gone); a restart builds a new core on the same disk; a
// pause freezes the process: whatever would run in it (timers, messages, fsync completions, client
// requests) waits in a queue and runs, in order, at resume.
import type { CoreNode } from '../../../node/core/api.js';
import type { NodeConfig } from '../../../node/core/config.js';
import type { CoreEnv, LogLevel, NodeId, PeerMessage, StorageWrite, TimerHandle } from '../../../node/core/env.js';
import { deriveSeed, seededRandom } from '../../../node/core/random.js';
import type { EventHandle, Scheduler } from './scheduler.js';
import { SimDisk, SimStorage } from './storage.js';

export type NodeFactory = (config: NodeConfig, env: CoreEnv) => CoreNode;

export type HostState = 'running' | 'paused' | 'crashed' | 'removed';

/** Wall clocks start at this fixed instant (2025-01-01T00:00:00Z) so runs never depend on today. */
export const SIM_EPOCH_MS = 1_735_689_600_000;

export interface LogEntry {
  readonly timeMs: number;
  readonly level: LogLevel;
  readonly event: string;
  readonly fields?: Record<string, unknown>;
}

export interface HostDeps {
  readonly scheduler: Scheduler;
  readonly seed: number;
  readonly factory: NodeFactory;
  readonly send: (from: NodeId, to: NodeId, message: PeerMessage) => void;
  readonly fsyncDelayMs: () => number;
  readonly logLimit: number;
  /** Sees every storage batch this node issues (for the simulator's invariants). */
  readonly wrote?: (node: NodeId, batch: readonly StorageWrite[]) => void;
}

export class SimNodeHost {
  state: HostState = 'crashed';
  /** Bumped on every kill/restart; callbacks of an older incarnation are dropped. */
  incarnation = 0;
  core: CoreNode | undefined;
  storage: SimStorage | undefined;
  clockOffsetMs = 0;
  /** The node's disk: it outlives every incarnation unless replaced by wipeDisk(). */
  get disk(): SimDisk {
    return this.currentDisk;
  }
  private currentDisk = new SimDisk();
  private readonly timers = new Map<number, EventHandle>();
  private nextTimerId = 1;
  private pausedQueue: (() => void)[] = [];
  private readonly killListeners = new Set<() => void>();
  private readonly logs: LogEntry[] = [];
  logsDropped = 0;
  /** Lines logged over the host's life (kept and dropped): the runtime rewrites node.log only when it moved. */
  logged = 0;
  /** Exceptions thrown by the core inside an event (a node bug); they are logged, never swallowed silently. */
  errors = 0;

  constructor(
    readonly config: NodeConfig,
    private readonly deps: HostDeps,
  ) {}

  get id(): NodeId {
    return this.config.id;
  }

  /** Creates a fresh core for a new incarnation and starts it (on virtual time). */
  async boot(): Promise<void> {
    if (this.state === 'running' || this.state === 'paused') throw new Error(`node ${this.id} is already running`);
    this.incarnation++;
    this.state = 'running';
    const env = this.makeEnv(this.incarnation);
    const core = this.deps.factory(this.config, env);
    this.core = core;
    this.log('info', 'sim.boot', { incarnation: this.incarnation });
    await core.start();
  }

  /** SIGKILL: the incarnation ends; nothing of it runs again, undurable writes are lost. */
  kill(): void {
    if (this.state === 'crashed' || this.state === 'removed') return;
    this.log('warn', 'sim.kill', { incarnation: this.incarnation, pendingBatches: this.storage?.pendingBatches ?? 0 });
    this.endIncarnation('crashed');
  }

  /** A clean stop after leave(): the core cancels its timers, then the process exits. */
  remove(): void {
    if (this.state === 'running' || this.state === 'paused') {
      try {
        this.core?.stop();
      } catch (error) {
        this.recordError('stop', error);
      }
    }
    this.endIncarnation('removed');
  }

  /** A replaced disk: the next incarnation boots on empty storage (only while the node is down). */
  wipeDisk(): void {
    if (this.state === 'running' || this.state === 'paused') throw new Error(`node ${this.id} is running; kill it before wiping its disk`);
    this.currentDisk = new SimDisk();
    this.log('warn', 'sim.wipe-disk');
  }

  pause(): void {
    if (this.state === 'running') {
      this.state = 'paused';
      this.log('warn', 'sim.pause');
    }
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    const queued = this.pausedQueue;
    this.pausedQueue = [];
    this.log('warn', 'sim.resume', { queued: queued.length });
    // Each queued callback becomes its own event now, in the order it was queued, so promise chains
    // settle between them as they would on a live event loop.
    const inc = this.incarnation;
    for (const fn of queued) this.deps.scheduler.after(0, () => this.runIn(inc, fn));
  }

  /** Runs `fn` in the current incarnation: dropped if crashed, queued if paused. */
  runInNode(fn: () => void): void {
    this.runIn(this.incarnation, fn);
  }

  /** Called when the current incarnation dies (for clients with requests in flight). */
  onKill(listener: () => void): () => void {
    this.killListeners.add(listener);
    return () => this.killListeners.delete(listener);
  }

  /** Delivery of a peer message at its arrival time. */
  deliver(from: NodeId, message: PeerMessage): void {
    // A running node takes it at once (what runIn does, without a closure per message).
    if (this.state === 'running') {
      try {
        this.core?.receive(from, message);
      } catch (error) {
        this.recordError('event', error);
      }
      return;
    }
    this.runInNode(() => this.core?.receive(from, message));
  }

  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    if (this.logs.length >= this.deps.logLimit) {
      this.logs.shift();
      this.logsDropped++;
    }
    this.logged++;
    this.logs.push(fields === undefined ? { timeMs: this.deps.scheduler.nowMs, level, event } : { timeMs: this.deps.scheduler.nowMs, level, event, fields });
  }

  /** The log as JSON lines (Uint8Array as base64, bigint as string). */
  logText(): string {
    const lines = this.logs.map((e) =>
      JSON.stringify({ t: e.timeMs, node: this.id, level: e.level, event: e.event, ...e.fields }, (_k, v: unknown) => {
        if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
        if (typeof v === 'bigint') return v.toString();
        return v;
      }),
    );
    if (this.logsDropped > 0) lines.unshift(JSON.stringify({ node: this.id, event: 'sim.log-truncated', dropped: this.logsDropped }));
    return lines.length === 0 ? '' : lines.join('\n') + '\n';
  }

  get logCount(): number {
    return this.logs.length;
  }

  private runIn(inc: number, fn: () => void): void {
    if (inc !== this.incarnation || this.state === 'crashed' || this.state === 'removed') return;
    if (this.state === 'paused') {
      this.pausedQueue.push(fn);
      return;
    }
    try {
      fn();
    } catch (error) {
      this.recordError('event', error);
    }
  }

  private recordError(where: string, error: unknown): void {
    this.errors++;
    this.log('error', 'sim.core-threw', { where, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }

  private endIncarnation(state: HostState): void {
    for (const handle of this.timers.values()) this.deps.scheduler.cancel(handle);
    this.timers.clear();
    this.pausedQueue = [];
    this.state = state;
    this.incarnation++;
    this.core = undefined;
    this.storage = undefined;
    const listeners = [...this.killListeners];
    this.killListeners.clear();
    for (const l of listeners) l();
  }

  private makeEnv(inc: number): CoreEnv {
    const sched = this.deps.scheduler;
    const alive = (): boolean => inc === this.incarnation && (this.state === 'running' || this.state === 'paused');
    const storage = new SimStorage(this.disk, {
      scheduler: sched,
      fsyncDelayMs: this.deps.fsyncDelayMs,
      alive,
      runInNode: (fn) => this.runIn(inc, fn),
      ...(this.deps.wrote === undefined ? {} : { issued: (batch: readonly StorageWrite[]) => this.deps.wrote?.(this.id, batch) }),
    });
    this.storage = storage;
    const random = seededRandom(deriveSeed(this.deps.seed, `node:${this.id}:${inc}`));
    return {
      clock: {
        wallMs: () => SIM_EPOCH_MS + sched.nowMs + this.clockOffsetMs,
        monoMs: () => sched.nowMs,
      },
      timers: {
        setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
          const id = this.nextTimerId++;
          if (!alive()) return { id };
          const handle = sched.after(delayMs, () => {
            this.timers.delete(id);
            this.runIn(inc, fn);
          });
          this.timers.set(id, handle);
          return { id };
        },
        clearTimeout: (handle: TimerHandle): void => {
          const h = this.timers.get(handle.id);
          if (h !== undefined) {
            sched.cancel(h);
            this.timers.delete(handle.id);
          }
        },
      },
      random: { next: random },
      transport: {
        send: (to: NodeId, message: PeerMessage): void => {
          // A dead incarnation's leftover promise chains must not reach the network.
          // A send racing with a pause leaves when the process resumes.
          if (inc !== this.incarnation) return;
          // Running: sent at once, as runIn would, without a closure per message.
          if (this.state === 'running') {
            try {
              this.deps.send(this.id, to, message);
            } catch (error) {
              this.recordError('event', error);
            }
            return;
          }
          this.runIn(inc, () => this.deps.send(this.id, to, message));
        },
      },
      storage,
      logger: {
        log: (level, event, fields) => {
          if (inc === this.incarnation) this.log(level, event, fields);
        },
      },
    };
  }
}
