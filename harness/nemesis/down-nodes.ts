// The nodes the crash, pause and disk-loss faults hold down. They are faults on one process, so they share
// this: a paused node can still be killed (it is then only crashed), and no fault picks a node that is down.
export class DownNodes {
  readonly killed = new Set<string>();
  readonly paused = new Set<string>();
  /** Killed with their data directory removed, until disk-loss restarts them (crash never restarts them). */
  readonly wiped = new Set<string>();

  /** The members neither killed, paused nor wiped. */
  live(members: readonly string[]): string[] {
    return members.filter((id) => !this.killed.has(id) && !this.paused.has(id) && !this.wiped.has(id));
  }

  /** A node left the cluster: it is no longer down. */
  forget(node: string): void {
    this.killed.delete(node);
    this.paused.delete(node);
    this.wiped.delete(node);
  }
}
