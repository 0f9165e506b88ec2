// The canary planner as tables: start, each step rolling out and pausing, advance, promote, hold,
// abort by the user and by the gate; the request bodies of a split; the gate's metric reading.
import { describe, expect, it } from 'vitest';
import type { EndpointStatus } from '../../../../src/api/v1alpha1/index.js';
import type { EndpointObject } from '../../../../src/controllers/endpoint/plan-types.js';
import { type CanaryStatus, canaryKept, canaryPlanFields, decideCanary, planCanary, withCanary } from '../../../../src/controllers/endpoint/canary.js';
import { planActionFailure, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { CAPACITY_ABORT_MESSAGE, type InputOptions, MINUTE, MODEL_UNIT_MODEL, NOT_FOUND, NOT_OPTIMIZABLE_MODEL, NOW, SECOND, at, condition, endpointObject, failed, iso, planInput, readyEndpoint } from '../fixtures.js';
import { CANARY, served, running, input, reconcileCanary, canaryObject, conditions } from './canary-fixtures.js';

describe('a bad edit during a canary (the spec cannot be resolved) leaves the canary alone', () => {
  // Step 1 of version 4's canary serves and pauses; the user sets model.version to a typo, then back to "4".
  const atStep1 = { ...readyEndpoint(), config: served({ '3': 90, '4': 10 }) };
  const split = [
    { version: '3', share: 90, throughput: '1960-2940 tokens/s' },
    { version: '4', share: 10, throughput: '1960-2940 tokens/s' },
  ];
  const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-4 * MINUTE)), message: 'step 1 (10 %) serves; pausing until 2026-03-01T12:06:00Z', versions: split });
  const object = (version: string, status: EndpointStatus, generation: number): EndpointObject => ({ ...canaryObject(version, undefined), generation, status: { ...status, observedGeneration: generation - 1 } });

  it.each([
    { name: 'a version Unity Catalog does not have', model: NOT_FOUND as InputOptions['model'], reason: 'ModelNotFound' },
    { name: 'a version not eligible for provisioned throughput', model: NOT_OPTIMIZABLE_MODEL, reason: 'ModelNotOptimizable' },
    { name: 'a version the throughput does not fit (model units)', model: MODEL_UNIT_MODEL, reason: 'InvalidSpec' },
    { name: 'a version the operator may not read', model: failed('PermissionDenied', 'User does not have EXECUTE on the model'), reason: 'PermissionDenied' },
  ])('$name: nothing is sent, status.canary stays as it was; going back resumes the step and its pause', ({ model, reason }) => {
    const typo = reconcileCanary(object('99', { canary: paused }, 2), atStep1, undefined, { model });
    expect(typo.action).toEqual({ type: 'none' });
    expect(condition(typo, 'Synced')?.reason).toBe(reason);
    expect(condition(typo, 'Ready')?.message).toMatch(/Databricks still serves version 3 at .* \(90 %\) and version 4 at .* \(10 %\)\.$/);
    expect(typo.status.canary).toEqual(paused);

    // Back to the canary's version: the step still serves, its pause counts from when it began.
    const back = reconcileCanary(object('4', typo.status, 3), atStep1);
    expect(back.action).toEqual({ type: 'none' });
    expect(back.status.canary).toMatchObject({ phase: 'Paused', step: 1, share: 10, stepReachedTime: iso(at(-4 * MINUTE)) });
    expect(conditions(back)).toMatchObject({ Ready: 'False CanaryInProgress' });

    // Its pause over: step 2, 50 % (never the new version alone before it).
    const next = reconcileCanary(object('4', back.status, 4), atStep1, undefined, { now: at(6 * MINUTE) });
    expect(next.action).toMatchObject({ type: 'updateConfig', request: { body: { traffic_config: { routes: [{ traffic_percentage: 50 }, { traffic_percentage: 50 }] } } } });
    expect(next.status.canary).toMatchObject({ phase: 'Progressing', step: 2, share: 50 });
  });

  it('while the bad edit is pending, Ready names every served version with its share, as Databricks reports them', () => {
    const typo = reconcileCanary(object('99', { canary: paused, served: { modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 } }, 2), atStep1, undefined, { model: NOT_FOUND });
    expect(condition(typo, 'Ready')?.message).toMatch(/Databricks still serves version 3 at 1960-2940 tokens\/s \(90 %\) and version 4 at 1960-2940 tokens\/s \(10 %\)\.$/);
    // Databricks' split changed meanwhile (out of band): status.canary shows it as served.
    const drifted = reconcileCanary(object('99', { canary: paused }, 2), { ...readyEndpoint(), config: served({ '3': 80, '4': 20 }) }, undefined, { model: NOT_FOUND });
    expect(drifted.status.canary?.versions?.map((v) => v.share)).toEqual([80, 20]);
    expect(drifted.status.canary).toMatchObject({ phase: 'Paused', step: 1, share: 10 });
  });
});

