// The simulation's NodeClient: it calls a simulated node's core directly, with a simulated client↔node
// delay each way and a client-side timeout, and maps results to outcomes with node/outcome.ts, the mapping the
// HTTP API answers with, so a history from the sim means what a history over HTTP means.
import type { CoreNode, LocalState, QuorumError, BadRequest } from '../../../node/core/api.js';
import { refusalAnswer, type OpClass } from '../../../node/outcome.js';
import type { CartRead, ClientOptions, KvRead, NodeClient, Outcome, ReplicaState } from '../../../workloads/client.js';
import type { EventHandle, Scheduler } from './scheduler.js';
import type { SimNodeHost } from './sim-node.js';

export interface SimClientDeps {
  readonly scheduler: Scheduler;
  /** The host of a node id, or undefined when no such node exists (removed). */
  readonly host: (nodeId: string) => SimNodeHost | undefined;
  /** One-way client↔node delay (sampled per leg). */
  readonly delayMs: () => number;
  /** Client timeout for a request with this node-side timeout. */
  readonly timeoutMs: (requestTimeoutMs: number | undefined) => number;
}

type Mapper<R, T> = (result: R) => Outcome<T>;

const ok = <T>(value: T): Outcome<T> => ({ type: 'ok', value });
const fail = <T>(error: string): Outcome<T> => ({ type: 'fail', error });
const info = <T>(error: string): Outcome<T> => ({ type: 'info', error });

/** A core refusal as an outcome, by the shared mapping. */
function refused<T>(e: QuorumError | BadRequest, op: OpClass): Outcome<T> {
  const { type, error } = refusalAnswer(e, op);
  return { type, error };
}

const copyBytes = (v: Uint8Array): Uint8Array => new Uint8Array(v);

function decodeLocal(state: LocalState | undefined): ReplicaState {
  if (state === undefined) return { kind: 'none' };
  if (state.kind === 'cart') return { kind: 'cart', items: { ...state.items } };
  return {
    kind: 'kv',
    versions: state.versions.map((v) => ({ value: copyBytes(v.value), clock: { ...v.clock }, tombstone: v.tombstone })),
  };
}

export class SimClient implements NodeClient {
  constructor(
    readonly nodeId: string,
    private readonly deps: SimClientDeps,
  ) {}

  get(key: string, options?: ClientOptions): Promise<Outcome<KvRead>> {
    return this.call(
      (core) => core.get(key, options),
      (r) => (r.ok ? ok({ values: r.values.map(copyBytes), ...(r.context === undefined ? {} : { context: r.context }) }) : refused(r, 'read')),
      options?.timeoutMs,
    );
  }

  put(key: string, value: Uint8Array, context: string | undefined, options?: ClientOptions): Promise<Outcome<{ context?: string }>> {
    const bytes = copyBytes(value);
    return this.call(
      (core) => core.put(key, bytes, context, options),
      (r) => (r.ok ? ok({ context: r.context }) : refused(r, 'write')),
      options?.timeoutMs,
    );
  }

  delete(key: string, context: string | undefined, options?: ClientOptions): Promise<Outcome<{ context?: string }>> {
    return this.call(
      (core) => core.delete(key, context, options),
      (r) => (r.ok ? ok({ context: r.context }) : refused(r, 'write')),
      options?.timeoutMs,
    );
  }

  cartRead(key: string, options?: ClientOptions): Promise<Outcome<CartRead>> {
    return this.call(
      (core) => core.cartRead(key, options),
      (r) => (r.ok ? ok({ items: { ...r.items }, context: r.context }) : refused(r, 'read')),
      options?.timeoutMs,
    );
  }

  cartAdd(key: string, item: string, qty: number, options?: ClientOptions): Promise<Outcome<void>> {
    return this.call(
      (core) => core.cartAdd(key, item, qty, options),
      (r) => (r.ok ? ok(undefined) : refused(r, 'write')),
      options?.timeoutMs,
    );
  }

  cartRemove(key: string, item: string, context: string, options?: ClientOptions): Promise<Outcome<void>> {
    return this.call(
      (core) => core.cartRemove(key, item, context, options),
      (r) => (r.ok ? ok(undefined) : refused(r, 'write')),
      options?.timeoutMs,
    );
  }

