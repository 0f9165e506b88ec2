// The endpoint state machine. A create or config update starts a rollout that ends at a known virtual
// time, either serving the new config or failing; `settle(now)` applies every ending that is due, so
// no timers are needed and a clock jump lands exactly where it should. Facts: reference §2.6, §2.9, §6.
import type { AiGatewayConfig, EmailNotifications, EndpointTag, TelemetryConfig } from '../databricks/api-types.js';
import type { ConfigSpec, EntitySpec } from './config-spec.js';
import { ApiError, endpointAlreadyExists, endpointNotFound } from './errors.js';
import type { DirectPermission } from './settings.js';

/** Entity message while a rollout runs (capture §2.9a). */
export const CREATING_MESSAGE = 'Creating resources for served entity.';
/** Entity message when a rollout times out, e.g. for lack of GPU capacity (capture §2.9c). */
export const TIMED_OUT_MESSAGE =
  'Served model creation aborted because the endpoint update timed out. Please see service logs for more information.';

export interface StoredEntity extends EntitySpec {
  creator: string;
  creation_timestamp: number;
}

export interface StoredConfig {
  config_version: number;
  entities: StoredEntity[];
  routes: ConfigSpec['routes'];
  legacyServedModels: boolean;
  autoCapture?: ConfigSpec['autoCapture'];
}

/** How a rollout ends, decided when it starts (fault injection happens there). */
export type RolloutOutcome =
  | { kind: 'ready' }
  | { kind: 'failed'; deployment: 'DEPLOYMENT_ABORTED' | 'DEPLOYMENT_FAILED'; message: string };

export interface Rollout {
  config: StoredConfig;
  startTime: number;
  endsAt: number;
  outcome: RolloutOutcome;
  /** true once a failed rollout has ended (UPDATE_FAILED); successful ones are folded into `served` */
  ended: boolean;
}

export interface StoredEndpoint {
  name: string;
  id: string;
  creator: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  /** the config currently serving; absent until the first successful rollout */
  served?: StoredConfig;
  rollout?: Rollout;
  tags: EndpointTag[];
  description?: string;
  ai_gateway?: AiGatewayConfig;
  budget_policy_id?: string;
  email_notifications?: EmailNotifications;
  telemetry_config?: TelemetryConfig;
  /** direct permissions (Permissions API); the creator gets CAN_MANAGE */
  acl: DirectPermission[];
  route_optimized: boolean;
}

export type ConfigUpdateState = 'NOT_UPDATING' | 'IN_PROGRESS' | 'UPDATE_FAILED';

export function configUpdateState(endpoint: StoredEndpoint): ConfigUpdateState {
  if (!endpoint.rollout) return 'NOT_UPDATING';
  if (!endpoint.rollout.ended) return 'IN_PROGRESS';
  return endpoint.rollout.outcome.kind === 'failed' ? 'UPDATE_FAILED' : 'NOT_UPDATING';
}

/** Decides, when a rollout starts, how and when it ends. */
export type RolloutPlanner = (spec: ConfigSpec, now: number) => { outcome: RolloutOutcome; durationMs: number };

export interface NewEndpoint {
  name: string;
  spec?: ConfigSpec;
  tags?: EndpointTag[];
  description?: string;
  ai_gateway?: AiGatewayConfig;
  budget_policy_id?: string;
  route_optimized?: boolean;
  telemetry_config?: TelemetryConfig;
}

export class EndpointStore {
  readonly #endpoints = new Map<string, StoredEndpoint>();
  readonly #planRollout: RolloutPlanner;
  readonly #newId: () => string;
  readonly #creator: string;

  constructor(options: { planRollout: RolloutPlanner; newId: () => string; creator: string }) {
    this.#planRollout = options.planRollout;
    this.#newId = options.newId;
    this.#creator = options.creator;
  }

  /** Applies every rollout ending that is due at `now`. */
  settle(now: number): void {
    for (const endpoint of this.#endpoints.values()) {
      const rollout = endpoint.rollout;
      if (!rollout || rollout.ended || rollout.endsAt > now) continue;
      endpoint.last_updated_timestamp = rollout.endsAt;
      if (rollout.outcome.kind === 'ready') {
        endpoint.served = rollout.config;
        delete endpoint.rollout;
      } else {
        rollout.ended = true;
      }
    }
  }

