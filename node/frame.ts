// The wire format between nodes. Every frame is
//
//   [u32 big-endian length of the rest][u8 version][32-byte HMAC-SHA256, only with a secret][JSON payload]
//
// and the payload carries one or more messages: the transport puts every message it sends a peer in one
// event-loop turn into one frame (a coordinator's fan-out under load, a replica's acks), so one HMAC, one
// JSON parse and one length prefix serve them all instead of one each. The HMAC covers the version byte, the frame's sequence number on its connection (counted by both
// ends, never sent; see peer-session.ts) and the payload. With QL_SECRET set a process that does not
// know the secret cannot produce a frame the cluster accepts, so it cannot join, gossip or write a
// replica, and a recorded frame is refused on any other connection or position. The length prefix makes frames self-delimiting on a TCP stream; a length over the limit is a
// protocol error (a garbage or hostile stream), never an allocation of that size.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NodeId, PeerMessage } from './core/env.js';

export const frameVersion = 3;
export const hmacBytes = 32;
/** Large enough for a 1 MiB value base64-encoded with its metadata, and for anti-entropy batches. */
export const defaultMaxFrameBytes = 64 * 1024 * 1024;

export interface FramePayload {
  readonly from: NodeId;
  readonly to: NodeId;
  /** At least one message, delivered in this order. */
  readonly msgs: readonly PeerMessage[];
  /**
   * When the sender handed the message to its transport, in the sender's monotonic milliseconds. Only
   * differences between frames of one connection mean anything (the receiver's staleness check).
   */
  readonly at?: number;
}

/** A stream that is not speaking our protocol or is not signed with our secret; the connection must close. */
export class FrameError extends Error {
  constructor(
    message: string,
    /** bad-hmac: not signed with the cluster key; replay: not signed for this connection at this position. */
    readonly reason: 'too-large' | 'bad-version' | 'bad-hmac' | 'replay' | 'bad-payload',
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** A frame signing key: a string (tests, and the raw form) or derived key bytes. */
export type FrameKey = string | Buffer;

/** The version byte and, in a session, the sequence number as 8 bytes big-endian: what the HMAC covers before the body. */
const macHead = Buffer.alloc(9);

function mac(key: FrameKey, version: Uint8Array, seq: number | undefined, body: Uint8Array): Buffer {
  // One scratch buffer instead of a buffer and a BigInt per frame; a sequence number is a safe integer,
  // so its high word is floor(seq / 2^32). Same bytes as a 64-bit big-endian write.
  macHead[0] = version[0]!;
  if (seq !== undefined) {
    macHead.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 1);
    macHead.writeUInt32BE(seq >>> 0, 5);
  }
  return createHmac('sha256', key).update(macHead.subarray(0, seq === undefined ? 1 : 9)).update(body).digest();
}

/** Encodes one frame; `key` adds the HMAC, over `seq` when the frame belongs to a session. */
export function encodeFrame(payload: FramePayload, key?: FrameKey, seq?: number): Buffer {
  return encodeFrameJson(JSON.stringify(payload), key, seq);
}

/**
 * The JSON payload of a frame from messages already serialised (each `JSON.stringify(message)`), so a
 * sender can bound a frame's size by its messages' sizes before joining them.
 */
export function payloadJson(from: NodeId, to: NodeId, at: number | undefined, messageJsons: readonly string[]): string {
  const head = `{"from":${JSON.stringify(from)},"to":${JSON.stringify(to)}`;
  return `${head}${at === undefined || !Number.isFinite(at) ? '' : `,"at":${at}`},"msgs":[${messageJsons.join(',')}]}`;
}

/** Encodes one frame around a payload already serialised (see payloadJson). */
export function encodeFrameJson(json: string, key?: FrameKey, seq?: number): Buffer {
  // The JSON is written straight into the frame buffer: values make most of a frame's bytes, and an
  // intermediate body buffer would copy them once more for every message.
  const sigLength = key === undefined ? 0 : hmacBytes;
  const bodyStart = 5 + sigLength;
  const bodyLength = Buffer.byteLength(json, 'utf8');
  const frame = Buffer.allocUnsafe(bodyStart + bodyLength);
  frame.writeUInt32BE(1 + sigLength + bodyLength, 0);
  frame[4] = frameVersion;
  frame.write(json, bodyStart, 'utf8');
  if (key !== undefined) mac(key, frame.subarray(4, 5), seq, frame.subarray(bodyStart)).copy(frame, 5);
  return frame;
}

function isMessage(msg: unknown): msg is PeerMessage {
  return typeof msg === 'object' && msg !== null && !Array.isArray(msg) && typeof (msg as Record<string, unknown>)['type'] === 'string';
}

function isPayload(value: unknown): value is FramePayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const msgs = v['msgs'];
  return (
    typeof v['from'] === 'string' &&
    (v['from'] as string).length > 0 &&
    typeof v['to'] === 'string' &&
    Array.isArray(msgs) &&
    msgs.length > 0 &&
    msgs.every(isMessage)
  );
}

