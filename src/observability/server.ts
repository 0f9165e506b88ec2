import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type Check = () => boolean | Promise<boolean>;

export interface ProbeServerOptions {
  host?: string;
  port: number;
  registry: Registry;
  /** Liveness: the process is not wedged. Defaults to always ok. */
  healthz?: Check;
  /** Readiness: e.g. caches synced. */
  readyz: Check;
}

export interface ProbeServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves /healthz, /readyz and /metrics on one port (port 0 picks a free one). */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const probe = async (check: Check) => {
      let ok: boolean;
      try {
        ok = await check();
      } catch {
        ok = false;
      }
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
    } else if (path === '/healthz' || path === '/livez') {
      void probe(options.healthz ?? (() => true));
    } else if (path === '/readyz') {
      void probe(options.readyz);
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
