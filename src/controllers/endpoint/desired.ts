// What the user asked for, resolved against what Databricks says about the model, and compared
// with what Databricks serves. Pure: no I/O, no clock.
import { type EndpointSpec, type EndpointStatus, MAX_MODEL_UNITS, MAX_TOKENS_PER_SECOND } from '../../api/v1alpha1/index.js';
import { shortLine } from '../../databricks/host-text.js';
import type {
  AutoCaptureConfig,
  EndpointCoreConfigOutput,
  ModelOptimizationInfo,
  ServedEntityOutput,
} from '../../databricks/api-types.js';

/** One served entity's throughput, in Databricks' units. */
export interface EntityThroughput {
  entityVersion: string;
  minTokensPerSecond?: number;
  maxTokensPerSecond?: number;
  modelUnits?: number;
  burstScaling?: boolean;
}

/** The serving config the spec asks for, in Databricks' units. */
export interface DesiredServing extends EntityThroughput {
  /** token-band endpoints use the generic API; model-unit endpoints use /serving-endpoints/pt, but for an update that keeps what it has no field for (updateRequest). */
  flavour: 'tokenBand' | 'modelUnits';
  entityName: string;
  /** A canary: the version that served before keeps serving beside this one, which gets `share` % of the traffic. */
  split?: CanarySplit;
  /** What the lone served entity has and the spec does not manage; a replacing PUT carries it over. */
  kept?: KeptEntityFields;
  /** A legacy inference table the endpoint has; a replacing PUT carries it over, or logging stops. */
  keptAutoCapture?: AutoCaptureConfig;
}

export interface KeptEntityFields {
  /** A name of one's own (Terraform's examples set one); one in Databricks' default form follows the version. */
  name?: string;
  environmentVars?: Record<string, string>;
  /** The AWS instance profile the entity uses (instance_profile_arn). */
  instanceProfileArn?: string;
}

/**
 * Whether two Unity Catalog model names name one model: UC names are case-insensitive (kept in lower case), so a spec
 * written in capitals must not differ from an echo in lower case, or the config would be sent again at every look.
 */
export const sameModel = (a: string | undefined, b: string | undefined): boolean => a?.toLowerCase() === b?.toLowerCase();

/**
 * Databricks' default name of a served entity: the model's last name part, a dash, the version. A served entity name
 * holds letters, digits, - and _ only (reference, updateconfig), where a Unity Catalog name may hold more (`+`, letters
 * beyond ASCII): those become _, so the entity a canary names itself is one Databricks takes.
 */
export const entityNameFor = (model: string, version: string) => `${model.slice(model.lastIndexOf('.') + 1).replace(/[^A-Za-z0-9_-]/g, '_')}-${version}`;

/**
 * What a PUT replacing the served config would lose, the spec having none of them: the environment variables and the
 * instance profile of the entity with the most traffic, and the lone served entity's own name (a canary names its two
 * entities itself).
 */
