// Endpoint settings beside the served config: the AI Gateway (PUT replaces it), e-mail notifications
// (PATCH sets them), the telemetry config (PATCH replaces or removes it) and the Permissions API's ACL (by endpoint ID; PUT replaces, PATCH merges).
// Facts: PY serving.py (put_ai_gateway, update_notifications, patch_telemetry_config, *_permissions and their types), TF
// permissions/permission_definitions.go (object type, admins, inherited entries), the Databricks CLI's
// fake (PUT {} unsets the gateway; description always echoed). Messages marked INFERENCE are the
// emulator's own wording where no source shows the real one.
import type {
  AccessControlRequest,
  AccessControlResponse,
  AiGatewayConfig,
  PermissionLevelsResponse,
  ServingEndpointPermissions,
  TelemetryConfig,
} from '../databricks/api-types.js';
import { PERMISSION_LEVELS, RATE_LIMIT_KEYS, SERVING_ENDPOINT_OBJECT_TYPE, TELEMETRY_FEATURES } from '../databricks/api-types.js';
import { invalidParameter } from './errors.js';

// ---- AI Gateway ----------------------------------------------------------------------------------

/** Unity Catalog schemas that exist ("catalog.schema"), for inference-table checks. */
export type SchemaDirectory = (catalog: string, schema: string) => 'ok' | 'noCatalog' | 'noSchema';

/**
 * Validates a PUT ai-gateway body against the current gateway and returns what GET will show: the
 * server fills PII behavior NONE on a guardrail side and usage tracking off (TF marks both Computed),
 * and the table name prefix with the endpoint name (MLflow's update_endpoint_ai_gateway example shows a workspace
 * answering so). An empty body unsets the gateway (undefined).
 */
export function applyAiGateway(endpointName: string, current: AiGatewayConfig | undefined, request: AiGatewayConfig, schemas: SchemaDirectory): AiGatewayConfig | undefined {
  const next = structuredClone(request);
  for (const limit of next.rate_limits ?? []) {
    if (limit.renewal_period !== 'minute') throw invalidParameter(`Invalid renewal_period '${limit.renewal_period}': only 'minute' is supported.`);
    if (limit.key !== undefined && !(RATE_LIMIT_KEYS as readonly string[]).includes(limit.key)) {
      throw invalidParameter(`Invalid rate limit key '${limit.key}'. Supported keys: ${RATE_LIMIT_KEYS.join(', ')}.`);
    }
    if (limit.calls === undefined && limit.tokens === undefined) throw invalidParameter('A rate limit must specify calls or tokens.');
    // One cap per limit: a user's PUT on a real workspace (community.databricks.com thread 136468). Wording: INFERENCE.
    if (limit.calls !== undefined && limit.tokens !== undefined) {
      throw invalidParameter('A rate limit must specify either calls or tokens, not both; use two rate limits with the same key.');
    }
    if ((limit.calls ?? 0) < 0 || (limit.tokens ?? 0) < 0) throw invalidParameter('Rate limit calls and tokens must not be negative.');
    if ((limit.key ?? 'endpoint') === 'endpoint' && limit.principal !== undefined) {
      throw invalidParameter("Rate limit principal cannot be specified when the key is 'endpoint'.");
    }
  }
  for (const side of ['input', 'output'] as const) {
    const guardrail = next.guardrails?.[side];
    if (!guardrail) continue;
    const behavior = guardrail.pii?.behavior ?? 'NONE';
    if (!['NONE', 'BLOCK', 'MASK'].includes(behavior)) throw invalidParameter(`Invalid PII behavior '${behavior}'.`);
    guardrail.pii = { behavior };
  }
  const table = next.inference_table_config;
  if (table) {
    const before = current?.inference_table_config;
    const wasEnabled = before?.enabled === true;
    if (table.enabled === true) {
      if (!table.catalog_name || !table.schema_name) {
        throw invalidParameter('catalog_name and schema_name are required to enable inference tables.'); // INFERENCE
      }
      const found = schemas(table.catalog_name, table.schema_name);
      if (found === 'noCatalog') throw invalidParameter(`Catalog '${table.catalog_name}' does not exist.`); // INFERENCE
      if (found === 'noSchema') throw invalidParameter(`Schema '${table.catalog_name}.${table.schema_name}' does not exist.`); // INFERENCE
      table.table_name_prefix ??= endpointName;
      // "On update, you have to disable inference table first in order to change the catalog name" (PY docstrings).
      if (wasEnabled) {
        for (const field of ['catalog_name', 'schema_name', 'table_name_prefix'] as const) {
          if (before?.[field] !== undefined && before[field] !== table[field]) {
            throw invalidParameter(`Cannot change ${field} of an enabled inference table; disable the inference table first.`);
          }
        }
      }
    } else if (wasEnabled) {
      // Disabling keeps the table the endpoint logged to (INFERENCE).
      next.inference_table_config = { ...before, ...table, enabled: false };
    }
  }
  const empty = Object.values(next).every((v) => v === undefined);
  if (empty) return undefined;
  next.usage_tracking_config ??= { enabled: false };
  return next;
}

