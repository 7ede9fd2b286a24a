// Quorum planning, pure: which nodes a request for a key goes to, which groups of them must answer, and
// whether the answers so far meet the quorum. Everything it needs (ring, earlier rings, health) comes in
// as arguments, so the read and write coordinators share one definition of "enough".
import type { NodeId } from './env.js';
import type { VersionedRing } from './membership.js';
import { preferenceList } from './ring.js';

/** Where a coordinator sends a request: a node, and for a sloppy fallback the home node it stands in for. */
export interface Target {
  readonly node: NodeId;
  readonly hint?: NodeId;
}

/**
 * Where a request goes and when it has its quorum: `needed` answers from every group. Normally there is
 * one group, the targets. During a ring transition (strict mode) there is one more group per earlier ring
 * whose handoff is not confirmed, holding that ring's home replicas of the key, so a read meets every
 * write quorum an earlier ring acknowledged and a write lands where an earlier ring's reads look.
 */
export interface QuorumPlan {
  readonly targets: Target[];
  readonly groups: readonly (readonly NodeId[])[];
}

export interface PlanInput {
  readonly ring: VersionedRing | undefined;
  /** Earlier rings whose handoff is unconfirmed, oldest first. */
  readonly pastRings: readonly VersionedRing[];
  readonly n: number;
  readonly sloppy: boolean;
  readonly isHealthy: (node: NodeId) => boolean;
}

/** Whether `have` holds `needed` members of every group (of a smaller group, all of it). */
export function quorumMet(plan: QuorumPlan, have: ReadonlySet<NodeId> | ReadonlyMap<NodeId, unknown>, needed: number): boolean {
  return plan.groups.every((g, i) => {
    let n = 0;
    for (const id of g) if (have.has(id)) n++;
    // The current ring's group needs the full quorum; an earlier ring with fewer distinct nodes than N
    // stored each key on all of them, so all of them is its quorum.
    return n >= (i === 0 ? needed : Math.min(needed, g.length));
  });
}

/**
 * Strict: the N home replicas whatever their health. Sloppy: the first N healthy nodes of the whole
 * preference list, each fallback carrying the home node it stands in for; padded with unhealthy home
 * nodes when fewer than N nodes are healthy, so a request still has a chance.
 */
export function targetsFor(input: PlanInput, key: string): Target[] {
  const all = input.ring === undefined ? [] : preferenceList(input.ring.ring, key);
  const home = all.slice(0, input.n);
  if (!input.sloppy) return home.map((node) => ({ node }));
  const chosen = all.filter((n) => input.isHealthy(n)).slice(0, input.n);
  const missing = home.filter((h) => !chosen.includes(h));
  const out: Target[] = chosen.map((node) => (home.includes(node) ? { node } : { node, hint: missing.shift() as NodeId }));
  while (out.length < home.length && missing.length > 0) out.push({ node: missing.shift() as NodeId });
  return out;
}

/**
 * The targets and quorum groups of a request for `key`. Strict mode adds, per earlier ring still in
 * transition whose homes for the key differ, those homes as a target group of their own (Raft's joint
 * consensus applied to Dynamo's quorums): a read then meets the replicas of every write an earlier ring
 * acknowledged, and a write also reaches the replicas an earlier ring's reads consult, however the ring
 * moved. Sloppy mode promises availability, not intersection, so it keeps its one group: a down home of
 * an earlier ring must not block it.
 */
export function planFor(input: PlanInput, key: string): QuorumPlan {
  const targets = targetsFor(input, key);
  const current = targets.map((x) => x.node);
  if (input.sloppy || input.pastRings.length === 0) return { targets, groups: [current] };
  const groups: NodeId[][] = [current];
  const all = [...targets];
  for (const past of input.pastRings) {
    const home = preferenceList(past.ring, key).slice(0, input.n);
    if (groups.some((g) => g.length === home.length && g.every((id) => home.includes(id)))) continue;
    groups.push(home);
    for (const node of home) if (!all.some((x) => x.node === node)) all.push({ node });
  }
  return { targets: all, groups };
}
