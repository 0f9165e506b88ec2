// From an existing Databricks endpoint to the ProvisionedThroughputEndpoint that describes it
// exactly, so that applying it (with the adopt annotation) changes nothing in Databricks. Pure: the
// caller reads the endpoint and the model's optimization info. An endpoint the spec cannot express
// is refused with the reason, never approximated: an approximation would be "corrected" on apply.
import {
  API_VERSION,
  ENDPOINT_KIND,
  EndpointAnnotation,
  EndpointSpec,
  MODEL_NAME_PATTERN,
  MODEL_VERSION_PATTERN,
  OWNER_TAG_PREFIX,
} from '../api/v1alpha1/index.js';
import { re2Regex } from '../api/v1alpha1/rules.js';
import { gatewaySpec } from '../controllers/endpoint/ai-gateway.js';
import { DEFAULT_CAPACITY_PATTERNS, rolloutFailure } from '../controllers/endpoint/capacity.js';
import { describeServing, keptEntityFields, observeConfig, observedBand } from '../controllers/endpoint/desired.js';
import { notificationsSpec } from '../controllers/endpoint/notifications.js';
import { telemetrySpec } from '../controllers/endpoint/telemetry.js';
import { OwnerTag, tagMap, taggedOwner } from '../controllers/endpoint/ownership.js';
import { budgetPolicyOf, isEndpointName, type ModelOptimizationInfo, type ServingEndpointDetailed } from '../databricks/api-types.js';

/** As the CRD's CEL rule matches it (RE2), so what import writes is what admission takes. */
const modelNameRegex = re2Regex(MODEL_NAME_PATTERN);

export interface ImportOptions {
  namespace: string;
  /** spec.workspaceRef.name; omitted = the operator's default workspace */
  workspace?: string;
  /** Orphan (default) keeps the endpoint when the object is deleted; it predates the operator. */
  deletionPolicy: 'Delete' | 'Orphan';
  /** Observe: the objects only show the endpoints, which stay managed elsewhere (Terraform); omitted: Full. */
  managementPolicy?: 'Observe';
}

/** The object to apply, and notes (YAML comments) about what Databricks does not report. */
export interface Imported {
  ok: true;
  endpointName: string;
  object: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; annotations: Record<string, string> };
    spec: Partial<EndpointSpec> & Pick<EndpointSpec, 'model' | 'throughput'>;
  };
  notes: string[];
}

export interface Refused {
  ok: false;
  endpointName: string;
  reason: string;
}

/** Tags on one endpoint the CRD accepts (spec.tags maxProperties). */
const MAX_TAGS = 40;

/** Why a model's optimization info could not be read (Databricks' answer), for the reason import gives. */
export interface ModelInfoUnread {
  unread: string;
}

/** What the model reports about the endpoint's served entity; undefined (or why) when it could not be read. */
export type ModelInfoLookup = (name: string, version: string) => ModelOptimizationInfo | ModelInfoUnread | undefined;

