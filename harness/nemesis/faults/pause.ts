// Pauses: `pause` stops live nodes (SIGSTOP, `docker pause`) without losing anything, `resume` lets them
// run on. A paused node that is then killed counts as crashed only (crash.ts).
import type { FaultDefinition } from '../fault.js';
import { heldNodesFault } from './held-nodes.js';

export const pauseFault: FaultDefinition = {
  kind: 'pause',
  owns: (f) => f === 'pause' || f === 'resume',
  create: (ctx) =>
    heldNodesFault(ctx, {
      start: 'pause',
      stop: 'resume',
      held: ctx.down.paused,
      eligible: () => ctx.down.live(ctx.runtime.nodeIds()),
      takeDown: (n) => ctx.runtime.pause(n),
      bringBack: (n) => ctx.runtime.resume(n),
    }),
};
