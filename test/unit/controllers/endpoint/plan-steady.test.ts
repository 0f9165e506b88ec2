// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { OwnerTag } from '../../../../src/controllers/endpoint/ownership.js';
import { planActionFailure, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { ENDPOINT_ID, HOST, MINUTE, MODEL, MODEL_UNIT_MODEL, NOT_FOUND, SETTINGS, afterPlan, at, condition, creatingEndpoint, edited, endpointObject, failed, foreignEndpoint, iso, planInput, readyEndpoint, reconcile, failedEndpoint, updatingEndpoint } from '../fixtures.js';
import { progressWindow, pollWindow, requeueAfter, eventReasons, ownerTagList, settledObject } from './plan-fixtures.js';

describe('READY, NOT_UPDATING', () => {
  it('no diff → nothing to do, Ready True Available, back at the poll interval ± jitter', () => {
    const plan = reconcile(endpointObject(), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available', message: 'version 3 at 1960-2940 tokens/s serves' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(requeueAfter(plan)).toBe(SETTINGS.pollIntervalMs);
    for (const random of [0, 0.999999]) {
      const after = requeueAfter(reconcile(endpointObject(), { endpoint: readyEndpoint(), random }));
      expect(after).toBeGreaterThanOrEqual(pollWindow[0]);
      expect(after).toBeLessThanOrEqual(pollWindow[1]);
    }
    expect(plan.status).toMatchObject({
      endpointId: ENDPOINT_ID,
      endpointUrl: `${HOST}/serving-endpoints/llama-chat/invocations`,
      state: { ready: 'READY', configUpdate: 'NOT_UPDATING' },
      served: { modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940, configVersion: 2 },
    });
    expect(plan.status.pending).toBeUndefined();
  });

  it('becoming Available is an event; route-optimized endpoints keep the URL Databricks gives', () => {
    const object = afterPlan(endpointObject(), reconcile(endpointObject(), { endpoint: creatingEndpoint() }));
    const endpoint = { ...readyEndpoint(), route_optimized: true, endpoint_url: 'https://88fd3f75.serving.azuredatabricks.net/serving-endpoints/llama-chat/invocations' };
    const plan = reconcile(object, { endpoint });
    expect(plan.events).toContainEqual({ type: 'Normal', reason: 'Available', message: 'version 3 at 1960-2940 tokens/s serves' });
    expect(plan.status.endpointUrl).toBe(endpoint.endpoint_url);
  });

  it('a settled endpoint produces no events and an identical status on the next poll', () => {
    const object = settledObject();
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.events).toEqual([]);
    expect(plan.status).toEqual(object.status);
  });

  // After an upgrade of the operator, the statuses an earlier version wrote have no status.servedGeneration:
  // recording it at every look would write every endpoint's status once (10,000 writes at start-up).
  it('a settled status written before status.servedGeneration existed is left as it is (an upgrade writes nothing)', () => {
    const object = settledObject();
    delete object.status.servedGeneration;
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.status).toEqual(object.status);
  });

  const band = (entity: Record<string, unknown>) => {
    const endpoint = readyEndpoint();
    Object.assign(endpoint.config?.served_entities?.[0] ?? {}, entity);
    return endpoint;
  };
  it.each([
    ['another workload_type', band({ workload_type: 'GPU_MEDIUM' })],
    ['another workload_size', band({ workload_size: 'Large' })],
    ['scale_to_zero_enabled normalised to false', band({ scale_to_zero_enabled: false })],
    ['scale_to_zero_enabled echoed true', band({ scale_to_zero_enabled: true })],
    ['a server-chosen entity name', band({ name: 'llama-chat-3-a1b2' })],
    ['burst_scaling_enabled echoed on a token band', band({ burst_scaling_enabled: true })],
  ])('server-normalised field (%s) never causes an update', (_, endpoint) => {
    const plan = reconcile(settledObject(), { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')?.status).toBe('True');
  });

  it('a band from 0 whose min Databricks left out (as import writes it: min 0) → no update, no drift', () => {
    const object = endpointObject({ spec: { throughput: { tokensPerSecond: { min: 0, max: 2940 } } } });
    const endpoint = readyEndpoint({ min: 0, max: 2940 });
    delete endpoint.config?.served_entities?.[0]?.min_provisioned_throughput;
    const plan = reconcile(object, { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.events.map((e) => e.reason)).not.toContain('DriftDetected');
    expect(condition(plan, 'Ready')?.status).toBe('True');
  });

  it.each([
    ['absent', undefined],
    ['echoed as desired', true],
  ])('model-unit endpoint with burst_scaling_enabled %s → no update', (_, burstScaling) => {
    const object = endpointObject({ spec: { throughput: { modelUnits: 100 } } });
    const endpoint = readyEndpoint({ units: 100, ...(burstScaling !== undefined && { burstScaling }) });
    const plan = reconcile(object, { endpoint, model: MODEL_UNIT_MODEL });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', message: 'version 3 with 100 model units serves' });
  });

  it.each([
    ['a user tag changed', [{ key: 'team', value: 'data science' }, ...ownerTagList], [{ key: 'team', value: 'genai' }], []],
    ['the owner object tag missing', [{ key: 'team', value: 'genai' }, ownerTagList[0]], [ownerTagList[1]], []],
    ['a managed key removed from the spec', [{ key: 'team', value: 'genai' }, { key: 'env', value: 'dev' }, ...ownerTagList], [], ['env']],
  ])('tags drift (%s) → patchTags only', (_, tags, add, remove) => {
    const object = { ...settledObject(), status: { ...settledObject().status, managedTagKeys: ['env', 'team'] } };
    const plan = reconcile(object, { endpoint: readyEndpoint({}, { tags: tags as { key: string; value: string }[] }) });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add, remove });
    expect(plan.status.managedTagKeys).toEqual(['team']);
    expect(condition(plan, 'Ready')?.status).toBe('True');
    // Not at once: a tag policy that reverts the tag costs one patch per poll interval (finding 2).
    expect(requeueAfter(plan)).toBeGreaterThanOrEqual(pollWindow[0]);
  });

  it('tags changed in Databricks are drift: restored with a DriftDetected Warning, as docs/concepts.md says (issue 16, 11)', () => {
    const drifted = readyEndpoint({}, { tags: [{ key: 'team', value: 'data science' }, ...ownerTagList] });
    const plan = reconcile(settledObject(), { endpoint: drifted });
    expect(plan.action.type).toBe('patchTags');
    expect(plan.events).toEqual([{ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('tags differ from the spec (team)') }]);
    // A tag change asked for by a new spec is not drift.
    const asked = reconcile(edited(settledObject(), { tags: { team: 'research' } }), { endpoint: readyEndpoint() });
    expect(asked.action.type).toBe('patchTags');
    expect(asked.events.map((e) => e.reason)).not.toContain('DriftDetected');
  });

  // A user who changes a tag and the throughput in one apply: the tags go on once the rollout is done. The Warning
  // told them that someone had changed their endpoint's tags in Databricks, when it was their own edit.
  it('a tag changed with the throughput in one edit is patched after the rollout without a DriftDetected', () => {
    let object = edited(settledObject(), { throughput: { chunks: { min: 2, max: 4 } }, tags: { team: 'research' } });
    const sent = reconcile(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) });
    expect(sent.action.type).toBe('updateConfig');
    object = afterPlan(object, sent);
    const during = reconcile(object, { endpoint: updatingEndpoint({}, { max: 3920 }), now: at(-10 * MINUTE) });
    object = afterPlan(object, during);
    const landed = reconcile(object, { endpoint: readyEndpoint({ max: 3920 }) });
    expect(landed.action).toMatchObject({ type: 'patchTags', add: [{ key: 'team', value: 'research' }] });
    expect(eventReasons({ events: [...sent.events, ...during.events, ...landed.events] })).not.toContain('Warning DriftDetected');
    // Once applied, a tag changed in Databricks is drift again.
    object = afterPlan(object, landed);
    const drifted = reconcile(object, { endpoint: readyEndpoint({ max: 3920 }, { tags: [{ key: 'team', value: 'data science' }, ...ownerTagList] }), now: at(MINUTE) });
    expect(drifted.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected' }));
  });

  // Someone changed the throughput and a tag in the Databricks UI between two polls: the config was restored with a
  // DriftDetected, and the tag came back after the rollout as if it were the user's own edit, with no Warning.
  it('a tag changed in Databricks together with the throughput is drift too: restored after the config with a DriftDetected', () => {
    let object = settledObject();
    const tags = [{ key: 'team', value: 'data science' }, ...ownerTagList];
    const restoring = reconcile(object, { endpoint: readyEndpoint({ max: 3920 }, { tags }), now: at(-20 * MINUTE) });
    expect(restoring.action.type).toBe('updateConfig');
    object = afterPlan(object, restoring);
    const during = reconcile(object, { endpoint: updatingEndpoint({ max: 3920 }, {}, { tags }), now: at(-10 * MINUTE) });
    object = afterPlan(object, during);
    const restored = reconcile(object, { endpoint: readyEndpoint({}, { tags }) });
    expect(restored.action).toMatchObject({ type: 'patchTags', add: [{ key: 'team', value: 'genai' }] });
    expect(restored.events).toContainEqual({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('tags differ from the spec (team)') });
  });

  it('a tag someone else put on the endpoint is left alone: no patch, no immediate requeue (finding 2)', () => {
    const tags = [{ key: 'team', value: 'genai' }, { key: 'cost-center', value: '42' }, ...ownerTagList];
    const plan = reconcile(settledObject(), { endpoint: readyEndpoint({}, { tags }) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(requeueAfter(plan)).toBeGreaterThanOrEqual(pollWindow[0]);
  });

  it('a failed tag patch keeps the keys managed before, so a key removed from the spec is still removed later', () => {
    const object = { ...settledObject(), status: { ...settledObject().status, managedTagKeys: ['env', 'team'] } };
    const input = planInput(object, { endpoint: readyEndpoint({}, { tags: [{ key: 'team', value: 'genai' }, { key: 'env', value: 'dev' }, ...ownerTagList] }) });
    const planned = planEndpoint(input);
    expect(planned.status.managedTagKeys).toEqual(['team']);
    const retry = planActionFailure(input, planned, { kind: 'Transient', message: 'connection reset' });
    expect(retry.status.managedTagKeys).toEqual(['env', 'team']);
  });

  it('an endpoint Databricks reports NOT_READY with the desired config → Ready False NotReady, looked at again soon', () => {
    const endpoint = readyEndpoint();
    endpoint.state.ready = 'NOT_READY';
    const plan = reconcile(endpointObject(), { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'NotReady' });
    expect(requeueAfter(plan)).toBeLessThanOrEqual(progressWindow[1]);
  });
});

describe("a host's text in the status and Events", () => {
  const UNSHOWABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
  it('an owner tag with escape sequences and line breaks reaches the NotOwned condition and Event as one visible line', () => {
    const endpoint = readyEndpoint({}, { owner: null, tags: [{ key: OwnerTag.uid, value: 'some-other-uid' }, { key: OwnerTag.object, value: 'team-a.x\u001b[2J\u001b]0;pwned\u0007\nWarning  Forged  line' }] });
    const plan = reconcile(endpointObject(), { endpoint });
    expect(condition(plan, 'Synced')).toMatchObject({ reason: 'NotOwned' });
    for (const text of [...(plan.status.conditions ?? []).map((c) => c.message), ...plan.events.map((e) => e.message)]) expect(text).not.toMatch(UNSHOWABLE);
    expect(condition(plan, 'Synced')?.message).toContain('team-a.x\\u001b[2J\\u001b]0;pwned\\u0007 Warning  Forged  line');
  });

  it('a state and an invocation URL a host made up: status keeps visible text and no URL that is not one', () => {
    const endpoint = { ...readyEndpoint(), state: { ready: 'NOT_READY\u001b[31m\nx', config_update: 'NOT_UPDATING' as const }, endpoint_url: 'javascript:alert(1)' } as never;
    const plan = reconcile(endpointObject(), { endpoint });
    expect(plan.status.state?.ready).toBe('NOT_READY\\u001b[31m x');
    expect(plan.status.endpointUrl).toBe(`${HOST}/serving-endpoints/llama-chat/invocations`);
    expect(condition(plan, 'Ready')?.message).not.toMatch(UNSHOWABLE);
  });
});

describe('conditions', () => {
  it('carry observedGeneration = metadata.generation, as does status', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    expect(object.generation).toBe(2);
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.status.observedGeneration).toBe(2);
    expect(plan.status.conditions?.map((c) => [c.type, c.observedGeneration])).toEqual([['Ready', 2], ['Synced', 2], ['Reconciling', 2]]);
  });

  it('lastTransitionTime moves only when the status flips', () => {
    let object = endpointObject({ spec: { model: { name: MODEL, version: '3' } } });
    const steps = [
      { now: at(0), endpoint: NOT_FOUND, ready: 'False', since: at(0) },
      { now: at(1 * MINUTE), endpoint: creatingEndpoint(), ready: 'False', since: at(0) },
      { now: at(20 * MINUTE), endpoint: readyEndpoint(), ready: 'True', since: at(20 * MINUTE) },
      { now: at(30 * MINUTE), endpoint: readyEndpoint(), ready: 'True', since: at(20 * MINUTE) },
      { now: at(40 * MINUTE), endpoint: readyEndpoint({ version: '2' }), ready: 'False', since: at(40 * MINUTE) },
    ];
    for (const step of steps) {
      const plan = reconcile(object, { endpoint: step.endpoint, now: step.now });
      expect(condition(plan, 'Ready')).toMatchObject({ status: step.ready, lastTransitionTime: iso(step.since) });
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', lastTransitionTime: iso(at(0)) });
      object = afterPlan(object, plan);
    }
  });

  // kubectl wait --for=condition=Ready returns on a Ready True whose observedGeneration is current.
  const servedDiffers = [
    ['served version 3, no update', readyEndpoint()],
    ['version 4 rolling out', updatingEndpoint({ version: '3' }, { version: '4' })],
    ['version 4 failed for capacity', failedEndpoint({ version: '3' }, { version: '4' })],
    ['version 4 failed otherwise', failedEndpoint({ version: '3' }, { version: '4', deployment: 'DEPLOYMENT_FAILED', message: 'no online store' })],
    ['version 4 served with another band', readyEndpoint({ version: '4', min: 980, max: 980 })],
    ['a foreign endpoint (another ID than status.endpointId) serving version 4', { ...foreignEndpoint({ version: '4' }), id: 'f00d' }],
    ['gone', NOT_FOUND],
  ] as const;
  it.each(servedDiffers)('Ready is never True for the new generation while Databricks serves something else: %s', (_, endpoint) => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    for (const options of [{}, { workspaceReady: false }, { endpoint: failed('Transient') }, { random: 0 }]) {
      const plan = reconcile(object, { endpoint, ...options });
      const ready = condition(plan, 'Ready');
      expect(ready?.status === 'True' && ready.observedGeneration === object.generation).toBe(false);
    }
  });

  it('a served config that matches the spec is Ready True for the new generation', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const plan = reconcile(object, { endpoint: readyEndpoint({ version: '4' }) });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', observedGeneration: 2 });
  });

  it('planEndpoint does not mutate its input', () => {
    const object = settledObject();
    const snapshot = structuredClone(object);
    planEndpoint(planInput(object, { endpoint: readyEndpoint({ version: '2' }) }));
    expect(object).toEqual(snapshot);
  });
});
