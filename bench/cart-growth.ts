// Cost of a cart add as the cart grows: one simulated 3-node cluster (N=3, R=W=2), one cart, `adds`
// sequential adds through rotating coordinators (anti-entropy, gossip and hints running as usual), CPU
// time per add measured over the last tenth before each cart size (at least 10 adds). With a cost per add
// that does not grow with the cart, the figures at 10, 100, 1000 and 2000 live adds are about equal.
// A final R=3 read checks that every add is there. Used by `npm run bench` (bench/index.ts) and alone:
//   npx tsx bench/cart-growth.ts [adds=2000] [seed=1]
import { SimRuntime } from '../harness/runtime/sim/sim-runtime.js';

export interface CartGrowthResult {
  /** Mean CPU µs per add over the window ending at each cart size. */
  readonly usPerAdd: Record<number, number>;
  /** Mean CPU µs per add over the first and the last 10 % of the adds. */
  readonly firstTenthUs: number;
  readonly lastTenthUs: number;
  readonly totalCpuS: number;
  /** Live items the final read returned (must equal the number of adds). */
  readonly finalQty: number;
}

export async function runCartGrowth(adds = 2000, seed = 1): Promise<CartGrowthResult> {
  const runtime = new SimRuntime();
  await runtime.setup({
    nodes: 3, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', vnodes: 8, seed, runDir: '',
    sim: { delay: 'uniform', minDelayMs: 1, maxDelayMs: 5, fsyncMs: 1, partitions: 32 },
  } as Parameters<SimRuntime['setup']>[0]);
  try {
    const ids = runtime.nodeIds();
    await runtime.sleep(3000);
    const cpuAfter: number[] = [];
    const t0 = process.cpuUsage();
    const cpuNow = (): number => {
      const c = process.cpuUsage(t0);
      return c.user + c.system;
    };
    for (let i = 0; i < adds; i++) {
      const core = runtime.host(ids[i % ids.length]!)!.core!;
      const r = await core.cartAdd('big', `sku-${i}`, 1);
      if (!r.ok) throw new Error(`add ${i} failed: ${JSON.stringify(r)}`);
      cpuAfter.push(cpuNow());
    }
    const mean = (from: number, to: number): number => ((cpuAfter[to - 1] ?? 0) - (from === 0 ? 0 : cpuAfter[from - 1]!)) / (to - from);
    const usPerAdd: Record<number, number> = {};
    for (const size of [10, 100, 1000, 2000]) {
      if (size > adds) continue;
      const window = Math.max(10, Math.floor(size / 10));
      usPerAdd[size] = Math.round(mean(size - window, size));
    }
    const tenth = Math.max(1, Math.floor(adds / 10));
    const read = await runtime.host(ids[0]!)!.core!.cartRead('big', { r: 3 });
    const finalQty = read.ok ? Object.values(read.items).reduce((a, b) => a + b, 0) : -1;
    return {
      usPerAdd, firstTenthUs: Math.round(mean(0, tenth)), lastTenthUs: Math.round(mean(adds - tenth, adds)),
      totalCpuS: cpuNow() / 1e6, finalQty,
    };
  } finally {
    await runtime.teardown();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [adds = 2000, seed = 1] = process.argv.slice(2).map(Number);
  const r = await runCartGrowth(adds, seed);
  console.log(JSON.stringify({ ...r, totalCpuS: +r.totalCpuS.toFixed(2) }));
}
