// A refusal that needs a person (a permission withdrawn, the default workspace no longer allowed, a workspace that
// needs fixing) can meet a spec at its first look, before anything of it was sent, or at a later look, long after it
// was carried out. Only the first is a spec still to carry out once the refusal ends; the second held nothing back, so
// the end of the refusal (a grant, an allowance) must not re-send what Databricks refused, restart a spent capacity
// budget, or hide an out-of-band change as the user's own.
import { describe, expect, it } from 'vitest';
import { planActionFailure, type Plan } from '../../../../src/controllers/endpoint/plan.js';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { MINUTE, MODEL, afterPlan, annotated, at, condition, edited, failed, planInput, readyEndpoint, reconcile } from '../fixtures.js';
import { capacityFailure, eventReasons, outage, settledObject, updateRequested } from './plan-fixtures.js';

const DENIED = 'GET /api/2.0/serving-endpoints/llama-chat failed (403, PermissionDenied): PERMISSION_DENIED: The caller does not have CAN_MANAGE permission on serving endpoints.';

type Object = ReturnType<typeof settledObject>;

const defaultWorkspaceWithdrawn = (object: Object, now: Date) =>
  reconcile(object, { workspace: { ready: false, reason: 'DefaultWorkspaceNotAllowed', message: 'namespace ml may not use the default workspace' }, now });

/** The refusals that can meet a generation already handled, each as the look that meets it. */
const refusals: [string, (object: Object, now: Date) => Plan][] = [
  ['the endpoint read denied (a permission withdrawn)', (object, now) => reconcile(object, { endpoint: failed('PermissionDenied', DENIED), now })],
  ['the model read denied (EXECUTE withdrawn)', (object, now) => reconcile(object, { endpoint: readyEndpoint(), model: failed('PermissionDenied', 'User does not have EXECUTE on Model'), now })],
  ['the default workspace no longer allowed', (object, now) => defaultWorkspaceWithdrawn(object, now)],
];

/** An object whose generation 2 (version 3 at 2–4 chunks) Databricks refused as invalid: it is not sent again. */
function refusedByDatabricks(): Object {
  const object = edited(settledObject(), { throughput: { chunks: { min: 2, max: 4 } } });
  const sent = reconcile(object, { endpoint: readyEndpoint() });
  expect(sent.action.type).toBe('updateConfig');
  const refused = afterPlan(object, planActionFailure(planInput(object, { endpoint: readyEndpoint() }), sent, { kind: 'InvalidRequest', message: 'too much throughput' }));
  expect(condition({ status: refused.status }, 'Synced')).toMatchObject({ reason: 'InvalidSpec' });
  return refused;
}

