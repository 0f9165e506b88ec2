// The typed Databricks serving-endpoints client: budgets → auth → one HTTP attempt → classify →
// retry decision, within an overall deadline. Knows nothing of Kubernetes.
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
  UpdateNotificationsResponseSchema,
  type AiGatewayConfig,
  type PermissionLevelsResponse,
  type PermissionsRequest,
  type ServingEndpointPermissions,
  type SchemaInfo,
  type UpdateNotificationsRequest,
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
import { createCredentialsProvider, type AuthConfig, type CredentialsProvider } from './auth.js';
import { systemClock, type Clock } from './clock.js';
import { startDeadline } from './deadline.js';
import { capText, DatabricksError, errorFromHttpResponse, MAX_SERVER_MESSAGE, requestIdFrom, type DatabricksErrorKind } from './errors.js';
import { oneLine } from './host-text.js';
import { normaliseHost } from './host.js';
import { keepFields, parseJsonShrinkingItems, TooManyItemsError } from './json-items.js';

/** More endpoints than a workspace lists (ten times the 10,000 the benchmarks run): a host's answer, refused. */
const MAX_LISTED_ENDPOINTS = 100_000;
import {
  acquireAll,
  RateBudgetRegistry,
  type BudgetMetricsSink,
  type BudgetName,
  type Budget,
  type BudgetStats,
  type RateLimits,
  type WorkspaceBudgets,
} from './rate-budget.js';
import { DEFAULT_BACKOFF, decideRetry, type BackoffOptions } from './retry-policy.js';
import type { HttpTransport} from './transport.js';
import { sharedTransport, userAgent, type HttpResponse } from './transport.js';

const API = '/api/2.0/serving-endpoints';
/** The Permissions API addresses a serving endpoint by its ID, not its name. */
const PERMISSIONS_API = '/api/2.0/permissions/serving-endpoints';
const UC_SCHEMAS_API = '/api/2.1/unity-catalog/schemas';
const SCIM_ME_API = '/api/2.0/preview/scim/v2/Me';

/** Counters and timings for the lead's prom-client wiring; every hook is optional. */
export interface DatabricksMetricsSink extends BudgetMetricsSink {
  /** one HTTP attempt finished (`outcome` is 'ok' or the error kind) */
  request?(event: {
    host: string;
    operation: string;
    method: string;
    status: number | undefined;
    outcome: 'ok' | DatabricksErrorKind;
    durationMs: number;
    attempt: number;
  }): void;
  /** an attempt failed and will be repeated after `delayMs` */
  retry?(event: { host: string; operation: string; attempt: number; delayMs: number; kind: DatabricksErrorKind }): void;
}

/** pino-compatible subset. Everything logged is already redacted. */
export interface ClientLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DatabricksClientOptions {
  /** workspace URL; https://, or http:// on loopback only */
  host: string;
  auth: AuthConfig | CredentialsProvider;
  /**
   * This client's own share of its host's budget (DatabricksWorkspace.spec.rateLimits): it can only lower
   * what this client sends. The host's budget itself comes from the registry (operator configuration).
   */
  rateLimits?: RateLimits;
  /** clients with the same key share one share (the workspace's "namespace/name"); default: this client alone */
  budgetShareKey?: string;
  /** deadline of one HTTP attempt; default 60 s (the SDKs' http timeout) */
  requestTimeoutMs?: number;
  /** deadline of a call including its retries; default 2 minutes */
  retryDeadlineMs?: number;
  /**
   * refuse (RateLimited, `fromClientBudget`, `retryAfterMs`) rather than wait longer than this for the
   * rate budget; default: wait as long as the call's deadline allows
   */
  maxBudgetWaitMs?: number;
  backoff?: BackoffOptions;
  transport?: HttpTransport;
  budgets?: RateBudgetRegistry;
  clock?: Clock;
  metrics?: DatabricksMetricsSink;
  logger?: ClientLogger;
  random?: () => number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** overrides the client's retryDeadlineMs for this call */
  deadlineMs?: number;
  /** overrides the client's maxBudgetWaitMs for this call */
  maxBudgetWaitMs?: number;
  /**
   * who calls (e.g. the object's "namespace/name"): when the budget refuses it, a slot is reserved for it
   * and `retryAfterMs` says when; coming back then, it gets that slot
   */
  budgetHolder?: string;
}

