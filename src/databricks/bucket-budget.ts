// The budget of reads: a requests-per-second token bucket with FIFO reservations, which a 429 from Databricks
// pauses for Retry-After (rate-budget.ts has the whole picture).
import type { Budget, BudgetMetricsSink, BudgetStats, Placement } from './budget-types.js';
import type { Clock } from './clock.js';
import { MIN_THROTTLE_PAUSE_MS } from './window-budget.js';

// -----------------------------------------------------------------------------------------------
// Token bucket arithmetic

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

/** A plain requests-per-second bucket: bursts of up to `burst`, and never less than one second's worth. */
/** A bucket's rate per second, as configured: 1000 / (1000 / 15) is 14.999999999999998, and a gauge shows it. */
const bucketRate = (spec: BucketSpec): number => Math.round((1000 / spec.refillIntervalMs) * 1e6) / 1e6;

export function perSecondBucket(ratePerSecond: number, burst = 0): BucketSpec {
  if (!(ratePerSecond > 0)) throw new RangeError(`invalid rate ${ratePerSecond}/s`);
  return { capacity: Math.max(1, Math.floor(ratePerSecond), Math.floor(burst)), refillIntervalMs: 1000 / ratePerSecond };
}

/** Requests per second (reads): a token bucket with FIFO reservations. */
export class BucketBudget implements Budget {
  readonly budget = 'read' as const;
  private state: BucketState;
  private pausedUntil = Number.NEGATIVE_INFINITY;

  heldByDatabricks(_now: number, at: number): boolean {
    return this.pausedUntil >= at;
  }
  private counters = { grants: 0, totalWaitMs: 0, throttled: 0 };
  private waiting = 0;
  /** Per namespace, when its grants that wait are due, oldest first: a namespace holds a share of the line, not all of it. */
  private readonly waitingGrants = new Map<string, number[]>();

  constructor(
    readonly host: string,
    private spec: BucketSpec,
    private readonly clock: Clock,
    private readonly metrics?: BudgetMetricsSink,
  ) {
    this.state = fullBucket(spec, clock.now());
  }

  get bucketSpec(): BucketSpec {
    return this.spec;
  }

  reconfigure(spec: BucketSpec): void {
    const now = this.clock.now();
    const current = refill(this.state, now, this.spec);
    this.spec = spec;
    this.state = { tokens: Math.min(current.tokens, spec.capacity), updatedAt: now };
  }

  earliestGrant(now: number): number {
    return Math.max(this.pausedUntil, now + reserve(this.state, now, this.spec).waitMs);
  }

  /**
   * A namespace may have one second of the rate waiting (15 reads at 15 a second): one namespace asking without end
   * then keeps the line at most a second long, and another namespace's read waits at most that, instead of being
   * refused behind a line filled up to the longest wait a caller accepts. Grants that need no wait are not counted, so
   * a namespace alone still gets the whole rate.
   */
  tenantShareFullUntil(now: number, tenant: string): number | undefined {
    const due = this.dueOf(tenant, now);
    // Asked again once those have gone out, not as each one does: its many objects would all come back for one place.
    return due.length >= Math.max(1, Math.ceil(1000 / this.spec.refillIntervalMs)) ? due[due.length - 1] : undefined;
  }

  commit(at: number, now: number, _holder?: string, placement: Placement = {}): void {
    if (at > now && placement.tenant !== undefined) {
      const due = this.dueOf(placement.tenant, now);
      due.push(at);
      this.waitingGrants.set(placement.tenant, due);
    }
    // Taking the token now and sleeping until `at` keeps later callers behind this one.
    this.state = reserve(this.state, now, this.spec).next;
    this.counters.grants += 1;
    this.counters.totalWaitMs += Math.max(0, at - now);
    this.metrics?.budgetWait?.({ host: this.host, budget: this.budget, waitMs: Math.max(0, at - now), queueLength: this.waiting });
  }

  /** The namespace's grants still waiting at `now` (those due are forgotten, and so is a namespace with none). */
  private dueOf(tenant: string, now: number): number[] {
    const due = (this.waitingGrants.get(tenant) ?? []).filter((at) => at > now);
    if (due.length === 0) this.waitingGrants.delete(tenant);
    else this.waitingGrants.set(tenant, due);
    return due;
  }

  release(): void {}

  throttled(retryAfterMs: number | undefined, now: number): void {
    const pause = Math.max(retryAfterMs ?? 0, MIN_THROTTLE_PAUSE_MS);
    this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    this.counters.throttled += 1;
    this.metrics?.budgetThrottled?.({ host: this.host, budget: this.budget, retryAfterMs: pause, limit: bucketRate(this.spec) });
  }

  rejected(retryAfterMs: number): void {
    this.metrics?.budgetRejected?.({ host: this.host, budget: this.budget, retryAfterMs });
  }

  setSleeping(delta: number): void {
    this.waiting += delta;
    this.metrics?.budgetQueueLength?.({ host: this.host, budget: this.budget, queueLength: this.waiting });
  }

  get stats(): BudgetStats {
    return { ...this.counters, queueLength: this.waiting, limit: bucketRate(this.spec) };
  }

  /** Full, nobody waiting, no pause: a fresh budget would behave the same. */
  idleAt(now: number): boolean {
    return this.waiting === 0 && this.pausedUntil <= now && refill(this.state, now, this.spec).tokens >= this.spec.capacity;
  }
}
