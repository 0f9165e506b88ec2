// Maps a method and path to an operation of the serving API. Path parameters are one URL segment
// each, decoded; a UC model name keeps its dots inside one segment (system.ai.model/3).
export type Operation =
  | { op: 'list' }
  | { op: 'create' }
  | { op: 'createPt' }
  | { op: 'get'; name: string }
  | { op: 'delete'; name: string }
  | { op: 'updateConfig'; name: string }
  | { op: 'updatePtConfig'; name: string }
  | { op: 'patchTags'; name: string }
  | { op: 'putAiGateway'; name: string }
  | { op: 'updateNotifications'; name: string }
  | { op: 'patchTelemetryConfig'; name: string }
  | { op: 'getPermissions'; endpointId: string }
  | { op: 'setPermissions'; endpointId: string }
  | { op: 'updatePermissions'; endpointId: string }
  | { op: 'getPermissionLevels'; endpointId: string }
  | { op: 'getSchema'; fullName: string }
  | { op: 'currentUser' }
  | { op: 'optimizationInfo'; model: string; version: string }
  | { op: 'exportMetrics'; name: string }
  | { op: 'hostMetadata' }
  | { op: 'oidcDiscovery' }
  | { op: 'token' }
  | { op: 'unknown' };

const API_PREFIX = '/api/2.0/serving-endpoints';
const PERMISSIONS_PREFIX = '/api/2.0/permissions/serving-endpoints';
/** Unity Catalog, only to read whether an inference table's schema exists. */
const UC_SCHEMAS_PREFIX = '/api/2.1/unity-catalog/schemas';
/** SCIM Me: the Databricks CLI validates a profile with it (auth profiles, auth describe, bundles). */
const SCIM_ME_PATH = '/api/2.0/preview/scim/v2/Me';

export function routeRequest(method: string, path: string): Operation {
  if (path === '/.well-known/databricks-config' && method === 'GET') return { op: 'hostMetadata' };
  if (path === '/oidc/.well-known/oauth-authorization-server' && method === 'GET') return { op: 'oidcDiscovery' };
  if (path === '/oidc/v1/token' && method === 'POST') return { op: 'token' };
  if (path === SCIM_ME_PATH && method === 'GET') return { op: 'currentUser' };
  if (path.startsWith(`${PERMISSIONS_PREFIX}/`)) return routePermissions(method, path);
  if (path.startsWith(`${UC_SCHEMAS_PREFIX}/`)) {
    const segments = splitSegments(path.slice(UC_SCHEMAS_PREFIX.length));
    return segments?.length === 1 && method === 'GET' ? { op: 'getSchema', fullName: segments[0] as string } : { op: 'unknown' };
  }
  if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return { op: 'unknown' };
  const segments = splitSegments(path.slice(API_PREFIX.length));
  if (!segments) return { op: 'unknown' };
  const [first, second, third] = segments;
  switch (segments.length) {
    case 0:
      if (method === 'GET') return { op: 'list' };
      if (method === 'POST') return { op: 'create' };
      break;
    case 1:
      if (first === 'pt' && method === 'POST') return { op: 'createPt' };
      if (method === 'GET') return { op: 'get', name: first! };
      if (method === 'DELETE') return { op: 'delete', name: first! };
      break;
    case 2:
      if (second === 'config' && method === 'PUT') return { op: 'updateConfig', name: first! };
      if (second === 'tags' && method === 'PATCH') return { op: 'patchTags', name: first! };
      if (second === 'ai-gateway' && method === 'PUT') return { op: 'putAiGateway', name: first! };
      if (second === 'notifications' && method === 'PATCH') return { op: 'updateNotifications', name: first! };
      if (second === 'telemetry-config' && method === 'PATCH') return { op: 'patchTelemetryConfig', name: first! };
      if (second === 'metrics' && method === 'GET') return { op: 'exportMetrics', name: first! };
      break;
    case 3:
      if (first === 'get-model-optimization-info' && method === 'GET') return { op: 'optimizationInfo', model: second!, version: third! };
      if (first === 'pt' && third === 'config' && method === 'PUT') return { op: 'updatePtConfig', name: second! };
      break;
  }
  return { op: 'unknown' };
}

/** /api/2.0/permissions/serving-endpoints/{serving_endpoint_id}[/permissionLevels]: by ID, not name. */
function routePermissions(method: string, path: string): Operation {
  const segments = splitSegments(path.slice(PERMISSIONS_PREFIX.length));
  if (!segments || segments.length === 0) return { op: 'unknown' };
  const [endpointId, rest] = segments as [string, string | undefined];
  if (segments.length === 2 && rest === 'permissionLevels' && method === 'GET') return { op: 'getPermissionLevels', endpointId };
  if (segments.length !== 1) return { op: 'unknown' };
  if (method === 'GET') return { op: 'getPermissions', endpointId };
  if (method === 'PUT') return { op: 'setPermissions', endpointId };
  if (method === 'PATCH') return { op: 'updatePermissions', endpointId };
  return { op: 'unknown' };
}

/** The endpoint an operation concerns, for the call log. */
export function endpointOf(operation: Operation): string | undefined {
  return 'name' in operation ? operation.name : undefined;
}

function splitSegments(rest: string): string[] | undefined {
  const trimmed = rest.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return [];
  try {
    return trimmed.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}
