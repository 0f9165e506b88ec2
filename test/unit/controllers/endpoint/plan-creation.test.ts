// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { planActionFailure, planEndpoint, withActionAnswer } from '../../../../src/controllers/endpoint/plan.js';
import { ENDPOINT_ID, MODEL, MODEL_UNIT_MODEL, NOT_FOUND, NOW, OWNER, SECOND, afterPlan, at, condition, creatingEndpoint, edited, endpointObject, found, ownerTagsOf, iso, planInput, readyEndpoint, reconcile, updatingEndpoint } from '../fixtures.js';
import { firstLookWindow, requeueAfter, eventReasons, ownerTagList, settledObject } from './plan-fixtures.js';

describe('endpoint 404 → create', () => {
  it('creates a token-band endpoint at chunks × chunk size, tagged with the owner uid', () => {
    const plan = reconcile(endpointObject(), { endpoint: NOT_FOUND });
    expect(plan.action).toEqual({
      type: 'create',
      request: {
        api: 'create',
        body: {
          name: 'llama-chat',
          config: { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
          tags: [{ key: 'team', value: 'genai' }, ...ownerTagList],
        },
      },
    });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Creating', message: expect.stringContaining('1960-2940 tokens/s') });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(plan.status.pending).toEqual({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940, startTime: iso(NOW) });
    expect(plan.status.endpointName).toBe('llama-chat');
    expect(eventReasons(plan)).toContain('Normal CreatingEndpoint');
  });

  it('creates a model-unit endpoint through the model-unit API (/pt) under spec.endpointName', () => {
    const object = endpointObject({ spec: { endpointName: 'llama-pt', throughput: { modelUnits: 100 }, burstScaling: false, tags: {} } });
    const plan = reconcile(object, { model: MODEL_UNIT_MODEL });
    expect(plan.action).toEqual({
      type: 'create',
      request: {
        api: 'ptCreate',
        body: {
          name: 'llama-pt',
          config: { served_entities: [{ entity_name: MODEL, entity_version: '3', provisioned_model_units: 100, burst_scaling_enabled: false }] },
          tags: ownerTagList,
        },
      },
    });
    expect(plan.status.pending).toMatchObject({ modelUnits: 100 });
  });

  it.each([0, 0.5, 0.999999])('first looks at the new rollout after about a quarter of a second ± 25 percent (random %d)', (random) => {
    const after = requeueAfter(reconcile(endpointObject(), { random }));
    expect(after).toBeGreaterThanOrEqual(firstLookWindow[0]);
    expect(after).toBeLessThanOrEqual(firstLookWindow[1]);
  });

  it('recreates an endpoint that vanished from Databricks, with a Warning', () => {
    const plan = reconcile(settledObject(), { endpoint: NOT_FOUND });
    expect(plan.action.type).toBe('create');
    expect(plan.status.endpointId).toBeUndefined();
    expect(plan.status.served).toBeUndefined();
    expect(eventReasons(plan)).toContain('Warning EndpointMissing');
  });
});

describe('a change held back by the host\'s client budget', () => {
  const heldBy = (clientBudget: { budget: 'mutation' | 'read'; pausedByDatabricks: boolean }) =>
    planActionFailure(planInput(endpointObject()), reconcile(endpointObject()), {
      kind: 'RateLimited',
      message: 'budget message',
      retryAfterMs: 5 * SECOND,
      fromClientBudget: true,
      clientBudget,
    });
  it.each([
    [{ budget: 'mutation' as const, pausedByDatabricks: false }, /^waiting for the create\/update budget of this Databricks host.*--databricks-mutations-per-5-minutes\): budget message; this change is sent at /],
    [{ budget: 'read' as const, pausedByDatabricks: false }, /^waiting for the read budget of this Databricks host.*--databricks-reads-per-second\): budget message/],
    [{ budget: 'read' as const, pausedByDatabricks: true }, /^Databricks is throttling this host \(it answered 429\)/],
  ])('%o: the message names what holds it back', (clientBudget, message) => {
    const plan = heldBy(clientBudget);
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'RateLimited' });
    expect(condition(plan, 'Synced')?.message).toMatch(message);
    if (clientBudget.pausedByDatabricks || clientBudget.budget === 'read') expect(condition(plan, 'Synced')?.message).not.toContain('--databricks-mutations-per-5-minutes');
  });
});

