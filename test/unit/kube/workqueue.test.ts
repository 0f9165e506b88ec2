import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ItemExponentialRateLimiter } from '../../../src/kube/ratelimit.js';
import { WorkQueue } from '../../../src/kube/workqueue.js';

const noBackoff = () => new ItemExponentialRateLimiter(5, 1_000_000);

describe('WorkQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  // Node fires a timer longer than 2^31-1 ms (24.8 days) after 1 ms: a schedule window a month away, or a long
  // capacity backoff, re-queued its object at once, forever (session 11: thousands of reconciles a second).
  it('a key added after more than 24.8 days waits that long, in timers Node can hold', () => {
    const delays: number[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return real(fn, ms);
    }) as typeof setTimeout);
    try {
      const q = new WorkQueue({ rateLimiter: noBackoff(), now: () => Date.now() });
      const month = 30 * 24 * 3600 * 1000;
      q.addAfter('ns/a', month);
      vi.advanceTimersByTime(2 ** 31 - 1);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(month - (2 ** 31 - 1) - 1);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(q.length).toBe(1);
      expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1);
    } finally {
      spy.mockRestore();
    }
  });

  it('hands out a key added several times while waiting only once', async () => {
    const q = new WorkQueue({ rateLimiter: noBackoff() });
    q.add('ns/a');
    q.add('ns/b');
    q.add('ns/a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.length).toBe(0);
  });

  it('never hands the same key to two workers at once, and replays an add made while it was processing', async () => {
    const q = new WorkQueue({ rateLimiter: noBackoff() });
    q.add('ns/a');
    const first = await q.get();
    q.add('ns/a'); // a change arrives while ns/a is being reconciled
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first as string);
    await Promise.resolve();
    expect(second).toBe('ns/a');
  });

  it('a bounded backoff grows as usual but never waits longer than its bound (another service down for long)', async () => {
    const limiter = new ItemExponentialRateLimiter(5, 1_000_000);
    const q = new WorkQueue({ rateLimiter: limiter });
    // 12 failures before: the 13th alone would wait 5 ms * 2^12 = 20 s
    for (let i = 0; i < 12; i++) limiter.when('ns/a');
    q.addRateLimited('ns/a', 1_000);
    expect(q.numRequeues('ns/a')).toBe(13);
    vi.advanceTimersByTime(999);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(await q.get()).toBe('ns/a');
    // a short backoff stays short
    q.done('ns/a');
    q.forget('ns/a');
    q.addRateLimited('ns/a', 1_000);
    vi.advanceTimersByTime(5);
    expect(await q.get()).toBe('ns/a');
  });

  it('after an outage, keys backing off from failures are retried at once; keys waiting for a poll are not', async () => {
    const q = new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000) });
    // ns/a failed 13 times during the outage: its next try is 5 ms * 2^12 = 20 s away
    for (let i = 0; i < 13; i++) q.addRateLimited('ns/a');
    q.addAfter('ns/poll', 300_000);
    expect(q.length).toBe(0);
    expect(q.retryBackedOffNow()).toBe(1);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('ns/a');
    // its backoff history is cleared: the next failure waits 5 ms, not 40 s
    expect(q.numRequeues('ns/a')).toBe(0);
    q.done('ns/a');
    expect(q.retryBackedOffNow()).toBe(0);
    vi.advanceTimersByTime(299_999);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(await q.get()).toBe('ns/poll');
  });

  it('keeps the earliest ready time when a key is delayed twice', async () => {
    const q = new WorkQueue({ rateLimiter: noBackoff() });
    q.addAfter('ns/a', 10_000);
    q.addAfter('ns/a', 1_000);
    q.addAfter('ns/a', 5_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(q.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.length).toBe(1);
    await q.get();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(q.length).toBe(0); // the later timers were superseded, not kept
  });

  it('keeps the earliest ready time when the wall clock is set back or ahead between the two delays (NTP step)', async () => {
    const back = new WorkQueue({ rateLimiter: noBackoff() });
    back.addAfter('ns/a', 1_000); // a rollout's next look
    vi.setSystemTime(Date.now() - 3_600_000);
    back.addAfter('ns/a', 60_000); // a wake paced a minute out
    await vi.advanceTimersByTimeAsync(1_000);
    expect(back.length).toBe(1);

    const ahead = new WorkQueue({ rateLimiter: noBackoff() });
    ahead.addAfter('ns/a', 30_000); // a poll
    vi.setSystemTime(Date.now() + 3_600_000);
    ahead.addAfter('ns/a', 1_000); // the object's rollout ended: look now
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ahead.length).toBe(1);
  });

  it('a look scheduled before a key is taken is dropped (the reconcile schedules its own); one scheduled while it runs stays', async () => {
    const q = new WorkQueue({ rateLimiter: noBackoff() });
    q.addAfter('ns/a', 1_000); // the rollout's next look
    q.add('ns/a'); // woken early: the rollout ended
    expect(await q.get()).toBe('ns/a');
    q.done('ns/a');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(q.length).toBe(0); // no second reconcile for the old timer
    // a delayed add made while the key is being processed is a new request: kept
    q.add('ns/b');
    expect(await q.get()).toBe('ns/b');
    q.addAfter('ns/b', 1_000);
    q.done('ns/b');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(q.length).toBe(1);
  });

  it('backs off a failing key exponentially and forget() resets it', async () => {
    const q = new WorkQueue({ rateLimiter: noBackoff() });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = Date.now();
      q.addRateLimited('ns/a');
      while (q.length === 0) await vi.advanceTimersByTimeAsync(1);
      delays.push(Date.now() - start);
      q.done((await q.get()) as string);
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues('ns/a')).toBe(4);
    q.forget('ns/a');
    expect(q.numRequeues('ns/a')).toBe(0);
  });

  it('on shutdown drops waiting keys, releases idle workers and waits for in-flight keys', async () => {
    const q = new WorkQueue({ rateLimiter: noBackoff() });
    q.add('ns/busy');
    const busy = (await q.get()) as string;
    q.add('ns/waiting');
    q.addAfter('ns/later', 1000);
    const drained = q.shutdownWithDrain(5_000);
    expect(await q.get()).toBeUndefined();
    q.add('ns/new');
    expect(q.length).toBe(0);
    let settled: boolean | undefined;
    void drained.then((v) => (settled = v));
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).toBeUndefined();
    q.done(busy);
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect(q.length).toBe(0);
  });

  it('reports false when in-flight work outlives the drain bound', async () => {
    const q = new WorkQueue({ rateLimiter: noBackoff() });
    q.add('ns/stuck');
    await q.get();
    const drained = q.shutdownWithDrain(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await drained).toBe(false);
  });

  it('reports depth, adds, latency, work duration and retries', async () => {
    const seen = { depth: [] as number[], adds: 0, latency: [] as number[], work: [] as number[], retries: 0 };
    const q = new WorkQueue({
      rateLimiter: noBackoff(),
      metrics: {
        depth: (n) => seen.depth.push(n),
        added: () => seen.adds++,
        queueLatency: (s) => seen.latency.push(s),
        workDuration: (s) => seen.work.push(s),
        retried: () => seen.retries++,
      },
    });
    q.add('a');
    q.add('b');
    await vi.advanceTimersByTimeAsync(250);
    const k = (await q.get()) as string;
    await vi.advanceTimersByTimeAsync(500);
    q.done(k);
    q.addRateLimited('a');
    expect(seen.adds).toBe(2);
    expect(seen.depth).toEqual([1, 2, 1]);
    expect(seen.latency).toEqual([0.25]);
    expect(seen.work).toEqual([0.5]);
    expect(seen.retries).toBe(1);
  });

  it('a key put back unstarted comes back after its delay, as neither an add nor a piece of work, even if added meanwhile', async () => {
    const seen = { adds: 0, work: 0 };
    const q = new WorkQueue({
      rateLimiter: noBackoff(),
      metrics: { depth: () => {}, added: () => seen.adds++, queueLatency: () => {}, workDuration: () => seen.work++, retried: () => {} },
    });
    q.add('ns/a');
    expect(await q.get()).toBe('ns/a');
    q.add('ns/a'); // an update arrives while it is taken
    q.putBack('ns/a', 1_000);
    expect(q.inFlight).toBe(0);
    expect(q.length).toBe(0); // not handed out again at once
    await vi.advanceTimersByTimeAsync(1_000);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('ns/a');
    q.done('ns/a');
    expect(seen).toEqual({ adds: 2, work: 1 });
  });
});
