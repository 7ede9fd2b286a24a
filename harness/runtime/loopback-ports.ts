// Loopback ports for the process runtimes: whether a fixed address is free before a node is started on it
// (local), and a free port picked by the kernel for a container's published client API (Docker).
import net from 'node:net';

/** Fails with a one-line message when host:port cannot be bound (another run or a stale node holds it). */
export async function assertFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use (another quorumlab run, or a node left running?)' : `cannot be bound (${err.code ?? err.message})`;
      reject(new Error(`${host}:${port} ${why}; the local runtime needs it (definite: nothing started)`));
    });
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

/** A port on 127.0.0.1 that is free now (bound and released); published ports stay fixed across restarts. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
