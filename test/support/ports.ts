// A loopback port nobody listens on now, for a process the test or benchmark starts.
import { type AddressInfo, createServer } from 'node:net';

/** Binds `port` (0: any) on loopback and lets it go: resolves with the port, rejects when it is taken. */
export function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}
