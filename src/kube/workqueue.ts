import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit.js';
import { namespaceOfKey } from './types.js';

/** The longest delay setTimeout holds (2^31-1 ms); Node fires a longer one at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Observations a workqueue reports (implemented with prom-client in metrics.ts; optional in tests). */
export interface WorkQueueMetrics {
  depth(n: number): void;
  added(): void;
  queueLatency(seconds: number): void;
  workDuration(seconds: number): void;
  retried(): void;
}

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
  /** Milliseconds for delays and latencies; monotonic by default, so a wall clock set back or ahead moves no key. */
  now?: () => number;
}

/** First in, first out, with O(1) shift (an array's shift() copies). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }
}


/**
 * A queue of keys with client-go's guarantees: a key waiting twice is processed once (dirty set), a key is never
 * handed to two workers at once (processing set; re-adds while processing are replayed on done()), and delayed
 * adds keep the earliest ready time. Keys, never object copies, so a worker always reads the latest state.
 *
 * Unlike client-go's, it is fair between namespaces (tenants): each namespace's keys wait in a lane of their own, first
 * in, first out, and the lanes are taken in turn. One namespace's backlog (500 objects) therefore delays another
 * namespace's key by one of its keys per worker, not by all of them.
 */
export class WorkQueue {
  /** queued keys per namespace; a lane exists while it holds keys */
  private readonly lanes = new Map<string, Fifo<string>>();
  /** the namespaces with queued keys, in the order they are served */
  private readonly turns = new Fifo<string>();
  private queued = 0;
  private readonly dirty = new Set<string>();
  /** keys put back unstarted (putBack): their next add is not counted as one */
  private readonly putBackKeys = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { readyAt: number; timer: NodeJS.Timeout }>();
  /** keys waiting out an error backoff (not a poll), so they can be retried at once when the cause is gone */
  private readonly backingOff = new Set<string>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private readonly rateLimiter: RateLimiter;
  private readonly now: () => number;

  constructor(private readonly options: WorkQueueOptions = {}) {
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter();
    this.now = options.now ?? (() => performance.now());
  }

  get length(): number {
    return this.queued;
  }
  get inFlight(): number {
    return this.processing.size;
  }
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    if (!this.putBackKeys.delete(key)) this.options.metrics?.added();
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return; // done() puts it back
    this.push(key);
  }

  /** Adds `key` after `delayMs`; an earlier pending time for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const readyAt = this.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    if (pending) clearTimeout(pending.timer);
    this.arm(key, readyAt, delayMs);
  }

  /**
   * A timer for `delayMs`, in steps Node can hold (it fires a longer one, over 24.8 days, after 1 ms). Counted on the
   * timers' own clock, as a single timer would be, not on the wall clock, which may be set back.
   */
  private arm(key: string, readyAt: number, delayMs: number): void {
    const step = Math.min(delayMs, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      if (delayMs > step) return this.arm(key, readyAt, delayMs - step);
      this.waiting.delete(key);
      this.backingOff.delete(key);
      this.add(key);
    }, step);
    timer.unref();
    this.waiting.set(key, { readyAt, timer });
  }

  /** Adds `key` after its rate-limited backoff (one more failure counted), at most `maxDelayMs` when given. */
  addRateLimited(key: string, maxDelayMs = Infinity): void {
    if (this.shuttingDown) return;
    this.options.metrics?.retried();
    this.addAfter(key, Math.min(this.rateLimiter.when(key), maxDelayMs));
    if (this.waiting.has(key)) this.backingOff.add(key);
  }

  forget(key: string): void {
    this.rateLimiter.forget(key);
    this.backingOff.delete(key);
  }

  /**
   * The API server answers again after an outage: keys that failed during it are retried now, with their
   * backoff history cleared, instead of waiting out delays that grew during the outage (up to 1,000 s).
   * Keys waiting for a poll are left alone. Returns how many keys were moved.
   */
  retryBackedOffNow(): number {
    const keys = [...this.backingOff];
    this.backingOff.clear();
    for (const key of keys) {
      const pending = this.waiting.get(key);
      if (pending) clearTimeout(pending.timer);
      this.waiting.delete(key);
      this.rateLimiter.forget(key);
      this.add(key);
    }
    return keys.length;
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to process, or undefined once the queue is shut down. Call done(key) when finished. */
  get(): Promise<string | undefined> {
    if (this.length > 0) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /**
   * `key` was taken but not started (its namespace waits its turn, controller.ts): back after `delayMs`. For the
   * metrics neither a piece of work nor a new add, so a namespace waiting many times does not inflate them.
   */
  putBack(key: string, delayMs: number): void {
    this.startedAt.delete(key);
    this.processing.delete(key);
    // an add made since it was taken is the same look, after the delay (pushed now, it would be taken at once again)
    this.dirty.delete(key);
    this.putBackKeys.add(key);
    this.addAfter(key, Math.max(1, delayMs));
    if (this.processing.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  done(key: string): void {
    const started = this.startedAt.get(key);
    if (started !== undefined) this.options.metrics?.workDuration((this.now() - started) / 1000);
    this.startedAt.delete(key);
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Stops intake: queued and delayed keys are dropped, idle workers are released; in-flight keys finish. */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.lanes.clear();
    while (this.turns.length > 0) this.turns.shift();
    this.queued = 0;
    this.dirty.clear();
    this.options.metrics?.depth(0);
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  /** Shuts down and waits until in-flight keys are done, at most `timeoutMs`. Resolves true if fully drained. */
  async shutdownWithDrain(timeoutMs: number): Promise<boolean> {
    this.shutdown();
    if (this.processing.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return drained;
  }

  private push(key: string): void {
    const lane = namespaceOfKey(key);
    let keys = this.lanes.get(lane);
    if (!keys) {
      keys = new Fifo<string>();
      this.lanes.set(lane, keys);
      this.turns.push(lane);
    }
    keys.push(key);
    this.queued++;
    const getter = this.getters.shift();
    if (getter) {
      getter(this.take());
      return;
    }
    this.options.metrics?.depth(this.length);
  }

  /** The next key of the namespace whose turn it is; that namespace goes to the back of the turns. */
  private take(): string {
    const lane = this.turns.shift() as string;
    const keys = this.lanes.get(lane) as Fifo<string>;
    const key = keys.shift() as string;
    this.queued--;
    if (keys.length > 0) this.turns.push(lane);
    else this.lanes.delete(lane);
    this.dirty.delete(key);
    this.processing.add(key);
    // A look scheduled before this one started is this one: the reconcile sees the latest state and says when
    // to look next. Kept, such a timer (a rollout's next look, the object woken early when its rollout ended)
    // ran one more reconcile, and one more read, right after (issue 12: reads per endpoint). Adds made while
    // the key is processed still count.
    const pending = this.waiting.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.waiting.delete(key);
      this.backingOff.delete(key);
    }
    const t = this.now();
    const added = this.addedAt.get(key);
    if (added !== undefined) this.options.metrics?.queueLatency((t - added) / 1000);
    this.addedAt.delete(key);
    this.startedAt.set(key, t);
    this.options.metrics?.depth(this.length);
    return key;
  }
}
