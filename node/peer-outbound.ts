// The dialing side of the peer transport: our one outgoing connection to a peer. It opens with a hello
// carrying our nonce, waits for the acceptor's challenge (its nonce, signed with the cluster key), and only
// then counts as connected: every later frame is signed for this connection and position (peer-session.ts).
// Until then, and whenever the link is down, messages wait in the link's queue. A silent link is redialed.
import net from 'node:net';
import type { Logger, NodeId, PeerMessage } from './core/env.js';
import { jsonText } from './core/json-text.js';
import { FrameDecoder, FrameError, encodeFrame, encodeFrameJson, payloadJson, type FramePayload } from './frame.js';
import { challengeType, helloType, newNonce, parseNonce, pingType, sessionKeys, type LinkKey } from './peer-session.js';
import type { RateLimitedWarnings } from './peer-warnings.js';
import { parseHostPort } from './host-port.js';

export interface Link {
  readonly id: NodeId;
  addr?: string;
  socket?: net.Socket;
  /** True once the handshake finished: frames can be signed for this connection. */
  connected: boolean;
  /** The session of the current connection: its key toward the peer and the next sequence number. */
  session?: { key: LinkKey; seq: number };
  /** Messages waiting for a connection, with the time each was sent. */
  queue: { msg: PeerMessage; at: number }[];
  /** Messages sent on the open connection during this event-loop turn, leaving together at its end. */
  outbox: PeerMessage[];
  /** When the first message of the outbox was sent. */
  outboxAt: number;
  attempts: number;
  retryTimer?: NodeJS.Timeout;
  pingTimer?: NodeJS.Timeout;
  lastHeardMs: number;
}

/** What an outgoing connection needs from the transport that dials it. */
export interface OutboundContext {
  readonly id: NodeId;
  /** The cluster key (derived from QL_SECRET), or undefined without a secret. */
  readonly key: LinkKey;
  /** QL_PEER's host: outgoing sockets bind to it so address-based firewall rules cut exactly their links. */
  readonly bindHost: string;
  listenString(): string;
  readonly connectTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly logger: Logger;
  readonly warnings: RateLimitedWarnings;
  readonly counters: { sent: number; connects: number; authFailures: number };
  isClosed(): boolean;
  scheduleRetry(link: Link): void;
  reject(socket: net.Socket, error: unknown, peer: NodeId | undefined): void;
}

/** Writes one frame of the link's session: signed over the next sequence number of this direction. */
export function writeLinkFrame(link: Link, socket: net.Socket, payload: FramePayload): void {
  const session = link.session!;
  socket.write(encodeFrame(payload, session.key, session.key === undefined ? undefined : session.seq++));
}

/**
 * Above this many bytes of serialised messages a batch closes and the next starts a new frame, so that a
 * turn of anti-entropy or handoff traffic never builds a frame near the receiver's size limit; a single
 * larger message still goes alone.
 */
export const batchSoftLimitBytes = 1024 * 1024;

/**
 * A message's JSON. The state a message carries (`s`) is the core's memoised, immutable JSON form, so its
 * text comes from the memo (core/json-text.ts): a fan-out to two replicas, and a replica's answers to
 * many reads of one state, serialise it once. The other fields are serialised as usual and `s` goes last.
 */
export function messageJson(m: PeerMessage): string {
  const s = (m as Record<string, unknown>)['s'];
  if (typeof s !== 'object' || s === null) return JSON.stringify(m);
  const rest = JSON.stringify({ ...m, s: undefined });
  return rest === '{}' ? `{"s":${jsonText(s)}}` : `${rest.slice(0, -1)},"s":${jsonText(s)}}`;
}

/**
 * Writes the link's outbox as few frames as the size bound allows (usually one), each signed once for the
 * session; returns how many frames were written.
 */
export function writeLinkBatch(link: Link, socket: net.Socket, from: NodeId): number {
  const messages = link.outbox;
  const at = link.outboxAt;
  link.outbox = [];
  let frames = 0;
  let batch: string[] = [];
  let bytes = 0;
  for (const m of messages) {
    const json = messageJson(m);
    if (batch.length > 0 && bytes + json.length > batchSoftLimitBytes) {
      writeBatchFrame(link, socket, from, at, batch);
      frames++;
      batch = [];
      bytes = 0;
    }
    batch.push(json);
    bytes += json.length;
  }
  if (batch.length > 0) {
    writeBatchFrame(link, socket, from, at, batch);
    frames++;
  }
  return frames;
}

/**
 * One frame of serialised messages, signed for the link's session. A function of its own rather than a
 * closure in writeLinkBatch: the node runs under tsx, whose keepNames turns every named closure into a
 * defineProperty call each time it is made, and this one was made for every batch a link sends.
 */
function writeBatchFrame(link: Link, socket: net.Socket, from: NodeId, at: number, batch: readonly string[]): void {
  const session = link.session!;
  socket.write(encodeFrameJson(payloadJson(from, link.id, at, batch), session.key, session.key === undefined ? undefined : session.seq++));
}

