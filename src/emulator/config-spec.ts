// Validates a requested endpoint config the way the real service does and normalises it into the
// emulator's own form, filling what the server fills (workload type/size, scale_to_zero_enabled=false
// on PT entities, a default 100% route, both route names). Facts: reference §1, §2.3–§2.5, §3.3.
import { COMMITMENT_TERMS, isEndpointName, WORKLOAD_TYPES, type AutoCaptureConfig, type FoundationModelSchema, type PtEndpointCoreConfig, type ServedEntityInput, type EndpointCoreConfigInput } from '../databricks/api-types.js';
import type { z } from 'zod';
import { ptFlavour, type CatalogModel, type ModelCatalog } from './catalog.js';
import { invalidParameter, modelNotFound } from './errors.js';

export const MAX_SERVED_ENTITIES = 15;
export const MAX_DESCRIPTION_LENGTH = 1000;
/** Backend message as cited by the Databricks CLI's fake (reference §1 notes); the rule is in api-types. */
export const ENDPOINT_NAME_MESSAGE =
  'Endpoint name must be maximum 63 characters, and alphanumeric with hyphens and underscores allowed in between.';

/** The REST reference's rule for served entity names (servingendpoints/updateconfig); the refusal's wording is a guess. */
const SERVED_ENTITY_NAME = /^[A-Za-z0-9_-]+$/;
const SERVED_ENTITY_NAME_RULE = 'A served entity name can consist of alphanumeric characters, dashes, and underscores.';

const SCALE_TO_ZERO_UNDEFINED = 'scaleToZeroEnabled is undefined. Please set it to either true or false.';

export interface EntitySpec {
  name: string;
  entity_name: string;
  entity_version: string;
  min_provisioned_throughput?: number;
  max_provisioned_throughput?: number;
  provisioned_model_units?: number;
  workload_size?: string;
  workload_type?: string;
  /** a custom model's size, instead of workload_size (reference §2.3) */
  min_provisioned_concurrency?: number;
  max_provisioned_concurrency?: number;
  scale_to_zero_enabled: boolean;
  environment_vars?: Record<string, string>;
  instance_profile_arn?: string;
  foundation_model?: z.infer<typeof FoundationModelSchema>;
}

export interface RouteSpec {
  name: string;
  traffic_percentage: number;
}

export interface ConfigSpec {
  entities: EntitySpec[];
  routes: RouteSpec[];
  /** the request used deprecated served_models[]: the response then echoes both lists (capture §2.9a) */
  legacyServedModels: boolean;
  /** a legacy inference table (reference §2.2); part of the config, so a PUT without it ends it */
  autoCapture?: AutoCaptureConfig;
}

export function validateEndpointName(name: string): void {
  if (!isEndpointName(name)) throw invalidParameter(ENDPOINT_NAME_MESSAGE);
}

export function validateDescription(description: string | undefined): void {
  if (description !== undefined && description.length > MAX_DESCRIPTION_LENGTH) {
    throw invalidParameter(`Endpoint description must be at most ${MAX_DESCRIPTION_LENGTH} characters.`);
  }
}

/** The config of a generic create or PUT /{name}/config (token-band PT, or model units on the generic API). */
export function specFromCoreConfig(input: EndpointCoreConfigInput, catalog: ModelCatalog): ConfigSpec {
  const entities = input.served_entities ?? [];
  const models = input.served_models ?? [];
  if (entities.length > 0 && models.length > 0) {
    throw invalidParameter('Only one of served_entities and served_models can be specified.');
  }
  const legacy = models.length > 0;
  const asEntities: ServedEntityInput[] = legacy
    ? models.map((m) => ({ ...m, entity_name: m.model_name, entity_version: m.model_version }))
    : entities;
  const spec = buildSpec(asEntities, input.traffic_config?.routes, legacy ? 'served_models' : 'served_entities', catalog);
  return input.auto_capture_config ? { ...spec, autoCapture: input.auto_capture_config } : spec;
}

