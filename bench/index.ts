// `npm run bench`: quorumlab measured side by side with what users would pick instead, in one run on one
// machine (absolute times here are noisy; ratios within a run are what to read). Every section is bounded
// in time and stops itself; a section that cannot run says why instead of aborting the others.
// Writes bench/results.json and prints a table.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runLoad, type LoadResult } from './load-loop.js';
import { etcdAvailable, etcdGet, etcdPut, startEtcd } from './etcd.js';
import { RespConnection, redisAvailable, startRedis } from './redis.js';
import { cpuSecondsOf } from './proc-cpu.js';
import { restartWithSimFlags } from '../bin/sim-flags.js';
import type { Runtime } from '../harness/runtime/runtime.js';

// The bench runs in a node with the simulation V8 flags (bin/sim-flags.js), so that its simulation rows time
// the simulator as the CLI, campaign workers and tests run it; the servers it measures are processes of
// their own, and the load clients of every system share this process and its settings.
const restarted = await restartWithSimFlags(process.argv, true);
if (restarted !== undefined) process.exit(restarted);
const quick = process.argv.includes('--quick');
const loadMs = quick ? 2_000 : 5_000;
/** The longer variant, so the tail includes background work (anti-entropy rounds, hint scans, GC). */
const longMs = 30_000;
/**
 * Unmeasured load on every system before the first phase (half puts, half gets). A fresh Node process
 * spends seconds of CPU in V8's optimising compiler while its hot paths warm up: perf on the three nodes
 * under PUT load put 27 % of their CPU there 2-8 s after start, 11-17 % at 20-28 s, 2 % at 48-56 s, and
 * the server CPU per PUT fell from 1.5 to 1.0 ms meanwhile. etcd, compiled ahead of time, needs little;
 * each system gets the same warm-up all the same. Steady state is what a deployed system runs in.
 */
const warmupArg = process.argv.find((a) => a.startsWith('--warmup='))?.slice('--warmup='.length);
const warmupMs = warmupArg === undefined ? (quick ? 5_000 : 30_000) : Number(warmupArg) * 1000;
if (!Number.isFinite(warmupMs) || warmupMs < 0 || warmupMs > 600_000) {
  console.error(`bench: --warmup takes seconds from 0 to 600, got "${warmupArg}"`);
  process.exit(2);
}
const concurrencyArg = process.argv.find((a) => a.startsWith('--concurrency='))?.slice('--concurrency='.length);
const concurrencies = (concurrencyArg ?? '16,64').split(',').map(Number);
if (concurrencies.some((c) => !Number.isInteger(c) || c < 1 || c > 1024)) {
  console.error(`bench: --concurrency takes comma-separated integers from 1 to 1024, got "${concurrencyArg}"`);
  process.exit(2);
}
/** The machine's load average (1, 5, 15 min) as the run starts; the table states it, and again at the end. */
const loadAverageNow = (): string => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
};
const loadAtStart = loadAverageNow();
const valueBytes = 1024;
const keySpace = 1000;

/**
 * The key a request uses. Each worker owns the keys congruent to its number modulo the concurrency, so no
 * two requests write one key at the same time. That matters for quorumlab's context-carrying writers: two
 * concurrent writes of a key are siblings (correctly), the context of only one of them travels on, and the
 * other would stay as a sibling of every later write, so the stored states, and with them the cost of every
 * request, would grow through the run. `prefix` keeps each kind of write on its own keys (see benchKv).
 */
function benchKey(prefix: string, i: number, worker: number, concurrency: number): string {
  const slots = Math.max(1, Math.floor(keySpace / concurrency));
  return `${prefix}-${(i % slots) * concurrency + worker}`;
}

interface Row {
  readonly section: string;
  readonly system: string;
  readonly metric: string;
  readonly value: number | string;
  readonly unit: string;
  readonly note?: string;
}

const rows: Row[] = [];
const loads: Record<string, LoadResult> = {};
/** Server CPU milliseconds per operation of each phase (all the system's processes, user + system). */
const cpuPerOp: Record<string, number> = {};
/** The bench process's own CPU milliseconds per operation of each phase: the client shares the cores with the servers. */
const clientCpuPerOp: Record<string, number> = {};

