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

/**
 * Riak KV issue #679 (kv679): a node that lost its disk came back under the same actor id, its per-key
 * counters restarted, and its new writes took dots the other replicas' versions already covered, so
 * acknowledged writes vanished. Five nodes, n=3 r=2 w=2 sloppy, 10 clients at 5 req/s each on 5 register
 * keys (blind and read-modify-write, through every node); n1 loses its disk twice: killed and wiped at 10 s,
 * back on the empty disk at 12 s, again at 20 s and 22 s. A correct node loses no acknowledged write.
 */
export const kv679Recipe: NemesisRecipe = {
  name: 'kv679-disk-loss',
  description:
    'Riak KV #679: a replica that loses its disk and returns under the same actor id reuses dots, and acknowledged writes vanish. ' +
    '5 nodes, n=3 r=2 w=2, 10 clients at 5 req/s on 5 keys; n1 loses its disk at 10 s and 20 s, back 2 s later each time.',
  cluster: { nodes: 5, n: 3, r: 2, w: 2, sloppy: true },
  workload: { name: 'register', clients: 10, ratePerClientPerS: 5, keys: 5 },
  timeLimitS: 30,
  schedule: [
    { atS: 10, step: { f: 'disk-loss', value: { nodes: ['n1'] } } },
    { atS: 12, step: { f: 'disk-restart', value: { nodes: ['n1'] } } },
    { atS: 20, step: { f: 'disk-loss', value: { nodes: ['n1'] } } },
    { atS: 22, step: { f: 'disk-restart', value: { nodes: ['n1'] } } },
  ],
};

export const recipes: Readonly<Record<string, NemesisRecipe>> = { [riakLostWriteRecipe.name]: riakLostWriteRecipe, [kv679Recipe.name]: kv679Recipe };
