// The endpoint settings that live beside the served config: AI Gateway, permissions, email
// notifications, telemetry, budget policy and description (issue 14). Field names are camelCase; enum values are
// Databricks' own words (CAN_QUERY, BLOCK, user_group), so a Terraform configuration carries over verbatim.
import { z } from 'zod';
import { TELEMETRY_FEATURES } from '../../databricks/api-types.js';
import { matches, re2Regex, type ValidationRule, withRules } from './rules.js';

/** A user name in Databricks is the user's e-mail address. */
export const EMAIL_PATTERN = '^[^@\\s]+@[^@\\s]+$';
/** A service principal is named by its application ID (a UUID). */
export const APPLICATION_ID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** Unity Catalog names of catalogs and schemas (no dots, spaces, slashes or control characters; UC_PART's rule). */
export const UC_NAME_PATTERN = '^[^. /\\x00-\\x1F\\x7F]+$';
const MAX_LIST = 50;

/**
 * No ASCII control character in a group's name: a name written as a YAML block scalar (`groupName: |`) ends with a line
 * break, no Databricks group is so named, and its refusal showed the line break as a space. Admission only (no zod
 * twin), so an object stored before the rule still reads; Databricks refuses such a name, which changes nothing.
 */
const noControlCharacters = (field: string): ValidationRule<string> => ({
  cel: "!self.matches(r'[\\x00-\\x1F\\x7F]')",
  message: `${field} must not contain control characters such as a line break (a YAML block scalar, ${field}: |, ends with one)`,
});
const emailRegex = re2Regex(EMAIL_PATTERN);
const applicationIdRegex = re2Regex(APPLICATION_ID_PATTERN);

const email = withRules(z.string().max(320), [matches(EMAIL_PATTERN, 'must be an e-mail address')]);
const keywordList = (what: string) =>
  z.array(z.string().min(1).max(255)).max(MAX_LIST).optional().describe(what);

export const PiiBehavior = z.enum(['NONE', 'BLOCK', 'MASK']);

export const Guardrail = z
  .strictObject({
    safety: z.boolean().optional().describe('Turn on the safety filter (unsafe content is blocked).'),
    pii: z
      .strictObject({
        behavior: PiiBehavior.describe('What to do with personally identifiable information: NONE, BLOCK or MASK.'),
      })
      .optional()
      .describe('The PII filter. Omitted: Databricks reports behavior NONE.'),
    validTopics: keywordList('Allowed topics: a request on another topic is flagged. Deprecated by Databricks in favour of safety and pii.'),
    invalidKeywords: keywordList('Keywords that are refused. Deprecated by Databricks in favour of safety and pii.'),
  })
  .describe('Guardrail filters for one direction.');

export const RateLimitKey = z.enum(['endpoint', 'user', 'user_group', 'service_principal']);

export const RateLimit = withRules(
  z.strictObject({
    calls: z.int().min(0).max(2_147_483_647).optional().describe('Calls allowed per renewal period. 0 blocks the calls it applies to (Databricks answers them 403 PERMISSION_DENIED).'),
    tokens: z.int().min(0).max(2_147_483_647).optional().describe('Tokens allowed per renewal period. 0 blocks the calls it applies to (Databricks answers them 403 PERMISSION_DENIED).'),
    renewalPeriod: z.enum(['minute']).default('minute').describe("The period the limit renews in; Databricks supports only 'minute'."),
    key: RateLimitKey.default('endpoint').describe(
      'Whom the limit applies to: endpoint (all traffic), user, user_group or service_principal (each one separately, or only principal when set).',
    ),
    principal: withRules(z.string().min(1).max(320), [noControlCharacters('principal')])
      .optional()
      .describe('The one user (e-mail), group (name) or service principal (application ID) the limit applies to. Not with key endpoint.'),
  }),
  [
    {
      cel: 'has(self.calls) || has(self.tokens)',
      message: 'set calls or tokens (or both)',
      check: (r) => r.calls !== undefined || r.tokens !== undefined,
    },
    {
      cel: "!has(self.key) || self.key != 'endpoint' || !has(self.principal)",
      message: 'principal cannot be set with key endpoint; use key user, user_group or service_principal',
      check: (r) => r.key !== 'endpoint' || r.principal === undefined,
    },
    {
      cel: `!has(self.principal) || !has(self.key) || self.key != 'user' || self.principal.matches(r'${EMAIL_PATTERN}')`,
      message: 'with key user, principal must be the e-mail address of a user',
      check: (r) => r.principal === undefined || r.key !== 'user' || emailRegex.test(r.principal),
    },
    {
      cel: `!has(self.principal) || !has(self.key) || self.key != 'service_principal' || self.principal.matches(r'${APPLICATION_ID_PATTERN}')`,
      message: 'with key service_principal, principal must be the application ID (a UUID) of a service principal',
      check: (r) => r.principal === undefined || r.key !== 'service_principal' || applicationIdRegex.test(r.principal),
    },
  ],
).describe('One rate limit. With both calls and tokens it is sent as two limits with the same key and principal, one each: Databricks takes one of them per limit, and both caps apply.');
export type RateLimit = z.infer<typeof RateLimit>;

const ucName = (what: string) =>
  withRules(z.string().min(1).max(255), [matches(UC_NAME_PATTERN, `must be a Unity Catalog ${what} name (no dots, spaces, slashes or control characters)`)]);

export const InferenceTables = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Log requests and responses to the inference table. false stops logging; catalog, schema and prefix are still sent, so changing them moves the disabled table.'),
    catalogName: ucName('catalog').describe('Unity Catalog catalog of the inference table; it must exist.'),
    schemaName: ucName('schema').describe('Unity Catalog schema of the inference table; it must exist.'),
    tableNamePrefix: ucName('table')
      .optional()
      .describe('Prefix of the table name. Omitted: the endpoint name (sent as such; removing the prefix moves the table there). Changing catalog, schema or prefix of an enabled table disables logging for one step first (Databricks requires it).'),
  })
  .describe('Inference tables: request and response logging to Unity Catalog (replaces the deprecated auto-capture on PT endpoints).');

