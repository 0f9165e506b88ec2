// Builders of realistic inputs for the endpoint planning core. Endpoint bodies follow the captured
// Databricks responses (reference §2.6, §2.9): server-chosen workload_type/workload_size, dbus fields,
// routes that echo both names, scale_to_zero_enabled normalised to false, no `config` until the first
// successful deploy, and the DEPLOYMENT_ABORTED message of a rollout that ran out of GPU capacity.
import type { z } from 'zod';
import { EndpointSpec, type EndpointStatus } from '../../../src/api/v1alpha1/index.js';
import { DEFAULT_CAPACITY_PATTERNS } from '../../../src/controllers/endpoint/capacity.js';
import { type Owner, ownerTags } from '../../../src/controllers/endpoint/ownership.js';
import {
  type CallFailure,
  type EndpointObject,
  type Observed,
  type Plan,
  type PlanInput,
  type PlanSettings,
  type TenancyView,
  type WorkspaceState,
  observationsNeeded,
  planEndpoint,
} from '../../../src/controllers/endpoint/plan.js';
import type {
  EndpointCoreConfigOutput,
  ModelOptimizationInfo,
  ServedEntityOutput,
  ServingEndpointDetailed,
} from '../../../src/databricks/api-types.js';

export const NOW = new Date('2026-03-01T12:00:00Z');
export const at = (offsetMs: number): Date => new Date(NOW.getTime() + offsetMs);
export const iso = (date: Date): string => date.toISOString().replace(/\.\d+Z$/, 'Z');
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

export const OWNER: Owner = { uid: '6f1c2d7e-93a4-4b1e-8c55-0d6b2b7f1a10', namespace: 'ml', name: 'llama-chat' };
export const OTHER_OWNER: Owner = { uid: '0a9e4c55-1111-4d2f-9e0b-5c3a7e9d2b44', namespace: 'team-b', name: 'llama-copy' };
export const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
export const ENDPOINT_ID = '88fd3f75a0d24b0380ddc40484d7a31b';
export const HOST = 'https://adb-1234567890123456.7.azuredatabricks.net';

export const CAPACITY_ABORT_MESSAGE =
  'Served model creation aborted because the endpoint update timed out. Please see service logs for more information.';

// ---- get-model-optimization-info answers (reference §2.9e) ------------------------------------

export const TOKEN_BAND_MODEL: ModelOptimizationInfo = { optimizable: true, model_type: 'llama', throughput_chunk_size: 980, dbus: 24 };
export const MODEL_UNIT_MODEL: ModelOptimizationInfo = { optimizable: true, model_type: 'llama', model_unit_chunk_size: 50 };
export const NOT_OPTIMIZABLE_MODEL: ModelOptimizationInfo = { optimizable: false };

// ---- the Kubernetes object ----------------------------------------------------------------------

export type SpecInput = Partial<z.input<typeof EndpointSpec>>;

/** A spec as the API server stores it, defaults applied (chunks 2–3 of the llama 3.1 8B model, version 3). */
export const endpointSpec = (overrides: SpecInput = {}): EndpointSpec =>
  EndpointSpec.parse({ model: { name: MODEL, version: '3' }, throughput: { chunks: { min: 2, max: 3 } }, tags: { team: 'genai' }, ...overrides });

export interface ObjectOptions {
  spec?: SpecInput;
  status?: EndpointStatus;
  annotations?: Record<string, string>;
  generation?: number;
  deleting?: boolean;
  hasFinalizer?: boolean;
  owner?: Owner;
}

export function endpointObject(options: ObjectOptions = {}): EndpointObject {
  const owner = options.owner ?? OWNER;
  return {
    uid: owner.uid,
    namespace: owner.namespace,
    name: owner.name,
    generation: options.generation ?? 1,
    annotations: options.annotations ?? {},
    deleting: options.deleting ?? false,
    hasFinalizer: options.hasFinalizer ?? true,
    spec: endpointSpec(options.spec),
    status: options.status ?? {},
  };
}

/** The same object one reconcile later: the planned status was written. */
export const afterPlan = (object: EndpointObject, plan: Plan): EndpointObject => ({ ...object, status: plan.status });

/** The object after the user edited it: a new generation. */
export const edited = (object: EndpointObject, spec: SpecInput): EndpointObject => ({
  ...object,
  generation: object.generation + 1,
  spec: endpointSpec(spec),
});

export const annotated = (object: EndpointObject, annotations: Record<string, string>): EndpointObject => ({
  ...object,
  annotations: { ...object.annotations, ...annotations },
});

// ---- Databricks endpoint bodies -----------------------------------------------------------------

