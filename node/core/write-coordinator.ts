// The write coordinator: puts, deletes and cart updates. A put is coordinated by a home replica of its key,
// which mints the new version under its own actor from its own durable state and fans it out; a node that
// is not a home forwards the put to one, and only when no home is reachable coordinates it under a fresh
// actor that can collide with nobody. Cart adds and removes are deltas any node may fan out.
import type { CartWriteResult, PutResult, RequestOptions } from './api.js';
import { cartAddDelta, cartRemoveDelta } from './cart.js';
import { decodeCartContext, decodeKvContext, encodeKvContext } from './context.js';
import type { NodeId } from './env.js';
import { checkKey, maxValueBytes } from './limits.js';
import { mkey, toB64 } from './local-store.js';
import type { ForwardPutMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import { replicate } from './replicate.js';
import { badRequest, quorumError, quorumOf } from './results.js';
import { type CausalContext, type Versions, causalContext, emptyVersions, lwwWrite, versionsContext, versionsWrite } from './versions.js';

type Minted = { versions: Versions; context: CausalContext };

export class WriteCoordinator {
  /**
   * Under localCopyViaNetwork (the WARS condition), the versions this coordinator minted whose own copy may
   * still be on its way to its store: the next write of the key mints from them too, so a dot is never
   * minted twice while the local copy travels. An entry goes once the store holds it.
   */
  private readonly mintedInFlight = new Map<string, Versions>();

  constructor(private readonly ctx: NodeContext) {}

  async put(key: string, value: Uint8Array, context: string | undefined, options: RequestOptions = {}): Promise<PutResult> {
    if (!(value instanceof Uint8Array)) return badRequest('value must be bytes');
    if (value.length > maxValueBytes) return badRequest(`value larger than ${maxValueBytes} bytes`);
    return this.write(key, value, context, options);
  }

  async delete(key: string, context: string | undefined, options: RequestOptions = {}): Promise<PutResult> {
    return this.write(key, null, context, options);
  }

  async cartAdd(key: string, item: string, qty: number, options: RequestOptions = {}): Promise<CartWriteResult> {
    const bad = checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    if (typeof item !== 'string' || item.length === 0) return badRequest('item must be a non-empty string');
    if (!Number.isSafeInteger(qty) || qty < 1) return badRequest('qty must be a positive integer');
    const w = quorumOf(options.w, this.ctx.config.w, 'w', this.ctx.config.n);
    if (typeof w === 'string') return badRequest(w);
    // Dots are unique by construction (node, boot nonce, stream, counter), so any node may coordinate an add.
    const delta = cartAddDelta(item, qty, this.ctx.actor.cartDot(key));
    const res = await replicate(this.ctx, 'cart', key, this.ctx.encodeState('cart', delta), this.ctx.view.plan(key), w, options.timeoutMs ?? this.ctx.config.requestTimeoutMs);
    return res === true ? { ok: true } : quorumError(w, res as number);
  }

  async cartRemove(key: string, item: string, context: string, options: RequestOptions = {}): Promise<CartWriteResult> {
    const bad = checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    if (typeof item !== 'string' || item.length === 0) return badRequest('item must be a non-empty string');
    const w = quorumOf(options.w, this.ctx.config.w, 'w', this.ctx.config.n);
    if (typeof w === 'string') return badRequest(w);
    const observed = decodeCartContext(context, this.ctx.secret, key);
    if ('error' in observed && typeof observed.error === 'string') return { ok: false, error: 'bad-context', message: observed.error };
    const dots = (observed as Record<string, string[]>)[item] ?? [];
    const delta = cartRemoveDelta(item, dots);
    const extra = this.ctx.faults.removeUnobserved ? { removeAllOf: item } : {};
    const res = await replicate(this.ctx, 'cart', key, this.ctx.encodeState('cart', delta), this.ctx.view.plan(key), w, options.timeoutMs ?? this.ctx.config.requestTimeoutMs, extra);
    return res === true ? { ok: true } : quorumError(w, res as number);
  }

  /** A put forwarded by a node that is not a home replica: coordinated here, the result sent back. */
  async onForwardedPut(from: NodeId, msg: ForwardPutMsg<Uint8Array | null>): Promise<void> {
    const { key, w } = msg;
    const ctx = causalContext(msg.ctx, msg.ctxDots ?? []);
    const timeoutMs = msg.timeoutMs || this.ctx.config.requestTimeoutMs;
    let result: PutResult;
    if (!Number.isInteger(w) || w < 1 || w > this.ctx.config.n) result = badRequest('bad forwarded quorum');
    else if (this.ctx.view.homeOf(key).includes(this.ctx.id)) result = await this.coordinatePut(key, msg.v, ctx, w, timeoutMs, undefined);
    else result = await this.coordinatePut(key, msg.v, ctx, w, timeoutMs, this.ctx.actor.freshActor());
    this.ctx.send(from, { type: 'fwd-put-reply', req: msg.req, result });
  }

  private async write(key: string, value: Uint8Array | null, context: string | undefined, options: RequestOptions): Promise<PutResult> {
    const bad = checkKey(key);
    if (bad !== undefined) return badRequest(bad);
    const w = quorumOf(options.w, this.ctx.config.w, 'w', this.ctx.config.n);
    if (typeof w === 'string') return badRequest(w);
    let ctx: CausalContext = causalContext({});
    if (context !== undefined && context !== '') {
      const d = decodeKvContext(context, this.ctx.secret, key);
      if ('error' in d) return { ok: false, error: 'bad-context', message: d.error };
      ctx = d;
    }
    const timeoutMs = options.timeoutMs ?? this.ctx.config.requestTimeoutMs;
    const { view } = this.ctx;
    const home = view.homeOf(key);
    // The coordinator must be a home replica: it mints the dot from its own latest state, so the dot is unique.
    if (home.includes(this.ctx.id)) return this.coordinatePut(key, value, ctx, w, timeoutMs, undefined);
    const healthyHome = home.filter((h) => view.isHealthy(h));
    for (const h of healthyHome) {
      const res = await this.forwardPut(h, key, value, ctx, w, timeoutMs);
      if (res !== undefined) return res;
      // No answer at all: the home node may still have coordinated it; we cannot tell, so report it as
      // an indefinite quorum failure rather than writing again under another actor.
      return quorumError(w, 0);
    }
    // No home node reachable: coordinate with a fresh actor id that can never collide with anyone's dots.
    return this.coordinatePut(key, value, ctx, w, timeoutMs, this.ctx.actor.freshActor());
  }

  private forwardPut(to: NodeId, key: string, value: Uint8Array | null, ctx: CausalContext, w: number, timeoutMs: number): Promise<PutResult | undefined> {
    return new Promise((resolve) => {
      let result: PutResult | undefined;
      const req = this.ctx.requests.start({
        deadlineMs: timeoutMs,
        onReply: (from, msg) => {
          if (from !== to || msg.type !== 'fwd-put-reply') return;
          result = msg.result ?? undefined;
          req.finish();
        },
        onClose: () => resolve(result),
      });
      // The home coordinator gets a shorter budget so its answer can travel back before we give up.
      this.ctx.send(to, {
        type: 'fwd-put', req: req.id, key, v: value === null ? null : toB64(value), ctx: ctx.vv,
        ...(ctx.dots.length > 0 ? { ctxDots: ctx.dots } : {}), w, timeoutMs: Math.max(1, Math.floor(timeoutMs * 0.8)),
      });
    });
  }

  /**
   * Coordinates a put or delete. Without `fixedActor` this node is a home replica: the new version is
   * minted under its own actor from its own durable state (under the key's lock) and written locally
   * before anyone else sees it. With a fixed (fresh) actor, the written version alone is sent.
   */
  private async coordinatePut(key: string, value: Uint8Array | null, ctx: CausalContext, w: number, timeoutMs: number, fixedActor: NodeId | undefined): Promise<PutResult> {
    const { view, store, faults, actor, env } = this.ctx;
    const storesFirst = fixedActor === undefined;
    const plan = view.plan(key);
    const wallMs = env.clock.wallMs();
    let minted: Minted;
    // The coordinator's own durable write; it counts as an ack once it has completed.
    let localWrite: Promise<void> | undefined;
    const viaNetwork = fixedActor === undefined && this.ctx.config.localCopyViaNetwork;
    if (viaNetwork) {
      // The WARS condition: mint as a home coordinator does, but store nothing here now; the version goes
      // to this node's replica through the transport, delayed like every other replica's copy.
      const kv = this.ctx.types.kv;
      minted = await store.lock.run(mkey('kv', key), async () => {
        const stored = ((await store.get('kv', key)) as Versions | undefined) ?? emptyVersions;
        const inFlight = this.mintedInFlight.get(key);
        if (inFlight !== undefined && kv.equal(stored, kv.merge(stored, inFlight))) this.mintedInFlight.delete(key);
        const cur = inFlight === undefined ? stored : (kv.merge(stored, inFlight) as Versions);
        const room = actor.roomToMint();
        if (room !== undefined) await room;
        const m = this.mint(key, value, ctx, cur, actor.ownActor(), storesFirst, wallMs);
        this.mintedInFlight.set(key, m.versions);
        return m;
      });
    } else if (fixedActor === undefined) {
      // The version is minted under the key's lock from this node's latest state (in memory until its
      // write is durable), and the lock is held until the local write is durable, so writes of one key
      // through this node stay ordered. The other replicas need not wait for that fsync: they get the
      // version as soon as it is minted, and the local write counts as one ack when it completes.
      const started = await new Promise<{ m: Minted; done: Promise<void> }>((resolve, reject) => {
        store.lock
          .run(mkey('kv', key), async () => {
            const cur = ((await store.get('kv', key)) as Versions | undefined) ?? emptyVersions;
            const room = actor.roomToMint();
            if (room !== undefined) await room;
            const m = this.mint(key, value, ctx, cur, actor.ownActor(), storesFirst, wallMs);
            const done = store.put('kv', key, m.versions, faults.durable);
            resolve({ m, done });
            await done.catch(() => undefined);
          })
          .catch(reject);
      });
      minted = started.m;
      localWrite = started.done.catch((err: unknown) => {
        // The minted dot may now live on other replicas but not here: mint under a new epoch from now on,
        // so it is never minted again with another value.
        actor.startNewEpoch();
        this.ctx.meta.persistSoon();
        env.logger.log('error', 'local-write-failed', { key, error: err instanceof Error ? err.message : String(err) });
        throw err;
      });
      // Whoever awaits it handles the failure; this keeps it from ever being an unhandled rejection.
      localWrite.catch(() => undefined);
    } else {
      minted = this.mint(key, value, ctx, emptyVersions, fixedActor, storesFirst, wallMs);
    }
    let context = minted.context;
    if (faults.contextOvercovers) {
      const over: Record<string, number> = {};
      for (const [n, c] of Object.entries(versionsContext(minted.versions))) over[n] = c + 1;
      context = causalContext(over);
    }
    const selfIn = storesFirst && !viaNetwork && plan.targets.some((x) => x.node === this.ctx.id);
    const res = await replicate(this.ctx, 'kv', key, this.ctx.encodeState('kv', minted.versions), plan, w, timeoutMs, {
      ...(storesFirst && !viaNetwork ? { skip: this.ctx.id } : {}),
      ...(selfIn && localWrite !== undefined ? { selfWrite: localWrite } : {}),
    });
    if (res === true) return { ok: true, context: encodeKvContext(context, this.ctx.secret, key) };
    return quorumError(w, res as number);
  }

  /**
   * The version a put of `value` mints over `cur` under actor `by`, and the context handed back (a method,
   * not a closure per put). `storesFirst`: this node is a home coordinator minting from its own state.
   */
  private mint(key: string, value: Uint8Array | null, ctx: CausalContext, cur: Versions, by: NodeId, storesFirst: boolean, wallMs: number): Minted {
    const { faults, actor } = this.ctx;
    if (this.ctx.config.conflicts === 'lww') {
      const r = lwwWrite(cur, value, by, wallMs);
      return { versions: r.versions, context: causalContext(versionsContext(r.versions)) };
    }
    const reuse = faults.actorReuse && storesFirst;
    const r = versionsWrite(cur, ctx, value, by, wallMs, reuse ? actor.lifeCounter(by, key) : undefined, storesFirst && !reuse ? actor.mintedFloor(by, key) : 0);
    if (storesFirst && !reuse) actor.noteMinted(by, key, r.written.dot.counter);
    // The context handed back covers exactly what the client sent plus the new version. A version vector
    // cannot express a gap: when this coordinator minted dots the client never read (concurrent writes
    // through it), raising its entry to the new dot would cover them too, and the next write with this
    // context would silently drop them. So a dot that is not contiguous stays an exact dot beside the
    // vector (causalContext folds it in when it is).
    return { versions: r.versions, context: causalContext(ctx.vv, [...ctx.dots, r.written.dot]) };
  }
}
