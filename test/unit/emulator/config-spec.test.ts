import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, ModelCatalog } from '../../../src/emulator/catalog.js';
import { ENDPOINT_NAME_MESSAGE, specFromCoreConfig, specFromPtConfig, validateEndpointName } from '../../../src/emulator/config-spec.js';
import type { ApiError } from '../../../src/emulator/errors.js';

const catalog = new ModelCatalog(DEFAULT_CATALOG);
const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';

function rejection(fn: () => unknown): { status: number; errorCode: string | number; message: string } {
  try {
    fn();
  } catch (error) {
    const e = error as ApiError;
    return { status: e.status, errorCode: e.errorCode, message: e.message };
  }
  throw new Error('expected a rejection');
}

describe('endpoint names', () => {
  it.each(['a', 'llama-prod', 'team_a-llama-3', 'x'.repeat(63)])('accepts %s', (name) => {
    expect(() => validateEndpointName(name)).not.toThrow();
  });
  it.each(['', '-lead', 'trail_', 'has.dot', 'has space', 'x'.repeat(64)])('rejects %j with the real message', (name) => {
    expect(rejection(() => validateEndpointName(name))).toEqual({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', message: ENDPOINT_NAME_MESSAGE });
  });
});

describe('specFromCoreConfig', () => {
  it('fills what the server fills for a token-band PT entity', () => {
    const spec = specFromCoreConfig(
      { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 980, max_provisioned_throughput: 1960, scale_to_zero_enabled: true }] },
      catalog,
    );
    expect(spec.entities).toEqual([
      expect.objectContaining({
        name: 'meta_llama_v3_1_8b_instruct-3',
        workload_type: 'GPU_XLARGE_8',
        workload_size: 'Small',
        scale_to_zero_enabled: false,
        min_provisioned_throughput: 980,
        max_provisioned_throughput: 1960,
      }),
    ]);
    expect(spec.routes).toEqual([{ name: 'meta_llama_v3_1_8b_instruct-3', traffic_percentage: 100 }]);
  });

  it('rejects throughput that is not a multiple of the chunk size', () => {
    const error = rejection(() =>
      specFromCoreConfig({ served_entities: [{ entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 1000 }] }, catalog),
    );
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/max_provisioned_throughput .* 1000, which is not a multiple of the throughput chunk size 980/);
  });

  it('says a model-unit or non-optimizable model is not eligible for Provisioned Throughput', () => {
    for (const model of ['system.ai.gpt-oss-120b', 'system.ai.meta_llama_v3_1_8b']) {
      expect(
        rejection(() => specFromCoreConfig({ served_entities: [{ entity_name: model, entity_version: '1', max_provisioned_throughput: 980 }] }, catalog)),
      ).toEqual({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', message: `Served entity ${model} is not eligible for Provisioned Throughput.` });
    }
  });

  it('answers 404 for a model or version the catalog lacks', () => {
    expect(
      rejection(() => specFromCoreConfig({ served_entities: [{ entity_name: LLAMA, entity_version: '9', max_provisioned_throughput: 980 }] }, catalog)),
    ).toMatchObject({ status: 404, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('allows at most 15 served entities', () => {
    const entity = (i: number) => ({ name: `e${i}`, entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 980 });
    const error = rejection(() => specFromCoreConfig({ served_entities: Array.from({ length: 16 }, (_, i) => entity(i)) }, catalog));
    expect(error).toEqual({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', message: 'served_entities cannot contain more than 15 elements' });
  });

  it('refuses the same model and version twice, and several entities without a traffic config', () => {
    const twice = [
      { name: 'a', entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 980 },
      { name: 'b', entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 980 },
    ];
    expect(rejection(() => specFromCoreConfig({ served_entities: twice }, catalog)).message).toMatch(/^Cannot create 2\+ served entities/);
    const two = [twice[0]!, { ...twice[1]!, entity_version: '2' }];
    expect(rejection(() => specFromCoreConfig({ served_entities: two }, catalog)).message).toMatch(/traffic_config must be specified/);
    const routes = [
      { served_model_name: 'a', traffic_percentage: 90 },
      { served_entity_name: 'b', traffic_percentage: 20 },
    ];
    expect(rejection(() => specFromCoreConfig({ served_entities: two, traffic_config: { routes } }, catalog)).message).toMatch(/add up to 100, got 110/);
  });

  it('reads deprecated served_models as entities and remembers to echo them', () => {
    const spec = specFromCoreConfig(
      { served_models: [{ model_name: 'main.default.support_bot_llama', model_version: '2', max_provisioned_throughput: 980 }] },
      catalog,
    );
    expect(spec.legacyServedModels).toBe(true);
    expect(spec.entities[0]).toMatchObject({ name: 'support_bot_llama-2', entity_name: 'main.default.support_bot_llama', entity_version: '2' });
  });
});

describe('specFromPtConfig', () => {
  it('accepts model units in multiples of the model unit chunk', () => {
    const spec = specFromPtConfig({ served_entities: [{ entity_name: 'system.ai.gpt-oss-120b', entity_version: '1', provisioned_model_units: 100 }] }, catalog);
    expect(spec.entities[0]).toMatchObject({ name: 'gpt-oss-120b-1', provisioned_model_units: 100, scale_to_zero_enabled: false });
  });

  it('rejects units off the chunk, and units for a token-band model', () => {
    expect(
      rejection(() => specFromPtConfig({ served_entities: [{ entity_name: 'system.ai.gpt-oss-120b', entity_version: '1', provisioned_model_units: 30 }] }, catalog))
        .message,
    ).toMatch(/not a positive multiple of the model unit chunk size 50/);
    expect(
      rejection(() => specFromPtConfig({ served_entities: [{ entity_name: LLAMA, entity_version: '3', provisioned_model_units: 50 }] }, catalog)).message,
    ).toMatch(/does not support provisioned_model_units/);
  });
});

// The REST reference (servingendpoints/updateconfig, served_entities.name) and the SDKs' field docs: "A served entity
// name can consist of alphanumeric characters, dashes, and underscores."
describe('served entity names', () => {
  const named = (name: string) => ({ name, entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 980 });

  it.each(['llama-3', 'llama_3', 'Llama3'])('accepts %s', (name) => {
    expect(specFromCoreConfig({ served_entities: [named(name)] }, catalog).entities[0]?.name).toBe(name);
  });

  it.each(['llama.3', 'llama 3', 'llama/3', 'llama:3'])('refuses %j with 400 INVALID_PARAMETER_VALUE, on both APIs', (name) => {
    expect(rejection(() => specFromCoreConfig({ served_entities: [named(name)] }, catalog))).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    const pt = { name, entity_name: 'system.ai.llama-4-maverick', entity_version: '1', provisioned_model_units: 50 };
    expect(rejection(() => specFromPtConfig({ served_entities: [pt] }, catalog))).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
  });
});

// scale_to_zero_enabled: a workspace refuses an entity that is not provisioned throughput without it ("scaleToZeroEnabled
// is undefined. Please set it to either true or false.", terraform-provider-databricks issues #3946 and #4064, a
// served_entities entry sized by workload_size whose false the provider left out), and the SDKs mark it required on
// served_models. A PT entity may leave it out (the provider's PT acceptance test has sent none since its PR #3690) and
// is always answered false (issue #5467: a PT entity sent with true is taken and echoed false).
describe('scale_to_zero_enabled', () => {
  const BASE = 'system.ai.meta_llama_v3_1_8b';
  const UNDEFINED = 'scaleToZeroEnabled is undefined. Please set it to either true or false.';
  it.each([
    ['served_entities by workload_size', { served_entities: [{ entity_name: BASE, entity_version: '1', workload_size: 'Small' }] }],
    ['served_entities by provisioned concurrency', { served_entities: [{ entity_name: BASE, entity_version: '1', min_provisioned_concurrency: 0, max_provisioned_concurrency: 4 }] }],
    ['served_models', { served_models: [{ model_name: BASE, model_version: '1', workload_size: 'Small' }] }],
  ])('is required on an entity that is not PT: %s', (_, config) => {
    expect(rejection(() => specFromCoreConfig(config, catalog))).toEqual({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE', message: UNDEFINED });
  });

  it.each([
    ['left out', {}],
    ['true', { scale_to_zero_enabled: true }],
  ])('is optional on a PT entity and answered false: %s', (_, flag) => {
    const spec = specFromCoreConfig({ served_entities: [{ entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 980, ...flag }] }, catalog);
    expect(spec.entities[0]?.scale_to_zero_enabled).toBe(false);
  });
});

// Request enums the SDKs list (reference §2.7: ServingModelWorkloadType, CommitmentTerm): a value outside them is
// refused, as the emulator already refuses an unknown PII behavior, rate-limit key or permission level.
describe('request enums', () => {
  it('refuses a workload_type Databricks does not have, and takes the ones it has', () => {
    const entity = (workload_type: string) => ({ entity_name: 'system.ai.meta_llama_v3_1_8b', entity_version: '1', workload_size: 'Small', scale_to_zero_enabled: false, workload_type });
    expect(rejection(() => specFromCoreConfig({ served_entities: [entity('GPU_HUGE')] }, catalog))).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    expect(specFromCoreConfig({ served_entities: [entity('GPU_MEDIUM')] }, catalog).entities[0]?.workload_type).toBe('GPU_MEDIUM');
  });

  it('refuses a pt_term Databricks does not have on the model-unit API, and takes the ones it has', () => {
    const entity = (pt_term: string) => ({ entity_name: 'system.ai.llama-4-maverick', entity_version: '1', provisioned_model_units: 50, pt_term });
    expect(rejection(() => specFromPtConfig({ served_entities: [entity('COMMITMENT_TERM_1_YEAR')] }, catalog))).toMatchObject({ status: 400, errorCode: 'INVALID_PARAMETER_VALUE' });
    expect(() => specFromPtConfig({ served_entities: [entity('COMMITMENT_TERM_3_MONTHS')] }, catalog)).not.toThrow();
  });
});