/** The owner tags as the operator writes them. */
export const ownerTagsOf = (owner: Owner) => Object.entries(ownerTags(owner)).map(([key, value]) => ({ key, value }));

export interface ServingOptions {
  version?: string;
  /** Token band in tokens/s (default 1960–2940: chunks 2–3 of 980). */
  min?: number;
  max?: number;
  /** Model units instead of a token band. */
  units?: number;
  burstScaling?: boolean;
  deployment?: string;
  message?: string;
}

/** A served entity as GET returns it, with the fields the server fills in. */
export function servedEntity(options: ServingOptions = {}): ServedEntityOutput {
  const version = options.version ?? '3';
  const band =
    options.units !== undefined
      ? { provisioned_model_units: options.units, ...(options.burstScaling !== undefined && { burst_scaling_enabled: options.burstScaling }) }
      : { min_provisioned_throughput: options.min ?? 1960, max_provisioned_throughput: options.max ?? 2940 };
  return {
    name: `meta_llama_v3_1_8b_instruct-${version}`,
    entity_name: MODEL,
    entity_version: version,
    ...band,
    scale_to_zero_enabled: false,
    workload_size: 'Small',
    workload_type: 'GPU_XLARGE_8',
    creator: 'alice@company.com',
    creation_timestamp: NOW.getTime() - HOUR,
    foundation_model: { name: 'meta-llama-3.1-8b-instruct', display_name: 'Meta Llama 3.1 8B Instruct' },
    state: { deployment: options.deployment ?? 'DEPLOYMENT_READY', deployment_state_message: options.message ?? '' },
  };
}

export function servingConfig(configVersion: number, options: ServingOptions = {}): EndpointCoreConfigOutput {
  const entity = servedEntity(options);
  return {
    served_entities: [entity],
    traffic_config: { routes: [{ served_entity_name: entity.name, served_model_name: entity.name, traffic_percentage: 100 }] },
    config_version: configVersion,
  };
}

const pendingConfig = (configVersion: number, options: ServingOptions, startTime = NOW.getTime() - 10 * MINUTE) => ({
  ...servingConfig(configVersion, options),
  start_time: startTime,
});

interface EndpointOptions {
  owner?: Owner | null;
  tags?: { key: string; value?: string }[];
  name?: string;
}

function endpointBody(options: EndpointOptions, rest: Omit<ServingEndpointDetailed, 'name'>): ServingEndpointDetailed {
  const owner = options.owner === undefined ? OWNER : options.owner;
  return {
    name: options.name ?? 'llama-chat',
    id: ENDPOINT_ID,
    creator: 'pt-operator@company.com',
    creation_timestamp: NOW.getTime() - 2 * HOUR,
    last_updated_timestamp: NOW.getTime() - HOUR,
    task: 'llm/v1/chat',
    permission_level: 'CAN_MANAGE',
    route_optimized: false,
    tags: options.tags ?? [{ key: 'team', value: 'genai' }, ...(owner ? ownerTagsOf(owner) : [])],
    ...rest,
  };
}

/** A fresh endpoint: no `config` until the first deploy succeeds, only a pending config. */
export const creatingEndpoint = (pending: ServingOptions = {}, options: EndpointOptions = {}): ServingEndpointDetailed =>
  endpointBody(options, {
    state: { ready: 'NOT_READY', config_update: 'IN_PROGRESS', suspend: 'NOT_SUSPENDED' },
    pending_config: pendingConfig(1, {
      ...pending,
      deployment: 'DEPLOYMENT_CREATING',
      message: 'Creating resources for served entity.',
    }),
  });

/** A settled endpoint serving `served`. */
export const readyEndpoint = (served: ServingOptions = {}, options: EndpointOptions = {}): ServingEndpointDetailed =>
  endpointBody(options, {
    state: { ready: 'READY', config_update: 'NOT_UPDATING', suspend: 'NOT_SUSPENDED' },
    config: servingConfig(2, served),
  });

/** An update in flight: `served` still answers while `pending` deploys. */
export const updatingEndpoint = (served: ServingOptions, pending: ServingOptions, options: EndpointOptions = {}): ServingEndpointDetailed =>
  endpointBody(options, {
    state: { ready: 'READY', config_update: 'IN_PROGRESS', suspend: 'NOT_SUSPENDED' },
    config: servingConfig(2, served),
    pending_config: pendingConfig(3, { ...pending, deployment: 'DEPLOYMENT_CREATING', message: 'Creating resources for served entity.' }),
  });

/**
 * A rollout that failed: `served` (if any) still answers, `pending` carries the failure. The default
 * is the GPU-capacity case: the update timed out and the served model creation was aborted.
 */
