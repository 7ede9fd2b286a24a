// Quorum planning, pure: which nodes a request for a key goes to, which groups of them must answer, and
// whether the answers so far meet the quorum. Everything it needs (ring, earlier rings, health) comes in
// as arguments, so the read and write coordinators share one definition of "enough".
import type { NodeId } from './env.js';
import type { VersionedRing } from './membership.js';
import { partitionOf } from './hash.js';
import { type Ring, homesForPartition, walkAtLeast } from './ring.js';

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
 * Plans are shared values (see homePlan): callers never change them.
 */
export interface QuorumPlan {
  readonly targets: readonly Target[];
  readonly groups: readonly (readonly NodeId[])[];
  /** The current ring's home replicas of the key (the first N of its preference list). */
  readonly home: readonly NodeId[];
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
  const groups = plan.groups;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as readonly NodeId[];
    let n = 0;
    for (const id of g) if (have.has(id)) n++;
    // The current ring's group needs the full quorum; an earlier ring with fewer distinct nodes than N
    // stored each key on all of them, so all of them is its quorum.
    if (n < (i === 0 ? needed : Math.min(needed, g.length))) return false;
  }
  return true;
}

/** Whether `node` is one of `targets` (asked of every reply a coordinator receives). */
export function isTarget(targets: readonly Target[], node: NodeId): boolean {
  for (const x of targets) if (x.node === node) return true;
  return false;
}

const noPlan: QuorumPlan = { targets: [], groups: [[]], home: [] };

/**
 * The plan whose targets are the home replicas of partition p and nothing else, per ring (rings are
 * shared, immutable values) and partition: what a request gets whenever no home needs a stand-in and no
 * earlier ring adds a group, which is nearly always. Built once instead of a fresh set of arrays and
 * target objects for every request.
 */
const homePlans = new WeakMap<Ring, ({ readonly n: number; readonly plan: QuorumPlan } | undefined)[]>();

function homePlan(ring: Ring, p: number, n: number): QuorumPlan {
  let byPartition = homePlans.get(ring);
  if (byPartition === undefined) {
    byPartition = new Array(ring.partitions);
    homePlans.set(ring, byPartition);
  }
  let cached = byPartition[p];
  if (cached === undefined || cached.n !== n) {
    const home = Object.freeze(homesForPartition(ring, p, n));
    const targets = Object.freeze(home.map((node) => Object.freeze({ node })));
    cached = { n, plan: Object.freeze({ targets, groups: Object.freeze([home]), home }) };
    byPartition[p] = cached;
  }
  return cached.plan;
}

/**
 * The current ring's targets of `key` and its home replicas. Strict: the N home replicas whatever their
 * health. Sloppy: the first N healthy nodes of the whole preference list, each fallback carrying the home
 * node it stands in for; padded with unhealthy home nodes when fewer than N nodes are healthy, so a
 * request still has a chance. When every home is healthy (sloppy) or always (strict), that is homePlan.
 */
function currentPlan(input: PlanInput, key: string): QuorumPlan {
  const ring = input.ring?.ring;
  if (ring === undefined) return noPlan;
  const p = partitionOf(key, ring.partitions);
  const homes = homePlan(ring, p, input.n);
  if (!input.sloppy) return homes;
  // The first N healthy nodes of the preference list, walked only as far as needed (health is a pure
  // question, so asking it of fewer nodes, or again, changes nothing): usually the homes themselves.
  const home = homes.home;
  let allHealthy = true;
  for (const h of home) {
    if (!input.isHealthy(h)) {
      allHealthy = false;
      break;
    }
  }
  if (allHealthy) return homes;
  const chosen: NodeId[] = [];
  const members = ring.members.length;
  let walk = walkAtLeast(ring, p, input.n);
  for (let i = 0; chosen.length < input.n; i++) {
    if (i >= walk.length) {
      if (walk.length >= members) break;
      walk = walkAtLeast(ring, p, Math.min(members, 2 * walk.length + 1));
      if (i >= walk.length) break;
    }
    const node = walk[i] as NodeId;
    if (input.isHealthy(node)) chosen.push(node);
  }
  const missing = home.filter((h) => !chosen.includes(h));
  const out: Target[] = chosen.map((node) => (home.includes(node) ? { node } : { node, hint: missing.shift() as NodeId }));
  while (out.length < home.length && missing.length > 0) out.push({ node: missing.shift() as NodeId });
  return { targets: out, groups: [out.map((x) => x.node)], home };
}

/** The current ring's targets of `key` (see currentPlan): a fresh array. */
export function targetsFor(input: PlanInput, key: string): Target[] {
  return [...currentPlan(input, key).targets];
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
  const plan = currentPlan(input, key);
  if (input.sloppy || input.pastRings.length === 0) return plan;
  const groups: (readonly NodeId[])[] = [plan.groups[0] as readonly NodeId[]];
  const all = [...plan.targets];
  for (const past of input.pastRings) {
    const home = homesForPartition(past.ring, partitionOf(key, past.ring.partitions), input.n);
    if (groups.some((g) => g.length === home.length && g.every((id) => home.includes(id)))) continue;
    groups.push(home);
    for (const node of home) if (!all.some((x) => x.node === node)) all.push({ node });
  }
  return groups.length === 1 ? plan : { targets: all, groups, home: plan.home };
}
