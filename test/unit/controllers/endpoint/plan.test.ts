// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { OwnerTag } from '../../../../src/controllers/endpoint/ownership.js';
import { FIRST_PROGRESS_LOOK_MS } from '../../../../src/controllers/endpoint/requeue.js';
import { type EndpointObject, type Plan, observationsNeeded, planActionFailure, planEndpoint, onlyWatchingRollout, withActionAnswer } from '../../../../src/controllers/endpoint/plan.js';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import {
  ENDPOINT_ID,
  HOST,
  HOUR,
  MINUTE,
  MODEL,
  MODEL_UNIT_MODEL,
  NOT_FOUND,
  SKIPPED,
  NOT_OPTIMIZABLE_MODEL,
  NOW,
  OWNER,
  SECOND,
  SETTINGS,
  TOKEN_BAND_MODEL,
  WORKSPACE_IDENTITY,
  afterPlan,
  at,
  condition,
  creatingEndpoint,
  edited,
  endpointObject,
  endpointOfAnotherObject,
  failed,
  foreignEndpoint,
  found,
  ownerTagsOf,
  iso,
  planInput,
  readyEndpoint,
  reconcile,
  failedEndpoint,
  updatingEndpoint,
  type SpecInput,
} from '../fixtures.js';
import { edgeObjects } from '../../../fixtures/bad-objects.js';

const progressWindow = [0.75 * SETTINGS.progressIntervalMs, 1.25 * SETTINGS.progressIntervalMs] as const;
/** The first look at a rollout this plan starts: 1 s ± 25 % (requeue.test.ts has the arithmetic). */
const firstLookWindow = [0.75 * FIRST_PROGRESS_LOOK_MS, 1.25 * FIRST_PROGRESS_LOOK_MS] as const;
const pollWindow = [0.9 * SETTINGS.pollIntervalMs, 1.1 * SETTINGS.pollIntervalMs] as const;

const requeueAfter = (plan: Plan): number => {
  if (!plan.requeue || !('after' in plan.requeue)) throw new Error(`expected a timed requeue, got ${JSON.stringify(plan.requeue)}`);
  return plan.requeue.after;
};
const eventReasons = (plan: Pick<Plan, 'events'>) => plan.events.map((e) => `${e.type} ${e.reason}`);
const ownerTagList = [
  { key: OwnerTag.uid, value: OWNER.uid },
  { key: OwnerTag.object, value: `${OWNER.namespace}.${OWNER.name}` },
];

/** An object whose endpoint serves version 3 at 1960–2940 tokens/s, Ready and Synced at generation 1. */
function settledObject() {
  const object = endpointObject();
  const plan = reconcile(object, { endpoint: readyEndpoint(), now: at(-HOUR_AGO) });
  expect(condition(plan, 'Ready')?.status).toBe('True');
  return afterPlan(object, plan);
}
const HOUR_AGO = 60 * MINUTE;

describe('observationsNeeded', () => {
  it.each([
    ['a live object', {}, true, { endpoint: true, model: true }],
    ['the workspace not ready', {}, false, { endpoint: false, model: false }],
    ['paused', { annotations: { [EndpointAnnotation.paused]: 'true' } }, true, { endpoint: false, model: false }],
    ['deleting with Delete', { deleting: true }, true, { endpoint: true, model: false }],
    ['deleting with Delete, workspace not ready', { deleting: true }, false, { endpoint: false, model: false }],
    ['deleting with Orphan', { deleting: true, spec: { deletionPolicy: 'Orphan' as const } }, true, { endpoint: false, model: false }],
    ['deleting without our finalizer', { deleting: true, hasFinalizer: false }, true, { endpoint: false, model: false }],
  ])('%s', (_, options, workspaceReady, expected) => {
    expect(observationsNeeded(endpointObject(options), workspaceReady)).toEqual(expected);
  });
});

describe('preflight failures: no Databricks action, Ready False, Synced False with how to fix it', () => {
  it.each([
    ['model missing', 'ModelNotFound', {}, NOT_FOUND, /was not found in Unity Catalog.*MLflow 2\.11/, { after: SETTINGS.pollIntervalMs }],
    ['model not optimizable', 'ModelNotOptimizable', {}, NOT_OPTIMIZABLE_MODEL, /MLflow 2\.11.*llm\/v1\/chat.*BGE.*model_type.*Marketplace/, { after: SETTINGS.pollIntervalMs }],
    ['tokensPerSecond not a chunk multiple', 'InvalidSpec', { throughput: { tokensPerSecond: { min: 1000, max: 2940 } } }, TOKEN_BAND_MODEL, /tokensPerSecond\.min 1000 .* 980 or 1960/, undefined],
    ['modelUnits on a token-band model', 'InvalidSpec', { throughput: { modelUnits: 50 } }, TOKEN_BAND_MODEL, /not in model units/, undefined],
    ['chunks on a model-unit model', 'InvalidSpec', {}, MODEL_UNIT_MODEL, /use throughput\.modelUnits/, undefined],
    ['maxBackoff below initialBackoff', 'InvalidSpec', { capacityRetry: { initialBackoff: '10m', maxBackoff: '5m' } }, TOKEN_BAND_MODEL, /maxBackoff \(5m\)/, undefined],
  ] as const)('%s → %s', (_, reason, spec, model, message, requeue) => {
    for (const endpoint of [NOT_FOUND, readyEndpoint()]) {
      const plan = reconcile(endpointObject({ spec }), { model, endpoint });
      expect(plan.action).toEqual({ type: 'none' });
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason, message: expect.stringMatching(message) });
      // The wide REASON column (Ready's reason) names the cause, not a generic NotReady.
      expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason });
      // An endpoint of this object is still looked at (at the poll interval; see the table below); without one,
      // only a model that may appear later is.
      expect(plan.requeue).toEqual(endpoint === NOT_FOUND ? requeue : { after: SETTINGS.pollIntervalMs });
      expect(plan.events).toEqual([expect.objectContaining({ type: 'Warning', reason })]);
    }
  });

  it('says what Databricks still serves when a spec change cannot be applied', () => {
    const object = edited(settledObject(), { throughput: { tokensPerSecond: { min: 1960, max: 3000 } } });
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    // Two sentences: the refusal (its advice ends without a full stop), then what serves.
    expect(condition(plan, 'Ready')?.message).toMatch(/or throughput\.chunks\. Databricks still serves version 3 at 1960-2940 tokens\/s\.$/);
    expect(condition(plan, 'Synced')?.message).toContain('2940 or 3920');
  });

  it('records what Databricks reported for the model', () => {
    expect(reconcile(endpointObject(), { model: MODEL_UNIT_MODEL }).status.optimization).toEqual({ modelType: 'llama', modelUnitChunkSize: 50 });
    expect(reconcile(endpointObject()).status.optimization).toEqual({ modelType: 'llama', chunkSize: 980 });
  });
});

// Admission (CEL) and this second look must agree: a value kube-apiserver admits is not refused here.
describe('edge values admission takes are applied, not refused as InvalidSpec', () => {
  it.each(edgeObjects.filter(({ object }) => object['kind'] === 'ProvisionedThroughputEndpoint'))('$name', ({ object }) => {
    const spec = object['spec'] as SpecInput;
    const plan = reconcile(endpointObject({ spec }), { endpoint: NOT_FOUND, model: spec.throughput?.modelUnits === undefined ? TOKEN_BAND_MODEL : MODEL_UNIT_MODEL });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True' });
    expect(plan.action.type).toBe('create');
  });
});

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

