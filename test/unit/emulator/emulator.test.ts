// The lifecycle through the emulator core, on a frozen clock moved by hand.
import { describe, expect, it } from 'vitest';
import type { ApiError } from '../../../src/emulator/errors.js';
import { Emulator } from '../../../src/emulator/emulator.js';
import { TIMED_OUT_MESSAGE } from '../../../src/emulator/lifecycle.js';
import type { ScenarioInput } from '../../../src/emulator/scenario.js';

const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';
const MINUTE = 60_000;

function frozen(scenario: ScenarioInput = {}): Emulator {
  return new Emulator({ scenario: { ...scenario, timing: { rolloutSeconds: 600, ...scenario.timing } }, speed: 0 });
}

const llamaConfig = (max: number, version = '3') => ({
  served_entities: [{ entity_name: LLAMA, entity_version: version, min_provisioned_throughput: 0, max_provisioned_throughput: max }],
});

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected an ApiError');
}

describe('endpoint lifecycle', () => {
  it('creates NOT_READY/IN_PROGRESS with only a pending config, then becomes READY after the rollout time', () => {
    const emu = frozen();
    const created = emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    expect(created.state).toEqual({ ready: 'NOT_READY', config_update: 'IN_PROGRESS', suspend: 'NOT_SUSPENDED' });
    expect(created.config).toBeUndefined();
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);
    expect(created.creation_timestamp).toBe(emu.now());
    expect(created.pending_config).toMatchObject({
      config_version: 1,
      start_time: emu.now(),
      served_entities: [{ state: { deployment: 'DEPLOYMENT_CREATING', deployment_state_message: 'Creating resources for served entity.' } }],
    });

    emu.advance(10 * MINUTE - 1);
    expect(emu.getEndpoint('llama').state?.config_update).toBe('IN_PROGRESS');
    emu.advance(1);
    const ready = emu.getEndpoint('llama');
    expect(ready.state).toMatchObject({ ready: 'READY', config_update: 'NOT_UPDATING' });
    expect(ready.pending_config).toBeUndefined();
    expect(ready.config?.served_entities?.[0]?.state).toEqual({ deployment: 'DEPLOYMENT_READY', deployment_state_message: '' });
    expect(ready.last_updated_timestamp).toBe(emu.now());
  });

  // Reference §2.6: endpoint_url (and data_plane_info.query_info.endpoint_url) only when route-optimized; the
  // operator reports it as status.endpointUrl, the URL such an endpoint is queried at.
  it('a route-optimized endpoint has its own query URL; another has none', () => {
    const emu = frozen();
    const optimized = emu.createEndpoint({ name: 'fast', route_optimized: true, config: llamaConfig(980) });
    expect(optimized.endpoint_url).toBe(`https://${optimized.id}.serving.emulator.invalid/serving-endpoints/fast/invocations`);
    expect(optimized.data_plane_info).toEqual({ query_info: { endpoint_url: optimized.endpoint_url } });
    expect(emu.getEndpoint('fast').endpoint_url).toBe(optimized.endpoint_url);
    const plain = emu.createEndpoint({ name: 'plain', config: llamaConfig(980) });
    expect(plain.endpoint_url).toBeUndefined();
    expect(plain.data_plane_info).toBeUndefined();
  });

  // Reference §8 (REF create): auto_capture_config "is deprecated for creating new provisioned throughput endpoints …
  // please use AI Gateway to manage inference tables". Accepting and dropping it let a config that uses it pass here.
  it('refuses auto_capture_config on a new provisioned-throughput endpoint, naming the AI Gateway instead', () => {
    const emu = frozen();
    const error = apiError(() =>
      emu.createEndpoint({ name: 'legacy', config: { ...llamaConfig(980), auto_capture_config: { catalog_name: 'main', schema_name: 'logs', enabled: true } } }),
    );
    expect(error).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    expect(error.message).toContain('auto_capture_config is deprecated for creating new provisioned throughput endpoints');
    expect(error.message).toContain('AI Gateway');
    expect(apiError(() => emu.getEndpoint('legacy'))).toMatchObject({ status: 404 });
  });

  // Reference §2.2/§2.5: an older endpoint may have a legacy inference table; GET shows it with its state, a
  // config PUT replaces it with the one it carries (none when it carries none), and its catalog, schema and prefix
  // cannot change while it is enabled.
  it('keeps a legacy inference table of an existing endpoint through a PUT that carries it, and drops it on one that does not', () => {
    const autoCapture = { catalog_name: 'main', schema_name: 'default', table_name_prefix: 'ac', enabled: true };
    const emu = frozen({ endpoints: [{ name: 'autocap', config: { ...llamaConfig(980), auto_capture_config: autoCapture } }] });
    expect(emu.getEndpoint('autocap').config?.auto_capture_config).toEqual({
      ...autoCapture,
      state: { payload_table: { name: 'ac_payload', status: 'ACTIVE', status_message: expect.any(String) } },
    });
    emu.updateConfig('autocap', { ...llamaConfig(1960), auto_capture_config: autoCapture });
    expect(emu.getEndpoint('autocap').pending_config?.auto_capture_config).toMatchObject(autoCapture);
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('autocap').config).toMatchObject({ auto_capture_config: autoCapture, served_entities: [{ max_provisioned_throughput: 1960 }] });
    expect(apiError(() => emu.updateConfig('autocap', { ...llamaConfig(980), auto_capture_config: { ...autoCapture, schema_name: 'other' } }))).toMatchObject({
      status: 400,
      errorCode: 'INVALID_PARAMETER_VALUE',
    });
    emu.updateConfig('autocap', llamaConfig(980));
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('autocap').config?.auto_capture_config).toBeUndefined();
  });

  // Databricks' legacy inference table page (docs.databricks.com/machine-learning/model-serving/enable-model-serving-inference-tables):
  // "Starting February 20, 2026, legacy inference tables can not be enabled on new or existing model serving endpoints."
  // A config PUT that turns one on (none before, or a disabled one) is refused; one that keeps an enabled table as it
  // is, or disables it, still goes through (the operator keeps an adopted endpoint's table that way).
  it('refuses to enable a legacy inference table with a config PUT, and still keeps or disables an enabled one', () => {
    const autoCapture = { catalog_name: 'main', schema_name: 'default', table_name_prefix: 'ac', enabled: true };
    const emu = frozen({ endpoints: [{ name: 'autocap', config: { ...llamaConfig(980), auto_capture_config: autoCapture } }, { name: 'plain', config: llamaConfig(980) }] });

    const enable = apiError(() => emu.updateConfig('plain', { ...llamaConfig(1960), auto_capture_config: autoCapture }));
    expect([enable.status, enable.errorCode]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
    expect(enable.message).toContain('AI Gateway');
    expect(emu.getEndpoint('plain').pending_config).toBeUndefined();
    // enabled left out means enabled, as GET shows it
    const { enabled: _enabled, ...implicitlyEnabled } = autoCapture;
    expect(apiError(() => emu.updateConfig('plain', { ...llamaConfig(1960), auto_capture_config: implicitlyEnabled })).status).toBe(400);

    emu.updateConfig('autocap', { ...llamaConfig(1960), auto_capture_config: autoCapture });
    emu.advance(10 * MINUTE);
    emu.updateConfig('autocap', { ...llamaConfig(980), auto_capture_config: { ...autoCapture, enabled: false } });
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('autocap').config?.auto_capture_config).toMatchObject({ enabled: false });
    const again = apiError(() => emu.updateConfig('autocap', { ...llamaConfig(1960), auto_capture_config: autoCapture }));
    expect([again.status, again.errorCode]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
  });

  // A scenario's endpoints stand for endpoints made through the API: their AI Gateway gets the same checks and the
  // same server-filled defaults (table_name_prefix, usage tracking off) as a create's, and their description is checked.
  it('a seeded endpoint gets the AI Gateway and description a create would give it', () => {
    const gateway = { inference_table_config: { catalog_name: 'main', schema_name: 'default', enabled: true } };
    const seeded = frozen({ endpoints: [{ name: 'seeded', config: llamaConfig(980), ai_gateway: gateway }] }).getEndpoint('seeded');
    const created = frozen().createEndpoint({ name: 'seeded', config: llamaConfig(980), ai_gateway: gateway });
    expect(seeded.ai_gateway).toEqual(created.ai_gateway);
    expect(seeded.ai_gateway?.inference_table_config?.table_name_prefix).toBe('seeded');
    expect(() => frozen({ endpoints: [{ name: 'bad', config: llamaConfig(980), ai_gateway: { inference_table_config: { catalog_name: 'nocatalog', schema_name: 'x', enabled: true } } }] })).toThrow(
      "Catalog 'nocatalog' does not exist.",
    );
    expect(() => frozen({ endpoints: [{ name: 'long', config: llamaConfig(980), description: 'x'.repeat(1001) }] })).toThrow(/at most 1000 characters/);
  });

  it("echoes what a served entity was given beside its throughput: its environment variables and instance profile (ServedEntityOutput is the input's fields and more)", () => {
    const arn = 'arn:aws:iam::123456789012:instance-profile/genai-serving';
    const entity = { ...llamaConfig(980).served_entities[0], environment_vars: { LOG_LEVEL: 'debug' }, instance_profile_arn: arn };
    const endpoint = frozen({ endpoints: [{ name: 'profiled', config: { served_entities: [entity] } }] }).getEndpoint('profiled');
    expect(endpoint.config?.served_entities?.[0]).toMatchObject({ environment_vars: { LOG_LEVEL: 'debug' }, instance_profile_arn: arn });
  });

  it('keeps the old config serving during an update, refuses a second update with 409, then bumps config_version', () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    emu.advance(10 * MINUTE);
    const updating = emu.updateConfig('llama', llamaConfig(1960));
    expect(updating.state).toMatchObject({ ready: 'READY', config_update: 'IN_PROGRESS' });
    expect(updating.config?.served_entities?.[0]?.max_provisioned_throughput).toBe(980);
    expect(updating.pending_config?.config_version).toBe(2);
    expect(updating.pending_config?.served_entities?.[0]?.max_provisioned_throughput).toBe(1960);

    const conflict = apiError(() => emu.updateConfig('llama', llamaConfig(2940)));
    expect([conflict.status, conflict.errorCode]).toEqual([409, 'RESOURCE_CONFLICT']);
    const ptConflict = apiError(() => emu.updatePtConfig('llama', { config: { served_entities: [{ entity_name: 'system.ai.gpt-oss-120b', entity_version: '1', provisioned_model_units: 50 }] } }));
    expect(ptConflict.status).toBe(409);

    emu.advance(10 * MINUTE);
    const done = emu.getEndpoint('llama');
    expect(done.config).toMatchObject({ config_version: 2, served_entities: [{ max_provisioned_throughput: 1960 }] });
  });

  // Terraform provider PR #5188: "The model serving API returns served_models and served_entities in non-deterministic
  // order (typically alphabetically by name)"; reference §5.1 and its TL;DR ("don't diff on ... entity ordering"). The
  // emulator answers them by name, whatever order the request had, so a client that compares lists by position meets
  // what a real workspace gives it.
  it('answers served entities and served models ordered by name, not in the order the request gave them', () => {
    const emu = frozen();
    const entity = (name: string, version: string) => ({ name, entity_name: LLAMA, entity_version: version, min_provisioned_throughput: 0, max_provisioned_throughput: 980 });
    const split = {
      served_entities: [entity('canary', '3'), entity('baseline', '2')],
      traffic_config: { routes: [{ served_entity_name: 'canary', traffic_percentage: 10 }, { served_entity_name: 'baseline', traffic_percentage: 90 }] },
    };
    const names = (list: { name?: string }[] | undefined) => list?.map((e) => e.name);
    expect(names(emu.createEndpoint({ name: 'split', config: split }).pending_config?.served_entities)).toEqual(['baseline', 'canary']);
    emu.advance(10 * MINUTE);
    expect(names(emu.getEndpoint('split').config?.served_entities)).toEqual(['baseline', 'canary']);
    expect(names(emu.listEndpoints().endpoints?.[0]?.config?.served_entities)).toEqual(['baseline', 'canary']);

    const models = [
      { name: 'zeta', model_name: LLAMA, model_version: '3', scale_to_zero_enabled: false, min_provisioned_throughput: 0, max_provisioned_throughput: 980 },
      { name: 'alpha', model_name: LLAMA, model_version: '2', scale_to_zero_enabled: false, min_provisioned_throughput: 0, max_provisioned_throughput: 980 },
    ];
    const legacy = emu.createEndpoint({ name: 'legacy', config: { served_models: models, traffic_config: { routes: [{ served_model_name: 'zeta', traffic_percentage: 50 }, { served_model_name: 'alpha', traffic_percentage: 50 }] } } });
    expect(names(legacy.pending_config?.served_models)).toEqual(['alpha', 'zeta']);
    expect(names(legacy.pending_config?.served_entities)).toEqual(['alpha', 'zeta']);
  });

  it('answers 404 RESOURCE_DOES_NOT_EXIST for a missing endpoint and 409 RESOURCE_ALREADY_EXISTS for a duplicate', () => {
    const emu = frozen();
    expect(apiError(() => emu.getEndpoint('nope')).body()).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: "Endpoint with name 'nope' does not exist." });
    expect(apiError(() => emu.deleteEndpoint('nope')).status).toBe(404);
    expect(apiError(() => emu.updateConfig('nope', llamaConfig(980))).status).toBe(404);
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    expect(apiError(() => emu.createEndpoint({ name: 'llama', config: llamaConfig(980) })).errorCode).toBe('RESOURCE_ALREADY_EXISTS');
  });

  it('lists summaries without entity state, and omits the list when empty', () => {
    const emu = frozen();
    expect(emu.listEndpoints()).toEqual({});
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980), tags: [{ key: 'team', value: 'ml' }] });
    emu.advance(10 * MINUTE);
    const [summary] = emu.listEndpoints().endpoints ?? [];
    expect(summary?.config?.served_entities?.[0]).toEqual({
      name: 'meta_llama_v3_1_8b_instruct-3',
      entity_name: LLAMA,
      entity_version: '3',
      type: 'FOUNDATION_MODEL',
      foundation_model: { name: LLAMA, display_name: 'Meta Llama 3.1 8B Instruct' },
    });
    expect(summary?.tags).toEqual([{ key: 'team', value: 'ml' }]);
  });

  // GO/PY EndpointCoreConfigSummary: served_entities and the deprecated served_models (ServedModelSpec: name,
  // model_name, model_version), as the detailed GET echoes both lists for a request that used served_models.
  it('lists the served models of an endpoint made with the deprecated served_models, beside its served entities', () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'legacy', config: { served_models: [{ name: 'llama', model_name: LLAMA, model_version: '3', max_provisioned_throughput: 980, scale_to_zero_enabled: false }] } });
    emu.createEndpoint({ name: 'modern', config: llamaConfig(980) });
    emu.advance(10 * MINUTE);
    const byName = Object.fromEntries((emu.listEndpoints().endpoints ?? []).map((e) => [e.name, e]));
    expect(byName.legacy?.config?.served_models).toEqual([{ name: 'llama', model_name: LLAMA, model_version: '3' }]);
    expect(byName.legacy?.config?.served_entities?.map((e) => e.name)).toEqual(['llama']);
    expect(byName.modern?.config).not.toHaveProperty('served_models');
  });

  it("lists an endpoint's AI Gateway with its summary, as the SDKs' list item (ServingEndpoint.ai_gateway) carries it", () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'gated', config: llamaConfig(980), ai_gateway: { usage_tracking_config: { enabled: true } } });
    emu.createEndpoint({ name: 'plain', config: llamaConfig(980) });
    const byName = Object.fromEntries((emu.listEndpoints().endpoints ?? []).map((e) => [e.name, e]));
    expect(byName.gated?.ai_gateway).toEqual(emu.getEndpoint('gated').ai_gateway);
    expect(byName.gated?.ai_gateway).toMatchObject({ usage_tracking_config: { enabled: true } });
    expect(byName.plain).not.toHaveProperty('ai_gateway');
  });

  it("lists an endpoint's telemetry config with its summary, as the SDKs' list item (ServingEndpoint.telemetry_config) carries it", () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'traced', config: llamaConfig(980), telemetry_config: { telemetry_profile_id: 'tp-1' } });
    emu.createEndpoint({ name: 'plain', config: llamaConfig(980) });
    const byName = Object.fromEntries((emu.listEndpoints().endpoints ?? []).map((e) => [e.name, e]));
    expect(byName.traced?.telemetry_config).toEqual(emu.getEndpoint('traced').telemetry_config);
    expect(byName.traced?.telemetry_config).toMatchObject({ telemetry_profile_id: 'tp-1' });
    expect(byName.plain).not.toHaveProperty('telemetry_config');
  });

  it('patches tags and deletes', () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980), tags: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] });
    expect(emu.patchTags('llama', { add_tags: [{ key: 'c', value: '3' }], delete_tags: ['a'] })).toEqual({
      tags: [{ key: 'b', value: '2' }, { key: 'c', value: '3' }],
    });
    expect(emu.deleteEndpoint('llama')).toEqual({});
    expect(apiError(() => emu.getEndpoint('llama')).status).toBe(404);
  });

  it('a tags PATCH answers the whole tag list, left out when the endpoint has none, as GET and list leave it out', () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'bare', config: llamaConfig(980) });
    // Terraform's tag update sends an empty PATCH when the endpoint's tags already match; the JavaScript SDK sends none.
    expect(emu.patchTags('bare', {})).toEqual({});
    expect(emu.patchTags('bare', { add_tags: [], delete_tags: [] })).toEqual({});
    emu.createEndpoint({ name: 'tagged', config: llamaConfig(980), tags: [{ key: 'team', value: 'ml' }] });
    expect(emu.patchTags('tagged', { add_tags: [], delete_tags: [] })).toEqual({ tags: [{ key: 'team', value: 'ml' }] });
    expect(emu.patchTags('tagged', { delete_tags: ['team'] })).toEqual({});
    expect(emu.getEndpoint('tagged').tags).toBeUndefined();
  });

  it('answers get-model-optimization-info from the catalog', () => {
    const emu = frozen();
    expect(emu.optimizationInfo(LLAMA, '3')).toEqual({ optimizable: true, model_type: 'llama', throughput_chunk_size: 980 });
    expect(emu.optimizationInfo('system.ai.gpt-oss-120b', '1')).toEqual({ optimizable: true, model_type: 'gpt_oss', model_unit_chunk_size: 50 });
    expect(emu.optimizationInfo('system.ai.meta_llama_v3_1_8b', '1')).toEqual({ optimizable: false });
    expect(apiError(() => emu.optimizationInfo('main.default.nope', '1')).status).toBe(404);
  });

  it('tolerates unknown fields and reports type errors as INVALID_PARAMETER_VALUE', () => {
    const emu = frozen();
    expect(emu.createEndpoint({ name: 'llama', config: llamaConfig(980), some_future_field: { x: 1 } }).name).toBe('llama');
    expect(apiError(() => emu.createEndpoint({ config: llamaConfig(980) })).body()).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: 'Missing required field: name',
    });
  });
});

