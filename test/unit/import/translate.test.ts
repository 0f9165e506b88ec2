// Import: each endpoint form becomes the spec that round-trips exactly (the planner finds nothing to
// change once the object has claimed it), and each form the operator cannot express is refused with
// its reason.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { EndpointSpec } from '../../../src/api/v1alpha1/index.js';
import { type ModelOptimizationInfo, type ServingEndpointDetailed, ServingEndpointDetailedSchema, TELEMETRY_FEATURES } from '../../../src/databricks/api-types.js';
import { seededRandom } from '../../../src/emulator/rng.js';
import { startEmulator } from '../../../src/emulator/server.js';
import { renderImport, runImportCli } from '../../../src/import/cli.js';
import { type Imported, objectName, translateEndpoint, uniqueObjectNames } from '../../../src/import/translate.js';
import {
  MODEL_UNIT_MODEL,
  NOT_OPTIMIZABLE_MODEL,
  OTHER_OWNER,
  OWNER,
  TOKEN_BAND_MODEL,
  afterPlan,
  condition,
  creatingEndpoint,
  endpointObject,
  foreignEndpoint,
  readyEndpoint,
  reconcile,
  servedEntity,
  updatingEndpoint,
  endpointOfAnotherObject,
  failedEndpoint,
} from '../controllers/fixtures.js';

const OPTIONS = { namespace: 'ml', deletionPolicy: 'Orphan' as const };
const infoFor = (info: ModelOptimizationInfo | undefined) => () => info;

function imported(endpoint: ServingEndpointDetailed, info: ModelOptimizationInfo = TOKEN_BAND_MODEL): Imported {
  const result = translateEndpoint(endpoint, infoFor(info), OPTIONS);
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result;
}

/** The plan of the imported object once it adopted the endpoint (recorded in status; the endpoint is untouched). */
function planAfterAdoption(result: Imported, endpoint: ServingEndpointDetailed, info: ModelOptimizationInfo) {
  // the spec exactly as import wrote it (the fixture's defaults, such as its tags, left out)
  const object = { ...endpointObject({ annotations: result.object.metadata.annotations }), spec: EndpointSpec.parse(result.object.spec) };
  const adoption = reconcile(object, { endpoint, model: info });
  expect(adoption.action).toEqual({ type: 'adopt', name: endpoint.name });
  return reconcile(afterPlan(object, adoption), { endpoint, model: info });
}

