import { describe, expect, it } from 'vitest';
import { FIRST_PROGRESS_LOOK_MS, MIN_RATE_LIMIT_REQUEUE_MS, RESERVED_SLOT_JITTER_MS, listSpacingMs, progressRequeueMs, rateLimitedRequeueMs, rolloutAgeMs } from '../../../../src/controllers/endpoint/requeue.js';

describe('requeue after a rate limit', () => {
  it.each([
    // [Retry-After ms, random, expected requeue ms]
    [0, 0, MIN_RATE_LIMIT_REQUEUE_MS],
    [0, 0.999, 1200],
    [1, 0.5, 1100],
    [2_000, 0, 2_000],
    [2_000, 0.5, 2_200],
    [60_000, 0.25, 63_000],
  ])('Databricks said Retry-After %i ms (random %f): requeue after %i ms, never a busy loop', (retryAfterMs, random, expected) => {
    expect(rateLimitedRequeueMs({ retryAfterMs }, random)).toBe(expected);
  });

  it('spreads endpoints told the same Retry-After over 20 %', () => {
    const times = [0, 0.25, 0.5, 0.75, 0.999].map((r) => rateLimitedRequeueMs({ retryAfterMs: 10_000 }, r) ?? 0);
    expect(new Set(times).size).toBe(5);
    expect(Math.min(...times)).toBe(10_000);
    expect(Math.max(...times)).toBeLessThanOrEqual(12_000);
  });

  it('our own budget reserved a slot: come back just after it, never before', () => {
    for (const random of [0, 0.5, 0.999]) {
      const after = rateLimitedRequeueMs({ retryAfterMs: 280_000, fromClientBudget: true }, random) ?? 0;
      expect(after).toBeGreaterThan(280_000);
      expect(after).toBeLessThanOrEqual(280_000 + RESERVED_SLOT_JITTER_MS + 1);
    }
  });

  it('no Retry-After: the workqueue backoff decides', () => {
    expect(rateLimitedRequeueMs({}, 0.5)).toBeUndefined();
  });
});

describe('the progress interval adapts to the rollout', () => {
  const INTERVAL = 20_000;

  it.each([
    // [age of the rollout ms, expected look at random 0.5]
    [0, FIRST_PROGRESS_LOOK_MS],
    [400, FIRST_PROGRESS_LOOK_MS],
    [1_000, 500],
    [5_000, 2_500],
    [30_000, 15_000],
    [600_000, INTERVAL],
  ])('a rollout %i ms old is looked at again after %i ms', (age, expected) => {
    expect(progressRequeueMs(INTERVAL, age, 0.5)).toBe(expected);
  });

  it('an unknown age: the configured progress interval, ±25 %', () => {
    expect(progressRequeueMs(INTERVAL, undefined, 0)).toBe(15_000);
    expect(progressRequeueMs(INTERVAL, undefined, 0.999999)).toBe(25_000);
  });

  it('a 20-minute rollout costs a handful of reads more than a fixed interval, a 3-second one is seen within 2 s', () => {
    const looks = (durationMs: number): number[] => {
      const at: number[] = [];
      for (let t = progressRequeueMs(INTERVAL, 0, 0.5); ; t += progressRequeueMs(INTERVAL, t, 0.5)) {
        at.push(t);
        if (t >= durationMs) return at;
      }
    };
    expect(looks(20 * 60_000).length).toBeLessThanOrEqual(60 + 12);
    expect(looks(3_000).at(-1)! - 3_000).toBeLessThan(2_000);
    // a rollout that is over at once (an emulator's instant one, a config Databricks applies in place)
    expect(looks(0)[0]).toBe(FIRST_PROGRESS_LOOK_MS);
  });

  it("an age below zero for 10 minutes (a start dated ahead of the clock): looked at about once a progress interval, not four times a second", () => {
    const SKEW = 10 * 60_000;
    // the operator's age of a rollout that really is `t` old: negative for the first 10 minutes
    let count = 0;
    for (let t = 0; t < SKEW + 60_000; t += progressRequeueMs(INTERVAL, t - SKEW, 0.5)) count += 1;
    expect(count).toBeLessThanOrEqual(SKEW / INTERVAL + 25);
    // a start dated a moment ahead (the create's answer, read after the planner's clock): still the first look
    expect(progressRequeueMs(INTERVAL, -300, 0.5)).toBe(FIRST_PROGRESS_LOOK_MS);
  });
});

describe("a rollout's age: Databricks' start, or the operator's own clock when that start is ahead of it", () => {
  const NOW = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    ['a start 5 s ago', '2026-03-01T11:59:55Z', '2026-03-01T11:00:00Z', 5_000],
    ['a start dated 2 h ahead, Ready changed 1 s ago', '2026-03-01T14:00:00Z', '2026-03-01T11:59:59Z', 1_000],
    ['a start dated ahead, no Ready yet', '2026-03-01T14:00:00Z', undefined, undefined],
    ['no start', undefined, '2026-03-01T11:59:59Z', undefined],
  ])('%s', (_, startedAt, readyChangedAt, expected) => {
    expect(rolloutAgeMs(NOW, startedAt, readyChangedAt)).toBe(expected);
  });
});

describe("spacing of a workspace's lists read for rollouts being watched", () => {
  it.each([
    [0, 0],
    [50, 25],
    [1_000, 500],
    [10_000, 5_000],
  ])('%i endpoints listed: the next such list %i ms after the last one started (near 1 %% of a core at ~5 µs per endpoint)', (endpoints, ms) => {
    expect(listSpacingMs(endpoints)).toBe(ms);
  });
});
