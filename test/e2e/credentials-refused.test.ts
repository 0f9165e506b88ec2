// Databricks refuses an endpoint's call once (401: a token that expired, or a PAT revoked after its Secret was
// rotated). The refusal has the DatabricksWorkspace verified again at once; when that verification finds working
// credentials (its verdict stays Ready, so its status does not change), the endpoints the refusal held back must
// go on at once, not at their next retry --workspace-retry-interval later (SRE review, session 14: up to 30 s of
// WorkspaceNotReady after a rotation that had already worked).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, TEST_PAT, addFaults, condition, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  // A retry interval far beyond the test's bound: only the verification's verdict may wake the endpoint.
  e2e = await startE2E({ prefix: 'e2e-creds', operatorArgs: ['--workspace-retry-interval=5m', '--poll-interval=5m'] });
});

afterEach(async () => {
  await e2e?.stop();
});

describe('a refused credential that a verification finds working again', () => {
  it('the endpoints it held back go on as soon as the workspace is verified, not a retry interval later', async () => {
    await e2e.kubectl(['create', 'secret', 'generic', 'pat', `--from-literal=token=${TEST_PAT}`]);
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'prod' },
      spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'pat' } } } },
    });
    await e2e.apply(endpointManifest('refused-once', { workspaceRef: { name: 'prod' } }));
    await e2e.waitUntil('pte', 'refused-once', isReady, 90_000);

    // The endpoint's next read is refused once; the workspace's own verification (a list) is not.
    await addFaults(e2e.emulator.url, { type: 'unauthenticated', times: 1, match: { endpoint: 'refused-once' } });
    await e2e.kubectl(['patch', 'pte', 'refused-once', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 2, max: 4 } } } })]);
    // Evidence of the refusal: the 401 in the emulator's call log (the WorkspaceNotReady it gives may last only an instant).
    const refusedAt = await eventually(
      async () => {
        const [call] = await emulatorCalls(e2e.emulator.url, { endpoint: 'refused-once', status: 401 });
        if (!call) throw new Error('no refused call of refused-once yet');
        return call.realTime;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    const synced = await e2e.waitUntil('pte', 'refused-once', (o) => isReady(o) && condition(o, 'Synced')?.reason === 'ReconcileSuccess' && condition(o, 'Synced')?.observedGeneration === 2, 60_000);
    // Timed to the change reaching Databricks (both stamps from the emulator's call log), not to this test seeing
    // Ready: the rollout and kubectl's polling on a loaded machine are not the wait the refusal caused.
    const [update] = await emulatorCalls(e2e.emulator.url, { endpoint: 'refused-once', method: 'PUT', status: 200 });
    expect(update, 'the accepted update of refused-once').toBeDefined();
    expect(update!.realTime - refusedAt, 'from the refusal to the change applied (ms)').toBeLessThan(15_000);
    expect(condition(synced, 'Ready')?.observedGeneration).toBe((synced as { metadata: { generation?: number } }).metadata.generation);
    expect(condition(await e2e.get('dbws', 'prod'), 'Ready')?.status).toBe('True');
  }, 180_000);
});
