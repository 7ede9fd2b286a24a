// Hinted handoff: a sloppy fallback keeps a write meant for an unreachable home node as a hint (hints.ts)
// and, each round, offers every hint to its owner once the owner looks healthy (or, when the owner left
// for good, to a healthy current home of the key), deleting it only after the write was acknowledged.
import type { NodeId } from './env.js';
import type { HintMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import type { State } from './local-store.js';

export class HintedHandoff {
  private readonly inFlight = new Set<string>();

  constructor(private readonly ctx: NodeContext) {}

  tick(): void {
    const { hints, faults, view, env, counters } = this.ctx;
    // QL_HINTED_HANDOFF=0 (an ablation): fallbacks keep their hints, pending in /admin/status, and never
    // offer them, so a write that lives only as a hint reaches its home only through anti-entropy or repair.
    if (!this.ctx.config.hintedHandoff) return;
    for (const h of hints.all()) {
      if (faults.dropHints) {
        hints.remove(h.id).catch((err: unknown) => env.logger.log('error', 'hint-delete-failed', { error: String(err) }));
        continue;
      }
      if (this.inFlight.has(h.id)) continue;
      let to = h.owner;
      if (view.members.get(h.owner)?.status === 'left') {
        // The owner left for good: the write belongs to whoever replicates the key now.
        const alt = view.homeOf(h.key).find((n) => view.isHealthy(n));
        if (alt === undefined) continue;
        to = alt;
      } else if (!view.isHealthy(h.owner)) {
        continue;
      }
      this.inFlight.add(h.id);
      const req = this.ctx.requests.start({
        deadlineMs: this.ctx.config.requestTimeoutMs,
        // Any acknowledgement of the offer will do: its id names this hint.
        onReply: () => {
          req.finish();
          hints.remove(h.id, h.version).then(
            (removed) => {
              this.inFlight.delete(h.id);
              if (removed) counters.hintsDelivered += 1;
            },
            (err: unknown) => {
              this.inFlight.delete(h.id);
              env.logger.log('error', 'hint-delete-failed', { error: String(err) });
            },
          );
        },
        // Unanswered in time: offered again next round. A stopped node has no next round.
        onClose: (reason) => {
          if (reason === 'deadline') this.inFlight.delete(h.id);
        },
      });
      this.ctx.send(to, { type: 'hint', req: req.id, kind: h.kind, key: h.key, s: this.ctx.encodeState(h.kind, h.state) });
    }
  }

  /** The owner's side: merge the hinted write durably, then acknowledge it. */
  async onHint(from: NodeId, msg: HintMsg<State>): Promise<void> {
    await this.ctx.store.merge(msg.kind, msg.key, msg.s, this.ctx.faults.durable);
    this.ctx.send(from, { type: 'hint-ack', req: msg.req });
  }
}
