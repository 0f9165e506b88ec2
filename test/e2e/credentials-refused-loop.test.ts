// A tenant's own host (a DatabricksWorkspace pointing at a server the tenant runs) refuses every read of one endpoint
// with 401 while it answers the workspace's verification (the list) with 200. Each refusal has the workspace verified
// at once, and each Ready verdict wakes the refused endpoint at once: without a bound the two wake each other in a
// loop at the speed of the host, holding the operator's shared workers and sending calls without end (attacker review,
// session 15). A refusal the verification cannot explain must wait for the retry interval like any other.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, TEST_PAT, addFaults, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-credloop', operatorArgs: ['--workspace-retry-interval=5m', '--poll-interval=5m'] });
});

afterEach(async () => {
  await e2e?.stop();
});

describe('a host that refuses one endpoint for good but accepts the verification', () => {
  it('does not make the endpoint and the workspace wake each other in a loop', async () => {
    await e2e.kubectl(['create', 'secret', 'generic', 'pat', `--from-literal=token=${TEST_PAT}`]);
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'own' },
      spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'pat' } } } },
    });
    await e2e.apply(endpointManifest('looped', { workspaceRef: { name: 'own' } }));
    await e2e.waitUntil('pte', 'looped', isReady, 90_000);

    await addFaults(e2e.emulator.url, { type: 'unauthenticated', match: { endpoint: 'looped' } });
    await e2e.kubectl(['patch', 'pte', 'looped', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 2, max: 4 } } } })]);
    const first = await eventually(
      async () => {
        const [call] = await emulatorCalls(e2e.emulator.url, { endpoint: 'looped', status: 401 });
        if (!call) throw new Error('no refused call yet');
        return call.realTime;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Evidence the verification ran after the refusal and found the credentials working (so the wake happened).
    await eventually(
      async () => {
        const lists = (await emulatorCalls(e2e.emulator.url, { method: 'GET', path: '/api/2.0/serving-endpoints' })).filter((c) => c.realTime > first && c.status === 200);
        if (lists.length === 0) throw new Error('no verification after the refusal yet');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // Meanwhile another endpoint of the workspace is created and becomes ready (seconds of work): the retry interval
    // of 5 minutes allows the one refusal and the one read the verification's wake sends, not a loop.
    await e2e.apply(endpointManifest('witness', { workspaceRef: { name: 'own' } }));
    await e2e.waitUntil('pte', 'witness', isReady, 90_000);
    const refused = await emulatorCalls(e2e.emulator.url, { endpoint: 'looped', status: 401 });
    expect(refused.length, 'refused reads of the endpoint while another one was created').toBeLessThanOrEqual(3);
  }, 180_000);
});