/** Reference §2.2: "cannot change catalog/schema/prefix if already enabled". */
export function validateAutoCaptureChange(current: AutoCaptureConfig | undefined, next: AutoCaptureConfig | undefined): void {
  if (!current?.enabled || !next) return;
  for (const field of ['catalog_name', 'schema_name', 'table_name_prefix'] as const) {
    if (next[field] !== undefined && next[field] !== current[field]) {
      throw invalidParameter(`auto_capture_config.${field} cannot be changed while the inference table is enabled (${current[field] ?? 'unset'} → ${next[field]}).`);
    }
  }
}

/**
 * "Starting February 20, 2026, legacy inference tables can not be enabled on new or existing model serving
 * endpoints" (Databricks' legacy inference table page). A config that turns one on (none before, or a disabled
 * one; `enabled` left out means enabled) is refused; keeping an enabled one or disabling it is not. The message is
 * the emulator's own (INFERENCE).
 */
export function validateAutoCaptureEnable(current: AutoCaptureConfig | undefined, next: AutoCaptureConfig | undefined): void {
  if (!next || next.enabled === false) return;
  if (current !== undefined && current.enabled !== false) return;
  throw invalidParameter(
    'Legacy inference tables (auto_capture_config) can no longer be enabled on serving endpoints. Please use AI Gateway to manage inference tables (ai_gateway.inference_table_config).',
  );
}

/** The config of POST /pt or PUT /pt/{name}/config: model units only. */
export function specFromPtConfig(input: PtEndpointCoreConfig, catalog: ModelCatalog): ConfigSpec {
  for (const { pt_term } of input.served_entities) {
    if (pt_term !== undefined && !(COMMITMENT_TERMS as readonly string[]).includes(pt_term)) {
      throw invalidParameter(`Invalid pt_term '${pt_term}'. Supported values: ${COMMITMENT_TERMS.join(', ')}.`);
    }
  }
  return buildSpec(input.served_entities, input.traffic_config?.routes, 'served_entities', catalog);
}

type RouteInput = { served_entity_name?: string; served_model_name?: string; traffic_percentage: number };

function buildSpec(
  inputs: readonly ServedEntityInput[],
  routes: readonly RouteInput[] | undefined,
  field: 'served_entities' | 'served_models',
  catalog: ModelCatalog,
): ConfigSpec {
  if (inputs.length === 0) throw invalidParameter(`The endpoint config must contain at least one element in ${field}.`);
  if (inputs.length > MAX_SERVED_ENTITIES) {
    throw invalidParameter(`${field} cannot contain more than ${MAX_SERVED_ENTITIES} elements`);
  }
  const entities = inputs.map((input) => buildEntity(input, catalog));

  const seenNames = new Set<string>();
  const seenModels = new Set<string>();
  for (const entity of entities) {
    if (seenNames.has(entity.name)) throw invalidParameter(`Served entity names must be unique within an endpoint: '${entity.name}' is used twice.`);
    seenNames.add(entity.name);
    const modelKey = `${entity.entity_name}\u0000${entity.entity_version}`;
    if (seenModels.has(modelKey)) {
      throw invalidParameter(
        `Cannot create 2+ served entities with the same model and version: ${entity.entity_name} version ${entity.entity_version}.`,
      );
    }
    seenModels.add(modelKey);
  }
  return { entities, routes: buildRoutes(routes, entities), legacyServedModels: field === 'served_models' };
}

