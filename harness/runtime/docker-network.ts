// The private bridge network of one Docker run: a /24 picked at random in 10.213-220.x (retried when it
// overlaps another network), so node addresses, and therefore the seeds, are known before any node starts.
import type Docker from 'dockerode';
import { runLabel } from './docker-engine.js';

export interface RunNetwork {
  readonly network: Docker.Network;
  /** The first three octets, e.g. "10.215.7"; node i gets `<prefix>.(10+i)`. */
  readonly prefix: string;
}

export async function createRunNetwork(docker: Docker, name: string, runId: string): Promise<RunNetwork> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 12; attempt++) {
    const second = 213 + Math.floor(Math.random() * 8);
    const third = Math.floor(Math.random() * 256);
    const prefix = `10.${second}.${third}`;
    try {
      const network = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [runLabel]: runId },
        IPAM: { Driver: 'default', Config: [{ Subnet: `${prefix}.0/24`, Gateway: `${prefix}.1` }] },
      });
      return { network, prefix };
    } catch (err) {
      lastErr = err;
      if (!/overlap|in use|conflict/i.test(String((err as Error).message))) break;
    }
  }
  throw new Error(`could not create the run's Docker network ${name}: ${String((lastErr as Error)?.message ?? lastErr)} (definite: nothing started)`);
}