// ---- Permissions ---------------------------------------------------------------------------------

export type PrincipalKind = 'user_name' | 'group_name' | 'service_principal_name';

export interface DirectPermission {
  kind: PrincipalKind;
  name: string;
  level: string;
}

/** Who exists in the workspace: unknown principals are refused like the real service does. */
export interface Directory {
  exists(kind: PrincipalKind, name: string): boolean;
}

const ADMINS = 'admins';

const LEVEL_DESCRIPTIONS: Record<string, string> = {
  CAN_VIEW: 'Can view the endpoint',
  CAN_QUERY: 'Can query the endpoint',
  CAN_MANAGE: 'Can manage the endpoint',
};

function principalOf(entry: AccessControlRequest): DirectPermission {
  const given = (['user_name', 'group_name', 'service_principal_name'] as const).filter((k) => entry[k] !== undefined && entry[k] !== '');
  if (given.length !== 1) throw invalidParameter('Exactly one of user_name, group_name or service_principal_name must be set in an access control entry.');
  const kind = given[0] as PrincipalKind;
  const level = entry.permission_level;
  if (level === undefined || !(PERMISSION_LEVELS as readonly string[]).includes(level)) {
    throw invalidParameter(`Permission level ${String(level)} is not supported for ${SERVING_ENDPOINT_OBJECT_TYPE}. Supported levels: ${PERMISSION_LEVELS.join(', ')}.`);
  }
  return { kind, name: entry[kind] as string, level };
}

const keyOf = (p: Pick<DirectPermission, 'kind' | 'name'>) => `${p.kind}:${p.kind === 'group_name' ? p.name : p.name.toLowerCase()}`;

/** The validated entries of a PUT or PATCH body. */
export function parseAcl(list: AccessControlRequest[] | undefined, directory: Directory): DirectPermission[] {
  const entries = (list ?? []).map(principalOf);
  for (const entry of entries) {
    if (entry.kind === 'group_name' && entry.name === ADMINS) throw invalidParameter("Cannot change permissions for group 'admins'."); // TF validate()
    if (!directory.exists(entry.kind, entry.name)) {
      const label = entry.kind === 'user_name' ? 'UserName' : entry.kind === 'group_name' ? 'GroupName' : 'ServicePrincipalName';
      throw invalidParameter(`Principal: ${label}(${entry.name}) does not exist`); // INFERENCE
    }
  }
  return entries;
}

/** PUT: the listed entries become the direct permissions. */
export function replaceAcl(entries: DirectPermission[]): DirectPermission[] {
  return [...new Map(entries.map((e) => [keyOf(e), e])).values()];
}

