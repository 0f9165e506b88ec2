// UPDATE_FAILED rows of the decision table: capacity retries with backoff and budget, other failures,
// and what a failed action means for the plan that asked for it.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { MINUTE, MODEL, SECOND, afterPlan, annotated, at, condition, edited, endpointObject, readyEndpoint, reconcile } from '../fixtures.js';
import { V4, capacityFailure, buildFailure, updateRequested, eventReasons } from './plan-fixtures.js';

describe('UPDATE_FAILED for another reason', () => {
  it('→ UpdateFailed on both conditions, no action, no requeue, the served config named', () => {
    const plan = reconcile(updateRequested(), { endpoint: buildFailure() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toBeUndefined();
    for (const type of ['Ready', 'Synced'] as const) {
      expect(condition(plan, type)).toMatchObject({ status: 'False', reason: 'UpdateFailed' });
      expect(condition(plan, type)?.message).toContain('DEPLOYMENT_FAILED: Model build failed: no online store configured');
      expect(condition(plan, type)?.message).toContain('version 3 at 1960-2940 tokens/s still serves');
    }
    expect(plan.status.capacity).toBeUndefined();
  });

  it.each([
    ['a new generation with another version', (o: ReturnType<typeof updateRequested>) => edited(o, { model: { name: MODEL, version: '5' } })],
    ['a new requested-at token', (o: ReturnType<typeof updateRequested>) => annotated(o, { [EndpointAnnotation.requestedAt]: 'retry-1' })],
  ])('%s re-issues the desired config', (_, change) => {
    const failedOnce = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: buildFailure() }));
    const plan = reconcile(change(failedOnce), { endpoint: buildFailure(), now: at(MINUTE) });
    expect(plan.action.type).toBe('updateConfig');
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  // Databricks failed the very config the spec asks for; a new generation that leaves it as it is (a tag, a setting)
  // asks for no new attempt: the tags go on the endpoint, the failure stands until the config or requested-at changes.
  it('a new generation with the same serving fields (a tag) patches the tag and sends no config', () => {
    const failedOnce = afterPlan(updateRequested(), reconcile(updateRequested(), { endpoint: buildFailure() }));
    const plan = reconcile(edited(failedOnce, { ...V4, tags: { team: 'genai', tier: 'gold' } }), { endpoint: buildFailure(), now: at(MINUTE) });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: [{ key: 'tier', value: 'gold' }], remove: [] });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'UpdateFailed', observedGeneration: 3 });
  });
});

describe('a failed rollout holds back the served config, not the tags', () => {
  // A tag edited with the version (or while the rollout is failed) never reached the endpoint while the rollout stayed
  // failed: a cost-center tag added by FinOps was missing from every endpoint stuck in UpdateFailed or a capacity wait.
  it.each([
    ['UpdateFailed', buildFailure],
    ['WaitingForCapacity', capacityFailure],
  ] as const)('%s: a tag added with the version is put on the endpoint, and nothing more is sent once it is there', (reason, failure) => {
    const settled = endpointObject();
    const first = afterPlan(settled, reconcile(settled, { endpoint: readyEndpoint(), now: at(-30 * MINUTE) }));
    let object = edited(first, { ...V4, tags: { team: 'genai', costcenter: '42' } });
    const sent = reconcile(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) });
    expect(sent.action.type).toBe('updateConfig');
    object = afterPlan(object, sent);
    const failed = reconcile(object, { endpoint: failure() });
    expect(failed.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: [{ key: 'costcenter', value: '42' }], remove: [] });
    expect(condition(failed, 'Ready')?.reason).toBe(reason);
    expect(eventReasons(failed)).not.toContain('Warning DriftDetected');
    const tagged = { ...failure(), tags: [...(failure().tags ?? []), { key: 'costcenter', value: '42' }] };
    const after = reconcile(afterPlan(object, failed), { endpoint: tagged, now: at(10 * SECOND) });
    expect(after.action).toEqual({ type: 'none' });
    expect(after.status.managedTagKeys).toEqual(['costcenter', 'team']);
  });
});
