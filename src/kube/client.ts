import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, request as undiciRequest } from 'undici';
import { KubeApiError } from './errors.js';
import { connectionFromFile, connectionFromKubeConfig, type DefaultSources, defaultConnection, type KubeConnection } from './kubeconfig.js';
import type { KubeObject, ObjectList, ResourceType, WatchEvent } from './types.js';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Ask for the object's metadata only (PartialObjectMetadata): what a caller that reads no spec or status needs. */
  metadataOnly?: boolean;
}

/** The API server answers with a PartialObjectMetadata (apiVersion meta.k8s.io/v1) instead of the whole object. */
const METADATA_ONLY_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface KubeClientOptions {
  userAgent?: string;
  /** Called before every request is sent (used to count writes, e.g. in tests and metrics). */
  onRequest?: (method: string, path: string) => void;
}

/** What one request and its answer tell (request metrics, the apiserver's clock). */
export interface KubeResponseInfo {
  method: KubeRequest['method'];
  path: string;
  watch: boolean;
  /** 0 when no answer came (network error, aborted) */
  statusCode: number;
  /** local epoch ms: the request was sent, its response headers arrived */
  sentAt: number;
  receivedAt: number;
  /** the Date header: the apiserver's clock, whole seconds */
  date: string | undefined;
}

export type KubeResponseObserver = (info: KubeResponseInfo) => void;

