// The AI Gateway part: spec.aiGateway ↔ the endpoint's ai_gateway. A PUT replaces the whole gateway,
// so the desired body is always complete. Compared in a normal form, the way Databricks echoes it: a
// PII behavior left out is NONE, usage tracking and fallback left out are off, a guardrail side with
// nothing on equals none, rate limits and keyword lists are sets (a limit with both calls and tokens is two
// limits, one cap each, as Databricks takes them), and a table name prefix left out is
// the endpoint name. A disabled inference table keeps its place (catalog, schema, prefix): it is compared
// when the spec declares one, and equals no table when the spec does not. An inference table about to be
// enabled somewhere new is refused while its Unity Catalog schema is known to be missing (the reconciler
// reads it first, inferenceTableTarget), so a typo never disables the table that logs now. A move disables
// the table where it is, then enables it at the new place. Pure.
import { type AiGateway, EndpointAnnotation, type RateLimit } from '../../api/v1alpha1/index.js';
import type { AiGatewayConfig, AiGatewayGuardrailParameters, AiGatewayRateLimit, ServingEndpointDetailed } from '../../databricks/api-types.js';
import { clause } from '../text.js';
import { type PartCondition, type PartContext, type PartPlan, type PartPlanner, PartReason, decidePart, sameList, sortedUnique } from './settings-part.js';

type Guardrail = NonNullable<NonNullable<AiGateway['guardrails']>['input']>;
type PiiBehavior = NonNullable<Guardrail['pii']>['behavior'];

/**
 * The request body for spec.aiGateway (undefined: everything off, which is the body `{}`). A prefix the
 * spec leaves out is sent as the endpoint name, Databricks' own default, so the echo is what was sent even
 * for a table that is disabled or moved.
 */
export function gatewayBody(spec: AiGateway | undefined, endpointName: string): AiGatewayConfig {
  if (!spec) return {};
  const body: AiGatewayConfig = {};
  if (spec.usageTracking) body.usage_tracking_config = { enabled: spec.usageTracking.enabled };
  if (spec.inferenceTables) {
    const t = spec.inferenceTables;
    body.inference_table_config = {
      enabled: t.enabled,
      catalog_name: t.catalogName,
      schema_name: t.schemaName,
      table_name_prefix: t.tableNamePrefix ?? endpointName,
    };
  }
  if (spec.guardrails && (spec.guardrails.input || spec.guardrails.output)) {
    body.guardrails = {
      ...(spec.guardrails.input && { input: guardrailBody(spec.guardrails.input) }),
      ...(spec.guardrails.output && { output: guardrailBody(spec.guardrails.output) }),
    };
  }
  if (spec.rateLimits && spec.rateLimits.length > 0) {
    const limits = spec.rateLimits.flatMap((r) =>
      oneCapEach({
        renewal_period: r.renewalPeriod,
        key: r.key,
        ...(r.calls !== undefined && { calls: r.calls }),
        ...(r.tokens !== undefined && { tokens: r.tokens }),
        ...(r.principal !== undefined && { principal: r.principal }),
      }),
    );
    // A set: a limit listed twice is one limit, sent once (a workspace may keep one, or refuse the repeat).
    body.rate_limits = [...new Map(limits.map((r) => [rateLimitKey(r), r])).values()];
  }
  if (spec.fallback) body.fallback_config = { enabled: spec.fallback.enabled };
  return body;
}

function guardrailBody(g: Guardrail): AiGatewayGuardrailParameters {
  return {
    ...(g.safety !== undefined && { safety: g.safety }),
    ...(g.pii && { pii: { behavior: g.pii.behavior } }),
    ...(g.validTopics && { valid_topics: g.validTopics }),
    ...(g.invalidKeywords && { invalid_keywords: g.invalidKeywords }),
  };
}

/**
 * The inverse of gatewayBody: the spec.aiGateway that describes an endpoint's gateway (for import), so that
 * gatewayBody of it is the same gateway in the normal form. Parts that are off are left out; a gateway with
 * nothing on gives undefined. A disabled inference table keeps its catalog and schema: a later PUT of the whole
 * gateway would drop them otherwise. Values the spec cannot hold (an unknown rate-limit key) are copied as they
 * are, for the CRD's schema to refuse.
 */
