// Removing a member the way an operator would: ask it to leave (it hands its data off and answers once
// done), then stop it however the runtime stops a node, then drop it from the roster. A refused or lost
// leave does not stop the removal: the node is stopped anyway and the log says so.
import type { NodeRoster, RosterNode } from './node-roster.js';

export async function removeWithLeave<T extends RosterNode>(
  roster: NodeRoster<T>,
  nodeId: string,
  log: (line: string) => void,
  stop: (node: T) => Promise<void>,
): Promise<void> {
  const node = roster.mustGet(nodeId);
  const leave = await roster.client(nodeId).adminLeave();
  if (leave.type !== 'ok') log(`${nodeId}: /admin/leave answered ${leave.type} (${leave.error}); stopping it anyway`);
  await stop(node);
  roster.retire(nodeId);
}
