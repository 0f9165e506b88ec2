// The emulator's core, without HTTP: the workspace state (endpoints, catalog, faults, budget, auth,
// call log, clock) and every operation on it. The HTTP server and the in-process control API both
// call these methods, so the two cannot drift apart.
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  CreatePtEndpointRequestSchema,
  CreateServingEndpointSchema,
  EndpointTagSchema,
  EntityVersionSchema,
  AccessControlRequestSchema,
  AiGatewayConfigSchema,
  EmailNotificationsSchema,
  PatchTagsRequestSchema,
  PermissionsRequestSchema,
  PutAiGatewayRequestSchema,
  UpdateConfigRequestSchema,
  UpdateNotificationsRequestSchema,
  PatchTelemetryConfigRequestSchema,
  TelemetryConfigSchema,
  UpdatePtConfigRequestSchema,
  type AiGatewayConfig,
  type ListEndpointsResponse,
  type PermissionLevelsResponse,
  type SchemaInfo,
  type ServingEndpointPermissions,
  type UpdateNotificationsResponse,
  type ModelOptimizationInfo,
  type PatchTagsResponse,
  type ServedEntityInput,
  type ServingEndpointDetailed,
  type TelemetryConfig,
} from '../databricks/api-types.js';
import { AuthService } from './auth.js';
import { CallLog } from './call-log.js';
import { DEFAULT_CATALOG, ModelCatalog, optimizationInfo } from './catalog.js';
import { VirtualClock } from './clock.js';
import { specFromCoreConfig, specFromPtConfig, validateAutoCaptureChange, validateAutoCaptureEnable, validateDescription, validateEndpointName, type ConfigSpec } from './config-spec.js';
import { ApiError, endpointAlreadyExists, endpointQuotaExceeded, invalidParameter, modelNotFound } from './errors.js';
import { FaultEngine, type ActiveFault, type FaultSpecInput } from './faults.js';
import { EndpointStore, TIMED_OUT_MESSAGE, configUpdateState, principalKindOf, type RolloutOutcome, type StoredEndpoint } from './lifecycle.js';
import { MutationBudget } from './rate-limit.js';
import { renderMetrics } from './metrics.js';
import { renderDetailed, renderSummary } from './render.js';
import { seededRandom } from './rng.js';
import { parseScenario, type Scenario, type ScenarioInput } from './scenario.js';
import { applyAiGateway, applyTelemetry, mergeAcl, parseAcl, permissionLevels, renderPermissions, replaceAcl, type Directory, type SchemaDirectory } from './settings.js';

/** An out-of-band change, as someone clicking in the Databricks UI would make it. */
export const EndpointEditSchema = z.object({
  /** patches by served entity name; without a name, the first entity */
  entities: z
    .array(
      z.object({
        name: z.string().optional(),
        entity_name: z.string().optional(),
        entity_version: EntityVersionSchema.optional(),
        min_provisioned_throughput: z.number().int().optional(),
        max_provisioned_throughput: z.number().int().optional(),
        provisioned_model_units: z.number().int().optional(),
      }),
    )
    .optional(),
  tags: z.object({ add: z.array(EndpointTagSchema).default([]), delete: z.array(z.string()).default([]) }).optional(),
  /** replaces the AI Gateway as a PUT would (null or {} unsets it) */
  ai_gateway: AiGatewayConfigSchema.nullable().optional(),
  /** replaces the e-mail notifications (null clears them) */
  email_notifications: EmailNotificationsSchema.nullable().optional(),
  /** replaces the telemetry config as a PATCH would (null removes it) */
  telemetry_config: TelemetryConfigSchema.nullable().optional(),
  /** direct permissions granted in the UI, merged like a PATCH */
  grant: z.array(AccessControlRequestSchema).optional(),
  /** budget policy changed in the UI */
  budget_policy_id: z.string().optional(),
  /** instant: the new config serves at once; rolling: a normal rollout (faults apply) */
  mode: z.enum(['instant', 'rolling']).default('instant'),
});
export type EndpointEdit = z.input<typeof EndpointEditSchema>;