export function keptEntityFields(config: EndpointCoreConfigOutput | undefined): KeptEntityFields | undefined {
  const entities = config?.served_entities ?? [];
  const main = entities[mainEntityIndex(config)];
  if (!main) return undefined;
  const defaultName = main.entity_name && main.entity_version ? entityNameFor(main.entity_name, main.entity_version) : undefined;
  const kept: KeptEntityFields = {
    ...(entities.length === 1 && main.name && main.name !== defaultName && { name: main.name }),
    ...(main.environment_vars && Object.keys(main.environment_vars).length > 0 && { environmentVars: main.environment_vars }),
    ...(main.instance_profile_arn && { instanceProfileArn: main.instance_profile_arn }),
  };
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** `desired` with what the served config has and the spec does not manage, for a replacing PUT to carry over. */
export function keepingUnmanagedFields(desired: DesiredServing, config: EndpointCoreConfigOutput | undefined): DesiredServing {
  const kept = keptEntityFields(config);
  const keptAutoCapture = keptAutoCaptureConfig(config);
  return { ...desired, ...(kept && { kept }), ...(keptAutoCapture && { keptAutoCapture }) };
}

/** The fields of a legacy inference table a PUT accepts (reference §2.2): not the `state` Databricks reports. */
function keptAutoCaptureConfig(config: EndpointCoreConfigOutput | undefined): AutoCaptureConfig | undefined {
  const served = config?.auto_capture_config;
  if (!served) return undefined;
  const fields: AutoCaptureConfig = {
    ...(served.catalog_name !== undefined && { catalog_name: served.catalog_name }),
    ...(served.schema_name !== undefined && { schema_name: served.schema_name }),
    ...(served.table_name_prefix !== undefined && { table_name_prefix: served.table_name_prefix }),
    ...(served.enabled !== undefined && { enabled: served.enabled }),
  };
  return Object.keys(fields).length > 0 ? fields : undefined;
}

const trafficShares = (config: EndpointCoreConfigOutput | undefined) =>
  new Map((config?.traffic_config?.routes ?? []).map((r) => [r.served_entity_name ?? r.served_model_name, r.traffic_percentage]));

/** Each served entity's percent of the traffic: a lone entity without a route has all of it. */
function entityShares(config: EndpointCoreConfigOutput | undefined): number[] {
  const entities = config?.served_entities ?? [];
  const shares = trafficShares(config);
  return entities.map((e) => shares.get(e.name) ?? (entities.length === 1 ? 100 : 0));
}

/** The entity with the most traffic (the only one, outside a canary). */
function mainEntityIndex(config: EndpointCoreConfigOutput | undefined): number {
  const shares = entityShares(config);
  return shares.reduce<number>((best, share, i) => (share > (shares[best] ?? 0) ? i : best), 0);
}

export interface CanarySplit {
  /** The entity that served before, under the name Databricks gave it. */
  previous: EntityThroughput & { name: string };
  /** Name of the new version's entity (Databricks' default form, model-version). */
  name: string;
  /** Percent of the traffic routed to the new version, 1-99. */
  share: number;
  /** The old version serves at the throughput the spec asks for now, as the new one (spec.schedule steers it). */
  previousFollowsDesired?: boolean;
}

/** `desired` with a canary split; an old version that follows the desired throughput gets it here, once resolved. */
export function withSplit(desired: DesiredServing, split: CanarySplit | undefined): DesiredServing {
  if (!split) return desired;
  if (!split.previousFollowsDesired) return { ...desired, split };
  const { minTokensPerSecond, maxTokensPerSecond, modelUnits } = desired;
  const throughput = Object.fromEntries(Object.entries({ minTokensPerSecond, maxTokensPerSecond, modelUnits }).filter(([, v]) => v !== undefined));
  return { ...desired, split: { ...split, previous: { name: split.previous.name, entityVersion: split.previous.entityVersion, ...throughput } } };
}

/** One served entity as observed, with its share of the traffic. */
export interface ObservedEntity extends Partial<EntityThroughput> {
  name?: string;
  /** The Unity Catalog model it serves (entity_name). */
  entityName?: string;
  share: number;
}

/** The same fields, as observed on a Databricks config (served or pending). */
export interface ObservedServing {
  entityCount: number;
  /** Every served entity with its traffic share. */
  entities: ObservedEntity[];
  entityName?: string;
  entityVersion?: string;
  minTokensPerSecond?: number;
  maxTokensPerSecond?: number;
  modelUnits?: number;
  burstScaling?: boolean;
  configVersion?: number;
}

export type Resolution =
  | { ok: true; desired: DesiredServing }
  | { ok: false; reason: 'InvalidSpec' | 'ModelNotOptimizable'; message: string };

const HOW_TO_MAKE_ELIGIBLE =
  'Provisioned throughput needs a model logged with MLflow 2.11 or later with task metadata llm/v1/completions, llm/v1/chat or llm/v1/embeddings ' +
  '(a fine-tuned BGE model also needs metadata model_type "bge-large" or "bge-small"); base foundation models can be installed into Unity Catalog from Databricks Marketplace.';

export const modelNotFoundMessage = (name: string, version: string) =>
  `model ${name} version ${version} was not found in Unity Catalog. Check spec.model, or register the model first. ${HOW_TO_MAKE_ELIGIBLE}`;

/** Databricks' throughput and model-unit fields are int32. */
const MAX_INT32 = 2_147_483_647;

/**
 * Turn spec.throughput into tokens/s or model units, checking it against the model's chunk sizes. `field` is where
 * the throughput is in the spec (a schedule window's: schedule.windows[i].throughput), for the messages.
 */
export function resolveDesired(spec: EndpointSpec, info: ModelOptimizationInfo, field = 'throughput'): Resolution {
  const { name, version } = spec.model;
  if (info.optimizable !== true) {
    return {
      ok: false,
      reason: 'ModelNotOptimizable',
      message: `model ${name} version ${version} is not eligible for provisioned throughput. ${HOW_TO_MAKE_ELIGIBLE}`,
    };
  }
  const base = { entityName: name, entityVersion: version };
  const { chunks, tokensPerSecond, modelUnits } = spec.throughput;
  const chunk = info.throughput_chunk_size;
  const unitChunk = info.model_unit_chunk_size;

  if (modelUnits !== undefined) {
    if (!unitChunk) {
      return {
        ok: false,
        reason: 'InvalidSpec',
        message: `model ${name} is provisioned in tokens per second (chunk size ${chunk ?? 'unknown'}), not in model units: use ${field}.chunks or ${field}.tokensPerSecond instead of ${field}.modelUnits`,
      };
    }
    if (modelUnits % unitChunk !== 0) {
      return {
        ok: false,
        reason: 'InvalidSpec',
        message: `${field}.modelUnits ${modelUnits} is not a multiple of the model's model-unit chunk size ${unitChunk}: use ${nearestMultiples(modelUnits, unitChunk, MAX_MODEL_UNITS)}`,
      };
    }
    return { ok: true, desired: { ...base, flavour: 'modelUnits', modelUnits, burstScaling: spec.burstScaling } };
  }

  if (!chunk) {
    return {
      ok: false,
      reason: 'InvalidSpec',
      message: `model ${name} is provisioned in model units (chunk size ${unitChunk ?? 'unknown'}), not in tokens per second: use ${field}.modelUnits`,
    };
  }
  if (chunks) {
    // Databricks types throughput as int32: a chunk count is only bounded once the chunk size is known.
    const maxChunks = Math.floor(MAX_INT32 / chunk);
    if (chunks.max > maxChunks) {
      return {
        ok: false,
        reason: 'InvalidSpec',
        message: `${field}.chunks.max ${chunks.max} times the model's chunk size ${chunk} tokens/s exceeds the largest throughput Databricks accepts (${MAX_INT32} tokens/s): use at most ${maxChunks} chunks`,
      };
    }
    return {
      ok: true,
      desired: { ...base, flavour: 'tokenBand', minTokensPerSecond: chunks.min * chunk, maxTokensPerSecond: chunks.max * chunk },
    };
  }
  const band = tokensPerSecond as { min: number; max: number };
  for (const bound of ['min', 'max'] as const) {
    if (band[bound] % chunk !== 0) {
      // a band within one chunk is most likely chunk counts written under the wrong field
      const asChunks =
        band.max < chunk && band.max * chunk <= MAX_INT32
          ? `; if ${band.min} and ${band.max} are chunks, write ${field}.chunks: {min: ${band.min}, max: ${band.max}} (${band.min * chunk}-${band.max * chunk} tokens/s)`
          : `, or ${field}.chunks`;
      return {
        ok: false,
        reason: 'InvalidSpec',
        message: `${field}.tokensPerSecond.${bound} ${band[bound]} is not a multiple of the model's chunk size ${chunk} tokens/s: use ${nearestMultiples(band[bound], chunk, MAX_TOKENS_PER_SECOND, bound === 'min')}${asChunks}`,
      };
    }
  }
  return { ok: true, desired: { ...base, flavour: 'tokenBand', minTokensPerSecond: band.min, maxTokensPerSecond: band.max } };
}

/** The multiples of `step` around `value` that admission would take (not above `max`; 0 where `zeroAllowed`). */
function nearestMultiples(value: number, step: number, max: number, zeroAllowed = false): string {
  const below = Math.floor(value / step) * step;
  if (below === 0 && !zeroAllowed) return `${step}`;
  return below + step > max ? `${below}` : `${below} or ${below + step}`;
}

/**
 * An entity's token band. Databricks may leave out a zero min: a band with a max and no min is a band from 0 (as
 * import writes it), or every reconcile would see a difference and send a config PUT.
 */
export const observedBand = (entity: ServedEntityOutput | undefined): Pick<EntityThroughput, 'minTokensPerSecond' | 'maxTokensPerSecond'> => ({
  minTokensPerSecond: entity?.min_provisioned_throughput ?? (entity?.max_provisioned_throughput !== undefined ? 0 : undefined),
  maxTokensPerSecond: entity?.max_provisioned_throughput,
});

function observeEntity(entity: ServedEntityOutput | undefined, entities: ObservedEntity[], configVersion?: number): ObservedServing {
  return {
    entityCount: entities.length,
    entities,
    entityName: entity?.entity_name,
    entityVersion: shownVersion(entity?.entity_version),
    ...observedBand(entity),
    modelUnits: entity?.provisioned_model_units,
    burstScaling: entity?.burst_scaling_enabled,
    configVersion,
  };
}

/**
 * An entity version as observed: a Unity Catalog version is a decimal number, and anything else a host sends goes on
 * as a short line of visible characters (it reaches status.served and status.pending, docs/security.md).
 */
const shownVersion = (version: string | undefined): string | undefined => shortLine(version);

/**
 * The served (or pending) config as the fields the operator manages; undefined when there is none.
 * `version`: the spec's; a config that has it (a canary step) is summed up by it, the version that changes.
 */
export function observeConfig(config: EndpointCoreConfigOutput | undefined, version?: string): ObservedServing | undefined {
  if (!config) return undefined;
  const entities = config.served_entities ?? [];
  const shares = entityShares(config);
  const observed: ObservedEntity[] = entities.map((e, i) => ({
    name: shortLine(e.name),
    entityName: e.entity_name,
    entityVersion: shownVersion(e.entity_version),
    ...observedBand(e),
    modelUnits: e.provisioned_model_units,
    share: shares[i] ?? 0,
  }));
  // The single-entity fields describe that entity, or else the one with the most traffic.
  const target = version === undefined ? -1 : entities.findIndex((e) => e.entity_version === version);
  return observeEntity(entities[target >= 0 ? target : mainEntityIndex(config)], observed, config.config_version);
}

const sameThroughput = (a: Partial<EntityThroughput>, b: Partial<EntityThroughput>) =>
  a.minTokensPerSecond === b.minTokensPerSecond && a.maxTokensPerSecond === b.maxTokensPerSecond && a.modelUnits === b.modelUnits;

/** Differences of a canary config: both versions with their throughput, and the new version's share. */
function diffSplit(desired: DesiredServing, split: CanarySplit, observed: ObservedServing): string[] {
  const next = observed.entities.find((e) => e.entityVersion === desired.entityVersion);
  const previous = observed.entities.find((e) => e.entityVersion === split.previous.entityVersion);
  const diffs: string[] = [];
  if (observed.entityCount !== 2 || !next || !previous) {
    return [`versions ${observed.entities.map((e) => e.entityVersion).join(' + ')} → ${split.previous.entityVersion} + ${desired.entityVersion}`];
  }
  if (!sameThroughput(next, desired) || !sameThroughput(previous, split.previous)) diffs.push('canary throughput');
  if (next.share !== split.share) diffs.push(`traffic to version ${desired.entityVersion} ${next.share} % → ${split.share} %`);
  return diffs;
}

/**
 * Differences in the fields the user controls, as human phrases ("version 3 → 4"). Fields the server
 * fills in or normalises (workload type and size, scale_to_zero_enabled, route names, entity order)
 * and fields it does not echo (burst_scaling_enabled, when absent) never count, so the operator
 * does not fight Databricks.
 */
export function diffServing(desired: DesiredServing, observed: ObservedServing | undefined): string[] {
  if (!observed) return ['no config is served yet'];
  if (desired.split) return diffSplit(desired, desired.split, observed);
  const diffs: string[] = [];
  if (observed.entityCount !== 1) diffs.push(`${observed.entityCount} served entities → 1`);
  if (!sameModel(observed.entityName, desired.entityName)) diffs.push(`model ${observed.entityName ?? 'none'} → ${desired.entityName}`);
  if (observed.entityVersion !== desired.entityVersion) diffs.push(`version ${observed.entityVersion ?? 'none'} → ${desired.entityVersion}`);
  if (desired.flavour === 'modelUnits') {
    if (observed.modelUnits !== desired.modelUnits) diffs.push(`model units ${observed.modelUnits ?? 'none'} → ${desired.modelUnits}`);
    if (observed.burstScaling !== undefined && observed.burstScaling !== desired.burstScaling) {
      diffs.push(`burst scaling ${observed.burstScaling} → ${desired.burstScaling}`);
    }
  } else {
    if (observed.minTokensPerSecond !== desired.minTokensPerSecond || observed.maxTokensPerSecond !== desired.maxTokensPerSecond) {
      diffs.push(
        `throughput ${observed.minTokensPerSecond ?? '?'}-${observed.maxTokensPerSecond ?? '?'} → ${desired.minTokensPerSecond}-${desired.maxTokensPerSecond} tokens/s`,
      );
    }
  }
  return diffs;
}

export const describeEntity = (s: Partial<EntityThroughput>): string =>
  s.modelUnits !== undefined
    ? `version ${s.entityVersion} with ${s.modelUnits} model units`
    : `version ${s.entityVersion} at ${s.minTokensPerSecond}-${s.maxTokensPerSecond} tokens/s`;

export const describeServing = (s: ObservedServing | DesiredServing): string => {
  if ('split' in s && s.split) return `${describeEntity(s)} (${s.split.share} %) beside ${describeEntity(s.split.previous)}`;
  if ('entities' in s && s.entityCount > 1) return s.entities.map((e) => `${describeEntity(e)} (${e.share} %)`).join(' and ');
  return describeEntity(s);
};

// ---- request bodies --------------------------------------------------------------------------

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([key, value]) => ({ key, value }));

