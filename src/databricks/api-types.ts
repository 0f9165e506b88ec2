// Zod schemas of the Databricks serving-endpoints REST bodies, shared by the client and the emulator.
// Facts: the serving-API reference notes the project was built from (outside this repository), §1–§4: field names
// verbatim from the SDKs.
//
// Tolerance rules, because Databricks grows its API without notice:
// - objects strip unknown keys instead of rejecting them (zod's default `z.object`);
// - enums are open: any string parses, the known values are exported as constants;
// - almost every response field is optional: the server omits empty or unset fields.
// Changes to this file must stay additive: the emulator imports these names.
import { z } from 'zod';
import { hasUnshowable } from './host-text.js';

/**
 * Databricks' endpoint-name rule: the backend regex the Databricks CLI's fake cites (reference §1). One pattern for
 * the emulator, the CRD (so a bad name fails at admission) and import (a listed name that breaks it is refused).
 */
export const ENDPOINT_NAME_PATTERN = '^[a-zA-Z0-9]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?$';
const ENDPOINT_NAME_RULE = new RegExp(ENDPOINT_NAME_PATTERN);
export const isEndpointName = (name: string): boolean => ENDPOINT_NAME_RULE.test(name);

/** A string enum that accepts values Databricks adds later, while typing the known ones. */
export type OpenEnum<Known extends string> = Known | (string & {});

function openEnum<const Known extends readonly [string, ...string[]]>(known: Known): z.ZodType<OpenEnum<Known[number]>> {
  return z.string().describe(`known values: ${known.join(', ')} (newer values are accepted)`);
}

// ---------------------------------------------------------------------------------------------
// Enums (known values as of GO v0.175 / PY 0.133)

export const ENDPOINT_READY = ['READY', 'NOT_READY'] as const;
export type EndpointReady = OpenEnum<(typeof ENDPOINT_READY)[number]>;
export const EndpointReadySchema = openEnum(ENDPOINT_READY);

export const ENDPOINT_CONFIG_UPDATE = ['NOT_UPDATING', 'IN_PROGRESS', 'UPDATE_FAILED', 'UPDATE_CANCELED'] as const;
export type EndpointConfigUpdate = OpenEnum<(typeof ENDPOINT_CONFIG_UPDATE)[number]>;
export const EndpointConfigUpdateSchema = openEnum(ENDPOINT_CONFIG_UPDATE);

export const DEPLOYMENT_STATES = [
  'DEPLOYMENT_CREATING',
  'DEPLOYMENT_READY',
  'DEPLOYMENT_FAILED',
  'DEPLOYMENT_RECOVERING',
  'DEPLOYMENT_ABORTED',
] as const;
export type DeploymentState = OpenEnum<(typeof DEPLOYMENT_STATES)[number]>;
export const DeploymentStateSchema = openEnum(DEPLOYMENT_STATES);

export const WORKLOAD_TYPES = [
  'CPU',
  'CPU_LARGE',
  'CPU_MEDIUM',
  'GPU_SMALL',
  'GPU_MEDIUM',
  'GPU_LARGE',
  'GPU_XLARGE',
  'GPU_XLARGE_8',
  'MULTIGPU_MEDIUM',
] as const;
export type WorkloadType = OpenEnum<(typeof WORKLOAD_TYPES)[number]>;
export const WorkloadTypeSchema = openEnum(WORKLOAD_TYPES);

export const PERMISSION_LEVELS = ['CAN_MANAGE', 'CAN_QUERY', 'CAN_VIEW'] as const;
export type PermissionLevel = OpenEnum<(typeof PERMISSION_LEVELS)[number]>;
export const PermissionLevelSchema = openEnum(PERMISSION_LEVELS);

export const COMMITMENT_TERMS = ['COMMITMENT_TERM_1_MONTH', 'COMMITMENT_TERM_3_MONTHS'] as const;
export type CommitmentTerm = OpenEnum<(typeof COMMITMENT_TERMS)[number]>;
export const CommitmentTermSchema = openEnum(COMMITMENT_TERMS);

