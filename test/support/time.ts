// Time helpers shared by the client's integration tests and the budget benchmark.
import { type Clock, systemClock } from '../../src/databricks/clock.js';

/** Time running `factor` times faster than the wall clock: the emulator's virtual clock, as the client sees it. */
export function scaledClock(factor: number): Clock {
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * factor,
    sleep: (ms, signal) => systemClock.sleep(ms / factor, signal),
  };
}

/** Largest number of `times` that fall in any window of `windowMs`. */
export function maxInRollingWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
