// Namespaces sharing one Databricks host share its read rate (docs/security.md, "Rate budgets"). The finding: the read
// bucket was one line, first come, first served: a namespace that kept asking (its objects changed in a loop, each
// change a read) filled the line up to the longest wait a reconcile accepts, and another namespace's reads at that
// host were refused (`Synced=False RateLimited`, its changes held back since each starts with a read).
import { describe, expect, it } from 'vitest';
import { DatabricksError } from '../../../src/databricks/errors.js';
import { acquireAll, BucketBudget, perSecondBucket } from '../../../src/databricks/rate-budget.js';
import { FakeClock } from './fake-clock.js';

/** The reconciler's limit: a read that would wait longer is refused and requeued (MAX_BUDGET_WAIT_MS). */
const MAX_WAIT_MS = 2_000;

interface Outcome {
  asked: number;
  refused: number;
  granted: number;
  longestWaitMs: number;
}

/** `team-a` asks every `floodEveryMs` for `seconds`; `team-b` (if it asks) once a second. Each read is one try. */
async function run(floodEveryMs: number, seconds: number, withTeamB: boolean): Promise<Record<'team-a' | 'team-b', Outcome>> {
  const clock = new FakeClock();
  const host = new BucketBudget('https://shared.cloud.databricks.com', perSecondBucket(15, 50), clock);
  const outcomes = { 'team-a': { asked: 0, refused: 0, granted: 0, longestWaitMs: 0 }, 'team-b': { asked: 0, refused: 0, granted: 0, longestWaitMs: 0 } };
  const ask = (tenant: 'team-a' | 'team-b') => {
    const outcome = outcomes[tenant];
    outcome.asked += 1;
    const askedAt = clock.now();
    acquireAll([host], clock, { maxWaitMs: MAX_WAIT_MS, tenant }).then(
      () => {
        outcome.granted += 1;
        outcome.longestWaitMs = Math.max(outcome.longestWaitMs, clock.now() - askedAt);
      },
      () => {
        outcome.refused += 1;
      },
    );
  };
  for (let t = 0; t < seconds * 1000; t += 1) {
    if (t % floodEveryMs === 0) ask('team-a');
    if (withTeamB && t % 1000 === 500) ask('team-b');
    await clock.advance(1);
  }
  await clock.advance(MAX_WAIT_MS + 1);
  return outcomes;
}

describe('reads of one host: a namespace that floods them does not hold back another namespace', () => {
  it('another namespace\'s reads go out, each within a second and a half, while one namespace asks 100 a second', async () => {
    const { 'team-b': b } = await run(10, 20, true);
    // Before: 19 of its 20 reads were refused (RateLimited), the line full of team-a's reads up to the 2 s limit.
    expect(b.asked).toBe(20);
    expect(b.refused).toBe(0);
    expect(b.longestWaitMs).toBeLessThanOrEqual(1_500);
  });

  it('a namespace alone still gets the host\'s whole rate', async () => {
    const { 'team-a': a } = await run(10, 20, false);
    // 15 a second after a burst of 50: 20 s hold at most 50 + 15 × 20 = 350 grants (and those granted near the end wait)
    expect(a.granted).toBeGreaterThanOrEqual(340);
  });

  it('a namespace whose 300 objects read at once, each back when its refusal says, is served at the host\'s rate', async () => {
    const clock = new FakeClock();
    const host = new BucketBudget('https://shared.cloud.databricks.com', perSecondBucket(15, 50), clock);
    let served = 0;
    let refusals = 0;
    const ask = (): void => {
      acquireAll([host], clock, { maxWaitMs: MAX_WAIT_MS, tenant: 'team-a' }).then(
        () => {
          served += 1;
        },
        (err: unknown) => {
          refusals += 1;
          // as the reconciler requeues a read the budget refused: after the time it names
          const after = err instanceof DatabricksError ? (err.retryAfterMs ?? 0) : 0;
          void clock.sleep(after + 1).then(ask);
        },
      );
    };
    for (let i = 0; i < 300; i++) ask();
    await clock.advance(20_000);
    // 50 at once, then 15 a second: all 300 within 17 s (and 20 s leave room). Each object comes back about once a
    // second (1,960 refusals), not each time one place frees (told so, they were refused 27,730 times).
    expect(served).toBe(300);
    expect(refusals).toBeLessThan(3_000);
  });
});
