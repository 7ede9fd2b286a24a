// The bytes of an HTTP exchange: JSON answers and the error shape of NODE-API.md, reading a bounded body,
// and the request headers the client API reads. Handlers throw HttpError; the API turns it into an answer.
import type http from 'node:http';
import type { BadRequest, QuorumError } from './core/api.js';
import { refusalAnswer, type OpClass } from './outcome.js';

/** After a 413 we keep discarding the rest of the body for a while so the client reads our answer. */
const drainAfterRejectBytes = 16 * 1024 * 1024;
const drainAfterRejectMs = 2000;

/** A refusal with a status and an error code; thrown inside handlers and turned into a JSON answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: http.ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.code, message: error.message, ...error.extra }, error.headers);
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A core refusal as the HTTP error node/outcome.ts maps it to. */
export function refusalError(result: QuorumError | BadRequest, op: OpClass, what: string): HttpError {
  const a = refusalAnswer(result, op, what);
  return new HttpError(a.status, a.code, a.message, a.extra);
}

export function methodNotAllowed(allowed: string[]): HttpError {
  return new HttpError(405, 'method-not-allowed', `This resource only accepts ${allowed.join(', ')}.`, {}, { Allow: allowed.join(', ') });
}

export function contextHeader(req: http.IncomingMessage): string | undefined {
  const raw = req.headers['x-context'];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new HttpError(400, 'bad-context', 'X-Context is given more than once.');
  const trimmed = raw.trim();
  // An empty header is what a client sends when it has no context: a blind write.
  return trimmed === '' ? undefined : trimmed;
}

/**
 * Answers 413 for a body over `limit` and keeps discarding input for a bounded while (see readBody). A
 * function of its own, not a closure readBody makes for every request: under tsx's keepNames each named
 * closure costs a defineProperty call whenever it is made.
 */
function rejectTooLarge(req: http.IncomingMessage, res: http.ServerResponse, limit: number, resolve: (body: undefined) => void): void {
  res.setHeader('Connection', 'close');
  sendError(res, new HttpError(413, 'too-large', `The body exceeds the ${limit}-byte limit.`));
  let drained = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > drainAfterRejectBytes) req.socket.destroy();
  });
  const timer = setTimeout(() => req.socket.destroy(), drainAfterRejectMs);
  timer.unref();
  req.socket.once('close', () => clearTimeout(timer));
  req.resume();
  resolve(undefined);
}

/**
 * Reads a request body up to `limit` bytes. Over the limit it answers 413 at once (from the declared
 * Content-Length when there is one, without reading) and keeps discarding input for a bounded while so
 * the client sees the answer instead of a reset. Resolves undefined when the client went away.
 */
export function readBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return rejectTooLarge(req, res, limit, resolve);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        rejectTooLarge(req, res, limit, resolve);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      // Small bodies arrive in one chunk; copying them into a new buffer would be wasted work.
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    // A client that disconnects mid-body has nobody left to answer; nothing was handed to the core.
    req.on('aborted', () => {
      if (!done) {
        done = true;
        resolve(undefined);
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        resolve(undefined);
      }
    });
  });
}
