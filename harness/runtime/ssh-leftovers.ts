// What an SSH run whose controller died leaves on a host (node processes, the run's iptables chain, its
// directory), found from the owner file each run writes and removed by the next run's setup, which says so.
// Only runs of this controller machine whose controller process is gone are touched: a run owned by another
// machine may still be going (its pid means nothing here), so it is reported and left alone.
import os from 'node:os';
import { isStaleRun } from './cleanup.js';
import type { SshConnection } from './ssh-client.js';
import { hostKey, listRunsScript, parseRemoved, parseRuns, removeRunScript, type RemovedRun } from './ssh-host-run.js';

/** The name the owner file records for this controller machine. */
export function controllerName(): string {
  return os.hostname().replace(/\s+/g, '-') || 'unknown';
}

export async function removeSshLeftovers(conn: SshConnection, hostDir: string, log: (line: string) => void): Promise<{ removed: string[]; foreign: string[] }> {
  const out = { removed: [] as string[], foreign: [] as string[] };
  const host = hostKey(conn.target);
  const runs = parseRuns(await conn.run(listRunsScript(hostDir, host)));
  for (const run of runs) {
    if (run.controller !== controllerName()) {
      log(`${conn.label}: run ${run.runId} of controller ${run.controller || '(unknown)'} has files in ${hostDir}; left alone (it may still be running)`);
      out.foreign.push(run.runId);
      continue;
    }
    if (!isStaleRun(run.runId)) continue;
    let removed: RemovedRun;
    try {
      removed = parseRemoved(await conn.run(removeRunScript(hostDir, run.runId, host)));
    } catch (err) {
      log(`${conn.label}: could not remove leftovers of dead run ${run.runId}: ${(err as Error).message.split('\n')[0]}`);
      continue;
    }
    const what = [
      `${removed.processes} node process${removed.processes === 1 ? '' : 'es'}`,
      ...(removed.chain ? ['its iptables chain'] : []),
      ...(removed.dir ? ['its directory'] : []),
    ];
    log(`${conn.label}: removed leftovers of dead run ${run.runId}: ${what.join(', ')}`);
    out.removed.push(run.runId);
  }
  return out;
}