/** A SCIM user as GET /api/2.0/preview/scim/v2/Me answers it (the subset of iam.User the emulator fills). */
export interface ScimUser {
  id: string;
  userName: string;
  displayName: string;
  active: boolean;
  emails: { value: string; type: string; primary: boolean }[];
  schemas: string[];
}

/** The group every workspace user and service principal belongs to; it exists in every workspace. */
const USERS_GROUP = 'users';

/** SCIM user IDs are numeric strings; the emulator's one user has a fixed one. */
const SCIM_USER_ID = '1000000000000001';

export interface EmulatorOptions {
  scenario?: Scenario | ScenarioInput;
  /** overrides the scenario's clock speed */
  speed?: number;
  /** real time source (unit tests) */
  realNow?: () => number;
}

export class Emulator {
  readonly scenario: Scenario;
  readonly clock: VirtualClock;
  readonly catalog: ModelCatalog;
  readonly faults: FaultEngine;
  readonly budget: MutationBudget;
  readonly auth: AuthService;
  readonly calls = new CallLog();
  readonly #store: EndpointStore;
  /** Principals deletePrincipal removed, lower-cased. */
  readonly #deletedPrincipals = new Set<string>();
  readonly #metrics = new Map<string, Record<string, Record<string, number>>>();

  constructor(options: EmulatorOptions = {}) {
    this.scenario = parseScenario(options.scenario);
    const { scenario } = this;
    const clockOptions: ConstructorParameters<typeof VirtualClock>[0] = { speed: options.speed ?? scenario.clock.speed };
    if (options.realNow) clockOptions.realNow = options.realNow;
    this.clock = new VirtualClock(clockOptions);
    this.catalog = new ModelCatalog([...(scenario.catalog.includeDefaults ? DEFAULT_CATALOG : []), ...scenario.catalog.models]);
    this.faults = new FaultEngine(seededRandom(scenario.seed));
    this.budget = new MutationBudget({ limit: scenario.limits.mutationsPerWindow, windowMs: scenario.limits.windowSeconds * 1000 });
    this.auth = new AuthService(scenario.auth, this.clock, scenario.workspace.creator);
    this.#store = new EndpointStore({
      planRollout: (spec, now) => this.#planRollout(spec, now),
      newId: () => randomBytes(16).toString('hex'),
      creator: scenario.workspace.creator,
    });
    this.#seed();
  }

  now(): number {
    return this.clock.now();
  }

  // ---- the serving-endpoints API ---------------------------------------------------------------

  /** `caller`: the identity making the request, the endpoint's creator (default workspace.creator). */
  createEndpoint(body: unknown, caller?: string): ServingEndpointDetailed {
    this.#consumeMutationBudget();
    const request = parseBody(CreateServingEndpointSchema, body);
    validateEndpointName(request.name);
    validateDescription(request.description);
    if (!request.config && (request.ai_gateway !== undefined || request.rate_limits !== undefined)) {
      throw invalidParameter(`Cannot specify ${request.ai_gateway !== undefined ? 'ai_gateway' : 'rate_limits'} when creating endpoints without a config.`);
    }
    this.#assertCreatable(request.name);
    const spec = request.config ? specFromCoreConfig(request.config, this.catalog) : undefined;
    const provisioned = spec?.entities.some((e) => e.max_provisioned_throughput !== undefined || e.provisioned_model_units !== undefined);
    if (provisioned && request.config?.auto_capture_config !== undefined) {
      // Reference §8 (REF create); the exact text of the refusal is a guess.
      throw invalidParameter(
        'auto_capture_config is deprecated for creating new provisioned throughput endpoints. Please use AI Gateway to manage inference tables (ai_gateway.inference_table_config).',
      );
    }
    const ai_gateway = this.#createGateway(request.name, request.ai_gateway);
    const telemetry_config = createTelemetry(request.telemetry_config, spec !== undefined, this.#newProfileId);
    return renderDetailed(this.#store.create({ ...request, ai_gateway, telemetry_config, ...(spec ? { spec } : {}) }, this.now(), caller));
  }

  createPtEndpoint(body: unknown, caller?: string): ServingEndpointDetailed {
    this.#consumeMutationBudget();
    const request = parseBody(CreatePtEndpointRequestSchema, body);
    validateEndpointName(request.name);
    this.#assertCreatable(request.name);
    const spec = specFromPtConfig(request.config, this.catalog);
    const ai_gateway = this.#createGateway(request.name, request.ai_gateway);
    return renderDetailed(this.#store.create({ ...request, ai_gateway, spec }, this.now(), caller));
  }

  getEndpoint(name: string): ServingEndpointDetailed {
    return renderDetailed(this.#store.get(name, this.now()));
  }

  listEndpoints(): ListEndpointsResponse {
    const endpoints = this.#store.list(this.now()).map(renderSummary);
    // Like the real service (proto JSON), an empty list is omitted.
    return endpoints.length > 0 ? { endpoints } : {};
  }

  updateConfig(name: string, body: unknown): ServingEndpointDetailed {
    this.#consumeMutationBudget();
    const request = parseBody(UpdateConfigRequestSchema, body);
    const endpoint = this.#store.get(name, this.now());
    validateAutoCaptureChange(endpoint.served?.autoCapture, request.auto_capture_config);
    validateAutoCaptureEnable(endpoint.served?.autoCapture, request.auto_capture_config);
    return this.#update(name, specFromCoreConfig(request, this.catalog));
  }

  updatePtConfig(name: string, body: unknown): ServingEndpointDetailed {
    this.#consumeMutationBudget();
    const request = parseBody(UpdatePtConfigRequestSchema, body);
    this.#store.get(name, this.now());
    return this.#update(name, specFromPtConfig(request.config, this.catalog));
  }

  deleteEndpoint(name: string): Record<string, never> {
    this.#store.delete(name, this.now());
    return {};
  }

  patchTags(name: string, body: unknown): PatchTagsResponse {
    const request = parseBody(PatchTagsRequestSchema, body);
    const tags = this.#store.patchTags(name, request.add_tags ?? [], request.delete_tags ?? [], this.now());
    // The endpoint's whole tag list; like GET and list (proto JSON), an empty list is left out.
    return tags.length > 0 ? { tags } : {};
  }

  optimizationInfo(modelName: string, version: string): ModelOptimizationInfo {
    const model = this.catalog.find(modelName, version);
    if (!model) throw modelNotFound(modelName, version);
    return optimizationInfo(model);
  }

  /** PUT /{name}/ai-gateway: replaces the whole gateway; an empty body unsets it. Counts as an update. */
  putAiGateway(name: string, body: unknown): AiGatewayConfig {
    this.#consumeMutationBudget();
    const request = parseBody(PutAiGatewayRequestSchema, body);
    const endpoint = this.#store.get(name, this.now());
    const next = applyAiGateway(name, endpoint.ai_gateway, request, this.#schemas);
    if (next) endpoint.ai_gateway = next;
    else delete endpoint.ai_gateway;
    endpoint.last_updated_timestamp = this.now();
    return next ?? {};
  }

  /** PATCH /{name}/notifications: the given e-mail notifications replace the previous ones. Counts as an update. */
  updateNotifications(name: string, body: unknown): UpdateNotificationsResponse {
    this.#consumeMutationBudget();
    const request = parseBody(UpdateNotificationsRequestSchema, body);
    const endpoint = this.#store.get(name, this.now());
    const notifications = request.email_notifications ?? {};
    if (Object.values(notifications).some((list) => list !== undefined && list.length > 0)) endpoint.email_notifications = notifications;
    else delete endpoint.email_notifications;
    endpoint.last_updated_timestamp = this.now();
    return { name, ...(endpoint.email_notifications ? { email_notifications: endpoint.email_notifications } : {}) };
  }

  /**
   * PATCH /{name}/telemetry-config: the given telemetry config replaces the previous one; without one, it is removed.
   * Answers the endpoint (ServingEndpointDetailed). Counts as an update. Refused while a config update is in progress
   * (409), as the Databricks CLI's PR #6106 says the API does ("the API rejects concurrent updates"), in the words of
   * its test server (libs/testserver/serving_endpoints.go).
   */
  patchTelemetryConfig(name: string, body: unknown): ServingEndpointDetailed {
    this.#consumeMutationBudget();
    const request = parseBody(PatchTelemetryConfigRequestSchema, body);
    const endpoint = this.#store.get(name, this.now());
    if (!endpoint.served && !endpoint.rollout) {
      // The Databricks CLI's PR #6106, of the real service: "Unsupported endpoint types now fail when telemetry is
      // applied"; the wording is its test server's (libs/testserver/serving_endpoints.go).
      throw invalidParameter("Telemetry configuration is not supported for endpoint type 'NO_CONFIG'. This API only supports endpoints with custom served models.");
    }
    if (configUpdateState(endpoint) === 'IN_PROGRESS') {
      throw new ApiError(409, 'RESOURCE_CONFLICT', `Endpoint ${name} is currently updating. Wait for the update to complete before updating its telemetry configuration.`);
    }
    const next = applyTelemetry(endpoint.telemetry_config, request.telemetry_config, this.#newProfileId);
    if (next) endpoint.telemetry_config = next;
    else delete endpoint.telemetry_config;
    endpoint.last_updated_timestamp = this.now();
    return renderDetailed(endpoint);
  }

  getPermissions(endpointId: string): ServingEndpointPermissions {
    const endpoint = this.#store.byId(endpointId, this.now());
    return renderPermissions(endpoint.id, endpoint.acl);
  }

  /** PUT: replaces every direct permission (the Permissions API is not a serving create/update: no budget). */
  setPermissions(endpointId: string, body: unknown): ServingEndpointPermissions {
    const request = parseBody(PermissionsRequestSchema, body);
    const endpoint = this.#store.byId(endpointId, this.now());
    endpoint.acl = replaceAcl(parseAcl(request.access_control_list, this.#directory));
    return renderPermissions(endpoint.id, endpoint.acl);
  }

  /** PATCH: merges the listed entries into the direct permissions. */
  updatePermissions(endpointId: string, body: unknown): ServingEndpointPermissions {
    const request = parseBody(PermissionsRequestSchema, body);
    const endpoint = this.#store.byId(endpointId, this.now());
    endpoint.acl = mergeAcl(endpoint.acl, parseAcl(request.access_control_list, this.#directory));
    return renderPermissions(endpoint.id, endpoint.acl);
  }

  getPermissionLevels(endpointId: string): PermissionLevelsResponse {
    this.#store.byId(endpointId, this.now());
    return permissionLevels();
  }

  /**
   * GET /api/2.1/unity-catalog/schemas/{catalog.schema}: a schema of scenario.unityCatalog.schemas as SchemaInfo
   * (PY catalog.py). A missing catalog or schema is 404 with CATALOG_DOES_NOT_EXIST / SCHEMA_DOES_NOT_EXIST (INFERENCE:
   * no source shows the real codes and wording; the SDKs map any 404 to NotFound).
   */
  getSchema(fullName: string): SchemaInfo {
    const dot = fullName.indexOf('.');
    const [catalog, schema] = dot > 0 ? [fullName.slice(0, dot), fullName.slice(dot + 1)] : [fullName, ''];
    if (schema === '' || schema.includes('.')) throw invalidParameter(`Invalid schema full name '${fullName}': expected <catalog>.<schema>.`); // INFERENCE
    const found = this.#schemas(catalog, schema);
    if (found === 'noCatalog') throw new ApiError(404, 'CATALOG_DOES_NOT_EXIST', `Catalog '${catalog}' does not exist.`);
    if (found === 'noSchema') throw new ApiError(404, 'SCHEMA_DOES_NOT_EXIST', `Schema '${fullName}' does not exist.`);
    return { name: schema, catalog_name: catalog, full_name: fullName, owner: this.scenario.workspace.creator };
  }

  /**
   * GET /api/2.0/preview/scim/v2/Me: the caller as a SCIM user (fields of the Go SDK's iam.User). Who the caller is
   * depends on its credential (scenario auth: userName; default workspace.creator), and it is the creator of the
   * endpoints it creates. A service principal's userName is its application ID (a UUID); it has no e-mail.
   */
  currentUser(caller = this.scenario.workspace.creator): ScimUser {
    const userName = caller;
    const known = [this.scenario.workspace.creator, ...this.#identities()];
    return {
      id: String(BigInt(SCIM_USER_ID) + BigInt(Math.max(0, known.indexOf(caller)))),
      userName,
      displayName: userName,
      active: true,
      emails: principalKindOf(userName) === 'user_name' ? [{ value: userName, type: 'work', primary: true }] : [],
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:workspace:2.0:User'],
    };
  }

  /**
   * The caller's level on an endpoint (by name or Permissions-API ID): CAN_MANAGE for a workspace admin
   * (workspace.admins, default workspace.creator), else the highest of its own direct entry (user or service
   * principal) and the entries of the groups it belongs to (directory.members, and `users`, which holds every identity;
   * nested groups are not resolved); undefined for none. An endpoint that does not exist: CAN_MANAGE (the operation
   * answers 404 itself).
   */
  accessLevel(caller: string, ref: { name: string } | { endpointId: string }): string | undefined {
    const same = (name: string) => name.toLowerCase() === caller.toLowerCase();
    if ((this.scenario.workspace.admins ?? [this.scenario.workspace.creator]).some(same)) return 'CAN_MANAGE';
    const endpoint = this.#store.list(this.now()).find((e) => ('name' in ref ? e.name === ref.name : e.id === ref.endpointId));
    if (!endpoint) return 'CAN_MANAGE';
    const groups = new Set([USERS_GROUP, ...Object.entries(this.scenario.directory.members).filter(([, members]) => members.some(same)).map(([group]) => group)]);
    const held = endpoint.acl.filter((e) => (e.kind === 'group_name' ? groups.has(e.name) : same(e.name))).map((e) => e.level);
    return ['CAN_MANAGE', 'CAN_QUERY', 'CAN_VIEW'].find((level) => held.includes(level));
  }

  /**
   * Refuses (403) a caller below `needed` on the endpoint: without CAN_MANAGE it may not change or delete the endpoint
   * nor read or set its ACL; without any level it may not read it. INFERENCE: the wording of the real refusal.
   */
  authorize(caller: string, ref: { name: string } | { endpointId: string }, needed: 'CAN_VIEW' | 'CAN_MANAGE'): void {
    const level = this.accessLevel(caller, ref);
    if (level === 'CAN_MANAGE' || (needed === 'CAN_VIEW' && level !== undefined)) return;
    const what = 'name' in ref ? ref.name : (this.endpointNameById(ref.endpointId) ?? ref.endpointId);
    throw new ApiError(403, 'PERMISSION_DENIED', `${caller} does not have ${needed === 'CAN_MANAGE' ? 'Can Manage' : 'Can View'} permission on serving endpoint ${what}.`);
  }

  /** The name of the endpoint with this ID, for the call log; undefined when there is none. */
  endpointNameById(endpointId: string): string | undefined {
    return this.#store.list(this.now()).find((e) => e.id === endpointId)?.name;
  }

  // ---- control (inspection API and in-process tests) -------------------------------------------

  /** Every endpoint in detailed form, as GET would show it now. */
  endpoints(): ServingEndpointDetailed[] {
    return this.#store.list(this.now()).map(renderDetailed);
  }

  /** The ACL of every endpoint by name, as GET /permissions/serving-endpoints/{id} would show it. */
  permissionsByEndpoint(): Record<string, ServingEndpointPermissions> {
    return Object.fromEntries(this.#store.list(this.now()).map((e) => [e.name, renderPermissions(e.id, e.acl)]));
  }

  addFault(spec: FaultSpecInput): ActiveFault {
    return this.faults.add(spec, this.now());
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Simulates a change made in the Databricks UI: no API call is logged and no budget is used. */
  editEndpoint(name: string, input: EndpointEdit): ServingEndpointDetailed {
    const edit = EndpointEditSchema.parse(input);
    const now = this.now();
    const endpoint = this.#store.get(name, now);
    // The config first: when it is refused (409, 400), the tags stay untouched too.
    if (edit.entities && edit.entities.length > 0) {
      const spec = specFromCoreConfig(editedConfig(endpoint, edit.entities), this.catalog);
      if (edit.mode === 'instant') this.#store.replaceServedConfig(name, spec, now);
      else this.#store.updateConfig(name, spec, now);
    }
    if (edit.tags) this.#store.patchTags(name, edit.tags.add, edit.tags.delete, now);
    if (edit.ai_gateway !== undefined) {
      const next = edit.ai_gateway === null ? undefined : applyAiGateway(name, undefined, edit.ai_gateway, this.#schemas);
      if (next) endpoint.ai_gateway = next;
      else delete endpoint.ai_gateway;
    }
    if (edit.email_notifications !== undefined) {
      if (edit.email_notifications === null) delete endpoint.email_notifications;
      else endpoint.email_notifications = edit.email_notifications;
    }
    if (edit.telemetry_config !== undefined) {
      const next = edit.telemetry_config === null ? undefined : applyTelemetry(undefined, edit.telemetry_config, this.#newProfileId);
      if (next) endpoint.telemetry_config = next;
      else delete endpoint.telemetry_config;
    }
    if (edit.grant) endpoint.acl = mergeAcl(endpoint.acl, parseAcl(edit.grant, this.#directory));
    if (edit.budget_policy_id !== undefined) endpoint.budget_policy_id = edit.budget_policy_id;
    return this.getEndpoint(name);
  }

  /**
   * Simulates removing a user or service principal (e-mail or application ID) or a group from the workspace: a PUT or
   * PATCH naming it is refused from now on, and its direct grants leave every endpoint's ACL (an object whose owner was
   * deleted shows none: the Terraform provider's issues #2678, #2865). An endpoint's `creator` still names it, as a
   * real GET keeps the name of a creator who left. Its credentials are not touched (POST /__emulator/auth rotates them).
   */
  deletePrincipal(name: string): void {
    this.#deletedPrincipals.add(name.toLowerCase());
    for (const endpoint of this.#store.list(this.now())) endpoint.acl = endpoint.acl.filter((e) => e.name.toLowerCase() !== name.toLowerCase());
  }

  /** Back to the scenario's starting state: endpoints, faults, budget and call log. The clock keeps running. */
  /** GET /{name}/metrics: Prometheus text, one sample per metric and served entity (values set by a test). */
  exportMetrics(name: string): string {
    const endpoint = renderDetailed(this.#store.get(name, this.now()));
    const entities = (endpoint.config?.served_entities ?? []).map((e) => e.name ?? '');
    return renderMetrics(entities, this.#metrics.get(name) ?? {});
  }

  /** Inspection API: sets metric values per served entity name, e.g. {"llama-4": {"request_5xx_count_total": 7}}. */
  setMetrics(name: string, values: Record<string, Record<string, number>>): void {
    this.#store.get(name, this.now());
    const current = this.#metrics.get(name) ?? {};
    for (const [entity, metrics] of Object.entries(values)) current[entity] = { ...current[entity], ...metrics };
    this.#metrics.set(name, current);
  }

  reset(): void {
    this.#metrics.clear();
    this.#store.clear();
    this.faults.clear();
    this.budget.reset();
    this.calls.clear();
    this.catalog.reset();
    this.#deletedPrincipals.clear();
    this.#seed();
  }

  // ---- internals -------------------------------------------------------------------------------

  #update(name: string, spec: ConfigSpec): ServingEndpointDetailed {
    return renderDetailed(this.#store.updateConfig(name, spec, this.now()));
  }

  /** Unity Catalog schemas the scenario says exist (inference tables must be written to one). */
  readonly #schemas: SchemaDirectory = (catalog, schema) => {
    const known = this.scenario.unityCatalog.schemas;
    if (!known.some((s) => s.split('.')[0] === catalog)) return 'noCatalog';
    return known.includes(`${catalog}.${schema}`) ? 'ok' : 'noSchema';
  };

  /** Principals the scenario says exist; a kind the scenario does not list accepts any name. */
  readonly #directory: Directory = {
    exists: (kind, name) => {
      if (this.#deletedPrincipals.has(name.toLowerCase())) return false;
      const listed = { user_name: this.scenario.directory.users, group_name: this.scenario.directory.groups, service_principal_name: this.scenario.directory.servicePrincipals }[kind];
      if (kind === 'group_name' && (name === USERS_GROUP || name in this.scenario.directory.members)) return true;
      return listed === undefined || listed.some((n) => n.toLowerCase() === name.toLowerCase()) || [this.scenario.workspace.creator, ...this.#identities()].includes(name);
    },
  };

  /** The identities the scenario's credentials stand for, besides workspace.creator. */
  #identities(): string[] {
    const { pats, clients, federation } = this.scenario.auth;
    const names = [...(pats ?? []).map((p) => (typeof p === 'string' ? undefined : p.userName)), ...(clients ?? []).map((c) => c.userName), ...(federation ?? []).map((f) => f.userName)];
    return [...new Set(names.filter((n): n is string => n !== undefined))];
  }

  readonly #newProfileId = (): string => randomUUID();

  /** A create's ai_gateway, validated and filled like a PUT; create-time e-mail notifications are not kept (reference §2.1). */
  #createGateway(name: string, gateway: AiGatewayConfig | undefined): AiGatewayConfig | undefined {
    return gateway === undefined ? undefined : applyAiGateway(name, undefined, gateway, this.#schemas);
  }

  #assertCreatable(name: string): void {
    // Checked before the config is validated, as a duplicate name is the more basic mistake.
    if (this.#store.has(name)) throw endpointAlreadyExists(name);
    const quota = this.scenario.limits.endpointsPerWorkspace;
    if (this.#store.count(this.now()) >= quota) throw endpointQuotaExceeded(quota);
  }

  #consumeMutationBudget(): void {
    const decision = this.budget.tryConsume(this.now());
    if (decision.allowed) return;
    const { mutationsPerWindow, windowSeconds } = this.scenario.limits;
    throw new ApiError(
      429,
      'REQUEST_LIMIT_EXCEEDED',
      `Exceeded the workspace limit of ${mutationsPerWindow} create/update operations per ${windowSeconds} seconds. Please try again later.`,
      { 'Retry-After': String(this.clock.toClientSeconds(decision.retryAfterMs / 1000)) },
    );
  }

  #planRollout(spec: ConfigSpec, now: number): { outcome: RolloutOutcome; durationMs: number } {
    const { timing } = this.scenario;
    const rolloutMs = timing.rolloutSeconds * 1000;
    const fault = this.faults.deploymentFault(
      spec.entities.map((e) => e.entity_name),
      now,
    );
    if (!fault) return { outcome: { kind: 'ready' }, durationMs: rolloutMs };
    if (fault.kind === 'capacity') {
      return {
        outcome: { kind: 'failed', deployment: 'DEPLOYMENT_ABORTED', message: TIMED_OUT_MESSAGE },
        durationMs: (timing.capacityTimeoutSeconds ?? timing.rolloutSeconds) * 1000,
      };
    }
    return {
      outcome: { kind: 'failed', deployment: 'DEPLOYMENT_FAILED', message: fault.message },
      durationMs: (timing.failureAfterSeconds ?? timing.rolloutSeconds) * 1000,
    };
  }

  #seed(): void {
    const now = this.now();
    for (const fault of this.scenario.faults) this.faults.add(fault, now);
    for (const seed of this.scenario.endpoints) {
      // checked and filled in as a create would: a seeded endpoint stands for one made through the API
      validateEndpointName(seed.name);
      validateDescription(seed.description);
      const { config, ...rest } = seed;
      this.#store.create({ ...rest, ai_gateway: this.#createGateway(seed.name, seed.ai_gateway), telemetry_config: createTelemetry(seed.telemetry_config, config !== undefined, this.#newProfileId) }, now);
      if (config) this.#store.replaceServedConfig(seed.name, specFromCoreConfig(config, this.catalog), now);
    }
  }
}

/**
 * A generic create's telemetry config, checked as the PATCH checks it. An endpoint made without a config cannot have
 * one, and the create drops it rather than failing: the Databricks CLI's PR #6106, of the real service ("create may
 * still succeed because it drops the field").
 */
function createTelemetry(request: TelemetryConfig | undefined, hasConfig: boolean, newProfileId: () => string): TelemetryConfig | undefined {
  const checked = applyTelemetry(undefined, request, newProfileId);
  return hasConfig ? checked : undefined;
}

/** Parses a request body; unknown fields are dropped, type errors become 400 INVALID_PARAMETER_VALUE. */
function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  if (issue?.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    throw invalidParameter(`Missing required field: ${field}`);
  }
  throw invalidParameter(`Invalid value for field '${field}': ${issue?.message ?? 'invalid request body'}`);
}

/** The current config with out-of-band entity patches applied, as a PUT /config body. */
function editedConfig(endpoint: StoredEndpoint, patches: z.output<typeof EndpointEditSchema>['entities'] & object) {
  const base = endpoint.served ?? endpoint.rollout?.config;
  if (!base) throw invalidParameter(`Endpoint '${endpoint.name}' has no config to edit.`);
  const entities: ServedEntityInput[] = base.entities.map((e) => {
    const input: ServedEntityInput = { name: e.name, entity_name: e.entity_name, entity_version: e.entity_version };
    if (e.min_provisioned_throughput !== undefined) input.min_provisioned_throughput = e.min_provisioned_throughput;
    if (e.max_provisioned_throughput !== undefined) input.max_provisioned_throughput = e.max_provisioned_throughput;
    if (e.provisioned_model_units !== undefined) input.provisioned_model_units = e.provisioned_model_units;
    if (e.min_provisioned_throughput === undefined && e.provisioned_model_units === undefined) {
      if (e.workload_size !== undefined) input.workload_size = e.workload_size;
      input.scale_to_zero_enabled = e.scale_to_zero_enabled;
      if (e.min_provisioned_concurrency !== undefined) input.min_provisioned_concurrency = e.min_provisioned_concurrency;
      if (e.max_provisioned_concurrency !== undefined) input.max_provisioned_concurrency = e.max_provisioned_concurrency;
    }
    // A change of one field in the UI leaves the entity's others as they are.
    if (e.environment_vars !== undefined) input.environment_vars = e.environment_vars;
    if (e.instance_profile_arn !== undefined) input.instance_profile_arn = e.instance_profile_arn;
    return input;
  });
  for (const patch of patches) {
    const target = patch.name === undefined ? entities[0] : entities.find((e) => e.name === patch.name);
    if (!target) throw invalidParameter(`Endpoint '${endpoint.name}' has no served entity named '${patch.name ?? ''}'.`);
    const { name: _name, ...changes } = patch;
    Object.assign(target, changes);
  }
  return {
    served_entities: entities,
    traffic_config: { routes: base.routes.map((r) => ({ served_entity_name: r.name, traffic_percentage: r.traffic_percentage })) },
    ...(base.autoCapture && { auto_capture_config: base.autoCapture }), // an edit of the entities leaves the inference table
  };
}
