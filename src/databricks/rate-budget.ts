// Per-workspace rate budgets. Databricks allows 50 create/update calls per workspace in 5 minutes
// (reference §7); every endpoint of a workspace shares that, so the budget is keyed by normalised host.
//
// A token bucket with reservations (like Go's rate.Limiter.Reserve): each caller takes its token at once,
// possibly driving the balance negative, and sleeps until that token would have refilled. Callers are
// therefore served strictly in arrival order (FIFO) and nobody can starve anybody.
//
// To never exceed "N per rolling window W" the bucket holds a small burst B and refills one token every
// (W + margin) / (N - B): any window of length W then sees at most B + floor(W / interval) < N grants
// (the margin, W/30 = 10 s by default, absorbs latency jitter between our grant and the server's clock).
// Defaults: burst 5, then one mutation every 6.9 s; at most 48 in any 5 minutes. A burst of 200 mutations
// is thus spread evenly rather than sent as 50 at once, 50 five minutes later, and so on.
import type { Clock } from './clock.js';
import { DatabricksError } from './errors.js';

export interface BucketSpec {
  /** tokens the bucket can hold: the largest burst */
  capacity: number;
  /** one token refills every interval */
  refillIntervalMs: number;
}

export interface BucketState {
  /** may be negative: tokens already promised to waiting callers */
  tokens: number;
  updatedAt: number;
}

export function fullBucket(spec: BucketSpec, now: number): BucketState {
  return { tokens: spec.capacity, updatedAt: now };
}

/** Continuous refill up to capacity. */
export function refill(state: BucketState, now: number, spec: BucketSpec): BucketState {
  const elapsed = Math.max(0, now - state.updatedAt);
  const tokens = Math.min(spec.capacity, state.tokens + elapsed / spec.refillIntervalMs);
  return { tokens, updatedAt: Math.max(now, state.updatedAt) };
}

/** How long a caller arriving now waits, and the state after it took its token. */
export function reserve(state: BucketState, now: number, spec: BucketSpec): { waitMs: number; next: BucketState } {
  const current = refill(state, now, spec);
  const tokens = current.tokens - 1;
  const waitMs = tokens >= 0 ? 0 : Math.ceil(-tokens * spec.refillIntervalMs);
  return { waitMs, next: { tokens, updatedAt: current.updatedAt } };
}

/** The bucket that keeps at most `limit` grants in any rolling `windowMs`, spread out evenly. */
export function rollingWindowBucket(limit: number, windowMs: number, burst = 5, marginMs = windowMs / 30): BucketSpec {
  if (!(limit >= 1) || !(windowMs > 0)) throw new RangeError(`invalid rate limit ${limit} per ${windowMs} ms`);
  const capacity = Math.min(Math.max(1, Math.floor(burst)), Math.max(1, Math.floor(limit) - 1));
  const refillIntervalMs = (windowMs + marginMs) / Math.max(1, Math.floor(limit) - capacity);
  return { capacity, refillIntervalMs };
}

/** A plain requests-per-second bucket (bursts up to one second's worth). */
export function perSecondBucket(ratePerSecond: number): BucketSpec {
  if (!(ratePerSecond > 0)) throw new RangeError(`invalid rate ${ratePerSecond}/s`);
  return { capacity: Math.max(1, Math.floor(ratePerSecond)), refillIntervalMs: 1000 / ratePerSecond };
}

/** Upper bound of grants a bucket allows in any window of `windowMs` (for tests and the docs' figures). */
export function maxGrantsInWindow(spec: BucketSpec, windowMs: number): number {
  return spec.capacity + Math.floor(windowMs / spec.refillIntervalMs);
}

export type BudgetName = 'mutation' | 'read';