/** The durability each system runs with, stated in the table (the issue's rule: the same for all, or said). */
const durability: Record<string, string> = {
  quorumlab: 'fsync (synchronous LevelDB batch, group commit) on W=2 of N=3 replicas before the ack',
  etcd: 'WAL fsync on a quorum (2 of 3 members) before the commit (etcd default)',
  'redis-aof': 'one server, no replication; AOF with appendfsync always (fsync before each reply)',
  redis: 'one server, no replication, no persistence (the in-memory ceiling)',
};

function addLoad(system: string, op: string, r: LoadResult, note?: string, cpuMsPerOp?: number): void {
  loads[`${system}.${op}`] = r;
  if (cpuMsPerOp !== undefined) cpuPerOp[`${system}.${op}`] = cpuMsPerOp;
  const kinds = Object.entries(r.errorKinds).map(([k, n]) => `${n}× ${k}`).join(', ');
  const errors = r.errors > 0 ? `${r.errors} errors (${kinds})` : undefined;
  rows.push({ section: 'kv', system, metric: `${op} throughput`, value: round(r.opsPerS), unit: 'ops/s', note: [errors, note].filter(Boolean).join('; ') || undefined });
  rows.push({ section: 'kv', system, metric: `${op} p50/p99/p99.9`, value: `${round(r.p50Ms, 2)} / ${round(r.p99Ms, 2)} / ${round(r.p999Ms, 2)}`, unit: 'ms' });
  if (cpuMsPerOp !== undefined) rows.push({ section: 'kv', system, metric: `${op} server CPU per op`, value: round(cpuMsPerOp, 3), unit: 'ms', note: 'user + system CPU of all its server processes / ops' });
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function skip(section: string, system: string, why: string): void {
  rows.push({ section, system, metric: 'skipped', value: '-', unit: '', note: why });
  console.log(`[bench] ${section}/${system}: skipped: ${why}`);
}

const value = Buffer.alloc(valueBytes, 'q');

/** The worst node's event-loop delay in its last complete status window (node/loop-delay.ts). */
async function loopDelayNote(clients: readonly { adminStatus(): Promise<{ type: string; value?: unknown }> }[]): Promise<string | undefined> {
  let p99 = 0;
  let max = 0;
  for (const c of clients) {
    const s = await c.adminStatus();
    const loop = s.type === 'ok' ? ((s.value as Record<string, unknown>)['eventLoop'] as { last?: { p99Ms: number; maxMs: number }; current: { p99Ms: number; maxMs: number } } | undefined) : undefined;
    const w = loop?.last ?? loop?.current;
    if (w === undefined) return undefined;
    p99 = Math.max(p99, w.p99Ms);
    max = Math.max(max, w.maxMs);
  }
  return `event-loop delay p99 ${p99} ms, max ${max} ms (worst node, last 5 s window)`;
}

/** One system under test, started and ready: what the shared closed loop calls for a put and a get. */
interface KvSystem {
  readonly name: string;
  /** The server processes, whose CPU time per operation is reported beside the throughput. */
  readonly pids: readonly number[];
  /** Put modes this system has: quorumlab writes blind and with the previous write's context. */
  readonly putModes: readonly ('blind' | 'with context' | undefined)[];
  put(key: string, worker: number, mode: 'blind' | 'with context' | undefined): Promise<void>;
  get(key: string, worker: number): Promise<void>;
  /** A note for a phase's row (quorumlab: its nodes' event-loop delay). */
  note?(): Promise<string | undefined>;
  /** After a blind phase: the mean siblings per key of a sample of its keys (what the blind writes grew). */
  siblings?(keys: readonly string[]): Promise<number>;
  stop(): Promise<void>;
}

async function startQuorumlab(maxConcurrency: number): Promise<KvSystem> {
  const { LocalRuntime } = await import('../harness/runtime/local.js');
  const { kvBenchNodes } = await import('./quorumlab-kv.js');
  const runDir = mkdtempSync(join(tmpdir(), 'ql-bench-node-'));
  // Addresses and ports of the bench's own (tests running meanwhile use theirs), and no libfaketime: the
  // clock fault's preload is a harness tool, not part of the node as deployed.
  const runtime: Runtime = new LocalRuntime({ log: () => undefined, hostBase: 140, httpPort: 18140, peerPort: 17140, faketime: false });
  const stop = async (): Promise<void> => {
    await runtime.teardown();
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    await runtime.setup({ nodes: 3, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', vnodes: 64, seed: 1, runDir });
  } catch (error) {
    await stop();
    throw error;
  }
  const { admin, pids, clients } = await kvBenchNodes(runtime, maxConcurrency);
  // The context each key's last write answered with, for the context-carrying writers.
  const contexts = new Map<string, string>();
  return {
    name: 'quorumlab',
    pids,
    putModes: ['with context', 'blind'],
    async put(key, w, mode) {
      const ctx = await clients[w % clients.length]!.put(key, value, mode === 'with context' ? contexts.get(key) : undefined);
      if (mode === 'with context' && ctx !== undefined) contexts.set(key, ctx);
    },
    get: (key, w) => clients[w % clients.length]!.get(key),
    note: () => loopDelayNote(admin),
    async siblings(keys) {
      let total = 0;
      for (const key of keys) {
        const res = await fetch(`${(admin[0] as unknown as { baseUrl: string }).baseUrl}/kv/${encodeURIComponent(key)}`, { headers: { Accept: 'application/json' } });
        total += ((await res.json()) as { siblings?: unknown[] }).siblings?.length ?? 0;
      }
      return total / Math.max(1, keys.length);
    },
    async stop() {
      for (const c of clients) c.close();
      await stop();
    },
  };
}

async function startEtcdSystem(): Promise<KvSystem> {
  const cluster = await startEtcd();
  const text = value.toString('latin1');
  return {
    name: 'etcd',
    pids: cluster.pids,
    putModes: [undefined],
    put: (key, w) => etcdPut(cluster.endpoints[w % 3]!, key, text),
    get: (key, w) => etcdGet(cluster.endpoints[w % 3]!, key),
    stop: () => cluster.stop(),
  };
}

async function startRedisSystem(name: 'redis' | 'redis-aof', maxConcurrency: number): Promise<KvSystem> {
  const server = name === 'redis' ? await startRedis('127.0.0.74', 6390, 'none') : await startRedis('127.0.0.75', 6391, 'fsync-always');
  const conns = await Promise.all(Array.from({ length: maxConcurrency }, () => RespConnection.open(server.host, server.port)));
  return {
    name,
    pids: server.pid === undefined ? [] : [server.pid],
    putModes: [undefined],
    put: async (key, w) => void (await conns[w]!.command(['SET', key, value])),
    get: async (key, w) => void (await conns[w]!.command(['GET', key])),
    async stop() {
      for (const c of conns) c.close();
      await server.stop();
    },
  };
}

/**
 * Every system is started first and stays up; then each phase (operation, concurrency, duration) runs on
 * every system back to back. On a shared machine the load changes from minute to minute, so measuring
 * quorumlab's put and etcd's put seconds apart, rather than a whole section apart, is what keeps their ratio
 * meaningful. The idle systems cost little meanwhile (quorumlab's gossip and anti-entropy, etcd's heartbeats).
 */
/** The keys of a blind phase, its own (see benchKv). */
function blindPrefix(concurrency: number, suffix: string): string {
  return `bench-blind-c${concurrency}${suffix.trim().replace(/\s+/g, '')}`;
}

async function benchKv(): Promise<void> {
  const max = Math.max(...concurrencies);
  const systems: KvSystem[] = [];
  const starters: [string, () => string | undefined, () => Promise<KvSystem>][] = [
    ['quorumlab', () => undefined, () => startQuorumlab(max)],
    ['etcd', etcdAvailable, startEtcdSystem],
    ['redis-aof', redisAvailable, () => startRedisSystem('redis-aof', max)],
    ['redis', redisAvailable, () => startRedisSystem('redis', max)],
  ];
  try {
    for (const [name, available, start] of starters) {
      const why = available();
      if (why) {
        skip('kv', name, why);
        continue;
      }
      console.log(`[bench] ${name}: ${durability[name]}`);
      rows.push({ section: 'kv', system: name, metric: 'durability', value: '-', unit: '', note: durability[name] });
      try {
        systems.push(await start());
      } catch (error) {
        rows.push({ section: 'kv', system: name, metric: 'error', value: '-', unit: '', note: error instanceof Error ? error.message.split('\n')[0]! : String(error) });
      }
    }
    console.log(`[bench] kv: ${valueBytes} B values, ${keySpace} keys, concurrency ${concurrencies.join(' and ')}, ${loadMs / 1000} s phases${quick ? '' : `, and a ${longMs / 1000} s put at concurrency ${concurrencies[0]}`}`);
    const phase = async (sys: KvSystem, label: string, concurrency: number, durationMs: number, request: (i: number, w: number) => Promise<void>): Promise<void> => {
      const cpu0 = cpuSecondsOf(sys.pids);
      const client0 = process.cpuUsage();
      const r = await runLoad({ concurrency, durationMs, maxOps: 5_000_000, request });
      const client = process.cpuUsage(client0);
      const cpu1 = cpuSecondsOf(sys.pids);
      if (r.ops > 0) clientCpuPerOp[`${sys.name}.${label}`] = (client.user + client.system) / 1000 / r.ops;
      const cpuMsPerOp = cpu0 === undefined || cpu1 === undefined || sys.pids.length === 0 || r.ops === 0 ? undefined : ((cpu1 - cpu0) * 1000) / r.ops;
      const note = await sys.note?.();
      const blind = label.includes('blind') && sys.siblings !== undefined ? await sys.siblings(Array.from({ length: 20 }, (_, j) => benchKey(blindPrefix(concurrency, ''), j * 37, (j * 37) % concurrency, concurrency))) : undefined;
      addLoad(sys.name, label, r, [note, blind === undefined ? undefined : `${round(blind, 1)} siblings per key at the end (20 keys sampled): every blind write is concurrent with what is stored`].filter(Boolean).join('; ') || undefined, cpuMsPerOp);
    };
    if (warmupMs > 0) {
      console.log(`[bench] kv: ${warmupMs / 1000} s of unmeasured puts and gets on each system first (warm-up)`);
      for (const sys of systems) {
        const mode = sys.putModes[0];
        await runLoad({ concurrency: max, durationMs: warmupMs / 2, maxOps: 5_000_000, request: (i, w) => sys.put(benchKey('bench-warm', i, w, max), w, mode) });
        await runLoad({ concurrency: max, durationMs: warmupMs / 2, maxOps: 5_000_000, request: (i, w) => sys.get(benchKey('bench-warm', i, w, max), w) });
      }
    }
    const puts = async (concurrency: number, durationMs: number, suffix: string): Promise<void> => {
      for (const sys of systems) {
        for (const mode of sys.putModes) {
          if (suffix !== '' && mode === 'blind') continue;
          const label = `put${mode === undefined ? '' : ` ${mode}`} c${concurrency}${suffix}`;
          // Overwrites (etcd, Redis, quorumlab with the previous write's context) keep rewriting one key set,
          // which the gets then read. Blind writes in vclock mode are concurrent with everything stored, so
          // every one adds a sibling (Dynamo's semantics): each blind phase starts on keys of its own, and
          // its states grow only by its own writes (about ops/1000 siblings per key by its end).
          const prefix = mode === 'blind' ? blindPrefix(concurrency, suffix) : 'bench';
          await phase(sys, label, concurrency, durationMs, (i, w) => sys.put(benchKey(prefix, i, w, concurrency), w, mode));
        }
      }
    };
    for (const c of concurrencies) {
      await puts(c, loadMs, '');
      for (const sys of systems) await phase(sys, `get c${c}`, c, loadMs, (i, w) => sys.get(benchKey('bench', i, w, c), w));
    }
    if (!quick) await puts(concurrencies[0]!, longMs, ' 30 s');
  } finally {
    for (const sys of systems) await sys.stop().catch(() => undefined);
  }
}

async function benchCheckersSection(): Promise<void> {
  const ops = quick ? 200_000 : 1_000_000;
  console.log(`[bench] checkers on a generated ${ops}-op history`);
  const { benchCheckers } = await import('./checkers.js');
  for (const r of await benchCheckers(ops)) {
    rows.push({ section: 'checkers', system: r.name, metric: `${r.ops} ops`, value: round(r.seconds, 2), unit: 's', note: `${round(r.opsPerS)} ops/s` });
  }
  console.log(`[bench] quorumlab check end to end on the same histories as files (start-up, parse, checkers)`);
  const { benchCheckEndToEnd } = await import('./checkers.js');
  for (const r of benchCheckEndToEnd(ops)) {
    rows.push({
      section: 'checkers', system: `check ${r.name} (file)`, metric: `${r.ops} ops, ${r.megabytes} MB`, value: r.wallSeconds, unit: 's wall',
      note: `CPU ${r.cpuSeconds} s, peak RSS ${r.peakRssMiB} MiB`,
    });
  }
}

async function benchStorageSection(): Promise<void> {
  const durationMs = quick ? 1500 : 3000;
  console.log(`[bench] storage: LevelDB group commit, 1/16/128 concurrent writers of ${valueBytes} B, fsync per batch`);
  const { benchStorage } = await import('./storage.js');
  for (const r of await benchStorage([1, 16, 128], durationMs, valueBytes)) {
    rows.push({ section: 'storage', system: 'leveldb', metric: `${r.writers} writers: durable writes`, value: round(r.writesPerS), unit: 'writes/s', note: `${round(r.fsyncsPerS)} fsyncs/s, batch mean ${round(r.meanBatch, 1)} max ${r.maxBatch}, write to durable ack p50/p99/p99.9 ${r.p50Ms}/${r.p99Ms}/${r.p999Ms} ms, CPU ${r.cpuUsPerWrite} µs per write` });
  }
}

async function benchCampaignSection(): Promise<void> {
  console.log('[bench] campaign: `campaign --quick` on local processes, sampled (register and cart × strict and sloppy, partitions)');
  const { benchQuickCampaign } = await import('./campaign.js');
  const e = await benchQuickCampaign();
  const invalid = e.valid.filter((v) => v !== true).length;
  rows.push({ section: 'campaign', system: 'local', metric: 'campaign --quick, one run', value: round(e.meanRunSeconds, 1), unit: 's', note: `mean of ${e.sampledRuns} runs${invalid > 0 ? `, ${invalid} not valid` : ''}` });
  rows.push({ section: 'campaign', system: 'local', metric: `campaign --quick, ${e.sweepRuns} runs (estimated)`, value: round(e.estimatedSweepSeconds), unit: 's', note: `goal ≤ 300 s: ${e.estimatedSweepSeconds <= 300 ? 'met' : 'not met'}` });
}

async function benchSimulation(): Promise<void> {
  const { runTest } = await import('../harness/run.js');
  const store = mkdtempSync(join(tmpdir(), 'ql-bench-sim-'));
  try {
    const simulatedS = quick ? 30 : 120;
    console.log(`[bench] simulation: one ${simulatedS} s simulated cart run, 5 nodes, partitions+crashes+pauses+clock`);
    const t0 = performance.now();
    const base = { runtime: 'sim' as const, nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock' as const, workload: 'cart' as const, nemesis: ['partition', 'crash', 'pause', 'clock'] as const, concurrency: 10, rate: 100, quiet: true, skipReport: true, store };
    await runTest({ ...base, timeLimitS: simulatedS, seed: 1 });
    const wallS = (performance.now() - t0) / 1000;
    rows.push({ section: 'simulation', system: 'sim', metric: 'simulated s per wall s', value: round(simulatedS / wallS, 1), unit: '×', note: `${simulatedS} s in ${round(wallS, 2)} s` });
    // The issue-19 default cart run (5 nodes, 50 ops/s, partitions, crashes and pauses) over 60 s, and at
    // 500 ops/s; CPU seconds beside wall seconds, since wall time on a shared machine counts the others too.
    const { runClusterSim } = await import('./sim-cluster.js');
    for (const [seconds, rate] of quick ? [[30, 50]] : [[60, 50], [60, 500]]) {
      const r = await runClusterSim(5, 0, seconds as number, rate as number);
      rows.push({
        section: 'simulation', system: 'sim', metric: `default cart run, 5 nodes, ${rate} ops/s, ${seconds} s: simulated s per wall s`,
        value: round(r.ratio, 1), unit: '×', note: `${round(r.simulatedS, 1)} s in ${round(r.wallS, 2)} s wall, ${round(r.cpuS, 2)} s CPU (${round(r.simulatedS / r.cpuS, 1)}× per CPU s), ${r.ops} ops, valid ${String(r.valid)}; node core and checkers loaded before the clock`,
      });
    }
    // One cart grown by sequential adds (bench/cart-growth.ts): CPU per add at each cart size. A cost per
    // add that does not grow with the cart shows as about equal figures.
    const { runCartGrowth } = await import('./cart-growth.js');
    const adds = quick ? 1000 : 2000;
    const g = await runCartGrowth(adds);
    for (const [size, us] of Object.entries(g.usPerAdd)) {
      rows.push({ section: 'simulation', system: 'sim', metric: `cart add at ${size} live adds (one cart, 3 nodes)`, value: us, unit: 'µs CPU', note: size === String(adds) ? `first/last 10 %: ${g.firstTenthUs}/${g.lastTenthUs} µs; ${adds} adds in ${round(g.totalCpuS, 2)} s CPU, final read ${g.finalQty === adds ? 'has every add' : `has ${g.finalQty}`}` : '' });
    }
    const campaigns = quick ? 10 : 30;
    const t1 = performance.now();
    for (let seed = 1; seed <= campaigns; seed++) await runTest({ ...base, timeLimitS: 10, quiesceS: 2, seed });
    const perMin = campaigns / ((performance.now() - t1) / 60_000);
    rows.push({ section: 'simulation', system: 'sim', metric: 'campaigns per minute (10 s simulated each)', value: round(perMin), unit: '/min' });
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

/**
 * Simulation speed by cluster size (bench/sim-cluster.ts): Q = 1024, cart at 50 ops/s with partitions,
 * crashes and pauses. 100 nodes (about 12–20 CPU s for 30 s simulated since the ring and gossip work) run
 * in the full bench; --quick runs 20 nodes only, unless --sim-100 asks for the 100-node case too.
 */
async function benchSimClusterSection(): Promise<void> {
  const { runClusterSim } = await import('./sim-cluster.js');
  const cases: [nodes: number, seconds: number][] = quick
    ? [[20, 10], ...(process.argv.includes('--sim-100') ? [[100, 10] as [number, number]] : [])]
    : [[20, 30], [100, 30]];
  if (quick && !process.argv.includes('--sim-100')) skip('sim-cluster', '100 nodes', 'not in --quick; add --sim-100');
  for (const [nodes, seconds] of cases) {
    console.log(`[bench] sim-cluster: ${nodes} nodes, Q = 1024, ${seconds} s simulated`);
    const r = await runClusterSim(nodes, 1024, seconds, 50);
    rows.push({
      section: 'sim-cluster', system: 'sim', metric: `${nodes} nodes, Q=1024, ${seconds} s at 50 ops/s: simulated s per wall s`,
      value: round(r.ratio, 2), unit: '×', note: `${round(r.simulatedS, 1)} s in ${round(r.wallS, 1)} s wall, ${round(r.cpuS, 1)} s CPU, peak RSS ${Math.round(r.peakRssMiB)} MiB, valid ${String(r.valid)}`,
    });
  }
}

async function benchSimCampaignSection(): Promise<void> {
  // 120 runs (about 10 s on two idle cores): with 30, the run took 3 s, of which the worker's start (0.14 CPU s)
  // and its first three cold runs (about 1.4 CPU s) were half, so it measured start-up more than the
  // throughput of a campaign, whose runs are counted in hundreds (30 runs: 577/min; 120: 690–793/min).
  const runs = quick ? 8 : 120;
  console.log(`[bench] campaign-sim: ${runs} seeds × 10 s simulated (cart, 5 nodes, 4 fault kinds, 100 ops/s) with --jobs 1 and one worker per core`);
  const { benchSimCampaign, benchSimSetup, benchWarmRuns, benchWorkerStart } = await import('./campaign-sim.js');
  const start = await benchWorkerStart(quick ? 2 : 5);
  rows.push({ section: 'campaign-sim', system: 'sim', metric: 'campaign worker start, compiled copy', value: start.compiledCpuS === undefined ? '-' : round(start.compiledCpuS, 2), unit: 'CPU s',
    note: `through tsx: ${round(start.tsxCpuS, 2)} CPU s (modules loaded statically; bin/precompile.js)${start.compiledCpuS === undefined ? '; no compiled copy could be built' : ''}` });
  const setup = await benchSimSetup(quick ? 5 : 20);
  rows.push({ section: 'campaign-sim', system: 'sim', metric: '5-node simulated cluster set up', value: round(setup.setupMs, 1), unit: 'ms', note: `${round(setup.setupCpuMs, 1)} ms CPU; torn down in ${round(setup.teardownMs, 1)} ms` });
  // First, while this process has run no simulation yet: its first runs show the JIT warming up.
  const warmRuns = await benchWarmRuns(quick ? 6 : 20, 3);
  rows.push({ section: 'campaign-sim', system: 'sim', metric: `CPU per run, one process, warm (mean of runs 4–${3 + warmRuns.runs})`, value: round(warmRuns.warmCpuSPerRun, 3), unit: 'CPU s',
    note: `runs 1–3 (cold): ${warmRuns.firstCpuS.map((x) => round(x, 2)).join(', ')} CPU s; ${round(120 / warmRuns.warmCpuSPerRun)}/min on 2 idle cores when warm; goal ≥ 600 (≤ 0.2 CPU s)` });
  const figures = await benchSimCampaign(runs);
  for (const f of figures) {
    rows.push({ section: 'campaign-sim', system: 'sim', metric: `campaigns per minute (10 s simulated each), --jobs ${f.jobs}`, value: round(f.perMinute), unit: '/min',
      note: `${f.runs} runs in ${round(f.wallS, 1)} s, ${round(f.cpuSPerRun, 2)} CPU s per run (${round((60 * f.jobs) / f.cpuSPerRun)}/min if each job had an idle core)${f.notValid > 0 ? `, ${f.notValid} not valid` : ''}; goal ≥ 600` });
  }
  const [one, all] = [figures[0], figures[figures.length - 1]];
  if (one !== undefined && all !== undefined && all !== one) rows.push({ section: 'campaign-sim', system: 'sim', metric: `--jobs ${all.jobs} / --jobs 1`, value: round(all.perMinute / one.perMinute, 2), unit: '×' });
}

async function benchDocker(): Promise<void> {
  const { DockerRuntime, dockerAvailable } = (await import('../harness/runtime/docker.js')) as unknown as {
    DockerRuntime: new (options?: Record<string, unknown>) => Runtime;
    dockerAvailable: () => Promise<true | { unavailable: string }>;
  };
  const available = await dockerAvailable();
  if (available !== true) return skip('docker', 'docker', available.unavailable);
  const runDir = mkdtempSync(join(tmpdir(), 'ql-bench-docker-'));
  const runtime = new DockerRuntime({ log: () => undefined });
  try {
    // The first setup may build the image; measure a second cluster for the steady-state figure.
    const spec = { nodes: 5, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock' as const, vnodes: 64, seed: 1, runDir };
    const t0 = performance.now();
    await runtime.setup(spec);
    const firstS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await runtime.teardown();
    const teardownS = (performance.now() - t1) / 1000;
    const again = new DockerRuntime({ log: () => undefined });
    const t2 = performance.now();
    await again.setup(spec);
    const readyS = (performance.now() - t2) / 1000;
    await again.teardown();
    rows.push({ section: 'docker', system: 'docker', metric: '5-node cluster ready (image cached)', value: round(readyS, 2), unit: 's', note: `first run incl. image build ${round(firstS, 2)} s` });
    rows.push({ section: 'docker', system: 'docker', metric: '5-node cluster torn down', value: round(teardownS, 2), unit: 's' });
  } catch (error) {
    await runtime.teardown().catch(() => undefined);
    throw error;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** quorumlab against each other system, per operation and concurrency, throughput and p99.9 (one run). */
function ratios(): void {
  const variants = [...concurrencies.map((c) => `c${c}`), ...(quick ? [] : [`c${concurrencies[0]} 30 s`])];
  for (const other of ['etcd', 'redis-aof', 'redis']) {
    for (const v of variants) {
      const pairs: [string, string][] = [
        [`put blind ${v}`, `put ${v}`],
        [`put with context ${v}`, `put ${v}`],
        [`get ${v}`, `get ${v}`],
      ];
      for (const [mine, theirs] of pairs) {
        const a = loads[`quorumlab.${mine}`];
        const b = loads[`${other}.${theirs}`];
        if (!a || !b) continue;
        rows.push({ section: 'ratios', system: `quorumlab / ${other}`, metric: `${mine} throughput`, value: round(a.opsPerS / b.opsPerS, 2), unit: '×' });
        if (other === 'etcd') rows.push({ section: 'ratios', system: `quorumlab / ${other}`, metric: `${mine} p99.9`, value: round(a.p999Ms / b.p999Ms, 2), unit: '×', note: `${round(a.p999Ms, 1)} vs ${round(b.p999Ms, 1)} ms` });
        const ca = cpuPerOp[`quorumlab.${mine}`];
        const cb = cpuPerOp[`${other}.${theirs}`];
        if (other === 'etcd' && ca !== undefined && cb !== undefined && cb > 0) {
          rows.push({ section: 'ratios', system: `quorumlab / ${other}`, metric: `${mine} server CPU per op`, value: round(ca / cb, 2), unit: '×', note: `${round(ca, 3)} vs ${round(cb, 3)} ms` });
        }
      }
    }
  }
}

async function section(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    rows.push({ section: name, system: '-', metric: 'error', value: '-', unit: '', note: message });
    console.log(`[bench] ${name}: failed: ${message}`);
  }
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const want = (name: string): boolean => !only || only.includes(name);

if (want('kv')) {
  await section('kv', benchKv);
  ratios();
}
if (want('storage')) await section('storage', benchStorageSection);
if (want('checkers')) await section('checkers', benchCheckersSection);
if (want('simulation')) await section('simulation', benchSimulation);
if (want('sim-cluster')) await section('sim-cluster', benchSimClusterSection);
if (want('campaign')) await section('campaign', benchCampaignSection);
if (want('campaign-sim')) await section('campaign-sim', benchSimCampaignSection);
if (want('docker')) await section('docker', benchDocker);

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
// The command as a user would type it, so the README's table can say which run it is.
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
const loadAtEnd = loadAverageNow();
const result = { date: new Date().toISOString(), command, machine, loadAverage: { start: loadAtStart, end: loadAtEnd }, quick, rows, loads, cpuPerOp, clientCpuPerOp };
mkdirSync(new URL('.', import.meta.url).pathname, { recursive: true });
writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.log(`\nquorumlab bench — \`${command}\` — ${result.date} — ${machine} — load average ${loadAtStart} at the start, ${loadAtEnd} at the end${quick ? ' (quick)' : ''}\n`);
console.log('| section | system | metric | value | unit | note |\n|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.section} | ${r.system} | ${r.metric} | ${r.value} | ${r.unit} | ${r.note ?? ''} |`);
