// At the final heal: which keys' home replicas differ (what only repair can reconcile). After heal: how
// long the replicas took to agree (polled during quiesce through the introspection API,
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
 * How long the faults stay in force after the clients stop: one request timeout (the reference node drops
 * peer messages later than that, QL_PEER_MAX_DELAY_MS' default) and half a second for the last replies.
 */
export function finalHoldMs(config: { readonly requestTimeoutMs: number }): number {
  return config.requestTimeoutMs + 500;
}

/**
 * The least time the clients keep writing once the run's final cut is in force (run.ts extends the
 * workload past its time limit by what is missing): two seconds, or the fault length when shorter.
 */
export function finaleWritesMs(config: { readonly nemesisFaultS: number }): number {
  return Math.min(2, config.nemesisFaultS) * 1000;
}

/** Listed keys at most (the count covers all). */
const maxDivergentListed = 20;

/**
 * Which workload keys' home replicas hold different states now (just before the final heal): the keys on
 * which read repair, anti-entropy or hinted handoff has work to do. A key whose replicas all answered alike
 * is settled; one with a replica that did not answer is counted apart (its state is unknown).
 */
export async function replicaDivergence(runtime: Runtime, workload: Workload): Promise<{ keys: number; divergent: number; divergentKeys: string[]; unanswered: number }> {
  const states = await replicaStates(runtime, workload, new Map());
  const divergentKeys: string[] = [];
  let divergent = 0;
  let unanswered = 0;
  for (const [key, s] of states) {
    const answered = s.filter((x): x is string => x !== undefined);
    if (new Set(answered).size > 1) {
      divergent++;
      if (divergentKeys.length < maxDivergentListed) divergentKeys.push(key);
    } else if (answered.length < s.length || s.length === 0) unanswered++;
  }
  return { keys: states.size, divergent, divergentKeys, unanswered };
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