describe('capacity and deployment faults', () => {
  it('GPU shortage: the update stays IN_PROGRESS for the rollout time, then UPDATE_FAILED with the old config still serving', () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    emu.advance(10 * MINUTE);
    emu.addFault({ type: 'capacity', model: LLAMA, attempts: 1 });
    emu.updateConfig('llama', llamaConfig(1960));
    emu.advance(10 * MINUTE - 1);
    expect(emu.getEndpoint('llama').state?.config_update).toBe('IN_PROGRESS');
    emu.advance(1);
    const failed = emu.getEndpoint('llama');
    expect(failed.state).toMatchObject({ ready: 'READY', config_update: 'UPDATE_FAILED' });
    expect(failed.config).toMatchObject({ config_version: 1, served_entities: [{ max_provisioned_throughput: 980, state: { deployment: 'DEPLOYMENT_READY' } }] });
    expect(failed.pending_config?.served_entities?.[0]?.state).toEqual({ deployment: 'DEPLOYMENT_ABORTED', deployment_state_message: TIMED_OUT_MESSAGE });

    // The fault was for one attempt: a retry succeeds.
    emu.updateConfig('llama', llamaConfig(1960));
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('llama')).toMatchObject({ state: { config_update: 'NOT_UPDATING' }, config: { config_version: 3 } });
  });

  it('a create short of capacity stays NOT_READY with UPDATE_FAILED and no config', () => {
    const emu = frozen({ timing: { rolloutSeconds: 600, capacityTimeoutSeconds: 3600 } });
    emu.addFault({ type: 'capacity' });
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    emu.advance(59 * MINUTE);
    expect(emu.getEndpoint('llama').state?.config_update).toBe('IN_PROGRESS');
    emu.advance(MINUTE);
    const failed = emu.getEndpoint('llama');
    expect(failed.state).toMatchObject({ ready: 'NOT_READY', config_update: 'UPDATE_FAILED' });
    expect(failed.config).toBeUndefined();
  });

  it('a shortage window ends: attempts started after it succeed; other models are unaffected', () => {
    const emu = frozen();
    emu.addFault({ type: 'capacity', model: LLAMA, forSeconds: 3600 });
    emu.createEndpoint({ name: 'gte', config: { served_entities: [{ entity_name: 'system.ai.gte_large_en_v1_5', entity_version: '1', max_provisioned_throughput: 980 }] } });
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('gte').state?.config_update).toBe('NOT_UPDATING');
    expect(emu.getEndpoint('llama').state?.config_update).toBe('UPDATE_FAILED');
    emu.advance(50 * MINUTE);
    emu.updateConfig('llama', llamaConfig(980));
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('llama').state).toMatchObject({ ready: 'READY', config_update: 'NOT_UPDATING' });
  });

  it('other deployment failures end in DEPLOYMENT_FAILED with their message', () => {
    const emu = frozen();
    emu.addFault({ type: 'deploymentFailure', message: 'no online store', attempts: 1 });
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('llama').pending_config?.served_entities?.[0]?.state).toEqual({ deployment: 'DEPLOYMENT_FAILED', deployment_state_message: 'no online store' });
  });
});

