// When a node counts as ready, judged from its /admin/status body, and the bounded wait for it; shared by the
// local and Docker runtimes.
import type { NodeClient } from '../../workloads/client.js';

export interface ReadyWhen {
  /** Members the node must list as "up". */
  readonly expected: readonly string[];
  /** The node joins a running cluster: it must also be in the ring it reports. */
  readonly joining?: boolean;
  /** The cluster must be settled: no earlier ring still awaiting its handoff (`ringTransition` empty). */
  readonly settled?: boolean;
}

/**
 * Why the node is not ready yet, or undefined when it is. `ringMembers` and `ringTransition` are extensions
 * of NODE-API.md; a node that does not report them is judged by its members alone. A joiner that answers
 * but has not learned the cluster's ring has no homes yet, and the workload's next requests would fail on
 * it; a cluster still in a ring transition (our node, right after it formed) needs every earlier ring's
 * quorum too, so a fault injected then would test the start-up instead of the steady state.
 */
export function notReadyReason(status: Record<string, unknown>, self: string, when: ReadyWhen): string | undefined {
  const members = Array.isArray(status['members']) ? (status['members'] as { id?: unknown; status?: unknown }[]) : [];
  const up = new Set(members.filter((m) => m.status === 'up').map((m) => String(m.id)));
  const missing = when.expected.filter((id) => !up.has(id));
  if (missing.length > 0) return `status answers but ${missing.join(', ')} not listed up`;
  if (when.joining === true && Array.isArray(status['ringMembers'])) {
    const ring = (status['ringMembers'] as unknown[]).map(String);
    if (!ring.includes(self) || ring.length < 2) return `${self} is not yet in the cluster's ring (ring: ${ring.join(', ') || 'none'})`;
  }
  if (when.settled === true && Array.isArray(status['ringTransition']) && status['ringTransition'].length > 0) {
    return `ring transition still open (earlier ring versions ${(status['ringTransition'] as unknown[]).join(', ')})`;
  }
  return undefined;
}

export interface ReadyProbe {
  /** How errors name the node, e.g. "n3" or "n3 (quorumlab-…-n3)". */
  readonly label: string;
  readonly nodeId: string;
  readonly client: Pick<NodeClient, 'adminStatus'>;
  readonly when: ReadyWhen;
  readonly timeoutMs: number;
  /** Heads the log tail in an error: "Last lines of <file>" or "Last log lines". */
  readonly logHeading: string;
  logTail(): Promise<string>;
  sleep(ms: number): Promise<void>;
  /** A cheap check made before every poll: why the node can never answer (it exited), or undefined. */
  goneBeforePoll?(): string | undefined;
  /** A costlier check made only after a poll got no answer (asks the container engine), or undefined. */
  goneAfterSilence?(): Promise<string | undefined>;
}

/** Polls /admin/status every 100 ms until notReadyReason finds nothing; bounded, with the log tail on failure. */
export async function waitUntilReady(p: ReadyProbe): Promise<void> {
  const fail = async (what: string): Promise<Error> =>
    new Error(`${p.label} ${what} (definite: the cluster is not up). ${p.logHeading}:\n${await p.logTail()}`);
  const deadline = Date.now() + p.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const goneEarly = p.goneBeforePoll?.();
    if (goneEarly !== undefined) throw await fail(goneEarly);
    const s = await p.client.adminStatus();
    if (s.type === 'ok') {
      const reason = notReadyReason(s.value, p.nodeId, p.when);
      if (reason === undefined) return;
      last = reason;
    } else {
      last = s.error;
      const gone = await p.goneAfterSilence?.();
      if (gone !== undefined) throw await fail(gone);
    }
    await p.sleep(100);
  }
  throw await fail(`was not ready within ${p.timeoutMs} ms (${last})`);
}
