// What the node's concerns share, passed down to each of them by the facade (node.ts): the environment,
// the stores, the membership view, the timers and the request tracker, the counters status() reports,
// and a send that knows about local delivery and a stopped node. Only types are imported here, so any
// concern may depend on this file without tying the modules into a circle.
import type { ActorIds } from './actor-ids.js';
import type { NodeConfig } from './config.js';
import type { CoreEnv, NodeId } from './env.js';
import type { HintStore } from './hints.js';
import type { DataType, Kind, LocalStore, State } from './local-store.js';
import type { MembershipView } from './membership-view.js';
import type { OutMessage } from './messages.js';
import type { MetaStore } from './metadata.js';
import type { RequestTracker } from './requests.js';
import type { FaultHooks } from './test-faults.js';
import type { TimerTable } from './timers.js';

export interface Counters {
  hintsDelivered: number;
  aeRounds: number;
  keysRepaired: number;
  readRepairs: number;
  handoffKeys: number;
  reaped: number;
  /** Peer messages dropped at the boundary because they did not decode (messages.ts). */
  malformedMessages: number;
}

export interface NodeContext {
  readonly id: NodeId;
  readonly config: NodeConfig;
  readonly env: CoreEnv;
  /** The secret client contexts are signed with. */
  readonly secret: string;
  readonly types: Readonly<Record<Kind, DataType>>;
  readonly store: LocalStore;
  readonly hints: HintStore;
  readonly faults: FaultHooks;
  readonly timers: TimerTable;
  readonly requests: RequestTracker;
  readonly view: MembershipView;
  readonly actor: ActorIds;
  readonly meta: MetaStore;
  readonly counters: Counters;
  /** Whether the node is stopped (before start, after stop): nothing is sent, no timer runs. */
  stopped(): boolean;
  /** Sends to a peer, or to this node itself through the same handlers, asynchronously. */
  send(to: NodeId, message: OutMessage): void;
  /** A state in the JSON form messages carry. */
  encodeState(kind: Kind, s: State): unknown;
}