const enabledFlag = (what: string) =>
  z.strictObject({ enabled: z.boolean().describe(`Whether ${what} is on.`) });

export const AiGateway = z
  .strictObject({
    usageTracking: enabledFlag('usage tracking')
      .optional()
      .describe('Usage tracking in system tables (system.serving.endpoint_usage). Omitted: off.'),
    inferenceTables: InferenceTables.optional(),
    guardrails: z
      .strictObject({
        input: Guardrail.optional().describe('Filters applied to requests.'),
        output: Guardrail.optional().describe('Filters applied to responses.'),
      })
      .optional()
      .describe('AI guardrails on requests and responses.'),
    rateLimits: z.array(RateLimit).max(MAX_LIST).optional().describe('Rate limits of the endpoint: a set (order does not matter, and a limit listed twice is sent once).'),
    fallback: enabledFlag('traffic fallback')
      .optional()
      .describe('Traffic fallback to other served entities on errors. Omitted: off.'),
  })
  .describe(
    'The AI Gateway of the endpoint (PUT /serving-endpoints/{name}/ai-gateway). The operator owns it as a whole: parts left out are off. Removing aiGateway turns every part off.',
  );
export type AiGateway = z.infer<typeof AiGateway>;

export const PermissionLevel = z.enum(['CAN_VIEW', 'CAN_QUERY', 'CAN_MANAGE']);

export const AccessControl = withRules(
  z.strictObject({
    userName: withRules(z.string().max(320), [matches(EMAIL_PATTERN, 'userName must be the e-mail address of a user')])
      .optional()
      .describe('A user, by e-mail address.'),
    groupName: withRules(z.string().min(1).max(255), [noControlCharacters('groupName')])
      .optional()
      .describe('A workspace or account group, by name.'),
    servicePrincipalName: withRules(z.string().max(64), [
      matches(APPLICATION_ID_PATTERN, 'servicePrincipalName must be the application ID (a UUID) of a service principal'),
    ])
      .optional()
      .describe('A service principal, by application ID.'),
    permissionLevel: PermissionLevel.describe('CAN_VIEW (see the endpoint), CAN_QUERY (also query it) or CAN_MANAGE (also change and delete it).'),
  }),
  [
    {
      cel: '[has(self.userName), has(self.groupName), has(self.servicePrincipalName)].filter(x, x).size() == 1',
      message: 'set exactly one of userName, groupName or servicePrincipalName',
      check: (a) => [a.userName, a.groupName, a.servicePrincipalName].filter((x) => x !== undefined).length === 1,
    },
    {
      cel: "!has(self.groupName) || self.groupName != 'admins'",
      message: 'the admins group always has CAN_MANAGE and cannot be listed',
      check: (a) => a.groupName !== 'admins',
    },
  ],
).describe('One principal and its permission level.');
export type AccessControl = z.infer<typeof AccessControl>;

/** The principal of an entry as one comparable key, e.g. "user:alice@example.com". */
export const principalKey = (a: Pick<AccessControl, 'userName' | 'groupName' | 'servicePrincipalName'>): string =>
  a.userName !== undefined
    ? `user:${a.userName.toLowerCase()}`
    : a.servicePrincipalName !== undefined
      ? `servicePrincipal:${a.servicePrincipalName.toLowerCase()}`
      : `group:${a.groupName ?? ''}`;

