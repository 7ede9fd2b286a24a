// A node's data directory as the local and Docker runtimes keep it: inside the run's temporary directory,
// so teardown and the leftover sweep remove it. Losing a disk empties it and keeps the directory itself
// (a container's bind mount names it).
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Removes everything inside `dir` (which must exist), as a replaced disk would hold nothing. */
export function emptyDirectory(dir: string): void {
  for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
}
