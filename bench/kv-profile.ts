// A short kv load on a fresh 3-node local cluster (the kv bench's setup: N=3 R=2 W=2, sloppy, vclock, 1 KiB
// values, the bench's own addresses), for profiling and for A/B pairs of the node shell: it prints, per
// phase, throughput, latency quantiles, the nodes' CPU ms per op and the bench client's own CPU ms per op
// (the client shares the machine's cores with the servers, so what it costs is part of any comparison).
// With QL_PROF_DIR set every node runs under --cpu-prof and writes its profile there when it stops; with
// QL_PERF_OUT=/path, `perf record -g` samples the nodes through each phase (JIT names from --perf-basic-prof);
// QL_NODE_FLAGS adds flags to the nodes' node command line (A/B of V8 settings), QL_NODE_ENV variables to
// their environment ("UV_THREADPOOL_SIZE=2"); QL_KEEP_RUN keeps the nodes' logs.
// --rate=N paces every phase to at most N requests per second in all (bench/load-loop.ts), so two
// variants compared on a loaded machine do the same work per second and their CPU per op compares.
// Two variants can also run side by side, in the same seconds and so under the same machine load: one on
// the bench's addresses, the other with --host-base=250 (127.0.0.251-253, ports 18250/17250), both with the
// same --start-at=EPOCH_MS (the first phase starts then, whenever each cluster got ready) and --rate.
//   npx tsx bench/kv-profile.ts [--phases=ctx16,blind16,get16] [--ms=8000] [--warmup=10] [--rate=N] [--host-base=140] [--start-at=MS] [--etcd]
// Wrap it in `flock /tmp/kvbench.lock` like the kv bench: it uses the same addresses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runLoad } from './load-loop.js';
import { cpuSecondsOf } from './proc-cpu.js';
import { kvBenchNodes } from './quorumlab-kv.js';
import { etcdGet, etcdPut, startEtcd } from './etcd.js';

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const phases = (arg('phases') ?? 'ctx16,blind16,get16').split(',');
const ms = Number(arg('ms') ?? 8000);
const warmupMs = Number(arg('warmup') ?? 10) * 1000;
const useEtcd = process.argv.includes('--etcd');
const rate = arg('rate') === undefined ? undefined : Number(arg('rate'));
const value = Buffer.alloc(1024, 'q');
const keySpace = 1000;

function benchKey(prefix: string, i: number, worker: number, concurrency: number): string {
  const slots = Math.max(1, Math.floor(keySpace / concurrency));
  return `${prefix}-${worker + concurrency * (Math.floor(i / concurrency) % slots)}`;
}

interface Sys {
  pids: number[];
  /** Summed over the nodes: storage batches, writes, transport frames and messages (quorumlab only). */
  counters?(): Promise<Record<string, number>>;
  /** Mean siblings and mean JSON bytes of the given keys' values as a GET answers them (quorumlab only). */
  siblings?(keys: readonly string[]): Promise<{ siblings: number; bytes: number }>;
  put(key: string, w: number, mode: 'ctx' | 'blind'): Promise<void>;
  get(key: string, w: number): Promise<void>;
  stop(): Promise<void>;
}