describe('workspace limit on create/update operations', () => {
  it('answers 429 REQUEST_LIMIT_EXCEEDED with Retry-After once 50 operations happened within 5 minutes', () => {
    const emu = frozen();
    for (let i = 0; i < 50; i++) emu.createEndpoint({ name: `ep-${i}` });
    const throttled = apiError(() => emu.createEndpoint({ name: 'one-too-many' }));
    expect([throttled.status, throttled.errorCode]).toEqual([429, 'REQUEST_LIMIT_EXCEEDED']);
    expect(throttled.headers['Retry-After']).toBe('300');
    emu.advance(5 * MINUTE);
    expect(emu.createEndpoint({ name: 'one-too-many' }).name).toBe('one-too-many');
  });
});

describe('workspace limit on endpoints', () => {
  const mu = { served_entities: [{ entity_name: 'system.ai.gpt-oss-120b', entity_version: '1', provisioned_model_units: 50 }] };

  it('refuses a create past limits.endpointsPerWorkspace with 400 QUOTA_EXCEEDED, not a 429 the SDKs would retry for minutes; seeded endpoints count, a delete frees a place', () => {
    const emu = frozen({ limits: { endpointsPerWorkspace: 2 }, endpoints: [{ name: 'seeded', config: llamaConfig(980) }] });
    emu.createEndpoint({ name: 'second', config: llamaConfig(980) });
    const refused = apiError(() => emu.createEndpoint({ name: 'third', config: llamaConfig(980) }));
    expect([refused.status, refused.errorCode, refused.message]).toEqual([400, 'QUOTA_EXCEEDED', 'The quota for the number of serving endpoints has been reached. The current quota is 2.']);
    expect(apiError(() => emu.createPtEndpoint({ name: 'third', config: mu })).errorCode).toBe('QUOTA_EXCEEDED');
    // A taken name is still the duplicate it is.
    expect(apiError(() => emu.createEndpoint({ name: 'second' })).errorCode).toBe('RESOURCE_ALREADY_EXISTS');
    emu.deleteEndpoint('second');
    expect(emu.createPtEndpoint({ name: 'third', config: mu }).name).toBe('third');
  });

  it('is the documented 1000 by default', () => {
    const emu = frozen({ limits: { mutationsPerWindow: 2000 } });
    for (let i = 0; i < 1000; i++) emu.createEndpoint({ name: `ep-${i}` });
    expect(apiError(() => emu.createEndpoint({ name: 'ep-1000' })).errorCode).toBe('QUOTA_EXCEEDED');
  });
});

