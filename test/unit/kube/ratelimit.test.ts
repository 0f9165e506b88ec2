import { describe, expect, it } from 'vitest';
import { Backoff, BucketRateLimiter, informerReconnectBackoff, ItemExponentialRateLimiter, MaxOfRateLimiter } from '../../../src/kube/ratelimit.js';

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

  it('reconnect backoff doubles with jitter, never exceeds its cap (keeping jitter there), and resets after a healthy spell', () => {
    let now = 0;
    const low = new Backoff(800, 30_000, 120_000, () => 0, () => now);
    expect([low.next(), low.next(), low.next()]).toEqual([800, 1600, 3200]);
    for (let i = 0; i < 10; i++) low.next();
    expect(low.next()).toBe(15_000); // the base is capped at max/2 ...
    const high = new Backoff(800, 30_000, 120_000, () => 0.999_999, () => now);
    for (let i = 0; i < 2_000; i++) expect(high.next()).toBeLessThanOrEqual(30_000); // ... so base + jitter ≤ max, even after 2^n overflows
    now = 200_000;
    expect(low.next()).toBe(800);
    const jittered = new Backoff(800, 30_000, 120_000, () => 0.5, () => now);
    expect(jittered.next()).toBe(1200);
  });

  it('reset() (the API server answered) starts the next outage from the first step', () => {
    const b = new Backoff(500, 5_000, 120_000, () => 0, () => 0);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 2500, 2500]);
    b.reset();
    expect(b.next()).toBe(500);
  });

  it('informer reconnects: 0.5 s doubling, at most 5 s after an apiserver comes back, 2.5–5 s apart while it stays down', () => {
    let r = 0;
    const delays = (random: number, n: number) => {
      r = random;
      const b = informerReconnectBackoff(() => r, () => 0);
      return Array.from({ length: n }, () => b.next());
    };
    expect(delays(0, 6)).toEqual([500, 1000, 2000, 2500, 2500, 2500]);
    expect(delays(0.999, 6)).toEqual([1000, 1999, 3998, 4998, 4998, 4998]);
    // A dead apiserver sees at most one attempt per 2.5 s per watch once the backoff is capped: not a busy loop.
    const capped = delays(0.5, 50).slice(5);
    expect(Math.min(...capped)).toBeGreaterThanOrEqual(2_500);
    expect(Math.max(...capped)).toBeLessThanOrEqual(5_000);
    // An outage of a minute costs a handful of attempts, not hundreds.
    let elapsed = 0;
    let attempts = 0;
    const b = informerReconnectBackoff(() => 0, () => elapsed);
    while (elapsed < 60_000) {
      elapsed += b.next();
      attempts++;
    }
    expect(attempts).toBeLessThanOrEqual(26);
  });
});