/** error_code values seen from the serving API and mapped by the SDKs (reference §3.2–§3.3). */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'INVALID_PARAMETER_VALUE',
  'INVALID_STATE',
  'UNAUTHENTICATED',
  'UNAUTHORIZED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'RESOURCE_DOES_NOT_EXIST',
  'RESOURCE_CONFLICT',
  'ABORTED',
  'ALREADY_EXISTS',
  'RESOURCE_ALREADY_EXISTS',
  'RESOURCE_EXHAUSTED',
  'REQUEST_LIMIT_EXCEEDED',
  'TOO_MANY_REQUESTS',
  'CANCELLED',
  'INTERNAL_ERROR',
  'NOT_IMPLEMENTED',
  'TEMPORARILY_UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'UNKNOWN',
  'DATA_LOSS',
] as const;
export type ErrorCode = OpenEnum<(typeof ERROR_CODES)[number]>;
export const ErrorCodeSchema = openEnum(ERROR_CODES);

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** entity_version is a string in the API, but DOC-PT's own sample sends an int: accept both, keep a string. */
export const EntityVersionSchema = z.union([z.string(), z.number().int()]).transform((v) => String(v));

export const EndpointTagSchema = z.object({
  key: z.string(),
  value: z.string().optional(),
});
export type EndpointTag = z.infer<typeof EndpointTagSchema>;

export const RouteSchema = z.object({
  served_entity_name: z.string().optional(),
  served_model_name: z.string().optional(),
  traffic_percentage: z.number(),
});
export type Route = z.infer<typeof RouteSchema>;

export const TrafficConfigSchema = z.object({
  routes: z.array(RouteSchema).optional(),
});
export type TrafficConfig = z.infer<typeof TrafficConfigSchema>;

export const AutoCaptureConfigSchema = z.object({
  catalog_name: z.string().optional(),
  schema_name: z.string().optional(),
  table_name_prefix: z.string().optional(),
  enabled: z.boolean().optional(),
});
export type AutoCaptureConfig = z.infer<typeof AutoCaptureConfigSchema>;

/** A legacy inference table as GET shows it: the input fields and the table's state (reference §2.5). */
export const AutoCaptureConfigOutputSchema = AutoCaptureConfigSchema.extend({
  state: z
    .looseObject({
      payload_table: z.looseObject({ name: z.string().optional(), status: z.string().optional(), status_message: z.string().optional() }).optional(),
    })
    .optional(),
}).loose();
export type AutoCaptureConfigOutput = z.infer<typeof AutoCaptureConfigOutputSchema>;

export const EmailNotificationsSchema = z.object({
  on_update_failure: z.array(z.string()).optional(),
  on_update_success: z.array(z.string()).optional(),
});
export type EmailNotifications = z.infer<typeof EmailNotificationsSchema>;

// ---------------------------------------------------------------------------------------------
// AI Gateway (PUT /serving-endpoints/{name}/ai-gateway; also `ai_gateway` of creates and GET).
// Field names per PY serving.py AiGatewayConfig and friends. A PUT replaces the whole object.

export const PII_BEHAVIORS = ['NONE', 'BLOCK', 'MASK'] as const;
export const RATE_LIMIT_KEYS = ['endpoint', 'user', 'user_group', 'service_principal'] as const;
export const RATE_LIMIT_RENEWAL_PERIODS = ['minute'] as const;

export const AiGatewayGuardrailParametersSchema = z.object({
  invalid_keywords: z.array(z.string()).optional(),
  pii: z.object({ behavior: openEnum(PII_BEHAVIORS).optional() }).optional(),
  safety: z.boolean().optional(),
  valid_topics: z.array(z.string()).optional(),
});
export type AiGatewayGuardrailParameters = z.infer<typeof AiGatewayGuardrailParametersSchema>;

export const AiGatewayInferenceTableConfigSchema = z.object({
  catalog_name: z.string().optional(),
  enabled: z.boolean().optional(),
  schema_name: z.string().optional(),
  table_name_prefix: z.string().optional(),
});
export type AiGatewayInferenceTableConfig = z.infer<typeof AiGatewayInferenceTableConfigSchema>;

