import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type DesiredServing,
  createRequest,
  diffServing,
  keepingUnmanagedFields,
  keptEntityFields,
  observeConfig,
  resolveDesired,
  updateRequest,
} from '../../../../src/controllers/endpoint/desired.js';
import { OwnerTag } from '../../../../src/controllers/endpoint/ownership.js';
import {
  MODEL,
  MODEL_UNIT_MODEL,
  NOT_OPTIMIZABLE_MODEL,
  OWNER,
  TOKEN_BAND_MODEL,
  endpointSpec,
  servingConfig,
} from '../fixtures.js';

describe('resolveDesired', () => {
  it.each([
    ['chunks 2-3 of 980', { chunks: { min: 2, max: 3 } }, { minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }],
    ['chunks 0-1 (scale to zero)', { chunks: { min: 0, max: 1 } }, { minTokensPerSecond: 0, maxTokensPerSecond: 980 }],
    ['tokensPerSecond on chunk multiples', { tokensPerSecond: { min: 980, max: 2940 } }, { minTokensPerSecond: 980, maxTokensPerSecond: 2940 }],
  ])('token-band model, %s → tokens per second', (_, throughput, band) => {
    const resolution = resolveDesired(endpointSpec({ throughput }), TOKEN_BAND_MODEL);
    expect(resolution).toEqual({ ok: true, desired: { flavour: 'tokenBand', entityName: MODEL, entityVersion: '3', ...band } });
  });

  it.each([true, false])('model-unit model, modelUnits with burstScaling %s → the /pt flavour', (burstScaling) => {
    const resolution = resolveDesired(endpointSpec({ throughput: { modelUnits: 100 }, burstScaling }), MODEL_UNIT_MODEL);
    expect(resolution).toEqual({
      ok: true,
      desired: { flavour: 'modelUnits', entityName: MODEL, entityVersion: '3', modelUnits: 100, burstScaling },
    });
  });

  it('a model that is not optimizable says how to make it eligible', () => {
    const resolution = resolveDesired(endpointSpec(), NOT_OPTIMIZABLE_MODEL);
    expect(resolution.ok).toBe(false);
    if (resolution.ok) return;
    expect(resolution.reason).toBe('ModelNotOptimizable');
    expect(resolution.message).toContain(`model ${MODEL} version 3 is not eligible for provisioned throughput`);
    expect(resolution.message).toContain('MLflow 2.11');
    expect(resolution.message).toMatch(/llm\/v1\/completions, llm\/v1\/chat or llm\/v1\/embeddings/);
    expect(resolution.message).toMatch(/BGE.*model_type/);
    expect(resolution.message).toContain('Marketplace');
  });

  it.each([
    ['max off the grid', { min: 1960, max: 3000 }, 'throughput.tokensPerSecond.max 3000', '2940 or 3920'],
    ['min off the grid', { min: 1000, max: 2940 }, 'throughput.tokensPerSecond.min 1000', '980 or 1960'],
    ['below one chunk', { min: 0, max: 500 }, 'throughput.tokensPerSecond.max 500', 'use 980'],
    // the multiple above would be refused at admission (int32): only the one below is offered
    ['the largest value admission takes', { min: 0, max: 2_147_483_647 }, 'throughput.tokensPerSecond.max 2147483647', 'use 2147482820, or throughput.chunks'],
  ])('tokensPerSecond with %s → InvalidSpec naming the nearest multiples', (_, band, field, nearest) => {
    const resolution = resolveDesired(endpointSpec({ throughput: { tokensPerSecond: band } }), TOKEN_BAND_MODEL);
    expect(resolution).toMatchObject({ ok: false, reason: 'InvalidSpec' });
    if (resolution.ok) return;
    expect(resolution.message).toContain(field);
    expect(resolution.message).toContain('chunk size 980');
    expect(resolution.message).toContain(nearest);
  });

  // A min below one chunk may go down to 0 (scale to zero), which admission takes: both are offered.
  it('tokensPerSecond.min below one chunk → InvalidSpec offering 0 (scale to zero) or one chunk', () => {
    const resolution = resolveDesired(endpointSpec({ throughput: { tokensPerSecond: { min: 500, max: 1960 } } }), TOKEN_BAND_MODEL);
    expect(resolution).toMatchObject({ ok: false, reason: 'InvalidSpec', message: expect.stringContaining('tokensPerSecond.min 500 is not a multiple of the model\'s chunk size 980 tokens/s: use 0 or 980') });
  });

  // A new tenant's commonest slip: chunk counts (README's {min: 2, max: 3}) written under tokensPerSecond. The fix is
  // the other field, not 980 tokens/s: the message says what the numbers mean as chunks.
  it('tokensPerSecond that reads as chunk counts → InvalidSpec that offers throughput.chunks with the same numbers', () => {
    const resolution = resolveDesired(endpointSpec({ throughput: { tokensPerSecond: { min: 2, max: 3 } } }), TOKEN_BAND_MODEL);
    expect(resolution).toMatchObject({ ok: false, reason: 'InvalidSpec' });
    if (resolution.ok) return;
    expect(resolution.message).toContain('if 2 and 3 are chunks, write throughput.chunks: {min: 2, max: 3} (1960-2940 tokens/s)');
    // and the suggestion is a spec the model takes
    expect(resolveDesired(endpointSpec({ throughput: { chunks: { min: 2, max: 3 } } }), TOKEN_BAND_MODEL)).toMatchObject({ ok: true, desired: { minTokensPerSecond: 1960, maxTokensPerSecond: 2940 } });
    // docs/concepts.md quotes it as the operator writes it
    const concepts = readFileSync(new URL('../../../../docs/concepts.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(concepts).toContain(`\`${resolution.message}\``);
  });

  it.each([
    ['modelUnits on a token-band model', { throughput: { modelUnits: 50 } }, TOKEN_BAND_MODEL, /use throughput\.chunks or throughput\.tokensPerSecond/],
    ['chunks on a model-unit model', { throughput: { chunks: { min: 1, max: 2 } } }, MODEL_UNIT_MODEL, /use throughput\.modelUnits/],
    ['tokensPerSecond on a model-unit model', { throughput: { tokensPerSecond: { min: 0, max: 980 } } }, MODEL_UNIT_MODEL, /use throughput\.modelUnits/],
    ['modelUnits not a multiple of the unit chunk', { throughput: { modelUnits: 70 } }, MODEL_UNIT_MODEL, /not a multiple .* 50: use 50 or 100/],
    // 2147483647 chunks of 980 would be sent as 2104533974060 tokens/s; Databricks types it as int32.
    ['chunks whose tokens per second exceed int32', { throughput: { chunks: { min: 1, max: 2_147_483_647 } } }, TOKEN_BAND_MODEL, /exceeds .* \(2147483647 tokens\/s\): use at most 2191309 chunks/],
  ])('%s → InvalidSpec that says which form to use', (_, spec, info, expected) => {
    const resolution = resolveDesired(endpointSpec(spec), info);
    expect(resolution).toMatchObject({ ok: false, reason: 'InvalidSpec', message: expect.stringMatching(expected) });
  });
});

describe('observeConfig', () => {
  it('has nothing to observe on a fresh endpoint (no config yet)', () => {
    expect(observeConfig(undefined)).toBeUndefined();
  });

  it('reads the fields the operator manages from a served config', () => {
    expect(observeConfig(servingConfig(7, { version: '4', min: 980, max: 1960 }))).toEqual({
      entityCount: 1,
      entities: [{ name: 'meta_llama_v3_1_8b_instruct-4', entityName: 'system.ai.meta_llama_v3_1_8b_instruct', entityVersion: '4', minTokensPerSecond: 980, maxTokensPerSecond: 1960, modelUnits: undefined, share: 100 }],
      entityName: MODEL,
      entityVersion: '4',
      minTokensPerSecond: 980,
      maxTokensPerSecond: 1960,
      modelUnits: undefined,
      burstScaling: undefined,
      configVersion: 7,
    });
  });
});

describe('observeConfig: a token band whose min Databricks left out (it may omit zero values)', () => {
  const withoutMin = (max: number | undefined, units?: number) => {
    const config = servingConfig(3, units !== undefined ? { units } : { min: 0, max: max ?? 0 });
    const entity = config.served_entities?.[0];
    if (!entity) throw new Error('fixture has an entity');
    delete entity.min_provisioned_throughput;
    if (max === undefined) delete entity.max_provisioned_throughput;
    return observeConfig(config);
  };

  it.each([
    ['a max without a min is a band from 0', withoutMin(1960), 0],
    ['no max either (model units): no band, no min', withoutMin(undefined, 50), undefined],
  ])('%s', (_, observed, min) => {
    expect(observed?.minTokensPerSecond).toBe(min);
    expect(observed?.entities[0]?.minTokensPerSecond).toBe(min);
  });

  it('equals the 0-1960 band import writes for it: no difference, so no config PUT (was one every reconcile)', () => {
    const imported: DesiredServing = { flavour: 'tokenBand', entityName: MODEL, entityVersion: '3', minTokensPerSecond: 0, maxTokensPerSecond: 1960 };
    expect(diffServing(imported, withoutMin(1960))).toEqual([]);
  });
});

describe('diffServing', () => {
  const tokenBand: DesiredServing = { flavour: 'tokenBand', entityName: MODEL, entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 };
  const units: DesiredServing = { flavour: 'modelUnits', entityName: MODEL, entityVersion: '3', modelUnits: 100, burstScaling: true };
  const observed = (options: Parameters<typeof servingConfig>[1]) => observeConfig(servingConfig(2, options));

  it.each([
    ['the same token band, with server-chosen workload type/size and scale_to_zero_enabled false', tokenBand, observed({})],
    ['the same model units, burst_scaling_enabled not echoed', units, observed({ units: 100 })],
    ['the same model units, burst_scaling_enabled echoed as desired', units, observed({ units: 100, burstScaling: true })],
  ])('no difference: %s', (_, desired, actual) => {
    expect(diffServing(desired, actual)).toEqual([]);
  });

  it('ignores server-filled fields wholesale: any workload type, size, scale-to-zero, route names, burst flag on a band', () => {
    const config = servingConfig(9, {});
    const entity = config.served_entities?.[0];
    if (!entity) throw new Error('fixture has an entity');
    Object.assign(entity, { workload_type: 'GPU_MEDIUM', workload_size: 'Large', scale_to_zero_enabled: true, burst_scaling_enabled: false, name: 'renamed' });
    config.traffic_config = { routes: [{ served_entity_name: 'renamed', served_model_name: 'renamed', traffic_percentage: 100 }] };
    expect(diffServing(tokenBand, observeConfig(config))).toEqual([]);
  });

  it.each([
    ['nothing served yet', tokenBand, undefined, 'no config is served yet'],
    ['another version', tokenBand, observed({ version: '2' }), 'version 2 → 3'],
    ['another band', tokenBand, observed({ min: 980, max: 1960 }), 'throughput 980-1960 → 1960-2940 tokens/s'],
    ['other model units', units, observed({ units: 50 }), 'model units 50 → 100'],
    ['burst scaling off while desired on', units, observed({ units: 100, burstScaling: false }), 'burst scaling false → true'],
  ])('difference: %s', (_, desired, actual, phrase) => {
    expect(diffServing(desired, actual)).toEqual([phrase]);
  });

  // Unity Catalog names are case-insensitive (kept in lower case): a spec that writes the model in capitals names the
  // same model, and an echo in lower case must not be a difference, or the config would be sent again at every look.
  it('the model named in other letter case is the same model: no difference', () => {
    const capitals = { ...tokenBand, entityName: 'System.AI.Meta_Llama_V3_1_8B_Instruct' };
    expect(diffServing(capitals, observed({}))).toEqual([]);
    const shownInCapitals = servingConfig(2, {});
    shownInCapitals.served_entities = shownInCapitals.served_entities?.map((e) => ({ ...e, entity_name: 'System.AI.Meta_Llama_V3_1_8B_Instruct' }));
    expect(diffServing(tokenBand, observeConfig(shownInCapitals))).toEqual([]);
    expect(diffServing({ ...tokenBand, entityName: 'system.ai.other_model' }, observed({}))).toEqual([`model ${MODEL} → system.ai.other_model`]);
  });

  it('a second served entity is a difference (the operator serves exactly one)', () => {
    const config = servingConfig(2, {});
    config.served_entities = [...(config.served_entities ?? []), ...(servingConfig(2, { version: '2' }).served_entities ?? [])];
    expect(diffServing(tokenBand, observeConfig(config))).toEqual(['2 served entities → 1']);
  });
});

describe('request bodies', () => {
  const ownerTags = { team: 'genai', [OwnerTag.uid]: OWNER.uid, [OwnerTag.object]: 'ml.llama-chat' };

  it('a token-band create goes to the generic API with the band and the owner tags', () => {
    const desired = resolveDesired(endpointSpec(), TOKEN_BAND_MODEL);
    if (!desired.ok) throw new Error(desired.message);
    expect(createRequest('llama-chat', desired.desired, ownerTags)).toEqual({
      api: 'create',
      body: {
        name: 'llama-chat',
        config: { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
        tags: [
          { key: 'team', value: 'genai' },
          { key: OwnerTag.uid, value: OWNER.uid },
          { key: OwnerTag.object, value: 'ml.llama-chat' },
        ],
      },
    });
  });

  it('a model-unit update goes to /pt with the entities wrapped under config; a token-band update is top level', () => {
    const units = resolveDesired(endpointSpec({ throughput: { modelUnits: 100 }, burstScaling: false }), MODEL_UNIT_MODEL);
    const band = resolveDesired(endpointSpec(), TOKEN_BAND_MODEL);
    if (!units.ok || !band.ok) throw new Error('resolves');
    expect(updateRequest('llama-chat', units.desired)).toEqual({
      api: 'ptConfig',
      name: 'llama-chat',
      body: { config: { served_entities: [{ entity_name: MODEL, entity_version: '3', provisioned_model_units: 100, burst_scaling_enabled: false }] } },
    });
    expect(updateRequest('llama-chat', band.desired)).toEqual({
      api: 'config',
      name: 'llama-chat',
      body: { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
    });
  });
});

describe('keptEntityFields: what a replacing PUT must carry over', () => {
  const ENV = { OPENAI_KEY: '{{secrets/scope/key}}' };
  const config = (entities: { name: string; version?: string; env?: Record<string, string>; share?: number }[]) => {
    const base = servingConfig(2);
    const template = base.served_entities?.[0];
    return {
      ...base,
      served_entities: entities.map((e) => ({ ...template, name: e.name, entity_version: e.version ?? '3', ...(e.env && { environment_vars: e.env }) })),
      traffic_config: { routes: entities.map((e) => ({ served_entity_name: e.name, traffic_percentage: e.share ?? 100 })) },
    };
  };
  it.each([
    ['no config', undefined, undefined],
    ["a lone entity in Databricks' default form, no variables", config([{ name: 'meta_llama_v3_1_8b_instruct-3' }]), undefined],
    ['a lone entity named by the user', config([{ name: 'prod_model' }]), { name: 'prod_model' }],
    ['a lone entity with environment variables', config([{ name: 'meta_llama_v3_1_8b_instruct-3', env: ENV }]), { environmentVars: ENV }],
    ['an empty variable map', config([{ name: 'prod_model', env: {} }]), { name: 'prod_model' }],
    [
      'a canary: the variables of the entity with most traffic, no name',
      config([{ name: 'prod_model', env: ENV, share: 80 }, { name: 'meta_llama_v3_1_8b_instruct-4', version: '4', share: 20 }]),
      { environmentVars: ENV },
    ],
  ])('%s → %j', (_, observed, kept) => {
    expect(keptEntityFields(observed)).toEqual(kept);
  });

  it('a canary carries the variables to both entities and keeps each name it gives', () => {
    const resolved = resolveDesired(endpointSpec({ model: { name: MODEL, version: '4' } }), TOKEN_BAND_MODEL);
    if (!resolved.ok) throw new Error(resolved.message);
    const desired: DesiredServing = {
      ...resolved.desired,
      kept: { name: 'prod_model', environmentVars: ENV },
      split: { previous: { name: 'prod_model', entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }, name: 'meta_llama_v3_1_8b_instruct-4', share: 10 },
    };
    const request = updateRequest('llama-chat', desired);
    expect(request.api === 'config' && request.body.served_entities.map((e) => [e.name, e.entity_version, e.environment_vars])).toEqual([
      ['prod_model', '3', ENV],
      ['meta_llama_v3_1_8b_instruct-4', '4', ENV],
    ]);
  });
});

// A legacy inference table (reference §2.2, §2.5): the PUT replaces the whole config, so one that omits
// auto_capture_config would turn request logging off. It is carried over, without the server's `state`.
describe('a legacy inference table (auto_capture_config) is carried over by a replacing PUT', () => {
  const AUTO_CAPTURE = {
    catalog_name: 'main',
    schema_name: 'default',
    table_name_prefix: 'ac',
    enabled: true,
    state: { payload_table: { name: 'ac_payload', status: 'ACTIVE', status_message: 'The inference table is active.' } },
  };
  const resolved = resolveDesired(endpointSpec(), TOKEN_BAND_MODEL);
  if (!resolved.ok) throw new Error(resolved.message);

  it('the token-band PUT body carries catalog, schema, prefix and enabled', () => {
    const desired = keepingUnmanagedFields(resolved.desired, { ...servingConfig(2), auto_capture_config: AUTO_CAPTURE });
    const request = updateRequest('autocap', desired);
    expect(request.api === 'config' && request.body.auto_capture_config).toEqual({ catalog_name: 'main', schema_name: 'default', table_name_prefix: 'ac', enabled: true });
  });

  it('an endpoint without one gets none, and a create never sends one (refused for new PT endpoints)', () => {
    const request = updateRequest('plain', keepingUnmanagedFields(resolved.desired, servingConfig(2)));
    expect(request.api === 'config' && 'auto_capture_config' in request.body).toBe(false);
    const desired = keepingUnmanagedFields(resolved.desired, { ...servingConfig(2), auto_capture_config: AUTO_CAPTURE });
    expect(JSON.stringify(createRequest('autocap', desired, {}))).not.toContain('auto_capture_config');
  });
});

// The model-unit PUT (/serving-endpoints/pt/{name}/config, reference §2.4) has no environment_vars: a model-unit endpoint
// made with the generic API (Terraform's databricks_model_serving takes provisioned_model_units) whose entity has
// environment variables lost them at the operator's first change of its model units. The generic PUT takes model units,
// burst scaling and the variables (reference §2.3), as that Terraform resource updates such an endpoint.
describe('a model-unit endpoint: the update goes where what it keeps has a field', () => {
  const ENV = { LOG_LEVEL: 'debug', API_KEY: '{{secrets/genai/api_key}}' };
  const resolved = resolveDesired(endpointSpec({ throughput: { modelUnits: 100 } }), MODEL_UNIT_MODEL);
  if (!resolved.ok) throw new Error(resolved.message);
  const served = (env?: Record<string, string>) => {
    const config = servingConfig(2, { units: 50 });
    const entity = config.served_entities?.[0];
    if (entity && env) entity.environment_vars = env;
    return config;
  };

  it('environment variables: the generic config PUT, with the model units, burst scaling and the variables', () => {
    expect(updateRequest('units-env', keepingUnmanagedFields(resolved.desired, served(ENV)))).toEqual({
      api: 'config',
      name: 'units-env',
      body: { served_entities: [{ environment_vars: ENV, entity_name: MODEL, entity_version: '3', provisioned_model_units: 100, burst_scaling_enabled: true }] },
    });
  });

  it('a legacy inference table: the generic config PUT, which carries it (the model-unit PUT would end it)', () => {
    const autoCapture = { catalog_name: 'main', schema_name: 'default', table_name_prefix: 'units', enabled: true };
    expect(updateRequest('units-ac', keepingUnmanagedFields(resolved.desired, { ...served(), auto_capture_config: autoCapture }))).toMatchObject({
      api: 'config',
      body: { served_entities: [{ provisioned_model_units: 100 }], auto_capture_config: autoCapture },
    });
  });

  it('a canary of such an endpoint: both entities with the variables, and the routes, at the top level of the generic PUT', () => {
    const desired: DesiredServing = {
      ...keepingUnmanagedFields(resolved.desired, served(ENV)),
      entityVersion: '4',
      split: { previous: { name: 'meta_llama_v3_1_8b_instruct-3', entityVersion: '3', modelUnits: 50 }, name: 'meta_llama_v3_1_8b_instruct-4', share: 10 },
    };
    expect(updateRequest('units-env', desired)).toMatchObject({
      api: 'config',
      body: {
        served_entities: [
          { name: 'meta_llama_v3_1_8b_instruct-3', entity_version: '3', provisioned_model_units: 50, environment_vars: ENV },
          { name: 'meta_llama_v3_1_8b_instruct-4', entity_version: '4', provisioned_model_units: 100, environment_vars: ENV },
        ],
        traffic_config: { routes: [{ served_entity_name: 'meta_llama_v3_1_8b_instruct-3', traffic_percentage: 90 }, { served_entity_name: 'meta_llama_v3_1_8b_instruct-4', traffic_percentage: 10 }] },
      },
    });
  });

  it('nothing the model-unit API cannot carry: the model-unit PUT', () => {
    expect(updateRequest('units', keepingUnmanagedFields(resolved.desired, served()))).toMatchObject({
      name: 'units',
      body: { config: { served_entities: [{ entity_name: MODEL, entity_version: '3', provisioned_model_units: 100, burst_scaling_enabled: true }] } },
    });
  });
});