describe('an endpoint missing during a canary is created again with what the canary lets serve', () => {
  const aborted = running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3', versions: [{ version: '3', share: 100, throughput: '1960-2940 tokens/s' }] });
  const created = (plan: ReturnType<typeof reconcileCanary>) =>
    plan.action.type === 'create' ? plan.action.request.body.config.served_entities.map((e) => [e.entity_version, 'min_provisioned_throughput' in e ? e.min_provisioned_throughput : undefined]) : plan.action.type;

  it.each([
    { name: 'aborted, the abort annotation still set', canary: aborted, annotations: { 'ptoperator.io/canary': 'abort' } },
    { name: 'aborted by the gate', canary: { ...aborted, message: 'the metrics gate failed at step 1: x = 1 > 0.5; all traffic back to version 3' }, annotations: {} as Record<string, string> },
    { name: 'an abort control kept it from starting', canary: { ...aborted, step: 0, share: 0, message: 'not started' }, annotations: { 'ptoperator.io/canary': 'abort' } },
    { name: 'a running step the user now aborts', canary: running({ phase: 'Paused', stepReachedTime: iso(NOW) }), annotations: { 'ptoperator.io/canary': 'abort' } },
  ])('$name: the old version, at its old throughput; Synced says it is the old one', ({ canary, annotations }) => {
    const plan = reconcileCanary(canaryObject('4', canary, annotations), NOT_FOUND);
    expect(created(plan)).toEqual([['3', 1960]]);
    expect(condition(plan, 'Ready')?.message).toMatch(/^creating endpoint llama-chat with version 3 at 1960-2940 tokens\/s/);
    expect(conditions(plan)).toMatchObject({ Ready: 'False Creating', Synced: 'False CanaryAborted' });
    expect(condition(plan, 'Synced')?.message).toMatch(/Version 3 keeps serving/);
    expect(plan.status.canary).toMatchObject({ phase: 'Aborted', fromVersion: '3', toVersion: '4', versions: [] });
  });

  it('a running step: the old version alone, and the canary starts again at step 1 once it serves', () => {
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Paused', step: 2, share: 50, stepReachedTime: iso(NOW) })), NOT_FOUND);
    expect(created(plan)).toEqual([['3', 1960]]);
    expect(plan.status.canary).toMatchObject({ phase: 'Progressing', step: 1, share: 10, versions: [], message: 'the endpoint is missing: creating it again with version 3 alone; the canary starts again at step 1 (10 %) once it serves' });
    expect(conditions(plan)).toMatchObject({ Ready: 'False Creating', Synced: 'True ReconcileSuccess' });

    const again = reconcileCanary({ ...canaryObject('4', plan.status.canary), status: { ...plan.status, observedGeneration: 1 } }, readyEndpoint({ version: '3' }));
    expect(again.action).toMatchObject({ type: 'updateConfig', request: { body: { traffic_config: { routes: [{ traffic_percentage: 90 }, { traffic_percentage: 10 }] } } } });
    expect(again.status.canary).toMatchObject({ phase: 'Progressing', step: 1, share: 10 });
  });

  it('not while the object names another workspace (nothing is created): the canary stays as it stands', () => {
    const held = running({ phase: 'Holding', step: 2, share: 50, stepReachedTime: iso(NOW) });
    const object = canaryObject('4', held, { 'ptoperator.io/canary': 'hold' });
    const moved = { ...object, status: { ...object.status, endpointId: 'ep-1', workspaceHost: 'https://adb-1.1.azuredatabricks.net' } };
    const plan = reconcileCanary(moved, NOT_FOUND, 'https://adb-2.2.azuredatabricks.net');
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toMatchObject({ Synced: 'False WorkspaceChanged' });
    expect(plan.status.canary).toEqual(held);
  });

  it('a new model.name since the canary began: the new model alone, never the old version number under the new name', () => {
    // The canary of meta_llama 3 -> 4 records its model; the user then moves model.name to another model, and the
    // endpoint is deleted out of band before that update went out.
    const started = planCanary(input({}));
    expect(started.status?.model).toBe('system.ai.meta_llama_v3_1_8b_instruct');
    const object = endpointObject({ spec: { model: { name: 'main.default.support_bot', version: '4' }, canary: CANARY }, status: { observedGeneration: 1, canary: { ...running({ phase: 'Paused', stepReachedTime: iso(NOW) }), model: 'system.ai.meta_llama_v3_1_8b_instruct' } } });
    const plan = reconcileCanary(object, NOT_FOUND);
    expect(plan.action.type === 'create' && plan.action.request.body.config.served_entities.map((e) => [e.entity_name, e.entity_version])).toEqual([['main.default.support_bot', '4']]);
    expect(plan.status.canary).toBeUndefined();
  });

  it('a canary an abort kept from starting, the control now promote: the new version alone, in one create', () => {
    // canary-property seed 120: the old version was created again, and the promotion rolled out once it served.
    const notStarted = running({ phase: 'Aborted', step: 0, share: 0, message: 'not started' });
    const plan = reconcileCanary(canaryObject('4', notStarted, { 'ptoperator.io/canary': 'promote' }), NOT_FOUND);
    expect(created(plan)).toEqual([['4', 1960]]);
    expect(plan.status.canary?.phase).toBe('Promoting');
  });

  it('a promotion: the new version alone, as the promotion asked', () => {
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Promoting', step: 3, share: 100 })), NOT_FOUND);
    expect(created(plan)).toEqual([['4', 1960]]);
    expect(plan.status.canary?.phase).toBe('Promoting');
  });
});

