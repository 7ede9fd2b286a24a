// The node process: configuration from QL_* variables, LevelDB storage, the TCP peer transport, the
// HTTP API, and the sans-IO core wired between them. Run directly (`node --import tsx node/main.ts`)
// it starts a node and treats SIGTERM/SIGINT as a clean stop; `quorumlab node` calls `nodeMain`.
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoreEnv, PeerMessage } from './core/env.js';
import { DynamoNode } from './core/node.js';
import { ConfigError, configFromEnv, describeConfig } from './config-env.js';
import { startHttpApi, type HttpApi } from './http-api.js';
import { JsonLogger } from './logger.js';
import { LoopDelayMonitor } from './loop-delay.js';
import { PeerTransport } from './peer-transport.js';
import { RealClock, RealRandom, RealTimers } from './real-env.js';
import { LevelStorage } from './storage-level.js';

export interface RunningNode {
  readonly id: string;
  readonly httpPort: number;
  readonly peerPort: number;
  /** Closes HTTP, stops the core, closes the transport, then closes LevelDB. Idempotent. */
  stop(): Promise<void>;
}

export interface RunNodeOptions {
  /** Print one line and exit 2 on a configuration error instead of throwing (default true). */
  readonly exitOnConfigError?: boolean;
  /** Where log lines go (default stdout). */
  readonly write?: (line: string) => void;
  /**
   * Make SIGTERM/SIGINT a clean stop followed by exit 0, and log stray rejections instead of dying.
   * Default: on when `env` is the process's own environment (the node is this process, as with
   * `quorumlab node`), off when a caller passes its own env object (tests, embedding).
   */
  readonly handleSignals?: boolean;
}

/** Starts a node from QL_* variables; resolves once /admin/status would answer 200. */
export async function runNode(env: Record<string, string | undefined> = process.env, options: RunNodeOptions = {}): Promise<RunningNode> {
  let config;
  try {
    config = configFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError && options.exitOnConfigError !== false) {
      process.stderr.write(`quorumlab node: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = new JsonLogger({ node: config.core.id, minLevel: config.logLevel, ...(options.write ? { write: options.write } : {}) });
  logger.log('info', 'node-config', { config: describeConfig(config) });
  if (config.insecure) {
    logger.log('warn', 'node-insecure', { message: 'QL_INSECURE=1: started without QL_SECRET; peers are not authenticated, and client contexts are signed with a random secret of this process, so a context read from one node is refused by every other' });
  }

  mkdirSync(config.dataDir, { recursive: true });
  const storage = new LevelStorage(join(config.dataDir, 'leveldb'));
  await storage.open();

  const clock = new RealClock();
  const timers = new RealTimers();
  const random = new RealRandom();
  const transport = new PeerTransport({
    id: config.core.id,
    listen: config.core.peerAddr,
    seeds: config.core.seeds,
    logger,
    random,
    maxDelayMs: config.peerMaxDelayMs,
    ...(config.secret === undefined ? {} : { secret: config.secret }),
  });
  const coreEnv: CoreEnv = { clock, timers, random, transport, storage, logger };
  const core = new DynamoNode(config.core, coreEnv);
  // The peer port opens before the core has loaded its state, so that peers answering the core's first
  // gossip find it listening (a refused dial would put them in reconnect backoff). Messages that arrive
  // in that window wait, bounded, and are handed over once the core has started.
  let coreStarted = false;
  const early: [string, PeerMessage][] = [];
  transport.onMessage((from, message) => {
    if (coreStarted) core.receive(from, message);
    else if (early.length < 10_000) early.push([from, message]);
  });

  let http: HttpApi | undefined;
  let loopDelay: LoopDelayMonitor | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await http?.close().catch(() => {});
      loopDelay?.stop();
      try {
        core.stop();
      } catch (error) {
        logger.log('error', 'core-stop-failed', { error });
      }
      timers.clearAll();
      await transport.close().catch(() => {});
      await storage.close().catch((error: unknown) => logger.log('error', 'storage-close-failed', { error }));
      logger.log('info', 'node-stopped', {});
    })();
    return stopped;
  };

  try {
    // Clients are let in only once the core has loaded its durable state and can serve them.
    await transport.listen();
    await core.start();
    coreStarted = true;
    for (const [from, message] of early.splice(0)) core.receive(from, message);
    loopDelay = new LoopDelayMonitor();
    const monitor = loopDelay;
    http = await startHttpApi(config.httpAddr, {
      core,
      logger,
      requestTimeoutMs: config.core.requestTimeoutMs,
      replicationFactor: config.core.n,
      extraStatus: () => ({ transport: { ...transport.stats }, configuredVnodes: config.vnodes, ignored: config.ignored, storage: storage.getStats(), eventLoop: monitor.summary(), process: processStats() }),
    });
  } catch (error) {
    logger.log('error', 'node-start-failed', { error });
    await stop();
    throw error;
  }
  logger.log('info', 'node-ready', { http: config.httpAddr, peer: config.core.peerAddr, httpPort: http.port, peerPort: transport.port() });
  if (options.handleSignals ?? env === process.env) installProcessHandlers(stop, logger);
  return { id: config.core.id, httpPort: http.port, peerPort: transport.port(), stop };
}

/**
 * The process's CPU time so far (user and system, µs): a bench divides its growth over a phase by the ops
 * served, which measures the node's cost per request even when other work on the machine slows the clock.
 */
function processStats(): { pid: number; cpuUserUs: number; cpuSystemUs: number; rssBytes: number } {
  const cpu = process.cpuUsage();
  return { pid: process.pid, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, rssBytes: process.memoryUsage.rss() };
}

/**
 * SIGTERM/SIGINT stop the node cleanly and exit 0; a second signal, or a stop that takes too long,
 * exits 1 at once. A stray rejection in a background task is logged, not fatal: the node keeps serving.
 */
function installProcessHandlers(stop: () => Promise<void>, logger: JsonLogger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.log('info', 'node-stopping', { signal });
    const guard = setTimeout(() => process.exit(1), 10_000);
    guard.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (reason) => logger.log('error', 'unhandled-rejection', { error: reason instanceof Error ? reason : String(reason) }));
}

/**
 * The process entry point: starts the node with signal handling (see runNode). Exit 2 on bad
 * configuration, 1 on a failed start (a port in use, a locked data directory).
 */
export async function nodeMain(env: Record<string, string | undefined> = process.env): Promise<void> {
  try {
    await runNode(env, { handleSignals: true });
  } catch (error) {
    process.stderr.write(`quorumlab node: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
}

/** True when this module is the program being run, not imported (so `quorumlab node` does not auto-start). */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(fileURLToPath(metaUrl)) === realpathSync(entry);
  } catch {
    return false;
  }
}

if (isMain(import.meta.url)) {
  void nodeMain();
}