describe('a refusal at a look at a generation already carried out holds nothing of it back', () => {
  it.each(refusals)('%s, then ended: a spec Databricks refused stays refused, nothing is sent', (_, refuse) => {
    const refused = refusedByDatabricks();
    const stalled = afterPlan(refused, refuse(refused, at(MINUTE)));
    expect(stalled.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    const ended = reconcile(stalled, { endpoint: readyEndpoint(), now: at(2 * MINUTE) });
    expect(ended.action).toEqual({ type: 'none' });
    expect(condition(ended, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });

  it.each(refusals)('%s, then ended: a spent capacity budget stays spent, nothing is sent', (_, refuse) => {
    const { object, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
    expect(object.status.capacity?.exhausted).toBe(true);
    const stalled = afterPlan(object, refuse(object, new Date(now)));
    const ended = reconcile(stalled, { endpoint: capacityFailure(), now: new Date(now + MINUTE) });
    expect(ended.action).toEqual({ type: 'none' });
    expect(condition(ended, 'Synced')).toMatchObject({ status: 'False', reason: 'CapacityRetriesExhausted' });
    expect(ended.status.capacity?.exhausted).toBe(true);
  });

  it.each(refusals)('%s, then ended: a config changed in Databricks meanwhile is drift (DriftDetected), not the spec', (_, refuse) => {
    const settled = settledObject();
    const stalled = afterPlan(settled, refuse(settled, at(MINUTE)));
    const ended = reconcile(stalled, { endpoint: readyEndpoint({ version: '2' }), now: at(2 * MINUTE) });
    expect(ended.action.type).toBe('updateConfig');
    expect(eventReasons(ended)).toContain('Warning DriftDetected');
  });
});

describe('a refusal at the first look at a generation holds it back until the refusal ends', () => {
  it.each(refusals)('%s, then ended: the new spec is sent as the user\'s (no DriftDetected), however many looks the refusal lasted', (_, refuse) => {
    let object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    for (const minute of [1, 2, 3]) object = afterPlan(object, refuse(object, at(minute * MINUTE)));
    expect(object.status.observedGeneration).toBe(object.generation);
    const ended = reconcile(object, { endpoint: readyEndpoint(), now: at(4 * MINUTE) });
    expect(ended.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '4' }] } } });
    expect(eventReasons(ended)).not.toContain('Warning DriftDetected');
  });

  it.each(refusals)('%s at a new requested-at token: the retry it asks for is carried out once the refusal ends', (_, refuse) => {
    const { object: exhausted, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
    const object = annotated(exhausted, { [EndpointAnnotation.requestedAt]: '2026-03-01T15:00:00Z' });
    const stalled = afterPlan(object, refuse(object, new Date(now)));
    const ended = reconcile(stalled, { endpoint: capacityFailure(), now: new Date(now + MINUTE) });
    expect(ended.action.type).toBe('updateConfig');
    expect(ended.status.capacity).toBeUndefined();
  });

  it.each([
    ['a 503', { kind: 'Transient', message: 'PUT failed (503)' }],
    ['a 429 of the client budget', { kind: 'RateLimited', message: 'client budget spent', retryAfterMs: 30_000 }],
    ['a 409', { kind: 'Conflict', message: 'another update is in progress' }],
  ] as const)('a held spec whose first send after the grant fails (%s) is still the user\'s at the next look', (_, failure) => {
    let object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    object = afterPlan(object, reconcile(object, { endpoint: failed('PermissionDenied', DENIED), now: at(MINUTE) }));
    const input = planInput(object, { endpoint: readyEndpoint(), now: at(2 * MINUTE) });
    const sent = reconcile(object, { endpoint: readyEndpoint(), now: at(2 * MINUTE) });
    expect(sent.action.type).toBe('updateConfig');
    const notSent = afterPlan(object, planActionFailure(input, sent, failure));
    const again = reconcile(notSent, { endpoint: readyEndpoint(), now: at(3 * MINUTE) });
    expect(again.action.type).toBe('updateConfig');
    expect(eventReasons(again)).not.toContain('Warning DriftDetected');
  });

  it('a held spec that changes only tags, whose tag patch after the allowance fails (503), patches them as the user\'s at the next look', () => {
    let object = edited(settledObject(), { tags: { team: 'search' } });
    object = afterPlan(object, defaultWorkspaceWithdrawn(object, at(MINUTE)));
    const input = planInput(object, { endpoint: readyEndpoint(), now: at(2 * MINUTE) });
    const sent = reconcile(object, { endpoint: readyEndpoint(), now: at(2 * MINUTE) });
    expect(sent.action.type).toBe('patchTags');
    const notSent = afterPlan(object, planActionFailure(input, sent, { kind: 'Transient', message: 'PATCH failed (503)' }));
    const again = reconcile(notSent, { endpoint: readyEndpoint(), now: at(3 * MINUTE) });
    expect(again.action.type).toBe('patchTags');
    expect(eventReasons(again)).not.toContain('Warning DriftDetected');
  });

  it('a new spec whose update Databricks refused for want of a permission is sent again as the user\'s once granted', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const input = planInput(object, { endpoint: readyEndpoint() });
    const sent = reconcile(object, { endpoint: readyEndpoint() });
    const denied = afterPlan(object, planActionFailure(input, sent, { kind: 'PermissionDenied', message: DENIED }));
    const stillDenied = afterPlan(denied, reconcile(denied, { endpoint: failed('PermissionDenied', DENIED), now: at(MINUTE) }));
    const granted = reconcile(stillDenied, { endpoint: readyEndpoint(), now: at(2 * MINUTE) });
    expect(granted.action.type).toBe('updateConfig');
    expect(eventReasons(granted)).not.toContain('Warning DriftDetected');
  });

  it('a drift restore refused for want of a permission is drift still once granted, not a new spec', () => {
    const settled = settledObject();
    const drifted = { endpoint: readyEndpoint({ version: '2' }) };
    const restore = reconcile(settled, drifted);
    expect(restore.action.type).toBe('updateConfig');
    const denied = afterPlan(settled, planActionFailure(planInput(settled, drifted), restore, { kind: 'PermissionDenied', message: DENIED }));
    const granted = reconcile(denied, { ...drifted, now: at(MINUTE) });
    expect(granted.action.type).toBe('updateConfig');
    expect(eventReasons(granted)).toContain('Warning DriftDetected');
  });
});