  get(name: string, now: number): StoredEndpoint {
    this.settle(now);
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) throw endpointNotFound(name);
    return endpoint;
  }

  /** The endpoint with this ID (the Permissions API's key); 404 like the real service otherwise. */
  byId(id: string, now: number): StoredEndpoint {
    this.settle(now);
    for (const endpoint of this.#endpoints.values()) if (endpoint.id === id) return endpoint;
    throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Serving endpoint with id '${id}' does not exist.`);
  }

  has(name: string): boolean {
    return this.#endpoints.has(name);
  }

  /** Endpoints the workspace holds (those being deleted too, as list shows them). */
  count(now: number): number {
    this.settle(now);
    return this.#endpoints.size;
  }

  list(now: number): StoredEndpoint[] {
    this.settle(now);
    return [...this.#endpoints.values()];
  }

  /** `creator`: the caller's identity (SCIM userName); default the scenario's workspace.creator. */
  create(request: NewEndpoint, now: number, creator = this.#creator): StoredEndpoint {
    this.settle(now);
    if (this.#endpoints.has(request.name)) throw endpointAlreadyExists(request.name);
    const endpoint: StoredEndpoint = {
      name: request.name,
      id: this.#newId(),
      creator,
      creation_timestamp: now,
      last_updated_timestamp: now,
      tags: request.tags ?? [],
      acl: [{ kind: principalKindOf(creator), name: creator, level: 'CAN_MANAGE' }],
      route_optimized: request.route_optimized ?? false,
    };
    if (request.description !== undefined) endpoint.description = request.description;
    if (request.ai_gateway !== undefined) endpoint.ai_gateway = request.ai_gateway;
    if (request.budget_policy_id !== undefined) endpoint.budget_policy_id = request.budget_policy_id;
    if (request.telemetry_config !== undefined) endpoint.telemetry_config = request.telemetry_config;
    if (request.spec) this.#startRollout(endpoint, request.spec, now);
    this.#endpoints.set(endpoint.name, endpoint);
    return endpoint;
  }

  /** A config PUT: rejected with 409 while a rollout is in progress; otherwise starts a new one. */
  updateConfig(name: string, spec: ConfigSpec, now: number): StoredEndpoint {
    const endpoint = this.get(name, now);
    assertNotUpdating(endpoint);
    this.#startRollout(endpoint, spec, now);
    endpoint.last_updated_timestamp = now;
    return endpoint;
  }

  /** Replaces the serving config at once, with no rollout (an out-of-band change in the Databricks UI). */
  replaceServedConfig(name: string, spec: ConfigSpec, now: number): StoredEndpoint {
    const endpoint = this.get(name, now);
    assertNotUpdating(endpoint);
    endpoint.served = this.#storedConfig(endpoint, spec, now);
    delete endpoint.rollout;
    endpoint.last_updated_timestamp = now;
    return endpoint;
  }

  delete(name: string, now: number): void {
    this.get(name, now);
    this.#endpoints.delete(name);
  }

  patchTags(name: string, add: readonly EndpointTag[], remove: readonly string[], now: number): EndpointTag[] {
    const endpoint = this.get(name, now);
    const byKey = new Map(endpoint.tags.map((t) => [t.key, t]));
    for (const key of remove) byKey.delete(key);
    for (const tag of add) byKey.set(tag.key, tag);
    endpoint.tags = [...byKey.values()];
    endpoint.last_updated_timestamp = now;
    return endpoint.tags;
  }

  clear(): void {
    this.#endpoints.clear();
  }

  #startRollout(endpoint: StoredEndpoint, spec: ConfigSpec, now: number): void {
    const { outcome, durationMs } = this.#planRollout(spec, now);
    endpoint.rollout = { config: this.#storedConfig(endpoint, spec, now), startTime: now, endsAt: now + durationMs, outcome, ended: false };
  }

  #storedConfig(endpoint: StoredEndpoint, spec: ConfigSpec, now: number): StoredConfig {
    const latest = Math.max(endpoint.served?.config_version ?? 0, endpoint.rollout?.config.config_version ?? 0);
    // An entity that keeps its name and settings keeps its creation time; a changed one is new.
    const previous = new Map((endpoint.served?.entities ?? []).map((e) => [e.name, e]));
    const entities = spec.entities.map((entity): StoredEntity => {
      const old = previous.get(entity.name);
      const unchanged = old !== undefined && sameEntity(old, entity);
      return { ...entity, creator: endpoint.creator, creation_timestamp: unchanged ? old.creation_timestamp : now };
    });
    return {
      config_version: latest + 1,
      entities,
      routes: spec.routes,
      legacyServedModels: spec.legacyServedModels,
      ...(spec.autoCapture && { autoCapture: spec.autoCapture }),
    };
  }
}

function assertNotUpdating(endpoint: StoredEndpoint): void {
  if (configUpdateState(endpoint) === 'IN_PROGRESS') {
    throw new ApiError(
      409,
      'RESOURCE_CONFLICT',
      `Endpoint '${endpoint.name}' already has an update in progress. Another update can not be made until the current update completes or fails.`,
    );
  }
}

function sameEntity(a: EntitySpec, b: EntitySpec): boolean {
  return (
    a.entity_name === b.entity_name &&
    a.entity_version === b.entity_version &&
    a.min_provisioned_throughput === b.min_provisioned_throughput &&
    a.max_provisioned_throughput === b.max_provisioned_throughput &&
    a.provisioned_model_units === b.provisioned_model_units &&
    a.workload_size === b.workload_size &&
    a.min_provisioned_concurrency === b.min_provisioned_concurrency &&
    a.max_provisioned_concurrency === b.max_provisioned_concurrency
  );
}

/** Databricks names a user by e-mail and a service principal by its application ID (a UUID). */
export function principalKindOf(userName: string): 'user_name' | 'service_principal_name' {
  return userName.includes('@') ? 'user_name' : 'service_principal_name';
}