describe('endpoint 404 → create', () => {
  it('creates a token-band endpoint at chunks × chunk size, tagged with the owner uid', () => {
    const plan = reconcile(endpointObject(), { endpoint: NOT_FOUND });
    expect(plan.action).toEqual({
      type: 'create',
      request: {
        flavour: 'tokenBand',
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

  it('creates a model-unit endpoint through the /pt flavour under spec.endpointName', () => {
    const object = endpointObject({ spec: { endpointName: 'llama-pt', throughput: { modelUnits: 100 }, burstScaling: false, tags: {} } });
    const plan = reconcile(object, { model: MODEL_UNIT_MODEL });
    expect(plan.action).toEqual({
      type: 'create',
      request: {
        flavour: 'modelUnits',
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

describe('an object that names another workspace than the one its endpoint lives in', () => {
  const OTHER_HOST = 'https://adb-999.9.azuredatabricks.net/';
  const inOtherWorkspace = (object: EndpointObject, options: Parameters<typeof reconcile>[1] = {}) => {
    const input = planInput(object, { endpoint: NOT_FOUND, ...options });
    return planEndpoint({ ...input, workspace: { ready: true, host: OTHER_HOST } });
  };

  it('records the workspace of the endpoint with its ID, in normal form', () => {
    expect(settledObject().status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  it('does not create a second endpoint there: Stalled WorkspaceChanged, saying where it lives and how to go on', () => {
    const plan = inOtherWorkspace(settledObject());
    expect(plan.action).toEqual({ type: 'none' });
    const message = `endpoint llama-chat (id ${ENDPOINT_ID}) was created in workspace ${HOST}, but this object now names workspace https://adb-999.9.azuredatabricks.net`;
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(plan, 'Synced')?.message).toContain(message);
    expect(condition(plan, 'Synced')?.message).toContain(`set the annotation ${EndpointAnnotation.requestedAt} to a new value`);
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(plan.status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    // What it knows of the endpoint stays, so pointing the object back finds it again.
    expect(plan.status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  it('another spelling of the same workspace is no move', () => {
    const object = settledObject();
    const input = planInput(object, { endpoint: NOT_FOUND });
    const plan = planEndpoint({ ...input, workspace: { ready: true, host: `${HOST.toUpperCase().replace('HTTPS', 'https')}:443/` } });
    expect(plan.action.type).toBe('create');
  });

  it('a new requested-at token asks for the create there, with a Warning that names both workspaces', () => {
    const object = settledObject();
    const plan = inOtherWorkspace({ ...object, annotations: { [EndpointAnnotation.requestedAt]: 'moved' } });
    expect(plan.action.type).toBe('create');
    expect(plan.status.workspaceHost).toBe('https://adb-999.9.azuredatabricks.net'); // where the create goes
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'EndpointMissing', message: expect.stringContaining(`is not in workspace https://adb-999.9.azuredatabricks.net (it was created, or its create sent, in ${HOST})`) }));
  });

  it("a create whose answer never came counts as the endpoint's workspace: a host change then creates nothing, and a deletion waits", () => {
    const input = planInput(endpointObject());
    const planned = planEndpoint(input);
    expect(planned.action.type).toBe('create');
    expect(planned.status.workspaceHost).toBe(HOST);
    const unanswered = planActionFailure(input, planned, { kind: 'Transient', message: 'no answer', outcomeUnknown: true });
    expect(unanswered.status.workspaceHost).toBe(HOST);
    // A create that surely did not happen leaves no such record.
    expect(planActionFailure(input, planned, { kind: 'Transient', message: 'connection refused' }).status.workspaceHost).toBeUndefined();

    const object = afterPlan(endpointObject(), unanswered);
    const moved = inOtherWorkspace(object);
    expect(moved.action).toEqual({ type: 'none' });
    expect(condition(moved, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(moved, 'Synced')?.message).toContain(`endpoint llama-chat may exist in workspace ${HOST} (a create was sent there and never answered)`);
    const deleting = inOtherWorkspace({ ...object, deleting: true });
    expect(deleting.action).toEqual({ type: 'none' });
    expect(condition(deleting, 'Synced')).toMatchObject({ reason: 'WorkspaceChanged' });
  });

  it('a deletion there does not let the object go as if the endpoint were gone: it says where it lives', () => {
    const plan = inOtherWorkspace({ ...settledObject(), deleting: true });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(plan, 'Synced')?.message).toMatch(/^cannot delete endpoint llama-chat .* was created in workspace .*set spec.deletionPolicy to Orphan to let this object go/);
    // With Orphan it goes, the endpoint left where it is.
    expect(inOtherWorkspace({ ...settledObject(), deleting: true, spec: { ...settledObject().spec, deletionPolicy: 'Orphan' } }).action).toEqual({ type: 'removeFinalizer' });
  });

  // A record made in the first workspace (an ID a tenant's own host may have chosen) holds nothing in the new one.
  it.each([
    ['status.endpointId', (o: EndpointObject) => o],
    ['status.adoption', (o: EndpointObject) => ({ ...o, status: { ...o.status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW) } } })],
  ])('an untagged endpoint found there whose ID the first workspace gave (%s): WorkspaceChanged, nothing sent, nothing recorded', (_, recorded) => {
    const object = edited(recorded(settledObject()), { throughput: { tokensPerSecond: { min: 1960, max: 3920 } } });
    for (const o of [object, { ...object, annotations: { [EndpointAnnotation.adopt]: 'true' } }]) {
      const plan = inOtherWorkspace(o, { endpoint: foreignEndpoint() });
      expect(plan.action).toEqual({ type: 'none' });
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
      expect(condition(plan, 'Synced')?.message).toContain(`endpoint llama-chat (id ${ENDPOINT_ID}) was created in workspace ${HOST}, but this object now names workspace https://adb-999.9.azuredatabricks.net, where the endpoint of that name is not this object's`);
      expect(plan.status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
    }
  });

  it('an untagged endpoint found there, and a new requested-at with adopt: adopted there like any, recorded in the new workspace', () => {
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.adopt]: 'true', [EndpointAnnotation.requestedAt]: 'moved' } };
    const plan = inOtherWorkspace(object, { endpoint: { ...foreignEndpoint(), id: 'f00d' } });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(plan.status).toMatchObject({ adoption: { endpointId: 'f00d' }, endpointId: 'f00d', workspaceHost: 'https://adb-999.9.azuredatabricks.net' });
  });

  it('a deletion with an untagged endpoint found there of the recorded ID: never a DELETE there, it says where the endpoint lives', () => {
    const plan = inOtherWorkspace({ ...settledObject(), deleting: true }, { endpoint: foreignEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceChanged' });
    expect(condition(plan, 'Synced')?.message).toMatch(/^cannot delete endpoint llama-chat .* was created in workspace .*set spec.deletionPolicy to Orphan to let this object go/);
    // Its own tag, written in the workspace it names now, is what lets it delete there.
    expect(inOtherWorkspace({ ...settledObject(), deleting: true }, { endpoint: readyEndpoint() }).action).toEqual({ type: 'delete', name: 'llama-chat' });
  });

  it('an endpoint found there by name (the same workspace under another name) is managed as usual and recorded there', () => {
    const plan = inOtherWorkspace(settledObject(), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.workspaceHost).toBe('https://adb-999.9.azuredatabricks.net');
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

describe('config differs → updateConfig', () => {
  it.each([
    ['a new version', { model: { name: MODEL, version: '4' } }, 'version 3 → 4'],
    ['a new band', { throughput: { chunks: { min: 1, max: 4 } } }, 'throughput 1960-2940 → 980-3920 tokens/s'],
  ])('spec change (%s) → updateConfig, Ready False Updating while the old config serves, no drift event', (_, spec, what) => {
    const object = edited(settledObject(), spec);
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { flavour: 'tokenBand', name: 'llama-chat' } });
    expect(condition(plan, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Updating',
      message: `updating: ${what}; version 3 at 1960-2940 tokens/s still serves`,
    });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(eventReasons(plan)).toContain('Normal UpdatingConfig');
    expect(eventReasons(plan)).not.toContain('Warning DriftDetected');
    const after = requeueAfter(plan);
    expect(after).toBeGreaterThanOrEqual(firstLookWindow[0]);
    expect(after).toBeLessThanOrEqual(firstLookWindow[1]);
  });

  it('the update body is the whole desired config (the PUT replaces, it does not patch)', () => {
    const plan = reconcile(edited(settledObject(), { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({
      type: 'updateConfig',
      request: {
        flavour: 'tokenBand',
        name: 'llama-chat',
        body: { served_entities: [{ entity_name: MODEL, entity_version: '4', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
      },
    });
    expect(plan.status.pending).toMatchObject({ modelVersion: '4', startTime: iso(NOW) });
  });

  // An endpoint made outside the operator (Terraform's examples set name = "prod_model", and may set environment_vars):
  // the PUT replaces the served entities, so leaving out what the spec does not manage renamed the entity (its route
  // and its /served-models/<name> URL) and dropped its environment variables on the first change after adoption.
  describe('what the spec does not manage on the served entity is kept', () => {
    const custom = (version = '3') => {
      const endpoint = readyEndpoint({ version });
      const entity = endpoint.config?.served_entities?.[0];
      if (!entity) throw new Error('fixture has an entity');
      entity.name = 'prod_model';
      entity.environment_vars = { OPENAI_KEY: '{{secrets/scope/key}}' };
      if (endpoint.config?.traffic_config) endpoint.config.traffic_config = { routes: [{ served_entity_name: 'prod_model', traffic_percentage: 100 }] };
      return endpoint;
    };
    it.each([
      ['a new band', { throughput: { chunks: { min: 1, max: 4 } } }, '3', 980, 3920],
      ['a new version', { model: { name: MODEL, version: '4' } }, '4', 1960, 2940],
    ])('%s: the name and the environment variables go with the update', (_, spec, version, min, max) => {
      const plan = reconcile(edited(settledObject(), spec), { endpoint: custom() });
      expect(plan.action).toEqual({
        type: 'updateConfig',
        request: {
          flavour: 'tokenBand',
          name: 'llama-chat',
          body: {
            served_entities: [
              { name: 'prod_model', entity_name: MODEL, entity_version: version, min_provisioned_throughput: min, max_provisioned_throughput: max, environment_vars: { OPENAI_KEY: '{{secrets/scope/key}}' } },
            ],
          },
        },
      });
    });

    it("a name in Databricks' default form (model-version) is not kept: the new version gets its own", () => {
      const plan = reconcile(edited(settledObject(), { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
      expect(plan.action).toMatchObject({ request: { body: { served_entities: [expect.not.objectContaining({ name: expect.anything() })] } } });
    });
  });

  it('a model-unit change goes through the /pt flavour', () => {
    const object = endpointObject({ spec: { throughput: { modelUnits: 150 } } });
    const plan = reconcile(object, { endpoint: readyEndpoint({ units: 100 }), model: MODEL_UNIT_MODEL });
    expect(plan.action).toEqual({
      type: 'updateConfig',
      request: {
        flavour: 'modelUnits',
        name: 'llama-chat',
        body: { config: { served_entities: [{ entity_name: MODEL, entity_version: '3', provisioned_model_units: 150, burst_scaling_enabled: true }] } },
      },
    });
  });

  it.each([
    ['version changed out of band', readyEndpoint({ version: '2' }), 'version 2 → 3'],
    ['band changed out of band', readyEndpoint({ min: 980, max: 980 }), 'throughput 980-980 → 1960-2940 tokens/s'],
  ])('drift (%s, same generation) → updateConfig and a DriftDetected Warning', (_, endpoint, what) => {
    const plan = reconcile(settledObject(), { endpoint });
    expect(plan.action.type).toBe('updateConfig');
    expect(plan.events).toContainEqual({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining(what) });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating' });
  });
});

describe('drift is reported only for changes the operator did not ask for', () => {
  /** Version 4 requested at generation 2 and seen rolling out. */
  function rollingOutV4() {
    let object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    object = afterPlan(object, reconcile(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) }));
    return afterPlan(object, reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-19 * MINUTE) }));
  }

  it('a spec change made during a rollout: when that rollout finishes, the new spec is sent without a DriftDetected', () => {
    let object = edited(rollingOutV4(), { model: { name: MODEL, version: '5' } });
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(during.action).toEqual({ type: 'none' });
    object = afterPlan(object, during);
    const finished = reconcile(object, { endpoint: readyEndpoint({ version: '4' }) });
    expect(finished.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '5' }] } } });
    expect(eventReasons({ events: [...during.events, ...finished.events] })).not.toContain('Warning DriftDetected');
  });

  // kubectl wait, Argo CD and kstatus see Updating for the new generation: Ready must not present the rollout that runs
  // (an older spec's, or one made outside the operator) as the spec's own.
  it.each([
    ['our rollout of the older spec (version 4)', () => rollingOutV4()],
    ['a rollout started outside the operator (version 4)', () => settledObject()],
  ])('a spec change (version 5) during %s: Ready says the spec is sent once that rollout finishes', (_, before) => {
    const object = edited(before(), { model: { name: MODEL, version: '5' } });
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(during.action).toEqual({ type: 'none' });
    expect(condition(during, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating', observedGeneration: object.generation });
    expect(condition(during, 'Ready')?.message).toMatch(/Databricks is rolling out version 4 .*; the spec \(version 5 .*\) is sent once that rollout finishes/);
  });

  // Databricks refuses a config update while another rolls out (reference: 409 ResourceConflict), so the new spec is
  // held back like one a rate limit holds: `kubectl wait --for=condition=Synced` must not return for a generation
  // nothing was sent for, and kstatus and Argo CD must see the operator still working (Reconciling, not Stalled).
  it.each([
    ['our rollout of the older spec (version 4)', () => rollingOutV4()],
    ['a rollout started outside the operator (version 4)', () => settledObject()],
  ])('a spec change (version 5) during %s: Synced is False WaitingForRollout until it is sent', (_, before) => {
    let object = edited(before(), { model: { name: MODEL, version: '5' } });
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(condition(during, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout', observedGeneration: object.generation });
    expect(condition(during, 'Synced')?.message).toMatch(/version 4 .* rolls out in Databricks, which takes no other config update until it finishes; the spec \(version 5 .*\) is sent then/);
    expect(condition(during, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating' });
    expect(during.status.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForRollout' });
    expect(during.status.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
    expect(eventReasons(during)).not.toContain('Warning WaitingForRollout');
    object = afterPlan(object, during);
    const sent = reconcile(object, { endpoint: readyEndpoint({ version: '4' }) });
    expect(sent.action.type).toBe('updateConfig');
    expect(condition(sent, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  it('our own rollout of the spec still running: Synced stays True, the spec was sent', () => {
    const object = rollingOutV4();
    const during = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(-10 * MINUTE) });
    expect(condition(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  // Tags and settings are sent only once the served config is settled (docs/concepts.md): an edit of them alone during
  // our own rollout sends nothing until it ends, so Synced=True would let `kubectl wait --for=condition=Synced` return
  // before any of it reached Databricks. The new generation waits for the rollout like a config it holds back.
  describe('an edit of tags or settings alone during our own rollout', () => {
    const V4 = { model: { name: MODEL, version: '4' } };
    const rolling = () => updatingEndpoint({ version: '3' }, { version: '4' });
    it.each([
      ['a tag added', { tags: { team: 'genai', commit: 'abc123' } }, /^the tags \(commit\) wait for the rollout in progress \(version 4 at 1960-2940 tokens\/s\) and are sent when it ends/],
      ['a tag removed', { tags: {} }, /^the tags \(team\) wait for the rollout in progress/],
      ['the AI Gateway', { aiGateway: { usageTracking: { enabled: true } } }, /^the AI Gateway waits for the rollout in progress \(version 4 .*\) and is sent when it ends/],
      ['the e-mail notifications', { notifications: { onUpdateFailure: ['oncall@company.com'] } }, /^the e-mail notifications wait for the rollout in progress/],
      // The ACL is not read during a rollout: the spec is compared with what status.settings recorded.
      ['the permissions', { permissions: [{ groupName: 'ml-engineers', permissionLevel: 'CAN_QUERY' as const }] }, /^the permissions wait for the rollout in progress/],
      ['tags and AI Gateway', { tags: { team: 'ml' }, aiGateway: { usageTracking: { enabled: true } } }, /^the tags \(team\) and the AI Gateway wait for the rollout in progress .* and are sent when it ends/],
    ])('%s → Synced False WaitingForRollout (Reconciling), kept at the next look, until the rollout ends', (_, change, message) => {
      const object = edited(rollingOutV4(), { ...V4, ...change });
      const during = reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) });
      expect(during.action).toEqual({ type: 'none' });
      expect(condition(during, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout', observedGeneration: object.generation, message: expect.stringMatching(message) });
      expect(condition(during, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating', observedGeneration: object.generation });
      expect(during.status.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForRollout' });
      expect(during.status.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
      expect(during.status.observedGeneration).toBe(object.generation);
      // A later look that reads the endpoint (a schedule or canary object reads it at every look) says the same.
      const again = reconcile(afterPlan(object, during), { endpoint: rolling(), now: at(-9 * MINUTE) });
      expect(condition(again, 'Synced')).toEqual(condition(during, 'Synced'));
      expect(again.events).toEqual([]);
    });

    it('the tags are sent when the rollout ends, and only that plan says Synced=True', () => {
      let object = edited(rollingOutV4(), { ...V4, tags: { team: 'genai', commit: 'abc123' } });
      object = afterPlan(object, reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) }));
      const ended = reconcile(object, { endpoint: readyEndpoint({ version: '4' }) });
      expect(ended.action).toMatchObject({ type: 'patchTags', add: [{ key: 'commit', value: 'abc123' }], remove: [] });
      expect(condition(ended, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', observedGeneration: object.generation });
      expect(eventReasons(ended)).not.toContain('Warning DriftDetected');
    });

    // A config and tags edited together: the config is sent, so Synced is True, and its message names the tags that
    // follow the rollout (Ready=True comes with the tags in Databricks).
    it('a config and a tag edited together: Synced True says the tags follow the rollout, when sent and while it runs', () => {
      let object = edited(settledObject(), { ...V4, tags: { team: 'genai', commit: 'abc123' } });
      const sent = reconcile(object, { endpoint: readyEndpoint() });
      expect(sent.action).toMatchObject({ type: 'updateConfig' });
      expect(condition(sent, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', message: expect.stringMatching(/^config update requested; the tags \(commit\) wait for the rollout/) });
      object = afterPlan(object, sent);
      const during = reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) });
      expect(condition(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', message: expect.stringMatching(/^waiting for the rollout to finish; the tags \(commit\) wait for the rollout/) });
    });

    it('an edit that leaves tags and settings as the endpoint has them holds nothing back: Synced stays True', () => {
      const object = edited(rollingOutV4(), { ...V4, capacityRetry: { timeout: '2h' } });
      const during = reconcile(object, { endpoint: rolling(), now: at(-10 * MINUTE) });
      expect(condition(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', observedGeneration: object.generation });
    });
  });

  it('an update made outside the operator is reported once, while it rolls out, and corrected when it finishes', () => {
    let object = settledObject();
    const seen = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '2' }), now: at(-5 * MINUTE) });
    expect(seen.action).toEqual({ type: 'none' });
    expect(seen.events).toContainEqual({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('version 2 → 3') });
    object = afterPlan(object, seen);
    const again = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '2' }), now: at(-4 * MINUTE) });
    expect(again.events).toEqual([]);
    object = afterPlan(object, again);
    const finished = reconcile(object, { endpoint: readyEndpoint({ version: '2' }) });
    expect(finished.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
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

describe('ownership', () => {
  it.each([
    ['made outside the operator', foreignEndpoint(), /endpoint llama-chat exists in Databricks but was not created by this object/],
    ['tagged by another object', endpointOfAnotherObject(), /endpoint llama-chat belongs to team-b\.llama-copy, another object/],
  ])('an endpoint %s, no adopt → NotOwned, no action; looked at again every poll interval', (_, endpoint, claim) => {
    const plan = reconcile(endpointObject(), { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    // The endpoint holding the name may be deleted in Databricks (the user cleans up the old one): this object's is
    // then created without a poke, as the condition's message promises nothing else.
    expect(requeueAfter(plan)).toBeGreaterThanOrEqual(pollWindow[0]);
    expect(requeueAfter(plan)).toBeLessThanOrEqual(pollWindow[1]);
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringMatching(claim) });
    expect(condition(plan, 'Synced')?.message).toContain(`${EndpointAnnotation.adopt}="true"`);
    expect(condition(plan, 'Ready')?.status).toBe('False');
    // Nothing of the other endpoint leaks into this object's status.
    expect(plan.status.endpointId).toBeUndefined();
    expect(plan.status.served).toBeUndefined();
  });

  it('an endpoint made outside the operator, with adopt → adopted in status.adoption with no Databricks call, an Adopted event', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    // It serves the spec, tags included: nothing needs to change.
    const untouched = readyEndpoint({}, { owner: null });
    const plan = reconcile(object, { endpoint: untouched });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(plan.status.adoption).toEqual({ endpointId: ENDPOINT_ID, time: iso(NOW), uid: OWNER.uid });
    expect(plan.status.managedTagKeys).toEqual(['team']);
    expect(eventReasons(plan)).toContain('Normal Adopted');
    expect(plan.requeue).toEqual({ after: 0 });
    // From then on it is this object's by the record alone: Ready, and still no write (no owner tags, no drift).
    const next = reconcile(afterPlan(object, plan), { endpoint: untouched, now: at(SECOND) });
    expect(next.action).toEqual({ type: 'none' });
    expect(condition(next, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(next.status.endpointId).toBe(ENDPOINT_ID);
    expect(next.events.map((e) => e.reason)).not.toContain('DriftDetected');
    // A restarted operator has only the status: the same plan from it, and again no write.
    const restarted = reconcile({ ...afterPlan(object, next) }, { endpoint: untouched, now: at(HOUR) });
    expect(restarted.action).toEqual({ type: 'none' });
  });

  // Read as ptoperator.io/paused and ptoperator.io/canary are: a "True" that adopted nothing left the user with NotOwned
  // advice to set what they had set.
  it.each(['True', ' TRUE '])('ptoperator.io/adopt=%j adopts too: case and surrounding spaces do not matter', (value) => {
    const plan = reconcile(endpointObject({ annotations: { [EndpointAnnotation.adopt]: value } }), { endpoint: readyEndpoint({}, { owner: null }) });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
  });

  it('an adopted endpoint that needs a config change: the owner tags go first (status unchanged), then the update', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const older = readyEndpoint({ version: '2' }, { owner: null });
    const adopted = afterPlan(object, reconcile(object, { endpoint: older }));
    const first = reconcile(adopted, { endpoint: older });
    expect(first.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: ownerTagList, remove: [] });
    expect(first.deferred).toBe(true);
    expect(first.status).toEqual({ ...adopted.status, tagPatchGeneration: adopted.generation });
    expect(first.events).toEqual([]);
    expect(first.requeue).toEqual({ after: 0 });
    const tagged = { ...older, tags: [...(older.tags ?? []), ...ownerTagList] };
    const second = reconcile(afterPlan(adopted, first), { endpoint: tagged });
    expect(second.action.type).toBe('updateConfig');
    expect(second.deferred).toBeUndefined();
  });

  // CI (permission.test.ts): a refused tag patch counted as sent, so the next reconcile sent the config change too,
  // two refused mutations per reconcile instead of one.
  it('an owner-tag patch Databricks refused does not count as sent: the next reconcile patches the tags again, not the config', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const older = readyEndpoint({ version: '2' }, { owner: null });
    const adopted = afterPlan(object, reconcile(object, { endpoint: older }));
    const first = reconcile(adopted, { endpoint: older });
    expect(first.action.type).toBe('patchTags');
    const refused = planActionFailure(planInput(adopted, { endpoint: older }), first, { kind: 'PermissionDenied', message: '403 PERMISSION_DENIED' });
    expect(refused.status.tagPatchGeneration).toBeUndefined();
    expect(reconcile(afterPlan(adopted, refused), { endpoint: older }).action.type).toBe('patchTags');
  });

  it('an adopted endpoint whose spec tags differ: one tag patch carries the spec tags and the owner tags', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const adopted = afterPlan(object, reconcile(object, { endpoint: foreignEndpoint() }));
    const plan = reconcile(adopted, { endpoint: foreignEndpoint() });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: [{ key: 'team', value: 'genai' }, ...ownerTagList], remove: [] });
  });

  it.each([
    ['made again under the same name (another ID)', { ...readyEndpoint({}, { owner: null }), id: 'f00d' }, 'NotOwned'],
    ['tagged since for a live object', endpointOfAnotherObject(), 'NotOwned'],
  ])('an adopted endpoint %s is no longer this object\'s: NotOwned, nothing sent (adopt removed)', (_, endpoint, reason) => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const adopted = afterPlan(object, reconcile(object, { endpoint: readyEndpoint({}, { owner: null }) }));
    const plan = reconcile({ ...adopted, annotations: {} }, { endpoint, tenancy: { taggedOwnerPresence: 'live' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')?.reason).toBe(reason);
  });

  // Someone deleted this object's endpoint and made another under its name (a Terraform re-create, a notebook): kubectl
  // get pte went on showing the version and throughput of the endpoint that is gone, and NotOwned said the endpoint
  // "was not created by this object" to a user who knows it was, without saying that theirs no longer exists.
  it('the endpoint this object created deleted and another made under its name: NotOwned says so, and status shows nothing served', () => {
    const recreated = { ...readyEndpoint({ version: '2', min: 980, max: 980 }, { owner: null, tags: [] }), id: '0123456789abcdef0123456789abcdef' };
    const plan = reconcile(settledObject(), { endpoint: recreated });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({
      status: 'False',
      reason: 'NotOwned',
      message: expect.stringMatching(new RegExp(`^endpoint llama-chat \\(id ${ENDPOINT_ID}\\), which this object created, no longer exists: the endpoint now named llama-chat \\(id 0123456789abcdef0123456789abcdef\\) was made by someone else`)),
    });
    expect(plan.status.served).toBeUndefined();
    expect(plan.status.state).toBeUndefined();
    expect(plan.status.endpointUrl).toBeUndefined();
  });

  // The refusal once said twice that the endpoint was not this object's: "... was made by someone else. endpoint
  // llama-chat exists in Databricks but was not created by this object. ...". One account of it, then what to do.
  it.each([
    { name: 'made by someone else', base: readyEndpoint({}, { owner: null, tags: [] }), presence: 'unknown' as const, now: 'was made by someone else' },
    { name: 'tagged for another object that is gone', base: endpointOfAnotherObject(), presence: 'gone' as const, now: 'belongs to team-b.llama-copy, another object\\.' },
  ])('the endpoint this object created replaced by one $name: NotOwned tells it once, then what to do', ({ base, presence, now }) => {
    const plan = reconcile(settledObject(), { endpoint: { ...base, id: '0123456789abcdef0123456789abcdef' }, tenancy: { taggedOwnerPresence: presence } });
    const message = condition(plan, 'Synced')?.message ?? '';
    expect(message).toMatch(new RegExp(`^endpoint llama-chat \\(id ${ENDPOINT_ID}\\), which this object created, no longer exists: the endpoint now named llama-chat \\(id 0123456789abcdef0123456789abcdef\\) ${now}`));
    expect(message.match(/endpoint llama-chat/g)).toHaveLength(1);
    expect(message).not.toMatch(/not created by this object/);
    expect(message).toMatch(/The operator will not modify or delete it\. Set annotation ptoperator\.io\/adopt="true" to take it over, or serve the spec from a new object with another spec\.endpointName/);
  });

  it('an endpoint this object created whose owner tags were removed out of band: still its own, the tags restored as drift, Ready', () => {
    const settled = settledObject();
    const stripped = readyEndpoint({}, { owner: null, tags: [] });
    const plan = reconcile(settled, { endpoint: stripped });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: [{ key: 'team', value: 'genai' }, ...ownerTagList], remove: [] });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected' }));
    // The same endpoint made again under the name (another ID) is not this object's.
    expect(condition(reconcile(settled, { endpoint: { ...stripped, id: 'f00d' } }), 'Synced')?.reason).toBe('NotOwned');
  });

  it('an endpoint this object created, its owner tags removed out of band, no spec tags: the owner tags are written back now, as drift', () => {
    const object = endpointObject({ spec: { tags: undefined } });
    const settled = afterPlan(object, reconcile(object, { endpoint: readyEndpoint({}, { tags: ownerTagList }), now: at(-HOUR_AGO) }));
    const stripped = readyEndpoint({}, { owner: null, tags: [] });
    const plan = reconcile(settled, { endpoint: stripped });
    expect(plan.action).toEqual({ type: 'patchTags', name: 'llama-chat', add: ownerTagList, remove: [] });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected' }));
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
  });

  // A host (or a proxy before it) that never shows the owner tags: the tag patch and the change must not starve each
  // other (docs/security.md rule 5: one patch per poll interval, never in a loop).
  it.each<[string, () => EndpointObject, ServingEndpointDetailed, string]>([
    ['created, a throughput change', () => edited(settledObject(), { throughput: { tokensPerSecond: { min: 1960, max: 3920 } } }), readyEndpoint({}, { owner: null }), 'updateConfig'],
    ['created, a settings change', () => edited(settledObject(), { notifications: { onUpdateFailure: ['oncall@company.com'] } }), readyEndpoint({}, { owner: null }), 'updateNotifications'],
    [
      'adopted, a config change',
      () => {
        const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
        return afterPlan(object, reconcile(object, { endpoint: readyEndpoint({ version: '2' }, { owner: null }) }));
      },
      readyEndpoint({ version: '2' }, { owner: null }),
      'updateConfig',
    ],
  ])('owner tags the host never shows, %s: at most one tag patch, then the change; never {after: 0} twice in a row', (_, make, endpoint, change) => {
    let object = make();
    const steps: Plan[] = [];
    for (let i = 0; i < 3; i++) {
      const step = reconcile(object, { endpoint, now: at(i * SECOND) });
      steps.push(step);
      object = afterPlan(object, step);
    }
    expect(steps.slice(0, 2).map((s) => s.action.type)).toEqual(['patchTags', change]);
    expect(steps[1]?.status.observedGeneration).toBe(object.generation);
    for (let i = 1; i < steps.length; i++) expect([steps[i - 1]?.requeue, steps[i]?.requeue]).not.toEqual([{ after: 0 }, { after: 0 }]);
  });

  it('an adopted endpoint that serves the spec, no spec tags: still never written to (its owner tags wait for a change)', () => {
    const object = endpointObject({ spec: { tags: undefined }, annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const untouched = readyEndpoint({}, { owner: null, tags: [] });
    const adopted = afterPlan(object, reconcile(object, { endpoint: untouched }));
    const seen = afterPlan(adopted, reconcile(adopted, { endpoint: untouched, now: at(SECOND) }));
    expect(seen.status.endpointId).toBe(ENDPOINT_ID);
    expect(reconcile(seen, { endpoint: untouched, now: at(2 * SECOND) }).action).toEqual({ type: 'none' });
  });

  it('adoption records where the endpoint lives (status.workspaceHost) with its ID', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    expect(reconcile(object, { endpoint: foreignEndpoint() }).status).toMatchObject({ adoption: { endpointId: ENDPOINT_ID }, endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  // Status written before status.workspaceHost existed: a bare ID could have been seen at any host, so it holds
  // nothing; the object's own tag (written by the operator where the endpoint lives) does, and records the host.
  it('a status without status.workspaceHost: a bare ID holds nothing, an endpoint tagged for this object records the host', () => {
    const legacy = (o: EndpointObject): EndpointObject => {
      const { workspaceHost: _, ...status } = o.status;
      return { ...o, status };
    };
    const bare = reconcile(legacy(settledObject()), { endpoint: foreignEndpoint() });
    expect(bare.action).toEqual({ type: 'none' });
    expect(condition(bare, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(reconcile(legacy({ ...settledObject(), deleting: true }), { endpoint: foreignEndpoint() }).action).toEqual({ type: 'removeFinalizer' });
    const tagged = reconcile(legacy(settledObject()), { endpoint: readyEndpoint() });
    expect(tagged.status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
  });

  it('an endpoint another live object created (its status.endpointId): NotOwned naming it, even with adopt', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: readyEndpoint({}, { owner: null }), tenancy: { recordedHolder: 'team-b.maker', recordedBy: 'creation' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining('belongs to team-b.maker, which created it and still exists') });
  });

  it('an endpoint another live object adopted: NotOwned naming it, whatever the annotations or age', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: readyEndpoint({}, { owner: null }), tenancy: { recordedHolder: 'team-b.importer' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining('belongs to team-b.importer, which adopted it and still exists') });
  });

  it.each([
    ['its owner still exists', { taggedOwnerPresence: 'live' as const, allowCrossNamespaceAdoption: true }, 'which still exists'],
    ['its owner was of another namespace', { taggedOwnerPresence: 'gone' as const }, '--allow-cross-namespace-adoption'],
    ['an older object claims it', { taggedOwnerPresence: 'gone' as const, allowCrossNamespaceAdoption: true, olderClaimant: 'ml.older' }, 'claimed in this workspace by ml.older'],
  ])('adopt is refused when %s: NotOwned, no action (finding 1)', (_, tenancy, says) => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: endpointOfAnotherObject(), tenancy });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining(says) });
  });

  it('an endpoint of a deleted object of another namespace is adopted when the operator allows it', () => {
    const object = endpointObject({ annotations: { [EndpointAnnotation.adopt]: 'true' } });
    const plan = reconcile(object, { endpoint: endpointOfAnotherObject(), tenancy: { taggedOwnerPresence: 'gone', allowCrossNamespaceAdoption: true } });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(plan.status.adoption?.endpointId).toBe(ENDPOINT_ID);
  });

  it('no endpoint yet and an older object claims the name: NotOwned, no create, looked at again at the poll interval (finding 3)', () => {
    const plan = reconcile(endpointObject(), { endpoint: NOT_FOUND, tenancy: { olderClaimant: 'team-b.llama-copy' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned', message: expect.stringContaining('claimed in this workspace by team-b.llama-copy, an older object') });
    expect(plan.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
  });

  it('a new object that is alone in claiming its name creates at once: the reconciler waited for claims to settle before it looked', () => {
    const object = { ...endpointObject(), creationTimestamp: iso(NOW) };
    const plan = reconcile(object, { endpoint: NOT_FOUND, now: at(300) });
    expect(plan.action.type).toBe('create');
    expect(plan.events.map((e) => e.reason)).toEqual(['CreatingEndpoint']);
  });

  it('a create records the spec tag keys the operator manages from then on', () => {
    const plan = reconcile(endpointObject({ spec: { tags: { team: 'genai', env: 'prod' } } }), { endpoint: NOT_FOUND });
    expect(plan.action.type).toBe('create');
    expect(plan.status.managedTagKeys).toEqual(['env', 'team']);
  });
});

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

  it.each(['false', ' False '])('ptoperator.io/paused=%j does not pause', (value) => {
    const object = { ...settledObject(), annotations: { [EndpointAnnotation.paused]: value } };
    const plan = reconcile(edited(object, { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
    expect(plan.action.type).toBe('updateConfig');
  });
});

describe('deletion', () => {
  const deleting = (overrides: Partial<EndpointObject> = {}): EndpointObject => ({ ...settledObject(), deleting: true, ...overrides });
  const orphaning = () => deleting({ spec: { ...settledObject().spec, deletionPolicy: 'Orphan' } });

  it.each([
    ['Delete, our endpoint', deleting(), readyEndpoint(), { type: 'delete', name: 'llama-chat' }],
    ['Delete, already gone (404)', deleting(), NOT_FOUND, { type: 'removeFinalizer' }],
    ['Delete, a foreign endpoint (another ID than status.endpointId)', deleting(), { ...foreignEndpoint(), id: 'f00d' }, { type: 'removeFinalizer' }],
    ['Delete, our endpoint whose owner tags were removed out of band (status.endpointId is its ID)', deleting(), foreignEndpoint(), { type: 'delete', name: 'llama-chat' }],
    ['Delete, an endpoint of another object', deleting(), endpointOfAnotherObject(), { type: 'removeFinalizer' }],
    ['Orphan', orphaning(), readyEndpoint(), { type: 'removeFinalizer' }],
    ['Delete, an endpoint this object adopted (untagged)', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW) } } }), foreignEndpoint(), { type: 'delete', name: 'llama-chat' }],
    // A Velero restore with status gives the new object (new UID) the old object's status.adoption; the old cluster may still run it.
    ['Delete, restored: status.adoption made by an earlier object of this name, the endpoint tagged for it', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW), uid: 'uid-of-the-old-cluster' } } }), readyEndpoint({}, { owner: { ...OWNER, uid: 'uid-of-the-old-cluster' } }), { type: 'removeFinalizer' }],
    // Blue/green: the new cluster's object adopted the endpoint too and tagged it with its first change.
    ['Delete, adopted untagged, since tagged for an object of another cluster', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW), uid: OWNER.uid } } }), endpointOfAnotherObject(), { type: 'removeFinalizer' }],
    ['Delete, adopted, but made again since (another ID)', deleting({ status: { ...settledObject().status, adoption: { endpointId: ENDPOINT_ID, time: iso(NOW) } } }), { ...foreignEndpoint(), id: 'f00d' }, { type: 'removeFinalizer' }],
    ['no finalizer of ours', deleting({ hasFinalizer: false }), readyEndpoint(), { type: 'none' }],
  ])('%s → the right action', (_, object, endpoint, action) => {
    expect(reconcile(object, { endpoint }).action).toEqual(action);
  });

  it('Delete of our endpoint: Ready False Deleting, Synced True, back within the progress interval', () => {
    const plan = reconcile(deleting(), { endpoint: readyEndpoint() });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Deleting' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True' });
    expect(requeueAfter(plan)).toBeLessThanOrEqual(progressWindow[1]);
  });

  it('a delete just requested is looked at again after about a quarter of a second, then after half the deletion\'s age (not after the progress interval: 50 deletes took 24 s in bench/rollout.ts)', () => {
    const justDeleted = deleting({ deletionTimestamp: iso(at(0)) });
    const first = requeueAfter(reconcile(justDeleted, { endpoint: readyEndpoint(), now: at(200) }));
    expect(first).toBeGreaterThanOrEqual(firstLookWindow[0]);
    expect(first).toBeLessThanOrEqual(firstLookWindow[1]);
    const stillThere = requeueAfter(reconcile(justDeleted, { endpoint: readyEndpoint(), now: at(8 * SECOND) }));
    expect(stillThere).toBeGreaterThanOrEqual(0.75 * 4 * SECOND);
    expect(stillThere).toBeLessThanOrEqual(1.25 * 4 * SECOND);
    const long = requeueAfter(reconcile(justDeleted, { endpoint: readyEndpoint(), now: at(HOUR_AGO) }));
    expect(long).toBeGreaterThanOrEqual(progressWindow[0]);
    expect(long).toBeLessThanOrEqual(progressWindow[1]);
  });

  it('never deletes an endpoint it does not own, and says so', () => {
    const plan = reconcile(deleting(), { endpoint: { ...foreignEndpoint(), id: 'f00d' } });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'NotOwned' }));
  });

  it('Orphan reads nothing and leaves the endpoint', () => {
    const object = orphaning();
    expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
    expect(eventReasons(reconcile(object))).toContain('Normal Orphaned');
  });

  it('Delete while the workspace is not ready: keeps the finalizer and retries', () => {
    const plan = reconcile(deleting(), { endpoint: readyEndpoint(), workspaceReady: false });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'WorkspaceNotReady' });
    expect(plan.requeue).toEqual({ after: SETTINGS.workspaceRetryMs });
  });

  it('Delete after the namespace lost the default workspace: keeps the finalizer, says how to let go (Orphan)', () => {
    const input = planInput(deleting(), { endpoint: SKIPPED });
    const plan = planEndpoint({ ...input, workspace: { ready: false, reason: 'DefaultWorkspaceNotAllowed', message: 'namespace ml may not use the default workspace' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'DefaultWorkspaceNotAllowed', message: expect.stringContaining('spec.deletionPolicy to Orphan') });
  });

  it('Delete when the read is rate limited: keeps the finalizer and comes back after Retry-After (+10 % jitter at random 0.5)', () => {
    const plan = reconcile(deleting(), { endpoint: failed('RateLimited', '429 Too Many Requests', 7 * SECOND) });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toEqual({ after: 7.7 * SECOND });
  });

  // Issue 11, finding 7: `kubectl delete crd ...` (or an operator uninstall that takes the CRD with it) is not a
  // request to delete endpoints in Databricks.
  it.each([
    ['Delete', deleting({ crdDeleting: true })],
    ['Delete, paused', deleting({ crdDeleting: true, annotations: { [EndpointAnnotation.paused]: 'true' } })],
    ['Delete, workspace not ready', deleting({ crdDeleting: true })],
  ])('the CRD is being deleted (%s): reads nothing, releases the finalizer, leaves the endpoint, warns', (_, object) => {
    expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(object, { endpoint: readyEndpoint(), workspaceReady: !_.includes('not ready') });
    expect(plan.action).toEqual({ type: 'removeFinalizer' });
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'CRDDeleted', message: expect.stringContaining('left running in Databricks') }));
    // A re-created object is a new one (a new UID): it meets the endpoint as NotOwned unless it asks to adopt it,
    // so the way back the Warning gives must say so (it said "re-create the object", which alone ends in NotOwned).
    const warning = plan.events.find((e) => e.reason === 'CRDDeleted');
    expect(warning?.message).toContain(`${EndpointAnnotation.adopt}: "true"`);
    expect(warning?.message).toContain('pt-operator import');
  });

  it('Delete after the workspace lost its credentials (a namespace deletion seen after a restart): names the endpoint and host, offers Orphan, not "create the Secret"', () => {
    const input = planInput(deleting(), { endpoint: SKIPPED });
    const workspace = { ready: false, credentialsLost: true, host: HOST, message: 'DatabricksWorkspace ml/prod is being deleted and its Secret ml/dbx-pat is gone' };
    const plan = planEndpoint({ ...input, workspace });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toEqual({ after: SETTINGS.workspaceRetryMs });
    const synced = condition(plan, 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'WorkspaceNotReady' });
    expect(synced?.message).toContain(`cannot delete endpoint llama-chat at ${HOST}: ${workspace.message}`);
    expect(synced?.message).toContain('set spec.deletionPolicy to Orphan');
    expect(synced?.message).toContain(`delete endpoint llama-chat at ${HOST} yourself`);
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'WorkspaceNotReady', message: synced?.message }));
  });

  it('Delete while the workspace is not ready: the message offers both ways out (a ready workspace, or Orphan)', () => {
    const plan = reconcile(deleting(), { endpoint: readyEndpoint(), workspaceReady: false });
    expect(condition(plan, 'Synced')?.message).toMatch(/Once the workspace is ready the endpoint is deleted; .* set spec\.deletionPolicy to Orphan/);
  });

  // A create nobody heard the answer to (a timeout, or a previous process that died) may still land in Databricks.
  describe('a create of this object may still land (unconfirmed-creates.ts)', () => {
    const until = at(10 * SECOND);
    it.each([
      ['not listed, it may still land', NOT_FOUND, until, { type: 'none' }],
      ['not listed, it can no longer land', NOT_FOUND, at(-SECOND), { type: 'removeFinalizer' }],
      ['it landed: our endpoint', readyEndpoint(), until, { type: 'delete', name: 'llama-chat' }],
      ['not listed, no create unanswered', NOT_FOUND, undefined, { type: 'removeFinalizer' }],
    ])('%s → the right action', (_, endpoint, createMayLandUntil, action) => {
      const input = planInput(deleting(), { endpoint });
      expect(planEndpoint({ ...input, ...(createMayLandUntil && { createMayLandUntil }) }).action).toEqual(action);
    });

    it('keeps the finalizer, says why and until when, and looks again once it can no longer land', () => {
      const plan = planEndpoint({ ...planInput(deleting(), { endpoint: NOT_FOUND }), createMayLandUntil: until });
      expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Deleting', message: expect.stringContaining(`waiting until ${iso(until)}`) });
      expect(condition(plan, 'Ready')?.message).toContain('a create of endpoint llama-chat was sent and not answered');
      expect(plan.requeue).toEqual({ after: 10 * SECOND + 1 });
    });
  });

  it('Delete of a paused object touches nothing: the endpoint is neither deleted nor abandoned', () => {
    const object = deleting({ annotations: { [EndpointAnnotation.paused]: 'true' } });
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'ReconcilePaused' });
  });
});