/** PATCH: the listed entries are set; other direct permissions stay. */
export function mergeAcl(current: DirectPermission[], entries: DirectPermission[]): DirectPermission[] {
  const byKey = new Map(current.map((e) => [keyOf(e), e]));
  for (const e of entries) byKey.set(keyOf(e), e);
  return [...byKey.values()];
}

/** The GET/PUT/PATCH response: direct entries plus the admins group's inherited CAN_MANAGE. */
export function renderPermissions(endpointId: string, acl: DirectPermission[]): ServingEndpointPermissions {
  const list: AccessControlResponse[] = acl.map((e) => ({
    [e.kind]: e.name,
    ...(e.kind !== 'group_name' ? { display_name: e.name } : {}),
    all_permissions: [{ permission_level: e.level, inherited: false }],
  }));
  list.push({
    group_name: ADMINS,
    all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true, inherited_from_object: ['/serving-endpoints/'] }],
  });
  return { object_id: `/serving-endpoints/${endpointId}`, object_type: SERVING_ENDPOINT_OBJECT_TYPE, access_control_list: list };
}

export function permissionLevels(): PermissionLevelsResponse {
  return { permission_levels: PERMISSION_LEVELS.map((level) => ({ permission_level: level, description: LEVEL_DESCRIPTIONS[level] ?? '' })) };
}

// ---- telemetry -----------------------------------------------------------------------------------

/**
 * What a PATCH /telemetry-config (or a create's telemetry_config) leaves on an endpoint, and what GET shows: the given
 * config replaces the previous one, a body without one removes it. A config that names neither a profile nor a table
 * is accepted and applied nowhere (the Databricks CLI's bundle validator: "Given neither, it discards the
 * configuration instead of applying it"): the previous one stays. Tables are consumed to make a new profile (each
 * time), and only the profile is shown, with the inference table it names after the logs table; the features are not
 * shown either: as Databricks' own test server for the CLI answers (databricks/cli libs/testserver/serving_endpoints.go,
 * and its commit 99278023d6, "the backend consumes table_names to provision a profile and never returns it"). The
 * refusals (both a profile and tables, an unknown feature, a sampling outside [0, 1], a table name not
 * catalog.schema.table) are the emulator's own wording.
 */
export function applyTelemetry(current: TelemetryConfig | undefined, request: TelemetryConfig | undefined, newProfileId: () => string): TelemetryConfig | undefined {
  if (request === undefined) return undefined;
  const tables = Object.entries(request.table_names ?? {}).filter(([, name]) => name !== undefined && name !== '');
  if (request.telemetry_profile_id !== undefined && request.telemetry_profile_id !== '' && tables.length > 0) {
    throw invalidParameter('Specify either telemetry_profile_id or table_names in telemetry_config, not both.');
  }
  for (const feature of request.enabled_telemetry_features ?? []) {
    if (!(TELEMETRY_FEATURES as readonly string[]).includes(feature)) throw invalidParameter(`Invalid value for field 'telemetry_config.enabled_telemetry_features': ${feature}`);
  }
  const sampling = request.inference_table_config?.sampling_fraction;
  if (sampling !== undefined && !(sampling >= 0 && sampling <= 1)) {
    throw invalidParameter(`telemetry_config.inference_table_config.sampling_fraction must be in the range [0.0, 1.0], got ${sampling}.`);
  }
  for (const [field, name] of tables) {
    if (name?.split('.').length !== 3 || name.split('.').some((part) => part === '')) {
      throw invalidParameter(`telemetry_config.table_names.${field} must be a full Unity Catalog table name (catalog.schema.table), got '${name}'.`);
    }
  }
  const profile = request.telemetry_profile_id || (tables.length > 0 ? newProfileId() : undefined);
  if (profile === undefined) return current;
  const logsTable = request.table_names?.logs_table;
  return {
    telemetry_profile_id: profile,
    ...(request.inference_table_config && { inference_table_config: { ...request.inference_table_config, ...(logsTable && { name: `${logsTable}_payload` }) } }),
  };
}