export function translateEndpoint(endpoint: ServingEndpointDetailed, modelInfo: ModelInfoLookup, options: ImportOptions): Imported | Refused {
  const name = endpoint.name;
  const refuse = (reason: string): Refused => ({ ok: false, endpointName: name, reason });

  const badName = refusedName(name);
  if (badName) return badName;
  if (endpoint.state.config_update === 'IN_PROGRESS') {
    return refuse('an update is in progress; import it again when Databricks reports NOT_UPDATING');
  }
  const config = endpoint.config;
  if (!config) return refuse('it has no served config yet (it never deployed successfully)');
  const entities = config.served_entities ?? [];
  if (entities.length !== 1) {
    return refuse(`it serves ${entities.length} entities${entities.length > 1 ? ' split by traffic_config' : ''}; the operator manages exactly one served entity`);
  }
  const entity = entities[0] as NonNullable<typeof entities[number]>;
  if (entity.external_model !== undefined) return refuse('it serves an external model, not provisioned throughput');
  const model = entity.entity_name ?? '';
  const version = entity.entity_version ?? '';
  if (!modelNameRegex.test(model)) return refuse(`its entity ${model || '(unnamed)'} is not a Unity Catalog model (catalog.schema.model)`);
  if (!new RegExp(MODEL_VERSION_PATTERN).test(version)) return refuse(`its model version "${version}" is not a positive integer`);

  const hasBand = entity.min_provisioned_throughput !== undefined || entity.max_provisioned_throughput !== undefined;
  const units = entity.provisioned_model_units;
  if (!hasBand && units === undefined) {
    return refuse(`it is not provisioned throughput (a ${entity.workload_type ?? 'CPU'} ${entity.workload_size ?? ''} deployment)`.replace(' )', ')'));
  }

  const info = modelInfo(model, version);
  if (!info || 'unread' in info) return refuse(`the optimization info of ${model} version ${version} could not be read${info ? `: ${info.unread}` : ''}`);
  if (info.optimizable !== true) return refuse(`${model} version ${version} is not eligible for provisioned throughput`);

  const notes: string[] = [];
  let throughput: EndpointSpec['throughput'];
  let burstScaling: boolean | undefined;
  if (units !== undefined) {
    const chunk = info.model_unit_chunk_size;
    if (!chunk) return refuse(`it provisions model units but ${model} is provisioned in tokens per second`);
    if (units % chunk !== 0) return refuse(`its ${units} model units are not a multiple of the model-unit chunk size ${chunk}`);
    throughput = { modelUnits: units };
    if (entity.burst_scaling_enabled === false) burstScaling = false;
    else if (entity.burst_scaling_enabled === undefined) {
      notes.push('Databricks does not report burst scaling; this assumes it is enabled (the default). Set burstScaling: false if the endpoint was created without it.');
    }
  } else {
    const chunk = info.throughput_chunk_size;
    // the band as the operator will observe it (a missing min is 0), so the object it writes shows no drift
    const band = observedBand(entity);
    const min = band.minTokensPerSecond ?? 0;
    const max = band.maxTokensPerSecond ?? 0;
    if (!chunk) return refuse(`it provisions tokens per second but ${model} is provisioned in model units`);
    if (max < 1 || min > max) return refuse(`its throughput band ${min}-${max} tokens/s is not a valid band`);
    if (min % chunk !== 0 || max % chunk !== 0) {
      return refuse(`its throughput band ${min}-${max} tokens/s is not a multiple of the model's chunk size ${chunk}`);
    }
    throughput = { tokensPerSecond: { min, max } };
    notes.push(`${min}-${max} tokens/s = chunks {min: ${min / chunk}, max: ${max / chunk}} of ${chunk} tokens/s.`);
  }

  const tags: Record<string, string> = {};
  const reserved: string[] = [];
  for (const tag of endpoint.tags ?? []) {
    // The operator's own tags (users may not set the prefix); the owner they name is noted below. Another tag of the
    // prefix cannot be in spec.tags either, and stays on the endpoint (the operator changes only the tags it manages).
    if (tag.key.startsWith(OWNER_TAG_PREFIX)) {
      if (tag.key !== OwnerTag.uid && tag.key !== OwnerTag.object) reserved.push(tag.key.slice(0, 40));
      continue;
    }
    const value = tag.value ?? '';
    tags[tag.key] = value;
  }
  if (reserved.length > 0) {
    const one = reserved.length === 1;
    notes.push(`The ${one ? 'tag' : 'tags'} ${reserved.join(', ')} cannot be in spec.tags (the prefix ${OWNER_TAG_PREFIX} is reserved for the operator's owner tags): ${one ? 'it stays' : 'they stay'} on the endpoint, never changed by the operator.`);
  }
  if (Object.keys(tags).length > MAX_TAGS) return refuse(`it has ${Object.keys(tags).length} tags; the CRD accepts at most ${MAX_TAGS}`);

  const failedNote = failedUpdateNote(endpoint, options.managementPolicy === 'Observe');
  if (failedNote) notes.push(failedNote);
  const ownerNote = recordedOwnerNote(endpoint, options.namespace);
  if (ownerNote) notes.push(ownerNote);
  const settings = settingsSpec(endpoint, notes);

  const spec: Imported['object']['spec'] = {
    ...(options.workspace !== undefined && { workspaceRef: { name: options.workspace } }),
    endpointName: name,
    model: { name: model, version },
    throughput,
    ...(burstScaling !== undefined && { burstScaling }),
    ...(Object.keys(tags).length > 0 && { tags }),
    ...settings,
    deletionPolicy: options.deletionPolicy,
    ...(options.managementPolicy === 'Observe' && { managementPolicy: 'Observe' as const }),
  };
  if (options.managementPolicy === 'Observe') {
    notes.push(
      'managementPolicy: Observe: the operator reads this endpoint and never changes it (Synced=False Drifted says where the spec and the endpoint differ). To let the operator manage it, set managementPolicy to Full: the adopt annotation counts from then on, and a spec that matches sends nothing.',
    );
  }
  // The CRD's own rules (the same zod schema) are the last word: what it would refuse is not imported.
  const checked = EndpointSpec.safeParse(spec);
  if (!checked.success) return refuse(`the CRD would reject it: ${checked.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return {
    ok: true,
    endpointName: name,
    object: {
      apiVersion: API_VERSION,
      kind: ENDPOINT_KIND,
      metadata: { name: objectName(name), namespace: options.namespace, annotations: { [EndpointAnnotation.adopt]: 'true' } },
      spec,
    },
    notes,
  };
}

/**
 * A name that breaks Databricks' endpoint-name rule is refused before anything else: the host chose it (a listing
 * may hold anything), and neither the CRD nor a request path should carry it.
 */
export function refusedName(name: string): Refused | undefined {
  if (isEndpointName(name)) return undefined;
  return { ok: false, endpointName: name, reason: 'its name does not match the Databricks endpoint-name rule the CRD enforces' };
}

/**
 * The last config update failed (a Terraform apply that timed out for lack of GPUs, say): the old config still serves
 * and is what the object declares, so the failed config is named here rather than dropped without a word.
 */
function failedUpdateNote(endpoint: ServingEndpointDetailed, observe: boolean): string | undefined {
  const failure = rolloutFailure(endpoint, DEFAULT_CAPACITY_PATTERNS);
  const [served, failed] = [observeConfig(endpoint.config), observeConfig(endpoint.pending_config)];
  if (!failure || !served) return undefined;
  // An observer sends nothing, ever, and reports the failure as Databricks does.
  const next = observe
    ? '; Ready is False (UpdateFailed) until whoever manages the endpoint updates it again.'
    : ', so applying it sends nothing; to try that update again, set the spec to it once the object is Ready.';
  return `Its last config update failed (${failed ? `${describeServing(failed)}: ` : ''}${failure.message}): this object declares what serves (${describeServing(served)})${next}`;
}

/**
 * An endpoint with the owner tags of an object (one deleted with deletionPolicy Orphan leaves them): the operator
 * lets an adopting object take it only when that object no longer exists (docs/security.md).
 */
function recordedOwnerNote(endpoint: ServingEndpointDetailed, namespace: string): string | undefined {
  const uid = tagMap(endpoint)[OwnerTag.uid];
  if (uid === undefined) return undefined;
  const owner = taggedOwner(endpoint);
  const named = owner ? `${owner.namespace}.${owner.name} (uid ${uid})` : `uid ${uid}`;
  const crossNamespace =
    owner && owner.namespace !== namespace
      ? ` That object is of another namespace: adopting across namespaces also needs the operator to run with --allow-cross-namespace-adoption and to watch ${owner.namespace}.`
      : '';
  return (
    `It carries the operator's owner tags of ${named}, left out of spec.tags: this object adopts it only if that object no longer exists in the cluster this is applied to; otherwise it reports NotOwned and sends nothing. ` +
    `An object of another cluster is one the operator cannot see, so this object takes it over from there at once: if another cluster still manages it, stop that cluster managing it first (docs/concepts.md, moving to another cluster).${crossNamespace}`
  );
}

