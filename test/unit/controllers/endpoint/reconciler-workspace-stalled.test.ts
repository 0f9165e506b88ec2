// The reconciler with the real WorkspaceConnections: an endpoint whose DatabricksWorkspace needs a person is written
// Stalled with no Databricks call, and converges once the workspace's verdict is Ready (the workspace's status change
// wakes it: test/unit/controllers/workspace/endpoint-wake.test.ts).
import { describe, expect, it } from 'vitest';
import type { DatabricksWorkspace } from '../../../../src/api/v1alpha1/index.js';
import { type Secret, WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import type { KubeObject } from '../../../../src/kube/index.js';
import { harness } from './reconciler-harness.js';

type Workspace = DatabricksWorkspace & KubeObject;
type Conditions = { type: string; status: string; reason: string; message: string }[];

const HOST = 'https://adb-1.azuredatabricks.net';
const PAT = Buffer.from('dapi0123456789abcdef0123456789abcdef').toString('base64');

describe('endpoint reconciler: a DatabricksWorkspace with refused credentials, then fixed', () => {
  it('Stalled with no Databricks call while refused; Ready once the workspace is', async () => {
    const workspace: Workspace = {
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { namespace: 'ml', name: 'prod', generation: 1 },
      spec: { host: HOST, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'AuthenticationFailed', message: `${HOST} refused the credentials: 401. Check the Secret or the service principal.`, observedGeneration: 1, lastTransitionTime: '2026-03-01T11:00:00Z' }] },
    } as unknown as Workspace;
    const connections = new WorkspaceConnections({
      workspaces: { get: (key) => (key === 'ml/prod' ? workspace : undefined) },
      secrets: { get: (): Secret => ({ metadata: { namespace: 'ml', name: 'dbx-pat', resourceVersion: '1' }, data: { token: PAT } }) },
      defaultConnection: { error: 'none' },
      federationTokenFile: '/nonexistent/token',
      defaultWorkspaceNamespaces: [],
      federationTrustedHosts: [],
      client: {},
    });
    // The stub client stands in for the one the connections make once the workspace is Ready.
    const h = harness({
      informerFollowsWrites: true,
      workspace: () => {
        const resolved = connections.forEndpoint('ml', { name: 'prod' });
        return resolved.ready ? { ...resolved, client: h.client } : resolved;
      },
    });
    const conditionsWritten = () => (h.patches.filter((p) => p.subresource === 'status').at(-1)?.body as { status: { conditions: Conditions } }).status.conditions;

    expect(await h.run()).toEqual({ requeueAfterMs: 30_000 });
    const stalled = conditionsWritten();
    expect(stalled.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'WorkspaceStalled' });
    expect(stalled.find((c) => c.type === 'Stalled')?.message).toMatch(/^DatabricksWorkspace ml\/prod is not ready \(AuthenticationFailed\): fix its credentials Secret ml\/dbx-pat; .* The workspace says: .* refused the credentials: 401/);
    expect(stalled.find((c) => c.type === 'Reconciling')).toBeUndefined();
    expect(h.events.map((e) => e.reason)).toEqual(['WorkspaceStalled']);
    for (const call of ['getEndpoint', 'getModelOptimizationInfo', 'listEndpoints', 'createEndpoint', 'updateConfig'] as const) expect(h.client[call]).not.toHaveBeenCalled();

    // The Secret is fixed: the workspace's next verdict is Ready, and its status change wakes the endpoint.
    workspace.status = { conditions: [{ type: 'Ready', status: 'True', reason: 'Authenticated', message: `authenticated to ${HOST} with pat; 1 serving endpoint(s) visible`, observedGeneration: 1, lastTransitionTime: '2026-03-01T12:05:00Z' }] } as Workspace['status'];
    await h.run();
    const converged = conditionsWritten();
    expect(converged.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(converged.find((c) => c.type === 'Synced')).toMatchObject({ status: 'True' });
    expect(converged.filter((c) => c.type === 'Stalled' || c.type === 'Reconciling')).toEqual([]);
  });
});
