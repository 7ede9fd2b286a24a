// The wire format between nodes. Every frame is
//
//   [u32 big-endian length of the rest][u8 version][32-byte HMAC-SHA256, only with a secret][JSON payload]
//
// and the HMAC covers the version byte and the payload. With QL_SECRET set a process that does not
// know the secret cannot produce a frame the cluster accepts, so it cannot join, gossip or write a
// replica. The length prefix makes frames self-delimiting on a TCP stream; a length over the limit is a
// protocol error (a garbage or hostile stream), never an allocation of that size.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NodeId, PeerMessage } from './core/env.js';

export const frameVersion = 1;
export const hmacBytes = 32;
/** Large enough for a 1 MiB value base64-encoded with its metadata, and for anti-entropy batches. */
export const defaultMaxFrameBytes = 64 * 1024 * 1024;

export interface FramePayload {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: PeerMessage;
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
    readonly reason: 'too-large' | 'bad-version' | 'bad-hmac' | 'bad-payload',
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

function mac(secret: string, version: Uint8Array, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(version).update(body).digest();
}

/** Encodes one frame; `secret` adds the HMAC. */
export function encodeFrame(payload: FramePayload, secret?: string): Buffer {
  // The JSON is written straight into the frame buffer: values make most of a frame's bytes, and an
  // intermediate body buffer would copy them once more for every message.
  const json = JSON.stringify(payload);
  const sigLength = secret === undefined ? 0 : hmacBytes;
  const bodyStart = 5 + sigLength;
  const bodyLength = Buffer.byteLength(json, 'utf8');
  const frame = Buffer.allocUnsafe(bodyStart + bodyLength);
  frame.writeUInt32BE(1 + sigLength + bodyLength, 0);
  frame[4] = frameVersion;
  frame.write(json, bodyStart, 'utf8');
  if (secret !== undefined) mac(secret, frame.subarray(4, 5), frame.subarray(bodyStart)).copy(frame, 5);
  return frame;
}

function isPayload(value: unknown): value is FramePayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const msg = v['msg'];
  return (
    typeof v['from'] === 'string' &&
    (v['from'] as string).length > 0 &&
    typeof v['to'] === 'string' &&
    typeof msg === 'object' &&
    msg !== null &&
    typeof (msg as Record<string, unknown>)['type'] === 'string'
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

  constructor(
    private readonly secret?: string,
    private readonly maxFrameBytes = defaultMaxFrameBytes,
  ) {}

  /** Appends bytes and returns every complete frame they finish; throws FrameError on a bad frame. */
  push(chunk: Uint8Array): FramePayload[] {
    if (this.failed) throw this.failed;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    const out: FramePayload[] = [];
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
        out.push(this.decodeBody(frame));
      }
    } catch (error) {
      this.failed = error instanceof FrameError ? error : new FrameError(String(error), 'bad-payload');
      this.chunks = [];
      this.buffered = 0;
      throw this.failed;
    }
    return out;
  }

  private decodeBody(frame: Buffer): FramePayload {
    const version = frame.subarray(0, 1);
    if (version[0] !== frameVersion) throw new FrameError(`frame version ${version[0]} is not ${frameVersion}`, 'bad-version');
    let body: Buffer;
    if (this.secret !== undefined) {
      const sig = frame.subarray(1, 1 + hmacBytes);
      body = frame.subarray(1 + hmacBytes);
      const expected = mac(this.secret, version, body);
      if (!timingSafeEqual(sig, expected)) throw new FrameError('frame HMAC does not match the shared secret', 'bad-hmac');
    } else {
      body = frame.subarray(1);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new FrameError('frame payload is not valid JSON', 'bad-payload');
    }
    if (!isPayload(parsed)) throw new FrameError('frame payload lacks from, to or msg.type', 'bad-payload');
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
