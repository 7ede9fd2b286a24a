// Leaving the cluster: announce 'leaving', wait for a ring without this node, hand every partition held to
// its new homes (all of them up, or late in the budget whichever are), then announce 'left'.
import type { NodeContext } from './node-context.js';

/** What a leave needs of the other concerns, reached through the facade. */
export interface LeaveHooks {
  /** Pushes this node's entry to every live peer. */
  readonly broadcast: () => void;
  /** One ownership-handoff round. */
  readonly handoffTick: () => void;
}

function waitUntil(ctx: NodeContext, cond: () => boolean, pollMs: number, maxMs: number): Promise<boolean> {
  const deadline = ctx.env.clock.monoMs() + maxMs;
  return new Promise((resolve) => {
    const check = (): void => {
      if (cond()) return resolve(true);
      if (ctx.stopped() || ctx.env.clock.monoMs() >= deadline) return resolve(false);
      ctx.timers.after(pollMs, check);
    };
    check();
  });
}

export async function leaveCluster(ctx: NodeContext, hooks: LeaveHooks): Promise<void> {
  const { view, config, store, hints, env } = ctx;
  view.selfStatus = 'leaving';
  view.heartbeat += 1;
  view.recomputeRing();
  await ctx.meta.persist();
  hooks.broadcast();
  const poll = Math.max(10, config.gossipIntervalMs);
  const budgetMs = Math.max(60_000, config.requestTimeoutMs * 60);
  await waitUntil(ctx, () => view.ring !== undefined && !view.ring.ring.members.includes(ctx.id), poll, budgetMs);
  const isDrained = (): boolean => {
    hooks.handoffTick();
    return store.partitionsHeld().length === 0 && hints.size === 0;
  };
  // Half the budget waits for every new home to be up; then whatever is left goes to the healthy ones.
  let drained = await waitUntil(ctx, isDrained, Math.max(10, config.hintIntervalMs), budgetMs / 2);
  if (!drained) {
    env.logger.log('warn', 'leave-handoff-partial', { partitions: store.partitionsHeld().length });
    view.partialHandoff = true;
    drained = await waitUntil(ctx, isDrained, Math.max(10, config.hintIntervalMs), budgetMs / 2);
  }
  if (!drained) env.logger.log('warn', 'leave-handoff-incomplete', { partitions: store.partitionsHeld().length, hints: hints.size });
  view.selfStatus = 'left';
  view.heartbeat += 1;
  await ctx.meta.persist();
  hooks.broadcast();
}