describe('translateEndpoint: forms the operator expresses', () => {
  const cases: { name: string; endpoint: ServingEndpointDetailed; info: ModelOptimizationInfo; throughput: unknown; burstScaling?: boolean }[] = [
    { name: 'a token band', endpoint: foreignEndpoint({ min: 980, max: 2940 }), info: TOKEN_BAND_MODEL, throughput: { tokensPerSecond: { min: 980, max: 2940 } } },
    { name: 'a band that scales to zero', endpoint: foreignEndpoint({ min: 0, max: 980 }), info: TOKEN_BAND_MODEL, throughput: { tokensPerSecond: { min: 0, max: 980 } } },
    { name: 'model units', endpoint: foreignEndpoint({ units: 100 }), info: MODEL_UNIT_MODEL, throughput: { modelUnits: 100 } },
    { name: 'model units without burst scaling', endpoint: foreignEndpoint({ units: 50, burstScaling: false }), info: MODEL_UNIT_MODEL, throughput: { modelUnits: 50 }, burstScaling: false },
  ];
  it.each(cases)('$name: exact throughput, all tags, adopt annotation, and nothing to change after adoption', ({ endpoint, info, throughput, burstScaling }) => {
    const result = imported(endpoint, info);
    expect(result.object.spec.throughput).toEqual(throughput);
    expect(result.object.spec.burstScaling).toBe(burstScaling);
    expect(result.object.spec.tags).toEqual({ team: 'data science' });
    expect(result.object.spec.endpointName).toBe('llama-chat');
    expect(result.object.spec.deletionPolicy).toBe('Orphan');
    expect(result.object.metadata).toEqual({ name: 'llama-chat', namespace: 'ml', annotations: { 'ptoperator.io/adopt': 'true' } });
    expect(EndpointSpec.safeParse(result.object.spec).success).toBe(true);

    const plan = planAfterAdoption(result, endpoint, info);
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('adoption sends nothing: recorded in status.adoption, then Ready with no action (owner tags not written)', () => {
    const endpoint = foreignEndpoint({ min: 980, max: 2940 });
    const result = imported(endpoint);
    const object = endpointObject({ spec: result.object.spec as never, annotations: result.object.metadata.annotations });
    const plan = reconcile(object, { endpoint, model: TOKEN_BAND_MODEL });
    expect(plan.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(plan.status.adoption?.endpointId).toBe(endpoint.id);
  });

  it('a token band says how many chunks it is; unknown burst scaling is noted', () => {
    expect(imported(foreignEndpoint({ min: 980, max: 2940 })).notes).toContain('980-2940 tokens/s = chunks {min: 1, max: 3} of 980 tokens/s.');
    expect(imported(foreignEndpoint({ units: 100 }), MODEL_UNIT_MODEL).notes.join(' ')).toMatch(/does not report burst scaling/);
  });

  it('a tag of the reserved prefix that is not an owner tag (pt-operator-cost): named in a note, not dropped silently; the adopted endpoint keeps it', () => {
    const endpoint = readyEndpoint({}, { owner: null, tags: [{ key: 'team', value: 'genai' }, { key: 'pt-operator-cost', value: 'ml' }] });
    const result = imported(endpoint);
    expect(result.object.spec.tags).toEqual({ team: 'genai' });
    expect(result.notes.join(' ')).toMatch(/tag pt-operator-cost .*reserved.*stays on the endpoint/);
    const object = endpointObject({ spec: result.object.spec, annotations: result.object.metadata.annotations, hasFinalizer: false });
    const plan = reconcile(afterPlan(object, reconcile(object, { endpoint, model: TOKEN_BAND_MODEL })), { endpoint, model: TOKEN_BAND_MODEL });
    expect(JSON.stringify(plan.action)).not.toContain('pt-operator-cost');
  });

  it('an endpoint name with capitals and underscores keeps its exact endpointName and gets a valid object name', () => {
    const result = imported(readyEndpoint({}, { owner: null, name: 'Team_A-Llama', tags: [] }));
    expect(result.object.spec.endpointName).toBe('Team_A-Llama');
    expect(result.object.metadata.name).toBe('team-a-llama');
    expect(result.object.spec.tags).toBeUndefined();
    expect(objectName('__x__')).toBe('x');
  });

  it('names that collide after lower-casing get numbered suffixes', () => {
    const a = imported(readyEndpoint({}, { owner: null, name: 'llama_a', tags: [] }));
    const b = imported(readyEndpoint({}, { owner: null, name: 'Llama-A', tags: [] }));
    uniqueObjectNames([a, b]);
    expect([a.object.metadata.name, b.object.metadata.name]).toEqual(['llama-a', 'llama-a-2']);
  });

  it('the settings the operator manages are imported: applying them changes nothing, and each settings condition is True', () => {
    const endpoint: ServingEndpointDetailed = {
      ...foreignEndpoint({ min: 980, max: 2940 }),
      description: 'made in a notebook',
      budget_policy_id: 'a1b2c3d4-0000-4000-8000-000000000001',
      ai_gateway: {
        usage_tracking_config: { enabled: true },
        inference_table_config: { catalog_name: 'main', schema_name: 'serving', table_name_prefix: 'llama_chat', enabled: true },
        guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' } }, output: { pii: { behavior: 'NONE' } } },
        rate_limits: [{ renewal_period: 'minute', key: 'user', calls: 10 }],
      },
      email_notifications: { on_update_success: ['ops@example.com'], on_update_failure: ['oncall@example.com', 'ops@example.com'] },
    };
    const result = imported(endpoint);
    expect(result.object.spec).toMatchObject({
      description: 'made in a notebook',
      budgetPolicyId: 'a1b2c3d4-0000-4000-8000-000000000001',
      aiGateway: {
        usageTracking: { enabled: true },
        inferenceTables: { enabled: true, catalogName: 'main', schemaName: 'serving', tableNamePrefix: 'llama_chat' },
        guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' } } },
        rateLimits: [{ key: 'user', calls: 10, renewalPeriod: 'minute' }],
      },
      notifications: { onUpdateSuccess: ['ops@example.com'], onUpdateFailure: ['oncall@example.com', 'ops@example.com'] },
    });
    expect(result.object.spec.aiGateway?.guardrails?.output).toBeUndefined();
    expect(result.notes.join(' ')).not.toMatch(/ai_gateway|description|budget_policy_id|email_notifications/);

    const plan = planAfterAdoption(result, endpoint, TOKEN_BAND_MODEL);
    expect(plan.action).toEqual({ type: 'none' });
    for (const type of ['Ready', 'AiGatewaySynced', 'NotificationsSynced', 'CreationSettingsSynced']) {
      expect(plan.status.conditions?.find((c) => c.type === type)?.status, type).toBe('True');
    }
  });

  it('the budget policy a real workspace answers as effective_budget_policy_id (its GET never fills budget_policy_id) is imported', () => {
    const endpoint = { ...foreignEndpoint(), effective_budget_policy_id: 'a1b2c3d4-0000-4000-8000-000000000002' };
    const result = imported(endpoint);
    expect(result.object.spec.budgetPolicyId).toBe('a1b2c3d4-0000-4000-8000-000000000002');
    const plan = planAfterAdoption(result, endpoint, TOKEN_BAND_MODEL);
    expect(plan.status.conditions?.find((c) => c.type === 'CreationSettingsSynced')?.status).toBe('True');
  });

  it('settings Databricks reports as empty ("" description, no gateway parts on, no addresses) give no spec fields', () => {
    const endpoint = { ...foreignEndpoint(), description: '', ai_gateway: { usage_tracking_config: { enabled: false } }, email_notifications: {} };
    const spec = imported(endpoint).object.spec;
    expect([spec.description, spec.aiGateway, spec.notifications, spec.budgetPolicyId]).toEqual([undefined, undefined, undefined, undefined]);
  });

  // Terraform's route_optimized (ForceNew): the spec declares it, so an endpoint re-created by the operator (deleted
  // outside Kubernetes) is route-optimized again, at the invocation URL its clients use.
  it('route optimization is declared (spec.routeOptimized) and adopted with CreationSettingsSynced=True; permissions are noted as unread', () => {
    const endpoint = { ...foreignEndpoint(), route_optimized: true };
    const result = imported(endpoint);
    expect(result.object.spec.routeOptimized).toBe(true);
    const notes = result.notes.join(' ');
    expect(notes).not.toMatch(/route_optimized/);
    expect(notes).toMatch(/Permissions are not read by import: this object leaves them alone unless spec\.permissions is added/);
    expect(imported(foreignEndpoint()).object.spec.routeOptimized).toBeUndefined();
    const plan = planAfterAdoption(result, endpoint, TOKEN_BAND_MODEL);
    expect(plan.status.conditions?.find((c) => c.type === 'CreationSettingsSynced')?.status).toBe('True');
  });

  // Terraform's databricks_model_serving makes such an endpoint with the generic create, which the operator uses too
  // for a model-unit spec with either setting: a re-created endpoint has them again.
  it('a route-optimized model-unit endpoint with a description declares both, and is adopted with CreationSettingsSynced=True', () => {
    const endpoint = { ...foreignEndpoint({ units: 100 }), route_optimized: true, description: 'gold tier' };
    const result = imported(endpoint, MODEL_UNIT_MODEL);
    expect(result.object.spec).toMatchObject({ throughput: { modelUnits: 100 }, routeOptimized: true, description: 'gold tier' });
    expect(result.notes.join(' ')).not.toMatch(/route_optimized|description/);
    const plan = planAfterAdoption(result, endpoint, MODEL_UNIT_MODEL);
    expect(plan.status.conditions?.find((c) => c.type === 'CreationSettingsSynced')?.status).toBe('True');
  });

  it.each([
    [
      'made from tables (shown with the profile made from them): the tables',
      { telemetry_profile_id: 'tp-9', table_names: { logs_table: 'main.obs.logs', traces_table: 'main.obs.traces' }, enabled_telemetry_features: ['TELEMETRY_FEATURE_TRACES'], inference_table_config: { name: 'main.obs.chat_payload', sampling_fraction: 0.5 } },
      { tables: { logsTable: 'main.obs.logs', tracesTable: 'main.obs.traces' }, features: ['TELEMETRY_FEATURE_TRACES'], inferenceTable: { samplingFraction: 0.5 } },
    ],
    ['naming a profile', { telemetry_profile_id: 'tp-shared' }, { profileId: 'tp-shared' }],
  ])('a telemetry config %s becomes spec.telemetry: declared, and adopting it sends nothing', (_, config, telemetry) => {
    // As the client reads a GET: through the response schema, which must keep the field.
    const endpoint = ServingEndpointDetailedSchema.parse({ ...foreignEndpoint(), telemetry_config: config });
    const result = imported(endpoint);
    expect(result.object.spec.telemetry).toEqual(telemetry);
    expect(result.notes.join(' ')).not.toMatch(/telemetry/);
    const plan = planAfterAdoption(result, endpoint, TOKEN_BAND_MODEL);
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.conditions?.find((c) => c.type === 'TelemetrySynced')?.status).toBe('True');
  });

  it('an endpoint without a telemetry config, or with one naming no profile (applied nowhere), gets no spec.telemetry', () => {
    expect(imported(foreignEndpoint()).object.spec.telemetry).toBeUndefined();
    const endpoint = ServingEndpointDetailedSchema.parse({ ...foreignEndpoint(), telemetry_config: { enabled_telemetry_features: ['TELEMETRY_FEATURE_TRACES'] } });
    expect(imported(endpoint).object.spec.telemetry).toBeUndefined();
  });

  it('a served entity\'s own name and its environment variables are noted: kept by config updates, not on a re-created endpoint', () => {
    const base = foreignEndpoint();
    const entity = { ...servedEntity(), name: 'prod_model', environment_vars: { LOG_LEVEL: 'debug' } };
    const endpoint = { ...base, config: { ...base.config, served_entities: [entity], traffic_config: { routes: [{ served_entity_name: 'prod_model', served_model_name: 'prod_model', traffic_percentage: 100 }] } } };
    const result = imported(endpoint);
    const notes = result.notes.join(' ');
    expect(notes).toMatch(/served entity name "prod_model".*environment variables \(LOG_LEVEL\).*kept on this endpoint.*re-created endpoint would not have/);
    expect(planAfterAdoption(result, endpoint, TOKEN_BAND_MODEL).action).toEqual({ type: 'none' });
    expect(imported(foreignEndpoint()).notes.join(' ')).not.toMatch(/served entity name|environment variables/);
  });

  it("a served entity's instance profile is noted: kept by config updates, not on a re-created endpoint", () => {
    const base = foreignEndpoint();
    const entity = { ...servedEntity(), instance_profile_arn: 'arn:aws:iam::123456789012:instance-profile/genai-serving' };
    const endpoint = { ...base, config: { ...base.config, served_entities: [entity] } };
    const result = imported(endpoint);
    expect(result.notes.join(' ')).toMatch(/instance profile \(arn:aws:iam::123456789012:instance-profile\/genai-serving\).*kept on this endpoint.*re-created endpoint would not have it/);
    expect(planAfterAdoption(result, endpoint, TOKEN_BAND_MODEL).action).toEqual({ type: 'none' });
  });

  it('a legacy inference table (auto_capture_config) is noted: kept on this endpoint, not declared by the spec', () => {
    const endpoint = foreignEndpoint();
    const autoCapture = {
      catalog_name: 'main',
      schema_name: 'default',
      table_name_prefix: 'ac',
      enabled: true,
      state: { payload_table: { name: 'ac_payload', status: 'ACTIVE', status_message: 'The inference table is active.' } },
    };
    const result = imported({ ...endpoint, config: { ...endpoint.config, auto_capture_config: autoCapture } });
    const notes = result.notes.join(' ');
    expect(notes).toMatch(/legacy inference table.*main\.default\.ac_payload.*kept on this endpoint/);
    expect(notes).toMatch(/re-created endpoint would not have it.*spec\.aiGateway/);
    expect(result.object.spec.aiGateway).toBeUndefined();
    expect(imported(foreignEndpoint()).notes.join(' ')).not.toMatch(/inference table/);
  });

  // A Terraform apply that timed out for lack of GPUs leaves the endpoint serving its old config with the new one
  // failed beside it: the object declares what serves (so applying it sends nothing), and says what failed, or the
  // throughput the Terraform configuration asked for would be dropped without a word.
  it('an endpoint whose last config update failed is imported as it serves, and a note names the update that failed and why', () => {
    const endpoint = { ...failedEndpoint({ min: 980, max: 1960 }, { min: 980, max: 2940 }), tags: [] };
    const result = imported(endpoint);
    expect(result.object.spec.throughput).toEqual({ tokensPerSecond: { min: 980, max: 1960 } });
    const notes = result.notes.join(' ');
    expect(notes).toContain('Its last config update failed (version 3 at 980-2940 tokens/s: DEPLOYMENT_ABORTED: Served model creation aborted because the endpoint update timed out');
    expect(notes).toMatch(/this object declares what serves \(version 3 at 980-1960 tokens\/s\).*sends nothing.*to try that update again, set the spec to it once the object is Ready/);
    expect(planAfterAdoption(result, endpoint, TOKEN_BAND_MODEL).action).toEqual({ type: 'none' });
    expect(imported(foreignEndpoint()).notes.join(' ')).not.toMatch(/update failed/);

    // An observer retries nothing and shows the failure (Ready=False UpdateFailed): the note must not promise a retry.
    const observed = translateEndpoint(endpoint, infoFor(TOKEN_BAND_MODEL), { ...OPTIONS, managementPolicy: 'Observe' });
    if (!observed.ok) throw new Error(observed.reason);
    const object = { ...endpointObject({ annotations: observed.object.metadata.annotations }), spec: EndpointSpec.parse(observed.object.spec) };
    const plan = reconcile(object, { endpoint, model: TOKEN_BAND_MODEL });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'UpdateFailed' });
    const observedNotes = observed.notes.join(' ');
    expect(observedNotes).toContain('Its last config update failed (version 3 at 980-2940 tokens/s: DEPLOYMENT_ABORTED');
    expect(observedNotes).toMatch(/this object declares what serves \(version 3 at 980-1960 tokens\/s\).*Ready is False \(UpdateFailed\) until whoever manages the endpoint updates it again/);
    expect(observedNotes).not.toMatch(/try that update again/);
  });

  it('an endpoint left with the owner tags of a deleted object (deletionPolicy Orphan) is imported without them, naming that owner', () => {
    // Left by ml/llama-chat; imported into namespace ml.
    const endpoint = readyEndpoint({}, { owner: OWNER });
    const result = imported(endpoint);
    expect(result.object.spec.tags).toEqual({ team: 'genai' });
    const notes = result.notes.join(' ');
    expect(notes).toContain(`carries the operator's owner tags of ml.llama-chat (uid ${OWNER.uid})`);
    expect(notes).toMatch(/adopts it only if that object no longer exists in the cluster this is applied to; otherwise it reports NotOwned and sends nothing/);
    expect(notes).not.toMatch(/allow-cross-namespace-adoption/);

    // With the owner gone the object adopts it and, serving the spec, sends nothing; with the owner there, NotOwned.
    const object = endpointObject({ spec: result.object.spec as never, annotations: result.object.metadata.annotations, owner: { ...OWNER, uid: 'a-new-uid' } });
    const adoption = reconcile(object, { endpoint, tenancy: { taggedOwnerPresence: 'gone' } });
    expect(adoption.action).toEqual({ type: 'adopt', name: 'llama-chat' });
    expect(reconcile(afterPlan(object, adoption), { endpoint, tenancy: { taggedOwnerPresence: 'gone' } }).action).toEqual({ type: 'none' });
    const refused = reconcile(object, { endpoint, tenancy: { taggedOwnerPresence: 'live' } });
    expect(refused.action.type).toBe('none');
    expect(condition(refused, 'Synced')?.reason).toBe('NotOwned');
  });

  it('owner tags: the note does not promise NotOwned for an owner in another cluster, which the operator cannot see (it adopts at once)', () => {
    // An object of another cluster still holds the endpoint; this cluster has no object with that UID.
    const endpoint = readyEndpoint({}, { owner: OWNER });
    const result = imported(endpoint);
    const object = endpointObject({ spec: result.object.spec as never, annotations: result.object.metadata.annotations, owner: { ...OWNER, uid: 'a-new-uid' } });
    expect(reconcile(object, { endpoint, tenancy: { taggedOwnerPresence: 'gone' } }).action).toEqual({ type: 'adopt', name: 'llama-chat' });
    const notes = result.notes.join(' ');
    expect(notes).toMatch(/no longer exists in the cluster this is applied to/);
    expect(notes).toMatch(/another cluster.*cannot see.*takes it over.*stop that cluster managing it first/);
  });

  // Terraform kept in charge: the objects only show the endpoints (docs/concepts.md, From Terraform).
  it('with managementPolicy Observe (--observe) the object observes: nothing to send, Ready and Synced True, and the note says how to take it over', () => {
    const endpoint = { ...foreignEndpoint({ min: 980, max: 2940 }), description: 'made by Terraform', email_notifications: { on_update_failure: ['ops@example.com'] } };
    const result = translateEndpoint(endpoint, infoFor(TOKEN_BAND_MODEL), { ...OPTIONS, managementPolicy: 'Observe' });
    if (!result.ok) throw new Error(result.reason);
    expect(result.object.spec.managementPolicy).toBe('Observe');
    // kept, for the switch to Full: it counts only then
    expect(result.object.metadata.annotations).toEqual({ 'ptoperator.io/adopt': 'true' });
    expect(result.notes.join(' ')).toMatch(/managementPolicy: Observe.*never changes.*set managementPolicy to Full/);
    const object = { ...endpointObject({ annotations: result.object.metadata.annotations }), spec: EndpointSpec.parse(result.object.spec) };
    const plan = reconcile(object, { endpoint, model: TOKEN_BAND_MODEL });
    expect(plan.action).toEqual({ type: 'none' });
    expect((['Ready', 'Synced'] as const).map((type) => condition(plan, type)?.status)).toEqual(['True', 'True']);
    expect(imported(endpoint).object.spec.managementPolicy).toBeUndefined();
  });

  it('owner tags of another namespace: the note says adoption across namespaces needs the operator flag', () => {
    const result = imported(endpointOfAnotherObject());
    expect(result.object.spec.tags).toEqual({ team: 'genai' });
    expect(result.notes.join(' ')).toContain(`owner tags of team-b.llama-copy (uid ${OTHER_OWNER.uid})`);
    expect(result.notes.join(' ')).toMatch(/another namespace.*--allow-cross-namespace-adoption/);
  });

  it('a tag value of 255 characters outside the Basic Multilingual Plane (510 UTF-16 units) is imported: the CRD counts characters', () => {
    const value = '\u{1F600}'.repeat(255);
    expect(imported(readyEndpoint({}, { owner: null, tags: [{ key: 'team', value }] })).object.spec.tags).toEqual({ team: value });
  });

  it('--workspace sets workspaceRef', () => {
    const result = translateEndpoint(foreignEndpoint(), infoFor(TOKEN_BAND_MODEL), { ...OPTIONS, workspace: 'prod' });
    expect(result.ok && result.object.spec.workspaceRef).toEqual({ name: 'prod' });
  });
});

