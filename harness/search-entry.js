// The package's `quorumlab/search` entry (package.json "exports"), for a user's own tap or node:test suite
// in plain JavaScript. The harness is TypeScript: this loads its compiled copy (bin/precompile.js, as
// bin/quorumlab.js does) and, if there is none, registers tsx and loads the source. TypeScript users get
// the types from harness/search.ts, the module this re-exports.
import { precompiledEntry } from '../bin/precompile.js';

const compiled = await precompiledEntry('harness/search.ts');
let search;
if (compiled !== undefined) {
  process.setSourceMapsEnabled(true);
  search = await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  search = await import('./search.ts');
}

/** Searches fault schedules for one that breaks the configuration; see harness/search.ts. */
export const searchSchedules = search.searchSchedules;
/** The fault ops a search draws for run's --nemesis kinds. */
export const searchFaultsFor = search.searchFaultsFor;
/** The `quorumlab run` line that replays a case. */
export const searchReplayCommand = search.searchReplayCommand;
