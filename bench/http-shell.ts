// The HTTP shell's own cost per request, without the core or the network stack's other users: the node's
// request listener (node/http-api.ts) on node:http with a core that answers at once, against a bare
// listener that only answers 204, driven by the kv bench's client over loopback in one process. CPU per
// request of the whole process (server and client), alternating the two, so the difference is the shell.
//   npx tsx bench/http-shell.ts [requests]
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpHandler } from '../node/http-api.js';
import type { CoreNode } from '../node/core/api.js';
import { kvBenchClient } from './quorumlab-kv.js';

const requests = Number(process.argv[2] ?? 20000);
const value = new Uint8Array(1024).fill(113);
const ctx = 'a'.repeat(60);
const core = {
  put: () => Promise.resolve({ ok: true, context: ctx }),
  get: () => Promise.resolve({ ok: true, values: [value], context: ctx }),
  status: () => ({ config: { n: 3 } }),
} as unknown as CoreNode;
const logger = { log: () => undefined };

const shell = createHttpHandler({ core, logger, replicationFactor: 3 });
const bare: http.RequestListener = (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(204, { 'X-Context': ctx });
    res.end();
  });
};

async function measure(name: string, listener: http.RequestListener, op: 'put' | 'get'): Promise<void> {
  const server = http.createServer({ keepAlive: true }, listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const client = kvBenchClient(`http://127.0.0.1:${port}`, 16);
  const one = (i: number): Promise<unknown> => (op === 'put' ? client.put(`k${i % 1000}`, value, ctx) : client.get(`k${i % 1000}`));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests) await one(next++);
  };
  await Promise.all(Array.from({ length: 16 }, worker)); // warm
  next = 0;
  const u0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 16 }, worker));
  const u = process.cpuUsage(u0);
  console.log(`${name} ${op}: ${((u.user + u.system) / requests).toFixed(1)} µs CPU per request (client + server)`);
  client.close();
  await new Promise<void>((r) => server.close(() => r()));
}

for (let round = 0; round < 2; round++) {
  await measure('bare', bare, 'put');
  await measure('shell', shell, 'put');
  await measure('shell', shell, 'get');
}
