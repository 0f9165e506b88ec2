import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { BoundedBackoffError, TerminalError } from './errors.js';
import type { EventHandlers } from './informer.js';
import type { Logger } from './logger.js';
import type { ReconcileResult, RuntimeMetrics } from './metrics.js';
import type { RateLimiter } from './ratelimit.js';
import { namespaceOfKey, objectKey, type KubeObject } from './types.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileContext {
  /** Aborted when shutdown's drain bound runs out; write final status with a fresh signal. */
  signal: AbortSignal;
  log: Logger;
}

/** Return `{ requeueAfterMs }` to poll; throw to retry with per-key backoff (TerminalError: do not retry; BoundedBackoffError: at most its delay). */
export type ReconcileOutcome = { requeueAfterMs?: number } | void;

/**
 * A reconcile's result: its outcome, or `{ finishing }` when what is left is only writing back what it decided
 * (status, Events). The worker then takes the next key while `finishing` runs; the key stays locked until it
 * settles, and its outcome (or error) is handled as a returned one would be.
 */
export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<ReconcileOutcome | { finishing: Promise<ReconcileOutcome> }>;

/** Anything that delivers add/update/delete of objects; an Informer in practice. */
export interface EventSource<T> {
  addHandlers(handlers: EventHandlers<T>): void;
}

/** A secondary source: changes to its objects enqueue the primary keys that `map` returns. */
export interface SecondaryWatch<S extends KubeObject> {
  informer: EventSource<S>;
  map: (obj: S) => string[];
  /** Updates for which this returns false enqueue nothing (the primaries do not depend on what changed). */
  updateFilter?: (oldObj: S, newObj: S) => boolean;
  /**
   * Enqueue at most this many mapped keys per second: one secondary change that maps to thousands of primaries
   * (a workspace and its endpoints) spreads their reconciles, and the reads they make, instead of a burst.
   */
  keysPerSecond?: number;
}

/**
 * A reconcile still running after `afterMs` (a Databricks host that answers slowly or never) gives its worker back
 * and goes on in the background, its key still locked; while a namespace has `perNamespace` such reconciles
 * running, its next keys are put back for `deferMs` instead of started. So one tenant's hanging calls hold at most
 * `perNamespace` + the workers' reconciles, and never all the workers for longer than `afterMs`.
 */
export interface SlowReconcileLimits {
  afterMs: number;
  perNamespace: number;
  /** How soon a key put back for its namespace is tried again. */
  deferMs?: number;
}

export interface ControllerOptions<T extends KubeObject> {
  name: string;
  /** The primary informer; its objects' keys are enqueued on every add, update and delete. */
  primary: EventSource<T>;
  /** Updates of the primary for which this returns false are not enqueued (e.g. status-only writes). */
  updateFilter?: (oldObj: T, newObj: T) => boolean;
  // The informers' element types differ per watch, so `any` is the honest type here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  watches?: SecondaryWatch<any>[];
  reconcile: Reconcile;
  maxConcurrentReconciles?: number;
  /** Unset: a reconcile holds its worker however long it takes. */
  slowReconciles?: SlowReconcileLimits;
  rateLimiter?: RateLimiter;
  /** When this says no (this replica's lease may have run out), a key is put back unstarted. */
  mayStart?: () => boolean;
  metrics?: RuntimeMetrics;
  log?: Logger;
}

/** How long a reconcile may take to return after its signal was aborted at shutdown. */
const ABORT_GRACE_MS = 2_000;

const DEFAULT_SLOW_DEFER_MS = 1_000;
/** How soon a key put back because this replica may not act is tried again (by then it leads again, or has stopped). */
const MAY_NOT_START_DEFER_MS = 1_000;
const SLOW = Symbol('slow');

/** Skips updates that changed neither spec (generation), labels, annotations, finalizers nor deletion. */
export function meaningfulChange(oldObj: KubeObject, newObj: KubeObject): boolean {
  const a = oldObj.metadata;
  const b = newObj.metadata;
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {}) ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? [])
  );
}

/** Adds `keys` now, or the i-th after i/keysPerSecond seconds (a key already due sooner keeps its time). */
export function enqueuePaced(queue: Pick<WorkQueue, 'add' | 'addAfter'>, keys: readonly string[], keysPerSecond?: number): void {
  keys.forEach((key, i) => {
    if (!keysPerSecond || i === 0) queue.add(key);
    else queue.addAfter(key, Math.round((i * 1000) / keysPerSecond));
  });
}

