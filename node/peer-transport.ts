// Inter-node transport over TCP on QL_PEER. Each node keeps at most one outgoing connection per peer,
// dialed lazily when there is something to send, and receives on the connections peers dial to it; so a
// message and its reply travel on two different connections, as two one-way links. That matches the
// core's model of the network: unreliable, unordered, fire-and-forget, with the core's own timeouts.
//
// A message is useful only while the protocol step that sent it is still waiting, so every frame carries
// its send time and a receiver drops frames that arrive more than `maxDelayMs` late: those that sat in a
// kernel buffer while iptables dropped the link's packets, or in our queue while the peer was unreachable.
// TCP would otherwise retransmit a whole partition's worth of writes the moment it heals, and real-process
// runs would then hide a node with no hinted handoff, read repair or anti-entropy, which the simulation
// (where a partition loses messages) does not. Monotonic clocks of two processes are not comparable, so
// lateness is measured per connection: the smallest (arrival - send) seen on it is the baseline, and a
// frame is late by how far it exceeds that baseline.
//
// Outgoing sockets bind to QL_PEER's host, so address-based firewall rules (iptables in the Docker
// runtime) cut exactly the links they name. With a shared secret every frame carries an HMAC, bound to its
// connection and position by a handshake (peer-session.ts); a stream that fails it is closed and logged as
// `peer-rejected` (rate-limited, peer-warnings.ts), so an outsider cannot join, gossip or write, and a
// recorded frame cannot be played again. The inbound side lives in peer-inbound.ts.
import net from 'node:net';
import type { Logger, NodeId, PeerMessage, Random, Transport } from './core/env.js';
import type { SeedPeer } from './core/config.js';
import { FrameError } from './frame.js';
import { parseHostPort } from './host-port.js';
import { acceptInbound, remoteOf, type InboundContext } from './peer-inbound.js';
import { dialPeer, writeLinkBatch, type Link, type OutboundContext } from './peer-outbound.js';
import { clusterKey, type LinkKey } from './peer-session.js';
import { RateLimitedWarnings } from './peer-warnings.js';

export type MessageHandler = (from: NodeId, message: PeerMessage) => void;

export interface PeerTransportOptions {
  readonly id: NodeId;
  /** This node's peer address "host:port": where it listens and the host outgoing sockets bind to. */
  readonly listen: string;
  readonly secret?: string;
  readonly seeds?: readonly SeedPeer[];
  readonly logger: Logger;
  readonly random: Random;
  /** Messages kept per peer while it is unreachable; the oldest are dropped first. */
  readonly maxQueue?: number;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  readonly connectTimeoutMs?: number;
  /** Liveness probe on an established link: a silent link (half-open after a partition) is redialed. */
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
  /** Bytes buffered in user space on a socket above which new messages are dropped (the peer is slow). */
  readonly maxBufferedBytes?: number;
  /** Frames arriving later than this after they were sent are dropped (counted as `stale`). */
  readonly maxDelayMs?: number;
}

export interface PeerTransportStats {
  sent: number;
  /** Data frames written on established links; sent / framesSent is how many messages a frame carried. */
  framesSent: number;
  received: number;
  dropped: number;
  rejected: number;
  connects: number;
  /** Frames dropped on arrival because they were more than maxDelayMs late. */
  stale: number;
  /** Connections closed because a frame was not signed for that connection and position (a replay). */
  replayed: number;
  /** Our own links closed because the peer's challenge failed our key (we do not share its secret). */
  authFailures: number;
  /** Warnings about rejected peers left out of the log by the rate limit. */
  warningsSuppressed: number;
}


export class PeerTransport implements Transport {
  private readonly id: NodeId;
  private readonly listenAddr: { host: string; port: number };
  /** The cluster key derived from QL_SECRET (never the secret itself), or undefined without one. */
  private readonly key: LinkKey;
  private readonly warnings: RateLimitedWarnings;
  private readonly logger: Logger;
  private readonly random: Random;
  private readonly maxQueue: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly connectTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly pingTimeoutMs: number;
  private readonly maxBufferedBytes: number;
  private readonly maxDelayMs: number;
  private readonly links = new Map<NodeId, Link>();
  private readonly incoming = new Set<net.Socket>();
  /** Links with messages in their outbox this event-loop turn (see flushSoon). */
  private pendingLinks: Link[] = [];
  private server: net.Server | undefined;
  private handler: MessageHandler = () => {};
  private closed = false;
  private readonly counters = { sent: 0, framesSent: 0, received: 0, dropped: 0, rejected: 0, connects: 0, stale: 0, replayed: 0, authFailures: 0 };
  /** What inbound connections use of this transport (peer-inbound.ts). */
  private readonly inbound: InboundContext;
  /** What our own outgoing connections use of it (peer-outbound.ts). */
  private readonly outbound: OutboundContext;

