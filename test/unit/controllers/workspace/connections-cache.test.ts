// WorkspaceConnections as the endpoint reconciler uses it (issue 16, finding 13: the I/O shell had no fast test):
// a client per workspace generation and Secret version, and an endpoint waits for a verified, current workspace.
import { describe, expect, it } from 'vitest';
import type { DatabricksWorkspace } from '../../../../src/api/v1alpha1/index.js';
import { type Secret, WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import { RELEASE_GRACE_MS, RateBudgetRegistry } from '../../../../src/databricks/rate-budget.js';
import type { KubeObject } from '../../../../src/kube/index.js';
import { FakeClock } from '../../databricks/fake-clock.js';

type Workspace = DatabricksWorkspace & KubeObject;
const HOST = 'https://adb-1234567890123456.7.azuredatabricks.net';

/** The PAT Secret every workspace below names. */
const PAT_SECRET: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ml', name: 'dbx-pat', resourceVersion: '1' }, data: { token: Buffer.from('dapi-x').toString('base64') } };

/** Connections over these workspaces (by key), all naming PAT_SECRET. */
const connectionsOver = (workspaces: ReadonlyMap<string, Workspace>, client: ConstructorParameters<typeof WorkspaceConnections>[0]['client'] = {}) =>
  new WorkspaceConnections({
    workspaces: { get: (key) => workspaces.get(key) },
    secrets: { get: () => PAT_SECRET },
    defaultConnection: { error: 'DATABRICKS_HOST is not set' },
    federationTokenFile: '/nonexistent/token',
    defaultWorkspaceNamespaces: [],
    federationTrustedHosts: [],
    client,
  });

/** `defaultWorkspaceNamespaces`: the namespaces allowed the default workspace, which the operator does not have. */
function setup(defaultWorkspaceNamespaces: string[] = []) {
  const workspaces = new Map<string, Workspace>();
  const secrets = new Map<string, Secret>();
  const connections = new WorkspaceConnections({
    workspaces: { get: (key) => workspaces.get(key) },
    secrets: { get: (key) => secrets.get(key) },
    defaultConnection: { error: 'DATABRICKS_HOST is not set' },
    federationTokenFile: '/nonexistent/token',
    defaultWorkspaceNamespaces,
    federationTrustedHosts: [],
    client: {},
  });
  const putWorkspace = (generation: number, ready: 'True' | 'False' | undefined, observedGeneration = generation) =>
    workspaces.set('ml/prod', {
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { namespace: 'ml', name: 'prod', generation },
      spec: { host: HOST, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
      ...(ready && { status: { conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'Authenticated' : 'AuthenticationFailed', message: 'x', observedGeneration, lastTransitionTime: '2026-03-01T12:00:00Z' }] } }),
    } as unknown as Workspace);
  const putSecret = (resourceVersion: string, token: string) =>
    secrets.set('ml/dbx-pat', { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'ml', name: 'dbx-pat', resourceVersion }, data: { token: Buffer.from(token).toString('base64') } });
  return { connections, putWorkspace, putSecret };
}

describe('WorkspaceConnections for endpoints', () => {
  it('reuses one client while the workspace and its Secret are unchanged; a rotated Secret or an edited workspace gets a new one', () => {
    const { connections, putWorkspace, putSecret } = setup();
    putWorkspace(1, 'True');
    putSecret('10', 'dapi-first');
    const first = connections.forEndpoint('ml', { name: 'prod' });
    expect(first).toMatchObject({ name: 'ml/prod', ready: true, host: HOST });
    expect(connections.forEndpoint('ml', { name: 'prod' }).client).toBe(first.client);

    putSecret('11', 'dapi-rotated');
    const rotated = connections.forEndpoint('ml', { name: 'prod' });
    expect(rotated.client).toBeDefined();
    expect(rotated.client).not.toBe(first.client);

    putWorkspace(2, 'True');
    const edited = connections.forEndpoint('ml', { name: 'prod' });
    expect(edited.client).not.toBe(rotated.client);
  });

  it('an endpoint waits while its workspace is missing, refused, or verified only for an older generation; the message says which (pending when that was Ready)', () => {
    const { connections, putWorkspace, putSecret } = setup();
    putSecret('10', 'dapi-first');
    expect(connections.forEndpoint('ml', { name: 'prod' })).toMatchObject({ ready: false, message: expect.stringContaining('DatabricksWorkspace ml/prod not found') });
    putWorkspace(1, 'False');
    expect(connections.forEndpoint('ml', { name: 'prod' })).toMatchObject({ ready: false, message: expect.stringContaining('AuthenticationFailed') });
    putWorkspace(2, 'False', 1);
    expect(connections.forEndpoint('ml', { name: 'prod' })).toMatchObject({ ready: false, message: expect.stringContaining('have not been verified yet') });
    // Ready for the generation before: its last verdict stands while the new one is reached (pending, no client).
    putWorkspace(2, 'True', 1);
    expect(connections.forEndpoint('ml', { name: 'prod' })).toMatchObject({ ready: false, pending: true, message: expect.stringContaining('being verified again') });
    expect(connections.forEndpoint('ml', { name: 'prod' }).client).toBeUndefined();
  });

  it('without spec.workspaceRef and no default workspace allowed: not ready, with the reason and how to fix it', () => {
    const { connections } = setup();
    expect(connections.forEndpoint('ml', undefined)).toMatchObject({ ready: false, reason: 'DefaultWorkspaceNotAllowed', message: expect.stringContaining('sets spec.workspaceRef') });
  });

  // Only a new object or the cluster admin can fix a missing default workspace: the endpoint said WorkspaceNotReady,
  // which kstatus, Argo CD and kubectl describe read as "still in progress" for ever.
  it('allowed the default workspace, but the operator has none: WorkspaceStalled (a person must act), not WorkspaceNotReady', () => {
    const { connections } = setup(['ml']);
    expect(connections.forEndpoint('ml', undefined)).toMatchObject({ ready: false, reason: 'WorkspaceStalled', message: expect.stringContaining('ask the cluster admin') });
  });

  // The CRD refuses adding spec.workspaceRef to an existing object (CEL: has(self.workspaceRef) == has(oldSelf.workspaceRef)):
  // "set spec.workspaceRef" alone sends the tenant to an edit that kubectl apply rejects.
  it('without spec.workspaceRef, the fix it names is a new object that sets it, not an edit the CRD refuses', () => {
    const { connections } = setup();
    const { connections: allowed } = setup(['ml']);
    for (const resolved of [connections.forEndpoint('ml', undefined), allowed.forEndpoint('ml', undefined)]) {
      expect(resolved.ready).toBe(false);
      expect(resolved.message).toContain('spec.workspaceRef cannot be added to an existing object');
      expect(resolved.message).toContain('create a new object that sets spec.workspaceRef');
    }
  });
});

