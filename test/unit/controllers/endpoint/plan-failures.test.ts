// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type Plan, observationsNeeded, planActionFailure, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { MODEL, SKIPPED, SECOND, SETTINGS, WORKSPACE_IDENTITY, afterPlan, condition, edited, endpointObject, failed, planInput, readyEndpoint, reconcile } from '../fixtures.js';
import { settledObject } from './plan-fixtures.js';

describe('Databricks and workspace failures: nothing done, Ready unchanged', () => {
  it.each([
    // Retry-After plus jitter (10 % at the fixtures' random 0.5), never less than 1 s: see requeue.test.ts
    ['429 on the endpoint read', 'RateLimited', { endpoint: failed('RateLimited', '429 Too Many Requests', 12 * SECOND) }, { after: 13.2 * SECOND }],
    ['429 on the model read', 'RateLimited', { model: failed('RateLimited', '429 Too Many Requests', 3 * SECOND) }, { after: 3.3 * SECOND }],
    ['429 with Retry-After: 0', 'RateLimited', { model: failed('RateLimited', '429 Too Many Requests', 0) }, { after: 1.1 * SECOND }],
    ['429 without Retry-After', 'RateLimited', { endpoint: failed('RateLimited', 'client rate budget spent') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    ['503', 'ReconcileError', { endpoint: failed('Transient', 'GET /api/2.0/serving-endpoints/llama-chat failed (503)') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    ['a network failure', 'ReconcileError', { model: failed('Transient', 'connect ECONNREFUSED') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    ['an unparseable body', 'ReconcileError', { endpoint: failed('InvalidResponse', 'body does not fit the schema') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    // a 401, or a 403 the workspace's own list got too (an unknown PAT): the reconciler reports it as Auth
    ['credentials refused', 'WorkspaceNotReady', { endpoint: failed('Auth', '401 UNAUTHENTICATED') }, { after: SETTINGS.workspaceRetryMs }],
    ['the workspace not ready', 'WorkspaceNotReady', { workspaceReady: false }, { after: SETTINGS.workspaceRetryMs }],
  ] as const)('%s → Synced False %s', (_, reason, options, requeue) => {
    const object = settledObject();
    const plan = reconcile(object, { endpoint: readyEndpoint({ version: '2' }), ...options });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toEqual(requeue);
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason });
    expect(condition(plan, 'Ready')).toEqual(condition(object, 'Ready'));
    expect(plan.status.served).toEqual(object.status.served);
  });

  it('the rate-limit message says when it retries, and never claims 0s when Databricks gave no Retry-After', () => {
    expect(condition(reconcile(settledObject(), { endpoint: failed('RateLimited', '429', 12 * SECOND) }), 'Synced')?.message).toContain('retrying in 14s');
    expect(condition(reconcile(settledObject(), { endpoint: failed('RateLimited', '429') }), 'Synced')?.message).not.toMatch(/\b0s\b/);
  });

  it('workspace not ready: reads nothing, and the message says why', () => {
    expect(observationsNeeded(settledObject(), false)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(settledObject(), { workspaceReady: false });
    expect(condition(plan, 'Synced')?.message).toBe('secret ml/dbx-pat not found');
  });

  it('recovers by itself once the workspace is ready', () => {
    const object = settledObject();
    const down = reconcile(object, { workspaceReady: false });
    const up = reconcile(afterPlan(object, down), { endpoint: readyEndpoint() });
    expect(condition(up, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(condition(up, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
  });
});

describe('a 403 on this endpoint while the credentials work (no CAN_MANAGE on an endpoint made by Terraform)', () => {
  const refused = 'PATCH /api/2.0/serving-endpoints/llama-chat/tags failed (403, PermissionDenied): PERMISSION_DENIED: The caller does not have CAN_MANAGE permission on serving endpoints.';
  const stalledOnIt = (plan: Plan) => {
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    const conditions = plan.status.conditions ?? [];
    expect(conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'PermissionDenied' });
    expect(conditions.find((c) => c.type === 'Reconciling')).toBeUndefined();
    // not a retry storm: the poll interval (a grant in Databricks is seen then), and at once on a spec or requested-at change
    expect(plan.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
    const message = condition(plan, 'Synced')?.message ?? '';
    expect(message).toContain(WORKSPACE_IDENTITY);
    expect(message).toContain('serving endpoint llama-chat');
    expect(message).toContain('CAN_MANAGE');
    expect(message).toContain('databricks_permissions');
    expect(message).toContain(EndpointAnnotation.requestedAt);
    expect(message).toContain('The caller does not have CAN_MANAGE permission');
  };

  it('on the read of the endpoint: stalled with PermissionDenied, saying who lacks what where and how to grant it', () => {
    stalledOnIt(reconcile(settledObject(), { endpoint: failed('PermissionDenied', refused) }));
  });

  it('on a change (the owner tags of an adoption): the same, and the change is sent again later', () => {
    const object = edited(settledObject(), { tags: { team: 'research' } });
    const input = planInput(object, { endpoint: readyEndpoint() });
    const planned = planEndpoint(input);
    expect(planned.action.type).toBe('patchTags');
    const plan = planActionFailure(input, planned, { kind: 'PermissionDenied', message: refused });
    stalledOnIt(plan);
    expect(plan.status.managedTagKeys).toEqual(object.status.managedTagKeys);
  });

  it('on a config update: the spec counts as handled (kstatus sees Stalled), not as rejected (sent again at the next poll)', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const input = planInput(object, { endpoint: readyEndpoint() });
    const planned = planEndpoint(input);
    expect(planned.action.type).toBe('updateConfig');
    const plan = planActionFailure(input, planned, { kind: 'PermissionDenied', message: refused });
    stalledOnIt(plan);
    expect(plan.status.observedGeneration).toBe(object.generation);
    expect(plan.status.rejectedGeneration).toBeUndefined();
    expect(plan.status.pending).toEqual(object.status.pending);
    const granted = reconcile(afterPlan(object, plan), { endpoint: readyEndpoint() });
    expect(granted.action.type).toBe('updateConfig');
    expect(granted.events.map((e) => e.reason)).not.toContain('DriftDetected');
  });

  it.each([
    ['the model read', () => reconcile(endpointObject(), { model: failed('PermissionDenied', 'GET /api/2.0/serving-endpoints/get-model-optimization-info/x/3 failed (403, PermissionDenied): User does not have EXECUTE on Model') }), /may not read model .* version 3: .* Grant that identity EXECUTE on the model/],
    ['the create', () => {
      const input = planInput(endpointObject());
      return planActionFailure(input, planEndpoint(input), { kind: 'PermissionDenied', message: 'POST /api/2.0/serving-endpoints failed (403, PermissionDenied): no' });
    }, /may not create serving endpoint llama-chat: .* Ask a workspace admin to let that identity create serving endpoints/],
    ['the DELETE of a deleted object', () => {
      const object = { ...settledObject(), deleting: true };
      const input = planInput(object, { endpoint: readyEndpoint() });
      return planActionFailure(input, planEndpoint(input), { kind: 'PermissionDenied', message: refused });
    }, /Grant CAN_MANAGE on llama-chat .*, or set spec.deletionPolicy to Orphan to let this object go/],
  ])('a 403 on %s says which grant is missing (and the way out a deletion has)', (_, plan, message) => {
    const synced = condition(plan(), 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(synced?.message).toMatch(message);
  });

  // kstatus (Flux, Helm --wait) reads Stalled only when status.observedGeneration is the object's generation: a new
  // spec refused on a read would otherwise be InProgress until the timeout, while Argo CD already says Degraded.
  it.each([
    ['the model read', { model: failed('PermissionDenied', 'GET /api/2.0/serving-endpoints/get-model-optimization-info/x/4 failed (403, PermissionDenied): User does not have EXECUTE on Model'), endpoint: readyEndpoint() }],
    ['the endpoint read', { endpoint: failed('PermissionDenied', refused) }],
  ] as const)('a new spec refused on %s counts as handled (kstatus sees Stalled), and is carried out once granted', (_, refusal) => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const denied = reconcile(object, refusal);
    expect(condition(denied, 'Synced')).toMatchObject({ status: 'False', reason: 'PermissionDenied', observedGeneration: object.generation });
    expect(denied.status.observedGeneration).toBe(object.generation);
    const granted = reconcile(afterPlan(object, denied), { endpoint: readyEndpoint() });
    expect(granted.action.type).toBe('updateConfig');
    // the user's own spec change, not drift
    expect(granted.events.map((e) => e.reason)).not.toContain('DriftDetected');
  });

  // The same for a spec change in a namespace that lost the default workspace (an admin's change): Argo CD said
  // Degraded, kstatus InProgress until its timeout, since status.observedGeneration stayed at the older spec.
  it('a new spec in a namespace no longer allowed the default workspace counts as handled (kstatus sees Stalled), and is sent once allowed, without a DriftDetected', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const input = planInput(object, { endpoint: SKIPPED, model: SKIPPED });
    const refused = planEndpoint({ ...input, workspace: { ready: false, reason: 'DefaultWorkspaceNotAllowed', message: 'namespace ml may not use the default workspace' } });
    expect(condition(refused, 'Synced')).toMatchObject({ status: 'False', reason: 'DefaultWorkspaceNotAllowed', observedGeneration: object.generation });
    expect(refused.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    expect(refused.status.observedGeneration).toBe(object.generation);
    const allowed = reconcile(afterPlan(object, refused), { endpoint: readyEndpoint() });
    expect(allowed.action.type).toBe('updateConfig');
    expect(allowed.events.map((e) => e.reason)).not.toContain('DriftDetected');
  });

  it('a grant is seen at the next look: Synced again, nothing stalled', () => {
    const object = settledObject();
    const denied = afterPlan(object, reconcile(object, { endpoint: failed('PermissionDenied', refused) }));
    const granted = reconcile(denied, { endpoint: readyEndpoint() });
    expect(condition(granted, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(granted.status.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
  });
});