/** Where the lead wires prom-client; every hook is optional. */
export interface BudgetMetricsSink {
  /** a caller got its token after waiting `waitMs` (0 when the budget had room) */
  budgetWait?(event: { host: string; budget: BudgetName; waitMs: number; queueLength: number }): void;
  /** a caller that would not wait that long was refused without sending anything */
  budgetRejected?(event: { host: string; budget: BudgetName; retryAfterMs: number }): void;
  /** number of callers sleeping for a token changed */
  budgetQueueLength?(event: { host: string; budget: BudgetName; queueLength: number }): void;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** refuse (RateLimited, retryAfterMs set) instead of waiting longer than this; undefined = wait */
  maxWaitMs?: number;
}

export class RateBudget {
  private state: BucketState;
  private waiting = 0;
  private totalWaitMs = 0;
  private grants = 0;

  constructor(
    readonly host: string,
    readonly budget: BudgetName,
    private spec: BucketSpec,
    private readonly clock: Clock,
    private readonly metrics?: BudgetMetricsSink,
  ) {
    this.state = fullBucket(spec, clock.now());
  }

  get queueLength(): number {
    return this.waiting;
  }

  /** tokens granted so far and the sum of their waits, for a mean wait gauge */
  get stats(): { grants: number; totalWaitMs: number; queueLength: number } {
    return { grants: this.grants, totalWaitMs: this.totalWaitMs, queueLength: this.waiting };
  }

  get bucketSpec(): BucketSpec {
    return this.spec;
  }

  /** New limits (a DatabricksWorkspace changed): keep the balance, change the rate. */
  reconfigure(spec: BucketSpec): void {
    const now = this.clock.now();
    const current = refill(this.state, now, this.spec);
    this.spec = spec;
    this.state = { tokens: Math.min(current.tokens, spec.capacity), updatedAt: now };
  }

  /** How long a caller arriving now would wait (nothing is taken). */
  peekWaitMs(): number {
    return reserve(this.state, this.clock.now(), this.spec).waitMs;
  }

  /** Take a token only if none has to be waited for; otherwise say how long it would be. */
  tryAcquire(): { ok: true } | { ok: false; retryAfterMs: number } {
    const { waitMs, next } = reserve(this.state, this.clock.now(), this.spec);
    if (waitMs > 0) return { ok: false, retryAfterMs: waitMs };
    this.state = next;
    this.recordGrant(0);
    return { ok: true };
  }

  /**
   * Take a token, sleeping for it in arrival order. With `maxWaitMs`, a caller that would sleep
   * longer is refused at once with a RateLimited error (`fromClientBudget`, `retryAfterMs`).
   * Returns the time waited.
   */
  async acquire(options: AcquireOptions = {}): Promise<number> {
    options.signal?.throwIfAborted();
    const { waitMs, next } = reserve(this.state, this.clock.now(), this.spec);
    if (options.maxWaitMs !== undefined && waitMs > options.maxWaitMs) {
      this.metrics?.budgetRejected?.({ host: this.host, budget: this.budget, retryAfterMs: waitMs });
      throw new DatabricksError({
        kind: 'RateLimited',
        message: `${this.budget} budget of ${this.host} is exhausted: next slot in ${waitMs} ms (client-side limit, nothing sent)`,
        retryAfterMs: waitMs,
        fromClientBudget: true,
      });
    }
    this.state = next;
    if (waitMs > 0) {
      this.setWaiting(this.waiting + 1);
      try {
        // A cancelled waiter keeps its token spent: the schedule of those behind it stays valid.
        await this.clock.sleep(waitMs, options.signal);
      } finally {
        this.setWaiting(this.waiting - 1);
      }
    }
    this.recordGrant(waitMs);
    return waitMs;
  }

  private setWaiting(count: number): void {
    this.waiting = count;
    this.metrics?.budgetQueueLength?.({ host: this.host, budget: this.budget, queueLength: count });
  }

  private recordGrant(waitMs: number): void {
    this.grants += 1;
    this.totalWaitMs += waitMs;
    this.metrics?.budgetWait?.({ host: this.host, budget: this.budget, waitMs, queueLength: this.waiting });
  }
}