describe('a capacity failure during a step', () => {
  it('keeps the previous step serving and retries the same split with backoff', () => {
    const split = { previous: { name: 'meta_llama_v3_1_8b_instruct-3', entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }, name: 'meta_llama_v3_1_8b_instruct-4', share: 50 };
    const step50 = served({ '3': 50, '4': 50 });
    const failed = {
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
      config: served({ '3': 90, '4': 10 }), // step 1 still serves
      pending_config: {
        ...step50,
        served_entities: step50.served_entities?.map((e) => ({ ...e, state: { deployment: 'DEPLOYMENT_ABORTED', deployment_state_message: CAPACITY_ABORT_MESSAGE } })),
        start_time: NOW.getTime() - 60 * SECOND,
      },
    } as never;
    const object = endpointObject({ spec: { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '4' } }, status: { observedGeneration: 1 } });

    const first = planEndpoint({ ...planInput(object, { endpoint: failed }), split });
    expect(first.action).toEqual({ type: 'none' });
    expect(first.status.capacity?.attempts).toBe(1);
    expect(first.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('WaitingForCapacity');

    const retry = planEndpoint({ ...planInput({ ...object, status: first.status }, { endpoint: failed, now: new Date(Date.parse(first.status.capacity?.nextRetryTime ?? '')) }), split });
    expect(retry.action).toMatchObject({ type: 'updateConfig', request: { body: { traffic_config: { routes: [{ traffic_percentage: 50 }, { traffic_percentage: 50 }] } } } });
    // The canary itself does not move on while the step is not served.
    const decision = planCanary(input({ canary: running({ step: 2, share: 50 }), config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status?.phase).toBe('Progressing');
    expect(decision.split?.share).toBe(50);
  });
});

describe('status.canary when the rollout of a step fails', () => {
  // Step 1 of version 4's canary (10 %) was sent; Databricks reports that rollout failed and version 3 still serves alone.
  const step1 = served({ '3': 90, '4': 10 });
  const failedStep = (deployment: string, message: string) =>
    ({
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
      config: served({ '3': 100 }),
      pending_config: { ...step1, served_entities: step1.served_entities?.map((e) => ({ ...e, state: { deployment, deployment_state_message: message } })), start_time: NOW.getTime() - 60 * SECOND },
    }) as never;
  const deploymentFailed = failedStep('DEPLOYMENT_FAILED', 'the model failed to load');
  const capacityFailed = failedStep('DEPLOYMENT_ABORTED', CAPACITY_ABORT_MESSAGE);
  const stepFailed = running({ phase: 'StepFailed', message: 'step 1 (10 % to version 4): the rollout failed' });
  const object = (canary: CanaryStatus, status: Partial<EndpointStatus> = {}, annotations: Record<string, string> = {}) => {
    const o = canaryObject('4', canary, annotations);
    return { ...o, status: { ...o.status, ...status } };
  };

  it.each([
    {
      name: 'a deployment failure: the step failed and waits for a spec change or requested-at',
      object: object(running({})),
      endpoint: deploymentFailed,
      phase: 'StepFailed',
      message: /^step 1 \(10 % to version 4\): the rollout failed: DEPLOYMENT_FAILED: the model failed to load\. .* set annotation ptoperator\.io\/requested-at to a new value to retry\.$/,
      action: 'none',
    },
    {
      name: 'a capacity failure: the step is retried like any rollout and says when',
      object: object(running({})),
      endpoint: capacityFailed,
      phase: 'Progressing',
      message: /^step 1 \(10 % to version 4\): GPU capacity unavailable \(attempt 1\): .* Next retry at /,
      action: 'none',
    },
    {
      name: 'a capacity failure past the retry budget: the step failed',
      object: object(running({}), { capacity: { attempts: 4, exhausted: true, firstFailureTime: iso(NOW) } }),
      endpoint: capacityFailed,
      phase: 'StepFailed',
      message: /^step 1 \(10 % to version 4\): GPU capacity stayed unavailable through 4 attempt\(s\)/,
      action: 'none',
    },
    {
      name: 'a failed step looked at again stays failed and sends nothing',
      object: object(stepFailed),
      endpoint: deploymentFailed,
      phase: 'StepFailed',
      message: /^step 1 \(10 % to version 4\): the rollout failed: DEPLOYMENT_FAILED/,
      action: 'none',
    },
    {
      name: 'a failed step retried with requested-at rolls out again',
      object: object(stepFailed, {}, { 'ptoperator.io/requested-at': 'retry-1' }),
      endpoint: deploymentFailed,
      phase: 'Progressing',
      message: /^rolling out step 1: 10 % of the traffic to version 4$/,
      action: 'updateConfig',
    },
    {
      name: 'a failed step that serves after all pauses as any step',
      object: object(stepFailed),
      endpoint: { ...readyEndpoint(), config: step1 },
      phase: 'Paused',
      message: /^step 1 \(10 %\) serves; pausing until /,
      action: 'none',
    },
    {
      name: 'a failed step aborted by the user is Aborted: the old version already serves alone, so nothing is sent',
      object: object(stepFailed, {}, { 'ptoperator.io/canary': 'abort' }),
      endpoint: deploymentFailed,
      phase: 'Aborted',
      message: /^aborted by the user: all traffic back to version 3$/,
      action: 'none',
    },
  ])('$name', ({ object, endpoint, phase, message, action }) => {
    const plan = reconcileCanary(object, endpoint);
    expect(plan.action.type).toBe(action);
    expect(plan.status.canary).toMatchObject({ phase, step: 1, share: 10 });
    expect(plan.status.canary?.message).toMatch(message);
  });

  it('a failed step promoted by the user sends the new version alone', () => {
    const plan = reconcileCanary(object(stepFailed, {}, { 'ptoperator.io/canary': 'promote' }), deploymentFailed);
    expect(plan.action.type).toBe('updateConfig');
    expect(plan.status.canary).toMatchObject({ phase: 'Promoting', share: 100 });
  });
});

// An abort sends the old version alone (the rollback). When Databricks fails that rollout, the split keeps serving:
// status.canary must not go on saying "all traffic back to version 3", and the conditions must say that the rollback
// failed and how to retry it (Stalled, Argo CD Degraded), not advise a served config the user cannot set.
describe('the rollback of an aborted canary fails', () => {
  const split = served({ '3': 90, '4': 10 });
  const rollback = served({ '3': 100 });
  const rollbackFailed = (deployment: string, message: string) =>
    ({
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
      config: split,
      pending_config: { ...rollback, served_entities: rollback.served_entities?.map((e) => ({ ...e, state: { deployment, deployment_state_message: message } })), start_time: NOW.getTime() - 60 * SECOND },
    }) as never;
  const ABORTED = 'aborted by the user: all traffic back to version 3';
  const aborted = (canary: Partial<CanaryStatus> = {}, status: Partial<EndpointStatus> = {}, annotations: Record<string, string> = { 'ptoperator.io/canary': 'abort' }) => {
    const o = canaryObject('4', running({ phase: 'Aborted', message: ABORTED, ...canary }), annotations);
    return { ...o, status: { ...o.status, ...status } };
  };

  it.each([
    { name: 'a deployment failure', endpoint: rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'), status: {}, reason: 'UpdateFailed', failure: /DEPLOYMENT_FAILED: the container failed to start/ },
    { name: 'the capacity budget spent', endpoint: rollbackFailed('DEPLOYMENT_ABORTED', CAPACITY_ABORT_MESSAGE), status: { capacity: { attempts: 4, exhausted: true, firstFailureTime: iso(NOW) } }, reason: 'CapacityRetriesExhausted', failure: /GPU capacity stayed unavailable through 4 attempt/ },
  ])('$name: status.canary is RollbackFailed, Synced says the rollback failed and how to retry it', ({ endpoint, status, reason, failure }) => {
    const plan = reconcileCanary(aborted({}, status), endpoint);
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.canary).toMatchObject({ phase: 'RollbackFailed', versions: [{ version: '3', share: 90 }, { version: '4', share: 10 }] });
    expect(plan.status.canary?.message).toMatch(/^aborted by the user: all traffic back to version 3; the rollback to version 3 alone failed: /);
    expect(conditions(plan)).toEqual({ Ready: `False ${reason}`, Synced: `False ${reason}`, Stalled: `True ${reason}` });
    const synced = condition(plan, 'Synced')?.message;
    expect(synced).toMatch(/^the rollback to version 3 alone \(the canary of version 4 was aborted\) failed: /);
    expect(synced).toMatch(failure);
    expect(synced).toMatch(/version 3 at 1960-2940 tokens\/s \(90 %\) and version 4 at 1960-2940 tokens\/s \(10 %\) still serves/);
    expect(synced).toMatch(/set annotation ptoperator\.io\/requested-at to a new value to retry the rollback/);
    expect(synced).not.toMatch(/served config/);
  });

  it('a rollback retried for GPU capacity: Synced does not claim the old version serves alone', () => {
    const plan = reconcileCanary(aborted(), rollbackFailed('DEPLOYMENT_ABORTED', CAPACITY_ABORT_MESSAGE));
    expect(conditions(plan)).toMatchObject({ Ready: 'False WaitingForCapacity', Synced: 'False CanaryAborted' });
    expect(condition(plan, 'Synced')?.message).not.toMatch(/Version 3 keeps serving/);
    expect(condition(plan, 'Synced')?.message).toMatch(/Version 3 serves alone once the rollback lands/);
    expect(plan.status.canary).toMatchObject({ phase: 'Aborted', message: ABORTED });
  });

  it('Databricks refuses a step (400): StepFailed, saying why and how to retry, and the step is not sent again', () => {
    const object = canaryObject('4', undefined);
    const endpoint = { ...readyEndpoint(), config: served({ '3': 100 }) } as never;
    const observed = planInput(object, { endpoint }).endpoint;
    const decision = decideCanary(object, observed, true, NOW);
    const input = { ...planInput({ ...object, spec: decision.spec }, { endpoint }), desiredChanged: decision.changed, ...canaryPlanFields(decision) };
    const planned = planEndpoint(input);
    expect(planned.action).toMatchObject({ type: 'updateConfig' });
    const refused = planActionFailure(input, planned, { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: version 4 of the model is archived' });
    const plan = withCanary(refused, object.status, decision, canaryKept(false, observed, refused), NOW);
    expect(conditions(plan)).toMatchObject({ Synced: 'False InvalidSpec', Stalled: 'True InvalidSpec' });
    // not "rolling out step 1" beside a refusal: the step failed, and status.canary says why, as Synced does
    expect(plan.status.canary?.phase).toBe('StepFailed');
    expect(plan.status.canary?.message).toMatch(/^step 1 \(10 % to version 4\): .*archived/);
    const again = reconcileCanary({ ...object, status: plan.status }, endpoint);
    expect(again.action).toEqual({ type: 'none' });
    expect(again.status.canary?.phase).toBe('StepFailed');
  });

  it('Databricks refuses the rollback (400): RollbackFailed too, Synced names the rollback, and the refusal is not sent again', () => {
    const object = aborted();
    const endpoint = { ...readyEndpoint(), config: split } as never;
    const observed = planInput(object, { endpoint }).endpoint;
    const decision = decideCanary(object, observed, true, NOW);
    const input = { ...planInput({ ...object, spec: decision.spec }, { endpoint }), desiredChanged: decision.changed, ...canaryPlanFields(decision) };
    const planned = planEndpoint(input);
    expect(planned.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
    const refused = planActionFailure(input, planned, { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: version 3 of the model is archived' });
    const plan = withCanary(refused, object.status, decision, canaryKept(false, observed, refused), NOW);
    expect(plan.status.canary?.phase).toBe('RollbackFailed');
    expect(plan.status.canary?.message).toMatch(/^aborted by the user: all traffic back to version 3; the rollback to version 3 alone failed: Databricks rejected the request: /);
    expect(conditions(plan)).toEqual({ Ready: 'False InvalidSpec', Synced: 'False InvalidSpec', Stalled: 'True InvalidSpec' });
    expect(condition(plan, 'Synced')?.message).toMatch(/^the rollback to version 3 alone \(the canary of version 4 was aborted\) failed: Databricks rejected the request: .*archived.*set annotation ptoperator\.io\/requested-at to a new value to retry the rollback/);
    const again = reconcileCanary({ ...object, status: plan.status }, endpoint);
    expect(again.action).toEqual({ type: 'none' });
    expect(again.status.canary?.phase).toBe('RollbackFailed');
  });

  // CanaryAborted tells the user to set model.version back to "3". Done after the rollback failed, the spec now asks
  // for version 3 alone, which the split does not serve: that is a new served config, to be sent, not a tag-only edit.
  it('model.version set back to the old version after the rollback failed sends version 3 alone again', () => {
    const failedOnce = reconcileCanary(aborted(), rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(failedOnce.status.canary?.phase).toBe('RollbackFailed');
    const base = aborted();
    const back = { ...base, generation: base.generation + 1, spec: { ...base.spec, model: { ...base.spec.model, version: '3' } }, annotations: {}, status: failedOnce.status };
    const plan = reconcileCanary(back, rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    // A tag edit of the aborted spec is still no new attempt at the rollback.
    const tagged = { ...base, generation: base.generation + 1, spec: { ...base.spec, tags: { team: 'genai' } }, status: failedOnce.status };
    const tagOnly = reconcileCanary(tagged, rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(tagOnly.action.type).not.toBe('updateConfig');
    expect(tagOnly.status.canary?.phase).toBe('RollbackFailed');
  });

  it('requested-at retries the rollback; once it lands the canary is Aborted with its own reason again', () => {
    const failedOnce = reconcileCanary(aborted(), rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    const object = { ...aborted(), status: failedOnce.status, annotations: { 'ptoperator.io/canary': 'abort', 'ptoperator.io/requested-at': 'retry-1' } };
    const retried = reconcileCanary(object, rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(retried.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
    expect(retried.status.canary).toMatchObject({ phase: 'Aborted', message: ABORTED });
    const landed = reconcileCanary({ ...object, status: { ...retried.status, lastHandledRequestedAt: 'retry-1' } }, readyEndpoint({ version: '3' }));
    expect(landed.status.canary).toMatchObject({ phase: 'Aborted', message: ABORTED });
    expect(conditions(landed)).toEqual({ Ready: 'False CanaryAborted', Synced: 'False CanaryAborted', Stalled: 'True CanaryAborted' });
    expect(condition(landed, 'Synced')?.message).toMatch(/Version 3 keeps serving/);
  });
});
