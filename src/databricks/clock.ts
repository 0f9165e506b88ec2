// Time is injected so the budget, token cache and retry schedule can be tested with a fake clock.

export interface Clock {
  /** milliseconds since the epoch, for durations and deadlines: the system clock's never jumps */
  now(): number;
  /** the wall clock, for a date another party wrote (an HTTP-date Retry-After); now() when absent */
  wallNow?(): number;
  /** resolves after `ms`, rejects with the signal's reason when it aborts first */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  // Monotonic, aligned to the epoch at start: a wall clock set back (NTP, a resumed VM) would leave the budgets'
  // slots of the last minutes in the future, and hold every create/update for as long as the step.
  now: () => performance.timeOrigin + performance.now(),
  wallNow: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