function buildEntity(input: ServedEntityInput, catalog: ModelCatalog): EntitySpec {
  if (input.external_model !== undefined) {
    throw invalidParameter('provisioned throughput is not supported for endpoints with external models');
  }
  const entityName = input.entity_name;
  if (entityName === undefined || entityName === '') throw invalidParameter('Served entity must specify entity_name.');
  const version = input.entity_version;
  if (version === undefined || version === '') throw invalidParameter(`Served entity ${entityName} must specify entity_version.`);
  // Request enums (reference §2.7, the SDKs' lists) are checked as every other one is; the refusal's wording is a guess.
  if (input.workload_type !== undefined && !(WORKLOAD_TYPES as readonly string[]).includes(input.workload_type)) {
    throw invalidParameter(`Invalid workload_type '${input.workload_type}'. Supported values: ${WORKLOAD_TYPES.join(', ')}.`);
  }
  if (input.name !== undefined && !SERVED_ENTITY_NAME.test(input.name)) {
    throw invalidParameter(`Invalid served entity name '${input.name}'. ${SERVED_ENTITY_NAME_RULE}`);
  }
  const model = catalog.find(entityName, version);
  if (!model) throw modelNotFound(entityName, version);

  const spec: EntitySpec = {
    name: input.name ?? defaultEntityName(entityName, version),
    entity_name: entityName,
    entity_version: version,
    scale_to_zero_enabled: input.scale_to_zero_enabled ?? false,
  };
  if (input.environment_vars !== undefined) spec.environment_vars = input.environment_vars;
  if (input.instance_profile_arn !== undefined) spec.instance_profile_arn = input.instance_profile_arn;
  if (entityName.startsWith('system.ai.')) spec.foundation_model = foundationModel(model);

  const wantsThroughput = input.min_provisioned_throughput !== undefined || input.max_provisioned_throughput !== undefined;
  const wantsUnits = input.provisioned_model_units !== undefined;
  if (wantsThroughput && wantsUnits) {
    throw invalidParameter(
      `Served entity ${spec.name} cannot specify both provisioned_model_units and min/max_provisioned_throughput.`,
    );
  }
  if (wantsThroughput) {
    Object.assign(spec, throughputFields(input, model, spec.name));
  } else if (wantsUnits) {
    spec.provisioned_model_units = modelUnits(input.provisioned_model_units ?? 0, model, spec.name);
  } else {
    // Not PT: a plain model deployment sized by workload_size or by provisioned concurrency (CPU/GPU serving).
    Object.assign(spec, plainSize(input, spec.name));
    // Required here, the real text (terraform-provider-databricks #3946, #4064); a PT entity may leave it out (PR #3690).
    if (input.scale_to_zero_enabled === undefined) throw invalidParameter(SCALE_TO_ZERO_UNDEFINED);
    spec.workload_type = input.workload_type ?? 'CPU';
    return spec;
  }
  // PT entities: the backend chooses the hardware and never scales them to zero (TF #5467, captures).
  spec.workload_size = 'Small';
  spec.workload_type = model.workload_type;
  spec.scale_to_zero_enabled = false;
  return spec;
}

/**
 * The size of an entity that is not PT: workload_size, or min/max_provisioned_concurrency, which reference §2.3 (the
 * SDKs' field docs: "Do not use if workload_size is specified") makes exclusive with it. The messages are guesses.
 */
function plainSize(input: ServedEntityInput, entityName: string): Partial<EntitySpec> {
  const { workload_size, min_provisioned_concurrency: min, max_provisioned_concurrency: max } = input;
  if (min === undefined && max === undefined) {
    if (workload_size === undefined) {
      throw invalidParameter(`Served entity ${entityName} must specify workload_size or min/max_provisioned_concurrency, or provisioned throughput for a PT model.`);
    }
    return { workload_size };
  }
  if (workload_size !== undefined) {
    throw invalidParameter(`Served entity ${entityName} cannot specify both workload_size and min/max_provisioned_concurrency.`);
  }
  if ((min ?? 0) < 0 || (max ?? 0) < 0 || (min !== undefined && max !== undefined && min > max)) {
    throw invalidParameter(`The min_provisioned_concurrency (${min ?? 'unset'}) of served entity ${entityName} cannot be negative or greater than its max_provisioned_concurrency (${max ?? 'unset'}).`);
  }
  return { ...(min !== undefined && { min_provisioned_concurrency: min }), ...(max !== undefined && { max_provisioned_concurrency: max }) };
}

