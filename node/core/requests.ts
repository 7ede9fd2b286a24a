// Requests as values (hashicorp/raft's futures): a coordinator opens a request with an id and a deadline,
// the tracker routes every reply carrying that id to it, and the request finishes exactly once — when its
// owner says so, when the deadline passes, or when the node stops — always cancelling its timer and
// forgetting its id, so a late reply finds nothing and a stopped node leaves nothing armed.
import type { NodeId, TimerHandle } from './env.js';
import type { ReplyMessage } from './messages.js';
import type { TimerTable } from './timers.js';

/** Why a request ended: its owner finished it, its deadline passed, or the node stopped. */
export type CloseReason = 'finished' | 'deadline' | 'stopped';

export interface RequestSpec {
  /** Milliseconds from now until the request closes with 'deadline'. */
  readonly deadlineMs: number;
  /** Every reply carrying the request's id, until it closes. */
  readonly onReply: (from: NodeId, msg: ReplyMessage) => void;
  /** Called once, after the timer is cancelled and the id forgotten. */
  readonly onClose: (reason: CloseReason) => void;
}

export interface OpenRequest {
  /** The id to put in the request's messages as `req`. */
  readonly id: string;
  readonly done: boolean;
  /** Ends the request ('finished'); later calls do nothing. */
  finish(): void;
}

class Request implements OpenRequest {
  done = false;
  timer: TimerHandle | undefined;

  constructor(
    readonly id: string,
    readonly spec: RequestSpec,
    private readonly tracker: RequestTracker,
  ) {}

  finish(): void {
    this.tracker.close(this, 'finished');
  }
}

export class RequestTracker {
  private readonly open = new Map<string, Request>();

  constructor(
    private readonly timers: TimerTable,
    private readonly newId: () => string,
  ) {}

  /** Opens a request: takes a fresh id and arms its deadline. The caller then sends its messages. */
  start(spec: RequestSpec): OpenRequest {
    const r = new Request(this.newId(), spec, this);
    r.timer = this.timers.after(spec.deadlineMs, () => this.close(r, 'deadline'));
    this.open.set(r.id, r);
    return r;
  }

  /** Routes a reply to the request waiting for it; a reply nobody waits for is dropped. */
  deliver(from: NodeId, msg: ReplyMessage): void {
    const r = this.open.get(msg.req);
    if (r !== undefined && !r.done) r.spec.onReply(from, msg);
  }

  /** Closes every open request (the node stopped). */
  stopAll(): void {
    for (const r of [...this.open.values()]) this.close(r, 'stopped');
  }

  get size(): number {
    return this.open.size;
  }

  /** Ends a request once (Request.finish, its deadline, stopAll); not for the request's owner, who calls finish. */
  close(r: Request, reason: CloseReason): void {
    if (r.done) return;
    r.done = true;
    if (r.timer !== undefined) this.timers.cancel(r.timer);
    this.open.delete(r.id);
    r.spec.onClose(reason);
  }
}
