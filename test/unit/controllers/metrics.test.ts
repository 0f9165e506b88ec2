// Throttling is visible per Databricks host (issue 16, finding 6): the operator's metrics of the rate
// budgets, fed by the real budget registry, name the host that was throttled and leave the others alone.
import { describe, expect, it } from 'vitest';
import { OperatorMetrics } from '../../../src/controllers/metrics.js';
import { acquireAll, RELEASE_GRACE_MS, RateBudgetRegistry } from '../../../src/databricks/rate-budget.js';
import { createRegistry } from '../../../src/observability/metrics.js';

const THROTTLED = 'https://adb-1111111111111111.1.azuredatabricks.net';
const CALM = 'https://adb-2222222222222222.2.azuredatabricks.net';

describe('rate-budget metrics by host', () => {
  it('a 429 on one host shows as throttled and rejected calls of that host, with the waits of each host apart', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const registry = createRegistry();
    const metrics = new OperatorMetrics(registry);
    const budgets = new RateBudgetRegistry(clock, metrics.databricksSink());

    await acquireAll(budgets.forHost(CALM).read, clock, { maxWaitMs: 2_000 });
    const throttled = budgets.forHost(THROTTLED).read;
    await acquireAll(throttled, clock, { maxWaitMs: 2_000 });
    for (const budget of throttled) budget.throttled(30_000, clock.now());
    await expect(acquireAll(throttled, clock, { maxWaitMs: 2_000 })).rejects.toMatchObject({ kind: 'RateLimited', fromClientBudget: true });

    const text = await registry.metrics();
    expect(text).toContain(`pt_operator_rate_budget_throttled_total{host="${THROTTLED}",budget="read"} 1`);
    expect(text).toContain(`pt_operator_rate_budget_rejected_total{host="${THROTTLED}",budget="read"} 1`);
    expect(text).not.toMatch(new RegExp(`pt_operator_rate_budget_(throttled|rejected)_total\\{host="${CALM}"`));
    expect(text).toContain(`pt_operator_rate_budget_wait_seconds_count{host="${CALM}",budget="read"} 1`);
    expect(text).toContain(`pt_operator_rate_budget_wait_seconds_count{host="${THROTTLED}",budget="read"} 1`);
  });
});

// The HTTP status is the host's choice, and a tenant's host (its DatabricksWorkspace pointed at its own server) may
// answer any of 100 to 999 (undici passes them all). Counters keep every series they ever had: one per status, per
// operation and outcome, made tens of thousands of series the tenant chose, in every scrape from then on.
describe('Databricks requests by status', () => {
  it("a host's made-up statuses share one series per class; the statuses HTTP defines keep their own", async () => {
    const registry = createRegistry();
    const sink = new OperatorMetrics(registry).databricksSink();
    for (let status = 200; status <= 999; status++) {
      sink.request?.({ host: THROTTLED, operation: 'getEndpoint', method: 'GET', status, outcome: 'InvalidResponse', durationMs: 5, attempt: 1 });
    }
    const series = (await registry.getSingleMetric('pt_operator_databricks_requests_total')?.get())?.values ?? [];
    const statuses = new Set(series.map((s) => s.labels.status));
    for (const known of ['200', '404', '429', '503']) expect(statuses).toContain(known);
    expect(statuses).toContain('9xx');
    expect(statuses.size).toBeLessThanOrEqual(80);
  });
});

describe('endpoints by condition', () => {
  it('a host no client uses any more, once its budgets are idle, leaves every series', async () => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const registry = createRegistry();
    const metrics = new OperatorMetrics(registry);
    const budgets = new RateBudgetRegistry(clock, metrics.databricksSink());
    metrics.budgetLimitsFrom(() => budgets.currentLimits());
    await acquireAll(budgets.forHost(CALM).read, clock, { maxWaitMs: 2_000 });
    await acquireAll(budgets.forHost(THROTTLED).read, clock, { maxWaitMs: 2_000 });
    expect(await registry.metrics()).toContain(`pt_operator_rate_budget_limit{host="${CALM}",budget="read"}`);
    budgets.release(CALM);
    now += RELEASE_GRACE_MS; // the read bucket refilled, and no released client can still be in a call
    await registry.metrics(); // the scrape that finds it idle drops it (its limit at once, the others after)
    const text = await registry.metrics();
    expect(text).not.toContain(CALM);
    expect(text).toContain(`pt_operator_rate_budget_wait_seconds_count{host="${THROTTLED}",budget="read"} 1`);
  });

  it('counts the cached objects at each scrape, by type, status and reason, and forgets reasons no longer held', async () => {
    const registry = createRegistry();
    const metrics = new OperatorMetrics(registry);
    const ready = (status: string, reason: string) => ({ status: { conditions: [{ type: 'Ready', status, reason }, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }] } });
    let objects = [ready('True', 'Available'), ready('True', 'Available'), ready('False', 'Creating'), {}];
    metrics.countEndpointsFrom(() => objects);
    let text = await registry.metrics();
    expect(text).toContain('pt_operator_endpoints{type="Ready",status="True",reason="Available"} 2');
    expect(text).toContain('pt_operator_endpoints{type="Ready",status="False",reason="Creating"} 1');
    expect(text).toContain('pt_operator_endpoints{type="Synced",status="True",reason="ReconcileSuccess"} 3');
    objects = [ready('True', 'Available')];
    text = await registry.metrics();
    expect(text).toContain('pt_operator_endpoints{type="Ready",status="True",reason="Available"} 1');
    expect(text).not.toContain('reason="Creating"');
  });
});

describe('docs/metrics.md', () => {
  it('documents every metric the operator exports', async () => {
    const { readFileSync } = await import('node:fs');
    const { RuntimeMetrics } = await import('../../../src/kube/metrics.js');
    const registry = createRegistry();
    new OperatorMetrics(registry);
    new RuntimeMetrics(registry);
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((name) => !/^(process|nodejs)_/.test(name));
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !doc.includes(`\`${name}`))).toEqual([]);
  });

  // A dashboard or alert is written from the table: a label or type it names must be the one exported.
  it("states each operator metric's type and labels as they are registered", async () => {
    const { readFileSync } = await import('node:fs');
    const { RuntimeMetrics } = await import('../../../src/kube/metrics.js');
    const registry = createRegistry();
    new OperatorMetrics(registry);
    new RuntimeMetrics(registry);
    const exported = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m]));
    const rows = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| `pt_operator_'))
      .map((line) => line.split(' | '));
    expect(rows.length).toBeGreaterThan(15);
    const stated = rows.map(([name = '', type = '', labels = '']) => ({ name: name.slice(3, -1), type, labels: [...labels.matchAll(/`(\w+)`/g)].map((m) => m[1]) }));
    const actual = stated.map(({ name }) => {
      const metric = exported.get(name);
      const labelNames = (registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];
      return { name, type: metric?.type ?? 'not exported', labels: [...labelNames] };
    });
    expect(stated).toEqual(actual);
  });
});
