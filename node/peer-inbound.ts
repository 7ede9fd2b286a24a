// The receiving side of the peer transport: a connection a peer dialed to us. Its first frame must be a
// hello naming the peer and addressed to us; after that every frame must come from that peer. Pings are
// answered with pongs on the same connection, late frames are dropped as stale, everything else goes to
// the core. Anything failing the HMAC or the protocol closes the connection (counted as rejected).
import type net from 'node:net';
import type { NodeId, PeerMessage } from './core/env.js';
import type { Logger } from './core/env.js';
import { FrameDecoder, encodeFrame, type FramePayload } from './frame.js';
import { FrameLateness } from './frame-lateness.js';

export const helloType = 'ql-hello';
export const pingType = 'ql-ping';
export const pongType = 'ql-pong';

/** What an inbound connection needs from the transport that accepted it. */
export interface InboundContext {
  readonly id: NodeId;
  readonly secret: string | undefined;
  readonly maxDelayMs: number;
  readonly logger: Logger;
  readonly stats: { stale: number };
  /** Whether we already know an address for this peer. */
  knowsAddress(peer: NodeId): boolean;
  learnPeer(peer: NodeId, addr: string): void;
  /** The peer is reachable again: a redial of ours waiting out its backoff goes now. */
  redialNow(peer: NodeId): void;
  deliver(from: NodeId, message: PeerMessage): void;
  reject(socket: net.Socket, error: unknown, peer: NodeId | undefined): void;
}

export function remoteOf(socket: net.Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

export function acceptInbound(socket: net.Socket, ctx: InboundContext): void {
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(ctx.secret);
  let peer: NodeId | undefined;
  const lateness = new FrameLateness();
  socket.on('data', (chunk: Buffer) => {
    let frames: FramePayload[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      ctx.reject(socket, error, peer);
      return;
    }
    const nowMs = performance.now();
    for (const frame of frames) {
      if (typeof frame.at === 'number' && Number.isFinite(frame.at)) {
        if (lateness.lateByMs(nowMs, frame.at) > ctx.maxDelayMs && peer !== undefined) {
          ctx.stats.stale++;
          continue;
        }
      }
      if (peer === undefined) {
        if (frame.msg.type !== helloType) {
          ctx.reject(socket, new Error('first frame is not a hello'), frame.from);
          return;
        }
        if (frame.to !== ctx.id) {
          // The dialer's address book is stale (another node now lives at this address).
          ctx.logger.log('warn', 'peer-misaddressed', { peer: frame.from, wanted: frame.to, remote: remoteOf(socket) });
          socket.destroy();
          return;
        }
        peer = frame.from;
        const addr = frame.msg['addr'];
        // A peer we have never heard of tells us where to reach it; gossip may correct it later.
        if (typeof addr === 'string' && !ctx.knowsAddress(peer)) ctx.learnPeer(peer, addr);
        ctx.redialNow(peer);
        continue;
      }
      if (frame.from !== peer) {
        ctx.reject(socket, new Error(`frame from ${frame.from} on ${peer}'s connection`), peer);
        return;
      }
      if (frame.msg.type === pingType) {
        socket.write(encodeFrame({ from: ctx.id, to: peer, msg: { type: pongType } }, ctx.secret));
        continue;
      }
      if (frame.to !== ctx.id) continue;
      ctx.deliver(peer, frame.msg);
    }
  });
}