export const Permissions = withRules(z.array(AccessControl).max(MAX_LIST), [
  {
    cel:
      'self.all(a, self.exists_one(b, ' +
      '(has(a.userName) && has(b.userName) && a.userName.lowerAscii() == b.userName.lowerAscii()) || ' +
      '(has(a.groupName) && has(b.groupName) && a.groupName == b.groupName) || ' +
      '(has(a.servicePrincipalName) && has(b.servicePrincipalName) && a.servicePrincipalName.lowerAscii() == b.servicePrincipalName.lowerAscii())))',
    message: 'each principal may be listed once',
    check: (list) => new Set(list.map(principalKey)).size === list.length,
  },
]).describe(
  'Who may view, query or manage the endpoint. Authoritative, like databricks_permissions: this list is the whole set of direct permissions, and anything else granted directly (for example in the UI) is removed. Databricks always keeps the admins group (inherited CAN_MANAGE), and the operator keeps its own identity in the workspace (as Databricks names it) at CAN_MANAGE, and the endpoint creator\'s CAN_MANAGE while the creator holds it (a creator without it, left out by Terraform or deleted from the workspace, is not added back). An empty list removes every other direct permission. A field never set leaves permissions alone; removing it after it was set revokes every direct permission but the creator\'s and the operator\'s own (as an empty list does), so take principals that should keep access into the list before removing it.',
);

export const Notifications = z
  .strictObject({
    onUpdateSuccess: z.array(email).max(MAX_LIST).optional().describe('Addresses e-mailed when a config update succeeds.'),
    onUpdateFailure: z.array(email).max(MAX_LIST).optional().describe('Addresses e-mailed when a config update fails.'),
  })
  .describe('E-mail notifications on config updates (PATCH /serving-endpoints/{name}/notifications). Removing the field clears them.');
export type Notifications = z.infer<typeof Notifications>;

/** A Unity Catalog table's full name, catalog.schema.table (each part as UC_NAME_PATTERN). */
export const UC_TABLE_PATTERN = '^[^. /\\x00-\\x1F\\x7F]+\\.[^. /\\x00-\\x1F\\x7F]+\\.[^. /\\x00-\\x1F\\x7F]+$';
const ucTable = (what: string) =>
  withRules(z.string().max(767), [matches(UC_TABLE_PATTERN, 'must be a full Unity Catalog table name: catalog.schema.table')]).optional().describe(what);

const TelemetryTables = withRules(
  z.strictObject({
    logsTable: ucTable('The table that receives the logs (logs_table).'),
    tracesTable: ucTable('The table that receives the traces, spans (traces_table).'),
    metricsTable: ucTable('The table that receives the metrics (metrics_table).'),
    annotationsTable: ucTable('The table that receives the annotations (annotations_table).'),
  }),
  [
    {
      cel: 'has(self.logsTable) || has(self.tracesTable) || has(self.metricsTable) || has(self.annotationsTable)',
      message: 'name at least one table',
      check: (t) => Object.values(t).some((v) => v !== undefined),
    },
  ],
).describe('The Unity Catalog tables (catalog.schema.table) a new telemetry profile of the endpoint exports to (table_names).');

export const Telemetry = withRules(
  z.strictObject({
    profileId: z.string().min(1).max(255).optional().describe('An existing telemetry profile to apply (telemetry_profile_id). Not with tables.'),
    tables: TelemetryTables.optional(),
    features: withRules(z.array(z.enum(TELEMETRY_FEATURES)).max(TELEMETRY_FEATURES.length), [
      { cel: 'self.all(f, self.exists_one(g, g == f))', message: 'each feature may be listed once', check: (list) => new Set(list).size === list.length },
    ])
      .optional()
      .describe('The signals exported (enabled_telemetry_features), in Databricks\' words. Omitted or empty: all of them.'),
    inferenceTable: z
      .strictObject({
        samplingFraction: z.number().min(0).max(1).describe('The fraction of requests whose payloads are logged, 0 to 1 (1 logs every request).'),
      })
      .optional()
      .describe('Payload logging to the inference table (inference_table_config). Omitted: Databricks\' default sampling, which the operator does not compare.'),
  }),
  [
    { cel: '!(has(self.profileId) && has(self.tables))', message: 'set profileId or tables, not both', check: (t) => !(t.profileId !== undefined && t.tables !== undefined) },
    {
      cel: 'has(self.profileId) || has(self.tables) || (!has(self.features) && !has(self.inferenceTable))',
      message: 'features and inferenceTable need profileId or tables (Databricks discards a telemetry config that names no profile); to remove the telemetry config, set telemetry to {}',
      check: (t) => t.profileId !== undefined || t.tables !== undefined || (t.features === undefined && t.inferenceTable === undefined),
    },
  ],
).describe(
  'Export of the endpoint\'s logs, traces and metrics to Unity Catalog (telemetry_config, PATCH /serving-endpoints/{name}/telemetry-config): an existing profile (profileId) or tables to make one from (tables). {} removes the endpoint\'s telemetry config. A field never set leaves the telemetry config alone; removing it after it was set removes the config (as {} does).',
);
export type Telemetry = z.infer<typeof Telemetry>;

