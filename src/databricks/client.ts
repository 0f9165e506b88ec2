// The typed Databricks serving-endpoints client: one method an operation, each described as a CallSpec for the
// request loop (request-loop.ts: budgets → auth → one HTTP attempt → classify → retry decision, within an overall
// deadline). Knows nothing of Kubernetes.
import { z } from 'zod';
import {
  CreatePtEndpointRequestSchema,
  CreateServingEndpointSchema,
  EndpointCoreConfigInputSchema,
  LISTED_ENDPOINT_FIELDS,
  ListedEndpointsResponseSchema,
  ModelOptimizationInfoSchema,
  PatchTagsRequestSchema,
  PatchTagsResponseSchema,
  PermissionLevelsResponseSchema,
  PermissionsRequestSchema,
  PutAiGatewayRequestSchema,
  PutAiGatewayResponseSchema,
  ServingEndpointPermissionsSchema,
  SchemaInfoSchema,
  CurrentUserSchema,
  type CurrentUser,
  UpdateNotificationsRequestSchema,
  PatchTelemetryConfigRequestSchema,
  UpdateNotificationsResponseSchema,
  type AiGatewayConfig,
  type PermissionLevelsResponse,
  type PermissionsRequest,
  type ServingEndpointPermissions,
  type SchemaInfo,
  type UpdateNotificationsRequest,
  type PatchTelemetryConfigRequest,
  type UpdateNotificationsResponse,
  ServingEndpointDetailedSchema,
  UpdatePtConfigRequestSchema,
  type CreatePtEndpointRequest,
  type CreateServingEndpoint,
  type EndpointCoreConfigInput,
  type ModelOptimizationInfo,
  type PatchTagsRequest,
  type PatchTagsResponse,
  type ListedEndpoint,
  type ServingEndpointDetailed,
  type UpdatePtConfigRequest,
} from './api-types.js';
import { createCredentialsProvider, type CredentialsProvider } from './auth.js';
import { EmptyObjectSchema, validRequest } from './bodies.js';
import type { CallOptions, DatabricksClientOptions } from './client-options.js';
import { systemClock, type Clock } from './clock.js';
import { DatabricksError } from './errors.js';
import { normaliseHost } from './host.js';
import { keepFields, parseJsonShrinkingItems } from './json-items.js';
import { RequestLoop, type CallSpec } from './request-loop.js';

/** More endpoints than a workspace lists (ten times the 10,000 the benchmarks run): a host's answer, refused. */
const MAX_LISTED_ENDPOINTS = 100_000;
import { RateBudgetRegistry, type BudgetName, type Budget, type BudgetStats, type WorkspaceBudgets } from './rate-budget.js';
import { DEFAULT_BACKOFF } from './retry-policy.js';
import { sharedTransport } from './transport.js';

export type { CallOptions, ClientLogger, DatabricksClientOptions, DatabricksMetricsSink } from './client-options.js';

const API = '/api/2.0/serving-endpoints';
/** The Permissions API addresses a serving endpoint by its ID, not its name. */
const PERMISSIONS_API = '/api/2.0/permissions/serving-endpoints';
const UC_SCHEMAS_API = '/api/2.1/unity-catalog/schemas';
const SCIM_ME_API = '/api/2.0/preview/scim/v2/Me';

/** Encode one path segment. A UC name keeps its dots inside the single segment. */
export function pathSegment(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new DatabricksError({ kind: 'InvalidRequest', message: `invalid path segment ${JSON.stringify(value)}` });
  }
  return encodeURIComponent(value);
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const DEFAULT_RETRY_DEADLINE_MS = 120_000;

const defaultClock = systemClock;
/** Every client of the process shares these, so one workspace has one budget whoever calls. */
export const sharedRateBudgets = new RateBudgetRegistry(defaultClock);
let anonymousShares = 0;

export class DatabricksClient {
  readonly host: string;
  private readonly credentials: CredentialsProvider;
  private readonly budgets: WorkspaceBudgets;
  private releaseBudgets: (() => void) | undefined;
  private readonly clock: Clock;
  private readonly loop: RequestLoop;

