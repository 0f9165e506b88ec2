import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type Check = () => boolean | Promise<boolean>;

/** Decides whether a request may read a path (the secure metrics server: TokenReview + SubjectAccessReview). */
export type Authorize = (
  authorization: string | undefined,
  path: string,
  verb: string,
) => Promise<{ allowed: true } | { allowed: false; status: 401 | 403 | 429; reason: string }>;

export interface TlsCertificate {
  cert: string | Buffer;
  key: string | Buffer;
}

/**
 * Rendering the registry is CPU on the thread reconciles run on (10,000 objects: tens of ms), and an unauthenticated
 * port lets anyone scrape in a tight loop. Scrapes while a render runs share it, and a render is served again for
 * METRICS_REUSE_FACTOR times as long as it took, at least METRICS_REUSE_MS: a flood keeps the thread rendering a
 * fifth of the time at most, and an answer is never older than that (Prometheus scrapes every 15 s or more).
 */
export const METRICS_REUSE_MS = 100;
export const METRICS_REUSE_FACTOR = 4;

/** How often a certificate source (`tls` as a function) is read again. */
export const TLS_RELOAD_INTERVAL_MS = 10_000;

export interface ProbeServerOptions {
  host?: string;
  port: number;
  /** Serve /metrics from this registry; omitted: no /metrics on this server. */
  registry?: Registry;
  /** Liveness: the process is not wedged. Defaults to always ok (only served with `readyz`). */
  healthz?: Check;
  /** Readiness, e.g. caches synced; omitted: no probes on this server. */
  readyz?: Check;
  /**
   * Serve HTTPS with this certificate (PEM) instead of plain HTTP. A function is the certificate's source, read at
   * start and again every TLS_RELOAD_INTERVAL_MS: a renewed certificate (a Secret volume the kubelet rewrote) is served
   * to new connections without a restart. A read that fails, or a certificate that does not fit its key (files read
   * during the kubelet's swap), keeps the current one until the next read.
   */
  tls?: TlsCertificate | (() => TlsCertificate);
  /**
   * A certificate from the source cannot be used (unreadable, or a key that does not fit): called when the same problem
   * is met on two reads in a row (one may fall in the kubelet's swap), once until a read succeeds again.
   */
  tlsReloadFailed?: (problem: string) => void;
  /** Check every /metrics request (probes stay open: the kubelet sends no credentials). */
  authorizeMetrics?: Authorize;
}

export interface ProbeServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves /healthz, /readyz and /metrics, or a part of them (port 0 picks a free one). */
export async function startProbeServer(options: ProbeServerOptions): Promise<ProbeServer> {
  const metrics = options.registry && { contentType: options.registry.contentType, render: sharedRenders(options.registry) };
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
    const { readyz } = options;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
    } else if (readyz && (path === '/healthz' || path === '/livez')) {
      void probe(options.healthz ?? (() => true));
    } else if (readyz && path === '/readyz') {
      void probe(readyz);
    } else if (metrics && path === '/metrics') {
      void serveMetrics(metrics, options.authorizeMetrics, req, res, path);
    } else {
      res.writeHead(404).end();
    }
  };
  const source = typeof options.tls === 'function' ? options.tls : undefined;
  let certificate: TlsCertificate | undefined = source ? source() : (options.tls as TlsCertificate | undefined);
  const https: HttpsServer | undefined = certificate && createHttpsServer({ ...certificate, minVersion: 'TLSv1.2' }, handler);
  const server: Server = https ?? createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  let lastProblem: { message: string; reported: boolean } | undefined;
  const reload =
    source &&
    https &&
    setInterval(() => {
      try {
        const next = source();
        if (!certificate || !samePem(next.cert, certificate.cert) || !samePem(next.key, certificate.key)) {
          https.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
          certificate = next;
        }
        lastProblem = undefined;
      } catch (err) {
        // Keep serving the current certificate: the files may be read halfway through the kubelet's swap. A problem
        // that outlasts a swap is said once, or the old certificate would be served silently until it expires.
        const message = err instanceof Error ? err.message : String(err);
        if (lastProblem?.message === message && !lastProblem.reported) options.tlsReloadFailed?.(message);
        lastProblem = { message, reported: lastProblem?.message === message };
      }
    }, TLS_RELOAD_INTERVAL_MS).unref();
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `${https ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (reload) clearInterval(reload);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const samePem = (a: string | Buffer, b: string | Buffer) => Buffer.from(a).equals(Buffer.from(b));

/** The registry's text, rendered once for the scrapes that ask while it renders and for a while after (above). */
function sharedRenders(registry: Registry): () => Promise<string> {
  let kept: { text: Promise<string>; freshUntil?: number } | undefined;
  return () => {
    const current = kept;
    if (current && (current.freshUntil === undefined || Date.now() < current.freshUntil)) return current.text;
    const startedAt = Date.now();
    const text = registry.metrics();
    const render: { text: Promise<string>; freshUntil?: number } = { text };
    kept = render;
    text.then(
      () => {
        const done = Date.now();
        render.freshUntil = done + Math.max(METRICS_REUSE_MS, METRICS_REUSE_FACTOR * (done - startedAt));
      },
      // A failed render is not served again: the next scrape renders anew.
      () => kept === render && (kept = undefined),
    );
    return text;
  };
}

async function serveMetrics(
  metrics: { contentType: string; render: () => Promise<string> },
  authorize: Authorize | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  try {
    if (authorize) {
      const decision = await authorize(req.headers.authorization, path, 'get');
      if (!decision.allowed) {
        const text = { 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests' }[decision.status];
        res.writeHead(decision.status, { 'content-type': 'text/plain', ...(decision.status === 429 && { 'retry-after': '1' }) }).end(text);
        return;
      }
    }
    const text = await metrics.render();
    res.writeHead(200, { 'content-type': metrics.contentType }).end(text);
  } catch {
    res.writeHead(500).end();
  }
}