export const BUDGET_POLICY_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const MAX_DESCRIPTION_LENGTH = 1000;

/** The spec fields of this file, spread into EndpointSpec. */
export const settingsSpecFields = {
  aiGateway: AiGateway.optional(),
  permissions: Permissions.optional(),
  notifications: Notifications.optional(),
  telemetry: Telemetry.optional(),
  budgetPolicyId: withRules(z.string().max(64), [matches(BUDGET_POLICY_PATTERN, 'must be a budget policy ID: letters, digits, "-" and "_"')])
    .optional()
    .describe(
      'Budget policy for cost attribution (budget_policy_id). Databricks accepts it only when the endpoint is created, so it cannot be added, changed or removed later.',
    ),
  routeOptimized: z
    .boolean()
    .optional()
    .describe(
      'Route optimization of the endpoint (route_optimized): a route-optimized endpoint is queried at its own URL (status.endpointUrl). Databricks accepts it only when the endpoint is created (a model-unit endpoint with it is created through the generic create, which takes model units too, not the model-unit API, which has no such field), so it cannot be added, changed or removed later; Terraform re-creates an endpoint for a change, the operator never does.',
    ),
  description: z
    .string()
    .max(MAX_DESCRIPTION_LENGTH)
    .optional()
    .describe(
      'Description of the endpoint. Databricks accepts it only when the endpoint is created (a model-unit endpoint with one is created through the generic create, which takes model units too, not the model-unit API, which has no such field), so it cannot be added, changed or removed later.',
    ),
};

/** Spec-level rules for these fields (transition rules need the whole spec's oldSelf). */
export const settingsSpecRules = [
  {
    cel: 'has(self.budgetPolicyId) == has(oldSelf.budgetPolicyId) && (!has(self.budgetPolicyId) || self.budgetPolicyId == oldSelf.budgetPolicyId)',
    message: 'budgetPolicyId can only be set when the object is created: Databricks has no API to change the budget policy of an endpoint',
    transition: true,
  },
  {
    cel: 'has(self.description) == has(oldSelf.description) && (!has(self.description) || self.description == oldSelf.description)',
    message: 'description can only be set when the object is created: Databricks has no API to change the description of an endpoint',
    transition: true,
  },
  {
    cel: 'has(self.routeOptimized) == has(oldSelf.routeOptimized) && (!has(self.routeOptimized) || self.routeOptimized == oldSelf.routeOptimized)',
    message: 'routeOptimized can only be set when the object is created: Databricks has no API to change the route optimization of an endpoint (serve the spec from a new object with another spec.endpointName)',
    transition: true,
  },
];

// ---- status --------------------------------------------------------------------------------------

const SettingStatus = z
  .strictObject({
    applied: z.string().optional().describe('What Databricks has for this part, in short.'),
    inSync: z.boolean().optional().describe('Whether that matches the spec.'),
    attempts: z.int().optional().describe('Changes sent for this part since it was last in sync; the operator stops after 3 (NotConverging).'),
  })
  .describe('One part of the endpoint settings as last observed.');

export const SettingsStatus = z
  .strictObject({
    aiGateway: SettingStatus.optional().describe('The AI Gateway; present while the operator manages it (or, with managementPolicy Observe, compares it: a later Full does not count that as managing it).'),
    permissions: SettingStatus.optional().describe('The direct permissions; present while the operator manages them (or, with managementPolicy Observe, compares them: a later Full does not count that as managing them).'),
    notifications: SettingStatus.optional().describe('The e-mail notifications; present while the operator manages them (or, with managementPolicy Observe, compares them: a later Full does not count that as managing them).'),
    telemetry: SettingStatus.extend({
      sent: z
        .string()
        .optional()
        .describe('The telemetry config the operator last sent and Databricks took, in short: Databricks keeps the tables and features of a profile it makes to itself, so they are compared with this.'),
      profileId: z.string().optional().describe('The profile Databricks applied for what was sent (sent): another one shown later was applied outside Kubernetes.'),
    })
      .optional()
      .describe('The telemetry config; present while the operator manages it (or, with managementPolicy Observe, compares it: a later Full does not count that as managing it).'),
    creation: SettingStatus.optional().describe('Budget policy, description and route optimization, which Databricks sets only at create.'),
  })
  .describe('What is applied for each part of the endpoint settings. Each part also has its own condition (AiGatewaySynced, PermissionsSynced, NotificationsSynced, TelemetrySynced, CreationSettingsSynced).');
export type SettingsStatus = z.infer<typeof SettingsStatus>;
