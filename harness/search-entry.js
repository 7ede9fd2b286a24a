// The package's `quorumlab/search` entry (package.json "exports"), for a user's own tap or node:test suite
// in plain JavaScript: the harness is TypeScript that tsx compiles on load (as bin/quorumlab.js does), so
// the loader is registered first and the module loaded after it. TypeScript users get the types from
// harness/search.ts, the module this re-exports.
import { register } from 'tsx/esm/api';

register();
const search = await import('./search.ts');

/** Searches fault schedules for one that breaks the configuration; see harness/search.ts. */
export const searchSchedules = search.searchSchedules;
/** The fault ops a search draws for run's --nemesis kinds. */
export const searchFaultsFor = search.searchFaultsFor;
/** The `quorumlab run` line that replays a case. */
export const searchReplayCommand = search.searchReplayCommand;