export function gatewaySpec(config: AiGatewayConfig | undefined, endpointName: string): AiGateway | undefined {
  // Desired "nothing", observed config: a disabled table alone counts as nothing on.
  if (!config || diffGateway(normalGateway(undefined, endpointName), normalGateway(config, endpointName)).length === 0) return undefined;
  const spec: AiGateway = {};
  if (config.usage_tracking_config?.enabled === true) spec.usageTracking = { enabled: true };
  const t = config.inference_table_config;
  if (t && (t.enabled === true || (t.catalog_name && t.schema_name))) {
    spec.inferenceTables = {
      enabled: t.enabled === true,
      catalogName: t.catalog_name ?? '',
      schemaName: t.schema_name ?? '',
      ...(t.table_name_prefix !== undefined && { tableNamePrefix: t.table_name_prefix }),
    };
  }
  const on = normalGuardrails(config);
  if (on.input || on.output) {
    spec.guardrails = {
      ...(on.input && config.guardrails?.input && { input: guardrailSpec(config.guardrails.input) }),
      ...(on.output && config.guardrails?.output && { output: guardrailSpec(config.guardrails.output) }),
    };
  }
  if (config.rate_limits && config.rate_limits.length > 0) {
    spec.rateLimits = config.rate_limits.map((r) => ({
      ...(r.calls !== undefined && { calls: r.calls }),
      ...(r.tokens !== undefined && { tokens: r.tokens }),
      renewalPeriod: r.renewal_period as RateLimit['renewalPeriod'],
      key: (r.key ?? 'endpoint') as RateLimit['key'],
      ...(r.principal !== undefined && { principal: r.principal }),
    }));
  }
  if (config.fallback_config?.enabled === true) spec.fallback = { enabled: true };
  return spec;
}

function guardrailSpec(g: AiGatewayGuardrailParameters): Guardrail {
  return {
    ...(g.safety === true && { safety: true }),
    ...(g.pii?.behavior !== undefined && g.pii.behavior !== 'NONE' && { pii: { behavior: g.pii.behavior as PiiBehavior } }),
    ...(g.valid_topics && g.valid_topics.length > 0 && { validTopics: g.valid_topics }),
    ...(g.invalid_keywords && g.invalid_keywords.length > 0 && { invalidKeywords: g.invalid_keywords }),
  };
}

/** The normal form both sides are compared in. */
interface NormalGateway {
  usageTracking: boolean;
  /** undefined: no table, or a disabled one without a place */
  table?: NormalTable;
  input?: NormalGuardrail;
  output?: NormalGuardrail;
  rateLimits: string[];
  fallback: boolean;
}

interface NormalTable {
  enabled: boolean;
  catalog: string;
  schema: string;
  /** the endpoint name when left out */
  prefix: string;
}

interface NormalGuardrail {
  safety: boolean;
  pii: string;
  validTopics: string[];
  invalidKeywords: string[];
}

export function normalGateway(config: AiGatewayConfig | undefined, endpointName: string): NormalGateway {
  const table = normalTable(config?.inference_table_config, endpointName);
  return {
    usageTracking: config?.usage_tracking_config?.enabled === true,
    ...(table && { table }),
    ...normalGuardrails(config),
    rateLimits: sortedUnique((config?.rate_limits ?? []).flatMap(oneCapEach).map(rateLimitKey)),
    fallback: config?.fallback_config?.enabled === true,
  };
}

function normalTable(table: AiGatewayConfig['inference_table_config'], endpointName: string): NormalTable | undefined {
  const enabled = table?.enabled === true;
  if (!table || (!enabled && !(table.catalog_name && table.schema_name))) return undefined;
  return { enabled, catalog: table.catalog_name ?? '', schema: table.schema_name ?? '', prefix: table.table_name_prefix ?? endpointName };
}