describe('crash safety', () => {
  it('a crash between create and status write: the endpoint is found by name, recognised by its tag, not created again', () => {
    const object = endpointObject(); // status never written
    const plan = reconcile(object, { endpoint: creatingEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Creating' });
    expect(plan.status.endpointId).toBe(ENDPOINT_ID);
    expect(plan.status.pending).toMatchObject({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
  });
});

describe('burst scaling, which Databricks does not echo', () => {
  const units = { throughput: { modelUnits: 50 } };
  // Like the real API (and the emulator): burst_scaling_enabled is absent from GET.
  const servedUnits = () => readyEndpoint({ version: '3', units: 50 });

  it('is remembered from the request, so turning it off later sends an update', () => {
    const created = reconcile(endpointObject({ spec: units }), { model: MODEL_UNIT_MODEL });
    expect(created.status.pending?.burstScaling).toBe(true);
    const settled = afterPlan(endpointObject({ spec: units }), created);
    const ready = reconcile(settled, { model: MODEL_UNIT_MODEL, endpoint: servedUnits() });
    expect(ready.status.served?.burstScaling).toBe(true);
    expect(ready.action).toEqual({ type: 'none' });

    const off = edited(afterPlan(settled, ready), { ...units, burstScaling: false });
    const plan = reconcile(off, { model: MODEL_UNIT_MODEL, endpoint: servedUnits() });
    expect(plan.action.type).toBe('updateConfig');
    expect(JSON.stringify(plan.action)).toContain('"burst_scaling_enabled":false');
  });

  it('unknown (never requested by us) causes no update', () => {
    const plan = reconcile(endpointObject({ spec: units }), { model: MODEL_UNIT_MODEL, endpoint: servedUnits() });
    expect(plan.action).toEqual({ type: 'none' });
  });
});

describe("Databricks' answer to a create or update (issue 12 item 5: three writes from apply to Ready)", () => {
  it.each([
    ['a create', () => endpointObject(), NOT_FOUND, creatingEndpoint()],
    ['a version change', () => edited(settledObject(), { model: { name: MODEL, version: '4' } }), found(readyEndpoint()), updatingEndpoint({ version: '3' }, { version: '4' })],
  ] as const)('%s: the status says what Databricks answered, and a look while the rollout runs plans the same status', (_, objectOf, observed, answer) => {
    const object = objectOf();
    const input = planInput(object, { endpoint: observed });
    const acted = planEndpoint(input);
    expect(['create', 'updateConfig']).toContain(acted.action.type);
    const answered = withActionAnswer(input, acted, answer);
    // The action and its Event are the action's; the status is the rollout Databricks reported.
    expect(answered.action).toEqual(acted.action);
    expect(answered.events).toEqual(acted.events);
    expect(answered.status.endpointId).toBe(ENDPOINT_ID);
    expect(answered.status.state).toEqual({ ready: answer.state.ready, configUpdate: 'IN_PROGRESS' });
    expect(requeueAfter(answered)).toBeGreaterThanOrEqual(firstLookWindow[0]);
    expect(requeueAfter(answered)).toBeLessThanOrEqual(firstLookWindow[1]);

    // The first look, 1 s later, finds the rollout still running: the same status, so nothing to write.
    const look = reconcile(afterPlan(object, answered), { endpoint: found(answer), now: at(SECOND) });
    expect(look.action).toEqual({ type: 'none' });
    expect(look.status).toEqual(answered.status);
    expect(look.events).toEqual([]);
    // Without the answer, that look would have written a second status.
    expect(reconcile(afterPlan(object, acted), { endpoint: found(answer), now: at(SECOND) }).status).not.toEqual(acted.status);
  });

  it.each([
    // Already serving, without the spec's tag: the answer would plan a tag patch.
    ['an answer that plans another action', readyEndpoint({}, { tags: ownerTagsOf(OWNER) })],
    ['an answer without our owner tags', creatingEndpoint({}, { owner: null })],
  ])('%s leaves the status as the action planned it', (_, answer) => {
    const input = planInput(endpointObject(), { endpoint: NOT_FOUND });
    const acted = planEndpoint(input);
    expect(withActionAnswer(input, acted, answer)).toEqual(acted);
  });

  it('other actions are left alone', () => {
    const input = planInput(settledObject(), { endpoint: found(readyEndpoint()) });
    const plan = planEndpoint(input);
    expect(withActionAnswer(input, plan, creatingEndpoint())).toBe(plan);
  });
});