describe('out-of-band edits (a change in the Databricks UI)', () => {
  it('instant: the new throughput serves at once with a new config_version; rolling: a normal rollout', () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'llama', config: llamaConfig(980) });
    emu.advance(4 * MINUTE);
    expect(emu.budget.used(emu.now())).toBe(1);
    emu.advance(6 * MINUTE);
    const budgetBefore = emu.budget.used(emu.now());
    const instant = emu.editEndpoint('llama', { entities: [{ max_provisioned_throughput: 2940 }], tags: { add: [{ key: 'edited', value: 'ui' }] } });
    expect(instant).toMatchObject({ state: { config_update: 'NOT_UPDATING' }, config: { config_version: 2, served_entities: [{ max_provisioned_throughput: 2940 }] }, tags: [{ key: 'edited', value: 'ui' }] });
    const rolling = emu.editEndpoint('llama', { entities: [{ entity_version: '2' }], mode: 'rolling' });
    expect(rolling.state?.config_update).toBe('IN_PROGRESS');
    expect(rolling.pending_config?.served_entities?.[0]).toMatchObject({ entity_version: '2', max_provisioned_throughput: 2940 });
    expect(emu.calls.query()).toEqual([]);
    expect(emu.budget.used(emu.now())).toBe(budgetBefore);
  });

  it('reset returns to the scenario: seeded endpoints READY, faults re-installed, nothing else', () => {
    const emu = frozen({ endpoints: [{ name: 'seeded', config: llamaConfig(980) }], faults: [{ type: 'capacity', model: 'system.ai.dbrx_instruct' }] });
    expect(emu.getEndpoint('seeded')).toMatchObject({ state: { ready: 'READY', config_update: 'NOT_UPDATING' }, config: { config_version: 1 } });
    emu.createEndpoint({ name: 'extra' });
    emu.addFault({ type: 'unavailable' });
    emu.reset();
    expect(emu.endpoints().map((e) => e.name)).toEqual(['seeded']);
    expect(emu.faults.list().map((f) => f.spec.type)).toEqual(['capacity']);
  });
});

