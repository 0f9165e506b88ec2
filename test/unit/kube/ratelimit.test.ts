import { describe, expect, it } from 'vitest';
import { Backoff, BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter } from '../../../src/kube/ratelimit.js';

describe('rate limiters', () => {
  it('per-key exponential: 5 ms doubling per failure, capped at 1000 s, independent per key', () => {
    const rl = new ItemExponentialRateLimiter(5, 1_000_000);
    const a = Array.from({ length: 5 }, () => rl.when('a'));
    expect(a).toEqual([5, 10, 20, 40, 80]);
    expect(rl.when('b')).toBe(5);
    for (let i = 0; i < 100; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000_000);
    rl.forget('a');
    expect(rl.when('a')).toBe(5);
  });

  it('token bucket allows a burst, then spaces keys at 1/qps', () => {
    let now = 0;
    const rl = new BucketRateLimiter(10, 100, () => now);
    const burst = Array.from({ length: 100 }, () => rl.when());
    expect(burst.every((d) => d === 0)).toBe(true);
    expect(rl.when()).toBe(100);
    expect(rl.when()).toBe(200);
    now = 10_000; // refilled
    expect(rl.when()).toBe(0);
  });

  it('max-of takes the slower of per-key and overall limits', () => {
    let now = 0;
    const rl = new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1_000_000), new BucketRateLimiter(10, 1, () => now));
    expect(rl.when('a')).toBe(5);
    expect(rl.when('b')).toBe(100); // bucket empty
    now = 1_000_000;
    expect(rl.numRequeues('a')).toBe(1);
  });

  it('reconnect backoff doubles with jitter, caps, and resets after a healthy spell', () => {
    let now = 0;
    const b = new Backoff(800, 30_000, 120_000, () => 0, () => now);
    expect([b.next(), b.next(), b.next()]).toEqual([800, 1600, 3200]);
    for (let i = 0; i < 10; i++) b.next();
    expect(b.next()).toBe(30_000);
    now = 200_000;
    expect(b.next()).toBe(800);
    const jittered = new Backoff(800, 30_000, 120_000, () => 0.5, () => now);
    expect(jittered.next()).toBe(1200);
  });
});
