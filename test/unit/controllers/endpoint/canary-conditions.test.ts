// The canary planner as tables: start, each step rolling out and pausing, advance, promote, hold,
// abort by the user and by the gate; the request bodies of a split; the gate's metric reading.
import { describe, expect, it } from 'vitest';
import type { EndpointObject } from '../../../../src/controllers/endpoint/plan-types.js';
import { planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { MINUTE, OWNER, afterPlan, ownerTagsOf, NOW, SECOND, at, condition, endpointObject, iso, planInput, readyEndpoint, servedEntity, updatingEndpoint } from '../fixtures.js';
import { served, running, reconcileCanary, canaryObject, conditions } from './canary-fixtures.js';

describe('a running canary in the conditions', () => {
  // Step 1 of version 4's canary serves: 90 % still goes to version 3.
  const atStep1 = { ...readyEndpoint(), config: served({ '3': 90, '4': 10 }) };
  const paused = running({ phase: 'Paused', stepReachedTime: iso(NOW) });

  it.each([
    { name: 'a step in its pause', annotations: {} as Record<string, string>, ready: 'canary of version 4: step 1 (10 %) serves; pausing until 2026-03-01T12:10:00Z; version 3 serves the other 90 %' },
    { name: 'a step the user holds', annotations: { 'ptoperator.io/canary': 'hold' }, ready: 'canary of version 4: held at step 1 (10 %) by the user; version 3 serves the other 90 %' },
  ])('$name: Ready is False CanaryInProgress (the version bump is not done) and Reconciling tells generic tools', ({ annotations, ready }) => {
    const plan = reconcileCanary(canaryObject('4', paused, annotations), atStep1);
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toEqual({ Ready: 'False CanaryInProgress', Synced: 'True ReconcileSuccess', Reconciling: 'True CanaryInProgress' });
    expect(condition(plan, 'Ready')?.message).toBe(ready);
    expect(condition(plan, 'Synced')?.message).toBe('the spec is applied up to the canary\'s current step (step 1 of 2: 10 % to version 4); version 4 serves all traffic once the canary succeeds');
  });

  it('once the canary succeeds, Ready is True and the spec is applied', () => {
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Promoting', step: 3, share: 100 })), readyEndpoint({ version: '4' }));
    expect(plan.status.canary?.phase).toBe('Succeeded');
    expect(conditions(plan)).toEqual({ Ready: 'True Available', Synced: 'True ReconcileSuccess' });
    expect(condition(plan, 'Synced')?.message).toBe('the spec is applied');
  });

  // A step's pause or a hold may last hours: every look in it found Ready True (the step's config serves) before the
  // canary made it False, so its lastTransitionTime moved to the look's time and every look wrote the status (the
  // upgrade drill saw one status write per poll per paused canary, and a Ready that said it changed seconds ago).
  it.each([
    { name: 'a step in its pause', canary: paused, config: atStep1, annotations: {} as Record<string, string>, ready: 'False CanaryInProgress' },
    { name: 'a step the user holds', canary: paused, config: atStep1, annotations: { 'ptoperator.io/canary': 'hold' }, ready: 'False CanaryInProgress' },
    {
      name: 'an aborted canary',
      canary: running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' }),
      config: readyEndpoint(),
      annotations: {} as Record<string, string>,
      ready: 'False CanaryAborted',
    },
  ])('$name: a later look with nothing changed plans the same status, its conditions\' lastTransitionTime kept', ({ canary, config, annotations, ready }) => {
    const object = canaryObject('4', canary, annotations);
    const first = reconcileCanary(object, config);
    expect(conditions(first)).toMatchObject({ Ready: ready });
    const later = reconcileCanary(afterPlan(object, first), config, undefined, { now: at(MINUTE) });
    expect(later.action).toEqual({ type: 'none' });
    expect(later.events).toEqual([]);
    expect(later.status).toEqual(first.status);
  });

  // A step's pause or a hold may last days: a tag someone changes in Databricks meanwhile is drift as at any other time.
  it('a tag changed in Databricks while a step serves is restored with a DriftDetected Warning', () => {
    const object = canaryObject('4', paused);
    const first = reconcileCanary(object, atStep1);
    expect(conditions(first)).toMatchObject({ Ready: 'False CanaryInProgress' });
    const changed = { ...atStep1, tags: [{ key: 'team', value: 'someone-else' }, ...ownerTagsOf(OWNER)] };
    const drifted = reconcileCanary(afterPlan(object, first), changed, undefined, { now: at(MINUTE) });
    expect(drifted.action).toMatchObject({ type: 'patchTags', add: [{ key: 'team', value: 'genai' }] });
    expect(drifted.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected' }));
  });
});

describe('an aborted canary in the conditions', () => {
  const gateFailed = 'the metrics gate failed at step 1: request_5xx_count_total / request_count_total = 0.2 > 0.05; all traffic back to version 3';
  const object = canaryObject;

  it.each([
    {
      name: 'the gate aborted it: the old version serves alone',
      object: object('4', running({ phase: 'Aborted', message: gateFailed })),
      endpoint: readyEndpoint({ version: '3' }),
      ready: 'False CanaryAborted',
      message: /the canary of version 4 was aborted \(the metrics gate failed at step 1.*\)\. Version 3 keeps serving\. Set model\.version back to "3", or to another version to start a new canary/,
    },
    {
      name: 'the user aborted it and the annotation is still set',
      object: object('4', running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' }), { 'ptoperator.io/canary': 'abort' }),
      endpoint: readyEndpoint({ version: '3' }),
      ready: 'False CanaryAborted',
      message: /was aborted \(aborted by the user.*remove annotation ptoperator\.io\/canary=abort first/,
    },
    {
      name: 'the abort rolls back: Ready says so, Synced why',
      object: object('4', running({ phase: 'Aborted', message: gateFailed })),
      endpoint: updatingEndpoint({ version: '3' }, { version: '3' }),
      ready: 'False Updating',
      message: /the canary of version 4 was aborted/,
    },
    {
      name: 'the abort control kept a new version from starting',
      object: object('5', running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' }), { 'ptoperator.io/canary': 'abort' }),
      endpoint: readyEndpoint({ version: '3' }),
      ready: 'False CanaryAborted',
      message: /the canary of version 5 did not start: annotation ptoperator\.io\/canary=abort is set\. Version 3 keeps serving\. Remove it to start the canary, or set model\.version back to "3"/,
    },
  ])('$name: Ready and Synced are False, Stalled says how to go on', ({ object, endpoint, ready, message }) => {
    const plan = reconcileCanary(object, endpoint);
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toEqual({ Ready: ready, Synced: 'False CanaryAborted', Stalled: 'True CanaryAborted' });
    expect(condition(plan, 'Synced')?.message).toMatch(message);
    expect(plan.status.conditions?.find((c) => c.type === 'Stalled')?.message).toBe(condition(plan, 'Synced')?.message);
    if (ready === 'False CanaryAborted') expect(condition(plan, 'Ready')?.message).toMatch(/^version 3 at 1960-2940 tokens\/s serves; the canary of version \d/);
  });

  it('a later spec change clears it: the version back, or a new version without the abort control', () => {
    const aborted = reconcileCanary(object('4', running({ phase: 'Aborted', message: gateFailed })), readyEndpoint({ version: '3' }));
    const stale = (version: string): EndpointObject => ({ ...object(version, aborted.status.canary), generation: 2, status: aborted.status });

    const back = reconcileCanary(stale('3'), readyEndpoint({ version: '3' }));
    expect(conditions(back)).toEqual({ Ready: 'True Available', Synced: 'True ReconcileSuccess' });
    expect(back.status.canary).toBeUndefined();

    const next = reconcileCanary(stale('5'), readyEndpoint({ version: '3' }));
    expect(next.action.type).toBe('updateConfig');
    expect(conditions(next)).toEqual({ Ready: 'False Updating', Synced: 'True ReconcileSuccess', Reconciling: 'True Updating' });
    expect(next.status.canary).toMatchObject({ phase: 'Progressing', toVersion: '5' });
  });
});

describe('status.pending during a step', () => {
  it('names the version that changes (the canary target) with its throughput, not the unchanged old version', () => {
    const split = { previous: { name: 'meta_llama_v3_1_8b_instruct-3', entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }, name: 'meta_llama_v3_1_8b_instruct-4', share: 20 };
    const step20 = served({ '3': 80, '4': 20 });
    const rollingOut = {
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'IN_PROGRESS', suspend: 'NOT_SUSPENDED' },
      config: served({ '3': 90, '4': 10 }),
      pending_config: { ...step20, served_entities: [servedEntity({ version: '3' }), servedEntity({ version: '4', min: 980, max: 1960 })], start_time: NOW.getTime() - 60 * SECOND },
    } as never;
    const object = endpointObject({ spec: { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '4' }, throughput: { chunks: { min: 1, max: 2 } } }, status: { observedGeneration: 1 } });
    const plan = planEndpoint({ ...planInput(object, { endpoint: rollingOut }), split });
    expect(plan.status.pending).toMatchObject({ modelVersion: '4', minTokensPerSecond: 980, maxTokensPerSecond: 1960 });
    // status.served (the printer columns) still names what serves most of the traffic.
    expect(plan.status.served).toMatchObject({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
  });
});
