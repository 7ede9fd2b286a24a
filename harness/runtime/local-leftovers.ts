// What a local run whose harness died leaves behind (node processes, temp dirs, its iptables chain), found
// by the run marker and the owner pid in the run id, and removed by the next run's setup. Live runs of
// other harness processes are never touched.
import { isStaleRun, removeStaleTempDirs, staleNodeProcesses } from './cleanup.js';
import { runHostCommand } from './host-command.js';
import { chainPrefix, deleteChain, listChains } from './iptables.js';

/** Kills leftover node processes and deletes leftover iptables chains of dead runs; returns what it removed. */
export async function removeLocalLeftovers(log: (line: string) => void, withIptables = true): Promise<{ processes: number[]; chains: string[] }> {
  const removed = { processes: [] as number[], chains: [] as string[] };
  for (const [pid, runId] of staleNodeProcesses()) {
    log(`killing leftover node process ${pid} of dead run ${runId}`);
    try {
      // Node processes lead their own process group; take any children with them.
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    removed.processes.push(pid);
  }
  removeStaleTempDirs(log);
  if (!withIptables) return removed;
  let chains: string[] = [];
  try {
    chains = await listChains(runHostCommand);
  } catch {
    return removed;
  }
  for (const chain of chains) {
    const runId = chain.slice(chainPrefix.length);
    if (isStaleRun(runId)) {
      log(`removing leftover iptables chain ${chain} of dead run ${runId}`);
      await deleteChain(runHostCommand, chain);
      removed.chains.push(chain);
    }
  }
  return removed;
}