  constructor(options: PeerTransportOptions) {
    this.id = options.id;
    this.listenAddr = parseHostPort(options.listen, true);
    this.key = clusterKey(options.secret);
    this.logger = options.logger;
    this.warnings = new RateLimitedWarnings(options.logger);
    this.random = options.random;
    this.maxQueue = options.maxQueue ?? 1024;
    this.backoffBaseMs = options.backoffBaseMs ?? 50;
    this.backoffCapMs = options.backoffCapMs ?? 2000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    this.pingIntervalMs = options.pingIntervalMs ?? 1000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? 3500;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    for (const seed of options.seeds ?? []) this.learnPeer(seed.id, seed.addr);
    this.inbound = {
      id: this.id,
      key: this.key,
      maxDelayMs: this.maxDelayMs,
      logger: this.logger,
      stats: this.counters,
      knowsAddress: (peer) => Boolean(this.links.get(peer)?.addr),
      learnPeer: (peer, addr) => this.learnPeer(peer, addr),
      redialNow: (peer) => this.redialNow(peer),
      deliver: (from, message) => this.deliver(from, message),
      reject: (socket, error, peer) => this.reject(socket, error, peer),
    };
    this.outbound = {
      id: this.id,
      key: this.key,
      bindHost: this.listenAddr.host,
      listenString: () => this.listenString(),
      connectTimeoutMs: this.connectTimeoutMs,
      pingIntervalMs: this.pingIntervalMs,
      pingTimeoutMs: this.pingTimeoutMs,
      logger: this.logger,
      warnings: this.warnings,
      counters: this.counters,
      isClosed: () => this.closed,
      scheduleRetry: (link) => this.scheduleRetry(link),
      reject: (socket, error, peer) => this.reject(socket, error, peer),
    };
  }

  /** Counters for /admin/status. */
  get stats(): PeerTransportStats {
    return { ...this.counters, warningsSuppressed: this.warnings.suppressed };
  }

  /** Where valid messages from peers go (the core's receive). */
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  /** The peer addresses this transport knows, for status output. */
  knownPeers(): Record<NodeId, string | undefined> {
    const out: Record<NodeId, string | undefined> = {};
    for (const [id, link] of this.links) out[id] = link.addr;
    return out;
  }

