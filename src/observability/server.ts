import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type Check = () => boolean | Promise<boolean>;

/** Decides whether a request may read a path (the secure metrics server: TokenReview + SubjectAccessReview). */
export type Authorize = (
  authorization: string | undefined,
  path: string,
  verb: string,
) => Promise<{ allowed: true } | { allowed: false; status: 401 | 403; reason: string }>;

export interface ProbeServerOptions {
  host?: string;
  port: number;
  /** Serve /metrics from this registry; omitted: no /metrics on this server. */
  registry?: Registry;
  /** Liveness: the process is not wedged. Defaults to always ok (only served with `readyz`). */
  healthz?: Check;
  /** Readiness, e.g. caches synced; omitted: no probes on this server. */
  readyz?: Check;
  /** Serve HTTPS with this certificate (PEM) instead of plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Check every /metrics request (probes stay open: the kubelet sends no credentials). */
  authorizeMetrics?: Authorize;
}

export interface ProbeServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves /healthz, /readyz and /metrics, or a part of them (port 0 picks a free one). */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const probe = async (check: Check) => {
      let ok: boolean;
      try {
        ok = await check();
      } catch {
        ok = false;
      }
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
    };
    const { readyz, registry } = options;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
    } else if (readyz && (path === '/healthz' || path === '/livez')) {
      void probe(options.healthz ?? (() => true));
    } else if (readyz && path === '/readyz') {
      void probe(readyz);
    } else if (registry && path === '/metrics') {
      void serveMetrics(registry, options.authorizeMetrics, req, res, path);
    } else {
      res.writeHead(404).end();
    }
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serveMetrics(registry: Registry, authorize: Authorize | undefined, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    if (authorize) {
      const decision = await authorize(req.headers.authorization, path, 'get');
      if (!decision.allowed) {
        res.writeHead(decision.status, { 'content-type': 'text/plain' }).end(decision.status === 401 ? 'Unauthorized' : 'Forbidden');
        return;
      }
    }
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(text);
  } catch {
    res.writeHead(500).end();
  }
}