function throughputFields(input: ServedEntityInput, model: CatalogModel, entityName: string): Partial<EntitySpec> {
  if (ptFlavour(model) !== 'throughput') {
    throw invalidParameter(`Served entity ${model.name} is not eligible for Provisioned Throughput.`);
  }
  const chunk = model.throughput_chunk_size ?? 1;
  const min = input.min_provisioned_throughput ?? 0;
  const max = input.max_provisioned_throughput;
  if (max === undefined) throw invalidParameter(`Served entity ${entityName} must specify max_provisioned_throughput.`);
  for (const [field, value] of [['min_provisioned_throughput', min], ['max_provisioned_throughput', max]] as const) {
    if (value < 0 || value % chunk !== 0) {
      throw invalidParameter(
        `The ${field} of served entity ${entityName} is ${value}, which is not a multiple of the throughput chunk size ${chunk} for model ${model.name}.`,
      );
    }
  }
  if (max === 0) throw invalidParameter(`The max_provisioned_throughput of served entity ${entityName} must be greater than 0.`);
  if (min > max) {
    throw invalidParameter(
      `The min_provisioned_throughput (${min}) of served entity ${entityName} cannot be greater than its max_provisioned_throughput (${max}).`,
    );
  }
  return { min_provisioned_throughput: min, max_provisioned_throughput: max };
}

function modelUnits(units: number, model: CatalogModel, entityName: string): number {
  const flavour = ptFlavour(model);
  if (flavour === undefined) throw invalidParameter(`Served entity ${model.name} is not eligible for Provisioned Throughput.`);
  if (flavour !== 'model_units') {
    throw invalidParameter(
      `Served entity ${model.name} does not support provisioned_model_units; use min_provisioned_throughput and max_provisioned_throughput.`,
    );
  }
  const chunk = model.model_unit_chunk_size ?? 1;
  if (units <= 0 || units % chunk !== 0) {
    throw invalidParameter(
      `The provisioned_model_units of served entity ${entityName} is ${units}, which is not a positive multiple of the model unit chunk size ${chunk} for model ${model.name}.`,
    );
  }
  return units;
}

function buildRoutes(routes: readonly RouteInput[] | undefined, entities: readonly EntitySpec[]): RouteSpec[] {
  if (routes === undefined || routes.length === 0) {
    const [only] = entities;
    if (entities.length === 1 && only) return [{ name: only.name, traffic_percentage: 100 }];
    throw invalidParameter('A traffic_config must be specified when the endpoint serves more than one entity.');
  }
  const names = new Set(entities.map((e) => e.name));
  const built = routes.map((route) => {
    const name = route.served_entity_name ?? route.served_model_name;
    if (name === undefined) throw invalidParameter('Each route must name a served entity (served_entity_name).');
    if (!names.has(name)) throw invalidParameter(`Route '${name}' does not match any served entity of the endpoint.`);
    if (!Number.isInteger(route.traffic_percentage) || route.traffic_percentage < 0 || route.traffic_percentage > 100) {
      throw invalidParameter(`The traffic_percentage of route '${name}' must be an integer between 0 and 100.`);
    }
    return { name, traffic_percentage: route.traffic_percentage };
  });
  const total = built.reduce((sum, r) => sum + r.traffic_percentage, 0);
  if (total !== 100) throw invalidParameter(`The traffic percentages of all routes must add up to 100, got ${total}.`);
  return built;
}

/** Default served entity name: the model's own name (last UC segment) and version, e.g. "meta_llama_v3_1_8b_instruct-3". */
export function defaultEntityName(entityName: string, version: string): string {
  const lastSegment = entityName.slice(entityName.lastIndexOf('.') + 1);
  return `${lastSegment}-${version}`;
}

function foundationModel(model: CatalogModel): z.infer<typeof FoundationModelSchema> {
  const fm: z.infer<typeof FoundationModelSchema> = { name: model.name };
  if (model.display_name !== undefined) fm.display_name = model.display_name;
  if (model.description !== undefined) fm.description = model.description;
  return fm;
}