/** One served entity to write: its throughput, its name (else the server names it), what is kept of it. */
type EntityToWrite = EntityThroughput & { name?: string; kept?: KeptEntityFields };

/** The fields of one served entity besides its throughput. */
const entityIdentity = (e: EntityToWrite) => {
  const name = e.name ?? e.kept?.name;
  return {
    ...(name !== undefined && { name }),
    ...(e.kept?.environmentVars && { environment_vars: e.kept.environmentVars }),
    ...(e.kept?.instanceProfileArn && { instance_profile_arn: e.kept.instanceProfileArn }),
  };
};

/** The served entity of a token-band config; outside a canary it gets 100 % of the traffic. */
const tokenBandEntity = (d: DesiredServing, e: EntityToWrite = d) => ({
  ...entityIdentity(e),
  entity_name: d.entityName,
  entity_version: e.entityVersion,
  min_provisioned_throughput: e.minTokensPerSecond,
  max_provisioned_throughput: e.maxTokensPerSecond,
});

const modelUnitEntity = (d: DesiredServing, e: EntityToWrite = d) => ({
  ...entityIdentity(e),
  entity_name: d.entityName,
  entity_version: e.entityVersion,
  provisioned_model_units: e.modelUnits as number,
  burst_scaling_enabled: e.burstScaling,
});