/** User-facing limits (DatabricksWorkspace.spec.rateLimits and tests). */
export interface RateLimits {
  /** create/update/delete/tag calls per window; default 50 */
  mutationsPerWindow?: number;
  /**
   * DatabricksWorkspace.spec.rateLimits spelling: mutations per 5 minutes. Used when mutationsPerWindow
   * is not given (and the window is then 5 minutes unless mutationWindowMs says otherwise).
   */
  mutationsPer5Minutes?: number;
  /** default 5 minutes */
  mutationWindowMs?: number;
  /** mutations that may go out back to back before pacing starts; default 5 */
  mutationBurst?: number;
  /** GET calls per second; default 15 (the GO SDK's default) */
  readsPerSecond?: number;
}

export const DEFAULT_RATE_LIMITS: Required<Omit<RateLimits, 'mutationsPer5Minutes'>> = {
  mutationsPerWindow: 50,
  mutationWindowMs: 5 * 60 * 1000,
  mutationBurst: 5,
  readsPerSecond: 15,
};

export function bucketSpecsFor(limits: RateLimits = {}): { mutation: BucketSpec; read: BucketSpec } {
  const { mutationsPer5Minutes, ...rest } = limits;
  const l = {
    ...DEFAULT_RATE_LIMITS,
    ...(mutationsPer5Minutes !== undefined ? { mutationsPerWindow: mutationsPer5Minutes } : {}),
    ...stripUndefined(rest),
  };
  return {
    mutation: rollingWindowBucket(l.mutationsPerWindow, l.mutationWindowMs, l.mutationBurst),
    read: perSecondBucket(l.readsPerSecond),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface WorkspaceBudgets {
  mutation: RateBudget;
  read: RateBudget;
}

/** One pair of budgets per normalised host, shared by every client of that workspace in the process. */
export class RateBudgetRegistry {
  private readonly byHost = new Map<string, WorkspaceBudgets>();
  private sink: BudgetMetricsSink | undefined;
  // Budgets report through this indirection, so a sink set later (setMetrics) reaches old budgets too.
  private readonly relay: BudgetMetricsSink = {
    budgetWait: (event) => this.sink?.budgetWait?.(event),
    budgetRejected: (event) => this.sink?.budgetRejected?.(event),
    budgetQueueLength: (event) => this.sink?.budgetQueueLength?.(event),
  };

  constructor(
    private readonly clock: Clock,
    metrics?: BudgetMetricsSink,
  ) {
    this.sink = metrics;
  }

  /** Where queue lengths and waits go (the lead's prom-client adapter). */
  setMetrics(metrics: BudgetMetricsSink | undefined): void {
    this.sink = metrics;
  }

  /** `host` must already be normalised (see normaliseHost). The latest limits given for a host win. */
  forHost(host: string, limits?: RateLimits): WorkspaceBudgets {
    const specs = bucketSpecsFor(limits);
    const existing = this.byHost.get(host);
    if (existing) {
      if (limits !== undefined) {
        if (!sameSpec(existing.mutation.bucketSpec, specs.mutation)) existing.mutation.reconfigure(specs.mutation);
        if (!sameSpec(existing.read.bucketSpec, specs.read)) existing.read.reconfigure(specs.read);
      }
      return existing;
    }
    const budgets = {
      mutation: new RateBudget(host, 'mutation', specs.mutation, this.clock, this.relay),
      read: new RateBudget(host, 'read', specs.read, this.clock, this.relay),
    };
    this.byHost.set(host, budgets);
    return budgets;
  }

  hosts(): string[] {
    return [...this.byHost.keys()];
  }
}

function sameSpec(a: BucketSpec, b: BucketSpec): boolean {
  return a.capacity === b.capacity && a.refillIntervalMs === b.refillIntervalMs;
}
