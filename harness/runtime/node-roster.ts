// The nodes a process runtime (local, Docker, SSH) has started: the members of now, the ones removed by a
// leave (their logs still belong to the run), and one HTTP client per member, made on first use and
// closed when the node leaves or the run ends. What differs between runtimes is only how a node is run.
import { createHttpClient, type HttpNodeClient } from '../../workloads/http-client.js';

export interface RosterNode {
  readonly id: string;
  /** Where the node's log is collected (under the run's directory). */
  readonly logFile: string;
  /** The client API's base URL as seen from the harness. */
  readonly baseUrl: string;
}

export class NodeRoster<T extends RosterNode> {
  private readonly members = new Map<string, T>();
  private readonly removed = new Map<string, T>();
  private readonly clients = new Map<string, HttpNodeClient>();

  add(node: T): void {
    this.members.set(node.id, node);
  }

  /** Ids of the members, in the order they were added. */
  ids(): string[] {
    return [...this.members.keys()];
  }

  /** The members, in the order they were added. */
  current(): T[] {
    return [...this.members.values()];
  }

  /** Members and removed nodes: everything the run started. */
  everyNode(): T[] {
    return [...this.members.values(), ...this.removed.values()];
  }

  get(nodeId: string): T | undefined {
    return this.members.get(nodeId);
  }

  /** A member or a removed node (a grudge may still name a node that has left). */
  find(nodeId: string): T | undefined {
    return this.members.get(nodeId) ?? this.removed.get(nodeId);
  }

  mustGet(nodeId: string): T {
    const n = this.members.get(nodeId);
    if (n === undefined) throw new Error(`no such node "${nodeId}" in this cluster (definite: nothing was done)`);
    return n;
  }

  /** The member's client, made once and reused (keep-alive connections). */
  client(nodeId: string): HttpNodeClient {
    const node = this.mustGet(nodeId);
    let c = this.clients.get(nodeId);
    if (c === undefined) {
      c = createHttpClient(nodeId, node.baseUrl);
      this.clients.set(nodeId, c);
    }
    return c;
  }

  /** Moves a member to the removed nodes and closes its client. */
  retire(nodeId: string): void {
    const node = this.members.get(nodeId);
    if (node === undefined) return;
    this.members.delete(nodeId);
    this.removed.set(nodeId, node);
    this.clients.get(nodeId)?.close();
    this.clients.delete(nodeId);
  }

  closeClients(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** Log files by node id, members and removed nodes alike. */
  logFiles(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const n of this.everyNode()) out[n.id] = n.logFile;
    return out;
  }
}