interface CallSpec<T> {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** the client budget the call passes; 'none' for calls Databricks documents no limit for (deletes, tag patches) */
  budget: BudgetName | 'none';
  idempotent: boolean;
  schema: z.ZodType<T>;
  /** for creates: find out whether a request with an unknown outcome created the endpoint */
  resolveByName?: string;
  /** the answer is text (Prometheus exposition), not JSON */
  text?: boolean;
  /** reads the JSON body instead of JSON.parse (a list read element by element, json-items.ts) */
  parseJson?: (text: string) => unknown;
}

/** Encode one path segment. A UC name keeps its dots inside the single segment. */
export function pathSegment(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new DatabricksError({ kind: 'InvalidRequest', message: `invalid path segment ${JSON.stringify(value)}` });
  }
  return encodeURIComponent(value);
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const DEFAULT_RETRY_DEADLINE_MS = 120_000;
/** a retry is only made when at least this much time is left for it */
const MIN_ATTEMPT_MS = 250;

const defaultClock = systemClock;
/** Every client of the process shares these, so one workspace has one budget whoever calls. */
export const sharedRateBudgets = new RateBudgetRegistry(defaultClock);
let anonymousShares = 0;

export class DatabricksClient {
  readonly host: string;
  private readonly credentials: CredentialsProvider;
  private readonly budgets: WorkspaceBudgets;
  private releaseBudgets: (() => void) | undefined;
  private readonly transport: HttpTransport;
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  private readonly retryDeadlineMs: number;
  private readonly maxBudgetWaitMs: number | undefined;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly metrics: DatabricksMetricsSink | undefined;
  private readonly logger: ClientLogger | undefined;

