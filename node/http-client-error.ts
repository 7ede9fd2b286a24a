// Malformed HTTP never reaches the request handler: Node's parser rejects it and emits `clientError` on the
// server. This answers it with the same JSON error shape as every other refusal before closing.
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export function onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Bytes after a complete request that do not parse (a client sending an unframed body, as Node's own
  // client does for OPTIONS) must not cost the answer to that request: finish it, then close.
  const inflight = (socket as unknown as { _httpMessage?: http.ServerResponse })._httpMessage;
  if (inflight && !inflight.writableFinished) {
    if (!inflight.headersSent) inflight.setHeader('Connection', 'close');
    inflight.once('finish', () => socket.end());
    setTimeout(() => socket.destroy(), 5000).unref();
    return;
  }
  const tooBig = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooBig ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  const body = JSON.stringify({ error: tooBig ? 'headers-too-large' : 'bad-http', message: tooBig ? 'The request headers are too large.' : 'The request is not valid HTTP/1.1.' });
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
