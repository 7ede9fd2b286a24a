// Named fault scenarios as data: a cluster shape, a client load and a timed nemesis schedule that the run
// orchestration replays. They reproduce known bugs of real Dynamo-style stores so a researcher can check
// whether a node under test has the same hole.
import type { TimedFault } from './schedule.js';

export interface NemesisRecipe {
  readonly name: string;
  /** Why this scenario exists and what a failure means. */
  readonly description: string;
  readonly cluster: { readonly nodes: number; readonly n: number; readonly r: number; readonly w: number; readonly sloppy: boolean };
  readonly workload: { readonly name: string; readonly clients: number; readonly ratePerClientPerS: number; readonly keys: number };
  readonly timeLimitS: number;
  readonly schedule: readonly TimedFault[];
}

/**
 * Riak KV issue #1754: acknowledged writes were lost when nodes joined and then left while clients kept
 * writing, because ownership handoff raced with writes to the vnodes being moved. Five nodes with n=3
 * and quorum reads and writes (Riak's defaults, sloppy), 40 clients at about 1 request/s each on 10 keys;
 * two nodes join at 40 s and are removed again later. A correct node loses no acknowledged write.
 * `leave` with {joined: i} names the i-th node the nemesis added.
 */
export const riakLostWriteRecipe: NemesisRecipe = {
  name: 'riak-1754-lost-write',
  description:
    'Riak KV #1754: writes acknowledged by a quorum are lost when two nodes join and later leave under load. ' +
    '5 nodes, n=3 r=2 w=2, 40 clients at ~1 req/s on 10 keys; join 2 nodes at 40 s, remove them at 80 s and 90 s.',
  cluster: { nodes: 5, n: 3, r: 2, w: 2, sloppy: true },
  workload: { name: 'register', clients: 40, ratePerClientPerS: 1, keys: 10 },
  timeLimitS: 120,
  schedule: [
    { atS: 40, step: { f: 'join', value: {} } },
    { atS: 40, step: { f: 'join', value: {} } },
    { atS: 80, step: { f: 'leave', value: { joined: 0 } } },
    { atS: 90, step: { f: 'leave', value: { joined: 0 } } },
  ],
};

export const recipes: Readonly<Record<string, NemesisRecipe>> = { [riakLostWriteRecipe.name]: riakLostWriteRecipe };