export const AiGatewayRateLimitSchema = z.object({
  calls: z.number().int().optional(),
  key: openEnum(RATE_LIMIT_KEYS).optional(),
  principal: z.string().optional(),
  renewal_period: openEnum(RATE_LIMIT_RENEWAL_PERIODS),
  tokens: z.number().int().optional(),
});
export type AiGatewayRateLimit = z.infer<typeof AiGatewayRateLimitSchema>;

/** AiGatewayConfig = PutAiGatewayRequest body (without the name) = PutAiGatewayResponse. */
export const AiGatewayConfigSchema = z.object({
  fallback_config: z.object({ enabled: z.boolean() }).optional(),
  guardrails: z
    .object({ input: AiGatewayGuardrailParametersSchema.optional(), output: AiGatewayGuardrailParametersSchema.optional() })
    .optional(),
  inference_table_config: AiGatewayInferenceTableConfigSchema.optional(),
  rate_limits: z.array(AiGatewayRateLimitSchema).optional(),
  usage_tracking_config: z.object({ enabled: z.boolean().optional() }).optional(),
});
export type AiGatewayConfig = z.infer<typeof AiGatewayConfigSchema>;
export const PutAiGatewayRequestSchema = AiGatewayConfigSchema;
export type PutAiGatewayRequest = AiGatewayConfig;
export const PutAiGatewayResponseSchema = AiGatewayConfigSchema;

// ---------------------------------------------------------------------------------------------
// Notifications (PATCH /serving-endpoints/{name}/notifications)

export const UpdateNotificationsRequestSchema = z.object({
  email_notifications: EmailNotificationsSchema.optional(),
});
export type UpdateNotificationsRequest = z.infer<typeof UpdateNotificationsRequestSchema>;
export const UpdateNotificationsResponseSchema = UpdateNotificationsRequestSchema.extend({ name: z.string().optional() });
export type UpdateNotificationsResponse = z.infer<typeof UpdateNotificationsResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Telemetry (PATCH /serving-endpoints/{name}/telemetry-config; also `telemetry_config` of the generic create and GET).
// Field names per PY serving.py TelemetryConfig, TelemetryInferenceTableConfig and UnityCatalogTableNames. A PATCH
// replaces the whole object; a body without telemetry_config removes it.

export const TELEMETRY_FEATURES = ['TELEMETRY_FEATURE_INFERENCE_TABLE', 'TELEMETRY_FEATURE_LOGS', 'TELEMETRY_FEATURE_METRICS', 'TELEMETRY_FEATURE_TRACES'] as const;
export type TelemetryFeature = (typeof TELEMETRY_FEATURES)[number];

/** Full three-level Unity Catalog names (catalog.schema.table). */
export const UnityCatalogTableNamesSchema = z.object({
  annotations_table: z.string().optional(),
  logs_table: z.string().optional(),
  metrics_table: z.string().optional(),
  traces_table: z.string().optional(),
});
export type UnityCatalogTableNames = z.infer<typeof UnityCatalogTableNamesSchema>;

export const TelemetryInferenceTableConfigSchema = z.object({
  /** the full name of the inference table made for the endpoint */
  name: z.string().optional(),
  /** in [0.0, 1.0]; 1.0 logs every request */
  sampling_fraction: z.number().optional(),
});
export type TelemetryInferenceTableConfig = z.infer<typeof TelemetryInferenceTableConfigSchema>;

export const TelemetryConfigSchema = z.object({
  /** empty or omitted: every signal */
  enabled_telemetry_features: z.array(openEnum(TELEMETRY_FEATURES)).optional(),
  inference_table_config: TelemetryInferenceTableConfigSchema.optional(),
  /** the tables to make a new telemetry profile from */
  table_names: UnityCatalogTableNamesSchema.optional(),
  /** an existing telemetry profile */
  telemetry_profile_id: z.string().optional(),
});
export type TelemetryConfig = z.infer<typeof TelemetryConfigSchema>;

