// Workloads by name, for the run and the CLI.
import { createCartWorkload } from './cart.js';
import { createCartKvWorkload } from './cart-kv.js';
import { createPbsWorkload } from './pbs.js';
import { createRegisterWorkload } from './register.js';
import { workloadNames, type Workload, type WorkloadName, type WorkloadOptions } from './workload.js';

export { workloadNames, type Workload, type WorkloadName, type OpRequest, type OpCompletion } from './workload.js';

export function isWorkloadName(name: string): name is WorkloadName {
  return (workloadNames as readonly string[]).includes(name);
}

export function createWorkload(name: WorkloadName, options: WorkloadOptions & { concurrency: number }): Workload {
  switch (name) {
    case 'register':
      return createRegisterWorkload(options);
    case 'cart':
      return createCartWorkload(options);
    case 'cart-kv':
      return createCartKvWorkload(options);
    case 'pbs':
      return createPbsWorkload(options);
  }
}
