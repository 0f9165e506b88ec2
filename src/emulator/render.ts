// Renders stored endpoints in the API's response shapes (captures in reference §2.9): the detailed
// form for GET/create/update, and the summary form for list items.
import type {
  AutoCaptureConfigOutput,
  EndpointCoreConfigOutput,
  EndpointPendingConfig,
  ServedEntityOutput,
  ServedModelOutput,
  ServingEndpoint,
  ServingEndpointDetailed,
  TrafficConfig,
} from '../databricks/api-types.js';
import { CREATING_MESSAGE, configUpdateState, type Rollout, type StoredConfig, type StoredEndpoint, type StoredEntity } from './lifecycle.js';

type EntityState = NonNullable<ServedEntityOutput['state']>;

const READY_STATE: EntityState = { deployment: 'DEPLOYMENT_READY', deployment_state_message: '' };

export function renderDetailed(endpoint: StoredEndpoint): ServingEndpointDetailed {
  const detailed: ServingEndpointDetailed = {
    name: endpoint.name,
    creator: endpoint.creator,
    creation_timestamp: endpoint.creation_timestamp,
    last_updated_timestamp: endpoint.last_updated_timestamp,
    state: {
      ready: endpoint.served ? 'READY' : 'NOT_READY',
      config_update: configUpdateState(endpoint),
      suspend: 'NOT_SUSPENDED',
    },
    id: endpoint.id,
    permission_level: 'CAN_MANAGE',
    route_optimized: endpoint.route_optimized,
  };
  if (endpoint.route_optimized) {
    // Reference §2.6: a route-optimized endpoint is queried at its own data-plane URL, given only for it. The host
    // is a stand-in (.invalid): the emulator serves no invocations.
    detailed.endpoint_url = `https://${endpoint.id}.serving.emulator.invalid/serving-endpoints/${endpoint.name}/invocations`;
    detailed.data_plane_info = { query_info: { endpoint_url: detailed.endpoint_url } };
  }
  if (endpoint.served) detailed.config = renderConfig(endpoint.served, READY_STATE, endpoint.name);
  if (endpoint.rollout) detailed.pending_config = renderPending(endpoint.rollout, endpoint.name);
  if (endpoint.tags.length > 0) detailed.tags = endpoint.tags;
  // Always there: a real workspace echoes an unset description as "" (the Databricks CLI's fake force-sends it to match).
  detailed.description = endpoint.description ?? '';
  if (endpoint.ai_gateway !== undefined) detailed.ai_gateway = endpoint.ai_gateway;
  // A real GET answers the policy as effective_budget_policy_id and never fills budget_policy_id (the Databricks
  // CLI's direct engine, PR #5708, tested on a workspace; the reference's captures of real answers carry it).
  if (endpoint.budget_policy_id !== undefined) detailed.effective_budget_policy_id = endpoint.budget_policy_id;
  if (endpoint.email_notifications !== undefined) detailed.email_notifications = endpoint.email_notifications;
  if (endpoint.telemetry_config !== undefined) detailed.telemetry_config = endpoint.telemetry_config;
  return detailed;
}

export function renderSummary(endpoint: StoredEndpoint): ServingEndpoint {
  const summary: ServingEndpoint = {
    name: endpoint.name,
    id: endpoint.id,
    creator: endpoint.creator,
    creation_timestamp: endpoint.creation_timestamp,
    last_updated_timestamp: endpoint.last_updated_timestamp,
    state: { ready: endpoint.served ? 'READY' : 'NOT_READY', config_update: configUpdateState(endpoint), suspend: 'NOT_SUSPENDED' },
  };
  if (endpoint.served) {
    summary.config = {
      served_entities: byName(endpoint.served.entities).map((e) => {
        const spec: NonNullable<NonNullable<ServingEndpoint['config']>['served_entities']>[number] = {
          name: e.name,
          entity_name: e.entity_name,
          entity_version: e.entity_version,
          type: 'FOUNDATION_MODEL',
        };
        if (e.foundation_model) spec.foundation_model = e.foundation_model;
        return spec;
      }),
    };
    // the deprecated list too (GO/PY EndpointCoreConfigSummary.served_models, ServedModelSpec), as the detailed form has it
    if (endpoint.served.legacyServedModels) {
      summary.config.served_models = byName(endpoint.served.entities).map((e) => ({ name: e.name, model_name: e.entity_name, model_version: e.entity_version }));
    }
  }
  if (endpoint.tags.length > 0) summary.tags = endpoint.tags;
  if (endpoint.description !== undefined) summary.description = endpoint.description;
  // The list item type has the gateway (GO/PY ServingEndpoint.ai_gateway), unlike the served entities' details.
  if (endpoint.ai_gateway !== undefined) summary.ai_gateway = endpoint.ai_gateway;
  // and the telemetry config (GO/PY ServingEndpoint.telemetry_config)
  if (endpoint.telemetry_config !== undefined) summary.telemetry_config = endpoint.telemetry_config;
  return summary;
}

