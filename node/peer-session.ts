// Replay protection for peer links. Each connection starts with a handshake: the dialer's hello carries a
// fresh nonce, the acceptor answers with a challenge carrying its own, both signed with the cluster key.
// Every later frame is signed with a key derived from the secret and both nonces, one key per direction,
// over a sequence number the two ends count and never send. A frame recorded on one connection therefore
// fails the HMAC on any other (the nonces differ), and a frame replayed, dropped or reordered within one
// fails it too (the count differs); either is rejected and counted. Without a secret nothing is signed and
// the handshake only names the two ends.
import { createHmac, randomBytes } from 'node:crypto';

export const helloType = 'ql-hello';
export const challengeType = 'ql-challenge';
export const pingType = 'ql-ping';
export const pongType = 'ql-pong';

/** A signing key: the frame HMAC key, or undefined when the cluster runs without a secret. */
export type LinkKey = Buffer | undefined;

/** 128 random bits, hex: a connection's contribution to its session keys. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** The key for handshake frames, derived from QL_SECRET so that it is never the secret itself. */
export function clusterKey(secret: string | undefined): LinkKey {
  return secret === undefined ? undefined : createHmac('sha256', secret).update('quorumlab peer frames v2').digest();
}

/** The two per-direction keys of one connection. */
export function sessionKeys(base: LinkKey, dialerNonce: string, acceptorNonce: string): { dialerToAcceptor: LinkKey; acceptorToDialer: LinkKey } {
  if (base === undefined) return { dialerToAcceptor: undefined, acceptorToDialer: undefined };
  const derive = (direction: string): Buffer => createHmac('sha256', base).update(`${direction}|${dialerNonce}|${acceptorNonce}`).digest();
  return { dialerToAcceptor: derive('dialer->acceptor'), acceptorToDialer: derive('acceptor->dialer') };
}

/** A nonce as a peer sent it: 32 hex digits, or undefined for anything else. */
export function parseNonce(value: unknown): string | undefined {
  return typeof value === 'string' && /^[0-9a-f]{32}$/.test(value) ? value : undefined;
}
