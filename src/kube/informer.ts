import { pino } from 'pino';
import type { KubeClient } from './client.js';
import { resourcePath } from './client.js';
import { isGone, isNotFound, KubeApiError } from './errors.js';
import type { Logger } from './logger.js';
import { type Backoff, informerReconnectBackoff } from './ratelimit.js';
import { type IndexFunction, IndexedCache } from './indexed-cache.js';
import { diffRelist } from './relist.js';
import { randomBetween, sleep } from './sleep.js';
import { apiVersionOf, objectKey, type KubeObject, type ResourceType } from './types.js';

export interface EventHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  resource: ResourceType;
  /** Namespaces to watch; omitted or empty means all namespaces (one list+watch per namespace otherwise). */
  namespaces?: string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** Relist this often (± 10 % jitter) to catch anything a watch missed. Default 10 min. */
  resyncIntervalMs?: number;
  /** Watch timeoutSeconds is drawn from this range so reconnects spread out. Default [300, 600]. */
  watchTimeoutSeconds?: [number, number];
  /** The watchdog recycles a watch that delivered nothing (not even a bookmark) for this long. Default 5 min. */
  quietWatchLimitMs?: number;
  /** List page size. Default 500. */
  pageSize?: number;
  /** While the API does not serve the resource (404: its CRD is not installed), look again this often. Default 2 s. */
  missingResourceRetryMs?: number;
  log?: Logger;
  /** Receives every change of `stats` (the Manager feeds Prometheus counters from it). */
  onStat?: (stat: keyof InformerStats) => void;
  /**
   * Applied to every object before it is cached (keep only what the controller reads). Default:
   * `stripUnreadMetadata` (managedFields and kubectl's last-applied copy).
   */
  transform?: <T extends KubeObject>(obj: T) => T;
  /** The API server answered again after list/watch errors (an outage is over). */
  onRecovered?: () => void;
}

/** kubectl's client-side apply keeps a copy of the whole applied object here; no controller reads it. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The informers' default transform, as controller-runtime's TransformStripManagedFields plus kubectl's
 * last-applied copy: the field managers' bookkeeping and a second copy of the spec are often most of an object,
 * and no controller reads them. Everything else (spec, status, every other annotation) is kept as it is.
 */
export function stripUnreadMetadata<T extends KubeObject>(obj: T): T {
  const { managedFields, annotations } = obj.metadata ?? {};
  const lastApplied = annotations?.[LAST_APPLIED_ANNOTATION] !== undefined;
  if (managedFields === undefined && !lastApplied) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  if (lastApplied) {
    const { [LAST_APPLIED_ANNOTATION]: _copy, ...kept } = annotations!;
    metadata.annotations = kept;
  }
  return { ...obj, metadata };
}

/** Counters that show what the informer went through (exposed for metrics, logs and tests). */
export interface InformerStats {
  lists: number;
  watches: number;
  goneRelists: number;
  watchdogRecycles: number;
  errors: number;
}

interface Scope {
  namespace: string | undefined;
  resourceVersion: string | undefined;
  synced: boolean;
  lastActivity: number;
  watchAbort: AbortController | undefined;
  /** Why we aborted our own watch, so the loop knows it is not a failure. */
  recycleReason: 'watchdog' | 'resync' | undefined;
  resyncTimer: NodeJS.Timeout | undefined;
  /** The resource was not served (404) and we said so; cleared once a list succeeds. */
  missingResourceLogged?: boolean;
  /** list/watch failed since the last success */
  failing?: boolean;
  /** Delays between failed list/watch attempts; reset when the API server answers again. */
  backoff: Backoff;
}

/**
 * List+watch of one resource type into a cache, in the manner of client-go's reflector: watch from the list's
 * resourceVersion with bookmarks; on 410 relist and emit the differences; restart with backoff on any error and
 * never give up; recycle quiet watches; relist periodically.
 */