export const failedEndpoint = (
  served: ServingOptions | undefined,
  pending: ServingOptions,
  options: EndpointOptions = {},
): ServingEndpointDetailed =>
  endpointBody(options, {
    state: { ready: served ? 'READY' : 'NOT_READY', config_update: 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
    ...(served && { config: servingConfig(2, served) }),
    pending_config: pendingConfig(3, { deployment: 'DEPLOYMENT_ABORTED', message: CAPACITY_ABORT_MESSAGE, ...pending }),
  });

/** An endpoint somebody made outside the operator: no ownership tags. */
export const foreignEndpoint = (served: ServingOptions = {}): ServingEndpointDetailed =>
  readyEndpoint(served, { owner: null, tags: [{ key: 'team', value: 'data science' }] });

/** An endpoint created by another ProvisionedThroughputEndpoint object. */
export const endpointOfAnotherObject = (served: ServingOptions = {}): ServingEndpointDetailed =>
  readyEndpoint(served, { owner: OTHER_OWNER });

// ---- plan inputs ------------------------------------------------------------------------------

export const SETTINGS: PlanSettings = {
  pollIntervalMs: 5 * MINUTE,
  progressIntervalMs: 20 * SECOND,
  workspaceRetryMs: 30 * SECOND,
  capacityPatterns: DEFAULT_CAPACITY_PATTERNS,
};

export const found = <T>(value: T): Observed<T> => ({ kind: 'found', value });
export const NOT_FOUND = { kind: 'notFound' } as const;
export const SKIPPED = { kind: 'skipped' } as const;
export const failed = (kind: CallFailure['kind'], message = `${kind} from Databricks`, retryAfterMs?: number): Observed<never> => ({
  kind: 'failed',
  error: { kind, message, ...(retryAfterMs !== undefined && { retryAfterMs }) },
});

/** Who the operator is in the fixtures' workspace, as the endpoint's messages name it. */
export const WORKSPACE_IDENTITY = 'the owner of the personal access token in Secret dbx-pat (DatabricksWorkspace ml/prod)';

export interface InputOptions {
  endpoint?: ServingEndpointDetailed | Observed<ServingEndpointDetailed>;
  model?: ModelOptimizationInfo | Observed<ModelOptimizationInfo>;
  now?: Date;
  /** 0.5 puts every jitter in the middle: requeues and backoffs come out exact. */
  random?: number;
  workspaceReady?: boolean;
  /** The workspace as the connections resolve it (overrides workspaceReady). */
  workspace?: WorkspaceState;
  /** What the informer cache says about other objects; default: the tagged owner is gone, no rival claim. */
  tenancy?: Partial<TenancyView>;
}

const OBSERVED_KINDS = new Set(['found', 'notFound', 'failed', 'skipped']);
function asObserved<T extends object>(value: T | Observed<T>): Observed<T> {
  const kind = (value as { kind?: unknown }).kind;
  return typeof kind === 'string' && OBSERVED_KINDS.has(kind) ? (value as Observed<T>) : found(value as T);
}

export function planInput(object: EndpointObject, options: InputOptions = {}): PlanInput {
  const endpoint = options.endpoint ?? NOT_FOUND;
  const model = options.model ?? TOKEN_BAND_MODEL;
  const workspaceReady = options.workspaceReady ?? true;
  return {
    object,
    workspace: options.workspace ?? (workspaceReady ? { ready: true, host: HOST, identity: WORKSPACE_IDENTITY } : { ready: false, message: 'secret ml/dbx-pat not found' }),
    tenancy: { taggedOwnerPresence: 'gone', recordedHolder: undefined, olderClaimant: undefined, allowCrossNamespaceAdoption: false, ...options.tenancy },
    endpoint: asObserved<ServingEndpointDetailed>(endpoint),
    model: asObserved<ModelOptimizationInfo>(model),
    now: options.now ?? NOW,
    random: options.random ?? 0.5,
    settings: SETTINGS,
  };
}

export const condition = (plan: Pick<Plan, 'status'>, type: 'Ready' | 'Synced') => plan.status.conditions?.find((c) => c.type === type);

/** One reconcile as the reconciler runs it: only the reads observationsNeeded asks for reach the plan. */
export function reconcile(object: EndpointObject, options: InputOptions = {}): Plan {
  const input = planInput(object, options);
  const needs = observationsNeeded(object, input.workspace.ready);
  return planEndpoint({ ...input, endpoint: needs.endpoint ? input.endpoint : SKIPPED, model: needs.model ? input.model : SKIPPED });
}