  constructor(options: DatabricksClientOptions) {
    this.host = normaliseHost(options.host);
    this.transport = options.transport ?? sharedTransport;
    this.clock = options.clock ?? defaultClock;
    this.credentials =
      'authorization' in options.auth
        ? options.auth
        : createCredentialsProvider(options.auth, { host: this.host, transport: this.transport, clock: this.clock });
    const registry = options.budgets ?? sharedRateBudgets;
    // Budgets are per workspace, not per client: their metrics go to the registry's one sink.
    if (options.metrics) registry.setMetrics(options.metrics);
    const share = options.rateLimits ? { key: options.budgetShareKey ?? `client-${++anonymousShares}`, limits: options.rateLimits } : undefined;
    this.budgets = registry.forHost(this.host, share);
    this.releaseBudgets = () => registry.release(this.host, share?.key);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.retryDeadlineMs = options.retryDeadlineMs ?? DEFAULT_RETRY_DEADLINE_MS;
    this.maxBudgetWaitMs = options.maxBudgetWaitMs;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics;
    this.logger = options.logger;
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

  // -------------------------------------------------------------------------------------------
  // The request loop

  private async call<T>(spec: CallSpec<T>, options: CallOptions = {}): Promise<T> {
    const started = this.clock.now();
    const deadlineAt = started + (options.deadlineMs ?? this.retryDeadlineMs);
    const maxBudgetWaitMs = options.maxBudgetWaitMs ?? this.maxBudgetWaitMs ?? Number.POSITIVE_INFINITY;
    let attempt = 0;
    let refreshedAfter401 = false;
    let maybeSentBefore = false;

    for (;;) {
      options.signal?.throwIfAborted();
      // Waiting for the budget counts against the deadline: past it, say when to come back instead.
      const budgetWaitLimit = Math.max(0, Math.min(maxBudgetWaitMs, deadlineAt - this.clock.now() - MIN_ATTEMPT_MS));
      const budgets = spec.budget === 'none' ? [] : this.budgets[spec.budget];
      await acquireAll(budgets, this.clock, { signal: options.signal, maxWaitMs: budgetWaitLimit, holder: options.budgetHolder });
      const outcome = await this.attempt(spec, attempt, deadlineAt, options.signal);
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      // Databricks says the workspace's limit is spent (someone else shares it): the budget pauses
      // for Retry-After and shrinks, and the retry below waits for it there, not here.
      const throttled = error.kind === 'RateLimited' && !error.fromClientBudget;
      if (throttled) for (const budget of budgets) budget.throttled(error.retryAfterMs, this.clock.now());

      // An OAuth token refused once may just have expired early (clock skew, revocation): one fresh try.
      if (error.kind === 'Auth' && error.status === 401 && !outcome.authPhase && !refreshedAfter401) {
        refreshedAfter401 = true;
        if (this.credentials.invalidate(outcome.authorization)) continue;
      }
      // A repeated DELETE that finds nothing: the earlier attempt did delete it.
      if (spec.method === 'DELETE' && error.kind === 'NotFound' && maybeSentBefore) return {} as T;

      const remainingMs = deadlineAt - this.clock.now();
      // Failures before anything was sent (token endpoint down, ...) are safe to repeat for any call.
      const decision = decideRetry(error, {
        idempotent: spec.idempotent || outcome.authPhase,
        attempt,
        remainingMs,
        backoff: this.backoff,
        random: this.random,
        minAttemptMs: Math.min(this.requestTimeoutMs, MIN_ATTEMPT_MS),
      });
      maybeSentBefore ||= !outcome.authPhase && (error.status !== undefined || error.requestMaybeSent);

      if (decision.action === 'resolve-by-get' && spec.resolveByName !== undefined) {
        this.logger?.warn(
          { operation: spec.operation, endpoint: spec.resolveByName, error: error.toJSON() },
          'create outcome unknown: reading the endpoint by name before any new POST',
        );
        return (await this.resolveCreate(spec.resolveByName, error, options, deadlineAt)) as T;
      }
      if (decision.action !== 'retry') throw error;

      this.metrics?.retry?.({ host: this.host, operation: spec.operation, attempt, delayMs: decision.delayMs, kind: error.kind });
      this.logger?.debug(
        { operation: spec.operation, attempt, delayMs: decision.delayMs, error: error.toJSON() },
        'retrying Databricks call',
      );
      // A throttled call waits at its budget, which the 429 paused; a call without budgets (DELETE, tags) waits here.
      if (!throttled || budgets.length === 0) await this.clock.sleep(decision.delayMs, options.signal);
      attempt += 1;
    }
  }

  /**
   * A create without an answer: the endpoint if the GET by name finds it. Otherwise the create is NOT sent again:
   * the server may still carry out the one it holds (a second POST would not tell the caller it did), so the
   * caller gets `createOutcomeUnknown` and waits before deciding the endpoint is absent. The GET gets at least one
   * request's timeout: the create's deadline may be spent already (a POST that timed out spent all of it).
   */
  private async resolveCreate(name: string, unanswered: DatabricksError, options: CallOptions, deadlineAt: number): Promise<ServingEndpointDetailed> {
    let why: string;
    try {
      return await this.getEndpoint(name, { ...options, deadlineMs: Math.max(deadlineAt - this.clock.now(), this.requestTimeoutMs) });
    } catch (err) {
      if (!(err instanceof DatabricksError)) throw err;
      why = err.kind === 'NotFound' ? 'no endpoint of that name yet' : `reading it by name failed too: ${err.message}`;
    }
    throw new DatabricksError({
      kind: 'Transient',
      message: `create of endpoint ${name} sent but not answered (${unanswered.message}); ${why}: Databricks may still carry it out`,
      status: unanswered.status,
      method: unanswered.method,
      path: unanswered.path,
      requestMaybeSent: true,
      createOutcomeUnknown: true,
    });
  }

  private async attempt<T>(
    spec: CallSpec<T>,
    attempt: number,
    deadlineAt: number,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; value: T } | { ok: false; error: DatabricksError; authPhase: boolean; authorization?: string }> {
    let authorization: string;
    // Getting a token (OAuth discovery and token requests) counts against the call's deadline, so a call never
    // takes longer than --databricks-timeout even when the token endpoint is slow.
    const authBudgetMs = Math.max(1, deadlineAt - this.clock.now());
    const authDeadline = startDeadline(authBudgetMs, signal);
    try {
      authorization = await this.credentials.authorization(authDeadline.signal);
    } catch (err) {
      if (err instanceof DatabricksError) return { ok: false, error: err, authPhase: true };
      if (authDeadline.timedOut && !signal?.aborted) {
        const message = `no OAuth token within the call's deadline (${Math.ceil(authBudgetMs / 1000)}s): the token endpoint of ${this.host} did not answer in time`;
        return { ok: false, error: new DatabricksError({ kind: 'Transient', message }), authPhase: true };
      }
      throw err;
    } finally {
      authDeadline.release();
    }
    const headers: Record<string, string> = {
      accept: spec.text ? 'text/plain' : 'application/json',
      authorization,
      'user-agent': userAgent(this.credentials.authType),
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    const timeoutMs = Math.max(1, Math.min(this.requestTimeoutMs, deadlineAt - this.clock.now()));
    const secrets = this.credentials.secrets();
    const started = this.clock.now();
    let res: HttpResponse;
    try {
      res = await this.transport.send(this.host, {
        method: spec.method,
        path: spec.path,
        headers,
        body,
        timeoutMs,
        signal,
        secrets,
      });
    } catch (err) {
      if (!(err instanceof DatabricksError)) throw err;
      this.recordAttempt(spec, attempt, undefined, err.kind, started);
      return { ok: false, error: err, authPhase: false, authorization };
    }
    if (res.status >= 200 && res.status < 300) {
      const parsed = parseBody(res, spec, secrets);
      this.recordAttempt(spec, attempt, res.status, parsed.ok ? 'ok' : parsed.error.kind, started);
      return parsed.ok ? parsed : { ...parsed, authPhase: false, authorization };
    }
    const error = errorFromHttpResponse({
      status: res.status,
      headers: res.headers,
      bodyText: res.bodyText,
      method: spec.method,
      path: spec.path,
      nowMs: this.clock.now(),
      secrets,
    });
    this.recordAttempt(spec, attempt, res.status, error.kind, started);
    return { ok: false, error, authPhase: false, authorization };
  }

  private recordAttempt(
    spec: CallSpec<unknown>,
    attempt: number,
    status: number | undefined,
    outcome: 'ok' | DatabricksErrorKind,
    started: number,
  ): void {
    this.metrics?.request?.({
      host: this.host,
      operation: spec.operation,
      method: spec.method,
      status,
      outcome,
      durationMs: this.clock.now() - started,
      attempt,
    });
  }
}

/** DELETE answers `{}` or nothing. */
const EmptyObjectSchema = z.looseObject({});

/** Longest key of an answer named in an error: the host chooses the keys (environment_vars, say). */
const MAX_PATH_SEGMENT = 64;

/** The first issues, as short visible text whatever keys the host chose: it reaches conditions and Events. */
function describeIssues(error: z.ZodError): string {
  const described = error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map((segment) => capText(oneLine(String(segment)), MAX_PATH_SEGMENT)).join('.');
      return `${path || '(root)'}: ${oneLine(issue.message)}`;
    })
    .join('; ');
  return capText(described, MAX_SERVER_MESSAGE);
}