export class Informer<T extends KubeObject> {
  readonly stats: InformerStats = { lists: 0, watches: 0, goneRelists: 0, watchdogRecycles: 0, errors: 0 };
  private readonly cache = new IndexedCache<T>();
  private readonly handlers: EventHandlers<T>[] = [];
  private readonly scopes: Scope[];
  private readonly log: Logger;
  private readonly stopController = new AbortController();
  private get missingResourceRetryMs(): number {
    return this.options.missingResourceRetryMs ?? 2_000;
  }
  private loops: Promise<void>[] = [];
  private watchdog: NodeJS.Timeout | undefined;
  private syncWaiters: Array<() => void> = [];
  private get transform(): (obj: T) => T {
    return this.options.transform ?? stripUnreadMetadata;
  }
  private started = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerOptions,
  ) {
    const namespaces = options.namespaces?.length ? options.namespaces : [undefined];
    this.scopes = namespaces.map((namespace) => ({
      namespace,
      resourceVersion: undefined,
      synced: false,
      lastActivity: 0,
      watchAbort: undefined,
      recycleReason: undefined,
      resyncTimer: undefined,
      backoff: informerReconnectBackoff(),
    }));
    this.log = (options.log ?? pino({ level: 'silent' })).child({
      informer: options.resource.plural,
      labelSelector: options.labelSelector,
    });
  }

  get resource(): ResourceType {
    return this.options.resource;
  }

  /** Registers handlers; objects already cached are replayed to them as adds. */
  addHandlers(handlers: EventHandlers<T>): void {
    this.handlers.push(handlers);
    for (const obj of this.cache.values()) this.call(handlers, 'add', obj);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Adds a secondary index of the cache (objects already cached are indexed at once). */
  addIndex(name: string, keysOf: IndexFunction<T>): void {
    this.cache.addIndex(name, keysOf);
  }

  /** The cached objects whose index `name` holds `value`. */
  byIndex(name: string, value: string): T[] {
    return this.cache.byIndex(name, value);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.cache.values()];
    const inNamespace: T[] = [];
    for (const o of this.cache.values()) if (o.metadata.namespace === namespace) inNamespace.push(o);
    return inNamespace;
  }

  hasSynced(): boolean {
    return this.scopes.every((s) => s.synced);
  }

  /** Resolves true once every scope has been listed, false if `signal` aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.hasSynced()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.stopController.signal.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      });
    });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loops = this.scopes.map((scope) => this.run(scope));
    const quietLimit = this.options.quietWatchLimitMs ?? 300_000;
    this.watchdog = setInterval(() => this.checkQuietWatches(quietLimit), Math.max(100, Math.min(quietLimit / 4, 10_000)));
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    clearInterval(this.watchdog);
    for (const scope of this.scopes) {
      clearTimeout(scope.resyncTimer);
      scope.watchAbort?.abort();
    }
    await Promise.all(this.loops);
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(scope: Scope): Promise<void> {
    const { backoff } = scope;
    let consecutiveGone = 0;
    while (!this.stopped) {
      try {
        if (scope.resourceVersion === undefined) await this.relist(scope);
        if (scope.missingResourceLogged) {
          scope.missingResourceLogged = false;
          this.log.info({ resource: this.options.resource.plural, namespace: scope.namespace }, 'the resource is served now; watching it');
        }
        const began = Date.now();
        await this.watch(scope);
        consecutiveGone = 0;
        // a server that closes every watch at once must not make us spin
        if (Date.now() - began < 1_000) await sleep(backoff.next(), this.stopController.signal);
      } catch (err) {
        if (this.stopped) break;
        const reason = scope.recycleReason;
        scope.recycleReason = undefined;
        if (reason === 'watchdog') {
          this.log.info({ namespace: scope.namespace }, 'watch was quiet too long; restarting it');
          continue;
        }
        if (reason === 'resync') {
          scope.resourceVersion = undefined;
          continue;
        }
        if (isGone(err)) {
          this.count('goneRelists');
          this.log.info({ namespace: scope.namespace }, 'resourceVersion expired (410); relisting');
          scope.resourceVersion = undefined;
          // a second 410 in a row without a good watch in between would otherwise spin
          if (++consecutiveGone > 1) await sleep(backoff.next(), this.stopController.signal);
          continue;
        }
        this.count('errors');
        scope.failing = true;
        if (isNotFound(err)) {
          // The API does not serve this resource: its CRD is not installed (yet). Say so once, in words, and look
          // again every few seconds (not with a backoff that grows to 30 s), so installing the CRDs takes effect at once.
          // A watch that 404s (the CRD deleted under it) lists again next: only a list that answers shows it is served.
          scope.resourceVersion = undefined;
          if (!scope.missingResourceLogged) {
            scope.missingResourceLogged = true;
            const { group, version, plural } = this.options.resource;
            const crd = group === '' ? plural : `${plural}.${group}`;
            this.log.error(
              { resource: `${group}/${version}/${plural}`, namespace: scope.namespace },
              `the API server does not serve ${crd} ${version}: is the CustomResourceDefinition installed? Install the CRDs (kubectl apply -f crds/, or the chart with crds.install=true); checking again every ${Math.round(this.missingResourceRetryMs / 1000)}s`,
            );
          }
          await sleep(this.missingResourceRetryMs, this.stopController.signal);
          continue;
        }
        const delay = backoff.next();
        this.log.warn({ err: describe(err), namespace: scope.namespace, retryInMs: Math.round(delay) }, 'list/watch failed; retrying');
        await sleep(delay, this.stopController.signal);
      }
    }
  }

  private async relist(scope: Scope): Promise<void> {
    const listed = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.client.list<T>(
        this.options.resource,
        {
          namespace: scope.namespace,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          limit: this.options.pageSize ?? 500,
          continue: continueToken,
        },
        this.stopController.signal,
      );
      for (const item of page.items) {
        // list items come without apiVersion/kind; events and owner references need them
        item.apiVersion ??= apiVersionOf(this.options.resource);
        item.kind ??= this.options.resource.kind;
        listed.set(objectKey(item), this.transform(item));
      }
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    this.count('lists');
    this.recovered(scope);

    const cachedInScope = new Map<string, T>();
    for (const [key, obj] of this.cache.entries()) if (inScope(obj, scope)) cachedInScope.set(key, obj);
    const diff = diffRelist(cachedInScope, listed);
    for (const obj of diff.deleted) this.cache.delete(objectKey(obj));
    for (const obj of listed.values()) this.cache.set(objectKey(obj), obj);
    for (const obj of diff.deleted) this.emit('delete', obj);
    for (const obj of diff.added) this.emit('add', obj);
    for (const { oldObj, newObj } of diff.updated) this.emit('update', newObj, oldObj);

    scope.resourceVersion = resourceVersion;
    this.scheduleResync(scope);
    if (!scope.synced) {
      scope.synced = true;
      if (this.hasSynced()) for (const wake of this.syncWaiters.splice(0)) wake();
    }
  }

  private recovered(scope: Scope): void {
    if (!scope.failing) return;
    scope.failing = false;
    // the next outage starts again from the first step, not from where this one left off
    scope.backoff.reset();
    this.options.onRecovered?.();
  }

  private async watch(scope: Scope): Promise<void> {
    const [minTimeout, maxTimeout] = this.options.watchTimeoutSeconds ?? [300, 600];
    const abort = new AbortController();
    scope.watchAbort = abort;
    scope.lastActivity = Date.now();
    this.count('watches');
    const events = this.client.watch<T>(
      resourcePath(this.options.resource, scope.namespace),
      {
        resourceVersion: scope.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: randomBetween(minTimeout, maxTimeout),
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
      },
      abort.signal,
    );
    try {
      for await (const event of events) {
        scope.lastActivity = Date.now();
        this.recovered(scope);
        if (event.type === 'ERROR') {
          const status = event.object;
          throw new KubeApiError(status.code ?? 500, status.reason ?? '', `watch error: ${status.message ?? ''}`);
        }
        scope.resourceVersion = event.object.metadata.resourceVersion ?? scope.resourceVersion;
        if (event.type === 'BOOKMARK') continue;
        const obj = this.transform(event.object);
        const key = objectKey(obj);
        const old = this.cache.get(key);
        if (event.type === 'DELETED') {
          this.cache.delete(key);
          this.emit('delete', obj);
        } else {
          this.cache.set(key, obj);
          if (old === undefined) this.emit('add', obj);
          else this.emit('update', obj, old);
        }
      }
    } finally {
      scope.watchAbort = undefined;
    }
    // A server-side close at timeoutSeconds is normal; the loop re-watches from the last resourceVersion.
    // If we aborted it ourselves, surface that to the loop so it can act on the reason.
    if (scope.recycleReason !== undefined) throw new Error(`watch recycled (${scope.recycleReason})`);
  }

  private count(stat: keyof InformerStats): void {
    this.stats[stat]++;
    this.options.onStat?.(stat);
  }

  private checkQuietWatches(quietLimitMs: number): void {
    const now = Date.now();
    for (const scope of this.scopes) {
      if (scope.watchAbort && scope.recycleReason === undefined && now - scope.lastActivity > quietLimitMs) {
        this.count('watchdogRecycles');
        scope.recycleReason = 'watchdog';
        scope.watchAbort.abort();
      }
    }
  }

  private scheduleResync(scope: Scope): void {
    clearTimeout(scope.resyncTimer);
    const interval = this.options.resyncIntervalMs ?? 600_000;
    scope.resyncTimer = setTimeout(
      () => {
        if (scope.watchAbort && scope.recycleReason === undefined) {
          scope.recycleReason = 'resync';
          scope.watchAbort.abort();
        } else if (!scope.watchAbort) {
          // between attempts: make the next attempt a relist
          scope.resourceVersion = undefined;
        }
      },
      randomBetween(interval * 0.9, interval * 1.1),
    );
    scope.resyncTimer.unref();
  }

  private emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const h of this.handlers) this.call(h, kind, obj, old);
  }

  private call(h: EventHandlers<T>, kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    try {
      if (kind === 'add') h.add?.(obj);
      else if (kind === 'update') h.update?.(old as T, obj);
      else h.delete?.(obj);
    } catch (err) {
      // a faulty handler must not stop the informer
      this.log.error({ err: describe(err), key: objectKey(obj) }, `${kind} handler threw`);
    }
  }
}

function inScope(obj: KubeObject, scope: Scope): boolean {
  return scope.namespace === undefined || obj.metadata.namespace === scope.namespace;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