function normalGuardrails(config: AiGatewayConfig | undefined): Pick<NormalGateway, 'input' | 'output'> {
  const out: Pick<NormalGateway, 'input' | 'output'> = {};
  for (const side of ['input', 'output'] as const) {
    const g = config?.guardrails?.[side];
    if (!g) continue;
    const normal = { safety: g.safety === true, pii: g.pii?.behavior ?? 'NONE', validTopics: sortedUnique(g.valid_topics), invalidKeywords: sortedUnique(g.invalid_keywords) };
    const anythingOn = normal.safety || normal.pii !== 'NONE' || normal.validTopics.length > 0 || normal.invalidKeywords.length > 0;
    if (anythingOn) out[side] = normal;
  }
  return out;
}

/**
 * Databricks takes one of calls or tokens per rate limit (docs/emulator.md): a limit with both is two limits with the
 * same key and principal, one cap each. Both caps apply either way, so they are sent and compared so.
 */
function oneCapEach(r: AiGatewayRateLimit): AiGatewayRateLimit[] {
  if (r.calls === undefined || r.tokens === undefined) return [r];
  const { calls, tokens, ...rest } = r;
  return [{ ...rest, calls }, { ...rest, tokens }];
}

const rateLimitKey = (r: AiGatewayRateLimit): string =>
  [r.key ?? 'endpoint', r.principal ?? '*', `${r.calls ?? '-'} calls`, `${r.tokens ?? '-'} tokens`, `per ${r.renewal_period}`].join(' ');

const onOff = (on: boolean) => (on ? 'on' : 'off');
const describePlace = (t: NormalTable) => `${t.catalog}.${t.schema}.${t.prefix}*`;
const describeTable = (t: NormalTable | undefined) => {
  if (!t) return 'off';
  return t.enabled ? describePlace(t) : `disabled (${describePlace(t)})`;
};
const describeGuardrail = (g: NormalGuardrail | undefined) =>
  g
    ? [g.safety && 'safety', g.pii !== 'NONE' && `pii ${g.pii}`, g.validTopics.length > 0 && `${g.validTopics.length} valid topics`, g.invalidKeywords.length > 0 && `${g.invalidKeywords.length} invalid keywords`]
        .filter(Boolean)
        .join('+')
    : 'off';

/** One short line of what the gateway does, for status.settings.aiGateway.applied. */
export function describeGateway(g: NormalGateway): string {
  return [
    `usage tracking ${onOff(g.usageTracking)}`,
    `inference tables ${describeTable(g.table)}`,
    `input guardrails ${describeGuardrail(g.input)}`,
    `output guardrails ${describeGuardrail(g.output)}`,
    `${g.rateLimits.length} rate limit(s)`,
    `fallback ${onOff(g.fallback)}`,
  ].join('; ');
}

/** Differences as phrases ("usage tracking off → on"). */
export function diffGateway(desired: NormalGateway, observed: NormalGateway): string[] {
  const diffs: string[] = [];
  if (desired.usageTracking !== observed.usageTracking) diffs.push(`usage tracking ${onOff(observed.usageTracking)} → ${onOff(desired.usageTracking)}`);
  if (!sameTable(desired.table, observed.table)) diffs.push(`inference tables ${describeTable(observed.table)} → ${describeTable(desired.table)}`);
  for (const side of ['input', 'output'] as const) {
    if (describeGuardrailExactly(desired[side]) !== describeGuardrailExactly(observed[side])) {
      diffs.push(`${side} guardrails ${describeGuardrail(observed[side])} → ${describeGuardrail(desired[side])}`);
    }
  }
  if (!sameList(desired.rateLimits, observed.rateLimits)) diffs.push(`rate limits [${observed.rateLimits.join(', ')}] → [${desired.rateLimits.join(', ')}]`);
  if (desired.fallback !== observed.fallback) diffs.push(`fallback ${onOff(observed.fallback)} → ${onOff(desired.fallback)}`);
  return diffs;
}

const describeGuardrailExactly = (g: NormalGuardrail | undefined) => JSON.stringify(g ?? null);

/** No table wanted equals a disabled one: the PUT would only forget where it was. */
function sameTable(desired: NormalTable | undefined, observed: NormalTable | undefined): boolean {
  if (!desired) return !observed?.enabled;
  if (!observed) return false;
  return desired.enabled === observed.enabled && samePlace(desired, observed);
}

