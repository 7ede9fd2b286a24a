// The receiving side of the peer transport: a connection a peer dialed to us. We open with a challenge
// (our nonce, signed with the cluster key); the peer's first frame must be a hello naming it, addressed to
// us, with its nonce; every later frame must come from that peer, signed for this connection and position
// (peer-session.ts). Pings are answered with pongs on the same connection, late frames are dropped as
// stale, everything else goes to the core. Anything failing the HMAC or the protocol closes the
// connection (counted as rejected; a frame failing only the session signature is counted as replayed).
import type net from 'node:net';
import type { Logger, NodeId, PeerMessage } from './core/env.js';
import { FrameDecoder, encodeFrame, type FramePayload } from './frame.js';
import { FrameLateness } from './frame-lateness.js';
import { challengeType, helloType, newNonce, parseNonce, pingType, pongType, sessionKeys, type LinkKey } from './peer-session.js';

/** What an inbound connection needs from the transport that accepted it. */
export interface InboundContext {
  readonly id: NodeId;
  /** The cluster key (derived from QL_SECRET), or undefined without a secret. */
  readonly key: LinkKey;
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
  const decoder = new FrameDecoder(ctx.key);
  let peer: NodeId | undefined;
  const lateness = new FrameLateness();
  // The challenge goes out before the dialer has proved anything: it carries nothing but a fresh nonce,
  // and a dialer without our secret learns from its signature that it cannot join (and says so).
  const nonce = newNonce();
  socket.write(encodeFrame({ from: ctx.id, to: '*', msgs: [{ type: challengeType, nonce }] }, ctx.key));
  let replyKey: LinkKey;
  let replySeq = 0;
  const onFrame = (frame: FramePayload, nowMs: number): boolean => {
    if (typeof frame.at === 'number' && Number.isFinite(frame.at)) {
      if (lateness.lateByMs(nowMs, frame.at) > ctx.maxDelayMs && peer !== undefined) {
        ctx.stats.stale++;
        return true;
      }
    }
    if (peer === undefined) {
      const hello = frame.msgs[0]!;
      const dialerNonce = parseNonce(hello['nonce']);
      if (frame.msgs.length !== 1 || hello.type !== helloType || dialerNonce === undefined) {
        ctx.reject(socket, new Error('first frame is not a hello with a nonce'), frame.from);
        return false;
      }
      if (frame.to !== ctx.id) {
        // The dialer's address book is stale (another node now lives at this address).
        ctx.logger.log('warn', 'peer-misaddressed', { peer: frame.from, wanted: frame.to, remote: remoteOf(socket) });
        socket.destroy();
        return false;
      }
      peer = frame.from;
      const keys = sessionKeys(ctx.key, dialerNonce, nonce);
      decoder.rekey(keys.dialerToAcceptor);
      replyKey = keys.acceptorToDialer;
      const addr = hello['addr'];
      // A peer we have never heard of tells us where to reach it; gossip may correct it later.
      if (typeof addr === 'string' && !ctx.knowsAddress(peer)) ctx.learnPeer(peer, addr);
      ctx.redialNow(peer);
      return true;
    }
    if (frame.from !== peer) {
      ctx.reject(socket, new Error(`frame from ${frame.from} on ${peer}'s connection`), peer);
      return false;
    }
    for (const msg of frame.msgs) {
      if (msg.type === pingType) {
        socket.write(encodeFrame({ from: ctx.id, to: peer, msgs: [{ type: pongType }] }, replyKey, replyKey === undefined ? undefined : replySeq++));
      } else if (frame.to === ctx.id) {
        ctx.deliver(peer, msg);
      }
    }
    return true;
  };
  // After a protocol error nothing more from this connection is looked at: chunks already read may
  // still be emitted before the destroyed socket goes quiet, and one rejection is counted once.
  let open = true;
  socket.on('data', (chunk: Buffer) => {
    if (!open) return;
    const nowMs = performance.now();
    try {
      decoder.pushEach(chunk, (frame) => {
        if (open) open = onFrame(frame, nowMs);
      });
    } catch (error) {
      // A bad frame behind one already refused in the same chunk is not a second rejection.
      if (!open) return;
      open = false;
      ctx.reject(socket, error, peer);
    }
  });
}
