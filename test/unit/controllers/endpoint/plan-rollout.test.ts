// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type EndpointObject, planActionFailure, planEndpoint, onlyWatchingRollout, withActionAnswer } from '../../../../src/controllers/endpoint/plan.js';
import { MINUTE, MODEL, NOT_FOUND, NOT_OPTIMIZABLE_MODEL, NOW, SECOND, SETTINGS, TOKEN_BAND_MODEL, afterPlan, at, condition, creatingEndpoint, edited, endpointObject, iso, planInput, readyEndpoint, reconcile, updatingEndpoint } from '../fixtures.js';
import { progressWindow, requeueAfter, settledObject } from './plan-fixtures.js';

describe('a spec that cannot be applied while a rollout runs: status still follows the endpoint, looked at again', () => {
  // The rollout to chunks 0-3 (0-2940 tokens/s) the previous spec started runs; 0-980 still serves.
  const rolling = { throughput: { chunks: { min: 0, max: 3 } } };
  function rollingOutObject(): EndpointObject {
    const object = endpointObject({ spec: rolling });
    const plan = reconcile(object, { endpoint: updatingEndpoint({ min: 0, max: 980 }, { min: 0, max: 2940 }) });
    expect(plan.status.state?.configUpdate).toBe('IN_PROGRESS');
    return afterPlan(object, plan);
  }
  const failures = [
    ['tokensPerSecond off the chunk grid', 'InvalidSpec', { throughput: { tokensPerSecond: { min: 0, max: 1000 } } }, TOKEN_BAND_MODEL],
    ['maxBackoff below initialBackoff', 'InvalidSpec', { ...rolling, capacityRetry: { initialBackoff: '10m', maxBackoff: '5m' } }, TOKEN_BAND_MODEL],
    ['a model version missing', 'ModelNotFound', { ...rolling, model: { name: MODEL, version: '9' } }, NOT_FOUND],
    ['a model version not optimizable', 'ModelNotOptimizable', { ...rolling, model: { name: MODEL, version: '9' } }, NOT_OPTIMIZABLE_MODEL],
  ] as const;

  it.each(failures)('%s (%s), the rollout finished meanwhile: served, state and pending say so, and Ready does not claim it still runs', (_, reason, spec, model) => {
    const plan = reconcile(edited(rollingOutObject(), spec), { model, endpoint: readyEndpoint({ min: 0, max: 2940 }) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.served).toMatchObject({ modelVersion: '3', minTokensPerSecond: 0, maxTokensPerSecond: 2940 });
    expect(plan.status.state).toEqual({ ready: 'READY', configUpdate: 'NOT_UPDATING' });
    expect(plan.status.pending).toBeUndefined();
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason });
    expect(condition(plan, 'Ready')?.message).toMatch(/Databricks still serves version 3 at 0-2940 tokens\/s\.$/);
    expect(condition(plan, 'Ready')?.message).not.toMatch(/rolling out|0-980/);
    expect(plan.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
  });

  it.each(failures)('%s (%s), the rollout still runs: Ready says what rolls out and what serves, looked at again at the progress pace', (_, reason, spec, model) => {
    const plan = reconcile(edited(rollingOutObject(), spec), { model, endpoint: updatingEndpoint({ min: 0, max: 980 }, { min: 0, max: 2940 }) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.pending).toMatchObject({ minTokensPerSecond: 0, maxTokensPerSecond: 2940 });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason });
    expect(condition(plan, 'Ready')?.message).toContain('Databricks is rolling out version 3 at 0-2940 tokens/s; version 3 at 0-980 tokens/s still serves.');
    const after = requeueAfter(plan);
    expect(after).toBeGreaterThanOrEqual(progressWindow[0]);
    expect(after).toBeLessThanOrEqual(progressWindow[1]);
  });

  it.each(failures)('%s (%s), the endpoint deleted outside Kubernetes: status no longer shows it serving', (_, reason, spec, model) => {
    const plan = reconcile(edited(rollingOutObject(), spec), { model, endpoint: NOT_FOUND });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status).not.toHaveProperty('served');
    expect(plan.status).not.toHaveProperty('state');
    expect(plan.status).not.toHaveProperty('pending');
    expect(plan.status).not.toHaveProperty('endpointUrl');
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason });
    expect(condition(plan, 'Ready')?.message).not.toMatch(/serves/);
  });

  it('a config Databricks refused for this spec: nothing sent again, the endpoint still looked at every poll interval', () => {
    const object = edited(settledObject(), { throughput: { chunks: { min: 2, max: 4 } } });
    const sent = reconcile(object, { endpoint: readyEndpoint() });
    expect(sent.action.type).toBe('updateConfig');
    const refused = planActionFailure(planInput(object, { endpoint: readyEndpoint() }), sent, { kind: 'InvalidRequest', message: 'too much throughput' });
    const plan = reconcile(afterPlan(object, refused), { endpoint: readyEndpoint({ min: 0, max: 980 }) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.served).toMatchObject({ minTokensPerSecond: 0, maxTokensPerSecond: 980 });
    expect(plan.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
  });
});

