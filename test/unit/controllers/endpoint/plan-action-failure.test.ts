// UPDATE_FAILED rows of the decision table: capacity retries with backoff and budget, other failures,
// and what a failed action means for the plan that asked for it.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { HOUR, MINUTE, MODEL, NOT_FOUND, SECOND, SETTINGS, afterPlan, annotated, at, condition, edited, endpointObject, iso, planInput, readyEndpoint, reconcile } from '../fixtures.js';
import { V4, capacityFailure, buildFailure, updateRequested } from './plan-fixtures.js';

describe('planActionFailure', () => {
  it('an update that was refused restores the pending config announced for it', () => {
    const object = updateRequested();
    const before = afterPlan(object, reconcile(object, { endpoint: readyEndpoint({ version: '3' }) }));
    const input = planInput(edited(before, { model: { name: MODEL, version: '5' } }), { endpoint: readyEndpoint({ version: '3' }) });
    const planned = reconcile(input.object, { endpoint: readyEndpoint({ version: '3' }) });
    expect(planned.status.pending?.modelVersion).toBe('5');
    const retry = planActionFailure(input, planned, { kind: 'Transient', message: '503 TEMPORARILY_UNAVAILABLE' });
    expect(retry.status.pending).toEqual(input.object.status.pending);
    expect(retry.action).toEqual({ type: 'none' });
    expect(retry.requeue).toEqual({ backoff: true, maxMs: SETTINGS.workspaceRetryMs });
    expect(condition(retry, 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcileError' });
  });

  it('a capacity retry that was rate limited stays due, so the next reconcile re-issues it', () => {
    const counted = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: capacityFailure() }));
    const input = planInput(counted, { endpoint: capacityFailure(), now: at(2 * MINUTE) });
    const planned = reconcile(counted, { endpoint: capacityFailure(), now: at(2 * MINUTE) });
    expect(planned.action.type).toBe('updateConfig');
    const retry = planActionFailure(input, planned, { kind: 'RateLimited', message: '429', retryAfterMs: 5 * SECOND });
    expect(retry.status.capacity?.nextRetryTime).toBe(counted.status.capacity?.nextRetryTime);
    expect(retry.requeue).toEqual({ after: 5.5 * SECOND });
    const next = reconcile(afterPlan(counted, retry), { endpoint: capacityFailure(), now: at(2 * MINUTE + 5 * SECOND) });
    expect(next.action.type).toBe('updateConfig');
    expect(next.status.capacity?.attempts).toBe(1);
  });

  it('a requested-at retry whose update was rate limited is still carried out on the next reconcile', () => {
    const failedOnce = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: buildFailure() }));
    const object = annotated(failedOnce, { [EndpointAnnotation.requestedAt]: 'retry-1' });
    const input = planInput(object, { endpoint: buildFailure(), now: at(MINUTE) });
    const planned = reconcile(object, { endpoint: buildFailure(), now: at(MINUTE) });
    expect(planned.action.type).toBe('updateConfig');
    const retry = planActionFailure(input, planned, { kind: 'RateLimited', message: '429', retryAfterMs: 5 * SECOND });
    const next = reconcile(afterPlan(object, retry), { endpoint: buildFailure(), now: at(MINUTE + 5 * SECOND) });
    expect(next.action.type).toBe('updateConfig');
  });

  it('a requested-at retry made while the workspace is down is carried out once it is back', () => {
    const failedOnce = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: buildFailure() }));
    const object = annotated(failedOnce, { [EndpointAnnotation.requestedAt]: 'retry-1' });
    const down = reconcile(object, { workspaceReady: false, now: at(MINUTE) });
    const back = reconcile(afterPlan(object, down), { endpoint: buildFailure(), now: at(2 * MINUTE) });
    expect(back.action.type).toBe('updateConfig');
  });

  it('a requested-at retry Databricks rejects as invalid is handled: it is not sent again', () => {
    const failedOnce = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: buildFailure() }));
    const object = annotated(failedOnce, { [EndpointAnnotation.requestedAt]: 'retry-1' });
    const planned = reconcile(object, { endpoint: buildFailure(), now: at(MINUTE) });
    const rejected = planActionFailure(planInput(object, { now: at(MINUTE) }), planned, { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE' });
    expect(rejected.status.lastHandledRequestedAt).toBe('retry-1');
    const next = reconcile(afterPlan(object, rejected), { endpoint: buildFailure(), now: at(2 * MINUTE) });
    expect(next.action).toEqual({ type: 'none' });
  });

  it('a create that failed transiently forgets the pending config it announced', () => {
    const object = endpointObject();
    const input = planInput(object);
    const planned = reconcile(object);
    expect(planned.action.type).toBe('create');
    const retry = planActionFailure(input, planned, { kind: 'Transient', message: 'connect ECONNRESET' });
    expect(retry.status.pending).toBeUndefined();
    expect(retry.requeue).toEqual({ backoff: true, maxMs: SETTINGS.workspaceRetryMs });
  });

  it('a create that hit an existing endpoint reads again at once', () => {
    const object = endpointObject();
    const retry = planActionFailure(planInput(object), reconcile(object), { kind: 'AlreadyExists', message: 'RESOURCE_ALREADY_EXISTS' });
    expect(retry.requeue).toEqual({ after: 0 });
    expect(retry.action).toEqual({ type: 'none' });
  });

  // Nothing of the spec was sent: Synced=True would let `kubectl wait --for=condition=Synced` return before it is, as
  // a spec held behind a rollout seen in the read says WaitingForRollout (status-summary.ts: Reconciling, not Stalled).
  it('an update refused because another is in progress waits for it without an error, Synced=False WaitingForRollout', () => {
    const object = edited(updateRequested(), { model: { name: MODEL, version: '5' } });
    const planned = reconcile(object, { endpoint: readyEndpoint({ version: '3' }) });
    const retry = planActionFailure(planInput(object), planned, { kind: 'Conflict', message: 'RESOURCE_CONFLICT' });
    expect(condition(retry, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout', message: expect.stringContaining('sent again once that one finishes') });
    expect(retry.requeue).toMatchObject({ after: expect.any(Number) });
  });

  // The 409 is Databricks saying a config update runs now: Ready must not go on saying Available (the desired config
  // serves) until the next look reads the rollout. It says what the next look will: Updating, and what still serves.
  it.each([
    ['restoring drift (the same generation: Ready was True)', () => {
      const settled = endpointObject();
      return afterPlan(settled, reconcile(settled, { endpoint: readyEndpoint(), now: at(-30 * MINUTE) }));
    }, () => readyEndpoint({ max: 3920 })],
    ['a new spec (version 5)', () => edited(updateRequested(), { model: { name: MODEL, version: '5' } }), () => readyEndpoint({ version: '4' })],
  ])('an update refused with 409 while %s → Ready False Updating at once, saying what still serves', (_, object, endpoint) => {
    const input = planInput(object(), { endpoint: endpoint() });
    const planned = reconcile(input.object, { endpoint: endpoint() });
    expect(planned.action.type).toBe('updateConfig');
    const refused = planActionFailure(input, planned, { kind: 'Conflict', message: 'RESOURCE_CONFLICT: Endpoint already has an update in progress.' });
    expect(condition(refused, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout', observedGeneration: input.object.generation });
    expect(condition(refused, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Updating',
      observedGeneration: input.object.generation,
      message: expect.stringMatching(/another config update of the endpoint is in progress in Databricks \(it answered 409\); version [34] at 1960-(2940|3920) tokens\/s still serves; the spec is sent once that update finishes/),
    });
    expect(refused.status.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForRollout' });
    // Nothing was sent: the pending config announced for the update is not recorded.
    expect(refused.status.pending).toEqual(input.object.status.pending);
  });

  it('an update Databricks rejects as invalid → Synced False InvalidSpec, no retry until the spec changes', () => {
    const object = edited(updateRequested(), { model: { name: MODEL, version: '5' } });
    const planned = reconcile(object, { endpoint: readyEndpoint({ version: '3' }) });
    const retry = planActionFailure(planInput(object), planned, { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: entity_version 5 does not exist' });
    expect(condition(retry, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('entity_version 5 does not exist') });
    expect(condition(retry, 'Ready')?.status).toBe('False');
    expect(retry.requeue).toBeUndefined();
  });

  it('a rejected update is not sent again by the next reconcile (resync, our own status write), only after a change', () => {
    const object = edited(updateRequested(), { model: { name: MODEL, version: '5' } });
    const served = readyEndpoint({ version: '3' });
    const planned = reconcile(object, { endpoint: served });
    const rejected = afterPlan(object, planActionFailure(planInput(object), planned, { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: entity_version 5 does not exist' }));

    const resync = reconcile(rejected, { endpoint: served, now: at(MINUTE) });
    expect(resync.action).toEqual({ type: 'none' });
    // Still looked at every poll interval (status follows the endpoint), never sent again.
    expect(resync.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
    expect(condition(resync, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('entity_version 5') });

    expect(reconcile(annotated(rejected, { [EndpointAnnotation.requestedAt]: 'again' }), { endpoint: served, now: at(MINUTE) }).action.type).toBe('updateConfig');
    expect(reconcile(edited(rejected, { model: { name: MODEL, version: '4' } }), { endpoint: served, now: at(MINUTE) }).action.type).toBe('updateConfig');
  });

  it('a rejected create is not posted again until the spec changes', () => {
    const object = endpointObject();
    const rejected = afterPlan(object, planActionFailure(planInput(object), reconcile(object), { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: bad tags' }));
    expect(reconcile(rejected, { now: at(MINUTE) }).action).toEqual({ type: 'none' });
    expect(reconcile(edited(rejected, { tags: { team: 'ok' } }), { now: at(MINUTE) }).action.type).toBe('create');
  });
});

describe('planActionFailure and Ready', () => {
  it('an update that was rate limited does not announce a rollout, nor call the old spec the new one: Ready Unknown', () => {
    const settled = endpointObject();
    const ready = afterPlan(settled, reconcile(settled, { endpoint: readyEndpoint() }));
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    const object = edited(ready, { model: { name: MODEL, version: '5' } });
    const planned = reconcile(object, { endpoint: readyEndpoint() });
    expect(condition(planned, 'Ready')?.reason).toBe('Updating');
    const retry = planActionFailure(planInput(object, { endpoint: readyEndpoint() }), planned, { kind: 'RateLimited', message: '429', retryAfterMs: 5 * SECOND });
    expect(condition(retry, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'RateLimited', observedGeneration: 2 });
    expect(condition(retry, 'Synced')).toMatchObject({ status: 'False', reason: 'RateLimited' });
    // Without a new spec (a requested-at retry of the same one), Ready keeps what it said.
    const failedOnce = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: buildFailure() }));
    const again = annotated(failedOnce, { [EndpointAnnotation.requestedAt]: 'retry-1' });
    const resent = reconcile(again, { endpoint: buildFailure(), now: at(MINUTE) });
    expect(resent.action.type).toBe('updateConfig');
    const limited = planActionFailure(planInput(again, { endpoint: buildFailure(), now: at(MINUTE) }), resent, { kind: 'RateLimited', message: '429', retryAfterMs: 5 * SECOND });
    expect(condition(limited, 'Ready')).toEqual(condition(failedOnce, 'Ready'));
  });
});

describe('planActionFailure after a look that found the spec no longer served', () => {
  // Found by plan-property.test.ts: the endpoint of a Ready object was deleted (or its config changed) in Databricks,
  // the operator's re-create (or restore) met a 503, and kubectl showed Ready=True Available for the current
  // generation, "version 3 ... serves", while nothing served; kubectl wait and kstatus took it as done.
  it.each([
    ['deleted in Databricks: the re-create fails', NOT_FOUND, 'create'],
    ['another version set in Databricks: the restore fails', readyEndpoint({ version: '4' }), 'updateConfig'],
  ] as const)('%s → Ready is not True', (_, endpoint, action) => {
    const settled = endpointObject();
    const ready = afterPlan(settled, reconcile(settled, { endpoint: readyEndpoint(), now: at(-HOUR) }));
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 });
    for (const error of [{ kind: 'Transient', message: '503 TEMPORARILY_UNAVAILABLE' }, { kind: 'RateLimited', message: '429', retryAfterMs: 5 * SECOND }] as const) {
      const planned = reconcile(ready, { endpoint, now: at(0) });
      expect(planned.action.type).toBe(action);
      const retry = planActionFailure(planInput(ready, { endpoint, now: at(0) }), planned, error);
      expect(condition(retry, 'Ready')?.status).not.toBe('True');
      expect(retry.status.conditions?.find((c) => c.type === 'Reconciling')?.status).toBe('True');
    }
  });
});

describe('repeated failures of one action do not churn status or Events (issue 16, finding 4)', () => {
  /** One reconcile whose config update answers 429 every time, as the reconciler runs it. */
  const rateLimitedUpdate = (object: ReturnType<typeof endpointObject>, now: Date) => {
    const input = planInput(object, { endpoint: readyEndpoint(), now });
    const planned = reconcile(object, { endpoint: readyEndpoint(), now });
    expect(planned.action.type).toBe('updateConfig');
    return planActionFailure(input, planned, { kind: 'RateLimited', message: '429 REQUEST_LIMIT_EXCEEDED', retryAfterMs: 30 * SECOND });
  };

  it('Synced.lastTransitionTime stays put, the status is unchanged (no write) and no Event is planned after the first', () => {
    const settled = endpointObject();
    const ready = afterPlan(settled, reconcile(settled, { endpoint: readyEndpoint(), now: at(-HOUR) }));
    let object = edited(ready, V4);
    const first = rateLimitedUpdate(object, at(0));
    expect(condition(first, 'Synced')).toMatchObject({ status: 'False', reason: 'RateLimited', lastTransitionTime: iso(at(0)) });
    expect(first.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'RateLimited' })]);
    object = afterPlan(object, first);
    for (const minutes of [1, 2, 3]) {
      const retry = rateLimitedUpdate(object, at(minutes * MINUTE));
      expect(condition(retry, 'Synced')?.lastTransitionTime).toBe(iso(at(0)));
      expect(retry.status).toEqual(object.status);
      expect(retry.events).toEqual([]);
      object = afterPlan(object, retry);
    }
  });
});

describe('a rejected request is remembered in status, not in a message (issue 16, finding 5)', () => {
  it('status.rejectedGeneration holds it, whatever the Synced message says later', () => {
    const object = edited(updateRequested(), { model: { name: MODEL, version: '5' } });
    const served = readyEndpoint({ version: '3' });
    const planned = reconcile(object, { endpoint: served });
    const rejected = afterPlan(object, planActionFailure(planInput(object), planned, { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: entity_version 5 does not exist' }));
    expect(rejected.status.rejectedGeneration).toBe(object.generation);
    // Another writer (or a future wording) changes the message: the decision must not change with it.
    const reworded = {
      ...rejected,
      status: { ...rejected.status, conditions: rejected.status.conditions?.map((c) => (c.type === 'Synced' ? { ...c, message: 'refused by Databricks' } : c)) },
    };
    expect(reconcile(reworded, { endpoint: served, now: at(MINUTE) }).action).toEqual({ type: 'none' });
    // A new spec starts over and forgets the rejection.
    const fixed = reconcile(edited(rejected, { model: { name: MODEL, version: '4' } }), { endpoint: served, now: at(MINUTE) });
    expect(fixed.action.type).toBe('updateConfig');
    expect(fixed.status.rejectedGeneration).toBeUndefined();
  });
});