/**
 * Turns a byte stream into payloads. Chunks may split or join frames anywhere. After the first error the
 * decoder refuses everything: the stream is out of sync or untrusted and only closing it is safe.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FrameError | undefined;
  /** The sequence number the next frame must be signed over; undefined before a session key is set. */
  private seq: number | undefined;

  constructor(
    private secret?: FrameKey,
    private readonly maxFrameBytes = defaultMaxFrameBytes,
  ) {}

  /**
   * Switches to a session: every later frame must be signed with `key` over its position from here
   * (0, 1, 2, …). A decoder without a key (no secret) stays unsigned.
   */
  rekey(key: FrameKey | undefined): void {
    if (this.secret === undefined) return;
    if (key === undefined) throw new Error('a signed link cannot switch to an unsigned session');
    this.secret = key;
    this.seq = 0;
  }

  /** Appends bytes and returns every complete frame they finish; throws FrameError on a bad frame. */
  push(chunk: Uint8Array): FramePayload[] {
    const out: FramePayload[] = [];
    this.pushEach(chunk, (f) => out.push(f));
    return out;
  }

  /**
   * As push, but hands each frame to `visit` before decoding the next, so a handshake frame can rekey
   * the decoder for the frames behind it in the same chunk.
   */
  pushEach(chunk: Uint8Array, visit: (frame: FramePayload) => void): void {
    if (this.failed) throw this.failed;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    try {
      for (;;) {
        if (this.buffered < 4) break;
        const head = this.peek(4);
        const length = head.readUInt32BE(0);
        const minimum = 1 + (this.secret === undefined ? 0 : hmacBytes) + 2;
        if (length > this.maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit`, 'too-large');
        if (length < minimum) throw new FrameError(`frame of ${length} bytes is shorter than the ${minimum}-byte minimum`, 'bad-payload');
        if (this.buffered < 4 + length) break;
        const frame = this.take(4 + length).subarray(4);
        visit(this.decodeBody(frame));
      }
    } catch (error) {
      // An error thrown by `visit` is the caller's, not the stream's; it still ends the stream.
      this.failed = error instanceof FrameError ? error : new FrameError(String(error), 'bad-payload');
      this.chunks = [];
      this.buffered = 0;
      throw this.failed;
    }
  }

  private decodeBody(frame: Buffer): FramePayload {
    const version = frame.subarray(0, 1);
    if (version[0] !== frameVersion) throw new FrameError(`frame version ${version[0]} is not ${frameVersion}`, 'bad-version');
    let body: Buffer;
    if (this.secret !== undefined) {
      const sig = frame.subarray(1, 1 + hmacBytes);
      body = frame.subarray(1 + hmacBytes);
      const expected = mac(this.secret, version, this.seq, body);
      if (!timingSafeEqual(sig, expected)) {
        if (this.seq !== undefined) throw new FrameError(`frame ${this.seq} is not signed for this connection at this position (replayed, reordered or forged)`, 'replay');
        throw new FrameError('frame HMAC does not match the shared secret', 'bad-hmac');
      }
      if (this.seq !== undefined) this.seq++;
    } else {
      body = frame.subarray(1);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new FrameError('frame payload is not valid JSON', 'bad-payload');
    }
    if (!isPayload(parsed)) throw new FrameError('frame payload lacks from, to or a non-empty msgs list of typed messages', 'bad-payload');
    return parsed;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
