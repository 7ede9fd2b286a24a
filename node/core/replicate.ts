// The write path's fan-out, shared by puts, deletes and cart updates: send one state to a plan's targets
// and wait until the acknowledgements meet the plan's quorum.
import type { NodeId } from './env.js';
import type { Kind } from './local-store.js';
import type { ReplyMessage, WriteMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import { type QuorumPlan, isTarget, quorumMet } from './quorum-plan.js';
import type { CloseReason, OpenRequest, RequestSpec } from './requests.js';

export interface ReplicateOptions {
  /** A target already written (the coordinator itself, which wrote first); not sent to. */
  readonly skip?: NodeId;
  /** Fields added to every write message (the 'remove-unobserved' test fault's removeAllOf). */
  readonly removeAllOf?: string;
  /** The coordinator's own durable write, running concurrently; it counts as one ack once it completed. */
  readonly selfWrite?: Promise<void>;
}

/**
 * One fan-out's acknowledgements, as the request's own spec: its methods are the request's callbacks, so
 * a write opens no closures of its own (they were a steady share of the node's allocations per write).
 */
class Fanout implements RequestSpec {
  private readonly acked = new Set<NodeId>();
  private ok = false;
  request: OpenRequest | undefined;

  constructor(
    readonly deadlineMs: number,
    private readonly plan: QuorumPlan,
    private readonly needed: number,
    /** The 'ack-before-w' fault: the first ack is enough. */
    private readonly early: boolean,
    private readonly resolve: (result: boolean | number) => void,
  ) {}

  onReply(from: NodeId, msg: ReplyMessage): void {
    if (msg.type !== 'write-ack' || this.acked.has(from) || !isTarget(this.plan.targets, from)) return;
    this.ack(from);
  }

  ack(from: NodeId): void {
    this.acked.add(from);
    if (this.early ? this.acked.size >= 1 : quorumMet(this.plan, this.acked, this.needed)) {
      this.ok = true;
      this.request?.finish();
    }
  }

  onClose(_reason: CloseReason): void {
    this.resolve(this.ok ? true : this.acked.size);
  }
}

/**
 * Sends a state to the plan's targets (skipping `skip`, already written) and resolves once the acks meet
 * the plan's quorum of `needed`, counting this node once `selfWrite` (the coordinator's own durable
 * write, running concurrently) completes: true, or the number of acks when the deadline passed first.
 * 'ack-before-w' resolves on the first ack instead.
 */
export function replicate(ctx: NodeContext, kind: Kind, key: string, encoded: unknown, plan: QuorumPlan, needed: number, timeoutMs: number, options: ReplicateOptions = {}): Promise<boolean | number> {
  const targets = plan.targets;
  return new Promise((resolve) => {
    const fanout = new Fanout(timeoutMs, plan, needed, ctx.faults.ackBeforeW, resolve);
    const req = ctx.requests.start(fanout);
    fanout.request = req;
    const { removeAllOf } = options;
    // The targets that stand in for nobody get one message, shared: messages are immutable once sent.
    let plain: WriteMsg<unknown> | undefined;
    for (const x of targets) {
      if (x.node === options.skip) continue;
      let msg: WriteMsg<unknown>;
      if (x.hint) msg = removeAllOf !== undefined ? { type: 'write', req: req.id, kind, key, s: encoded, hint: x.hint, removeAllOf } : { type: 'write', req: req.id, kind, key, s: encoded, hint: x.hint };
      else msg = plain ??= removeAllOf !== undefined ? { type: 'write', req: req.id, kind, key, s: encoded, removeAllOf } : { type: 'write', req: req.id, kind, key, s: encoded };
      ctx.send(x.node, msg);
    }
    // No homes at all (a joining node that has not learned the ring yet): nothing can acknowledge.
    if (targets.length === 0) req.finish();
    // The coordinator's own write, running alongside the others, is one more ack once durable; a
    // failed local write simply does not count.
    options.selfWrite?.then(
      () => {
        if (!req.done) fanout.ack(ctx.id);
      },
      () => undefined,
    );
  });
}