export const PatchTelemetryConfigRequestSchema = z.object({
  telemetry_config: TelemetryConfigSchema.optional(),
});
export type PatchTelemetryConfigRequest = z.infer<typeof PatchTelemetryConfigRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Permissions (/api/2.0/permissions/serving-endpoints/{serving_endpoint_id}: by endpoint ID).
// GET returns the ACL, PUT replaces the direct permissions, PATCH merges into them.

/** object_type of a serving endpoint in permissions responses (TF permission_definitions.go). */
export const SERVING_ENDPOINT_OBJECT_TYPE = 'serving-endpoint';

export const AccessControlRequestSchema = z.object({
  group_name: z.string().optional(),
  permission_level: PermissionLevelSchema.optional(),
  service_principal_name: z.string().optional(),
  user_name: z.string().optional(),
});
export type AccessControlRequest = z.infer<typeof AccessControlRequestSchema>;

export const PermissionsRequestSchema = z.object({
  access_control_list: z.array(AccessControlRequestSchema).optional(),
});
export type PermissionsRequest = z.infer<typeof PermissionsRequestSchema>;

export const PermissionSchema = z.object({
  inherited: z.boolean().optional(),
  inherited_from_object: z.array(z.string()).optional(),
  permission_level: PermissionLevelSchema.optional(),
});
export type Permission = z.infer<typeof PermissionSchema>;

export const AccessControlResponseSchema = z.object({
  all_permissions: z.array(PermissionSchema).optional(),
  display_name: z.string().optional(),
  group_name: z.string().optional(),
  service_principal_name: z.string().optional(),
  user_name: z.string().optional(),
});
export type AccessControlResponse = z.infer<typeof AccessControlResponseSchema>;

export const ServingEndpointPermissionsSchema = z.object({
  access_control_list: z.array(AccessControlResponseSchema).optional(),
  object_id: z.string().optional(),
  object_type: z.string().optional(),
});
export type ServingEndpointPermissions = z.infer<typeof ServingEndpointPermissionsSchema>;

export const PermissionLevelsResponseSchema = z.object({
  permission_levels: z.array(z.object({ description: z.string().optional(), permission_level: PermissionLevelSchema.optional() })).optional(),
});
export type PermissionLevelsResponse = z.infer<typeof PermissionLevelsResponseSchema>;

/** GET /api/2.1/unity-catalog/schemas/{full_name}: the operator only needs to know it exists (PY catalog.py SchemaInfo). */
export const SchemaInfoSchema = z.looseObject({
  name: z.string().optional(),
  catalog_name: z.string().optional(),
  full_name: z.string().optional(),
});
export type SchemaInfo = z.infer<typeof SchemaInfoSchema>;

/**
 * GET /api/2.0/preview/scim/v2/Me: who the credentials stand for (PY iam.py User; the SDKs' current_user.me()). The
 * operator reads userName: a user's e-mail, or a service principal's application ID, as ACLs and `creator` name them.
 */
export const CurrentUserSchema = z.looseObject({
  id: z.string().optional(),
  // status.identity and a principal of permissions PUTs: an e-mail (at most 254 characters) or an application ID, one
  // line of visible characters. Anything else a host answers is no identity (unknown, as when the ask fails).
  userName: z.string().min(1).max(256).refine((name) => !hasUnshowable(name), 'holds control or format characters'),
});
export type CurrentUser = z.infer<typeof CurrentUserSchema>;

/** Rate-limit and external model bodies are passed through untouched: the operator does not manage them. */
const OpaqueObjectSchema = z.looseObject({});

