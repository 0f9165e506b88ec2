// A create refused because the workspace has reached its limit of serving endpoints (Databricks' quota, 1,000 by
// default; the emulator's scenario limits.endpointsPerWorkspace). The finding: the refusal was taken for an invalid
// spec (InvalidSpec), handled and never sent again: after someone deleted an endpoint to make room, the object stayed
// refused until a person set ptoperator.io/requested-at. The quota is freed outside this object, so the operator must
// try again by itself, without calling the spec invalid.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { classifyHttpError } from '../../../../src/databricks/errors.js';
import { MINUTE, NOT_FOUND, SETTINGS, afterPlan, annotated, at, condition, endpointObject, planInput, reconcile } from '../fixtures.js';

const SERVER_MESSAGE = 'The quota for the number of serving endpoints has been reached. The current quota is 1000.';
const QUOTA = { kind: classifyHttpError(400, 'QUOTA_EXCEEDED', SERVER_MESSAGE), message: `POST /api/2.0/serving-endpoints failed (400): QUOTA_EXCEEDED: ${SERVER_MESSAGE}` };

function refusedCreate(object = endpointObject(), now = at(0)) {
  const planned = reconcile(object, { endpoint: NOT_FOUND, now });
  expect(planned.action.type).toBe('create');
  return afterPlan(object, planActionFailure(planInput(object, { endpoint: NOT_FOUND, now }), planned, QUOTA));
}

describe('a create refused by the workspace quota of serving endpoints', () => {
  it('says so (QuotaExceeded, Stalled) with what frees room, not that the spec is invalid', () => {
    const object = endpointObject();
    const planned = reconcile(object, { endpoint: NOT_FOUND });
    const refused = planActionFailure(planInput(object, { endpoint: NOT_FOUND }), planned, QUOTA);
    expect(refused.action).toEqual({ type: 'none' });
    const synced = condition(refused, 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'QuotaExceeded' });
    expect(synced?.message).toContain('The quota for the number of serving endpoints has been reached');
    expect(synced?.message).toMatch(/delete serving endpoints/i);
    expect(synced?.message).toContain(`every ${SETTINGS.pollIntervalMs / 1000}s`);
    expect(condition(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'QuotaExceeded' });
    expect(refused.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'QuotaExceeded' });
    expect(refused.status.rejectedGeneration).toBeUndefined();
    expect(refused.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
  });

  it('is tried again by itself at the next poll: once an endpoint was deleted to make room, the create goes out', () => {
    const refused = refusedCreate();
    const again = reconcile(refused, { endpoint: NOT_FOUND, now: at(5 * MINUTE) });
    expect(again.action.type).toBe('create');
  });

  it('refused again, it says the same: no new Event, no new status', () => {
    const refused = refusedCreate();
    const planned = reconcile(refused, { endpoint: NOT_FOUND, now: at(5 * MINUTE) });
    const again = planActionFailure(planInput(refused, { endpoint: NOT_FOUND, now: at(5 * MINUTE) }), planned, QUOTA);
    expect(again.events).toEqual([]);
    expect(again.status.conditions).toEqual(refused.status.conditions);
  });

  it('a requested-at token it meets stays unhandled, so the retry it asks for is made once there is room', () => {
    const object = annotated(endpointObject(), { [EndpointAnnotation.requestedAt]: 'retry-1' });
    const refused = refusedCreate(object);
    expect(refused.status.lastHandledRequestedAt).toBeUndefined();
  });
});
