// HTTP on undici: one keep-alive connection pool per workspace origin, a deadline per request, and
// network failures turned into classified errors. No retries here (see client.ts).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startDeadline } from './deadline.js';
import { DatabricksError, errorFromNetworkFailure, type HeaderBag } from './errors.js';
import { normaliseHost } from './host.js';

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
}

/** Generous for the serving API (a list of 1000 endpoints is about 2 MB), small enough to bound memory. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

class ResponseTooLarge extends Error {}

export class HttpTransport {
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  constructor(private readonly options: HttpTransportOptions = {}) {}

  /** The pool of an origin, created on first use. `origin` is checked and normalised. */
  poolFor(origin: string): Pool {
    const key = normaliseHost(origin);
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
    const pool = this.poolFor(origin);
    const deadline = startDeadline(req.timeoutMs, req.signal);
    const pathOnly = req.path.split('?')[0] ?? req.path;
    try {
      const res = await pool.request({
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body ?? null,
        signal: deadline.signal,
        idempotent: req.method === 'GET',
      });
      const bodyText = await readCapped(res.body, this.options.maxResponseBytes ?? MAX_RESPONSE_BYTES);
      return { status: res.statusCode, headers: res.headers as HeaderBag, bodyText };
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
      if (err instanceof ResponseTooLarge) {
        throw new DatabricksError({ kind: 'InvalidResponse', message: `${req.method} ${pathOnly} failed: ${err.message}`, method: req.method, path: pathOnly });
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

  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

/** The body as text, refusing (and dropping the connection) once it passes `limit` bytes. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new ResponseTooLarge(`the response body is larger than ${limit} bytes; it was not read`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Shared by every client of the process, so that one workspace gets one pool. */
export const sharedTransport = new HttpTransport();

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
