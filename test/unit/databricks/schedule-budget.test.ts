// Issue 15 item 2: 60 endpoints whose schedule window changes at the same moment, one host, the default budget
// of 50 create/update calls per 5 minutes, each reconcile allowed to wait 2 s for the budget (as the operator
// does). What happens: the first 50 to ask go at once; the other 10 are refused with a reserved slot one
// window later, in the order they asked, and each gets exactly that slot when it comes back; a change that asks
// later (another tenant's spec edit) queues behind them. Nobody is starved, nothing is sent twice.
import { describe, expect, it } from 'vitest';
import { DatabricksError } from '../../../src/databricks/errors.js';
import { type Budget, RateBudgetRegistry, acquireAll } from '../../../src/databricks/rate-budget.js';
import { planCallFailure } from '../../../src/controllers/endpoint/failures.js';
import { endpointObject, planInput } from '../controllers/fixtures.js';
import { FakeClock } from './fake-clock.js';

const HOST = 'https://adb-1.azuredatabricks.net';
const WINDOW_MS = 300_000;
const MARGIN_MS = 2_000;
const MAX_BUDGET_WAIT_MS = 2_000;

/** 60 endpoints in three namespaces, asking in the interleaved order a shared workqueue hands them out. */
const endpoints = Array.from({ length: 60 }, (_, i) => `${['team-a', 'team-b', 'team-c'][i % 3]}/llama-${i}`);

async function ask(budgets: Budget[], clock: FakeClock, holder: string): Promise<{ granted: true } | { granted: false; retryAfterMs: number }> {
  try {
    await acquireAll(budgets, clock, { maxWaitMs: MAX_BUDGET_WAIT_MS, holder });
    return { granted: true };
  } catch (err) {
    if (!(err instanceof DatabricksError) || err.kind !== 'RateLimited') throw err;
    return { granted: false, retryAfterMs: err.retryAfterMs ?? NaN };
  }
}

describe('a schedule window change shared by 60 endpoints under a 50 per 5 minutes budget', () => {
  it('50 go at once, 10 wait one window in the order they asked, each served at its slot; later arrivals queue behind', async () => {
    const clock = new FakeClock(0);
    const registry = new RateBudgetRegistry(clock);
    const budgets = registry.forHost(HOST).mutation;

    const first = await Promise.all(endpoints.map(async (holder) => ({ holder, ...(await ask(budgets, clock, holder)) })));
    const granted = first.filter((r) => r.granted).map((r) => r.holder);
    const waiting = first.filter((r): r is { holder: string; granted: false; retryAfterMs: number } => !r.granted);
    expect(granted).toEqual(endpoints.slice(0, 50));
    expect(waiting.map((r) => r.holder)).toEqual(endpoints.slice(50));
    // Every namespace is among those served at once; the last ten to ask wait one window (plus the latency margin).
    expect(new Set(granted.map((h) => h.split('/')[0]))).toEqual(new Set(['team-a', 'team-b', 'team-c']));
    expect(new Set(waiting.map((r) => r.retryAfterMs))).toEqual(new Set([WINDOW_MS + MARGIN_MS]));

    // A spec edit of another tenant a minute later: it queues behind the ten, not before them.
    await clock.advance(60_000);
    const latecomer = await ask(budgets, clock, 'team-d/support-bot');
    expect(latecomer).toEqual({ granted: false, retryAfterMs: WINDOW_MS + MARGIN_MS - 60_000 });

    // Coming back early changes nothing (still refused, same slot, nothing taken); at the slot each one goes.
    expect(await ask(budgets, clock, waiting[0]?.holder as string)).toEqual({ granted: false, retryAfterMs: WINDOW_MS + MARGIN_MS - 60_000 });
    await clock.advance(WINDOW_MS + MARGIN_MS - 60_000);
    for (const { holder } of waiting) expect(await ask(budgets, clock, holder), holder).toEqual({ granted: true });
    expect(await ask(budgets, clock, 'team-d/support-bot')).toEqual({ granted: true });
    // 61 grants in all: one per endpoint and change, none twice.
    expect(budgets[0]?.stats.grants).toBe(61);
  });

  it("a waiting endpoint's status says why it waits and when its change is sent", () => {
    const input = planInput(endpointObject());
    const plan = planCallFailure(input, undefined, {
      kind: 'RateLimited',
      message: `mutation budget of ${HOST}/ is spent: slot reserved in 302s (client-side limit, nothing sent)`,
      retryAfterMs: 302_000,
      fromClientBudget: true,
    });
    const synced = plan.status.conditions?.find((c) => c.type === 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'RateLimited' });
    expect(synced?.message).toContain('shared by every endpoint on it, namespaces taking turns');
    expect(synced?.message).toContain(`this change is sent at ${new Date(input.now.getTime() + 302_000).toISOString().replace('.000', '')}`);
    expect(plan.requeue).toMatchObject({ after: expect.any(Number) });
  });
});