describe('Databricks and workspace failures: nothing done, Ready unchanged', () => {
  it.each([
    // Retry-After plus jitter (10 % at the fixtures' random 0.5), never less than 1 s: see requeue.test.ts
    ['429 on the endpoint read', 'RateLimited', { endpoint: failed('RateLimited', '429 Too Many Requests', 12 * SECOND) }, { after: 13.2 * SECOND }],
    ['429 on the model read', 'RateLimited', { model: failed('RateLimited', '429 Too Many Requests', 3 * SECOND) }, { after: 3.3 * SECOND }],
    ['429 with Retry-After: 0', 'RateLimited', { model: failed('RateLimited', '429 Too Many Requests', 0) }, { after: 1.1 * SECOND }],
    ['429 without Retry-After', 'RateLimited', { endpoint: failed('RateLimited', 'client rate budget spent') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    ['503', 'ReconcileError', { endpoint: failed('Transient', 'GET /api/2.0/serving-endpoints/llama-chat failed (503)') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    ['a network failure', 'ReconcileError', { model: failed('Transient', 'connect ECONNREFUSED') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    ['an unparseable body', 'ReconcileError', { endpoint: failed('InvalidResponse', 'body does not fit the schema') }, { backoff: true, maxMs: SETTINGS.workspaceRetryMs }],
    // a 401, or a 403 the workspace's own list got too (an unknown PAT): the reconciler reports it as Auth
    ['credentials refused', 'WorkspaceNotReady', { endpoint: failed('Auth', '401 UNAUTHENTICATED') }, { after: SETTINGS.workspaceRetryMs }],
    ['the workspace not ready', 'WorkspaceNotReady', { workspaceReady: false }, { after: SETTINGS.workspaceRetryMs }],
  ] as const)('%s → Synced False %s', (_, reason, options, requeue) => {
    const object = settledObject();
    const plan = reconcile(object, { endpoint: readyEndpoint({ version: '2' }), ...options });
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.requeue).toEqual(requeue);
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason });
    expect(condition(plan, 'Ready')).toEqual(condition(object, 'Ready'));
    expect(plan.status.served).toEqual(object.status.served);
  });

  it('the rate-limit message says when it retries, and never claims 0s when Databricks gave no Retry-After', () => {
    expect(condition(reconcile(settledObject(), { endpoint: failed('RateLimited', '429', 12 * SECOND) }), 'Synced')?.message).toContain('retrying in 14s');
    expect(condition(reconcile(settledObject(), { endpoint: failed('RateLimited', '429') }), 'Synced')?.message).not.toMatch(/\b0s\b/);
  });

  it('workspace not ready: reads nothing, and the message says why', () => {
    expect(observationsNeeded(settledObject(), false)).toEqual({ endpoint: false, model: false });
    const plan = reconcile(settledObject(), { workspaceReady: false });
    expect(condition(plan, 'Synced')?.message).toBe('secret ml/dbx-pat not found');
  });

  it('recovers by itself once the workspace is ready', () => {
    const object = settledObject();
    const down = reconcile(object, { workspaceReady: false });
    const up = reconcile(afterPlan(object, down), { endpoint: readyEndpoint() });
    expect(condition(up, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(condition(up, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
  });
});

describe('a 403 on this endpoint while the credentials work (no CAN_MANAGE on an endpoint made by Terraform)', () => {
  const refused = 'PATCH /api/2.0/serving-endpoints/llama-chat/tags failed (403, PermissionDenied): PERMISSION_DENIED: The caller does not have CAN_MANAGE permission on serving endpoints.';
  const stalledOnIt = (plan: Plan) => {
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    const conditions = plan.status.conditions ?? [];
    expect(conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'PermissionDenied' });
    expect(conditions.find((c) => c.type === 'Reconciling')).toBeUndefined();
    // not a retry storm: the poll interval (a grant in Databricks is seen then), and at once on a spec or requested-at change
    expect(plan.requeue).toEqual({ after: SETTINGS.pollIntervalMs });
    const message = condition(plan, 'Synced')?.message ?? '';
    expect(message).toContain(WORKSPACE_IDENTITY);
    expect(message).toContain('serving endpoint llama-chat');
    expect(message).toContain('CAN_MANAGE');
    expect(message).toContain('databricks_permissions');
    expect(message).toContain(EndpointAnnotation.requestedAt);
    expect(message).toContain('The caller does not have CAN_MANAGE permission');
  };

  it('on the read of the endpoint: stalled with PermissionDenied, saying who lacks what where and how to grant it', () => {
    stalledOnIt(reconcile(settledObject(), { endpoint: failed('PermissionDenied', refused) }));
  });

  it('on a change (the owner tags of an adoption): the same, and the change is sent again later', () => {
    const object = edited(settledObject(), { tags: { team: 'research' } });
    const input = planInput(object, { endpoint: readyEndpoint() });
    const planned = planEndpoint(input);
    expect(planned.action.type).toBe('patchTags');
    const plan = planActionFailure(input, planned, { kind: 'PermissionDenied', message: refused });
    stalledOnIt(plan);
    expect(plan.status.managedTagKeys).toEqual(object.status.managedTagKeys);
  });

  it('on a config update: the spec counts as handled (kstatus sees Stalled), not as rejected (sent again at the next poll)', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const input = planInput(object, { endpoint: readyEndpoint() });
    const planned = planEndpoint(input);
    expect(planned.action.type).toBe('updateConfig');
    const plan = planActionFailure(input, planned, { kind: 'PermissionDenied', message: refused });
    stalledOnIt(plan);
    expect(plan.status.observedGeneration).toBe(object.generation);
    expect(plan.status.rejectedGeneration).toBeUndefined();
    expect(plan.status.pending).toEqual(object.status.pending);
    const granted = reconcile(afterPlan(object, plan), { endpoint: readyEndpoint() });
    expect(granted.action.type).toBe('updateConfig');
    expect(granted.events.map((e) => e.reason)).not.toContain('DriftDetected');
  });

  it.each([
    ['the model read', () => reconcile(endpointObject(), { model: failed('PermissionDenied', 'GET /api/2.0/serving-endpoints/get-model-optimization-info/x/3 failed (403, PermissionDenied): User does not have EXECUTE on Model') }), /may not read model .* version 3: .* Grant that identity EXECUTE on the model/],
    ['the create', () => {
      const input = planInput(endpointObject());
      return planActionFailure(input, planEndpoint(input), { kind: 'PermissionDenied', message: 'POST /api/2.0/serving-endpoints failed (403, PermissionDenied): no' });
    }, /may not create serving endpoint llama-chat: .* Ask a workspace admin to let that identity create serving endpoints/],
    ['the DELETE of a deleted object', () => {
      const object = { ...settledObject(), deleting: true };
      const input = planInput(object, { endpoint: readyEndpoint() });
      return planActionFailure(input, planEndpoint(input), { kind: 'PermissionDenied', message: refused });
    }, /Grant CAN_MANAGE on llama-chat .*, or set spec.deletionPolicy to Orphan to let this object go/],
  ])('a 403 on %s says which grant is missing (and the way out a deletion has)', (_, plan, message) => {
    const synced = condition(plan(), 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'PermissionDenied' });
    expect(synced?.message).toMatch(message);
  });

  // kstatus (Flux, Helm --wait) reads Stalled only when status.observedGeneration is the object's generation: a new
  // spec refused on a read would otherwise be InProgress until the timeout, while Argo CD already says Degraded.
  it.each([
    ['the model read', { model: failed('PermissionDenied', 'GET /api/2.0/serving-endpoints/get-model-optimization-info/x/4 failed (403, PermissionDenied): User does not have EXECUTE on Model'), endpoint: readyEndpoint() }],
    ['the endpoint read', { endpoint: failed('PermissionDenied', refused) }],
  ] as const)('a new spec refused on %s counts as handled (kstatus sees Stalled), and is carried out once granted', (_, refusal) => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const denied = reconcile(object, refusal);
    expect(condition(denied, 'Synced')).toMatchObject({ status: 'False', reason: 'PermissionDenied', observedGeneration: object.generation });
    expect(denied.status.observedGeneration).toBe(object.generation);
    const granted = reconcile(afterPlan(object, denied), { endpoint: readyEndpoint() });
    expect(granted.action.type).toBe('updateConfig');
    // the user's own spec change, not drift
    expect(granted.events.map((e) => e.reason)).not.toContain('DriftDetected');
  });

  // The same for a spec change in a namespace that lost the default workspace (an admin's change): Argo CD said
  // Degraded, kstatus InProgress until its timeout, since status.observedGeneration stayed at the older spec.
  it('a new spec in a namespace no longer allowed the default workspace counts as handled (kstatus sees Stalled), and is sent once allowed, without a DriftDetected', () => {
    const object = edited(settledObject(), { model: { name: MODEL, version: '4' } });
    const input = planInput(object, { endpoint: SKIPPED, model: SKIPPED });
    const refused = planEndpoint({ ...input, workspace: { ready: false, reason: 'DefaultWorkspaceNotAllowed', message: 'namespace ml may not use the default workspace' } });
    expect(condition(refused, 'Synced')).toMatchObject({ status: 'False', reason: 'DefaultWorkspaceNotAllowed', observedGeneration: object.generation });
    expect(refused.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True' });
    expect(refused.status.observedGeneration).toBe(object.generation);
    const allowed = reconcile(afterPlan(object, refused), { endpoint: readyEndpoint() });
    expect(allowed.action.type).toBe('updateConfig');
    expect(allowed.events.map((e) => e.reason)).not.toContain('DriftDetected');
  });

  it('a grant is seen at the next look: Synced again, nothing stalled', () => {
    const object = settledObject();
    const denied = afterPlan(object, reconcile(object, { endpoint: failed('PermissionDenied', refused) }));
    const granted = reconcile(denied, { endpoint: readyEndpoint() });
    expect(condition(granted, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(granted.status.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
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