/** A request body the caller built wrongly is InvalidRequest, found before anything is sent. */
function validRequest<S extends z.ZodType>(schema: S, body: unknown, operation: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new DatabricksError({
    kind: 'InvalidRequest',
    message: `${operation}: the request body is invalid: ${describeIssues(parsed.error)}`,
  });
}

/** JSON-parse and validate a 2xx body; a body that does not fit is an InvalidResponse error. */
function parseBody<T>(
  res: HttpResponse,
  spec: CallSpec<T>,
  secrets: readonly string[],
): { ok: true; value: T } | { ok: false; error: DatabricksError } {
  const requestId = requestIdFrom(res.headers);
  const invalid = (why: string): { ok: false; error: DatabricksError } => ({
    ok: false,
    error: new DatabricksError({
      kind: 'InvalidResponse',
      message: `${spec.method} ${spec.path} answered ${res.status} with a body that does not fit ${spec.operation}: ${why}`,
      status: res.status,
      requestId,
      method: spec.method,
      path: spec.path,
      secrets,
    }),
  });
  let json: unknown;
  try {
    json = spec.text ? res.bodyText : res.bodyText.trim() === '' ? {} : (spec.parseJson ?? JSON.parse)(res.bodyText);
  } catch (err) {
    return invalid(err instanceof TooManyItemsError ? err.message : 'not JSON');
  }
  const parsed = spec.schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return invalid(describeIssues(parsed.error));
}