  async listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.listenAddr.host, port: this.listenAddr.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.log('error', 'peer-server-error', { error }));
  }

  /** The port actually bound (useful when listening on port 0 in tests). */
  port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a !== null ? a.port : this.listenAddr.port;
  }

  learnPeer(id: NodeId, addr: string): void {
    if (id === this.id || this.closed) return;
    try {
      parseHostPort(addr);
    } catch {
      this.logger.log('warn', 'peer-bad-address', { peer: id, addr });
      return;
    }
    const link = this.link(id);
    if (link.addr === addr) return;
    const previous = link.addr;
    link.addr = addr;
    // A member that moved (restarted elsewhere) must be redialed at its new address.
    if (previous !== undefined && link.socket) link.socket.destroy();
    this.logger.log('debug', 'peer-learned', { peer: id, addr });
  }

  send(to: NodeId, message: PeerMessage): void {
    if (this.closed) return;
    if (to === this.id) {
      // A message to ourselves still arrives asynchronously, as it would through the network.
      setImmediate(() => this.deliver(this.id, message));
      return;
    }
    const link = this.link(to);
    // A socket destroyed a moment ago (a stalled link) still counts as connected until its close event;
    // a message sent meanwhile is queued, and the close handler then redials for it.
    if (link.connected && link.socket && !link.socket.destroyed) {
      if (link.socket.writableLength > this.maxBufferedBytes) {
        this.counters.dropped++;
        return;
      }
      if (link.outbox.length === 0) {
        link.outboxAt = performance.now();
        this.flushSoon(link);
      }
      link.outbox.push(message);
      this.counters.sent++;
      return;
    }
    link.queue.push({ msg: message, at: performance.now() });
    if (link.queue.length > this.maxQueue) {
      link.queue.shift();
      this.counters.dropped++;
    }
    this.dialIfIdle(link);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) {
      clearTimeout(link.retryTimer);
      clearInterval(link.pingTimer);
      link.socket?.destroy();
      link.queue = [];
      link.outbox = [];
    }
    for (const socket of this.incoming) socket.destroy();
    this.incoming.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Messages sent to one peer in the same event-loop turn (a coordinator fanning out, a replica answering
   * every request whose data arrived in one poll, gossip) leave as one frame in one write: they collect in
   * the link's outbox and go in the check phase of the same turn, after every I/O callback of the turn and
   * its promise continuations have run. Under load that turns many frames, HMACs and syscalls into one;
   * when idle it adds no measurable delay, since the check phase follows at once.
   */
  private flushSoon(link: Link): void {
    this.pendingLinks.push(link);
    if (this.pendingLinks.length === 1) setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    const links = this.pendingLinks;
    this.pendingLinks = [];
    for (const link of links) {
      if (link.outbox.length === 0) continue;
      if (link.connected && link.socket && !link.socket.destroyed && !this.closed) {
        this.counters.framesSent += writeLinkBatch(link, link.socket, this.id);
        continue;
      }
      // The link went down within the turn: its messages wait for the redial like any other, with the
      // time they were sent, so the receiver still drops those that waited too long.
      for (const msg of link.outbox) link.queue.push({ msg, at: link.outboxAt });
      link.outbox = [];
      while (link.queue.length > this.maxQueue) {
        link.queue.shift();
        this.counters.dropped++;
      }
      this.dialIfIdle(link);
    }
  };

  private link(id: NodeId): Link {
    let link = this.links.get(id);
    if (!link) {
      link = { id, connected: false, queue: [], outbox: [], outboxAt: 0, attempts: 0, lastHeardMs: 0 };
      this.links.set(id, link);
    }
    return link;
  }

  private deliver(from: NodeId, message: PeerMessage): void {
    this.counters.received++;
    try {
      this.handler(from, message);
    } catch (error) {
      // A core bug on one message must not kill the connection or the process.
      this.logger.log('error', 'peer-handler-error', { peer: from, type: message.type, error });
    }
  }

  private dialIfIdle(link: Link): void {
    if (this.closed || link.socket || link.retryTimer || link.addr === undefined) return;
    dialPeer(link, link.addr, this.outbound);
  }

  private scheduleRetry(link: Link): void {
    if (this.closed || link.retryTimer) return;
    const ceiling = Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** Math.min(link.attempts, 20));
    // Jitter between half and all of the ceiling keeps restarted nodes from redialing in lockstep.
    const delay = ceiling * (0.5 + 0.5 * this.random.next());
    link.attempts++;
    link.retryTimer = setTimeout(() => {
      link.retryTimer = undefined;
      if (link.queue.length > 0) this.dialIfIdle(link);
    }, delay);
  }

  /**
   * A peer that just dialed us is reachable again (it restarted, or a partition healed): a redial of ours
   * waiting out its backoff (up to backoffCapMs) goes now. Otherwise the peer would hear from us at once
   * but our requests to it would sit queued, and a read needing its answer would time out.
   */
  private redialNow(id: NodeId): void {
    const link = this.links.get(id);
    if (link === undefined || link.connected || link.socket || link.retryTimer === undefined) return;
    clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    link.attempts = 0;
    if (link.queue.length > 0) this.dialIfIdle(link);
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.incoming.add(socket);
    acceptInbound(socket, this.inbound);
    socket.on('error', () => {});
    socket.on('close', () => this.incoming.delete(socket));
  }

  private reject(socket: net.Socket, error: unknown, peer: NodeId | undefined): void {
    this.counters.rejected++;
    const reason = error instanceof FrameError ? error.reason : 'protocol';
    if (reason === 'replay') this.counters.replayed++;
    // One line per source address and window: the source can reconnect as fast as it likes.
    this.warnings.log('warn', 'peer-rejected', socket.remoteAddress ?? '?', {
      remote: remoteOf(socket),
      claimed: peer,
      reason,
      message: error instanceof Error ? error.message : String(error),
    });
    socket.destroy();
  }

  private listenString(): string {
    const host = this.listenAddr.host.includes(':') ? `[${this.listenAddr.host}]` : this.listenAddr.host;
    return `${host}:${this.port()}`;
  }
}
