// CPU per PUT of the node core alone: three DynamoNode cores in this process, wired by a transport that
// serialises every message as the real peer link does (node/peer-outbound.ts messageJson, then JSON.parse
// on the receiving side), storage in memory (no fsync), N=3 R=2 W=2, 1 KiB values, a closed loop of
// `concurrency` writers. What it measures is the core's own work per write on every replica — the
// coordinator's mint, encode and fan-out, each replica's decode, merge, encode and hash, the context
// signature — without HTTP, frames or LevelDB, so a change to the core shows up undiluted.
// Then as many GETs of the last phase's keys, for the read path's CPU per GET.
//   npx tsx bench/core-put.ts [puts=5000] [keys=1000] [concurrency=16] [mode=blind|ctx|both] [valueBytes=1024]
import { performance } from 'node:perf_hooks';
import { defaultNodeConfig, type NodeConfig } from '../node/core/config.js';
import type { CoreEnv, NodeId, PeerMessage, Storage, StorageWrite, TimerHandle } from '../node/core/env.js';
import { DynamoNode } from '../node/core/node.js';
import { messageJson } from '../node/peer-outbound.js';

class MemStorage implements Storage {
  private readonly data = new Map<string, Map<string, Uint8Array>>();

  private ns(ns: string): Map<string, Uint8Array> {
    let m = this.data.get(ns);
    if (m === undefined) this.data.set(ns, (m = new Map()));
    return m;
  }

  async get(ns: string, key: string): Promise<Uint8Array | undefined> {
    return this.ns(ns).get(key);
  }

  async write(batch: readonly StorageWrite[]): Promise<void> {
    for (const w of batch) {
      if (w.type === 'put') this.ns(w.ns).set(w.key, w.value as Uint8Array);
      else this.ns(w.ns).delete(w.key);
    }
  }

  async *scan(ns: string, prefix = ''): AsyncIterable<[string, Uint8Array]> {
    const entries = [...this.ns(ns).entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const e of entries) yield e;
  }
}

function makeEnv(id: NodeId, nodes: Map<NodeId, DynamoNode>, seed: number): CoreEnv {
  let x = seed >>> 0 || 1;
  const timers = new Map<number, ReturnType<typeof setTimeout>>();
  let nextTimer = 0;
  return {
    clock: { wallMs: () => Date.now(), monoMs: () => performance.now() },
    timers: {
      setTimeout(fn: () => void, delayMs: number): TimerHandle {
        const handle = { id: ++nextTimer };
        timers.set(handle.id, setTimeout(() => {
          timers.delete(handle.id);
          fn();
        }, delayMs));
        return handle;
      },
      clearTimeout(handle: TimerHandle): void {
        clearTimeout(timers.get(handle.id));
        timers.delete(handle.id);
      },
    },
    random: {
      next: () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) / 2 ** 32;
      },
    },
    transport: {
      send(to: NodeId, message: PeerMessage): void {
        // As the peer link: one JSON text per message (the state's from its memo), parsed by the receiver.
        const text = messageJson(message);
        setImmediate(() => nodes.get(to)?.receive(id, JSON.parse(text) as PeerMessage));
      },
    },
    storage: new MemStorage(),
    logger: { log: () => undefined },
  };
}