describe('translateEndpoint: forms the operator cannot express are refused with the reason', () => {
  const twoEntities: ServingEndpointDetailed = (() => {
    const e = foreignEndpoint();
    const a = servedEntity({ version: '2' });
    const b = servedEntity({ version: '3' });
    e.config = { served_entities: [a, b], traffic_config: { routes: [{ served_entity_name: a.name, traffic_percentage: 90 }, { served_entity_name: b.name, traffic_percentage: 10 }] } };
    return e;
  })();
  const external = (() => {
    const e = foreignEndpoint();
    e.config = { served_entities: [{ name: 'gpt', external_model: { provider: 'openai', name: 'gpt-4o', task: 'llm/v1/chat' } }] };
    return e;
  })();
  const cpu = (() => {
    const e = foreignEndpoint();
    e.config = { served_entities: [{ name: 'm-1', entity_name: 'main.default.classifier', entity_version: '1', workload_size: 'Small', workload_type: 'CPU', scale_to_zero_enabled: true }] };
    return e;
  })();
  const cases: { name: string; endpoint: ServingEndpointDetailed; info?: ModelOptimizationInfo; reason: RegExp }[] = [
    { name: 'two served entities', endpoint: twoEntities, reason: /serves 2 entities split by traffic_config; the operator manages exactly one/ },
    { name: 'an external model', endpoint: external, reason: /external model/ },
    { name: 'a CPU deployment', endpoint: cpu, reason: /not provisioned throughput \(a CPU Small deployment\)/ },
    { name: 'no config yet', endpoint: creatingEndpoint({}, { owner: null }), reason: /no served config yet|update is in progress/ },
    { name: 'an update in progress', endpoint: updatingEndpoint({}, { version: '4' }, { owner: null }), reason: /update is in progress/ },
    { name: 'a band off the chunk grid', endpoint: foreignEndpoint({ min: 0, max: 1000 }), reason: /not a multiple of the model's chunk size 980/ },
    { name: 'a model that is not optimizable', endpoint: foreignEndpoint(), info: NOT_OPTIMIZABLE_MODEL, reason: /not eligible for provisioned throughput/ },
    { name: 'model units off the grid', endpoint: foreignEndpoint({ units: 70 }), info: MODEL_UNIT_MODEL, reason: /70 model units are not a multiple of the model-unit chunk size 50/ },
    {
      name: 'an AI Gateway rate limit the CRD cannot hold',
      endpoint: { ...foreignEndpoint(), ai_gateway: { rate_limits: [{ renewal_period: 'minute', key: 'group' as never, calls: 5 }] } },
      reason: /the CRD would reject it: spec\.aiGateway\.rateLimits\.0\.key/,
    },
    { name: 'notifications to something that is not an e-mail address', endpoint: { ...foreignEndpoint(), email_notifications: { on_update_failure: ['ops'] } }, reason: /spec\.notifications\.onUpdateFailure\.0: must be an e-mail address/ },
    { name: 'a tag key longer than the CRD allows (127)', endpoint: readyEndpoint({}, { owner: null, tags: [{ key: 'k'.repeat(128), value: 'v' }] }), reason: /spec\.tags: tag keys must be 1 to 127 characters long/ },
    { name: 'a tag value longer than the CRD allows (255)', endpoint: readyEndpoint({}, { owner: null, tags: [{ key: 'team', value: 'v'.repeat(256) }] }), reason: /the CRD would reject it: spec\.tags\.team: Too big: expected string to have <=255 characters/ },
    { name: 'too many tags', endpoint: readyEndpoint({}, { owner: null, tags: Array.from({ length: 41 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }), reason: /41 tags; the CRD accepts at most 40/ },
  ];
  it.each(cases)('$name', ({ endpoint, info, reason }) => {
    const result = translateEndpoint(endpoint, infoFor(info ?? TOKEN_BAND_MODEL), OPTIONS);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('a model whose optimization info could not be read', () => {
    const result = translateEndpoint(foreignEndpoint(), infoFor(undefined), OPTIONS);
    expect(!result.ok && result.reason).toMatch(/could not be read/);
  });
});

describe('renderImport', () => {
  it('writes refused endpoints as comments and each object as its own YAML document that parses back', () => {
    const a = imported(readyEndpoint({}, { owner: null, name: 'a', tags: [] }));
    const b = imported(readyEndpoint({ units: 100 }, { owner: null, name: 'b', tags: [] }), MODEL_UNIT_MODEL);
    const text = renderImport([a, b], [{ ok: false, endpointName: 'c', reason: 'it serves an external model' }]);
    expect(text).toMatch(/^# Not imported \(each with the reason\):\n# {3}c: it serves an external model\n/);
    const docs = text.split(/^---$/m).map((d) => parse(d) as { spec: { endpointName: string } });
    expect(docs.map((d) => d.spec.endpointName)).toEqual(['a', 'b']);
  });
});

describe('renderImport: text from Databricks stays inside its comments', () => {
  // A description (or a reason) is the workspace's text: a line break in it must not start a YAML line of its own,
  // or whoever can edit an endpoint in Databricks could add fields, or whole objects, to what the user applies.
  it('a line break in a note or a reason continues the comment', () => {
    const injected = 'ok\nkind: Secret\r\n---\napiVersion: v1';
    const a = imported(readyEndpoint({}, { owner: null, name: 'a', tags: [] }));
    a.notes.push(`Its description "${injected}"`);
    const text = renderImport([a], [{ ok: false, endpointName: 'c', reason: injected }]);
    for (const line of text.split(/\r?\n/)) {
      if (/kind: Secret|apiVersion: v1$|^---$/.test(line)) expect(line.startsWith('#')).toBe(true);
    }
    const docs = text.split(/^---$/m);
    expect(docs).toHaveLength(1);
    expect((parse(docs[0] as string) as { kind: string }).kind).toBe('ProvisionedThroughputEndpoint');
  });
});

describe('renderImport: what kubectl reads back is what was imported', () => {
  // kubectl, Argo CD and sigs.k8s.io/yaml read YAML 1.1 (yes/no/on/off are booleans, 1_000 and 1:20 are numbers,
  // << merges); yaml and many editors read YAML 1.2 (0o17 is a number). Every such string must come out quoted.
  const tricky = ['yes', 'no', 'on', 'off', 'Y', 'NO', 'y', 'n', 'True', '1_000', '0b101', '0o17', '017', '1:20', '0x1F', '1e3', '.5', '~', 'null', '2001-12-14', '<<', '='];
  const names = ['on', 'off', 'y', 'n', 'no', '1_000', '0x1F', '1e3', '017', '2001-12-14'];
  const tags = Object.fromEntries(tricky.map((t, i) => [t, tricky[(i + 1) % tricky.length] as string]));
  const objects = names.map((name) => imported(readyEndpoint({}, { owner: null, name, tags: Object.entries(tags).map(([key, value]) => ({ key, value })) })));
  uniqueObjectNames(objects);

  it.each(['1.1', '1.2'] as const)('YAML %s reads every name, tag key and tag value back as the same string', (version) => {
    const text = renderImport(objects, []);
    const docs = parseAllDocuments(text, { version }).map((d) => d.toJS() as unknown);
    expect(docs).toEqual(objects.map((o) => o.object));
  });

  it('quotes the numbers only Go reads (kubectl: 0X1F is 31, 0B101 is 5, 0O17 is 15)', () => {
    const goOnly = ['0X1F', '0B101', '0O17'];
    const object = imported(readyEndpoint({}, { owner: null, name: 'go', tags: goOnly.map((key) => ({ key, value: key })) }));
    const text = renderImport([object], []);
    for (const s of goOnly) expect(text).toContain(`"${s}": "${s}"`);
  });
});

describe('runImportCli flags', () => {
  it.each([
    [['--all'], /--namespace is required/],
    [['--namespace', 'ml'], /give --name \(one or more\) or --all/],
    [['--namespace', 'ml', '--all', '--name', 'x'], /--name and --all exclude each other/],
    [['--namespace', 'ml', '--all', '--deletion-policy', 'Keep'], /--deletion-policy is Orphan or Delete/],
    // it wrote `namespace: Bad NS`, which kubectl then refused
    [['--namespace', 'Bad NS', '--all'], /--namespace: "Bad NS" is not a namespace name/],
    [['--namespace', 'ml', '--workspace', 'Prod WS', '--all'], /--workspace: "Prod WS" is not an object name/],
    [['--namespace', 'ml', '--all', '--timeout', '0'], /--timeout: "0" is not a duration of more than zero/],
  ])('%j is refused before any call to Databricks', async (argv, message) => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (text: string) => errors.push(text);
    try {
      expect(await runImportCli(argv, {})).toBe(2);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toMatch(message);
  });

  it('without credentials it says which variables to set', async () => {
    await expect(runImportCli(['--namespace', 'ml', '--all', '--host', 'https://adb-1.2.azuredatabricks.net'], {})).rejects.toThrow(/DATABRICKS_TOKEN/);
  });
});

describe('runImportCli against a workspace', () => {
  /** `run` against a fresh emulator serving endpoint x, with what import says on stderr and where its YAML goes. */
  async function withEndpointX(run: (context: { workspace: Awaited<ReturnType<typeof startEmulator>>; errors: string[]; out: string }) => Promise<void>) {
    const workspace = await startEmulator({ speed: 0 });
    const errors: string[] = [];
    const quiet = console.error;
    console.error = (text: string) => void errors.push(text);
    const dir = await mkdtemp(join(tmpdir(), 'pt-import-'));
    try {
      workspace.emulator.createEndpoint({ name: 'x', config: { served_entities: [{ entity_name: 'system.ai.meta_llama_v3_1_8b_instruct', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] } });
      workspace.emulator.advance(3_600_000);
      await run({ workspace, errors, out: join(dir, 'import.yaml') });
    } finally {
      console.error = quiet;
      await workspace.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  // It exited 0 ("imported 0 of 1"), and a script went on as if the endpoint had been imported.
  it('an endpoint named with --name that does not exist: exits 1 naming it, still writing the others', () =>
    withEndpointX(async ({ workspace, errors, out }) => {
      expect(await runImportCli(['--host', workspace.url, '--namespace', 'ml', '--name', 'nosuch', '--name', 'x', '--out', out], { DATABRICKS_TOKEN: 'dapi-test' })).toBe(1);
      expect(errors.join('\n')).toMatch(/no endpoint named nosuch in http:\/\/127\.0\.0\.1:\d+/);
      expect(parseAllDocuments(await readFile(out, 'utf8')).map((d) => (d.toJS() as { spec: { endpointName: string } }).spec.endpointName)).toEqual(['x']);
    }));

  // It said only "could not be read": a user whose credentials may not read the model (a fine-tuned model in a catalog
  // they have no grant on) could not tell that from an outage or a typo.
  it("a model whose optimization info Databricks refuses: the endpoint is listed as not imported with Databricks' reason", () =>
    withEndpointX(async ({ workspace, errors, out }) => {
      workspace.emulator.addFault({ type: 'permissionDenied', message: 'User does not have EXECUTE on Model system.ai.meta_llama_v3_1_8b_instruct.', match: { path: '/api/2.0/serving-endpoints/get-model-optimization-info' } });
      expect(await runImportCli(['--host', workspace.url, '--namespace', 'ml', '--name', 'x', '--out', out], { DATABRICKS_TOKEN: 'dapi-test' })).toBe(0);
      const reason = /not imported: x: the optimization info of system\.ai\.meta_llama_v3_1_8b_instruct version 3 could not be read: .*User does not have EXECUTE on Model/;
      expect(errors.join('\n')).toMatch(reason);
      expect(await readFile(out, 'utf8')).toMatch(new RegExp(`^#   ${reason.source.slice('not imported: '.length)}`, 'm'));
    }));

  // A silent host held import for about two minutes (the client's default deadline).
  it('a host that never answers fails within --timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const started = Date.now();
    try {
      const host = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      await expect(runImportCli(['--host', host, '--namespace', 'ml', '--name', 'x', '--timeout', '500ms'], { DATABRICKS_TOKEN: 'dapi-test' })).rejects.toThrow(/no answer within/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });


  /** runImportCli against an emulator serving token-band endpoints `names`, writing to a file; its exit code and objects. */
  async function importFrom(names: string[], flags: (host: string) => string[], env: (host: string, dir: string) => Promise<NodeJS.ProcessEnv> = async () => ({ DATABRICKS_TOKEN: 'dapi-test' })) {
    const workspace = await startEmulator({ speed: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'pt-import-'));
    const quiet = console.error;
    console.error = () => undefined;
    try {
      for (const name of names) {
        workspace.emulator.createEndpoint({ name, config: { served_entities: [{ entity_name: 'system.ai.meta_llama_v3_1_8b_instruct', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] } });
      }
      workspace.emulator.advance(3_600_000);
      const out = join(dir, 'import.yaml');
      const code = await runImportCli([...flags(workspace.url), '--out', out], await env(workspace.url, dir));
      const objects = parseAllDocuments(await readFile(out, 'utf8')).map((d) => d.toJS() as { metadata: { name: string }; spec: { endpointName: string; managementPolicy?: string } });
      return { code, objects };
    } finally {
      console.error = quiet;
      await workspace.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('--observe writes managementPolicy: Observe into every object', async () => {
    const { code, objects } = await importFrom(['x'], (host) => ['--host', host, '--namespace', 'ml', '--all', '--observe']);
    expect(code).toBe(0);
    expect(objects.map((o) => o.spec.managementPolicy)).toEqual(['Observe']);
  });

  it("--profile: the host and token of a profile of the Databricks config file (the Terraform provider's `profile`)", async () => {
    const { code, objects } = await importFrom(['x'], () => ['--profile', 'emulated', '--namespace', 'ml', '--all'], async (host, dir) => {
      await writeFile(join(dir, 'databrickscfg'), `[DEFAULT]\nhost = https://adb-1.2.azuredatabricks.net\ntoken = dapi-other\n\n[emulated]\nhost = ${host}\ntoken = dapi-test\n`);
      return { DATABRICKS_CONFIG_FILE: join(dir, 'databrickscfg') };
    });
    expect(code).toBe(0);
    expect(objects.map((o) => o.spec.endpointName)).toEqual(['x']);
  });

  it('an endpoint named twice (--name x --name x) is written once, in the order given', async () => {
    const { code, objects } = await importFrom(['x', 'y'], (host) => ['--host', host, '--namespace', 'ml', '--name', 'y', '--name', 'x', '--name', 'y', '--name', 'x']);
    expect(code).toBe(0);
    expect(objects.map((o) => [o.metadata.name, o.spec.endpointName])).toEqual([
      ['y', 'y'],
      ['x', 'x'],
    ]);
  });
});

// A workspace host chooses every name and text import writes. kubectl's YAML reader ends a line at U+2028, U+2029
// and NEL (U+0085) too: a name carrying them wrote a ClusterRoleBinding past the "# Not imported" comment into the
// YAML the user applies (finding of an attacker-controlled host).
describe('runImportCli against a hostile workspace: its text never becomes YAML content', () => {
  const BREAKS = ['\u2028', '\u2029', '\u0085', '\v', '\f', '\u001b[31m', '\r', '\n'];
  const payload = (br: string) =>
    ['', 'apiVersion: rbac.authorization.k8s.io/v1', 'kind: ClusterRoleBinding', 'metadata:', '  name: pwned', 'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}', '#'].join(br);
  const hostileNames = BREAKS.map((br) => `llm-prod${payload(br)}`);
  const tags = BREAKS.map((br, i) => ({ key: `t${i}`, value: `v${payload(br)}`.slice(0, 200) }));
  // a telemetry profile ID is a string the spec takes as it is (at most 255 characters): written quoted, with escapes
  const profileId = `tp${payload('\u0085')}`.slice(0, 255);
  const tagged = { ...foreignEndpoint({ units: 100 }), name: 'tagged', tags, description: `gold${payload('\u2028')}`, telemetry_config: { telemetry_profile_id: profileId } };

  async function hostileImport(): Promise<{ yaml: string; stderr: string; requested: string[] }> {
    const requested: string[] = [];
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://h').pathname);
      requested.push(path);
      const answer =
        path === '/api/2.0/serving-endpoints'
          ? { endpoints: [...hostileNames, 'tagged'].map((name) => ({ name })) }
          : path === '/api/2.0/serving-endpoints/tagged'
            ? tagged
            : path.startsWith('/api/2.0/serving-endpoints/get-model-optimization-info/')
              ? MODEL_UNIT_MODEL
              : undefined;
      res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer ?? { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dir = await mkdtemp(join(tmpdir(), 'pt-import-'));
    const stderr: string[] = [];
    const original = console.error;
    console.error = (text: string) => stderr.push(text);
    try {
      const out = join(dir, 'import.yaml');
      const { port } = server.address() as AddressInfo;
      const argv = ['--host', `http://127.0.0.1:${port}`, '--namespace', 'team-a', '--all', '--out', out];
      expect(await runImportCli(argv, { DATABRICKS_TOKEN: 'dapi-test' })).toBe(0);
      return { yaml: await readFile(out, 'utf8'), stderr: stderr.join('\n'), requested };
    } finally {
      console.error = original;
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('yields only the imported object, with the tag values exactly as Databricks has them, in YAML 1.1 and 1.2', async () => {
    const { yaml } = await hostileImport();
    for (const version of ['1.1', '1.2'] as const) {
      const docs = parseAllDocuments(yaml, { version });
      expect(docs.flatMap((d) => d.errors)).toEqual([]);
      const objects = docs.map((d) => d.toJS() as { kind: string; spec: { endpointName: string; tags: Record<string, string> } });
      expect(objects.map((o) => [o.kind, o.spec.endpointName])).toEqual([['ProvisionedThroughputEndpoint', 'tagged']]);
      expect(objects[0]?.spec.tags).toEqual(Object.fromEntries(tags.map((t) => [t.key, t.value])));
      expect((objects[0]?.spec as { description?: string } | undefined)?.description).toBe(tagged.description);
      expect((objects[0]?.spec as { telemetry?: unknown } | undefined)?.telemetry).toEqual({ profileId });
    }
  });

  it('writes no character a YAML reader or a terminal acts on, so every line is the line it looks like', async () => {
    const { yaml, stderr } = await hostileImport();
    expect(yaml).not.toMatch(/(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
    expect(stderr).not.toMatch(/(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
    // Host text outside comments only as a quoted value: a tag of spec.tags, spec.description or spec.telemetry.profileId.
    for (const line of yaml.split(/\r\n|[\n\r\u0085\u2028\u2029]/)) {
      if (/pwned|ClusterRoleBinding/.test(line)) expect(line).toMatch(/^#|^ {4}t\d: "|^ {2}description: "|^ {4}profileId: "/);
    }
  });

  it('refuses listed names that break the Databricks endpoint-name rule, without asking the host about them', async () => {
    const { yaml, requested } = await hostileImport();
    expect(requested.filter((p) => p.includes('pwned'))).toEqual([]);
    const refusals = yaml.split('\n').filter((line) => line.includes(': its name does not match the Databricks endpoint-name rule'));
    expect(refusals).toHaveLength(hostileNames.length);
    for (const line of refusals) expect(line).toMatch(/^# {3}/);
  });
});

// A property, over endpoints made by a seeded generator from every field the spec can express (and the ones it only
// notes): whatever import writes, applied and adopted, finds nothing to change. Before: hand-picked cases only.
describe('translateEndpoint: any expressible endpoint round-trips (import, apply, adopt: no Databricks mutation)', () => {
  /** Seeded (the project's PRNG), so a failing seed reproduces. */
  function random(seed: number) {
    const source = seededRandom(seed);
    const int = (n: number) => Math.floor(source.next() * n);
    const pick = <T,>(items: readonly T[]): T => items[int(items.length)] as T;
    const chance = (p: number) => source.next() < p;
    const some = <T,>(max: number, make: (i: number) => T): T[] => Array.from({ length: int(max + 1) }, (_, i) => make(i));
    return { int, pick, chance, some };
  }
  const EMAILS = ['ops@example.com', 'Alice@Example.com', 'oncall+pt@corp.example'];
  const UUID = 'a1b2c3d4-0000-4000-8000-00000000000';

  function generated(seed: number): { endpoint: ServingEndpointDetailed; info: ModelOptimizationInfo } {
    const r = random(seed);
    const units = r.chance(0.4);
    const info = units ? MODEL_UNIT_MODEL : TOKEN_BAND_MODEL;
    const minChunks = r.int(4);
    const base = units
      ? foreignEndpoint({ units: 50 * (1 + r.int(6)), ...(r.chance(0.5) && { burstScaling: r.chance(0.5) }) })
      : foreignEndpoint({ min: 980 * minChunks, max: 980 * (minChunks + 1 + r.int(3)) });
    let entity = { ...(base.config?.served_entities?.[0] as NonNullable<NonNullable<typeof base.config>['served_entities']>[number]) };
    let routes = base.config?.traffic_config?.routes;
    if (r.chance(0.2)) {
      entity = { ...entity, name: 'prod_model' };
      routes = [{ served_entity_name: 'prod_model', served_model_name: 'prod_model', traffic_percentage: 100 }];
    }
    if (r.chance(0.2)) entity = { ...entity, environment_vars: { LOG_LEVEL: 'debug' } };
    if (r.chance(0.1)) entity = { ...entity, instance_profile_arn: 'arn:aws:iam::123456789012:instance-profile/genai' };
    const autoCapture = r.chance(0.15)
      ? { auto_capture_config: { catalog_name: 'main', schema_name: 'default', table_name_prefix: 'ac', enabled: r.chance(0.5) } }
      : {};
    const gateway = {
      ...(r.chance(0.5) && { usage_tracking_config: { enabled: r.chance(0.5) } }),
      ...(r.chance(0.5) && {
        inference_table_config: {
          // Databricks takes no enabled table without its place
          ...(r.chance(0.5) ? { enabled: true, catalog_name: 'main', schema_name: r.pick(['serving', 'logs']) } : { enabled: false, ...(r.chance(0.7) && { catalog_name: 'main', schema_name: 'serving' }) }),
          ...(r.chance(0.5) && { table_name_prefix: r.pick(['llama_chat', 'tbl']) }),
        },
      }),
      ...(r.chance(0.4) && {
        guardrails: Object.fromEntries(
          (['input', 'output'] as const)
            .filter(() => r.chance(0.6))
            .map((side) => [
              side,
              {
                ...(r.chance(0.5) && { safety: r.chance(0.5) }),
                ...(r.chance(0.5) && { pii: { behavior: r.pick(['NONE', 'BLOCK', 'MASK'] as const) } }),
                ...(r.chance(0.3) && { valid_topics: r.some(2, (i) => `topic ${i}`) }),
                ...(r.chance(0.3) && { invalid_keywords: r.some(2, (i) => `word${i}`) }),
              },
            ]),
        ),
      }),
      ...(r.chance(0.4) && {
        rate_limits: r.some(3, (i) => {
          const key = r.pick(['endpoint', 'user', 'user_group', 'service_principal'] as const);
          const principal = !r.chance(0.5) ? undefined : key === 'user' ? r.pick(EMAILS) : key === 'user_group' ? `team-${i}` : key === 'service_principal' ? `${UUID}${i}` : undefined;
          const calls = r.chance(0.7) ? r.int(100) : undefined;
          return {
            renewal_period: 'minute',
            key,
            ...(calls !== undefined && { calls }),
            ...((calls === undefined || r.chance(0.3)) && { tokens: 1000 * r.int(50) }),
            ...(principal !== undefined && { principal }),
          };
        }),
      }),
      ...(r.chance(0.2) && { fallback_config: { enabled: r.chance(0.5) } }),
    };
    const endpoint: ServingEndpointDetailed = {
      ...base,
      config: { ...base.config, served_entities: [entity], ...(routes && { traffic_config: { routes } }), ...autoCapture } as never,
      tags: r.some(4, (i) => ({ key: r.pick(['team', 'cost center', 'Ünïcode', `k${i}`]) + i, ...(r.chance(0.8) && { value: r.pick(['', 'genai', '0X1F', 'a: b']) }) })),
      ...(r.chance(0.3) && { description: r.pick(['', 'made in a notebook', 'gold tier: 99.9%']) }),
      ...(r.chance(0.2) && (r.chance(0.5) ? { budget_policy_id: 'bp-1' } : { effective_budget_policy_id: 'bp_2' })),
      ...(r.chance(0.3) && { route_optimized: r.chance(0.5) }),
      ...(Object.keys(gateway).length > 0 && { ai_gateway: gateway }),
      ...(r.chance(0.3) && {
        email_notifications: {
          ...(r.chance(0.6) && { on_update_success: r.some(2, (i) => EMAILS[i] as string) }),
          ...(r.chance(0.6) && { on_update_failure: r.some(2, (i) => EMAILS[2 - i] as string) }),
        },
      }),
      ...(r.chance(0.4) && {
        telemetry_config: {
          // a config made from tables is shown with the profile made from them; one naming neither is applied nowhere
          ...(r.chance(0.8) && { telemetry_profile_id: r.pick(['tp-1', 'tp-shared']) }),
          ...(r.chance(0.5) && {
            table_names: {
              ...(r.chance(0.7) && { logs_table: r.pick(['main.obs.logs', 'ml.serving.chat_logs']) }),
              ...(r.chance(0.5) && { traces_table: 'main.obs.traces' }),
              ...(r.chance(0.3) && { metrics_table: 'main.obs.metrics' }),
              ...(r.chance(0.2) && { annotations_table: 'main.obs.annotations' }),
            },
          }),
          ...(r.chance(0.5) && { enabled_telemetry_features: r.some(4, (i) => TELEMETRY_FEATURES[(i + r.int(4)) % 4] as string) }),
          ...(r.chance(0.4) && { inference_table_config: { ...(r.chance(0.5) && { name: 'main.obs.chat_payload' }), ...(r.chance(0.7) && { sampling_fraction: r.pick([0, 0.25, 1]) }) } }),
        },
      }),
    };
    // as the client reads a GET
    return { endpoint: ServingEndpointDetailedSchema.parse(endpoint), info };
  }

  const seeds = Array.from({ length: 400 }, (_, i) => i + 1);
  it.each(seeds)('seed %i', (seed) => {
    const { endpoint, info } = generated(seed);
    const result = translateEndpoint(endpoint, infoFor(info), OPTIONS);
    if (!result.ok) throw new Error(`refused: ${result.reason}\n${JSON.stringify(endpoint)}`);
    const plan = planAfterAdoption(result, endpoint, info);
    expect(plan.action, JSON.stringify({ endpoint, spec: result.object.spec })).toEqual({ type: 'none' });
    for (const c of plan.status.conditions ?? []) {
      if (c.type === 'Ready' || c.type.endsWith('Synced')) expect(`${c.type}=${c.status} ${c.message ?? ''}`).toMatch(new RegExp(`^${c.type}=True`));
    }
  });

  it('the seeds reach every spec field import writes (so the property covers them)', () => {
    const seen = new Map<string, number>();
    const count = (what: string, present: unknown) => present !== undefined && present !== false && seen.set(what, (seen.get(what) ?? 0) + 1);
    for (const seed of seeds) {
      const { endpoint, info } = generated(seed);
      const result = translateEndpoint(endpoint, infoFor(info), OPTIONS);
      if (!result.ok) continue;
      const spec = result.object.spec;
      const gateway = spec.aiGateway;
      const fields: Record<string, unknown> = {
        tokensPerSecond: 'tokensPerSecond' in spec.throughput ? spec.throughput.tokensPerSecond : undefined,
        modelUnits: 'modelUnits' in spec.throughput ? spec.throughput.modelUnits : undefined,
        burstScalingOff: spec.burstScaling === false,
        tags: spec.tags,
        description: spec.description,
        budgetPolicyId: spec.budgetPolicyId,
        routeOptimized: spec.routeOptimized,
        notifications: spec.notifications,
        telemetryProfile: spec.telemetry?.profileId,
        telemetryTables: spec.telemetry?.tables,
        telemetryFeatures: spec.telemetry?.features,
        telemetrySampling: spec.telemetry?.inferenceTable,
        usageTracking: gateway?.usageTracking,
        inferenceTablesOn: gateway?.inferenceTables?.enabled,
        inferenceTablesOff: gateway?.inferenceTables?.enabled === false,
        inputGuardrails: gateway?.guardrails?.input,
        outputGuardrails: gateway?.guardrails?.output,
        rateLimitWithPrincipal: gateway?.rateLimits?.some((l) => l.principal !== undefined),
        fallback: gateway?.fallback,
      };
      for (const [what, present] of Object.entries(fields)) count(what, present);
    }
    const rare = Object.entries(Object.fromEntries(seen)).filter(([, n]) => n < 10);
    expect(rare).toEqual([]);
    expect(seen.size).toBe(19);
  });
});