type SettingsFields = Pick<EndpointSpec, 'description' | 'budgetPolicyId' | 'routeOptimized' | 'aiGateway' | 'notifications' | 'telemetry'>;

/**
 * The endpoint-level settings as spec fields, so that the object declares them (the create-only ones can only be
 * set when the object is created) and a re-created endpoint has them too. What the spec cannot carry is noted.
 */
function settingsSpec(endpoint: ServingEndpointDetailed, notes: string[]): Partial<SettingsFields> {
  const fields: Partial<SettingsFields> = {};
  // Databricks echoes "no description" as "".
  if (endpoint.description) fields.description = endpoint.description;
  const budgetPolicy = budgetPolicyOf(endpoint);
  if (budgetPolicy) fields.budgetPolicyId = budgetPolicy;
  const aiGateway = gatewaySpec(endpoint.ai_gateway, endpoint.name);
  if (aiGateway) fields.aiGateway = aiGateway;
  const notifications = notificationsSpec(endpoint.email_notifications);
  if (notifications) fields.notifications = notifications;
  if (endpoint.route_optimized) fields.routeOptimized = true;
  const telemetry = telemetrySpec(endpoint.telemetry_config);
  if (telemetry) fields.telemetry = telemetry;
  const entityNote = keptEntityNote(endpoint);
  if (entityNote) notes.push(entityNote);
  const autoCaptureNote = legacyInferenceTableNote(endpoint);
  if (autoCaptureNote) notes.push(autoCaptureNote);
  notes.push('Permissions are not read by import: this object leaves them alone unless spec.permissions is added.');
  return fields;
}

