// Crashes: `kill` SIGKILLs nodes (they lose everything not durable), `restart` starts them again on the
// same data. Any member not already killed can be killed, a paused one too: it is then only crashed.
import type { FaultDefinition } from '../fault.js';
import { heldNodesFault } from './held-nodes.js';

export const crashFault: FaultDefinition = {
  kind: 'crash',
  owns: (f) => f === 'kill' || f === 'restart',
  create: (ctx) =>
    heldNodesFault(ctx, {
      start: 'kill',
      stop: 'restart',
      held: ctx.down.killed,
      eligible: () => ctx.runtime.nodeIds().filter((id) => !ctx.down.killed.has(id) && !ctx.down.wiped.has(id)),
      takeDown: (n) => ctx.runtime.kill(n),
      bringBack: (n) => ctx.runtime.restart(n),
      afterDown: (n) => void ctx.down.paused.delete(n),
    }),
};
