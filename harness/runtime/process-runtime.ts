// What the process runtimes (local processes, Docker containers, SSH hosts) share: a roster of the nodes
// they started and the wall clock of the run. How a node is started, faulted and torn down differs per
// runtime; asking for the members, a member's client, the run's time and a sleep does not, so it is
// written once here.
import type { NodeClient } from '../../workloads/client.js';
import { NodeRoster, type RosterNode } from './node-roster.js';
import { WallClock } from './wall-clock.js';

export abstract class ProcessRuntime<N extends RosterNode> {
  protected readonly clock = new WallClock();
  protected readonly nodes = new NodeRoster<N>();

  nodeIds(): string[] {
    return this.nodes.ids();
  }

  client(nodeId: string): NodeClient {
    return this.nodes.client(nodeId);
  }

  nowNs(): number {
    return this.clock.nowNs();
  }

  sleep(ms: number): Promise<void> {
    return this.clock.sleep(ms);
  }

  logFiles(): Record<string, string> {
    return this.nodes.logFiles();
  }
}
