import { namespaceOfKey } from './types.js';

/** Decides how long a key waits before it is retried (client-go's workqueue.RateLimiter). */
export interface RateLimiter {
  /** Delay in ms before `key` may be processed again; counts one more failure for it. */
  when(key: string): number;
  /** Clears the failure history of `key` (after a success, or when polling takes over). */
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** Per-key exponential backoff: base * 2^failures, capped at max. */
export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity for large n, which Math.min caps
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(key: string): void {
    this.failures.delete(key);
  }
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** Overall token bucket (qps, burst) shared by all keys, so a storm of failures cannot hammer the API. */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  when(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1; // reserve a token even if it is in the future, like rate.Limiter.Reserve
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
  /** Whether the bucket has refilled to its burst (nothing reserved, nothing owed). */
  isFull(): boolean {
    return this.tokens + ((this.now() - this.last) / 1000) * this.qps >= this.burst;
  }
}

/**
 * A BucketRateLimiter per namespace of the key ('' for cluster-scoped keys): a tenant's storm of failures paces its own
 * retries and never another namespace's. One bucket shared by every key (controller-runtime's) let one tenant's
 * failing objects run it into a debt every other tenant's retry waited behind (500 failures: 40 s for another
 * namespace's first retry, and growing while they kept failing). Full buckets are dropped when a new namespace comes,
 * so there are no more than the namespaces failing lately.
 */
export class NamespaceBucketRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, BucketRateLimiter>();
  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly now: () => number = Date.now,
  ) {}

  when(key: string): number {
    const namespace = namespaceOfKey(key);
    let bucket = this.buckets.get(namespace);
    if (!bucket) {
      for (const [idle, full] of this.buckets) if (full.isFull()) this.buckets.delete(idle);
      bucket = new BucketRateLimiter(this.qps, this.burst, this.now);
      this.buckets.set(namespace, bucket);
    }
    return bucket.when();
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
  /** Namespaces with a bucket now. */
  get size(): number {
    return this.buckets.size;
  }
}

/** The longest delay of several limiters. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(key: string): number {
    return Math.max(...this.limiters.map((l) => l.when(key)));
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  numRequeues(key: string): number {
    return Math.max(...this.limiters.map((l) => l.numRequeues(key)));
  }
}

/** controller-runtime's default, per-key 5 ms .. 1000 s exponential plus 10 qps / burst 100, with the bucket per namespace. */
export const defaultControllerRateLimiter = (): RateLimiter =>
  new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1_000_000), new NamespaceBucketRateLimiter(10, 100));

/**
 * Jittered exponential backoff for reconnect loops: doubles per consecutive failure from `initialMs`, reset by
 * reset() (a success) or after a healthy spell of `resetAfterMs`. The delay is base × (1 + jitter) with the base
 * capped at max/2, so it never exceeds `maxMs` and keeps its jitter at the cap: clients that lost the same server
 * at the same moment do not come back in lockstep.
 */
export class Backoff {
  private attempt = 0;
  private lastFailure = 0;
  constructor(
    private readonly initialMs = 800,
    private readonly maxMs = 30_000,
    private readonly resetAfterMs = 120_000,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** Next delay, in [base, 2·base] with base = min(initial·2^failures, max/2). */
  next(): number {
    const t = this.now();
    if (this.attempt > 0 && t - this.lastFailure > this.resetAfterMs) this.attempt = 0;
    this.lastFailure = t;
    // 2^attempt overflows to Infinity after ~1,000 failures, which Math.min caps
    const base = Math.min(this.initialMs * 2 ** this.attempt, this.maxMs / 2);
    this.attempt++;
    return Math.round(base * (1 + this.random()));
  }
  reset(): void {
    this.attempt = 0;
  }
}

/**
 * The informers' reconnect backoff after a failed list/watch: 0.5 s doubling to at most 5 s (2.5–5 s once capped),
 * reset when the API server answers again. client-go's reflector grows to 30 s, which made blocked work wait up to
 * 30 s after an apiserver came back; a few attempts per 5 s per watch still do not hammer a dead one.
 */
export const informerReconnectBackoff = (random?: () => number, now?: () => number): Backoff =>
  new Backoff(500, 5_000, 120_000, random, now);