  constructor(options: DatabricksClientOptions) {
    this.host = normaliseHost(options.host);
    const transport = options.transport ?? sharedTransport;
    this.clock = options.clock ?? defaultClock;
    this.credentials =
      'authorization' in options.auth
        ? options.auth
        : createCredentialsProvider(options.auth, { host: this.host, transport, clock: this.clock });
    const registry = options.budgets ?? sharedRateBudgets;
    // Budgets are per workspace, not per client: their metrics go to the registry's one sink.
    if (options.metrics) registry.setMetrics(options.metrics);
    const share = options.rateLimits ? { key: options.budgetShareKey ?? `client-${++anonymousShares}`, limits: options.rateLimits } : undefined;
    this.budgets = registry.forHost(this.host, share);
    this.releaseBudgets = () => registry.release(this.host, share?.key);
    this.loop = new RequestLoop({
      host: this.host,
      credentials: this.credentials,
      budgets: this.budgets,
      transport,
      clock: this.clock,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      retryDeadlineMs: options.retryDeadlineMs ?? DEFAULT_RETRY_DEADLINE_MS,
      maxBudgetWaitMs: options.maxBudgetWaitMs,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      metrics: options.metrics,
      logger: options.logger,
      readByName: (name, callOptions) => this.getEndpoint(name, callOptions),
      mayMutate: options.mayMutate,
    });
  }

  get authType(): string {
    return this.credentials.authType;
  }

  /**
   * This client will make no more calls (its workspace moved to another host, or changed): the host's budgets may
   * be dropped once no client uses them and they are idle. Idempotent.
   */
  release(): void {
    const release = this.releaseBudgets;
    this.releaseBudgets = undefined;
    release?.();
  }

  /** Statistics of the host's budgets (the last of each list; a share comes first). */
  budgetStats(): Record<BudgetName, BudgetStats> {
    return { mutation: (this.budgets.mutation.at(-1) as Budget).stats, read: (this.budgets.read.at(-1) as Budget).stats };
  }

  /** Without taking anything: how long until a create/update could be sent (0 = now). */
  mutationWaitMs(holder?: string): number {
    const now = this.clock.now();
    return Math.max(0, ...this.budgets.mutation.map((b) => b.earliestGrant(now, holder) - now));
  }

  /**
   * Epoch ms of the slot the create/update budget holds for `holder` (the latest of its windows'), if it holds one.
   * A turn only moves later, when another namespace's change takes it (turns.ts).
   */
  reservedSlot(holder: string): number | undefined {
    const slots = this.budgets.mutation.map((b) => b.reservedSlot?.(holder)).filter((slot) => slot !== undefined);
    return slots.length > 0 ? Math.max(...slots) : undefined;
  }