const samePlace = (a: NormalTable, b: NormalTable) => a.catalog === b.catalog && a.schema === b.schema && a.prefix === b.prefix;

/**
 * Databricks refuses to move an enabled inference table to another catalog, schema or prefix
 * ("disable inference table first"): then the first step sends the desired gateway with the
 * table disabled where it is, and the next reconcile enables it at the new place.
 */
function needsDisableFirst(desired: NormalGateway, observed: NormalGateway): boolean {
  return desired.table?.enabled === true && observed.table?.enabled === true && !samePlace(desired.table, observed.table);
}

/**
 * The Unity Catalog schema ("catalog.schema") to read before this reconcile's gateway PUT: the one an inference
 * table is to be enabled in when it is not enabled there now (a move, whose first step disables the working table,
 * or a new table). undefined: nothing to check.
 */
export function inferenceTableTarget(spec: AiGateway | undefined, endpoint: ServingEndpointDetailed): string | undefined {
  const desired = normalGateway(gatewayBody(spec, endpoint.name), endpoint.name).table;
  const observed = normalGateway(endpoint.ai_gateway, endpoint.name).table;
  if (!desired?.enabled || !desired.catalog || !desired.schema) return undefined;
  // Logging there now: the schema exists (a prefix-only move stays in it).
  if (observed?.enabled && observed.catalog === desired.catalog && observed.schema === desired.schema) return undefined;
  return `${desired.catalog}.${desired.schema}`;
}

/**
 * Rejected before anything is sent: the schema the table would be enabled in is known to be missing. A table
 * that is disabled already (a move cut short after its disable step, or switched off out of band) is not
 * logging: the message says so and where it is, rather than promise logging goes on.
 */
function missingTarget(context: PartContext, observed: NormalTable | undefined): PartCondition | undefined {
  const check = context.inferenceTableSchema;
  const target = inferenceTableTarget(context.spec.aiGateway, context.endpoint);
  if (!check || check.exists || check.fullName !== target) return undefined;
  const left =
    observed && !observed.enabled
      ? `Nothing was sent, and inference logging is off: the table at ${describePlace(observed)} is disabled; set spec.aiGateway.inferenceTables to that place to log there again`
      : 'Nothing was sent: the inference table is left as it is';
  return {
    status: false,
    reason: PartReason.Rejected,
    message:
      `spec.aiGateway.inferenceTables names schema ${target}, which does not exist in Unity Catalog (${clause(check.message ?? 'not found')}): ` +
      `correct spec.aiGateway.inferenceTables, or create the catalog and schema and set annotation ${EndpointAnnotation.requestedAt} to a new value. ${left}`,
  };
}

export const aiGatewayPart: PartPlanner = {
  key: 'aiGateway',
  conditionType: 'AiGatewaySynced',
  plan(context: PartContext): PartPlan {
    const wanted = context.spec.aiGateway !== undefined;
    const name = context.endpoint.name;
    const desiredBody = gatewayBody(context.spec.aiGateway, name);
    const desired = normalGateway(desiredBody, name);
    const observed = normalGateway(context.endpoint.ai_gateway, name);
    const diffs = diffGateway(desired, observed);
    let body = desiredBody;
    // (How a move would be sent: nothing of an observed endpoint is, so its differences do not mention it.)
    if (observed.table && needsDisableFirst(desired, observed) && !context.observeOnly) {
      // Disabled in place: sending the new place would make Databricks forget where the table logged, and a
      // crash or a spec change before the enable step would leave logging off with nowhere known to return to.
      const { catalog, schema, prefix } = observed.table;
      body = { ...desiredBody, inference_table_config: { enabled: false, catalog_name: catalog, schema_name: schema, table_name_prefix: prefix } };
      diffs.push('(the inference table is disabled where it is for one step first, as Databricks requires to move it)');
    }
    const blocked = missingTarget(context, observed.table);
    return decidePart({
      context,
      key: 'aiGateway',
      wanted,
      what: 'the AI Gateway',
      applied: describeGateway(observed),
      diffs,
      action: { type: 'putAiGateway', name, body },
      ...(blocked && { blocked }),
    });
  },
};