export function dialPeer(link: Link, addr: string, ctx: OutboundContext): void {
  const { host, port } = parseHostPort(addr);
  const bindHost = ctx.bindHost;
  const bind = net.isIP(bindHost) !== 0 && bindHost !== '0.0.0.0' && bindHost !== '::' ? { localAddress: bindHost } : {};
  const socket = net.connect({ host, port, ...bind });
  link.socket = socket;
  link.session = undefined;
  socket.setNoDelay(true);
  const connectTimer = setTimeout(() => socket.destroy(new Error(`connect to ${addr} timed out`)), ctx.connectTimeoutMs);
  let handshakeTimer: NodeJS.Timeout | undefined;
  const decoder = new FrameDecoder(ctx.key);
  const nonce = newNonce();

  socket.on('connect', () => {
    clearTimeout(connectTimer);
    if (ctx.isClosed()) return socket.destroy();
    socket.write(encodeFrame({ from: ctx.id, to: link.id, msgs: [{ type: helloType, addr: ctx.listenString(), nonce }], at: performance.now() }, ctx.key));
    // A listener that never answers the hello (a paused process, something that is not a node) is
    // treated as a stalled link.
    handshakeTimer = setTimeout(() => {
      ctx.logger.log('warn', 'peer-link-stalled', { peer: link.id, addr, phase: 'handshake' });
      socket.destroy();
    }, ctx.pingTimeoutMs);
  });

  /** The acceptor's challenge arrived: the session starts, and what waited in the queue goes out. */
  const established = (acceptorNonce: string): void => {
    clearTimeout(handshakeTimer);
    const keys = sessionKeys(ctx.key, nonce, acceptorNonce);
    decoder.rekey(keys.acceptorToDialer);
    link.session = { key: keys.dialerToAcceptor, seq: 0 };
    link.connected = true;
    link.attempts = 0;
    link.lastHeardMs = performance.now();
    ctx.counters.connects++;
    // Queued messages keep their send time: the receiver drops those that waited too long.
    const queued = link.queue;
    link.queue = [];
    for (const { msg, at } of queued) {
      writeLinkFrame(link, socket, { from: ctx.id, to: link.id, msgs: [msg], at });
      ctx.counters.sent++;
    }
    link.pingTimer = setInterval(() => {
      if (performance.now() - link.lastHeardMs > ctx.pingTimeoutMs) {
        ctx.logger.log('warn', 'peer-link-stalled', { peer: link.id, addr });
        socket.destroy();
        return;
      }
      writeLinkFrame(link, socket, { from: ctx.id, to: link.id, msgs: [{ type: pingType }], at: performance.now() });
    }, ctx.pingIntervalMs);
  };

  // What comes back on an outgoing link: the challenge first, then pongs. A challenge failing the HMAC
  // means the peer does not share our secret: we can never join through it, which is said loudly.
  socket.on('data', (chunk: Buffer) => {
    // Chunks read before a rejection destroyed the socket are not looked at (one rejection, counted once).
    if (socket.destroyed) return;
    try {
      decoder.pushEach(chunk, (frame) => {
        if (link.session !== undefined || socket.destroyed) return;
        const msg = frame.msgs[0]!;
        const acceptorNonce = parseNonce(msg['nonce']);
        if (frame.msgs.length !== 1 || msg.type !== challengeType || frame.from !== link.id || acceptorNonce === undefined) {
          throw new Error(`the peer at ${addr} did not open with a challenge from ${link.id}`);
        }
        established(acceptorNonce);
      });
      link.lastHeardMs = performance.now();
    } catch (error) {
      if (link.session === undefined && error instanceof FrameError && error.reason === 'bad-hmac') {
        ctx.counters.authFailures++;
        ctx.warnings.log('error', 'peer-auth-failed', link.id, {
          peer: link.id,
          addr,
          message: `the frames of ${link.id} fail our key: this node and ${link.id} do not share QL_SECRET, so this node cannot join through it`,
        });
      }
      ctx.reject(socket, error, link.id);
    }
  });

  socket.on('error', (error) => {
    ctx.logger.log('debug', 'peer-connect-error', { peer: link.id, addr, error: error.message });
  });

  socket.on('close', () => {
    clearTimeout(connectTimer);
    clearTimeout(handshakeTimer);
    clearInterval(link.pingTimer);
    link.pingTimer = undefined;
    if (link.socket === socket) {
      link.socket = undefined;
      link.session = undefined;
    }
    const wasConnected = link.connected;
    link.connected = false;
    if (wasConnected) ctx.logger.log('info', 'peer-disconnected', { peer: link.id, addr });
    if (ctx.isClosed()) return;
    // Redial only when something waits to be sent: the link is lazy, like the first dial.
    if (link.queue.length > 0 || link.addr !== addr) ctx.scheduleRetry(link);
  });
}
