import { describe, expect, it } from 'vitest';
import { routeRequest } from '../../../src/emulator/routes.js';

describe('routeRequest', () => {
  it.each([
    ['GET', '/api/2.0/serving-endpoints', { op: 'list' }],
    ['POST', '/api/2.0/serving-endpoints', { op: 'create' }],
    ['POST', '/api/2.0/serving-endpoints/pt', { op: 'createPt' }],
    ['GET', '/api/2.0/serving-endpoints/llama', { op: 'get', name: 'llama' }],
    ['DELETE', '/api/2.0/serving-endpoints/llama', { op: 'delete', name: 'llama' }],
    ['PUT', '/api/2.0/serving-endpoints/llama/config', { op: 'updateConfig', name: 'llama' }],
    ['PUT', '/api/2.0/serving-endpoints/pt/llama/config', { op: 'updatePtConfig', name: 'llama' }],
    ['PATCH', '/api/2.0/serving-endpoints/llama/tags', { op: 'patchTags', name: 'llama' }],
    // A UC name keeps its dots inside one path segment.
    [
      'GET',
      '/api/2.0/serving-endpoints/get-model-optimization-info/system.ai.meta_llama_v3_1_8b_instruct/3',
      { op: 'optimizationInfo', model: 'system.ai.meta_llama_v3_1_8b_instruct', version: '3' },
    ],
    // An endpoint may be called "pt": reading and updating it uses the generic paths.
    ['GET', '/api/2.0/serving-endpoints/pt', { op: 'get', name: 'pt' }],
    ['PUT', '/api/2.0/serving-endpoints/pt/config', { op: 'updateConfig', name: 'pt' }],
    ['GET', '/oidc/.well-known/oauth-authorization-server', { op: 'oidcDiscovery' }],
    ['POST', '/oidc/v1/token', { op: 'token' }],
    ['GET', '/.well-known/databricks-config', { op: 'hostMetadata' }],
    ['PUT', '/api/2.0/serving-endpoints/llama/ai-gateway', { op: 'putAiGateway', name: 'llama' }],
    ['PATCH', '/api/2.0/serving-endpoints/llama/notifications', { op: 'updateNotifications', name: 'llama' }],
    ['PATCH', '/api/2.0/serving-endpoints/llama/telemetry-config', { op: 'patchTelemetryConfig', name: 'llama' }],
    // The Permissions API names the endpoint by its ID.
    ['GET', '/api/2.0/permissions/serving-endpoints/88fd3f75a0d24b0380ddc40484d7a31b', { op: 'getPermissions', endpointId: '88fd3f75a0d24b0380ddc40484d7a31b' }],
    ['PUT', '/api/2.0/permissions/serving-endpoints/88fd3f75a0d24b0380ddc40484d7a31b', { op: 'setPermissions', endpointId: '88fd3f75a0d24b0380ddc40484d7a31b' }],
    ['PATCH', '/api/2.0/permissions/serving-endpoints/88fd3f75a0d24b0380ddc40484d7a31b', { op: 'updatePermissions', endpointId: '88fd3f75a0d24b0380ddc40484d7a31b' }],
    ['GET', '/api/2.0/permissions/serving-endpoints/88fd3f75a0d24b0380ddc40484d7a31b/permissionLevels', { op: 'getPermissionLevels', endpointId: '88fd3f75a0d24b0380ddc40484d7a31b' }],
    ['DELETE', '/api/2.0/permissions/serving-endpoints/88fd3f75a0d24b0380ddc40484d7a31b', { op: 'unknown' }],
    // Unity Catalog: only reading a schema by its full name (an inference table's target).
    ['GET', '/api/2.1/unity-catalog/schemas/main.default', { op: 'getSchema', fullName: 'main.default' }],
    ['DELETE', '/api/2.1/unity-catalog/schemas/main.default', { op: 'unknown' }],
    ['GET', '/api/2.1/unity-catalog/schemas', { op: 'unknown' }],
    ['POST', '/api/2.0/serving-endpoints/llama', { op: 'unknown' }],
    ['GET', '/api/2.0/clusters/list', { op: 'unknown' }],
  ])('%s %s', (method, path, expected) => {
    expect(routeRequest(method, path)).toEqual(expected);
  });
});
