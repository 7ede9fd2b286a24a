// The nodes the crash and pause faults hold down. They are two faults on one process, so they share this:
// a paused node can still be killed (it is then only crashed), and neither fault picks a node that is down.
export class DownNodes {
  readonly killed = new Set<string>();
  readonly paused = new Set<string>();

  /** The members neither killed nor paused. */
  live(members: readonly string[]): string[] {
    return members.filter((id) => !this.killed.has(id) && !this.paused.has(id));
  }

  /** A node left the cluster: it is no longer down. */
  forget(node: string): void {
    this.killed.delete(node);
    this.paused.delete(node);
  }
}
