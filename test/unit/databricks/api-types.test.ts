import { describe, expect, it } from 'vitest';
import {
  ApiErrorBodySchema,
  ListEndpointsResponseSchema,
  ListedEndpointsResponseSchema,
  ModelOptimizationInfoSchema,
  OAuthTokenResponseSchema,
  ServingEndpointDetailedSchema,
  ListedEndpointSchema,
  UpdatePtConfigRequestSchema,
} from '../../../src/databricks/api-types.js';

describe('response schemas', () => {
  it('read a real 2024 create response (reference §2.9a) and drop fields they do not know', () => {
    const endpoint = ServingEndpointDetailedSchema.parse({
      name: 'taka-llama2-7b',
      creator: 'someone@databricks.com',
      creation_timestamp: 1710327769000,
      last_updated_timestamp: 1710327769000,
      state: { ready: 'NOT_READY', config_update: 'IN_PROGRESS', suspend: 'NOT_SUSPENDED' },
      pending_config: {
        start_time: 1710327769000,
        served_entities: [
          {
            name: 'llama2-7b-1',
            entity_name: 'cat.default.llama2-7b',
            entity_version: '1',
            workload_size: 'Small',
            workload_type: 'GPU_MEDIUM',
            min_provisioned_throughput: 970,
            max_provisioned_throughput: 970,
            dbus: 24.0,
            state: { deployment: 'DEPLOYMENT_CREATING', deployment_state_message: 'Creating resources for served entity.' },
          },
        ],
        config_version: 1,
        traffic_config: { routes: [{ served_model_name: 'llama2-7b-1', traffic_percentage: 100, served_entity_name: 'llama2-7b-1' }] },
      },
      id: '08f9f293f47247588069fa4e4e61a9be',
      permission_level: 'CAN_MANAGE',
      route_optimized: false,
      resource_credential_strategy: 'EMBEDDED_CREDENTIALS',
    });
    expect(endpoint.config).toBeUndefined();
    expect(endpoint.pending_config?.served_entities?.[0]?.state?.deployment).toBe('DEPLOYMENT_CREATING');
    expect(endpoint).not.toHaveProperty('resource_credential_strategy');
    expect(endpoint.pending_config?.served_entities?.[0]).not.toHaveProperty('dbus');
  });

  it('keep of a list item only what the operator reads: name, ID, state and tags (ownership; the config is not parsed)', () => {
    const item = {
      name: 'chat',
      id: '88fd3f75a0d24b0380ddc40484d7a31b',
      creator: 'someone@databricks.com',
      state: { ready: 'READY', config_update: 'NOT_UPDATING', suspend: 'NOT_SUSPENDED' },
      config: { served_entities: [{ name: 'llama-3', entity_name: 'system.ai.llama', entity_version: '3' }] },
      tags: [{ key: 'team', value: 'genai' }],
      task: 'llm/v1/chat',
    };
    expect(ListedEndpointsResponseSchema.parse({ endpoints: [item] })).toEqual({
      endpoints: [
        { name: 'chat', id: '88fd3f75a0d24b0380ddc40484d7a31b', state: { ready: 'READY', config_update: 'NOT_UPDATING', suspend: 'NOT_SUSPENDED' }, tags: [{ key: 'team', value: 'genai' }] },
      ],
    });
    expect(ListedEndpointsResponseSchema.parse({})).toEqual({});
  });

  it('accept enum values Databricks adds later', () => {
    const endpoint = ServingEndpointDetailedSchema.parse({
      name: 'x',
      state: { ready: 'DEGRADED', config_update: 'UPDATE_PAUSED' },
      config: { served_entities: [{ state: { deployment: 'DEPLOYMENT_SUSPENDED' } }] },
    });
    expect(endpoint.state.config_update).toBe('UPDATE_PAUSED');
  });

  it('turn an int entity_version into a string', () => {
    const parsed = UpdatePtConfigRequestSchema.parse({
      config: { served_entities: [{ entity_name: 'system.ai.x', entity_version: 3, provisioned_model_units: 50 }] },
    });
    expect(parsed.config.served_entities[0]?.entity_version).toBe('3');
  });

  it('read an omitted endpoint list, optimization info, error bodies and token answers', () => {
    expect(ListEndpointsResponseSchema.parse({})).toEqual({});
    expect(ModelOptimizationInfoSchema.parse({ optimizable: false })).toEqual({ optimizable: false });
    expect(ApiErrorBodySchema.parse({ error_code: 'RESOURCE_CONFLICT', message: 'busy', extra: 1 })).toEqual({
      error_code: 'RESOURCE_CONFLICT',
      message: 'busy',
    });
    expect(OAuthTokenResponseSchema.parse({ access_token: 'a', expires_in: '3600' }).expires_in).toBe(3600);
    expect(ServingEndpointDetailedSchema.safeParse({ state: {} }).success).toBe(false);
  });

  // A hostile host chose the ID: it would go into status.endpointId (a printer column) and the Permissions API path.
  it.each([
    ['control characters', 'ab\ncd\u2028'],
    ['a path', '../../clusters'],
    ['megabytes', 'a'.repeat(1_000_000)],
    ['nothing', ''],
  ])('an endpoint ID with %s is an invalid answer', (_, id) => {
    const endpoint = { name: 'e', id, state: { ready: 'READY', config_update: 'NOT_UPDATING' } };
    expect(ServingEndpointDetailedSchema.safeParse(endpoint).success).toBe(false);
    expect(ListedEndpointSchema.safeParse(endpoint).success).toBe(false);
    expect(ServingEndpointDetailedSchema.safeParse({ ...endpoint, id: '88fd3f75a0d24b0380ddc40484d7a31b' }).success).toBe(true);
  });
});