/**
 * Feeds keys from informers into a workqueue and runs `reconcile` on them with bounded concurrency, in the manner
 * of controller-runtime: success forgets the backoff, requeueAfter forgets it and polls, an error backs off.
 */
export class Controller<T extends KubeObject> {
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly workers: Promise<void>[] = [];
  private readonly inFlight = new AbortController();
  private started = false;
  /** write-backs running beside the workers (Reconcile's `finishing`), and workers waiting for one to end */
  private finishing = 0;
  private readonly finishWaiters: Array<() => void> = [];
  /** reconciles past slowReconciles.afterMs, running without a worker, per namespace ('' for cluster-scoped keys) */
  private readonly slowByNamespace = new Map<string, number>();
  /** the reconciles (and write-backs) running in the background, for stop() to wait for */
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly options: ControllerOptions<T>) {
    this.log = (options.log ?? pino({ level: 'silent' })).child({ controller: options.name });
    this.queue = new WorkQueue({
      rateLimiter: options.rateLimiter,
      metrics: options.metrics?.forQueue(options.name),
    });
    options.metrics?.initController(options.name);
  }

  /**
   * The informers' handlers, added when the controller starts (they replay every cached object as an add): a standby
   * replica's informers run, but its queue stays empty, as controller-runtime's, so workqueue_depth and
   * workqueue_adds_total tell the work of the replica that acts, not a copy of the fleet on each standby.
   */
  private watchSources(): void {
    const { options } = this;
    const enqueue = (obj: T) => this.queue.add(objectKey(obj));
    options.primary.addHandlers({
      add: enqueue,
      update: (oldObj, newObj) => {
        if (!options.updateFilter || options.updateFilter(oldObj, newObj)) enqueue(newObj);
      },
      delete: enqueue,
    });
    for (const watch of options.watches ?? []) {
      const enqueueMapped = (obj: KubeObject) => {
        for (const key of watch.map(obj)) this.queue.add(key);
      };
      watch.informer.addHandlers({
        // Adds come in a burst at start-up, when the primaries are queued anyway (a queued key is not added twice).
        add: enqueueMapped,
        update: (oldObj: KubeObject, newObj: KubeObject) => {
          if (watch.updateFilter && !watch.updateFilter(oldObj, newObj)) return;
          const keys = new Set([...watch.map(oldObj), ...watch.map(newObj)]);
          enqueuePaced(this.queue, [...keys], watch.keysPerSecond);
        },
        delete: enqueueMapped,
      });
    }
  }

  get name(): string {
    return this.options.name;
  }

  /** Enqueue a key by hand (e.g. from a timer or another controller); before start, nothing: start queues every object. */
  enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.watchSources();
    const workers = this.options.maxConcurrentReconciles ?? 1;
    this.options.metrics?.maxConcurrentReconciles.set({ controller: this.name }, workers);
    for (let i = 0; i < workers; i++) this.workers.push(this.work());
  }

  /**
   * Stops intake and lets in-flight reconciles finish for up to `drainTimeoutMs`; after that their signal aborts.
   * Resolves true when everything finished within the bound.
   */
  async stop(drainTimeoutMs: number): Promise<boolean> {
    const drained = await this.queue.shutdownWithDrain(drainTimeoutMs);
    if (drained) {
      await Promise.all([...this.workers, ...this.background]);
      return true;
    }
    this.log.warn({ inFlight: this.queue.inFlight }, 'reconciles still running after the drain bound; aborting them');
    this.inFlight.abort();
    // a reconcile that ignores its signal must not hold shutdown forever: give it one more short grace; those gone to
    // the background count too, or the Lease could go to another replica while they still act
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.workers, ...this.background]),
      new Promise((resolve) => (timer = setTimeout(resolve, ABORT_GRACE_MS))),
    ]);
    clearTimeout(timer);
    return false;
  }

  /** Aborts the signal of every running reconcile at once (leadership lost: nothing may act any more). */
  abortInFlight(): void {
    this.inFlight.abort();
  }

  private async work(): Promise<void> {
    for (;;) {
      // At most two write-backs per worker run beside the workers, so writes cannot pile up.
      while (this.finishing >= 2 * (this.options.maxConcurrentReconciles ?? 1)) await new Promise<void>((resolve) => this.finishWaiters.push(resolve));
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.options.mayStart && !this.options.mayStart()) {
        this.queue.putBack(key, MAY_NOT_START_DEFER_MS);
        continue;
      }
      if (this.deferredForNamespace(key)) continue;
      const m = this.options.metrics;
      const labels = { controller: this.name };
      m?.activeWorkers.inc(labels);
      const reconciled = this.reconcileOne(key);
      const outcome = await this.unlessSlow(reconciled);
      m?.activeWorkers.dec(labels);
      if (outcome === SLOW) {
        this.finishInBackground(key, reconciled);
        continue;
      }
      if (!outcome) {
        this.queue.done(key);
        continue;
      }
      this.finishing++;
      void outcome.finishing.then(() => {
        this.finishing--;
        this.queue.done(key);
        this.finishWaiters.shift()?.();
      });
    }
  }

  /** Puts `key` back, unstarted, when its namespace already has its share of slow reconciles running. */
  private deferredForNamespace(key: string): boolean {
    const limits = this.options.slowReconciles;
    if (!limits || (this.slowByNamespace.get(namespaceOfKey(key)) ?? 0) < limits.perNamespace) return false;
    this.queue.putBack(key, limits.deferMs ?? DEFAULT_SLOW_DEFER_MS);
    this.options.metrics?.reconcilesDeferred.inc({ controller: this.name });
    return true;
  }

  /** What `reconciled` resolves to, or SLOW when it is still running after slowReconciles.afterMs. */
  private async unlessSlow<R>(reconciled: Promise<R>): Promise<R | typeof SLOW> {
    const afterMs = this.options.slowReconciles?.afterMs;
    if (afterMs === undefined) return reconciled;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([reconciled, new Promise<typeof SLOW>((resolve) => (timer = setTimeout(() => resolve(SLOW), afterMs)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A slow reconcile goes on without its worker; its key stays locked until it (and its write-back) settles. */
  private finishInBackground(key: string, reconciled: Promise<{ finishing: Promise<void> } | undefined>): void {
    const namespace = namespaceOfKey(key);
    const labels = { controller: this.name };
    this.slowByNamespace.set(namespace, (this.slowByNamespace.get(namespace) ?? 0) + 1);
    this.options.metrics?.slowReconciles.inc(labels);
    const settled: Promise<void> = reconciled
      .then((deferred) => deferred?.finishing)
      .finally(() => {
        const left = (this.slowByNamespace.get(namespace) ?? 1) - 1;
        if (left > 0) this.slowByNamespace.set(namespace, left);
        else this.slowByNamespace.delete(namespace);
        this.options.metrics?.slowReconciles.dec(labels);
        this.queue.done(key);
        this.background.delete(settled);
      });
    this.background.add(settled);
  }

  /** Runs the reconcile of `key`; `finishing` when its write-back still runs (see Reconcile). Never rejects. */
  private async reconcileOne(key: string): Promise<{ finishing: Promise<void> } | undefined> {
    const log = this.log.child({ key, reconcileID: randomUUID() });
    const started = performance.now();
    let result: ReconcileOutcome | { finishing: Promise<ReconcileOutcome> };
    try {
      result = await this.options.reconcile(key, { signal: this.inFlight.signal, log });
    } catch (err) {
      this.settle(key, log, started, { err });
      return undefined;
    }
    if (result && 'finishing' in result) {
      const finishing = result.finishing.then(
        (out) => this.settle(key, log, started, { out }),
        (err: unknown) => this.settle(key, log, started, { err }),
      );
      return { finishing };
    }
    this.settle(key, log, started, { out: result });
    return undefined;
  }

  /** What happens to `key` after its reconcile: forget its backoff and poll, or back off after an error. */
  private settle(key: string, log: Logger, started: number, done: { out?: ReconcileOutcome; err?: unknown }): void {
    const m = this.options.metrics;
    const labels = { controller: this.name };
    let result: ReconcileResult;
    try {
      if ('err' in done) throw done.err;
      const requeueAfterMs = done.out?.requeueAfterMs ?? 0;
      // polling resets the error backoff, as in controller-runtime
      this.queue.forget(key);
      if (requeueAfterMs > 0) {
        this.queue.addAfter(key, requeueAfterMs);
        result = 'requeue_after';
      } else {
        result = 'success';
      }
    } catch (err) {
      result = 'error';
      m?.reconcileErrors.inc(labels);
      if (err instanceof TerminalError) {
        m?.terminalReconcileErrors.inc(labels);
        this.queue.forget(key);
        log.error({ err: err.message }, 'reconcile failed terminally; not retrying until the object changes');
      } else {
        this.queue.addRateLimited(key, err instanceof BoundedBackoffError ? err.maxDelayMs : undefined);
        log.warn({ err: err instanceof Error ? err.message : String(err), retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
      }
    }
    m?.reconcileTotal.inc({ ...labels, result });
    m?.reconcileTime.observe(labels, (performance.now() - started) / 1000);
  }
}