export const FoundationModelSchema = z.object({
  name: z.string().optional(),
  display_name: z.string().optional(),
  description: z.string().optional(),
  docs: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// Requests: generic (token-band) create and update

export const ServedEntityInputSchema = z.object({
  entity_name: z.string().optional(),
  entity_version: EntityVersionSchema.optional(),
  name: z.string().optional(),
  /** tokens per second, a multiple of throughput_chunk_size */
  min_provisioned_throughput: z.number().int().optional(),
  max_provisioned_throughput: z.number().int().optional(),
  provisioned_model_units: z.number().int().optional(),
  burst_scaling_enabled: z.boolean().optional(),
  scale_to_zero_enabled: z.boolean().optional(),
  workload_size: z.string().optional(),
  workload_type: WorkloadTypeSchema.optional(),
  min_provisioned_concurrency: z.number().int().optional(),
  max_provisioned_concurrency: z.number().int().optional(),
  environment_vars: z.record(z.string(), z.string()).optional(),
  instance_profile_arn: z.string().optional(),
  external_model: OpaqueObjectSchema.optional(),
});
export type ServedEntityInput = z.infer<typeof ServedEntityInputSchema>;

/** Deprecated `served_models[]` element (still accepted by the API). */
export const ServedModelInputSchema = z.object({
  model_name: z.string(),
  model_version: EntityVersionSchema,
  scale_to_zero_enabled: z.boolean().optional(),
  name: z.string().optional(),
  min_provisioned_throughput: z.number().int().optional(),
  max_provisioned_throughput: z.number().int().optional(),
  workload_size: z.string().optional(),
  workload_type: WorkloadTypeSchema.optional(),
  min_provisioned_concurrency: z.number().int().optional(),
  max_provisioned_concurrency: z.number().int().optional(),
  environment_vars: z.record(z.string(), z.string()).optional(),
  instance_profile_arn: z.string().optional(),
});
export type ServedModelInput = z.infer<typeof ServedModelInputSchema>;

/** Body of PUT /api/2.0/serving-endpoints/{name}/config (fields at the TOP level) and `config` of a generic create. */
export const EndpointCoreConfigInputSchema = z.object({
  /** path parameter in the SDKs; tolerated in the body */
  name: z.string().optional(),
  served_entities: z.array(ServedEntityInputSchema).optional(),
  served_models: z.array(ServedModelInputSchema).optional(),
  traffic_config: TrafficConfigSchema.optional(),
  auto_capture_config: AutoCaptureConfigSchema.optional(),
});
export type EndpointCoreConfigInput = z.infer<typeof EndpointCoreConfigInputSchema>;
export const UpdateConfigRequestSchema = EndpointCoreConfigInputSchema;
export type UpdateConfigRequest = EndpointCoreConfigInput;

/** Body of POST /api/2.0/serving-endpoints. */
export const CreateServingEndpointSchema = z.object({
  name: z.string(),
  config: EndpointCoreConfigInputSchema.optional(),
  ai_gateway: AiGatewayConfigSchema.optional(),
  budget_policy_id: z.string().optional(),
  description: z.string().optional(),
  email_notifications: EmailNotificationsSchema.optional(),
  rate_limits: z.array(OpaqueObjectSchema).optional(),
  route_optimized: z.boolean().optional(),
  tags: z.array(EndpointTagSchema).optional(),
  telemetry_config: TelemetryConfigSchema.optional(),
});
export type CreateServingEndpoint = z.infer<typeof CreateServingEndpointSchema>;

// ---------------------------------------------------------------------------------------------
// Requests: model-unit PT API (/serving-endpoints/pt)

export const PtServedModelSchema = z.object({
  entity_name: z.string(),
  provisioned_model_units: z.number().int(),
  entity_version: EntityVersionSchema.optional(),
  name: z.string().optional(),
  burst_scaling_enabled: z.boolean().optional(),
  pt_term: CommitmentTermSchema.optional(),
  pt_auto_renew: z.boolean().optional(),
});
export type PtServedModel = z.infer<typeof PtServedModelSchema>;

export const PtEndpointCoreConfigSchema = z.object({
  served_entities: z.array(PtServedModelSchema),
  traffic_config: TrafficConfigSchema.optional(),
});
export type PtEndpointCoreConfig = z.infer<typeof PtEndpointCoreConfigSchema>;

/** Body of POST /api/2.0/serving-endpoints/pt. */
export const CreatePtEndpointRequestSchema = z.object({
  name: z.string(),
  config: PtEndpointCoreConfigSchema,
  ai_gateway: AiGatewayConfigSchema.optional(),
  budget_policy_id: z.string().optional(),
  email_notifications: EmailNotificationsSchema.optional(),
  tags: z.array(EndpointTagSchema).optional(),
  relocate_pt_commitment: OpaqueObjectSchema.optional(),
});
export type CreatePtEndpointRequest = z.infer<typeof CreatePtEndpointRequestSchema>;

/** Body of PUT /api/2.0/serving-endpoints/pt/{name}/config: the fields are wrapped UNDER `config`. */
export const UpdatePtConfigRequestSchema = z.object({
  config: PtEndpointCoreConfigSchema,
  pt_commitment_auto_renew: OpaqueObjectSchema.optional(),
  relocate_pt_commitment: OpaqueObjectSchema.optional(),
});
export type UpdatePtConfigRequest = z.infer<typeof UpdatePtConfigRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Responses

export const ServedEntityStateSchema = z.object({
  deployment: DeploymentStateSchema.optional(),
  deployment_state_message: z.string().optional(),
});
export type ServedEntityState = z.infer<typeof ServedEntityStateSchema>;

export const ServedEntityOutputSchema = ServedEntityInputSchema.extend({
  creator: z.string().optional(),
  creation_timestamp: z.number().optional(),
  foundation_model: FoundationModelSchema.optional(),
  state: ServedEntityStateSchema.optional(),
});
export type ServedEntityOutput = z.infer<typeof ServedEntityOutputSchema>;

export const ServedModelOutputSchema = z.object({
  name: z.string().optional(),
  model_name: z.string().optional(),
  model_version: EntityVersionSchema.optional(),
  min_provisioned_throughput: z.number().int().optional(),
  max_provisioned_throughput: z.number().int().optional(),
  scale_to_zero_enabled: z.boolean().optional(),
  workload_size: z.string().optional(),
  workload_type: WorkloadTypeSchema.optional(),
  min_provisioned_concurrency: z.number().int().optional(),
  max_provisioned_concurrency: z.number().int().optional(),
  creator: z.string().optional(),
  creation_timestamp: z.number().optional(),
  state: ServedEntityStateSchema.optional(),
});
export type ServedModelOutput = z.infer<typeof ServedModelOutputSchema>;

/** `config` of a detailed endpoint: what currently serves. Absent until the first successful deploy. */
export const EndpointCoreConfigOutputSchema = z.object({
  served_entities: z.array(ServedEntityOutputSchema).optional(),
  served_models: z.array(ServedModelOutputSchema).optional(),
  traffic_config: TrafficConfigSchema.optional(),
  auto_capture_config: AutoCaptureConfigOutputSchema.optional(),
  config_version: z.number().int().optional(),
});
export type EndpointCoreConfigOutput = z.infer<typeof EndpointCoreConfigOutputSchema>;

/** `pending_config`: present while an update is in flight. */
export const EndpointPendingConfigSchema = EndpointCoreConfigOutputSchema.extend({
  /** Unix milliseconds */
  start_time: z.number().optional(),
});
export type EndpointPendingConfig = z.infer<typeof EndpointPendingConfigSchema>;

export const EndpointStateSchema = z.object({
  ready: EndpointReadySchema.optional(),
  config_update: EndpointConfigUpdateSchema.optional(),
  /** undocumented, seen in real responses ("NOT_SUSPENDED") */
  suspend: z.string().optional(),
});
export type EndpointState = z.infer<typeof EndpointStateSchema>;

export const DataPlaneInfoSchema = z.object({
  query_info: z
    .object({
      authorization_details: z.string().optional(),
      endpoint_url: z.string().optional(),
    })
    .optional(),
});

/**
 * An endpoint ID as Databricks gives it (32 hex characters; the Permissions API key, status.endpointId). Anything else
 * (a hostile host: control characters, megabytes) is an invalid response rather than text copied into status.
 */
const EndpointId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'an endpoint ID of at most 128 letters, digits, "-" or "_"');

/**
 * Response of GET /{name}, both creates and both config updates. Its name makes status.endpointUrl when the answer
 * has no endpoint_url: one that breaks Databricks' rule (a hostile host: control characters, megabytes) does not fit.
 */
export const ServingEndpointDetailedSchema = z.object({
  name: z.string().regex(ENDPOINT_NAME_RULE, "an endpoint name by Databricks' rule"),
  id: EndpointId.optional(),
  creator: z.string().optional(),
  /** Unix milliseconds */
  creation_timestamp: z.number().optional(),
  /** Unix milliseconds */
  last_updated_timestamp: z.number().optional(),
  state: EndpointStateSchema,
  config: EndpointCoreConfigOutputSchema.optional(),
  pending_config: EndpointPendingConfigSchema.optional(),
  tags: z.array(EndpointTagSchema).optional(),
  ai_gateway: AiGatewayConfigSchema.optional(),
  /** In the schema, but a real GET never fills it (the Databricks CLI's direct engine, PR #5708): see the next field. */
  budget_policy_id: z.string().optional(),
  /** The budget policy that applies, as a real GET answers it (reference: undocumented fields seen in real responses). */
  effective_budget_policy_id: z.string().optional(),
  description: z.string().optional(),
  email_notifications: EmailNotificationsSchema.optional(),
  task: z.string().optional(),
  route_optimized: z.boolean().optional(),
  /** Set with its own PATCH (reference §1) or at create (spec.telemetry, telemetry.ts). */
  telemetry_config: TelemetryConfigSchema.optional(),
  endpoint_url: z.string().optional(),
  data_plane_info: DataPlaneInfoSchema.optional(),
  permission_level: PermissionLevelSchema.optional(),
});
export type ServingEndpointDetailed = z.infer<typeof ServingEndpointDetailedSchema>;

/** The budget policy an endpoint has, from either field a host may answer it in (a real GET: the effective one). */
export const budgetPolicyOf = (endpoint: Pick<ServingEndpointDetailed, 'budget_policy_id' | 'effective_budget_policy_id'>): string | undefined =>
  endpoint.budget_policy_id ?? endpoint.effective_budget_policy_id;

/** List items are summaries: no per-entity state, throughput or model units (GO `ServedEntitySpec`). */
export const ServedEntitySpecSchema = z.object({
  name: z.string().optional(),
  entity_name: z.string().optional(),
  entity_version: EntityVersionSchema.optional(),
  external_model: OpaqueObjectSchema.optional(),
  foundation_model: FoundationModelSchema.optional(),
  /** undocumented: FOUNDATION_MODEL | EXTERNAL_MODEL */
  type: z.string().optional(),
});
export type ServedEntitySpec = z.infer<typeof ServedEntitySpecSchema>;

export const ServingEndpointSchema = z.object({
  name: z.string(),
  id: EndpointId.optional(),
  creator: z.string().optional(),
  creation_timestamp: z.number().optional(),
  last_updated_timestamp: z.number().optional(),
  state: EndpointStateSchema.optional(),
  config: z
    .object({
      served_entities: z.array(ServedEntitySpecSchema).optional(),
      served_models: z.array(z.looseObject({})).optional(),
    })
    .optional(),
  tags: z.array(EndpointTagSchema).optional(),
  task: z.string().optional(),
  description: z.string().optional(),
  budget_policy_id: z.string().optional(),
  usage_policy_id: z.string().optional(),
  ai_gateway: OpaqueObjectSchema.optional(),
  telemetry_config: OpaqueObjectSchema.optional(),
});
export type ServingEndpoint = z.infer<typeof ServingEndpointSchema>;

/** Response of GET /api/2.0/serving-endpoints (no pagination; `endpoints` omitted when there are none). */
export const ListEndpointsResponseSchema = z.object({
  endpoints: z.array(ServingEndpointSchema).optional(),
});
export type ListEndpointsResponse = z.infer<typeof ListEndpointsResponseSchema>;

/**
 * What the client reads of the list: each endpoint's name, ID and state, no more. A workspace list is read often
 * (shared looks at running rollouts) and may hold thousands of endpoints; parsing every item's config and tags
 * cost about 70 % more CPU and a full second copy of the list (bench at 10,000 endpoints).
 */
export const ListedEndpointSchema = ServingEndpointSchema.pick({ name: true, id: true, state: true, tags: true });
export type ListedEndpoint = z.infer<typeof ListedEndpointSchema>;
/** The fields ListedEndpointSchema reads (it drops the rest). */
export const LISTED_ENDPOINT_FIELDS: readonly string[] = Object.keys(ListedEndpointSchema.shape);
export const ListedEndpointsResponseSchema = z.object({
  endpoints: z.array(ListedEndpointSchema).optional(),
});

/** Body of PATCH /api/2.0/serving-endpoints/{name}/tags. */
export const PatchTagsRequestSchema = z.object({
  add_tags: z.array(EndpointTagSchema).optional(),
  delete_tags: z.array(z.string()).optional(),
});
export type PatchTagsRequest = z.infer<typeof PatchTagsRequestSchema>;

export const PatchTagsResponseSchema = z.object({
  tags: z.array(EndpointTagSchema).optional(),
});
export type PatchTagsResponse = z.infer<typeof PatchTagsResponseSchema>;

/** Response of DELETE /{name}: empty or `{}`. */
export const DeleteEndpointResponseSchema = z.object({});

/**
 * Response of GET /api/2.0/serving-endpoints/get-model-optimization-info/{uc_name}/{version}
 * (DOC-PT only; not in any SDK). Token-band models carry throughput_chunk_size, model-unit models
 * model_unit_chunk_size; an ineligible model answers `{"optimizable": false}`.
 */
export const ModelOptimizationInfoSchema = z.object({
  optimizable: z.boolean(),
  model_type: z.string().optional(),
  throughput_chunk_size: z.number().int().optional(),
  model_unit_chunk_size: z.number().int().optional(),
  dbus: z.number().optional(),
});
export type ModelOptimizationInfo = z.infer<typeof ModelOptimizationInfoSchema>;

// ---------------------------------------------------------------------------------------------
// Errors

/** google.rpc detail, e.g. {"@type":"type.googleapis.com/google.rpc.RequestInfo","request_id":"..."} */
export const ErrorDetailSchema = z.looseObject({
  '@type': z.string().optional(),
});
export type ErrorDetail = z.infer<typeof ErrorDetailSchema>;

/** `{"error_code": "...", "message": "...", "details"?: [...]}`; GO also accepts an int error_code. */
export const ApiErrorBodySchema = z.object({
  error_code: z.union([ErrorCodeSchema, z.number().int().transform((n) => String(n))]).optional(),
  message: z.string().optional(),
  details: z.array(ErrorDetailSchema).optional(),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;

// ---------------------------------------------------------------------------------------------
// OAuth (reference §4)

export const OAUTH_DEFAULT_SCOPE = 'all-apis';
export const GRANT_TYPE_CLIENT_CREDENTIALS = 'client_credentials';
export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const SUBJECT_TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
/** Discovery document path, relative to the workspace host. */
export const OIDC_DISCOVERY_PATH = '/oidc/.well-known/oauth-authorization-server';
/** Workspace token endpoint, relative to the workspace host. */
export const OIDC_TOKEN_PATH = '/oidc/v1/token';

/** GET {host}/oidc/.well-known/oauth-authorization-server */
export const OidcDiscoverySchema = z.object({
  issuer: z.string().optional(),
  authorization_endpoint: z.string().optional(),
  token_endpoint: z.string(),
});
export type OidcDiscovery = z.infer<typeof OidcDiscoverySchema>;

/** Token endpoint 200 body (client_credentials and token-exchange alike). */
export const OAuthTokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  /** seconds; some servers send it as a numeric string */
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
  scope: z.string().optional(),
  issued_token_type: z.string().optional(),
});
export type OAuthTokenResponse = z.infer<typeof OAuthTokenResponseSchema>;

/** Token endpoint error body (RFC 6749 §5.2). */
export const OAuthErrorBodySchema = z.object({
  error: z.string().optional(),
  error_description: z.string().optional(),
});
export type OAuthErrorBody = z.infer<typeof OAuthErrorBodySchema>;
