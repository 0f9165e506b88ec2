// An endpoint whose DatabricksWorkspace needs a person (its credentials refused, its Secret missing, its spec invalid:
// the workspace itself is Stalled) was Reconciling WorkspaceNotReady: Flux and Helm 4 --wait saw InProgress until
// their timeout, Argo CD Progressing, though nothing changes until someone fixes the workspace. It is Stalled, naming
// the workspace, its reason and what to fix; a workspace the operator retries (an unreachable host, a verdict still
// to come) keeps it Reconciling. No Databricks read meanwhile, and the spec goes out once the workspace is Ready.
import { describe, expect, it } from 'vitest';
import type { DatabricksWorkspace } from '../../../../src/api/v1alpha1/index.js';
import { type Plan, type WorkspaceState, observationsNeeded, planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { type Secret, WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import type { KubeObject } from '../../../../src/kube/index.js';
import { HOST, MINUTE, MODEL, afterPlan, at, condition, edited, endpointObject, planInput, readyEndpoint, reconcile } from '../fixtures.js';

/** The workspace ml/prod as an endpoint's reconcile resolves it, its last verdict Ready=False for its generation. */
function workspaceWith(reason: string, message: string, verdictGeneration = 1): WorkspaceState {
  const workspace = {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { namespace: 'ml', name: 'prod', generation: 1 },
    spec: { host: HOST, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    status: { conditions: [{ type: 'Ready', status: 'False', reason, message, observedGeneration: verdictGeneration, lastTransitionTime: '2026-03-01T11:00:00Z' }] },
  } as unknown as DatabricksWorkspace & KubeObject;
  const connections = new WorkspaceConnections({
    workspaces: { get: (key) => (key === 'ml/prod' ? workspace : undefined) },
    secrets: { get: (): Secret | undefined => undefined },
    defaultConnection: { error: 'none' },
    federationTokenFile: '/nonexistent/token',
    defaultWorkspaceNamespaces: [],
    federationTrustedHosts: [],
    client: {},
  });
  const { ready, reason: why, message: said, host } = connections.forEndpoint('ml', { name: 'prod' });
  return { ready, ...(why && { reason: why }), ...(said && { message: said }), ...(host && { host }) };
}

const REFUSED = workspaceWith('AuthenticationFailed', `${HOST} refused the credentials: 401 invalid token. Check the Secret or the service principal.`);
const UNREACHABLE = workspaceWith('HostUnreachable', `cannot reach ${HOST}: connect ECONNREFUSED`);

const kstatusConditions = (plan: Pick<Plan, 'status'>) => ({
  stalled: plan.status.conditions?.find((c) => c.type === 'Stalled')?.reason,
  reconciling: plan.status.conditions?.find((c) => c.type === 'Reconciling')?.reason,
});

const settled = () => {
  const object = endpointObject();
  return afterPlan(object, reconcile(object, { endpoint: readyEndpoint(), now: at(-MINUTE) }));
};
const v4 = () => edited(settled(), { model: { name: MODEL, version: '4' } });

describe('an endpoint whose DatabricksWorkspace needs a person is Stalled (kstatus Failed, Argo CD Degraded)', () => {
  it.each([
    ['a settled endpoint, polled', settled, 'True Available'],
    ['a new spec', v4, 'Unknown WorkspaceStalled'],
    ['a new object', endpointObject, 'Unknown WorkspaceStalled'],
  ] as const)('%s: Synced=False WorkspaceStalled, Stalled=True, the spec counted as observed, no Databricks read', (_, object, ready) => {
    expect(observationsNeeded(object(), REFUSED.ready)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(object(), { workspace: REFUSED });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceStalled', observedGeneration: object().generation });
    expect(`${condition(plan, 'Ready')?.status} ${condition(plan, 'Ready')?.reason}`).toBe(ready);
    expect(kstatusConditions(plan)).toEqual({ stalled: 'WorkspaceStalled', reconciling: undefined });
    // kstatus reports Failed only for the generation observed
    expect(plan.status.observedGeneration).toBe(object().generation);
  });

  it('the message names the workspace, its reason and message, and what to fix; a Warning Event says it once', () => {
    const plan = reconcile(settled(), { workspace: REFUSED });
    const message = condition(plan, 'Synced')?.message;
    expect(message).toMatch(/^DatabricksWorkspace ml\/prod is not ready \(AuthenticationFailed\): fix its credentials Secret ml\/dbx-pat; .*\. The workspace says: .* refused the credentials: 401 invalid token\. Check the Secret or the service principal\.$/);
    expect(plan.events).toEqual([{ type: 'Warning', reason: 'WorkspaceStalled', message }]);
    expect(reconcile(afterPlan(settled(), plan), { workspace: REFUSED, now: at(MINUTE) }).events).toEqual([]);
  });

  // e2e: the workspace's own message ends in "--from-literal=token=<token>", which the scrubbing of condition messages
  // (kube/conditions.ts) redacts up to the next space: glued to it, "): fix its credentials Secret" was redacted too.
  it('what to fix survives the scrubbing of secret-looking text in the workspace\'s message', () => {
    const missing = workspaceWith('SecretNotFound', 'Secret ml/dbx-pat not found: create it, e.g. kubectl -n ml create secret generic dbx-pat --from-literal=token=<token>');
    const message = condition(reconcile(settled(), { workspace: missing }), 'Synced')?.message;
    expect(message).toMatch(/^DatabricksWorkspace ml\/prod is not ready \(SecretNotFound\): fix its credentials Secret ml\/dbx-pat; /);
    expect(message).toContain('Secret ml/dbx-pat not found: create it');
  });

  it('a new spec held back says what still serves and why the new one waits', () => {
    const ready = condition(reconcile(v4(), { workspace: REFUSED }), 'Ready');
    expect(ready?.message).toContain('the endpoint still serves the spec of generation 1; generation 2 waits: DatabricksWorkspace ml/prod is not ready (AuthenticationFailed): fix its credentials Secret ml/dbx-pat');
  });

  it.each([
    ['its host unreachable (retried by the operator)', UNREACHABLE],
    ['its changed spec not verified yet', workspaceWith('AuthenticationFailed', 'refused', 0)],
  ])('a workspace %s: still Reconciling WorkspaceNotReady', (_, workspace) => {
    const plan = reconcile(v4(), { workspace });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceNotReady' });
    expect(kstatusConditions(plan)).toEqual({ stalled: undefined, reconciling: 'WorkspaceNotReady' });
  });

  it('once the workspace is Ready, the held-back spec is sent as a new one (no DriftDetected) and the endpoint converges', () => {
    const stalled = afterPlan(v4(), reconcile(v4(), { workspace: REFUSED }));
    const woken = reconcile(stalled, { endpoint: readyEndpoint(), now: at(MINUTE) });
    expect(woken.action.type).toBe('updateConfig');
    expect(woken.events.map((e) => e.reason)).toEqual(['UpdatingConfig']);
    expect(kstatusConditions(woken)).toEqual({ stalled: undefined, reconciling: 'Updating' });
    const served = reconcile(afterPlan(stalled, woken), { endpoint: readyEndpoint({ version: '4' }), now: at(20 * MINUTE) });
    expect(`${condition(served, 'Ready')?.status} ${condition(served, 'Ready')?.reason}`).toBe('True Available');
    expect(kstatusConditions(served)).toEqual({ stalled: undefined, reconciling: undefined });
  });

  // A stall on a look at a generation already handled held nothing of it back: the workspace's recovery is no new
  // request, so what Databricks refused stays refused, and nothing is sent the user did not ask for.
  it('a spec Databricks refused stays refused after the workspace stalled and recovered: nothing is sent again', () => {
    const object = edited(settled(), { throughput: { chunks: { min: 2, max: 4 } } });
    const sent = reconcile(object, { endpoint: readyEndpoint() });
    const refused = afterPlan(object, planActionFailure(planInput(object, { endpoint: readyEndpoint() }), sent, { kind: 'InvalidRequest', message: 'too much throughput' }));
    expect(condition({ status: refused.status }, 'Synced')).toMatchObject({ reason: 'InvalidSpec' });
    const stalled = afterPlan(refused, reconcile(refused, { workspace: REFUSED, now: at(MINUTE) }));
    expect(kstatusConditions(stalled)).toEqual({ stalled: 'WorkspaceStalled', reconciling: undefined });
    const recovered = reconcile(stalled, { endpoint: readyEndpoint(), now: at(2 * MINUTE) });
    expect(recovered.action).toEqual({ type: 'none' });
    expect(condition(recovered, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });

  it('a settled endpoint whose workspace stalled and recovered is Synced again with no Databricks change', () => {
    const stalled = afterPlan(settled(), reconcile(settled(), { workspace: REFUSED }));
    const recovered = reconcile(stalled, { endpoint: readyEndpoint(), now: at(MINUTE) });
    expect(recovered.action).toEqual({ type: 'none' });
    expect(condition(recovered, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(kstatusConditions(recovered)).toEqual({ stalled: undefined, reconciling: undefined });
  });
});
