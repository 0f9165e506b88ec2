// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { observationsNeeded } from '../../../../src/controllers/endpoint/plan.js';
import { MINUTE, MODEL, afterPlan, annotated, at, condition, edited, iso, readyEndpoint, reconcile } from '../fixtures.js';
import { capacityFailure, settledObject, updateRequested } from './plan-fixtures.js';

describe('paused', () => {
  it('Synced False ReconcilePaused, no action, no requeue, no reads, nothing else changed', () => {
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.paused]: 'true' } };
    expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(edited(object, { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toBeUndefined();
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcilePaused' });
    // The new spec is not carried out, so Ready does not call it Available; without one, Ready stays as it was.
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'ReconcilePaused' });
    expect(condition(reconcile(object, { endpoint: readyEndpoint() }), 'Ready')).toEqual(condition(object, 'Ready'));
    expect({ ...plan.status, conditions: undefined }).toEqual({ ...object.status, conditions: undefined });
  });

  it.each(['True', 'TRUE', ' true '])('ptoperator.io/paused=%j pauses too (read as ptoperator.io/canary is: case and spaces do not matter), rather than letting the operator change the endpoint', (value) => {
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.paused]: value } };
    expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(edited(object, { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcilePaused' });
  });

  // A user who writes paused: "yes" (or "1", "on", a typo) means to stop the operator, e.g. while changing the endpoint
  // by hand; it went on reading and changing the endpoint with Synced=True, undoing the hand-made change unannounced.
  it.each(['yes', '1', 'on', 'ture', ''])('ptoperator.io/paused=%j, neither true nor false: held as paused, and Synced says which values count', (value) => {
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.paused]: value } };
    expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(edited(object, { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcilePaused', message: expect.stringContaining(`${EndpointAnnotation.paused}=${JSON.stringify(value)} is neither "true" nor "false"`) });
  });

  // An annotation value may be up to 256 KiB: pasted whole, it filled the message, which status cuts at 32 KiB, so the
  // part that says which values count (and that a deletion waits) was cut off.
  it('a long ptoperator.io/paused value is shown short: the message still says which values count, and that a deletion waits', () => {
    const value = `no\n${'please-hold '.repeat(10_000)}`;
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.paused]: value } };
    const plan = reconcile({ ...object, deleting: true }, { endpoint: readyEndpoint() });
    const message = condition(plan, 'Synced')?.message ?? '';
    expect(message).toContain('is neither "true" nor "false"');
    expect(message).toContain('until the value is "true" or "false" or the annotation is removed');
    expect(message).toContain('the deletion waits until the annotation is removed');
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(1000);
  });

  it.each(['false', ' False '])('ptoperator.io/paused=%j does not pause', (value) => {
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.paused]: value } };
    const plan = reconcile(edited(object, { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
    expect(plan.action.type).toBe('updateConfig');
  });
});

describe('paused during a capacity retry wait', () => {
  // Ready went on saying "Next retry at T" after T had passed, while nothing was retried: the pause holds the retry.
  it('Ready says the retry waits for the pause to end, not "Next retry at" a time that passes with nothing sent', () => {
    const waiting = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: capacityFailure() }));
    const retryAt = waiting.status.capacity?.nextRetryTime;
    expect(retryAt).toBe(iso(at(2 * MINUTE)));
    const paused = annotated(waiting, { [EndpointAnnotation.paused]: 'true' });
    const plan = reconcile(paused, { endpoint: capacityFailure(), now: at(5 * MINUTE) });
    expect(plan.action).toEqual({ type: 'none' });
    const ready = condition(plan, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'WaitingForCapacity' });
    expect(ready?.message).not.toContain('Next retry at');
    expect(ready?.message).toContain(`waits until annotation ${EndpointAnnotation.paused} is removed`);
    expect(ready?.message).toContain('GPU capacity unavailable (attempt 1)');
    // the retry itself is still the one counted: resuming after its time sends it at once
    expect(plan.status.capacity).toEqual(waiting.status.capacity);
    const resumed = reconcile(annotated(afterPlan(paused, plan), { [EndpointAnnotation.paused]: 'false' }), { endpoint: capacityFailure(), now: at(5 * MINUTE) });
    expect(resumed.action.type).toBe('updateConfig');
  });
});
