// vitest retries a failed test of the real-process tiers once by running its body again: not beforeAll, so in the
// same namespace, against the same emulator and operator. A retry must not meet what the failed attempt made or
// changed, or it fails for that reason instead of the one the test is about.
import type { TestContext } from 'vitest';

export type AttemptContext = Pick<TestContext, 'task'>;

/** Which attempt of the test this is: 0 for its first run, 1 for its retry. */
export function attemptOf(context: AttemptContext): number {
  return context.task.result?.retryCount ?? 0;
}

/** A name of this attempt's own: `name` on the first attempt, `name-retry<n>` on a retry. */
export function attemptName(context: AttemptContext, name: string): string {
  const attempt = attemptOf(context);
  return attempt === 0 ? name : `${name}-retry${attempt}`;
}