  /** `holder` will not come back for its reserved slot (its object was deleted or paused): no window counts it any more. */
  releaseReservation(holder: string): void {
    for (const budget of this.budgets.mutation) budget.release(holder);
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  getEndpoint(name: string, options?: CallOptions): Promise<ServingEndpointDetailed> {
    return this.call(
      {
        operation: 'getEndpoint',
        method: 'GET',
        path: `${API}/${pathSegment(name)}`,
        budget: 'read',
        idempotent: true,
        schema: ServingEndpointDetailedSchema,
      },
      options,
    );
  }

  /** Token-band (or any generic) create: POST /serving-endpoints. */
  createEndpoint(body: CreateServingEndpoint, options?: CallOptions): Promise<ServingEndpointDetailed> {
    const request = validRequest(CreateServingEndpointSchema, body, 'createEndpoint');
    return this.call(
      {
        operation: 'createEndpoint',
        method: 'POST',
        path: API,
        body: request,
        budget: 'mutation',
        idempotent: false,
        schema: ServingEndpointDetailedSchema,
        resolveByName: request.name,
      },
      options,
    );
  }

  /** Model-unit create: POST /serving-endpoints/pt. */
  createPtEndpoint(body: CreatePtEndpointRequest, options?: CallOptions): Promise<ServingEndpointDetailed> {
    const request = validRequest(CreatePtEndpointRequestSchema, body, 'createPtEndpoint');
    return this.call(
      {
        operation: 'createPtEndpoint',
        method: 'POST',
        path: `${API}/pt`,
        body: request,
        budget: 'mutation',
        idempotent: false,
        schema: ServingEndpointDetailedSchema,
        resolveByName: request.name,
      },
      options,
    );
  }

  /** PUT /serving-endpoints/{name}/config, fields at the top level. 409 (Conflict) while an update runs. */
  updateConfig(name: string, config: EndpointCoreConfigInput, options?: CallOptions): Promise<ServingEndpointDetailed> {
    return this.call(
      {
        operation: 'updateConfig',
        method: 'PUT',
        path: `${API}/${pathSegment(name)}/config`,
        body: validRequest(EndpointCoreConfigInputSchema, config, 'updateConfig'),
        budget: 'mutation',
        idempotent: true,
        schema: ServingEndpointDetailedSchema,
      },
      options,
    );
  }

  /** PUT /serving-endpoints/pt/{name}/config, fields UNDER `config`. */
  updatePtConfig(name: string, body: UpdatePtConfigRequest, options?: CallOptions): Promise<ServingEndpointDetailed> {
    return this.call(
      {
        operation: 'updatePtConfig',
        method: 'PUT',
        path: `${API}/pt/${pathSegment(name)}/config`,
        body: validRequest(UpdatePtConfigRequestSchema, body, 'updatePtConfig'),
        budget: 'mutation',
        idempotent: true,
        schema: ServingEndpointDetailedSchema,
      },
      options,
    );
  }

  /** DELETE /serving-endpoints/{name}. NotFound when there is nothing to delete. */
  async deleteEndpoint(name: string, options?: CallOptions): Promise<void> {
    await this.call(
      {
        operation: 'deleteEndpoint',
        method: 'DELETE',
        path: `${API}/${pathSegment(name)}`,
        // Databricks documents no limit for deletes (only create/update, reference §7): no client budget, so a
        // delete waits for neither the mutation window nor the read rate; a 429 is still retried after Retry-After.
        budget: 'none',
        idempotent: true,
        schema: EmptyObjectSchema,
      },
      options,
    );
  }

  /** PATCH /serving-endpoints/{name}/tags → the endpoint's tags after the change. */
  patchTags(name: string, body: PatchTagsRequest, options?: CallOptions): Promise<PatchTagsResponse> {
    return this.call(
      {
        operation: 'patchTags',
        method: 'PATCH',
        path: `${API}/${pathSegment(name)}/tags`,
        body: validRequest(PatchTagsRequestSchema, body, 'patchTags'),
        // Not covered by the documented create/update limit, nor by any other (reference §7): no client budget.
        budget: 'none',
        idempotent: true,
        schema: PatchTagsResponseSchema,
      },
      options,
    );
  }

  /** PUT /serving-endpoints/{name}/ai-gateway: replaces the whole AI Gateway configuration. */
  putAiGateway(name: string, body: AiGatewayConfig, options?: CallOptions): Promise<AiGatewayConfig> {
    return this.call(
      {
        operation: 'putAiGateway',
        method: 'PUT',
        path: `${API}/${pathSegment(name)}/ai-gateway`,
        body: validRequest(PutAiGatewayRequestSchema, body, 'putAiGateway'),
        budget: 'mutation',
        idempotent: true,
        schema: PutAiGatewayResponseSchema,
      },
      options,
    );
  }

  /** PATCH /serving-endpoints/{name}/notifications: sets the e-mail notifications (the object is replaced). */
  updateNotifications(name: string, body: UpdateNotificationsRequest, options?: CallOptions): Promise<UpdateNotificationsResponse> {
    return this.call(
      {
        operation: 'updateNotifications',
        method: 'PATCH',
        path: `${API}/${pathSegment(name)}/notifications`,
        body: validRequest(UpdateNotificationsRequestSchema, body, 'updateNotifications'),
        budget: 'mutation',
        idempotent: true,
        schema: UpdateNotificationsResponseSchema,
      },
      options,
    );
  }

  /**
   * PATCH /serving-endpoints/{name}/telemetry-config: sets the telemetry config (the object is replaced; a body without
   * telemetry_config removes it). Answers the endpoint.
   */
  patchTelemetryConfig(name: string, body: PatchTelemetryConfigRequest, options?: CallOptions): Promise<ServingEndpointDetailed> {
    return this.call(
      {
        operation: 'patchTelemetryConfig',
        method: 'PATCH',
        path: `${API}/${pathSegment(name)}/telemetry-config`,
        body: validRequest(PatchTelemetryConfigRequestSchema, body, 'patchTelemetryConfig'),
        budget: 'mutation',
        idempotent: true,
        schema: ServingEndpointDetailedSchema,
      },
      options,
    );
  }

  /**
   * GET /api/2.1/unity-catalog/schemas/{catalog.schema}: whether an inference table's schema exists (404 NotFound when
   * it or its catalog does not; 403 when this identity may not see it).
   */
  getSchema(fullName: string, options?: CallOptions): Promise<SchemaInfo> {
    return this.call(
      {
        operation: 'getSchema',
        method: 'GET',
        path: `${UC_SCHEMAS_API}/${pathSegment(fullName)}`,
        budget: 'read',
        idempotent: true,
        schema: SchemaInfoSchema,
      },
      options,
    );
  }

  /** GET /api/2.0/preview/scim/v2/Me: who these credentials stand for (workspace/operator-identity.ts). */
  currentUser(options?: CallOptions): Promise<CurrentUser> {
    return this.call({ operation: 'currentUser', method: 'GET', path: SCIM_ME_API, budget: 'read', idempotent: true, schema: CurrentUserSchema }, options);
  }

  /** GET /permissions/serving-endpoints/{id}: the ACL, direct and inherited entries. */
  getPermissions(endpointId: string, options?: CallOptions): Promise<ServingEndpointPermissions> {
    return this.call(
      {
        operation: 'getPermissions',
        method: 'GET',
        path: `${PERMISSIONS_API}/${pathSegment(endpointId)}`,
        budget: 'read',
        idempotent: true,
        schema: ServingEndpointPermissionsSchema,
      },
      options,
    );
  }

  /**
   * PUT /permissions/serving-endpoints/{id}: replaces every direct permission. Charged to the read
   * (request-rate) budget: the Permissions API is not a serving-endpoint create/update, which is
   * what the workspace's mutation limit counts.
   */
  setPermissions(endpointId: string, body: PermissionsRequest, options?: CallOptions): Promise<ServingEndpointPermissions> {
    return this.permissionsWrite('setPermissions', 'PUT', endpointId, body, options);
  }

  /** PATCH /permissions/serving-endpoints/{id}: merges the listed entries into the direct permissions. */
  updatePermissions(endpointId: string, body: PermissionsRequest, options?: CallOptions): Promise<ServingEndpointPermissions> {
    return this.permissionsWrite('updatePermissions', 'PATCH', endpointId, body, options);
  }

  /** GET /permissions/serving-endpoints/{id}/permissionLevels. */
  getPermissionLevels(endpointId: string, options?: CallOptions): Promise<PermissionLevelsResponse> {
    return this.call(
      {
        operation: 'getPermissionLevels',
        method: 'GET',
        path: `${PERMISSIONS_API}/${pathSegment(endpointId)}/permissionLevels`,
        budget: 'read',
        idempotent: true,
        schema: PermissionLevelsResponseSchema,
      },
      options,
    );
  }

  private permissionsWrite(
    operation: string,
    method: 'PUT' | 'PATCH',
    endpointId: string,
    body: PermissionsRequest,
    options?: CallOptions,
  ): Promise<ServingEndpointPermissions> {
    return this.call(
      {
        operation,
        method,
        path: `${PERMISSIONS_API}/${pathSegment(endpointId)}`,
        body: validRequest(PermissionsRequestSchema, body, operation),
        budget: 'read',
        idempotent: true,
        schema: ServingEndpointPermissionsSchema,
      },
      options,
    );
  }

  /** GET /serving-endpoints: summaries only (no entity state or throughput). */
  async listEndpoints(options?: CallOptions): Promise<ListedEndpoint[]> {
    const res = await this.call(
      {
        operation: 'listEndpoints',
        method: 'GET',
        path: API,
        budget: 'read',
        idempotent: true,
        schema: ListedEndpointsResponseSchema,
        // of each endpoint (10,000 in a large workspace) only what the schema keeps outlives its parsing
        parseJson: (text) => parseJsonShrinkingItems(text, 'endpoints', keepFields(LISTED_ENDPOINT_FIELDS), MAX_LISTED_ENDPOINTS),
      },
      options,
    );
    return res.endpoints ?? [];
  }

  /**
   * GET /serving-endpoints/get-model-optimization-info/{uc_name}/{version}. Not in any SDK; the
   * three-level UC name (dots included) is ONE path segment.
   */
  getModelOptimizationInfo(ucModelName: string, version: string, options?: CallOptions): Promise<ModelOptimizationInfo> {
    return this.call(
      {
        operation: 'getModelOptimizationInfo',
        method: 'GET',
        path: `${API}/get-model-optimization-info/${pathSegment(ucModelName)}/${pathSegment(version)}`,
        budget: 'read',
        idempotent: true,
        schema: ModelOptimizationInfoSchema,
      },
      options,
    );
  }

  /** GET /serving-endpoints/{name}/metrics: the endpoint's health metrics as Prometheus text. */
  exportMetrics(name: string, options?: CallOptions): Promise<string> {
    return this.call(
      { operation: 'exportMetrics', method: 'GET', path: `${API}/${pathSegment(name)}/metrics`, budget: 'read', idempotent: true, schema: z.string(), text: true },
      options,
    );
  }

  /**
   * A cheap authenticated read for the workspace reconciler: resolves when the credentials work,
   * throws the classified error otherwise (Auth, Transient for an unreachable host, ...).
   */
  async checkCredentials(options?: CallOptions): Promise<{ authType: string; endpointCount: number }> {
    const endpoints = await this.listEndpoints({ deadlineMs: 30_000, ...options });
    return { authType: this.credentials.authType, endpointCount: endpoints.length };
  }

  private call<T>(spec: CallSpec<T>, options?: CallOptions): Promise<T> {
    return this.loop.call(spec, options);
  }
}