// A tenant re-applying one workspace ~70 times with a different spec.host grew the per-host rate budgets (and
// their pt_operator_rate_budget_limit series) by one host each time: none was ever dropped.
describe('rate budgets of hosts no workspace uses any more', () => {
  it('are dropped, with their metric series, when the workspace moves to another host', async () => {
    const released: string[] = [];
    const clock = new FakeClock();
    const budgets = new RateBudgetRegistry(clock, { budgetReleased: ({ host }) => released.push(host) });
    const workspaces = new Map<string, Workspace>();
    const connections = connectionsOver(workspaces, { budgets });
    const hostOf = (i: number) => `https://adb-${1000 + i}.7.azuredatabricks.net`;
    for (let generation = 1; generation <= 70; generation++) {
      const ws = {
        apiVersion: 'serving.ptoperator.io/v1alpha1',
        kind: 'DatabricksWorkspace',
        metadata: { namespace: 'ml', name: 'prod', generation },
        spec: { host: hostOf(generation), auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } }, ...(generation % 2 === 0 && { rateLimits: { readsPerSecond: 1 } }) },
      } as unknown as Workspace;
      workspaces.set('ml/prod', ws);
      expect(connections.clientFor(ws)).toHaveProperty('client');
      // a released host's budgets outlive it by RELEASE_GRACE_MS (a reconcile may still be in a call with them)
      await clock.advance(RELEASE_GRACE_MS);
    }
    expect(new Set(budgets.currentLimits().map((l) => l.host))).toEqual(new Set([hostOf(70)]));
    expect(budgets.hosts()).toEqual([hostOf(70)]);
    expect(released).toHaveLength(69);
    expect(released).not.toContain(hostOf(70));
  });
});

// A workspace deleted and created again under its name (to point it at another Databricks workspace, or by a GitOps
// tool replacing it) starts again at generation 1; with its Secret unchanged, it was given the client of the object
// it replaced: verified and used at the old host while its status and the endpoints' status.workspaceHost named the new one.
describe('a workspace deleted and created again under its name', () => {
  it('gets a client of its own, for its own host', () => {
    const workspaces = new Map<string, Workspace>();
    const connections = connectionsOver(workspaces);
    const workspace = (uid: string, host: string) =>
      ({
        apiVersion: 'serving.ptoperator.io/v1alpha1',
        kind: 'DatabricksWorkspace',
        metadata: { namespace: 'ml', name: 'prod', uid, generation: 1 },
        spec: { host, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
      }) as unknown as Workspace;
    const first = connections.clientFor(workspace('uid-1', 'https://adb-1111.7.azuredatabricks.net'));
    expect(first).toHaveProperty('client.host', 'https://adb-1111.7.azuredatabricks.net');
    const again = connections.clientFor(workspace('uid-2', 'https://adb-2222.7.azuredatabricks.net'));
    expect(again).toHaveProperty('client.host', 'https://adb-2222.7.azuredatabricks.net');
  });

  it('gives back the budgets of its host once it is gone', async () => {
    const released: string[] = [];
    const clock = new FakeClock();
    const budgets = new RateBudgetRegistry(clock, { budgetReleased: ({ host }) => released.push(host) });
    const connections = connectionsOver(new Map(), { budgets });
    const ws = {
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { namespace: 'ml', name: 'prod', uid: 'uid-1', generation: 1 },
      spec: { host: HOST, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    } as unknown as Workspace;
    expect(connections.clientFor(ws)).toHaveProperty('client');
    connections.forget('ml/prod');
    await clock.advance(RELEASE_GRACE_MS);
    // the next scrape of the budget gauge sweeps them
    expect(budgets.currentLimits()).toEqual([]);
    expect(released).toEqual([HOST]);
  });
});
