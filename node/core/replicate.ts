// The write path's fan-out, shared by puts, deletes and cart updates: send one state to a plan's targets
// and wait until the acknowledgements meet the plan's quorum.
import type { Kind } from './local-store.js';
import type { NodeContext } from './node-context.js';
import { type QuorumPlan, quorumMet } from './quorum-plan.js';
import type { NodeId } from './env.js';

export interface ReplicateOptions {
  /** A target already written (the coordinator itself, which wrote first); not sent to. */
  readonly skip?: NodeId;
  /** Fields added to every write message (the 'remove-unobserved' test fault's removeAllOf). */
  readonly removeAllOf?: string;
  /** The coordinator's own durable write, running concurrently; it counts as one ack once it completed. */
  readonly selfWrite?: Promise<void>;
}

/**
 * Sends a state to the plan's targets (skipping `skip`, already written) and resolves once the acks meet
 * the plan's quorum of `needed`, counting this node once `selfWrite` (the coordinator's own durable
 * write, running concurrently) completes: true, or the number of acks when the deadline passed first.
 * 'ack-before-w' resolves on the first ack instead.
 */
export function replicate(ctx: NodeContext, kind: Kind, key: string, encoded: unknown, plan: QuorumPlan, needed: number, timeoutMs: number, options: ReplicateOptions = {}): Promise<boolean | number> {
  const targets = plan.targets;
  const early = ctx.faults.ackBeforeW;
  const met = (acked: ReadonlySet<NodeId>): boolean => (early ? acked.size >= 1 : quorumMet(plan, acked, needed));
  return new Promise((resolve) => {
    const acked = new Set<NodeId>();
    let ok = false;
    const req = ctx.requests.start({
      deadlineMs: timeoutMs,
      onReply: (from, msg) => {
        if (msg.type !== 'write-ack' || acked.has(from) || !targets.some((x) => x.node === from)) return;
        acked.add(from);
        if (met(acked)) {
          ok = true;
          req.finish();
        }
      },
      onClose: () => resolve(ok ? true : acked.size),
    });
    for (const x of targets) {
      if (x.node === options.skip) continue;
      ctx.send(x.node, {
        type: 'write', req: req.id, kind, key, s: encoded, ...(x.hint ? { hint: x.hint } : {}),
        ...(options.removeAllOf !== undefined ? { removeAllOf: options.removeAllOf } : {}),
      });
    }
    // No homes at all (a joining node that has not learned the ring yet): nothing can acknowledge.
    if (targets.length === 0) req.finish();
    // The coordinator's own write, running alongside the others, is one more ack once durable; a
    // failed local write simply does not count.
    options.selfWrite?.then(
      () => {
        if (req.done) return;
        acked.add(ctx.id);
        if (met(acked)) {
          ok = true;
          req.finish();
        }
      },
      () => undefined,
    );
  });
}
