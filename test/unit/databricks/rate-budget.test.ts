import { describe, expect, it } from 'vitest';
import { DatabricksError } from '../../../src/databricks/errors.js';
import {
  RateBudget,
  RateBudgetRegistry,
  bucketSpecsFor,
  fullBucket,
  maxGrantsInWindow,
  perSecondBucket,
  reserve,
  rollingWindowBucket,
  type BucketSpec,
} from '../../../src/databricks/rate-budget.js';
import { FakeClock, flushMicrotasks } from './fake-clock.js';

const FIVE_MINUTES = 300_000;

/** Grant times of `count` callers that all arrive at t=0, computed by the pure bucket. */
function schedule(spec: BucketSpec, count: number): number[] {
  let state = fullBucket(spec, 0);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const { waitMs, next } = reserve(state, 0, spec);
    state = next;
    times.push(waitMs);
  }
  return times;
}

/** Largest number of grants inside any half-open window [t, t + windowMs). */
function maxInRollingWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('mutation budget (default 50 per 5 minutes)', () => {
  const spec = bucketSpecsFor().mutation;

  it('spreads 200 mutations requested at once: a burst of 5, then one every ~6.9 s', () => {
    const times = schedule(spec, 200);
    expect(times.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    const gaps = times.slice(5).map((t, i) => t - (times[i + 4] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(6888);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(6890);
    // last one after ~22 minutes, never a clump of 50 followed by 5 minutes of silence
    expect(times[199]).toBeGreaterThan(21 * 60_000);
    expect(times[199]).toBeLessThan(23 * 60_000);
  });

  it('never lets more than 50 through in any rolling 5 minutes, with room for network jitter', () => {
    const times = schedule(spec, 200);
    expect(maxInRollingWindow(times, FIVE_MINUTES)).toBe(48);
    // arrivals skewed by up to 10 s of latency jitter still fit the server's 50
    expect(maxInRollingWindow(times, FIVE_MINUTES + 10_000)).toBeLessThanOrEqual(50);
    expect(maxGrantsInWindow(spec, FIVE_MINUTES)).toBe(48);
  });

  it.each([
    [10, 60_000, 5],
    [50, 3_000, 5],
    [2, 1000, 5],
    [1, 1000, 5],
    [100, 300_000, 20],
  ])('holds for %i per %i ms with burst %i', (limit, windowMs, burst) => {
    const custom = rollingWindowBucket(limit, windowMs, burst);
    expect(maxInRollingWindow(schedule(custom, limit * 4), windowMs)).toBeLessThanOrEqual(limit);
  });
});

describe('read budget (15/s)', () => {
  it('lets 15 through at once and then 15 per second', () => {
    const times = schedule(perSecondBucket(15), 45);
    expect(times.filter((t) => t === 0)).toHaveLength(15);
    expect(maxInRollingWindow(times.slice(15), 1000)).toBeLessThanOrEqual(15);
    expect(times[44]).toBeLessThanOrEqual(2001);
  });
});

describe('RateBudget', () => {
  const spec: BucketSpec = { capacity: 2, refillIntervalMs: 1000 };

  it('serves waiters first come, first served and reports the queue length', async () => {
    const clock = new FakeClock();
    const waits: number[] = [];
    const queueLengths: number[] = [];
    const budget = new RateBudget('https://w.example', 'mutation', spec, clock, {
      budgetWait: (e) => waits.push(e.waitMs),
      budgetQueueLength: (e) => queueLengths.push(e.queueLength),
    });
    const order: string[] = [];
    const callers = ['a', 'b', 'c', 'd', 'e'].map((name) => budget.acquire().then(() => order.push(name)));
    await flushMicrotasks();
    expect(order).toEqual(['a', 'b']);
    expect(budget.queueLength).toBe(3);
    await clock.advance(1000);
    expect(order).toEqual(['a', 'b', 'c']);
    await clock.advance(2000);
    await Promise.all(callers);
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(waits).toEqual([0, 0, 1000, 2000, 3000]);
    expect(budget.queueLength).toBe(0);
    expect(Math.max(...queueLengths)).toBe(3);
    expect(budget.stats).toEqual({ grants: 5, totalWaitMs: 6000, queueLength: 0 });
  });

  it('a noisy caller queues behind those who came first', async () => {
    const clock = new FakeClock();
    const budget = new RateBudget('h', 'mutation', { capacity: 1, refillIntervalMs: 1000 }, clock);
    const order: string[] = [];
    const noisy = Array.from({ length: 5 }, (_, i) => budget.acquire().then(() => order.push(`noisy${i}`)));
    const quiet = budget.acquire().then(() => order.push('quiet'));
    const noisyLate = budget.acquire().then(() => order.push('noisy-late'));
    await clock.advance(10_000);
    await Promise.all([...noisy, quiet, noisyLate]);
    expect(order.indexOf('quiet')).toBe(5);
    expect(order.at(-1)).toBe('noisy-late');
  });

  it('fails fast with RateLimited and retryAfterMs instead of waiting past maxWaitMs, taking nothing', async () => {
    const clock = new FakeClock();
    const rejected: number[] = [];
    const budget = new RateBudget('h', 'mutation', spec, clock, { budgetRejected: (e) => rejected.push(e.retryAfterMs) });
    await budget.acquire({ maxWaitMs: 0 });
    await budget.acquire({ maxWaitMs: 0 });
    const refusal = await budget.acquire({ maxWaitMs: 500 }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DatabricksError);
    expect((refusal as DatabricksError).kind).toBe('RateLimited');
    expect((refusal as DatabricksError).retryAfterMs).toBe(1000);
    expect((refusal as DatabricksError).fromClientBudget).toBe(true);
    expect(rejected).toEqual([1000]);
    // the refusal did not consume the slot
    expect(budget.peekWaitMs()).toBe(1000);
    await clock.advance(1000);
    expect(budget.tryAcquire()).toEqual({ ok: true });
    expect(budget.tryAcquire()).toEqual({ ok: false, retryAfterMs: 1000 });
  });

  it('stops waiting when the caller aborts', async () => {
    const clock = new FakeClock();
    const budget = new RateBudget('h', 'read', { capacity: 1, refillIntervalMs: 1000 }, clock);
    await budget.acquire();
    const controller = new AbortController();
    const waiting = budget.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    await flushMicrotasks();
    expect(budget.queueLength).toBe(1);
    controller.abort(new Error('shutdown'));
    expect(await waiting).toEqual(new Error('shutdown'));
    expect(budget.queueLength).toBe(0);
  });
});

describe('bucketSpecsFor', () => {
  it('reads the DatabricksWorkspace spelling (mutationsPer5Minutes, readsPerSecond)', () => {
    expect(bucketSpecsFor({ mutationsPer5Minutes: 20, readsPerSecond: 5 })).toEqual({
      mutation: rollingWindowBucket(20, FIVE_MINUTES, 5),
      read: perSecondBucket(5),
    });
    expect(bucketSpecsFor({ mutationsPer5Minutes: 20, mutationsPerWindow: 30 }).mutation).toEqual(rollingWindowBucket(30, FIVE_MINUTES, 5));
  });
});

describe('RateBudgetRegistry', () => {
  it('shares one budget per host and applies new limits', () => {
    const registry = new RateBudgetRegistry(new FakeClock());
    const a = registry.forHost('https://w.example');
    const b = registry.forHost('https://w.example');
    const other = registry.forHost('https://v.example');
    expect(a.mutation).toBe(b.mutation);
    expect(other.mutation).not.toBe(a.mutation);
    registry.forHost('https://w.example', { mutationsPerWindow: 10, mutationWindowMs: 60_000, mutationBurst: 1 });
    expect(a.mutation.bucketSpec).toEqual(rollingWindowBucket(10, 60_000, 1));
    expect(registry.hosts()).toEqual(['https://w.example', 'https://v.example']);
  });

  it('sends budget metrics to a sink set after the budgets exist', async () => {
    const registry = new RateBudgetRegistry(new FakeClock());
    const budgets = registry.forHost('https://w.example');
    const seen: string[] = [];
    registry.setMetrics({ budgetWait: (e) => seen.push(`${e.host} ${e.budget} ${e.waitMs}`) });
    await budgets.read.acquire();
    expect(seen).toEqual(['https://w.example read 0']);
  });
});
