// The Docker engine as the Docker runtime meets it outside one run: whether a daemon answers, the label
// that marks everything a run creates, and the removal of what runs whose harness died left behind.
import Docker from 'dockerode';
import type { Capability } from './runtime.js';
import { isStaleRun, removeStaleTempDirs } from './cleanup.js';

/** Every container and network of a run carries this label with the run id as its value. */
export const runLabel = 'quorumlab.run';

/** Whether a Docker daemon answers, and if not why (tests skip with this message). */
export async function dockerAvailable(socketPath?: string): Promise<Capability> {
  const docker = new Docker(socketPath !== undefined ? { socketPath } : {});
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 3 s')), 3000).unref())]);
    return true;
  } catch (err) {
    return { unavailable: `no Docker daemon answers (${(err as Error).message})` };
  }
}

/**
 * Removes containers and networks labelled by runs whose harness process is gone (live runs of other
 * harness processes are left alone). Returns the names it removed.
 */
export async function removeDockerLeftovers(docker: Docker, log: (line: string) => void): Promise<{ containers: string[]; networks: string[] }> {
  const removed = { containers: [] as string[], networks: [] as string[] };
  const containers = await docker.listContainers({ all: true, filters: { label: [runLabel] } });
  for (const c of containers) {
    const runId = c.Labels[runLabel] ?? '';
    if (!isStaleRun(runId)) continue;
    const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
    log(`removing leftover container ${name} of dead run ${runId}`);
    await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
    removed.containers.push(name);
  }
  const networks = await docker.listNetworks({ filters: { label: [runLabel] } });
  for (const n of networks) {
    const runId = n.Labels?.[runLabel] ?? '';
    if (!isStaleRun(runId)) continue;
    log(`removing leftover network ${n.Name} of dead run ${runId}`);
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
    removed.networks.push(n.Name);
  }
  removeStaleTempDirs(log);
  return removed;
}