/**
 * A canary serves both versions, each by name, with routes that split the traffic. The spec's burst scaling goes to
 * both: left out for the old version, Databricks would apply its default there.
 */
function canaryConfig<E>(d: DesiredServing, split: CanarySplit, entity: (d: DesiredServing, e: EntityToWrite) => E) {
  return {
    served_entities: [entity(d, { ...split.previous, burstScaling: d.burstScaling, kept: d.kept }), entity(d, { ...d, name: split.name })],
    traffic_config: {
      routes: [
        { served_entity_name: split.previous.name, traffic_percentage: 100 - split.share },
        { served_entity_name: split.name, traffic_percentage: split.share },
      ],
    },
  };
}

type TrafficConfigInput = { routes: { served_entity_name: string; traffic_percentage: number }[] };

/** What only a create can set (the AI Gateway, permissions and notifications follow as their own calls). */
interface CreateOnly {
  budget_policy_id?: string;
  description?: string;
  route_optimized?: boolean;
}

/** `api`: the generic POST /serving-endpoints, or the model-unit POST /serving-endpoints/pt. */
export type CreateRequest =
  | {
      api: 'create';
      body: { name: string; config: { served_entities: (ReturnType<typeof tokenBandEntity> | ReturnType<typeof modelUnitEntity>)[] }; tags: { key: string; value: string }[] } & CreateOnly;
    }
  | { api: 'ptCreate'; body: { name: string; config: { served_entities: ReturnType<typeof modelUnitEntity>[] }; tags: { key: string; value: string }[]; budget_policy_id?: string } };

