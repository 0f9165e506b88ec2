// The alerts of docs/metrics.md use increase()/rate() on counters. Prometheus sees no increase in a series that
// appears with its first sample already at 1: a counter born at its first increment hides that increment, so
// `increase(pt_operator_capacity_failures_total[1h]) > 0` stayed silent for the first capacity failure of a
// namespace after every operator start (and never fired when the retry then succeeded). The series must be there,
// at 0, before the first event, as controller-runtime initialises its own counters.
import { describe, expect, it } from 'vitest';
import { OperatorMetrics } from '../../../src/controllers/metrics.js';
import { Controller, type EventSource } from '../../../src/kube/controller.js';
import { RuntimeMetrics } from '../../../src/kube/metrics.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { createRegistry } from '../../../src/observability/metrics.js';

/** The value of one sample in the exposition text, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('counters the documented alerts read exist at 0 before their first event', () => {
  it('capacity failures and retries of every namespace with endpoint objects, before any rollout failed', async () => {
    const registry = createRegistry();
    const metrics = new OperatorMetrics(registry);
    const inNamespace = (namespace: string) => ({ metadata: { namespace }, status: { conditions: [] } });
    let objects = [inNamespace('team-a'), inNamespace('team-b')];
    metrics.countEndpointsFrom(() => objects);
    let text = await registry.metrics();
    for (const namespace of ['team-a', 'team-b']) {
      expect(sample(text, `pt_operator_capacity_failures_total{namespace="${namespace}"}`)).toBe(0);
      expect(sample(text, `pt_operator_capacity_retries_total{namespace="${namespace}"}`)).toBe(0);
    }
    // the failure then shows as an increase from 0 to 1 between two scrapes
    metrics.capacityFailures.inc({ namespace: 'team-a' });
    objects = [...objects, inNamespace('team-c')];
    text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="team-a"}')).toBe(1);
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="team-c"}')).toBe(0);
  });

  // A new leader counts in its first reconciles the failures of the handover, before Prometheus scrapes it as leader:
  // its series must already be at 0 from its time as a standby (which adds 0 to a sum over the replicas).
  it('on a standby too, which counts no endpoints (the leader does)', async () => {
    const registry = createRegistry();
    const metrics = new OperatorMetrics(registry);
    let leading = false;
    metrics.countEndpointsFrom(() => [{ metadata: { namespace: 'team-a' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Available' }] } }], { leading: () => leading });
    let text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="team-a"}')).toBe(0);
    expect(sample(text, 'pt_operator_capacity_retries_total{namespace="team-a"}')).toBe(0);
    expect(sample(text, 'pt_operator_endpoints{type="Ready",status="True",reason="Available"}')).toBeUndefined();
    leading = true;
    metrics.capacityFailures.inc({ namespace: 'team-a' });
    text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="team-a"}')).toBe(1);
    expect(sample(text, 'pt_operator_endpoints{type="Ready",status="True",reason="Available"}')).toBe(1);
  });

  it("a controller's reconcile error counters and workqueue retries, before any reconcile ran", async () => {
    const registry = createRegistry();
    const metrics = new RuntimeMetrics(registry);
    const primary: EventSource<KubeObject> = { addHandlers: () => {} };
    new Controller<KubeObject>({ name: 'widget', primary, reconcile: async () => undefined, metrics });
    const text = await registry.metrics();
    expect(sample(text, 'controller_runtime_reconcile_errors_total{controller="widget"}')).toBe(0);
    expect(sample(text, 'controller_runtime_terminal_reconcile_errors_total{controller="widget"}')).toBe(0);
    for (const result of ['success', 'error', 'requeue_after']) {
      expect(sample(text, `controller_runtime_reconcile_total{controller="widget",result="${result}"}`)).toBe(0);
    }
    expect(sample(text, 'workqueue_retries_total{name="widget",controller="widget"}')).toBe(0);
    expect(sample(text, 'pt_operator_reconciles_deferred_total{controller="widget"}')).toBe(0);
  });
});

describe("a namespace's capacity counters go with its last endpoint object", () => {
  // Per-PR or per-team namespaces come and go: series kept until a restart grew the scrape without bound.
  it('after 15 minutes without endpoint objects (a scrape or two always sees the last increment), not before', async () => {
    const registry = createRegistry();
    let now = 1_000_000;
    const metrics = new OperatorMetrics(registry, { now: () => now });
    const inNamespace = (namespace: string) => ({ metadata: { namespace }, status: { conditions: [] } });
    let objects = [inNamespace('pr-123'), inNamespace('team-a')];
    metrics.countEndpointsFrom(() => objects);
    await registry.metrics();
    metrics.capacityFailures.inc({ namespace: 'pr-123' });
    objects = [inNamespace('team-a')];
    now += 14 * 60_000;
    let text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="pr-123"}')).toBe(1);
    now += 2 * 60_000;
    text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="pr-123"}')).toBeUndefined();
    expect(sample(text, 'pt_operator_capacity_retries_total{namespace="pr-123"}')).toBeUndefined();
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="team-a"}')).toBe(0);
    // a namespace incremented and emptied between two scrapes is kept as long
    metrics.capacityRetries.inc({ namespace: 'pr-456' });
    text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_retries_total{namespace="pr-456"}')).toBe(1);
    now += 16 * 60_000;
    text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_retries_total{namespace="pr-456"}')).toBeUndefined();
    // back with a new endpoint object: at 0 again
    objects = [inNamespace('team-a'), inNamespace('pr-123')];
    text = await registry.metrics();
    expect(sample(text, 'pt_operator_capacity_failures_total{namespace="pr-123"}')).toBe(0);
  });
});
