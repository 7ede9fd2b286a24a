// Requests Node's HTTP machinery answers or drops before our request handler runs: what its parser rejects
// (`clientError`), CONNECT (`connect`), and an Expect header other than 100-continue (`checkExpectation`).
// Each gets a status and the JSON error body of NODE-API.md, like every other refusal, and then the
// connection closes: after a framing error nothing more on it can be trusted to be in sync.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { HttpError, sendError } from './http-io.js';

/** How long an answer already under way may take to finish before the broken connection is cut. */
const finishInflightMs = 5000;

/** The status and error body for a parser error code (llhttp's HPE_* codes and Node's own). */
export function parserRefusal(error: NodeJS.ErrnoException): HttpError {
  const code = error.code ?? '';
  if (code === 'HPE_HEADER_OVERFLOW') return new HttpError(431, 'headers-too-large', 'The request headers are too large.');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new HttpError(408, 'timeout', 'The request did not arrive in full in time.');
  // llhttp reports Content-Length beside Transfer-Encoding (a request-smuggling shape) with this code too;
  // that one is malformed, not merely unsupported.
  if (code === 'HPE_INVALID_TRANSFER_ENCODING' && !/content-length/i.test(error.message)) {
    // 400, not RFC 9112's suggested 501: a 5xx would tell the client the outcome is unknown.
    return new HttpError(400, 'unsupported-transfer-encoding', 'The only transfer coding this node accepts is chunked.');
  }
  const detail = code.startsWith('HPE_') ? ` (${code.slice(4).toLowerCase().replaceAll('_', ' ')})` : '';
  return new HttpError(400, 'bad-http', `The request is not valid HTTP/1.1${detail}.`);
}

/** Writes a complete JSON error answer straight onto a socket that has no response object, and closes it. */
export function endSocketWithError(socket: Duplex, error: HttpError): void {
  const body = JSON.stringify({ error: error.code, message: error.message, ...error.extra });
  const reason = reasonPhrases[error.status] ?? 'Error';
  socket.end(`HTTP/1.1 ${error.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

const reasonPhrases: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
};

/** Answers the request a response object belongs to with `error`, then closes the connection. */
function answerAndClose(res: http.ServerResponse, socket: Duplex, error: HttpError): void {
  res.shouldKeepAlive = false;
  res.setHeader('Connection', 'close');
  res.once('finish', () => socket.end());
  sendError(res, error);
}

export function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const inflight = (socket as unknown as { _httpMessage?: http.ServerResponse })._httpMessage;
  if (inflight && !inflight.writableFinished) {
    setTimeout(() => socket.destroy(), finishInflightMs).unref();
    const req = (inflight as unknown as { req?: http.IncomingMessage }).req;
    if (!inflight.headersSent && req !== undefined && !req.complete) {
      // The parser failed inside this request's body (a bad chunk size, a bad transfer coding): the rest
      // of the body will never come, so the handler waiting for it would hang. Answer now instead; the
      // handler gives up when the socket closes (its body read resolves as aborted).
      answerAndClose(inflight, socket, parserRefusal(error));
      return;
    }
    // Bytes after a complete request that do not parse (a client sending an unframed body, as Node's own
    // client does for OPTIONS) must not cost the answer to that request: finish it, then close.
    if (!inflight.headersSent) inflight.setHeader('Connection', 'close');
    inflight.once('finish', () => socket.end());
    return;
  }
  endSocketWithError(socket, parserRefusal(error));
}

/** CONNECT asks the node to be a proxy; it is not one. */
export function onConnect(_req: http.IncomingMessage, socket: Duplex): void {
  endSocketWithError(socket, new HttpError(405, 'method-not-allowed', 'This node is not a proxy: CONNECT is not supported.'));
}

/** An Expect header other than 100-continue names an expectation this node cannot meet. */
export function onCheckExpectation(_req: http.IncomingMessage, res: http.ServerResponse): void {
  answerAndClose(res, res.socket as Duplex, new HttpError(417, 'expectation-failed', 'The only expectation this node meets is "Expect: 100-continue".'));
}