describe('config_update IN_PROGRESS → wait, saying what still serves', () => {
  it.each([
    ['first deploy', 'Creating', creatingEndpoint({ version: '4' }), /creating the endpoint with version 4 at 1960-2940 tokens\/s/],
    ['an update', 'Updating', updatingEndpoint({ version: '3' }, { version: '4' }), /rolling out version 4 at 1960-2940 tokens\/s; version 3 at 1960-2940 tokens\/s still serves/],
  ])('%s → Ready False %s', (_, reason, endpoint, message) => {
    const plan = reconcile(endpointObject({ spec: { model: { name: MODEL, version: '4' } } }), { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason, message: expect.stringMatching(message) });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    const after = requeueAfter(plan);
    expect(after).toBeGreaterThanOrEqual(progressWindow[0]);
    expect(after).toBeLessThanOrEqual(progressWindow[1]);
  });

  it('shows served and pending in the status while the old config serves', () => {
    const plan = reconcile(endpointObject({ spec: { model: { name: MODEL, version: '4' } } }), { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }) });
    expect(plan.status.served).toEqual({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940, configVersion: 2 });
    expect(plan.status.pending).toEqual({
      modelVersion: '4',
      minTokensPerSecond: 1960,
      maxTokensPerSecond: 2940,
      configVersion: 3,
      startTime: iso(at(-10 * MINUTE)),
    });
    expect(plan.status.state).toEqual({ ready: 'READY', configUpdate: 'IN_PROGRESS' });
  });
});

describe('onlyWatchingRollout: a look that needs only the list of endpoints (issue 12)', () => {
  /** An object whose create Databricks answered: our rollout runs. */
  const rolling = (): EndpointObject => {
    const input = planInput(endpointObject(), { endpoint: NOT_FOUND });
    return { ...afterPlan(endpointObject(), withActionAnswer(input, planEndpoint(input), creatingEndpoint())), hasFinalizer: true };
  };
  it.each<[string, (o: EndpointObject) => EndpointObject, boolean]>([
    ['our rollout runs, nothing asked since', (o) => o, true],
    ['a new spec', (o) => ({ ...o, generation: 2 }), false],
    ['a new requested-at token', (o) => ({ ...o, annotations: { [EndpointAnnotation.requestedAt]: 'now' } }), false],
    ['paused', (o) => ({ ...o, annotations: { [EndpointAnnotation.paused]: 'true' } }), false],
    ['being deleted', (o) => ({ ...o, deleting: true }), false],
    ['a canary steers it', (o) => ({ ...o, annotations: { [EndpointAnnotation.canary]: 'promote' } }), false],
    ['no rollout running', (o) => ({ ...o, status: { ...o.status, state: { ready: 'READY', configUpdate: 'NOT_UPDATING' } } }), false],
    ['no finalizer (never acted)', (o) => ({ ...o, hasFinalizer: false }), false],
  ])('%s: %s', (_, change, expected) => {
    expect(onlyWatchingRollout(change(rolling()))).toBe(expected);
  });
});

// Databricks dates a rollout by its own clock. The operator's clock hours behind it (a node's clock, or the emulator's
// fast virtual clock): the rollout's age is then read in the operator's clock, since Ready last changed (the change
// that started it), so a rollout begun a second ago is looked at within a second, not after the progress interval.
describe("a rollout Databricks dates ahead of the operator's clock", () => {
  it.each([
    ['2 hours ahead', 2 * 3600 * SECOND],
    ['10 minutes ahead', 10 * MINUTE],
  ])('%s: the rollout started 1 s ago by the operator, looked at twice, is looked at again within a second', (_, skewMs) => {
    const object = edited(settledObject(), { throughput: { chunks: { min: 2, max: 4 } } });
    const update = reconcile(object, { endpoint: readyEndpoint(), now: NOW });
    expect(update.action.type).toBe('updateConfig');
    const rolling = updatingEndpoint({}, { min: 1960, max: 3920 });
    const ahead = { ...rolling, pending_config: { ...rolling.pending_config, start_time: NOW.getTime() + skewMs } } as typeof rolling;
    const first = reconcile(afterPlan(object, update), { endpoint: ahead, now: at(SECOND / 2) });
    const look = reconcile(afterPlan(object, first), { endpoint: ahead, now: at(SECOND) });
    expect(look.action).toEqual({ type: 'none' });
    expect(requeueAfter(look)).toBeLessThanOrEqual(SECOND);
  });
});