function renderPending(rollout: Rollout, endpointName: string): EndpointPendingConfig {
  const outcome = rollout.outcome;
  const state: EntityState =
    rollout.ended && outcome.kind === 'failed'
      ? { deployment: outcome.deployment, deployment_state_message: outcome.message }
      : { deployment: 'DEPLOYMENT_CREATING', deployment_state_message: CREATING_MESSAGE };
  return { start_time: rollout.startTime, ...renderConfig(rollout.config, state, endpointName) };
}

function renderConfig(config: StoredConfig, state: EntityState, endpointName: string): EndpointCoreConfigOutput {
  const entities = byName(config.entities);
  const output: EndpointCoreConfigOutput = {
    served_entities: entities.map((e) => renderEntity(e, state)),
  };
  if (config.legacyServedModels) output.served_models = entities.map((e) => renderServedModel(e, state));
  output.config_version = config.config_version;
  output.traffic_config = renderTraffic(config);
  if (config.autoCapture) output.auto_capture_config = renderAutoCapture(config.autoCapture, endpointName);
  return output;
}

/** A legacy inference table with its state (reference §2.5); the table is named after the prefix, else the endpoint. */
function renderAutoCapture(autoCapture: NonNullable<StoredConfig['autoCapture']>, endpointName: string): AutoCaptureConfigOutput {
  const enabled = autoCapture.enabled !== false;
  return {
    ...autoCapture,
    state: {
      payload_table: {
        name: `${autoCapture.table_name_prefix ?? endpointName}_payload`,
        status: enabled ? 'ACTIVE' : 'DISABLED',
        status_message: enabled ? 'The inference table is active.' : 'The inference table is disabled.',
      },
    },
  };
}

function renderEntity(entity: StoredEntity, state: EntityState): ServedEntityOutput {
  const output: ServedEntityOutput = { name: entity.name, entity_name: entity.entity_name, entity_version: entity.entity_version };
  copyCompute(entity, output);
  if (entity.provisioned_model_units !== undefined) output.provisioned_model_units = entity.provisioned_model_units;
  if (entity.environment_vars !== undefined) output.environment_vars = entity.environment_vars;
  if (entity.instance_profile_arn !== undefined) output.instance_profile_arn = entity.instance_profile_arn;
  if (entity.foundation_model !== undefined) output.foundation_model = entity.foundation_model;
  output.state = { ...state };
  output.creator = entity.creator;
  output.creation_timestamp = entity.creation_timestamp;
  return output;
}

function renderServedModel(entity: StoredEntity, state: EntityState): ServedModelOutput {
  const output: ServedModelOutput = { name: entity.name, model_name: entity.entity_name, model_version: entity.entity_version };
  copyCompute(entity, output);
  output.state = { ...state };
  output.creator = entity.creator;
  output.creation_timestamp = entity.creation_timestamp;
  return output;
}

function copyCompute(entity: StoredEntity, output: ServedEntityOutput | ServedModelOutput): void {
  if (entity.workload_size !== undefined) output.workload_size = entity.workload_size;
  if (entity.workload_type !== undefined) output.workload_type = entity.workload_type;
  if (entity.min_provisioned_throughput !== undefined) output.min_provisioned_throughput = entity.min_provisioned_throughput;
  if (entity.max_provisioned_throughput !== undefined) output.max_provisioned_throughput = entity.max_provisioned_throughput;
  if (entity.min_provisioned_concurrency !== undefined) output.min_provisioned_concurrency = entity.min_provisioned_concurrency;
  if (entity.max_provisioned_concurrency !== undefined) output.max_provisioned_concurrency = entity.max_provisioned_concurrency;
  output.scale_to_zero_enabled = entity.scale_to_zero_enabled;
}

/**
 * Served entities (and models) by name, not in the request's order: "The model serving API returns served_models and
 * served_entities in non-deterministic order (typically alphabetically by name)" (Terraform provider PR #5188,
 * reference §5.1). Names are unique within a config.
 */
function byName(entities: readonly StoredEntity[]): StoredEntity[] {
  return [...entities].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Routes echo both names with the same value, whichever the request used. */
function renderTraffic(config: StoredConfig): TrafficConfig {
  return {
    routes: config.routes.map((r) => ({ served_model_name: r.name, traffic_percentage: r.traffic_percentage, served_entity_name: r.name })),
  };
}