// Reference §2.3: min/max_provisioned_concurrency size a custom model's entity, "exclusive with workload_size" (the
// SDKs' field docs: "Do not use if workload_size is specified"); the Databricks CLI's test server echoes them on GET.
describe('a served entity sized by provisioned concurrency (not provisioned throughput)', () => {
  const BASE = 'system.ai.meta_llama_v3_1_8b';

  it('is taken without workload_size and echoed on GET, in served_entities and in served_models', () => {
    const emu = frozen();
    emu.createEndpoint({ name: 'custom', config: { served_entities: [{ name: 'base', entity_name: BASE, entity_version: '1', min_provisioned_concurrency: 4, max_provisioned_concurrency: 8, scale_to_zero_enabled: true }] } });
    emu.advance(10 * MINUTE);
    const [entity] = emu.getEndpoint('custom').config?.served_entities ?? [];
    expect(entity).toMatchObject({ name: 'base', min_provisioned_concurrency: 4, max_provisioned_concurrency: 8, scale_to_zero_enabled: true });
    expect(entity).not.toHaveProperty('workload_size');

    emu.createEndpoint({ name: 'legacy', config: { served_models: [{ name: 'base', model_name: BASE, model_version: '1', min_provisioned_concurrency: 0, max_provisioned_concurrency: 4, scale_to_zero_enabled: true }] } });
    emu.advance(10 * MINUTE);
    expect(emu.getEndpoint('legacy').config?.served_models?.[0]).toMatchObject({ min_provisioned_concurrency: 0, max_provisioned_concurrency: 4 });
  });

  it('is refused with workload_size too (400), and with min above max', () => {
    const emu = frozen();
    const both = apiError(() =>
      emu.createEndpoint({ name: 'both', config: { served_entities: [{ entity_name: BASE, entity_version: '1', workload_size: 'Small', min_provisioned_concurrency: 4, max_provisioned_concurrency: 8 }] } }),
    );
    expect({ status: both.status, code: both.errorCode }).toEqual({ status: 400, code: 'INVALID_PARAMETER_VALUE' });
    const inverted = apiError(() =>
      emu.createEndpoint({ name: 'inverted', config: { served_entities: [{ entity_name: BASE, entity_version: '1', min_provisioned_concurrency: 8, max_provisioned_concurrency: 4 }] } }),
    );
    expect({ status: inverted.status, code: inverted.errorCode }).toEqual({ status: 400, code: 'INVALID_PARAMETER_VALUE' });
    expect(emu.endpoints()).toEqual([]);
  });
});