/** `api`: the generic PUT /{name}/config (fields at the top level), or the model-unit PUT /pt/{name}/config. */
export type UpdateRequest =
  | {
      api: 'config';
      name: string;
      body: { served_entities: (ReturnType<typeof tokenBandEntity> | ReturnType<typeof modelUnitEntity>)[]; traffic_config?: TrafficConfigInput; auto_capture_config?: AutoCaptureConfig };
    }
  | { api: 'ptConfig'; name: string; body: { config: { served_entities: ReturnType<typeof modelUnitEntity>[]; traffic_config?: TrafficConfigInput } } };

/**
 * Model units are created through the model-unit create (/pt), as databricks_model_serving_provisioned_throughput
 * creates them, unless the spec has a description or route optimization: /pt has no field for either (reference
 * §2.4), and the generic create takes them beside provisioned_model_units (§2.1, §2.3), as databricks_model_serving
 * creates such an endpoint.
 */
export function createRequest(
  name: string,
  desired: DesiredServing,
  tags: Record<string, string>,
  createOnly: Pick<EndpointSpec, 'budgetPolicyId' | 'description' | 'routeOptimized'> = {},
): CreateRequest {
  const policy = createOnly.budgetPolicyId !== undefined ? { budget_policy_id: createOnly.budgetPolicyId } : {};
  const onlyGeneric = {
    ...(createOnly.description !== undefined && { description: createOnly.description }),
    ...(createOnly.routeOptimized === true && { route_optimized: true }),
  };
  if (desired.flavour === 'modelUnits' && Object.keys(onlyGeneric).length === 0) {
    return { api: 'ptCreate', body: { name, config: { served_entities: [modelUnitEntity(desired)] }, tags: tagList(tags), ...policy } };
  }
  const entity = desired.flavour === 'modelUnits' ? modelUnitEntity(desired) : tokenBandEntity(desired);
  return { api: 'create', body: { name, config: { served_entities: [entity] }, tags: tagList(tags), ...policy, ...onlyGeneric } };
}

