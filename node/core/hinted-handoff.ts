// Hinted handoff: a sloppy fallback keeps a write meant for an unreachable home node as a hint (hints.ts)
// and, each round, offers every hint to its owner once the owner looks healthy (or, when the owner left
// for good, to a healthy current home of the key), deleting it only after the write was acknowledged.
import type { NodeId } from './env.js';
import type { HintMsg } from './messages.js';
import type { NodeContext } from './node-context.js';
import type { State } from './local-store.js';
import type { Hint } from './hints.js';

/**
 * Hints looked at per slice of a delivery pass (each offer encodes and sends one state). After a long outage
 * a fallback may hold thousands of hints; offering them all in one timer callback held the event loop for as
 * long as that took, so a pass goes in slices, the next one on a 0 ms timer.
 */
const hintsPerSlice = 64;

interface Pass {
  /** The ids of the hints held when the pass began; each is looked up again when its turn comes. */
  readonly ids: readonly string[];
  next: number;
  /** Hint ticks that found this pass still going; one outliving two is replaced by a fresh pass. */
  ticksSeen: number;
}

export class HintedHandoff {
  private readonly inFlight = new Set<string>();
  private pass: Pass | undefined;

  constructor(private readonly ctx: NodeContext) {}

  /** Starts a delivery pass over every hint held (unless the last one is still going). */
  tick(): void {
    // QL_HINTED_HANDOFF=0 (an ablation): fallbacks keep their hints, pending in /admin/status, and never
    // offer them, so a write that lives only as a hint reaches its home only through anti-entropy or repair.
    if (!this.ctx.config.hintedHandoff) return;
    if (this.pass !== undefined && ++this.pass.ticksSeen < 2) return;
    if (this.ctx.hints.size === 0) {
      this.pass = undefined;
      return;
    }
    this.pass = { ids: this.ctx.hints.all().map((h) => h.id), next: 0, ticksSeen: 0 };
    this.step(this.pass);
  }

  private step(pass: Pass): void {
    if (this.pass !== pass) return;
    const end = Math.min(pass.ids.length, pass.next + hintsPerSlice);
    for (; pass.next < end; pass.next++) {
      const h = this.ctx.hints.get(pass.ids[pass.next] as string);
      if (h !== undefined) this.offer(h);
    }
    if (pass.next < pass.ids.length) this.ctx.timers.after(0, () => this.step(pass));
    else this.pass = undefined;
  }

  /** Offers one hint to its owner (or a current home once the owner left), unless one offer is in flight. */
  private offer(h: Hint): void {
    const { hints, faults, view, env, counters } = this.ctx;
    if (faults.dropHints) {
      hints.remove(h.id).catch((err: unknown) => env.logger.log('error', 'hint-delete-failed', { error: String(err) }));
      return;
    }
    if (this.inFlight.has(h.id)) return;
    let to = h.owner;
    if (view.members.get(h.owner)?.status === 'left') {
      // The owner left for good: the write belongs to whoever replicates the key now.
      const alt = view.homeOf(h.key).find((n) => view.isHealthy(n));
      if (alt === undefined) return;
      to = alt;
    } else if (!view.isHealthy(h.owner)) {
      return;
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

  /** The owner's side: merge the hinted write durably, then acknowledge it. */
  async onHint(from: NodeId, msg: HintMsg<State>): Promise<void> {
    await this.ctx.store.merge(msg.kind, msg.key, msg.s, this.ctx.faults.durable);
    this.ctx.send(from, { type: 'hint-ack', req: msg.req });
  }
}
