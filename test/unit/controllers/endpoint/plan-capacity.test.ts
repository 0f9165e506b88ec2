// UPDATE_FAILED rows of the decision table: capacity retries with backoff and budget, other failures,
// and what a failed action means for the plan that asked for it.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type Plan } from '../../../../src/controllers/endpoint/plan.js';
import { CAPACITY_ABORT_MESSAGE, MINUTE, MODEL, NOW, SECOND, type SpecInput, afterPlan, annotated, at, condition, edited, endpointObject, failedEndpoint, iso, readyEndpoint, reconcile, updatingEndpoint } from '../fixtures.js';
import { V4, capacityFailure, outage, updateRequested, eventReasons } from './plan-fixtures.js';

const rollingOut = () => updatingEndpoint({ version: '3' }, { version: '4' });

describe('UPDATE_FAILED for lack of GPU capacity', () => {
  it('the first failure counts attempt 1 and schedules the retry after the initial backoff (2m)', () => {
    const plan = reconcile(updateRequested(), { endpoint: capacityFailure() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.capacity).toEqual({
      attempts: 1,
      firstFailureTime: iso(NOW),
      nextRetryTime: iso(at(2 * MINUTE)),
      lastMessage: `DEPLOYMENT_ABORTED: ${CAPACITY_ABORT_MESSAGE.replace(/\.$/, '')}`,
      // the failed rollout's start, in Databricks' clock: a later failure of another rollout is a retry's
      lastFailedRolloutStart: iso(at(-10 * MINUTE)),
      // the budget these attempts count against: a spec that changes it starts a new one, a tag edit does not
      retryTimeout: '6h',
    });
    expect(plan.requeue).toEqual({ after: 2 * MINUTE });
    expect(condition(plan, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'WaitingForCapacity',
      message: expect.stringContaining(`Next retry at ${iso(at(2 * MINUTE))}`),
    });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'CapacityUnavailable' }));
  });

  it.each([
    [0, 96 * SECOND],
    [0.5, 120 * SECOND],
    [0.999999, 144 * SECOND],
  ])('the backoff is jittered ±20 percent (random %d → %i ms)', (random, delay) => {
    const plan = reconcile(updateRequested(), { endpoint: capacityFailure(), random });
    expect(plan.status.capacity?.nextRetryTime).toBe(iso(at(delay)));
  });

  it.each([
    ['just after the failure', 1 * SECOND, 2 * MINUTE - 1 * SECOND],
    ['a minute later', 1 * MINUTE, 1 * MINUTE],
  ])('before nextRetryTime (%s) → nothing, requeue at that time', (_, elapsed, wait) => {
    const counted = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: capacityFailure() }));
    const plan = reconcile(counted, { endpoint: capacityFailure(), now: at(elapsed) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toEqual({ after: wait });
    expect(plan.status.capacity?.attempts).toBe(1);
    expect(plan.events).toEqual([]);
  });

  it.each([
    ['at nextRetryTime', 2 * MINUTE],
    ['after nextRetryTime', 7 * MINUTE],
  ])('%s → updateConfig re-issues the desired config; never a delete', (_, elapsed) => {
    const counted = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: capacityFailure() }));
    const plan = reconcile(counted, { endpoint: capacityFailure(), now: at(elapsed) });
    expect(plan.action).toEqual({
      type: 'updateConfig',
      request: {
        api: 'config',
        name: 'llama-chat',
        body: { served_entities: [{ entity_name: MODEL, entity_version: '4', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
      },
    });
    expect(plan.status.capacity).toMatchObject({ attempts: 1, firstFailureTime: iso(NOW) });
    expect(plan.status.capacity?.nextRetryTime).toBeUndefined();
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForCapacity' });
    expect(eventReasons(plan)).toContain('Normal RetryingRollout');
  });

  /** Runs a whole outage: fail, wait, retry, roll out, fail again, … and returns every plan. */

  it('attempts grow with an exponential backoff, and a rollout in between says it is a capacity retry', () => {
    const { plans } = outage(updateRequested(), 3);
    const counted = plans.filter((p) => p.events.some((e) => e.reason === 'CapacityUnavailable'));
    expect(counted.map((p) => p.status.capacity?.attempts)).toEqual([1, 2, 3]);
    expect(counted.map((p) => p.requeue)).toEqual([{ after: 2 * MINUTE }, { after: 4 * MINUTE }, { after: 8 * MINUTE }]);
    expect(counted.map((p) => p.status.capacity?.firstFailureTime)).toEqual([iso(NOW), iso(NOW), iso(NOW)]);
    const waiting = plans.filter((p) => p.status.state?.configUpdate === 'IN_PROGRESS');
    for (const plan of waiting) {
      expect(plan.action).toEqual({ type: 'none' });
      expect(condition(plan, 'Ready')).toMatchObject({ reason: 'WaitingForCapacity', message: expect.stringMatching(/capacity retry \d/) });
    }
    expect(plans.flatMap((p) => p.action.type)).not.toContain('delete');
  });

  // The operator killed (or its status write failed: an API server outage) right after Databricks accepted a capacity
  // retry: status still says the retry is due. When that retry fails too, it is a second failure with its own backoff,
  // not a retry that was never sent: re-sending at once spent a create/update of the host's budget for nothing, and
  // status kept saying "attempt 1" with no CapacityUnavailable Warning for the second outage.
  it('a retry Databricks accepted whose status write was lost: its failure counts as the next attempt, with backoff', () => {
    const startedAt = (endpoint: ReturnType<typeof capacityFailure>, time: Date) => ({ ...endpoint, pending_config: { ...endpoint.pending_config!, start_time: time.getTime() } });
    const failedFirst = reconcile(updateRequested(), { endpoint: startedAt(capacityFailure(), at(-20 * MINUTE)), now: at(-15 * MINUTE) });
    expect(failedFirst.status.capacity).toMatchObject({ attempts: 1, nextRetryTime: iso(at(-13 * MINUTE)) });
    const waiting = afterPlan(updateRequested(), failedFirst);
    const retried = reconcile(waiting, { endpoint: startedAt(capacityFailure(), at(-20 * MINUTE)), now: at(-13 * MINUTE) });
    expect(retried.action.type).toBe('updateConfig');
    // Databricks rolls the retry out (started at -13 min), but status is still `waiting`'s: the write never landed.
    const watched = reconcile(waiting, { endpoint: { ...startedAt(rollingOut(), at(-13 * MINUTE)) }, now: at(-12 * MINUTE) });
    const failedAgain = reconcile(afterPlan(waiting, watched), { endpoint: startedAt(capacityFailure(), at(-13 * MINUTE)) });
    expect(failedAgain.action).toEqual({ type: 'none' });
    expect(failedAgain.status.capacity).toMatchObject({ attempts: 2, nextRetryTime: iso(at(4 * MINUTE)) });
    expect(eventReasons(failedAgain)).toContain('Warning CapacityUnavailable');
  });

  it('budget exhausted → Synced False CapacityRetriesExhausted, Ready False, no action, no requeue', () => {
    const { plans, object, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
    const last = plans.at(-1) as Plan;
    expect(last.action).toEqual({ type: 'none' });
    expect(last.requeue).toBeUndefined();
    expect(condition(last, 'Synced')).toMatchObject({ status: 'False', reason: 'CapacityRetriesExhausted' });
    expect(condition(last, 'Synced')?.message).toContain('within the 30m retry budget');
    expect(condition(last, 'Synced')?.message).toContain(EndpointAnnotation.requestedAt);
    expect(condition(last, 'Ready')?.status).toBe('False');
    expect(last.status.capacity?.exhausted).toBe(true);
    expect(last.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'CapacityRetriesExhausted' }));
    // It stays there, quietly.
    const later = reconcile(object, { endpoint: capacityFailure(), now: new Date(now + 60 * MINUTE) });
    expect(later.action).toEqual({ type: 'none' });
    expect(later.requeue).toBeUndefined();
    expect(later.events).toEqual([]);
  });

  // Is production still served? UpdateFailed says which config still serves; a capacity failure of an update
  // (the same UPDATE_FAILED, the old config serving) said nothing of it, waiting or with the budget spent.
  it('waiting for capacity and an exhausted budget say which config still serves, as UpdateFailed does', () => {
    const { plans } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
    const waiting = plans.find((p) => condition(p, 'Ready')?.reason === 'WaitingForCapacity' && p.status.state?.configUpdate === 'UPDATE_FAILED');
    expect(condition(waiting as Plan, 'Ready')?.message).toContain('version 3 at 1960-2940 tokens/s still serves');
    const last = plans.at(-1) as Plan;
    expect(condition(last, 'Synced')?.reason).toBe('CapacityRetriesExhausted');
    expect(condition(last, 'Ready')?.message).toContain('version 3 at 1960-2940 tokens/s still serves');
  });

  it('timeout 0 means no limit: the retries go on, spaced by maxBackoff', () => {
    const { plans } = outage(updateRequested({ capacityRetry: { timeout: '0', maxBackoff: '10m' } }), 8);
    const counted = plans.filter((p) => p.events.some((e) => e.reason === 'CapacityUnavailable'));
    expect(counted.map((p) => p.status.capacity?.attempts)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(counted.at(-1)?.requeue).toEqual({ after: 10 * MINUTE });
    expect(plans.some((p) => condition(p, 'Synced')?.reason === 'CapacityRetriesExhausted')).toBe(false);
  });

  it('a new requested-at token resets the budget and re-issues at once', () => {
    const { object, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
    const plan = reconcile(annotated(object, { [EndpointAnnotation.requestedAt]: '2026-03-01T15:00:00Z' }), {
      endpoint: capacityFailure(),
      now: new Date(now),
    });
    expect(plan.action.type).toBe('updateConfig');
    expect(plan.status.capacity).toBeUndefined();
    expect(plan.status.lastHandledRequestedAt).toBe('2026-03-01T15:00:00Z');
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    // The same token again does not count as a new request.
    const again = reconcile(afterPlan(annotated(object, { [EndpointAnnotation.requestedAt]: '2026-03-01T15:00:00Z' }), plan), {
      endpoint: capacityFailure(),
      now: new Date(now + MINUTE),
    });
    expect(again.action).toEqual({ type: 'none' });
    expect(again.status.capacity?.attempts).toBe(1);
  });

  it('a new generation resets the budget and re-issues', () => {
    const { object, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
    const plan = reconcile(edited(object, { ...V4, capacityRetry: { timeout: '6h' } }), { endpoint: capacityFailure(), now: new Date(now) });
    expect(plan.action.type).toBe('updateConfig');
    expect(plan.status.capacity).toBeUndefined();
  });

  // A user lowers spec.capacityRetry.timeout to give up sooner on capacity that does not come. It must not re-send the
  // failed config at once and start a new budget from now (a mutation nobody asked for, and more retries in all).
  describe('a lowered capacityRetry.timeout retries nothing and shortens the budget', () => {
    it('while a retry waits: nothing is sent, the retry keeps its time and attempt, the new budget counts from the first failure', () => {
      const counted = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: capacityFailure() }));
      expect(counted.status.capacity).toMatchObject({ attempts: 1, retryTimeout: '6h' });
      const plan = reconcile(edited(counted, { ...V4, capacityRetry: { timeout: '1h' } }), { endpoint: capacityFailure(), now: at(MINUTE) });
      expect(plan.action).toEqual({ type: 'none' });
      expect(plan.status.capacity).toMatchObject({ attempts: 1, firstFailureTime: iso(NOW), nextRetryTime: counted.status.capacity?.nextRetryTime, retryTimeout: '1h' });
      expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForCapacity' });
    });

    it('below the time already spent: the retries end at once, CapacityRetriesExhausted, nothing sent', () => {
      const counted = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: capacityFailure() }));
      const plan = reconcile(edited(counted, { ...V4, capacityRetry: { timeout: '30s' } }), { endpoint: capacityFailure(), now: at(MINUTE) });
      expect(plan.action).toEqual({ type: 'none' });
      expect(plan.status.capacity).toMatchObject({ attempts: 1, exhausted: true, retryTimeout: '30s' });
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'CapacityRetriesExhausted' });
      expect(condition(plan, 'Synced')?.message).toContain('within the 30s retry budget');
    });

    it('once the budget is spent: nothing is sent, it stays spent', () => {
      const { object, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
      expect(object.status.capacity?.exhausted).toBe(true);
      const plan = reconcile(edited(object, { ...V4, capacityRetry: { timeout: '10m' } }), { endpoint: capacityFailure(), now: new Date(now) });
      expect(plan.action).toEqual({ type: 'none' });
      expect(plan.status.capacity).toMatchObject({ attempts: object.status.capacity?.attempts, exhausted: true });
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'CapacityRetriesExhausted' });
    });
  });

  // A GitOps tool that bumps a tag (a commit SHA, a cost center) makes a new generation without asking for another
  // attempt: re-sending the config that ran out of capacity, with a fresh budget, turned every tag bump into a
  // retry, without end. The tags go on the endpoint; the count and the budget go on as they were.
  describe('a tag-only edit while the rollout waits for capacity retries nothing and keeps the budget', () => {
    const TAGGED: SpecInput = { ...V4, tags: { team: 'genai', commit: 'abc123' } };
    const tagPatch = { type: 'patchTags', name: 'llama-chat', add: [{ key: 'commit', value: 'abc123' }], remove: [] };

    it('budget spent: the tag is patched, the config is not sent, the budget stays spent', () => {
      const { object, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
      expect(object.status.capacity?.exhausted).toBe(true);
      const plan = reconcile(edited(object, { ...TAGGED, capacityRetry: { timeout: '30m' } }), { endpoint: capacityFailure(), now: new Date(now) });
      expect(plan.action).toEqual(tagPatch);
      expect(plan.status.capacity).toEqual(object.status.capacity);
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'CapacityRetriesExhausted' });
    });

    it('a retry scheduled: the tag is patched, the retry stays at its time and its attempt', () => {
      const counted = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: capacityFailure() }));
      const plan = reconcile(edited(counted, TAGGED), { endpoint: capacityFailure(), now: at(MINUTE) });
      expect(plan.action).toEqual(tagPatch);
      expect(plan.status.capacity).toEqual(counted.status.capacity);
      expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForCapacity' });
    });

    // Endpoints whose budget an earlier version spent carry no status.capacity.retryTimeout. CapacityRetriesExhausted
    // tells their users to raise spec.capacityRetry.timeout, and upgrade.md says changing it retries: it must.
    it('a budget spent before the upgrade (no retryTimeout recorded): raising the timeout re-issues the config', () => {
      const { object, now } = outage(updateRequested({ capacityRetry: { timeout: '30m' } }), 10);
      const { retryTimeout: _, ...before } = object.status.capacity ?? {};
      const upgraded = { ...object, status: { ...object.status, capacity: before } };
      expect(upgraded.status.capacity.exhausted).toBe(true);
      const plan = reconcile(edited(upgraded, { ...V4, capacityRetry: { timeout: '6h' } }), { endpoint: capacityFailure(), now: new Date(now) });
      expect(plan.action.type).toBe('updateConfig');
      expect(plan.status.capacity).toBeUndefined();
    });

    it('a retry rolling out: its failure counts as the next attempt, not as attempt 1 of a fresh budget', () => {
      const { object, now } = outage(updateRequested(), 2);
      expect(object.status.capacity?.attempts).toBe(2);
      const tagged = edited(object, TAGGED);
      const during = reconcile(tagged, { endpoint: rollingOut(), now: new Date(now - 5 * MINUTE) });
      expect(during.status.capacity?.attempts).toBe(2);
      const failed = reconcile(afterPlan(tagged, during), { endpoint: capacityFailure(), now: new Date(now) });
      expect(failed.status.capacity).toMatchObject({ attempts: 3, firstFailureTime: iso(NOW) });
    });
  });

  it('recovery → Ready True Available, a CapacityRecovered event, capacity cleared', () => {
    const { object, now } = outage(updateRequested(), 2);
    expect(object.status.capacity?.attempts).toBe(2);
    const plan = reconcile(object, { endpoint: readyEndpoint({ version: '4' }), now: new Date(now) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(eventReasons(plan)).toContain('Normal CapacityRecovered');
    expect(plan.status.capacity).toBeUndefined();
    expect(plan.status.pending).toBeUndefined();
  });

  it('the failure of an older config is superseded: the desired config is sent at once', () => {
    const object = edited(updateRequested(), { model: { name: MODEL, version: '5' } });
    const plan = reconcile(object, { endpoint: capacityFailure() });
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '5' }] } } });
  });

  it('a capacity failure of a first deploy (nothing served yet) is retried the same way', () => {
    const object = endpointObject();
    const created = afterPlan(object, reconcile(object, { now: at(-30 * MINUTE) }));
    const plan = reconcile(created, { endpoint: failedEndpoint(undefined, { version: '3' }) });
    expect(plan.status.capacity?.attempts).toBe(1);
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForCapacity' });
  });
});