  adminStatus(): Promise<Outcome<Record<string, unknown>>> {
    return this.call(
      async (core) => core.status(),
      (s) => ok(structuredClone(s) as unknown as Record<string, unknown>),
      undefined,
    );
  }

  adminLocal(key: string): Promise<Outcome<ReplicaState>> {
    return this.call((core) => core.local(key), (s) => ok(decodeLocal(s)), undefined);
  }

  adminPreflist(key: string): Promise<Outcome<string[]>> {
    return this.call(async (core) => core.preflist(key), (nodes) => ok([...nodes]), undefined);
  }

  adminLeave(): Promise<Outcome<void>> {
    return this.call((core) => core.leave(), () => ok(undefined), undefined);
  }

  /**
   * One request: travels to the node, runs in the node's process (queued while it is paused), and the
   * answer travels back. A crashed or removed node refuses the connection (fail: nothing happened); a
   * node that dies mid-request resets it (info); no answer in time is a timeout (info).
   */
  private call<R, T>(invoke: (core: CoreNode) => Promise<R>, map: Mapper<R, T>, requestTimeoutMs: number | undefined): Promise<Outcome<T>> {
    return new Promise<Outcome<T>>((resolve) => {
      new SimCall(this.nodeId, this.deps, invoke, map, resolve).start(requestTimeoutMs);
    });
  }
}

/**
 * The state of one request (SimClient.call), as one object with methods rather than a closure per step:
 * a request is made per client operation, and each named closure also cost a keepNames property
 * definition (tsx compiles with keepNames). The steps and their scheduler events are those of the
 * closures it replaces, in the same order (the timeout, then the request leg, then the answer leg).
 */
class SimCall<R, T> {
  private done = false;
  private unlisten: (() => void) | undefined;
  private timer: EventHandle | undefined;

  constructor(
    private readonly nodeId: string,
    private readonly deps: SimClientDeps,
    private readonly invoke: (core: CoreNode) => Promise<R>,
    private readonly map: Mapper<R, T>,
    private readonly resolve: (outcome: Outcome<T>) => void,
  ) {}

  start(requestTimeoutMs: number | undefined): void {
    const { scheduler, delayMs, timeoutMs } = this.deps;
    this.timer = scheduler.after(timeoutMs(requestTimeoutMs), () => this.finish(info('timeout: no answer from the node in time')));
    scheduler.after(delayMs(), () => this.arrive());
  }

  /** The request reaches the node. */
  private arrive(): void {
    if (this.done) return;
    const host = this.deps.host(this.nodeId);
    if (host === undefined || host.state === 'crashed' || host.state === 'removed') {
      this.answer(fail(`connection refused: node ${this.nodeId} is not running`));
      return;
    }
    this.unlisten = host.onKill(() => this.answer(info(`connection reset: node ${this.nodeId} died during the request`)));
    host.runInNode(() => this.run(host));
  }

  /** The request runs in the node's process. */
  private run(host: SimNodeHost): void {
    const core = host.core;
    if (core === undefined) {
      this.answer(info(`connection reset: node ${this.nodeId} is gone`));
      return;
    }
    let pending: Promise<R>;
    try {
      pending = this.invoke(core);
    } catch (error) {
      pending = Promise.reject(error);
    }
    const inc = host.incarnation;
    pending.then(
      (result) => {
        if (host.incarnation === inc) this.answer(this.map(result));
      },
      (error: unknown) => {
        // An exception is the node's bug, answered as a 500: nothing says whether it took effect.
        if (host.incarnation === inc) this.answer(info(`server error: ${error instanceof Error ? error.message : String(error)}`));
      },
    );
  }

  /** The answer travels back to the client. */
  private answer(outcome: Outcome<T>): void {
    this.deps.scheduler.after(this.deps.delayMs(), () => this.finish(outcome));
  }

  private finish(outcome: Outcome<T>): void {
    if (this.done) return;
    this.done = true;
    this.deps.scheduler.cancel(this.timer!);
    this.unlisten?.();
    this.resolve(outcome);
  }
}
