// A config Databricks rejected (400 on the update: InvalidSpec) stays reported as such while the endpoint is
// watched: an out-of-band rollout neither hides the refusal nor gets the rejected config sent again.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { observeConfig } from '../../../../src/controllers/endpoint/desired.js';
import {
  MINUTE,
  MODEL,
  NOT_FOUND,
  SETTINGS,
  TOKEN_BAND_MODEL,
  afterPlan,
  annotated,
  at,
  condition,
  edited,
  endpointObject,
  failed,
  planInput,
  readyEndpoint,
  reconcile,
  updatingEndpoint,
} from '../fixtures.js';
import { capacityFailure, updateRequested } from './plan-fixtures.js';

function settledObject() {
  const object = endpointObject();
  return afterPlan(object, reconcile(object, { endpoint: readyEndpoint(), now: at(-60 * MINUTE) }));
}

/** A new spec sent, and refused by Databricks with a 400. */
function rejectedObject() {
  const object = edited(settledObject(), { throughput: { chunks: { min: 2, max: 4 } } });
  const sent = reconcile(object, { endpoint: readyEndpoint() });
  expect(sent.action.type).toBe('updateConfig');
  const refused = planActionFailure(planInput(object, { endpoint: readyEndpoint() }), sent, { kind: 'InvalidRequest', message: 'too much throughput' });
  expect(refused.status.rejectedGeneration).toBe(object.generation);
  return afterPlan(object, refused);
}

const stalledOnRejection = (plan: ReturnType<typeof reconcile>) => {
  expect(plan.action).toEqual({ type: 'none' });
  expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('Databricks rejected the request: too much throughput') });
  expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('Databricks rejected the request: too much throughput') });
  expect(plan.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
  expect(plan.status.conditions?.find((c) => c.type === 'Reconciling')?.status).not.toBe('True');
};

describe('a config Databricks rejected, then changed outside Kubernetes', () => {
  it('while the out-of-band rollout runs and after it ends: InvalidSpec (Stalled) with what rolls out and serves, never sent again', () => {
    let object = rejectedObject();

    const settled = reconcile(object, { endpoint: readyEndpoint() });
    stalledOnRejection(settled);
    expect(condition(settled, 'Ready')?.message).toMatch(/Databricks still serves version 3 at 1960-2940 tokens\/s\.$/);

    // Someone changes the endpoint in the UI: a rollout runs.
    const rolling = reconcile(object, { endpoint: updatingEndpoint({ min: 0, max: 980 }, { min: 0, max: 1960 }) });
    stalledOnRejection(rolling);
    expect(condition(rolling, 'Ready')?.message).toMatch(/Databricks is rolling out version 3 at 0-1960 tokens\/s; version 3 at 0-980 tokens\/s still serves\.$/);
    expect(rolling.events.map((e) => e.reason)).not.toContain('DriftDetected');
    expect(rolling.requeue).not.toEqual({ after: SETTINGS.pollIntervalMs });
    object = afterPlan(object, rolling);

    // The rollout ends: the status says so, and still why the spec is not served.
    const after = reconcile(object, { endpoint: readyEndpoint({ min: 0, max: 1960 }) });
    stalledOnRejection(after);
    expect(condition(after, 'Ready')?.message).toMatch(/Databricks still serves version 3 at 0-1960 tokens\/s\.$/);
    expect(condition(after, 'Ready')?.message).not.toMatch(/rolling out/);
    expect(after.status.state).toEqual({ ready: 'READY', configUpdate: 'NOT_UPDATING' });
    expect(after.requeue).toEqual({ after: SETTINGS.pollIntervalMs });

    // Every poll after: the same status, no new Events.
    const again = reconcile(afterPlan(object, after), { endpoint: readyEndpoint({ min: 0, max: 1960 }) });
    expect(again.status.conditions).toEqual(after.status.conditions);
    expect(again.events).toEqual([]);
  });

  it('a read failure in between does not lose the refusal (Synced said RateLimited meanwhile)', () => {
    const object = rejectedObject();
    const limited = afterPlan(object, reconcile(object, { endpoint: failed('RateLimited', 'slow down', 1000) }));
    expect(condition({ status: limited.status }, 'Synced')?.reason).toBe('RateLimited');
    const plan = reconcile(limited, { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringMatching(/^Databricks rejected/) });
  });
});

