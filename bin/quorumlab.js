#!/usr/bin/env node
// The CLI is written in TypeScript. It runs from a compiled copy of the sources (bin/precompile.js: built on
// demand, keyed by the sources' hash, so it is never stale), with source maps on so that stack traces name
// the .ts files. If that copy cannot be had, tsx compiles the sources on load, as it does in tests, in local
// node processes and inside the Docker image.
import { checkInSizedHeap } from './check-heap.js';
import { precompiledEntry } from './precompile.js';
import { restartWithSimFlags } from './sim-flags.js';

// A large history is checked in a node with heap settings sized for it (check-heap.js).
const checked = checkInSizedHeap();
if (checked !== undefined) process.exit(checked);
// A run or campaign in simulation runs in a node with V8 settings for it (sim-flags.js).
const simulated = await restartWithSimFlags();
if (simulated !== undefined) process.exit(simulated);

const entry = await precompiledEntry('harness/cli.ts');
if (entry !== undefined) {
  process.setSourceMapsEnabled(true);
  await import(entry);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../harness/cli.ts');
}