/**
 * What the operator's config updates carry over from the served entity (desired.ts keptEntityFields) and the spec
 * cannot declare: its own name (not Databricks' default model-version), its environment variables (names only: their
 * values may reference secrets) and its instance profile.
 */
function keptEntityNote(endpoint: ServingEndpointDetailed): string | undefined {
  const kept = keptEntityFields(endpoint.config);
  if (!kept) return undefined;
  const parts = [
    ...(kept.name !== undefined ? [`its served entity name "${kept.name}"`] : []),
    ...(kept.environmentVars ? [`its environment variables (${Object.keys(kept.environmentVars).join(', ')})`] : []),
    ...(kept.instanceProfileArn !== undefined ? [`its instance profile (${kept.instanceProfileArn})`] : []),
  ];
  const [they, are] = parts.length > 1 ? ['them', 'they are'] : ['it', 'it is'];
  const listed = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0];
  return `It has ${listed}, which the spec has no field for: ${are} kept on this endpoint (config updates carry ${they} over), but a re-created endpoint would not have ${they}.`;
}

/** A legacy inference table (config.auto_capture_config, reference §2.2): the operator's PUTs carry it over. */
function legacyInferenceTableNote(endpoint: ServingEndpointDetailed): string | undefined {
  const autoCapture = endpoint.config?.auto_capture_config;
  if (!autoCapture) return undefined;
  const payload = autoCapture.state?.payload_table;
  const table = [autoCapture.catalog_name, autoCapture.schema_name, payload?.name ?? `${autoCapture.table_name_prefix ?? endpoint.name}_payload`]
    .filter((part) => part !== undefined)
    .join('.');
  const status = [autoCapture.enabled === false ? 'disabled' : undefined, payload?.status].filter(Boolean).join(', ');
  return (
    `It has a legacy inference table (config.auto_capture_config) logging to ${table}${status ? ` (${status})` : ''}, which the spec has no field for: ` +
    'it is kept on this endpoint (config updates carry it over), but a re-created endpoint would not have it (Databricks refuses it on new provisioned-throughput endpoints); ' +
    'to declare inference tables, move to spec.aiGateway.inferenceTables.'
  );
}

/**
 * A Kubernetes object name (RFC 1123 subdomain) for an endpoint name, which may hold capitals and
 * underscores; spec.endpointName keeps the exact name.
 */
export function objectName(endpointName: string): string {
  const name = endpointName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return name === '' ? 'endpoint' : name;
}

/** Gives objects whose names collide after objectName() a numbered suffix, in input order. */
export function uniqueObjectNames(imports: Imported[]): void {
  const used = new Set<string>();
  for (const imported of imports) {
    const base = imported.object.metadata.name;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
    used.add(name);
    imported.object.metadata.name = name;
  }
}
