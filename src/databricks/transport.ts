// HTTP on undici: one keep-alive connection pool per workspace origin, a deadline per request, and
// network failures turned into classified errors. No retries here (see request-loop.ts).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Pool, ProxyAgent } from 'undici';
import { startDeadline } from './deadline.js';
import { DatabricksError, errorFromNetworkFailure, type HeaderBag } from './errors.js';
import { normaliseHost } from './host.js';
import { proxyFor, proxyFromEnvironment, type ProxySettings } from './proxy.js';
import type { TrustedCertificates } from './ca-bundle.js';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** path and query, already encoded */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** deadline of this one attempt */
  timeoutMs: number;
  /** the caller's cancellation; its reason is rethrown as is */
  signal?: AbortSignal;
  /** values to scrub from error messages */
  secrets?: readonly string[];
}

export interface HttpResponse {
  status: number;
  headers: HeaderBag;
  bodyText: string;
}

export interface HttpTransportOptions {
  /** sockets per origin; the budgets keep the real need small */
  connectionsPerOrigin?: number;
  keepAliveTimeoutMs?: number;
  /** Largest response body read; a bigger one is refused unread (a host the tenant chose must not fill our memory). */
  maxResponseBytes?: number;
  /** Pools kept (default 512): the least recently used beyond it are closed (tenants choose hosts, and change them). */
  maxOrigins?: number;
  /** Bytes all answers being read may hold together once one is past SMALL_ANSWER_BYTES (default MAX_BUFFERED_BYTES). */
  maxBufferedBytes?: number;
  /** A forward proxy for the calls (proxyFromEnvironment); none: every host is connected to directly. */
  proxy?: ProxySettings;
  /** Certificates trusted besides Node's defaults (--ca-bundle), for the hosts and an https:// proxy; none: Node's defaults. */
  trust?: TrustedCertificates;
}

/** Generous for the serving API (a list of 1000 endpoints is about 2 MB), small enough to bound memory. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * Answers being read hold their bytes until complete, and a host may send almost MAX_RESPONSE_BYTES and then stall
 * until the deadline: many such calls (a tenant's workspaces in a few namespaces) would take the process past its
 * memory limit, for every tenant. An answer may grow past SMALL_ANSWER_BYTES only while all answers together hold
 * less than this; beyond, it is dropped as Transient and retried.
 */
export const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
/** Always read (a list of about 125 endpoints): memory is then bounded by the calls in flight, which are bounded. */
export const SMALL_ANSWER_BYTES = 256 * 1024;

class ResponseTooLarge extends Error {}
class TooManyBufferedBytes extends Error {}

export class HttpTransport {
  private readonly pools = new Map<string, Pool>();
  private closed = false;
  /** Bytes held now by the answers being read. */
  private bufferedBytes = 0;
  /** An agent per proxy URL (HTTPS_PROXY, HTTP_PROXY: two at most), each with pools of its own. */
  private readonly proxies = new Map<string, ProxyAgent>();
  /** The version of `trust` the pools and agents were made with. */
  private trustVersion: number;

  constructor(private readonly options: HttpTransportOptions = {}) {
    this.trustVersion = options.trust?.version ?? 0;
  }

  /** TLS options of every connection: the trusted certificates when there are extra ones, else Node's defaults. */
  private tls(): { secureContext?: SecureContext } {
    return this.options.trust ? { secureContext: this.options.trust.secureContext } : {};
  }

  /**
   * After the trusted certificates changed, the pools and agents made with the old ones are closed (calls in flight
   * finish) and new connections are made with the new ones.
   */
  private retireIfTrustChanged(): void {
    const version = this.options.trust?.version ?? 0;
    if (version === this.trustVersion) return;
    this.trustVersion = version;
    const old = [...this.pools.values(), ...this.proxies.values()];
    this.pools.clear();
    this.proxies.clear();
    for (const dispatcher of old) void dispatcher.close().catch(() => undefined);
  }