/**
 * Full replacement of the served entities: the PUT is not a patch (reference §2.2). Model units go through the
 * model-unit PUT (/pt), which has no environment_vars, instance_profile_arn or auto_capture_config (reference §2.4): an
 * endpoint that has any of them to keep (one made with the generic API, as Terraform's databricks_model_serving makes it) is updated through
 * the generic PUT, which takes model units and burst scaling too (reference §2.3).
 */
export function updateRequest(name: string, desired: DesiredServing): UpdateRequest {
  if (desired.flavour === 'modelUnits') {
    const config = desired.split ? canaryConfig(desired, desired.split, modelUnitEntity) : { served_entities: [modelUnitEntity(desired)] };
    if (!desired.kept?.environmentVars && !desired.kept?.instanceProfileArn && !desired.keptAutoCapture) return { api: 'ptConfig', name, body: { config } };
    return { api: 'config', name, body: { ...config, ...keptAutoCapture(desired) } };
  }
  const config = desired.split ? canaryConfig(desired, desired.split, tokenBandEntity) : { served_entities: [tokenBandEntity(desired)] };
  return { api: 'config', name, body: { ...config, ...keptAutoCapture(desired) } };
}

const keptAutoCapture = (desired: DesiredServing) => (desired.keptAutoCapture ? { auto_capture_config: desired.keptAutoCapture } : {});

type ServingFields = Pick<ObservedServing, 'entityVersion' | 'minTokensPerSecond' | 'maxTokensPerSecond' | 'modelUnits' | 'burstScaling' | 'configVersion'>;

/** A serving config as status.served and status.pending record it. */
export function statusFields(s: ServingFields): NonNullable<EndpointStatus['served']> {
  const fields = {
    modelVersion: s.entityVersion,
    minTokensPerSecond: s.minTokensPerSecond,
    maxTokensPerSecond: s.maxTokensPerSecond,
    modelUnits: s.modelUnits,
    burstScaling: s.burstScaling,
    configVersion: s.configVersion,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** Whether `config` is the one `known` describes (a status pending config: requested or watched). */
export function sameServing(known: EndpointStatus['pending'], config: ServingFields): boolean {
  if (!known) return false;
  const fields = statusFields(config);
  return (['modelVersion', 'minTokensPerSecond', 'maxTokensPerSecond', 'modelUnits'] as const).every((key) => known[key] === fields[key]);
}