/** The Kubernetes verb of a request (as the audit log and RBAC name it), its resource and subresource. */
export function describeKubeRequest(method: KubeRequest['method'], path: string, watch: boolean): { verb: string; resource: string; subresource: string } {
  // /api/v1[/namespaces/ns]/plural[/name[/sub]] or /apis/group/version[/namespaces/ns]/plural[/name[/sub]]
  const parts = path.split('?')[0]!.split('/').filter((p) => p !== '');
  // a non-resource URL (/version, /readyz): RBAC's nonResourceURLs, verb by method
  if (parts[0] !== 'api' && parts[0] !== 'apis') return { verb: method.toLowerCase(), resource: `/${parts.join('/')}`, subresource: '' };
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource = '', name, subresource = ''] = rest;
  const verbs: Record<KubeRequest['method'], string> = { GET: name === undefined ? 'list' : 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  return { verb: watch ? 'watch' : verbs[method], resource, subresource };
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';

/** A non-watch response body that stops flowing for this long means the connection is dead. */
const REQUEST_BODY_TIMEOUT_MS = 60_000;

/** Credentials are re-read this often so rotated service-account and exec tokens are picked up. */
const AUTH_REFRESH_MS = 60_000;

/** URL path of a collection or an object: /api/v1/namespaces/ns/configmaps[/name[/status]]. */
export function resourcePath(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  let path = rt.group === '' ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
  if (rt.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${rt.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

/**
 * A thin JSON client for the Kubernetes API. kubeconfig.ts supplies the server, TLS material and credentials;
 * undici does the HTTP, so watches are plain streamed responses we fully control (no whole-request timeout).
 */
export class KubeClient {
  private authHeaders: Record<string, string> = {};
  private authReadAt = 0;
  private readonly observers: KubeResponseObserver[] = [];

  private constructor(
    private readonly connection: KubeConnection,
    private readonly dispatcher: Agent,
    private readonly options: KubeClientOptions,
  ) {}

  static async fromConnection(connection: KubeConnection, options: KubeClientOptions = {}): Promise<KubeClient> {
    const { ca, cert, key, rejectUnauthorized, servername } = connection.tls;
    const dispatcher = new Agent({
      connect: {
        ca,
        cert,
        key,
        ...(rejectUnauthorized !== undefined && { rejectUnauthorized }),
        ...(servername !== undefined && { servername }),
      },
      // HTTP/1.1: one connection per watch, so a broken watch never takes the other requests down with it
      // (and undici's HTTP/2 session can emit an unhandled stream error when closed with watches open).
      allowH2: false,
      // Watches are long-lived and may be quiet for minutes; the informer's watchdog bounds silence instead.
      bodyTimeout: 0,
      headersTimeout: 30_000,
    });
    const client = new KubeClient(connection, dispatcher, options);
    await client.refreshAuth();
    return client;
  }

  /** Any auth method @kubernetes/client-node supports (the caller has loaded it). */
  static async fromKubeConfig(kubeConfig: KubeConfig, options: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.fromConnection(await connectionFromKubeConfig(kubeConfig), options);
  }

  static async fromFile(path: string, options: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.fromConnection(await connectionFromFile(path), options);
  }

  /** $KUBECONFIG, else ~/.kube/config, else the Pod's service account (as kubectl and client-go). */
  static async fromDefault(options: KubeClientOptions = {}, sources: DefaultSources = {}): Promise<KubeClient> {
    return KubeClient.fromConnection(await defaultConnection(sources), options);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** `observer` is told about every request once its answer (or its failure) is known. */
  addResponseObserver(observer: KubeResponseObserver): void {
    this.observers.push(observer);
  }

  private async refreshAuth(): Promise<void> {
    this.authHeaders = await this.connection.authHeaders();
    this.authReadAt = Date.now();
  }

  private async send(req: KubeRequest, accept: string, streaming = false) {
    if (Date.now() - this.authReadAt > AUTH_REFRESH_MS) await this.refreshAuth();
    const url = new URL(this.connection.server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      ...this.authHeaders,
      accept,
      'user-agent': this.options.userAgent ?? 'pt-operator',
    };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    this.options.onRequest?.(req.method, req.path);
    const sentAt = Date.now();
    const observe = (statusCode: number, date: string | undefined) => {
      const info = { method: req.method, path: req.path, watch: req.query?.['watch'] === true, statusCode, sentAt, receivedAt: Date.now(), date };
      for (const observer of this.observers) observer(info);
    };
    let res: Awaited<ReturnType<typeof undiciRequest>>;
    try {
      res = await undiciRequest(url, {
        method: req.method,
        headers,
        body,
        dispatcher: this.dispatcher,
        signal: req.signal,
        // a plain request whose body stalls is a dead connection; a watch may legitimately be quiet for minutes
        bodyTimeout: streaming ? 0 : REQUEST_BODY_TIMEOUT_MS,
      });
    } catch (err) {
      observe(0, undefined);
      throw err;
    }
    const date = res.headers['date'];
    observe(res.statusCode, typeof date === 'string' ? date : undefined);
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      throw apiErrorFrom(res.statusCode, text, req);
    }
    return res;
  }

  async request<T>(req: KubeRequest): Promise<T> {
    const res = await this.send(req, req.metadataOnly ? METADATA_ONLY_ACCEPT : 'application/json');
    const text = await res.body.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  get<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal) {
    return this.request<T>({ method: 'GET', path: resourcePath(rt, namespace, name), signal });
  }

  /**
   * The object's metadata only (PartialObjectMetadata): the API server encodes and sends a few hundred bytes
   * instead of the whole object (a CustomResourceDefinition with its schema is tens of kilobytes).
   */
  getMetadata(rt: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal) {
    return this.request<KubeObject>({ method: 'GET', path: resourcePath(rt, namespace, name), signal, metadataOnly: true });
  }

  list<T extends KubeObject>(
    rt: ResourceType,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string; limit?: number; continue?: string },
    signal?: AbortSignal,
  ) {
    return this.request<ObjectList<T>>({
      method: 'GET',
      path: resourcePath(rt, opts.namespace),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
      },
      signal,
    });
  }

  create<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, obj: T, signal?: AbortSignal) {
    return this.request<T>({ method: 'POST', path: resourcePath(rt, namespace), body: obj, signal });
  }

  replace<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, obj: T, signal?: AbortSignal) {
    return this.request<T>({ method: 'PUT', path: resourcePath(rt, namespace, obj.metadata.name), body: obj, signal });
  }

  patch<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    contentType: string,
    opts: { subresource?: string; signal?: AbortSignal } = {},
  ) {
    return this.request<T>({
      method: 'PATCH',
      path: resourcePath(rt, namespace, name, opts.subresource),
      body: patch,
      contentType,
      signal: opts.signal,
    });
  }

  delete(rt: ResourceType, namespace: string | undefined, name: string, signal?: AbortSignal) {
    return this.request<unknown>({ method: 'DELETE', path: resourcePath(rt, namespace, name), signal });
  }

  /**
   * Streams watch events. The iterator ends when the server closes the watch (timeoutSeconds reached)
   * and throws on transport errors or when `signal` aborts. An in-stream ERROR event is yielded as is.
   */
  async *watch<T extends KubeObject>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    signal: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const res = await this.send({ method: 'GET', path, query: { ...query, watch: true }, signal }, 'application/json', true);
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Buffer, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line !== '') yield JSON.parse(line) as WatchEvent<T>;
      }
    }
  }
}

function apiErrorFrom(statusCode: number, text: string, req: KubeRequest): KubeApiError {
  let reason = '';
  let message = text.slice(0, 500);
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason ?? '';
    message = status.message ?? message;
  } catch {
    // not a Status object; keep the raw (truncated) text
  }
  return new KubeApiError(statusCode, reason, `${req.method} ${req.path}: ${statusCode} ${reason}: ${message}`);
}