describe('a model the operator may not read (403 on the model read)', () => {
  it('Ready says what still serves, and status follows the endpoint', () => {
    const object = edited(settledObject(), { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '4' } });
    const plan = reconcile(object, { model: failed('PermissionDenied', 'User does not have EXECUTE on Model'), endpoint: updatingEndpoint({ min: 0, max: 980 }, { min: 0, max: 1960 }) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(condition(plan, 'Ready')?.message).toMatch(/Grant that identity EXECUTE on the model.* Databricks is rolling out version 3 at 0-1960 tokens\/s; version 3 at 0-980 tokens\/s still serves\.$/);
    expect(plan.status.state).toEqual({ ready: 'READY', configUpdate: 'IN_PROGRESS' });
    expect(plan.status.pending).toMatchObject({ maxTokensPerSecond: 1960 });
  });
});

// A hostile workspace host chooses what it serves: its text reaches status as one line of visible characters, cut to
// length (docs/security.md), whatever planner quotes it.
describe('a host that serves a hostile entity version', () => {
  const hostile = `3\n\u001b[31mFAKE\u2028x${'\u001b'.repeat(30_000)}`;
  const unshowable = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

  it('a refused spec (ModelNotFound): Ready keeps its length cap, status.served and status.pending hold a short visible line', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '9' } });
    const plan = reconcile(object, { model: NOT_FOUND, endpoint: updatingEndpoint({ version: hostile }, { version: hostile }) });
    expect(condition(plan, 'Synced')?.reason).toBe('ModelNotFound');
    expect(condition(plan, 'Ready')?.message).toMatch(/Databricks is rolling out version 3 \\u001b\[31mFAKE x.*; version 3 \\u001b.* still serves\.$/);
    for (const c of plan.status.conditions ?? []) expect(c.message.length).toBeLessThanOrEqual(32_768);
    for (const version of [plan.status.served?.modelVersion, plan.status.pending?.modelVersion]) {
      expect(version).toMatch(/^3 \\u001b\[31mFAKE x/);
      expect(version).not.toMatch(unshowable);
      expect(version?.length).toBeLessThanOrEqual(64);
    }
  });

  it('a host error message of control characters: every condition message stays within the cap once escaped', () => {
    const plan = reconcile(settledObject(), { model: failed('PermissionDenied', '\u001b'.repeat(30_000)), endpoint: readyEndpoint() });
    expect(condition(plan, 'Ready')?.reason).toBe('PermissionDenied');
    for (const c of plan.status.conditions ?? []) {
      expect(c.message.length).toBeLessThanOrEqual(32_768);
      expect(c.message).not.toMatch(unshowable);
    }
  });

  it('a served entity name and the model type a host reports: short visible lines in status too', () => {
    const endpoint = readyEndpoint({ version: hostile });
    const observed = observeConfig(endpoint.config);
    for (const text of [observed?.entityVersion, observed?.entities[0]?.entityVersion]) {
      expect(text).not.toMatch(unshowable);
      expect(text?.length).toBeLessThanOrEqual(64);
    }
    const named = observeConfig({ ...endpoint.config, served_entities: [{ ...endpoint.config?.served_entities?.[0], name: `x\u001b${'y'.repeat(10_000)}` }] });
    expect(named?.entities[0]?.name).not.toMatch(unshowable);
    expect(named?.entities[0]?.name?.length).toBeLessThanOrEqual(64);
    const plan = reconcile(endpointObject(), { model: { ...TOKEN_BAND_MODEL, model_type: `llama\u001b]8;;${'z'.repeat(10_000)}` }, endpoint: NOT_FOUND });
    expect(plan.status.optimization?.modelType).not.toMatch(unshowable);
    expect(plan.status.optimization?.modelType?.length).toBeLessThanOrEqual(64);
  });
});

describe('a capacity retry Databricks rejected', () => {
  // Found by plan-property.test.ts (seed 24): version 4 ran out of GPU capacity, the operator's retry of it was refused
  // with a 400, and kubectl showed Stalled InvalidSpec ("not sent again until the spec changes"), yet the next look at
  // the same failed rollout sent the rejected config again, and again at each backoff, each refused the same way.
  it('is not sent again at the next look at the failed rollout: InvalidSpec (Stalled) until the spec or requested-at changes', () => {
    const object = updateRequested();
    const counted = afterPlan(object, reconcile(object, { endpoint: capacityFailure() }));
    const retryAt = Date.parse(counted.status.capacity?.nextRetryTime ?? '');
    const retry = reconcile(counted, { endpoint: capacityFailure(), now: new Date(retryAt) });
    expect(retry.action.type).toBe('updateConfig');
    const input = planInput(counted, { endpoint: capacityFailure(), now: new Date(retryAt) });
    const refused = afterPlan(counted, planActionFailure(input, retry, { kind: 'InvalidRequest', message: 'entity version 4 is no longer available' }));
    expect(refused.status.rejectedGeneration).toBe(counted.generation);

    for (const later of [MINUTE, 30 * MINUTE, 6 * 60 * MINUTE]) {
      const look = reconcile(refused, { endpoint: capacityFailure(), now: new Date(retryAt + later) });
      expect(look.action).toEqual({ type: 'none' });
      expect(condition(look, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
      expect(look.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    }
  });
});

describe('a create Databricks rejected, looked at again after something else was said', () => {
  // Found by plan-property.test.ts (seed 272): a create refused with a 400 (InvalidSpec, Stalled), then the object was
  // paused and unpaused (or a read was rate limited, or the model was briefly missing). After that, every look kept
  // the last Synced: ReconcilePaused on an object no longer paused, or RateLimited "retrying" (Reconciling=True for
  // kstatus) with no look planned; the refusal and its Stalled were gone for good.
  const rejectedCreate = () => {
    const object = endpointObject();
    const refused = planActionFailure(planInput(object), reconcile(object), { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: bad tags' });
    return afterPlan(object, refused);
  };
  const paused = { [EndpointAnnotation.paused]: 'true' };

  it.each([
    ['paused, then unpaused', (object: ReturnType<typeof rejectedCreate>) => afterPlan(object, reconcile(annotated(object, paused), { now: at(MINUTE) }))],
    ['a rate-limited read', (object: ReturnType<typeof rejectedCreate>) => afterPlan(object, reconcile(object, { endpoint: failed('RateLimited'), now: at(MINUTE) }))],
    ['the model briefly missing', (object: ReturnType<typeof rejectedCreate>) => afterPlan(object, reconcile(object, { model: NOT_FOUND, now: at(MINUTE) }))],
  ])('%s: the next look says InvalidSpec again (Stalled), and sends nothing', (_, between) => {
    const object = between(rejectedCreate());
    const look = reconcile(object, { endpoint: NOT_FOUND, now: at(2 * MINUTE) });
    expect(look.action).toEqual({ type: 'none' });
    expect(condition(look, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('Databricks rejected') });
    expect(look.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    expect(look.status.conditions?.find((c) => c.type === 'Reconciling')).toBeUndefined();
  });
});