  /** The agent that tunnels through `proxy` (a URL from proxyFor), created on first use. */
  private agentVia(proxy: string): ProxyAgent {
    let agent = this.proxies.get(proxy);
    if (!agent) {
      if (this.closed) throw new Error('HTTP transport is closed');
      const url = new URL(proxy);
      // Go sends whatever userinfo the URL has, decoded, as Basic credentials; the URL given to undici holds none
      const credentials = url.username !== '' || url.password !== '' ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined;
      url.username = '';
      url.password = '';
      agent = new ProxyAgent({
        uri: url.href,
        ...(credentials !== undefined && { token: `Basic ${Buffer.from(credentials).toString('base64')}` }),
        // a tunnel for http:// hosts too, never a request the proxy forwards (they are loopback hosts, sent only to a proxy on loopback: proxyFor)
        proxyTunnel: true,
        // the proxy's own certificate (https://) and the workspace's through the tunnel
        proxyTls: this.tls(),
        requestTls: this.tls(),
        connections: this.options.connectionsPerOrigin ?? 8,
        keepAliveTimeout: this.options.keepAliveTimeoutMs ?? 30_000,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.proxies.set(proxy, agent);
    }
    return agent;
  }

  /** The pool of an origin, created on first use. `origin` is checked and normalised. */
  poolFor(origin: string): Pool {
    return this.poolOf(normaliseHost(origin));
  }

  /** The pool of an origin already normalised. */
  private poolOf(key: string): Pool {
    let pool = this.pools.get(key);
    if (pool) {
      // most recently used last (a Map keeps insertion order)
      this.pools.delete(key);
      this.pools.set(key, pool);
    } else {
      if (this.closed) throw new Error('HTTP transport is closed');
      pool = new Pool(key, {
        connections: this.options.connectionsPerOrigin ?? 8,
        keepAliveTimeout: this.options.keepAliveTimeoutMs ?? 30_000,
        // The per-request AbortSignal is the deadline; these only bound a stalled socket.
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: this.tls(),
      });
      this.pools.set(key, pool);
      for (const [oldest, idle] of this.pools) {
        if (this.pools.size <= (this.options.maxOrigins ?? 512)) break;
        this.pools.delete(oldest);
        // close() lets requests in flight finish; the next request to that origin opens a new pool
        void idle.close().catch(() => undefined);
      }
    }
    return pool;
  }

  get origins(): string[] {
    return [...this.pools.keys()];
  }

  async send(origin: string, req: HttpRequest): Promise<HttpResponse> {
    if (this.closed) throw new Error('HTTP transport is closed');
    this.retireIfTrustChanged();
    const key = normaliseHost(origin);
    // a proxy agent serves every origin, so it is told which; a pool is its origin's own
    const via = this.options.proxy && proxyFor(new URL(key), this.options.proxy);
    const dispatcher = via ? this.agentVia(via) : this.poolOf(key);
    const deadline = startDeadline(req.timeoutMs, req.signal);
    const pathOnly = req.path.split('?')[0] ?? req.path;
    try {
      const res = await dispatcher.request({
        origin: key,
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body ?? null,
        signal: deadline.signal,
        idempotent: req.method === 'GET',
      });
      const bodyText = await this.readCapped(res.body);
      return { status: res.statusCode, headers: res.headers as HeaderBag, bodyText };
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (err instanceof ResponseTooLarge) {
        throw new DatabricksError({ kind: 'InvalidResponse', message: `${req.method} ${pathOnly} failed: ${err.message}`, method: req.method, path: pathOnly });
      }
      if (err instanceof TooManyBufferedBytes) {
        const message = `${req.method} ${pathOnly} failed: ${err.message}`;
        throw new DatabricksError({ kind: 'Transient', message, errorCode: 'CLIENT_MEMORY_BOUND', method: req.method, path: pathOnly, requestMaybeSent: true });
      }
      throw errorFromNetworkFailure({
        err,
        method: req.method,
        path: pathOnly,
        timedOut: deadline.timedOut,
        timeoutMs: req.timeoutMs,
        secrets: req.secrets,
      });
    } finally {
      deadline.release();
    }
  }

  /**
   * The body as text, refusing (and dropping the connection) once it passes the size cap, or once it is past
   * SMALL_ANSWER_BYTES while the answers being read hold more than the process-wide bound.
   */
  private async readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }): Promise<string> {
    const limit = this.options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    const bound = this.options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        this.bufferedBytes += chunk.length;
        if (size > limit) {
          body.destroy();
          throw new ResponseTooLarge(`the response body is larger than ${limit} bytes; it was not read`);
        }
        if (size > SMALL_ANSWER_BYTES && this.bufferedBytes > bound) {
          body.destroy();
          throw new TooManyBufferedBytes(
            `the answers being read hold more than ${bound} bytes together (hosts sending large answers slowly); this one was dropped after ${size} bytes and is retried`,
          );
        }
        chunks.push(chunk);
      }
      return Buffer.concat(chunks).toString('utf8');
    } finally {
      this.bufferedBytes -= size;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    const proxies = [...this.proxies.values()];
    this.proxies.clear();
    await Promise.all([...pools, ...proxies].map((dispatcher) => dispatcher.close()));
  }
}

/** Shared by every client of the process, so that one workspace gets one pool. */
export const sharedTransport = new HttpTransport();

/**
 * The transport for a process's clients: through the proxy the environment names (proxyFromEnvironment), or direct;
 * trusting `trust`'s certificates besides Node's defaults when given (--ca-bundle).
 */
export function transportFromEnvironment(env: NodeJS.ProcessEnv, trust?: TrustedCertificates): { transport: HttpTransport; proxy?: ProxySettings } {
  const proxy = proxyFromEnvironment(env);
  if (!proxy && !trust) return { transport: sharedTransport };
  return { transport: new HttpTransport({ ...(proxy && { proxy }), ...(trust && { trust }) }), ...(proxy && { proxy }) };
}

let cachedVersion: string | undefined;

/** pt-operator's version from its package.json (found upwards from this file, in src/ and dist/ alike). */
export function operatorVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pt-operator' && typeof pkg.version === 'string') return (cachedVersion = pkg.version);
    } catch {
      // no package.json here: keep going up
    }
    dir = dirname(dir);
  }
  return (cachedVersion = '0.0.0-unknown');
}

/** `pt-operator/<version> node/<version> os/<platform> auth/<type>`, in the SDKs' key/value style. */
export function userAgent(authType: string): string {
  return `pt-operator/${operatorVersion()} node/${process.versions.node} os/${process.platform} auth/${authType}`;
}
