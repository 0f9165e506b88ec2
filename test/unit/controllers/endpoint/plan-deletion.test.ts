// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type EndpointObject, observationsNeeded, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { ENDPOINT_ID, HOST, NOT_FOUND, SKIPPED, NOW, OWNER, SECOND, SETTINGS, at, condition, endpointOfAnotherObject, failed, foreignEndpoint, iso, planInput, readyEndpoint, reconcile } from '../fixtures.js';
import { progressWindow, firstLookWindow, requeueAfter, eventReasons, settledObject, HOUR_AGO } from './plan-fixtures.js';

describe('deletion', () => {
  const deleting = (overrides: Partial<EndpointObject> = {}): EndpointObject => ({ ...settledObject(), deleting: true, ...overrides });
  const orphaning = () => deleting({ spec: { ...settledObject().spec, deletionPolicy: 'Orphan' } });

  it.each([
    ['Delete, our endpoint', deleting(), readyEndpoint(), { type: 'delete', name: 'llama-chat' }],
    ['Delete, already gone (404)', deleting(), NOT_FOUND, { type: 'removeFinalizer' }],
    ['Delete, a foreign endpoint (another ID than status.endpointId)', deleting(), { ...foreignEndpoint(), id: 'f00d' }, { type: 'removeFinalizer' }],
    ['Delete, our endpoint whose owner tags were removed out of band (status.endpointId is its ID)', deleting(), foreignEndpoint(), { type: 'delete', name: 'llama-chat' }],
    ['Delete, an endpoint of another object', deleting(), endpointOfAnotherObject(), { type: 'removeFinalizer' }],
    ['Orphan', orphaning(), readyEndpoint(), { type: 'removeFinalizer' }],
    ['Delete, an endpoint this object adopted (untagged)', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW) } } }), foreignEndpoint(), { type: 'delete', name: 'llama-chat' }],
    // A Velero restore with status gives the new object (new UID) the old object's status.adoption; the old cluster may still run it.
    ['Delete, restored: status.adoption made by an earlier object of this name, the endpoint tagged for it', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW), uid: 'uid-of-the-old-cluster' } } }), readyEndpoint({}, { owner: { ...OWNER, uid: 'uid-of-the-old-cluster' } }), { type: 'removeFinalizer' }],
    // Blue/green: the new cluster's object adopted the endpoint too and tagged it with its first change.
    ['Delete, adopted untagged, since tagged for an object of another cluster', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW), uid: OWNER.uid } } }), endpointOfAnotherObject(), { type: 'removeFinalizer' }],
    ['Delete, adopted, but made again since (another ID)', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW) } } }), { ...foreignEndpoint(), id: 'f00d' }, { type: 'removeFinalizer' }],
    ['no finalizer of ours', deleting({ hasFinalizer: false }), readyEndpoint(), { type: 'none' }],
  ])('%s → the right action', (_, object, endpoint, action) => {
    expect(reconcile(object, { endpoint }).action).toEqual(action);
  });

  it('Delete of our endpoint: Ready False Deleting, Synced True, back within the progress interval', () => {
    const plan = reconcile(deleting(), { endpoint: readyEndpoint() });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Deleting' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True' });
    expect(requeueAfter(plan)).toBeLessThanOrEqual(progressWindow[1]);
  });

  it('a delete just requested is looked at again after about a quarter of a second, then after half the deletion\'s age (not after the progress interval: 50 deletes took 24 s in bench/rollout.ts)', () => {
    const justDeleted = deleting({ deletionTimestamp: iso(at(0)) });
    const first = requeueAfter(reconcile(justDeleted, { endpoint: readyEndpoint(), now: at(200) }));
    expect(first).toBeGreaterThanOrEqual(firstLookWindow[0]);
    expect(first).toBeLessThanOrEqual(firstLookWindow[1]);
    const stillThere = requeueAfter(reconcile(justDeleted, { endpoint: readyEndpoint(), now: at(8 * SECOND) }));
    expect(stillThere).toBeGreaterThanOrEqual(0.75 * 4 * SECOND);
    expect(stillThere).toBeLessThanOrEqual(1.25 * 4 * SECOND);
    const long = requeueAfter(reconcile(justDeleted, { endpoint: readyEndpoint(), now: at(HOUR_AGO) }));
    expect(long).toBeGreaterThanOrEqual(progressWindow[0]);
    expect(long).toBeLessThanOrEqual(progressWindow[1]);
  });

  it('never deletes an endpoint it does not own, and says so', () => {
    const plan = reconcile(deleting(), { endpoint: { ...foreignEndpoint(), id: 'f00d' } });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'NotOwned' }));
  });

  it('Orphan reads nothing and leaves the endpoint', () => {
    const object = orphaning();
    expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
    expect(eventReasons(reconcile(object))).toContain('Normal Orphaned');
  });

  it('Delete while the workspace is not ready: keeps the finalizer and retries', () => {
    const plan = reconcile(deleting(), { endpoint: readyEndpoint(), workspaceReady: false });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceNotReady' });
    expect(plan.requeue).toEqual({ after: SETTINGS.workspaceRetryMs });
  });

  it('Delete after the namespace lost the default workspace: keeps the finalizer, says how to let go (Orphan)', () => {
    const input = planInput(deleting(), { endpoint: SKIPPED });
    const plan = planEndpoint({ ...input, workspace: { ready: false, reason: 'DefaultWorkspaceNotAllowed', message: 'namespace ml may not use the default workspace' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'DefaultWorkspaceNotAllowed', message: expect.stringContaining('spec.deletionPolicy to Orphan') });
  });

  it('Delete when the read is rate limited: keeps the finalizer and comes back after Retry-After (+10 % jitter at random 0.5)', () => {
    const plan = reconcile(deleting(), { endpoint: failed('RateLimited', '429 Too Many Requests', 7 * SECOND) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toEqual({ after: 7.7 * SECOND });
  });

  // Issue 11, finding 7: `kubectl delete crd ...` (or an operator uninstall that takes the CRD with it) is not a
  // request to delete endpoints in Databricks.
  it.each([
    ['Delete', deleting({ crdDeleting: true })],
    ['Delete, paused', deleting({ crdDeleting: true, annotations: { [EndpointAnnotation.paused]: 'true' } })],
    ['Delete, workspace not ready', deleting({ crdDeleting: true })],
  ])('the CRD is being deleted (%s): reads nothing, releases the finalizer, leaves the endpoint, warns', (_, object) => {
    expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(object, { endpoint: readyEndpoint(), workspaceReady: !_.includes('not ready') });
    expect(plan.action).toEqual({ type: 'removeFinalizer' });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'CRDDeleted', message: expect.stringContaining('left running in Databricks') }));
    // A re-created object is a new one (a new UID): it meets the endpoint as NotOwned unless it asks to adopt it,
    // so the way back the Warning gives must say so (it said "re-create the object", which alone ends in NotOwned).
    const warning = plan.events.find((e) => e.reason === 'CRDDeleted');
    expect(warning?.message).toContain(`${EndpointAnnotation.adopt}: "true"`);
    expect(warning?.message).toContain('pt-operator import');
  });

  it('Delete after the workspace lost its credentials (a namespace deletion seen after a restart): names the endpoint and host, offers Orphan, not "create the Secret"', () => {
    const input = planInput(deleting(), { endpoint: SKIPPED });
    const workspace = { ready: false, credentialsLost: true, host: HOST, message: 'DatabricksWorkspace ml/prod is being deleted and its Secret ml/dbx-pat is gone' };
    const plan = planEndpoint({ ...input, workspace });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toEqual({ after: SETTINGS.workspaceRetryMs });
    const synced = condition(plan, 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'WorkspaceNotReady' });
    expect(synced?.message).toContain(`cannot delete endpoint llama-chat at ${HOST}: ${workspace.message}`);
    expect(synced?.message).toContain('set spec.deletionPolicy to Orphan');
    expect(synced?.message).toContain(`delete endpoint llama-chat at ${HOST} yourself`);
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'WorkspaceNotReady', message: synced?.message }));
  });

  it('Delete while the workspace is not ready: the message offers both ways out (a ready workspace, or Orphan)', () => {
    const plan = reconcile(deleting(), { endpoint: readyEndpoint(), workspaceReady: false });
    expect(condition(plan, 'Synced')?.message).toMatch(/Once the workspace is ready the endpoint is deleted; .* set spec\.deletionPolicy to Orphan/);
  });

  // `kubectl delete` of an object with a finalizer bumps metadata.generation (the API server does, with the deletion
  // timestamp): no spec was edited, so Ready must not say that a new generation waits (kubectl describe, -o wide).
  it.each([
    ['the workspace not ready', { endpoint: readyEndpoint(), workspaceReady: false }],
    ['a Databricks outage', { endpoint: failed('Transient', 'GET /api/2.0/serving-endpoints/llama-chat failed (503)') }],
    ['a rate limit', { endpoint: failed('RateLimited', '429 Too Many Requests', 7 * SECOND) }],
  ])('a deletion held back by %s: Ready says the endpoint still serves and the deletion waits, not that a generation does', (_, options) => {
    const object = deleting({ generation: settledObject().generation + 1 });
    const ready = condition(reconcile(object, options), 'Ready');
    const synced = condition(reconcile(object, options), 'Synced');
    expect(ready?.message).toBe(`the endpoint still serves the spec of generation ${settledObject().generation}; the deletion waits: ${synced?.message}`);
    // and again at the next look, from the status that one wrote
    const again = condition(reconcile({ ...object, status: reconcile(object, options).status }, options), 'Ready');
    expect(again?.message).toBe(ready?.message);
  });

  // A create nobody heard the answer to (a timeout, or a previous process that died) may still land in Databricks.
  describe('a create of this object may still land (unconfirmed-creates.ts)', () => {
    const until = at(10 * SECOND);
    it.each([
      ['not listed, it may still land', NOT_FOUND, until, { type: 'none' }],
      ['not listed, it can no longer land', NOT_FOUND, at(-SECOND), { type: 'removeFinalizer' }],
      ['it landed: our endpoint', readyEndpoint(), until, { type: 'delete', name: 'llama-chat' }],
      ['not listed, no create unanswered', NOT_FOUND, undefined, { type: 'removeFinalizer' }],
    ])('%s → the right action', (_, endpoint, createMayLandUntil, action) => {
      const input = planInput(deleting(), { endpoint });
      expect(planEndpoint({ ...input, ...(createMayLandUntil && { createMayLandUntil }) }).action).toEqual(action);
    });

    it('keeps the finalizer, says why and until when, and looks again once it can no longer land', () => {
      const plan = planEndpoint({ ...planInput(deleting(), { endpoint: NOT_FOUND }), createMayLandUntil: until });
      expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Deleting', message: expect.stringContaining(`waiting until ${iso(until)}`) });
      expect(condition(plan, 'Ready')?.message).toContain('a create of endpoint llama-chat was sent and not answered');
      expect(plan.requeue).toEqual({ after: 10 * SECOND + 1 });
    });
  });

  it('Delete of a paused object touches nothing: the endpoint is neither deleted nor abandoned', () => {
    const object = deleting({ annotations: { [EndpointAnnotation.paused]: 'true' } });
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcilePaused' });
  });
});
