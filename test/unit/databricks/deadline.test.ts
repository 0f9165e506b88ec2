// A request's deadline (deadline.ts): aborts on time or with the caller, and once released holds nothing, unlike
// AbortSignal.timeout() + AbortSignal.any(), which kept every finished request's signals until its deadline passed.
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startDeadline } from '../../../src/databricks/deadline.js';

describe('startDeadline', () => {
  afterEach(() => void vi.useRealTimers());

  it('aborts with a TimeoutError when the time is up, and says so', () => {
    vi.useFakeTimers();
    const deadline = startDeadline(20_000);
    vi.advanceTimersByTime(19_999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(deadline.timedOut).toBe(true);
  });

  it("aborts with the caller's reason when the caller aborts first: not a timeout", () => {
    const caller = new AbortController();
    const deadline = startDeadline(20_000, caller.signal);
    caller.abort(new Error('shutdown'));
    expect(deadline.signal.reason).toEqual(new Error('shutdown'));
    expect(deadline.timedOut).toBe(false);
    deadline.release();
  });

  it('a caller already aborted: aborted at once', () => {
    const caller = new AbortController();
    caller.abort(new Error('gone'));
    const deadline = startDeadline(20_000, caller.signal);
    expect(deadline.signal.aborted).toBe(true);
    deadline.release();
  });

  it('released: no abort later, and nothing left listening on the caller', () => {
    vi.useFakeTimers();
    const caller = new AbortController();
    const deadline = startDeadline(20_000, caller.signal);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    deadline.release();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    vi.advanceTimersByTime(60_000);
    caller.abort(new Error('later'));
    expect(deadline.signal.aborted).toBe(false);
  });

  it('20,000 finished requests under one long-lived caller signal leave next to nothing in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const caller = new AbortController().signal; // a reconcile's or the process's: lives on
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20_000; i++) {
      const deadline = startDeadline(20_000, caller);
      deadline.signal.addEventListener('abort', () => undefined); // as undici listens
      deadline.release();
    }
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    gc();
    const retainedMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    // AbortSignal.timeout(20 s) + AbortSignal.any([caller, it]) held 37 MiB here until the 20 s had passed
    expect(retainedMiB).toBeLessThan(4);
  });
});
