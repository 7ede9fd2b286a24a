// After heal: how long the replicas took to agree (polled during quiesce through the introspection API,
// outside the history), and the per-key, per-home-replica states recorded as `process: "final"` ops.
import type { Runtime } from './runtime/runtime.js';
import type { Workload } from '../workloads/workload.js';
import type { HistoryRecorder } from './store.js';

const pollEveryMs = 500;

/** The key's home replicas, asked of each member in turn until one answers. */
async function preflistOf(runtime: Runtime, key: string): Promise<string[] | undefined> {
  for (const node of runtime.nodeIds()) {
    try {
      const out = await runtime.client(node).adminPreflist(key);
      if (out.type === 'ok') return out.value;
    } catch {
      // Try the next member.
    }
  }
  return undefined;
}

/** Every home replica's state of every key, decoded, or undefined for one that did not answer. */
async function replicaStates(runtime: Runtime, workload: Workload, preflists: Map<string, string[]>): Promise<Map<string, (string | undefined)[]>> {
  const out = new Map<string, (string | undefined)[]>();
  for (const key of workload.keys()) {
    let nodes = preflists.get(key);
    if (nodes === undefined) {
      nodes = await preflistOf(runtime, key);
      if (nodes !== undefined) preflists.set(key, nodes);
    }
    const states: (string | undefined)[] = [];
    for (const node of nodes ?? []) {
      try {
        const got = await runtime.client(node).adminLocal(key);
        states.push(got.type === 'ok' ? JSON.stringify(workload.decodeLocal(got.value)) : undefined);
      } catch {
        states.push(undefined);
      }
    }
    if (nodes === undefined) states.push(undefined);
    out.set(key, states);
  }
  return out;
}

/**
 * Waits `quiesceMs` (runtime time) after heal, polling the home replicas; returns the ms from heal until
 * they first all held identical data for every key, or null if they never did within the quiesce.
 */
export async function measureConvergence(
  runtime: Runtime, workload: Workload, quiesceMs: number, healedNs: number, stopping: () => boolean,
): Promise<number | null> {
  const endNs = runtime.nowNs() + quiesceMs * 1e6;
  const preflists = new Map<string, string[]>();
  let convergedMs: number | null = null;
  while (!stopping() && runtime.nowNs() < endNs) {
    if (convergedMs === null) {
      const states = await replicaStates(runtime, workload, preflists);
      const agreed = [...states.values()].every((s) => s.length > 0 && s.every((x) => x !== undefined && x === s[0]));
      if (agreed) convergedMs = (runtime.nowNs() - healedNs) / 1e6;
    }
    const leftMs = (endNs - runtime.nowNs()) / 1e6;
    if (leftMs <= 0) break;
    await runtime.sleep(Math.min(pollEveryMs, leftMs));
  }
  return convergedMs;
}

/** Records what every home replica of every key holds, as completed ops of process "final". */
export async function recordReplicaStates(runtime: Runtime, workload: Workload, recorder: HistoryRecorder): Promise<void> {
  for (const key of workload.keys()) {
    const nodes = await preflistOf(runtime, key);
    if (nodes === undefined) {
      recorder.record({ time: runtime.nowNs(), process: 'final', type: 'info', f: 'local', key, final: true, error: 'no member answered /admin/preflist' });
      continue;
    }
    for (const node of nodes) {
      let outcome: { type: 'ok'; value: unknown } | { type: 'info'; error: string };
      try {
        const got = await runtime.client(node).adminLocal(key);
        outcome = got.type === 'ok' ? { type: 'ok', value: workload.decodeLocal(got.value) } : { type: 'info', error: got.error };
      } catch (error) {
        outcome = { type: 'info', error: error instanceof Error ? error.message : String(error) };
      }
      recorder.record({ time: runtime.nowNs(), process: 'final', f: 'local', key, node, final: true, ...outcome });
    }
  }
}