async function quorumlab(maxConcurrency: number): Promise<Sys> {
  const { LocalRuntime } = await import('../harness/runtime/local.js');
  const runDir = mkdtempSync(join(tmpdir(), 'ql-kvprof-'));
  const hostBase = Number(arg('host-base') ?? 140);
  const runtime = new LocalRuntime({ log: () => undefined, hostBase, httpPort: 18000 + hostBase, peerPort: 17000 + hostBase, faketime: false });
  const profDir = process.env['QL_PROF_DIR'];
  const flags = [...(profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`]), ...(process.env['QL_PERF_OUT'] === undefined ? [] : ['--perf-basic-prof-only-functions']), ...(process.env['QL_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '')];
  // QL_NODE_ENV ("NAME=value NAME2=value") sets environment variables of the node processes (A/B of libuv settings).
  const nodeEnv = (process.env['QL_NODE_ENV'] ?? '').split(' ').filter((f) => /^[A-Z_][A-Z0-9_]*=[^'\s]*$/.test(f));
  const nodeCmd = flags.length === 0 && nodeEnv.length === 0 ? undefined : `exec ${nodeEnv.length === 0 ? '' : `env ${nodeEnv.join(' ')} `}${process.execPath} ${flags.join(' ')} --import tsx node/main.ts`;
  await runtime.setup({ nodes: 3, n: 3, r: 2, w: 2, sloppy: true, conflicts: 'vclock', vnodes: 64, seed: 1, runDir, ...(nodeCmd === undefined ? {} : { nodeCmd }) });
  const { admin, pids, clients } = await kvBenchNodes(runtime, maxConcurrency);
  const contexts = new Map<string, string>();
  return {
    pids,
    async put(key, w, mode) {
      const ctx = await clients[w % clients.length]!.put(key, value, mode === 'ctx' ? contexts.get(key) : undefined);
      if (mode === 'ctx' && ctx !== undefined) contexts.set(key, ctx);
    },
    get: (key, w) => clients[w % clients.length]!.get(key),
    async siblings(keys) {
      let siblings = 0;
      let bytes = 0;
      const base = (admin[0] as unknown as { baseUrl: string }).baseUrl;
      for (const key of keys) {
        const res = await fetch(`${base}/kv/${encodeURIComponent(key)}`, { headers: { Accept: 'application/json' } });
        const text = await res.text();
        bytes += text.length;
        siblings += (JSON.parse(text) as { siblings: unknown[] }).siblings.length;
      }
      return { siblings: siblings / keys.length, bytes: bytes / keys.length };
    },
    async counters() {
      const out: Record<string, number> = { syncBatches: 0, writes: 0, syncMs: 0, framesSent: 0, sent: 0, loopP99: 0, loopMax: 0 };
      for (const c of admin) {
        const s = await c.adminStatus();
        if (s.type !== 'ok') continue;
        const v = s.value as { storage?: Record<string, number>; transport?: Record<string, number>; eventLoop?: { last?: { p99Ms: number; maxMs: number }; current: { p99Ms: number; maxMs: number } } };
        // The worst node's event-loop delay in its last complete 5 s window (node/loop-delay.ts).
        out['loopP99'] = Math.max(out['loopP99']!, (v.eventLoop?.last ?? v.eventLoop?.current)?.p99Ms ?? 0);
        out['loopMax'] = Math.max(out['loopMax']!, (v.eventLoop?.last ?? v.eventLoop?.current)?.maxMs ?? 0);
        for (const k of ['syncBatches', 'writes', 'syncMs']) out[k]! += v.storage?.[k] ?? 0;
        for (const k of ['framesSent', 'sent']) out[k]! += v.transport?.[k] ?? 0;
      }
      return out;
    },
    async stop() {
      for (const c of clients) c.close();
      if (profDir !== undefined) {
        // --cpu-prof writes the profile on a clean exit; teardown's SIGKILL would lose it.
        for (const pid of pids) process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && pids.some((pid) => cpuSecondsOf([pid]) !== undefined)) await new Promise((r) => setTimeout(r, 100));
      }
      await runtime.teardown();
      // QL_KEEP_RUN keeps the nodes' logs (for --trace-deopt and the like through QL_NODE_FLAGS).
      if (process.env['QL_KEEP_RUN'] === undefined) rmSync(runDir, { recursive: true, force: true });
      else console.log(`node logs kept in ${runDir}`);
    },
  };
}

async function etcd(): Promise<Sys> {
  const cluster = await startEtcd();
  const text = value.toString('latin1');
  return {
    pids: cluster.pids,
    put: (key, w) => etcdPut(cluster.endpoints[w % 3]!, key, text),
    get: (key, w) => etcdGet(cluster.endpoints[w % 3]!, key),
    stop: () => cluster.stop(),
  };
}

const parsed = phases.map((p) => {
  const m = /^(ctx|blind|get|idle)(\d+)$/.exec(p);
  if (m === null) throw new Error(`bad phase ${p}: ctx16, blind64, get16, idle0 (no load: the servers' background CPU), …`);
  return { kind: m[1] as 'ctx' | 'blind' | 'get' | 'idle', c: Math.max(1, Number(m[2])) };
});
const max = Math.max(...parsed.map((p) => p.c));
const sys = useEtcd ? await etcd() : await quorumlab(max);
try {
  const startAt = arg('start-at');
  if (startAt !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
  if (warmupMs > 0) {
    await runLoad({ concurrency: max, durationMs: warmupMs / 2, maxOps: 5_000_000, request: (i, w) => sys.put(benchKey('bench-warm', i, w, max), w, 'ctx') });
    await runLoad({ concurrency: max, durationMs: warmupMs / 2, maxOps: 5_000_000, request: (i, w) => sys.get(benchKey('bench-warm', i, w, max), w) });
  }
  for (const { kind, c } of parsed) {
    // With QL_PERF_OUT, perf samples the server processes (all threads, kernel included) through each phase.
    const perfOut = process.env['QL_PERF_OUT'];
    const perf = perfOut === undefined ? undefined : spawn('perf', ['record', '-F', '499', '-g', '-o', `${perfOut}.${kind}${c}`, '-p', sys.pids.join(','), '--', 'sleep', String(ms / 1000)], { stdio: 'ignore' });
    // With QL_COUNT_FSYNC, perf counts the servers' fdatasync calls and context switches: LevelDB merges batches waiting on its
    // writer queue into one, so the real fsyncs can be fewer than the batches the storage layer issued.
    let counted: Promise<Record<string, number>> | undefined;
    if (process.env['QL_COUNT_FSYNC'] !== undefined) {
      const stat = spawn('perf', ['stat', '-x', ',', '-e', 'syscalls:sys_enter_fdatasync,context-switches', '-p', sys.pids.join(','), '--', 'sleep', String(ms / 1000)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let text = '';
      stat.stderr.on('data', (b: Buffer) => (text += b.toString()));
      counted = new Promise((r) =>
        stat.once('exit', () => {
          const out: Record<string, number> = {};
          for (const line of text.trim().split('\n')) {
            const f = line.split(',');
            if (f.length > 2) out[f[2]!.includes('fdatasync') ? 'fdatasync' : f[2]!] = Number(f[0]);
          }
          r(out);
        }),
      );
    }
    const k0 = await sys.counters?.();
    const s0 = cpuSecondsOf(sys.pids) ?? NaN;
    const u0 = process.cpuUsage();
    const prefix = kind === 'blind' ? `bench-blind-c${c}` : 'bench';
    // With QL_CS_THREADS, perf counts context switches per thread through the phase (which threads wake).
    const csOut = process.env['QL_CS_THREADS'];
    const cs = csOut === undefined ? undefined : spawn('perf', ['stat', '--per-thread', '-x', ',', '-o', `${csOut}.${kind}${c}`, '-e', 'context-switches', '-p', sys.pids.join(','), '--', 'sleep', String(ms / 1000)], { stdio: 'ignore' });
    if (kind === 'idle') {
      await new Promise((r) => setTimeout(r, ms));
      const s1 = cpuSecondsOf(sys.pids) ?? NaN;
      console.log(`${useEtcd ? 'etcd' : 'quorumlab'} idle: server CPU ${((s1 - s0) * 1000 / (ms / 1000)).toFixed(1)} ms per second (all members together)`);
      continue;
    }
    const r = await runLoad({
      concurrency: c, durationMs: ms, maxOps: 5_000_000, ...(rate === undefined ? {} : { ratePerS: rate }),
      request: (i, w) => (kind === 'get' ? sys.get(benchKey(prefix, i, w, c), w) : sys.put(benchKey(prefix, i, w, c), w, kind)),
    });
    const u = process.cpuUsage(u0);
    if (perf !== undefined) await new Promise((r) => perf.once('exit', r));
    if (cs !== undefined) await new Promise((r) => cs.once('exit', r));
    const counts = counted === undefined ? undefined : await counted;
    const k1 = await sys.counters?.();
    const d = (k: string): number => (k1?.[k] ?? 0) - (k0?.[k] ?? 0);
    const counted2 = counts === undefined ? '' : Object.entries(counts).map(([k, n]) => `, ${k}/op ${(n / r.ops).toFixed(2)}`).join('');
    const extra = k1 === undefined ? counted2 : `, writes/batch ${(d('writes') / d('syncBatches')).toFixed(1)}, fsync ${(d('syncMs') / d('syncBatches')).toFixed(1)} ms, batches/op ${(d('syncBatches') / r.ops).toFixed(2)}, msgs/frame ${(d('sent') / d('framesSent')).toFixed(1)}, loop delay p99/max ${k1['loopP99']}/${k1['loopMax']} ms${counted2}`;
    const s1 = cpuSecondsOf(sys.pids) ?? NaN;
    const f = (x: number, d = 2): string => x.toFixed(d);
    if (kind === 'blind' && sys.siblings !== undefined) {
      const sample = Array.from({ length: 20 }, (_, j) => benchKey(prefix, j * 37, (j * 37) % c, c));
      const sib = await sys.siblings(sample);
      console.log(`  after the blind phase: ${sib.siblings.toFixed(1)} siblings per key, ${(sib.bytes / 1024).toFixed(1)} KiB per JSON GET answer (20 keys sampled)`);
    }
    console.log(
      `${useEtcd ? 'etcd' : 'quorumlab'} ${kind} c${c}: ${f(r.opsPerS, 0)} ops/s, p50/p99/p99.9 ${f(r.p50Ms, 1)}/${f(r.p99Ms, 1)}/${f(r.p999Ms, 1)} ms, ` +
        `server CPU ${f(((s1 - s0) * 1000) / r.ops, 3)} ms/op, client CPU ${f((u.user + u.system) / 1000 / r.ops, 3)} ms/op, errors ${r.errors}${extra}`,
    );
  }
} finally {
  await sys.stop();
}
