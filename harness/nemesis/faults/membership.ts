// Membership changes: `join` starts a new node that joins through the seeds (`{count: 2}`: two at once, the
// shape of Riak's riak_kv#1754, undone by both leaving again), `leave` asks a member to leave with handoff
// and stops it. Undoing them restores the cluster's size: the nodes this nemesis added
// leave again (newest first), and as many nodes join as originals left.
import type { FaultContext, FaultDefinition } from '../fault.js';
import { unknownOp } from '../fault.js';
import { pick } from '../draw.js';
import { sortNodeIds } from '../grudge.js';
import type { FaultApplied, FaultStep } from '../nemesis.js';

function create(ctx: FaultContext) {
  const { runtime, random } = ctx;
  /** Nodes this nemesis added that are still members, in the order they joined. */
  const joined: string[] = [];
  /** Original members removed and not yet replaced by a join. */
  let leftCount = 0;

  function draw(): FaultStep {
    const members = runtime.nodeIds();
    // Grow when at or below the floor, otherwise join or leave with even odds.
    if (members.length <= ctx.settings.minMembers || random() < 0.5) return { f: 'join', value: {} };
    return { f: 'leave', value: { node: pick(sortNodeIds(members), random) } };
  }

  async function apply(step: FaultStep): Promise<FaultApplied> {
    if (step.f === 'join') {
      const count = step.value.count ?? 1;
      if (count !== 1 && count !== 2) throw new Error(`join takes count 1 or 2, got ${String(count)} (definite: nothing was done)`);
      const nodes: string[] = [];
      for (let i = 0; i < count; i++) {
        const node = await runtime.addNode();
        nodes.push(node);
        // A join that replaces an original member who left is not the nemesis's to undo: undoing it again
        // would shrink the cluster below its size.
        if (leftCount > 0) leftCount--;
        else joined.push(node);
      }
      return { f: 'join', value: count === 1 ? { node: nodes[0] } : { nodes } };
    }
    if (step.f !== 'leave') throw unknownOp(step.f);
    // {joined: i} names the i-th node this nemesis added (recipes use it); {node} names one directly.
    let node = typeof step.value.node === 'string' ? step.value.node : undefined;
    if (node === undefined && typeof step.value.joined === 'number') node = joined[step.value.joined];
    if (node === undefined) node = joined.at(-1) ?? pick(sortNodeIds(runtime.nodeIds()), random);
    if (!runtime.nodeIds().includes(node)) throw new Error(`cannot remove ${node}: not a member (definite: nothing was done)`);
    await runtime.removeNode(node);
    const j = joined.indexOf(node);
    if (j >= 0) joined.splice(j, 1);
    else leftCount++;
    ctx.forget(node);
    return { f: 'leave', value: { node } };
  }

  function undo(): FaultStep[] {
    const steps: FaultStep[] = [];
    for (const node of [...joined].reverse()) steps.push({ f: 'leave', value: { node } });
    for (let i = 0; i < leftCount; i++) steps.push({ f: 'join', value: {} });
    return steps;
  }

  // Coverage: a join, then Riak's riak_kv#1754 (two nodes join under load, then both leave: the undo), then
  // a leave of a member drawn then (the run undoes each fault before the next, so the cluster is back to its
  // size), the leave only where it keeps the floor.
  const shapes = (): FaultStep[] => [
    { f: 'join', value: {} },
    { f: 'join', value: { count: 2, recipe: 'riak-1754' } },
    ...(runtime.nodeIds().length > ctx.settings.minMembers ? [{ f: 'leave', value: {} }] : []),
  ];

  return { startable: () => true, draw, shapes, apply, undo };
}

export const membershipFault: FaultDefinition = { kind: 'membership', owns: (f) => f === 'join' || f === 'leave', create };