async function cluster(): Promise<DynamoNode[]> {
  const ids = ['n1', 'n2', 'n3'];
  const nodes = new Map<NodeId, DynamoNode>();
  const seeds = ids.map((id) => ({ id, addr: `${id}:1` }));
  ids.forEach((id, i) => {
    const config: NodeConfig = { ...defaultNodeConfig, id, peerAddr: `${id}:1`, seeds, secret: 'bench-secret', gossipIntervalMs: 100 };
    nodes.set(id, new DynamoNode(config, makeEnv(id, nodes, i + 1)));
  });
  for (const n of nodes.values()) await n.start();
  // Until every node sees all three up and all hold the same ring.
  for (let i = 0; i < 200; i++) {
    const st = [...nodes.values()].map((n) => n.status());
    if (st.every((s) => s.members.filter((m) => m.status === 'up').length === 3) && new Set(st.map((s) => s.ring.version)).size === 1 && st.every((s) => s.ring.owned > 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
  return [...nodes.values()];
}

/**
 * A closed loop of `total` operations by `concurrency` workers: worker w drives node w mod 3 and owns the keys
 * congruent to it (as the kv bench's clients do), slot j % (keys / concurrency) of them in turn. `op` is one
 * operation on a key; false counts as failed. CPU µs per operation of this process (all three cores).
 */
async function closedLoop(
  nodes: DynamoNode[], prefix: string, total: number, keys: number, concurrency: number,
  op: (node: DynamoNode, key: string) => Promise<boolean>,
): Promise<{ cpuUsPerOp: number; wallS: number; failed: number }> {
  let issued = 0;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const slots = Math.max(1, Math.floor(keys / concurrency));
  const worker = async (w: number): Promise<void> => {
    for (let j = 0; issued < total; j++) {
      issued++;
      if (!(await op(nodes[w % nodes.length]!, `${prefix}${(j % slots) * concurrency + w}`))) failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const cpu = process.cpuUsage(cpu0);
  return { cpuUsPerOp: (cpu.user + cpu.system) / total, wallS: (performance.now() - t0) / 1000, failed };
}

/** One put phase: `puts` writes over `keys` keys; with `withContext` each carries its key's last context. */
async function phase(nodes: DynamoNode[], prefix: string, puts: number, keys: number, concurrency: number, withContext: boolean, valueBytes: number): Promise<{ cpuUsPerPut: number; wallS: number; failed: number }> {
  const value = new Uint8Array(valueBytes);
  for (let i = 0; i < valueBytes; i++) value[i] = (i * 31 + 7) & 0xff;
  // A key's context is that of its previous write, signed by the node it goes back to (its worker's). Each
  // phase has keys of its own, and as many puts per key as the kv bench's phases make (blind writes pile up
  // siblings).
  const contexts = new Map<string, string>();
  const r = await closedLoop(nodes, prefix, puts, keys, concurrency, async (node, key) => {
    const res = await node.put(key, value, withContext ? contexts.get(key) : undefined);
    if (res.ok) contexts.set(key, res.context);
    return res.ok;
  });
  return { cpuUsPerPut: r.cpuUsPerOp, wallS: r.wallS, failed: r.failed };
}

async function readPhase(nodes: DynamoNode[], prefix: string, gets: number, keys: number, concurrency: number): Promise<{ cpuUsPerGet: number; wallS: number; failed: number }> {
  const r = await closedLoop(nodes, prefix, gets, keys, concurrency, async (node, key) => (await node.get(key)).ok);
  return { cpuUsPerGet: r.cpuUsPerOp, wallS: r.wallS, failed: r.failed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [putsArg = '5000', keysArg = '1000', concArg = '16', mode = 'both', bytesArg = '1024'] = process.argv.slice(2);
  const puts = Number(putsArg);
  const keys = Number(keysArg);
  const nodes = await cluster();
  const modes = mode === 'both' ? [false, true] : [mode === 'ctx'];
  // A warm-up phase first (JIT, caches), not reported.
  await phase(nodes, 'warm-', Math.min(2000, puts), keys, Number(concArg), false, Number(bytesArg));
  for (const withContext of modes) {
    const r = await phase(nodes, withContext ? 'ctx-' : 'blind-', puts, keys, Number(concArg), withContext, Number(bytesArg));
    console.log(JSON.stringify({ mode: withContext ? 'ctx' : 'blind', puts, keys, concurrency: Number(concArg), cpuUsPerPut: Math.round(r.cpuUsPerPut), putsPerS: Math.round(puts / r.wallS), failed: r.failed }));
  }
  // Reads of the keys the last phase wrote, the same closed loop: the GET path's CPU per read.
  const gets = await readPhase(nodes, modes.length > 0 && modes[modes.length - 1] ? 'ctx-' : 'blind-', puts, keys, Number(concArg));
  console.log(JSON.stringify({ mode: 'get', gets: puts, cpuUsPerGet: Math.round(gets.cpuUsPerGet), getsPerS: Math.round(puts / gets.wallS), failed: gets.failed }));
  for (const n of nodes) n.stop();
}
