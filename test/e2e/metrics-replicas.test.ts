// The chart runs two replicas (replicaCount: 2) and Prometheus scrapes both. The standby's informer cache is warm, so
// the endpoints-by-condition gauge it exported counted every object a second time: the documented
// `sum(pt_operator_endpoints{type="Stalled",status="True"})` and any dashboard of endpoints by condition showed twice
// the objects there are. Only the replica that acts (the leader) counts them.
import { describe, expect, it, onTestFinished } from 'vitest';
import { cluster, eventually } from '../support/cluster.js';
import { endpointManifest, isReady, type OperatorProcess, startE2E, startOperator } from './harness.js';

const NAMES = ['counted-0', 'counted-1'];

/** The URL the operator serves /metrics at, from its start-up log line. */
function metricsUrl(replica: OperatorProcess): string {
  const line = replica.logs().split('\n').find((l) => l.includes('"msg":"serving /metrics"'));
  if (!line) throw new Error('the replica does not serve /metrics yet');
  return `${(JSON.parse(line) as { url: string }).url}/metrics`;
}

/** The sum of a metric's samples whose series start with `series` (name and the first labels), in one scrape. */
function total(text: string, series: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(series))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('metrics of two replicas', () => {
  it('summed over both replicas, pt_operator_endpoints counts each object once; the standby reports itself as such', async () => {
    const e2e = await startE2E({ prefix: 'e2e-metrics-replicas', startOperator: false });
    const leaseId = `pt-e2e-metrics-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const leaseNamespace = cluster().operatorNamespace;
    const replicas = ['replica-a', 'replica-b'].map((identity) =>
      startOperator({
        namespace: e2e.namespace,
        emulatorUrl: e2e.emulator.url,
        name: `${e2e.namespace}-${identity}`,
        args: ['--leader-elect=true', `--leader-election-namespace=${leaseNamespace}`, `--leader-election-id=${leaseId}`],
        env: { POD_NAME: identity },
      }),
    );
    onTestFinished(async () => {
      await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
      await e2e.emulator.close();
    });
    await e2e.apply(NAMES.map((name) => endpointManifest(name)));
    for (const name of NAMES) await e2e.waitUntil('pte', name, isReady, 90_000);

    // Both replicas have the objects in their caches (the standby's informers run too) once both have synced.
    const scrapes = await eventually(
      async () => {
        const texts = await Promise.all(replicas.map(async (r) => (await fetch(metricsUrl(r))).text()));
        const leaders = texts.map((t) => total(t, 'leader_election_master_status{'));
        if (leaders.reduce((a, b) => a + b, 0) !== 1) throw new Error(`leader_election_master_status: ${leaders.join(', ')}`);
        if (!replicas.every((r) => r.logs().includes('"msg":"caches synced"'))) throw new Error('a replica has not synced');
        return texts;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const available = scrapes.map((t) => total(t, 'pt_operator_endpoints{type="Ready",status="True",reason="Available"}'));
    expect(available.reduce((a, b) => a + b, 0), `per replica: ${available.join(', ')}`).toBe(NAMES.length);
    // The standby's queue is empty: its controllers queue nothing until it leads (workqueue_depth counted every
    // object and change on it before, so an alert on a queue that does not drain fired for the replica that waits).
    const standby = scrapes.find((t) => total(t, 'leader_election_master_status{') === 0) as string;
    expect(total(standby, 'workqueue_depth{'), 'the standby queues nothing').toBe(0);
    expect(total(standby, 'workqueue_adds_total{'), 'the standby queues nothing').toBe(0);
    // The standby has the capacity counters of the namespace at 0: when it takes over, the first failure it counts
    // (often in its first reconciles, before Prometheus scraped it as leader) is an increase from 0 that
    // `increase(pt_operator_capacity_failures_total[1h]) > 0` sees, not a series born at 1. It adds 0 to a sum.
    for (const counter of ['pt_operator_capacity_failures_total', 'pt_operator_capacity_retries_total']) {
      expect(standby.split('\n'), `the standby's ${counter}`).toContain(`${counter}{namespace="${e2e.namespace}"} 0`);
    }
  });
});
