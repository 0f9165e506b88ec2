// The AI Gateway part planner as tables: what counts as a difference (nothing Databricks fills in or
// reorders), what one PUT sends, removal, the two-step move of an enabled inference table, and the check of
// the table's target schema that keeps a typo from turning working logging off.
import { describe, expect, it } from 'vitest';
import { AiGateway } from '../../../../src/api/v1alpha1/index.js';
import { diffGateway, gatewayBody, gatewaySpec, inferenceTableTarget, normalGateway } from '../../../../src/controllers/endpoint/ai-gateway.js';
import type { SchemaCheck } from '../../../../src/controllers/endpoint/settings.js';
import type { AiGatewayConfig } from '../../../../src/databricks/api-types.js';
import { applyAiGateway } from '../../../../src/emulator/settings.js';
import { conditionOf, endpointWith, plan, reasons, settledWith } from './settings-fixtures.js';

const everySchema = () => 'ok' as const;
const ENDPOINT = 'llama-chat';
/** What GET shows after a PUT of `body`, as the emulator (and so the real service) fills it in. */
const echoed = (body: AiGatewayConfig) => applyAiGateway(ENDPOINT, undefined, body, everySchema);
const spec = (input: unknown) => AiGateway.parse(input);

describe('AI Gateway: no perpetual diff against what Databricks echoes', () => {
  it.each([
    ['usage tracking on', { usageTracking: { enabled: true } }],
    ['usage tracking off, left out', { fallback: { enabled: true } }],
    ['a guardrail without pii (echoed as NONE)', { guardrails: { input: { safety: true } } }],
    ['a guardrail with only pii NONE (equal to none)', { guardrails: { output: { pii: { behavior: 'NONE' } } } }],
    ['an inference table without prefix (echoed with the endpoint name)', { inferenceTables: { catalogName: 'main', schemaName: 'default' } }],
    ['rate limits with defaults (key endpoint, per minute)', { rateLimits: [{ calls: 100 }, { key: 'user', principal: 'a@b.com', calls: 5, tokens: 1000 }] }],
    ['keywords and topics', { guardrails: { input: { invalidKeywords: ['b', 'a'], validTopics: ['x'] } } }],
    ['everything', {
      usageTracking: { enabled: true },
      inferenceTables: { catalogName: 'main', schemaName: 'default', tableNamePrefix: 'llama' },
      guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' } }, output: { pii: { behavior: 'MASK' } } },
      rateLimits: [{ calls: 10, key: 'user_group', principal: 'ml-eng' }],
      fallback: { enabled: false },
    }],
  ])('%s', (_, input) => {
    const body = gatewayBody(spec(input), ENDPOINT);
    expect(diffGateway(normalGateway(body, ENDPOINT), normalGateway(echoed(body), ENDPOINT))).toEqual([]);
  });

  // Rate limits are a set (docs/concepts.md), as keywords are: the same limit listed twice in the spec was sent twice
  // and compared as a list, so a workspace that keeps one (or refuses the repeat) met a PUT at every look until
  // NotConverging (or a Rejected part) for a spec that means one limit.
  it('a rate limit listed twice is one limit: sent once, and the same gateway as the limit once', () => {
    const once = spec({ rateLimits: [{ key: 'user', principal: 'a@b.com', calls: 5 }] });
    const twice = spec({ rateLimits: [{ key: 'user', principal: 'a@b.com', calls: 5 }, { key: 'user', principal: 'a@b.com', calls: 5 }] });
    expect(gatewayBody(twice, ENDPOINT).rate_limits).toEqual(gatewayBody(once, ENDPOINT).rate_limits);
    const body = gatewayBody(once, ENDPOINT);
    const listedTwice: AiGatewayConfig = { ...body, rate_limits: [...(body.rate_limits ?? []), ...(body.rate_limits ?? [])] };
    expect(diffGateway(normalGateway(listedTwice, ENDPOINT), normalGateway(echoed(body), ENDPOINT))).toEqual([]);
  });

  // Databricks takes one of calls or tokens per limit (docs/emulator.md): a spec limit with both was sent as one
  // limit, which a workspace refuses, so the gateway never applied (Rejected). Sent as two limits, one each, with the
  // same key and principal, it means what the spec says: both caps apply.
  it('a rate limit with both calls and tokens is sent as two limits, one each, and the echo is the same gateway', () => {
    const both = spec({ rateLimits: [{ key: 'user', principal: 'a@b.com', calls: 5, tokens: 1000 }] });
    const body = gatewayBody(both, ENDPOINT);
    expect(body.rate_limits).toEqual([
      { renewal_period: 'minute', key: 'user', principal: 'a@b.com', calls: 5 },
      { renewal_period: 'minute', key: 'user', principal: 'a@b.com', tokens: 1000 },
    ]);
    expect(diffGateway(normalGateway(body, ENDPOINT), normalGateway(echoed(body), ENDPOINT))).toEqual([]);
  });

  // A cap of 0 blocks the key's requests (Databricks' knowledge base, "disable or restrict access to the Foundation
  // Model APIs"); Terraform drops a 0 and so sets no limit at all (terraform-provider-databricks #5362). Sent as 0.
  it('a cap of 0 is sent as 0, not left out', () => {
    const body = gatewayBody(spec({ rateLimits: [{ calls: 0 }, { tokens: 0, key: 'user' }] }), ENDPOINT);
    expect(body.rate_limits).toEqual([
      { renewal_period: 'minute', key: 'endpoint', calls: 0 },
      { renewal_period: 'minute', key: 'user', tokens: 0 },
    ]);
  });

  it('reordered rate limits and keywords are the same gateway', () => {
    const a = gatewayBody(spec({ rateLimits: [{ calls: 1 }, { calls: 2, key: 'user' }], guardrails: { input: { invalidKeywords: ['x', 'y'] } } }), ENDPOINT);
    const b = gatewayBody(spec({ rateLimits: [{ calls: 2, key: 'user' }, { calls: 1 }], guardrails: { input: { invalidKeywords: ['y', 'x'] } } }), ENDPOINT);
    expect(diffGateway(normalGateway(a, ENDPOINT), normalGateway(b, ENDPOINT))).toEqual([]);
  });
});

describe('AI Gateway read back into a spec (import): applying it changes nothing', () => {
  const table = { catalog_name: 'main', schema_name: 'serving' };
  it.each<[string, AiGatewayConfig]>([
    ['usage tracking', { usage_tracking_config: { enabled: true } }],
    ['an inference table with a prefix', { inference_table_config: { ...table, enabled: true, table_name_prefix: 'chat' } }],
    ['an inference table without a prefix', { inference_table_config: { ...table, enabled: true } }],
    ['a disabled inference table beside usage tracking', { usage_tracking_config: { enabled: true }, inference_table_config: { ...table, enabled: false, table_name_prefix: 'chat' } }],
    ['input guardrails: safety, pii, topics, keywords', { guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' }, valid_topics: ['billing'], invalid_keywords: ['password', 'ssn'] } } }],
    ['output guardrails: pii MASK; input with nothing on', { guardrails: { input: { safety: false, pii: { behavior: 'NONE' } }, output: { pii: { behavior: 'MASK' } } } }],
    ['rate limits of every key, by calls and by tokens', {
      rate_limits: [
        { renewal_period: 'minute', key: 'endpoint', calls: 1000 },
        { renewal_period: 'minute', key: 'user', tokens: 50_000 },
        { renewal_period: 'minute', key: 'user', principal: 'alice@example.com', calls: 5, tokens: 1000 },
        { renewal_period: 'minute', key: 'user_group', principal: 'ml-eng', calls: 100 },
        { renewal_period: 'minute', key: 'service_principal', principal: '6f1c2d7e-93a4-4b1e-8c55-0d6b2b7f1a10', tokens: 9 },
        { renewal_period: 'minute', calls: 7 },
      ],
    }],
    ['fallback', { fallback_config: { enabled: true } }],
    ['everything, as Databricks echoes a PUT', echoed({
      usage_tracking_config: { enabled: true },
      inference_table_config: { ...table, enabled: true },
      guardrails: { input: { safety: true }, output: { pii: { behavior: 'MASK' } } },
      rate_limits: [{ renewal_period: 'minute', key: 'user_group', principal: 'ml-eng', calls: 10 }],
      fallback_config: { enabled: true },
    }) ?? {}],
  ])('%s', (_, observed) => {
    const imported = gatewaySpec(observed, ENDPOINT);
    expect(imported).toBeDefined();
    // What the CRD admits (defaults applied) is what the operator plans with.
    const admitted = AiGateway.safeParse(imported);
    expect(admitted.success, JSON.stringify(admitted.error?.issues)).toBe(true);
    expect(diffGateway(normalGateway(gatewayBody(admitted.data, ENDPOINT), ENDPOINT), normalGateway(observed, ENDPOINT))).toEqual([]);
  });

  it('a disabled inference table keeps its place, so a later PUT does not drop it', () => {
    const spec = gatewaySpec({ usage_tracking_config: { enabled: true }, inference_table_config: { ...table, enabled: false } }, ENDPOINT);
    expect(spec?.inferenceTables).toEqual({ enabled: false, catalogName: 'main', schemaName: 'serving' });
  });

  it.each<[string, AiGatewayConfig | undefined]>([
    ['no gateway', undefined],
    ['an empty gateway', {}],
    ['every part off', {
      usage_tracking_config: { enabled: false },
      inference_table_config: { ...table, enabled: false },
      guardrails: { input: { safety: false, pii: { behavior: 'NONE' } }, output: {} },
      rate_limits: [],
      fallback_config: { enabled: false },
    }],
  ])('%s gives no spec.aiGateway', (_, observed) => {
    expect(gatewaySpec(observed, ENDPOINT)).toBeUndefined();
  });
});

describe('AI Gateway: differences the user controls', () => {
  it.each([
    ['calls of a rate limit', { rateLimits: [{ calls: 10 }] }, { rateLimits: [{ calls: 20 }] }, /rate limits/],
    ['pii behavior', { guardrails: { input: { pii: { behavior: 'BLOCK' } } } }, { guardrails: { input: { pii: { behavior: 'MASK' } } } }, /input guardrails pii BLOCK → pii MASK/],
    ['usage tracking', {}, { usageTracking: { enabled: true } }, /usage tracking off → on/],
    ['inference table catalog', { inferenceTables: { catalogName: 'main', schemaName: 'default' } }, { inferenceTables: { catalogName: 'ml', schemaName: 'serving' } }, /inference tables main\.default/],
    ['fallback', { fallback: { enabled: true } }, {}, /fallback on → off/],
  ])('%s', (_, observedSpec, desiredSpec, phrase) => {
    const diffs = diffGateway(normalGateway(gatewayBody(spec(desiredSpec), ENDPOINT), ENDPOINT), normalGateway(echoed(gatewayBody(spec(observedSpec), ENDPOINT)), ENDPOINT));
    expect(diffs.join('; ')).toMatch(phrase);
  });
});

describe('AI Gateway part in a reconcile', () => {
  const gateway = { usageTracking: { enabled: true }, rateLimits: [{ calls: 100 }] };

  it('an endpoint without the gateway gets one PUT of the whole gateway; the condition says it is being applied', () => {
    const object = settledWith({}, endpointWith({}));
    const p = plan({ ...object, spec: { ...object.spec, aiGateway: spec(gateway) }, generation: 2 }, { endpoint: endpointWith({}) });
    expect(p.action).toEqual({ type: 'putAiGateway', name: 'llama-chat', body: gatewayBody(spec(gateway), ENDPOINT) });
    expect(conditionOf(p, 'AiGatewaySynced')).toMatchObject({ status: 'False', reason: 'Applying' });
    expect(conditionOf(p, 'Ready')?.status).toBe('True');
  });

  it('once Databricks echoes it, the part is Applied and nothing is sent', () => {
    const endpoint = endpointWith({ ai_gateway: echoed(gatewayBody(spec(gateway), ENDPOINT)) });
    const object = settledWith({ aiGateway: spec(gateway) }, endpoint);
    const p = plan(object, { endpoint });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'AiGatewaySynced')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(p.status.settings?.aiGateway).toEqual({ inSync: true, applied: expect.stringContaining('usage tracking on') });
    expect(reasons(p)).toEqual([]);
  });

  it('a gateway changed out of band is restored with a DriftDetected Warning', () => {
    const endpoint = endpointWith({ ai_gateway: echoed(gatewayBody(spec(gateway), ENDPOINT)) });
    const object = settledWith({ aiGateway: spec(gateway) }, endpoint);
    const drifted = endpointWith({ ai_gateway: echoed(gatewayBody(spec({ ...gateway, rateLimits: [{ calls: 1 }] }), ENDPOINT)) });
    const p = plan(object, { endpoint: drifted });
    expect(p.action.type).toBe('putAiGateway');
    expect(reasons(p)).toContain('Warning DriftDetected');
  });

  it('removing aiGateway from the spec turns everything off with PUT {}, then forgets the part', () => {
    const endpoint = endpointWith({ ai_gateway: echoed(gatewayBody(spec(gateway), ENDPOINT)) });
    const managed = settledWith({ aiGateway: spec(gateway) }, endpoint);
    const removed = { ...managed, spec: { ...managed.spec, aiGateway: undefined }, generation: 2 };
    const first = plan(removed, { endpoint });
    expect(first.action).toEqual({ type: 'putAiGateway', name: 'llama-chat', body: {} });
    const second = plan({ ...removed, status: first.status }, { endpoint: endpointWith({}) });
    expect(second.action.type).toBe('none');
    expect(second.status.settings?.aiGateway).toBeUndefined();
    expect(conditionOf(second, 'AiGatewaySynced')).toBeUndefined();
  });

  it('moving an enabled inference table disables it where it is for one step first, as Databricks requires', () => {
    const before = { inferenceTables: { catalogName: 'main', schemaName: 'default' } };
    const after = { inferenceTables: { catalogName: 'ml', schemaName: 'serving' } };
    const endpoint = endpointWith({ ai_gateway: echoed(gatewayBody(spec(before), ENDPOINT)) });
    const object = settledWith({ aiGateway: before }, endpoint);
    const p = plan({ ...object, spec: { ...object.spec, aiGateway: spec(after) }, generation: 2 }, { endpoint });
    expect(p.action).toMatchObject({ type: 'putAiGateway', body: { inference_table_config: { enabled: false, catalog_name: 'main', schema_name: 'default' } } });
    // Databricks accepts that step, and the next reconcile enables the table at its new place.
    const disabled = applyAiGateway('llama-chat', endpoint.ai_gateway, (p.action as { body: AiGatewayConfig }).body, everySchema);
    const next = plan({ ...object, spec: { ...object.spec, aiGateway: spec(after) }, generation: 2, status: p.status }, { endpoint: endpointWith({ ai_gateway: disabled }) });
    expect(next.action).toMatchObject({ type: 'putAiGateway', body: { inference_table_config: { enabled: true, catalog_name: 'ml' } } });
  });

  it('an endpoint whose gateway the spec never set is left alone', () => {
    const endpoint = endpointWith({ ai_gateway: echoed(gatewayBody(spec(gateway), ENDPOINT)) });
    const p = plan(settledWith({}, endpoint), { endpoint });
    expect(p.action.type).toBe('none');
    expect(p.status.settings).toBeUndefined();
    expect(conditionOf(p, 'AiGatewaySynced')).toBeUndefined();
  });
});

describe('AI Gateway: the inference table prefix and a disabled table are sent like every other field', () => {
  const table = (fields: Partial<NonNullable<AiGatewayConfig['inference_table_config']>>): AiGatewayConfig => ({
    usage_tracking_config: { enabled: false },
    inference_table_config: { catalog_name: 'main', schema_name: 'default', enabled: true, ...fields },
  });
  /** The next step of a spec against the endpoint's gateway as Databricks reports it. */
  const step = (gateway: unknown, observed: AiGatewayConfig) => {
    const endpoint = endpointWith({ ai_gateway: observed });
    const object = settledWith({ aiGateway: spec(gateway) }, endpoint);
    return plan(object, { endpoint });
  };
  const sent = (p: ReturnType<typeof plan>) => (p.action.type === 'putAiGateway' ? p.action.body.inference_table_config : undefined);

  it.each<[string, unknown, AiGatewayConfig, Record<string, unknown> | undefined]>([
    // [case, spec.aiGateway, what Databricks reports, the inference_table_config sent (undefined: nothing sent)]
    ['a prefix the spec leaves out, reported as the endpoint name: in sync',
      { inferenceTables: { catalogName: 'main', schemaName: 'default' } }, table({ table_name_prefix: 'llama-chat' }), undefined],
    ['a prefix removed from the spec: the table moves to the endpoint name (disabled where it is first)',
      { inferenceTables: { catalogName: 'main', schemaName: 'default' } }, table({ table_name_prefix: 'custom' }),
      { enabled: false, catalog_name: 'main', schema_name: 'default', table_name_prefix: 'custom' }],
    ['a disabled table, reported as declared: in sync',
      { inferenceTables: { enabled: false, catalogName: 'main', schemaName: 'default' } }, table({ enabled: false }), undefined],
    ['a disabled table moved to another catalog, schema and prefix: one PUT, still disabled',
      { inferenceTables: { enabled: false, catalogName: 'ml', schemaName: 'serving', tableNamePrefix: 'newpfx' } }, table({ enabled: false }),
      { enabled: false, catalog_name: 'ml', schema_name: 'serving', table_name_prefix: 'newpfx' }],
    ['a disabled table the spec declares, not in Databricks: its place is recorded',
      { usageTracking: { enabled: false }, inferenceTables: { enabled: false, catalogName: 'main', schemaName: 'default' } }, { usage_tracking_config: { enabled: false } },
      { enabled: false, catalog_name: 'main', schema_name: 'default', table_name_prefix: 'llama-chat' }],
    ['a disabled table in Databricks the spec does not declare: off either way, nothing sent',
      { usageTracking: { enabled: false } }, table({ enabled: false, table_name_prefix: 'old' }), undefined],
  ])('%s', (_, gateway, observed, expected) => {
    const p = step(gateway, observed);
    expect(sent(p)).toEqual(expected);
    if (expected === undefined) {
      expect(p.action.type).toBe('none');
      expect(conditionOf(p, 'AiGatewaySynced')).toMatchObject({ status: 'True', reason: 'Applied' });
    }
  });

  it('removing the prefix: Databricks accepts the disable step, the next reconcile enables the table at the endpoint name', () => {
    const gateway = { inferenceTables: { catalogName: 'main', schemaName: 'default' } };
    const before = table({ table_name_prefix: 'custom' });
    const first = step(gateway, before);
    expect(conditionOf(first, 'AiGatewaySynced')?.message).toMatch(/inference tables main\.default\.custom\* → main\.default\.llama-chat\*/);
    const disabled = applyAiGateway('llama-chat', before, (first.action as { body: AiGatewayConfig }).body, everySchema);
    const second = step(gateway, disabled ?? {});
    expect(sent(second)).toEqual({ enabled: true, catalog_name: 'main', schema_name: 'default', table_name_prefix: 'llama-chat' });
    const enabled = applyAiGateway('llama-chat', disabled, (second.action as { body: AiGatewayConfig }).body, everySchema);
    expect(step(gateway, enabled ?? {}).action.type).toBe('none');
  });

  it('a prefix changed out of band while the spec leaves it out is drift, corrected with a Warning', () => {
    const gateway = { inferenceTables: { catalogName: 'main', schemaName: 'default' } };
    const endpoint = endpointWith({ ai_gateway: table({ table_name_prefix: 'llama-chat' }) });
    const object = settledWith({ aiGateway: spec(gateway) }, endpoint);
    const p = plan(object, { endpoint: endpointWith({ ai_gateway: table({ table_name_prefix: 'sneaky' }) }) });
    expect(sent(p)).toMatchObject({ enabled: false, table_name_prefix: 'sneaky' });
    expect(reasons(p)).toContain('Warning DriftDetected');
  });
});

describe('AI Gateway: the inference table target is checked before anything is sent', () => {
  const table = (catalogName: string, schemaName: string, more: Record<string, unknown> = {}) => ({ usageTracking: { enabled: true }, inferenceTables: { catalogName, schemaName, ...more } });
  const logging = echoed(gatewayBody(spec(table('main', 'default')), ENDPOINT));

  it.each<[string, unknown, AiGatewayConfig | undefined, string | undefined]>([
    // [case, spec.aiGateway, what Databricks reports, the schema to read first (undefined: no read)]
    ['a move to another catalog', table('nosuchcatalog', 'default'), logging, 'nosuchcatalog.default'],
    ['a move to another schema', table('main', 'typo'), logging, 'main.typo'],
    ['a table enabled where there was none', table('ml', 'serving'), undefined, 'ml.serving'],
    ['a disabled table enabled again at its place', table('main', 'default'), echoed({ ...gatewayBody(spec(table('main', 'default')), ENDPOINT), inference_table_config: { catalog_name: 'main', schema_name: 'default', enabled: false } }), 'main.default'],
    ['in sync: nothing to check', table('main', 'default'), logging, undefined],
    ['only the prefix moves: the schema is the one logged to now', table('main', 'default', { tableNamePrefix: 'other' }), logging, undefined],
    ['a disabled table moved: nothing is enabled', table('nosuchcatalog', 'default', { enabled: false }), logging, undefined],
    ['no inference table wanted', { usageTracking: { enabled: true } }, logging, undefined],
    ['no gateway in the spec', undefined, logging, undefined],
  ])('%s', (_, gateway, observed, expected) => {
    const target = inferenceTableTarget(gateway === undefined ? undefined : spec(gateway), endpointWith(observed ? { ai_gateway: observed } : {}));
    expect(target).toBe(expected);
  });

  /** The next step after the spec's inference table was changed to `after`, with the reconciler's schema read. */
  const edited = (after: unknown, check?: SchemaCheck | undefined, observed: AiGatewayConfig | undefined = logging) => {
    const endpoint = endpointWith({ ai_gateway: observed });
    const object = settledWith({ aiGateway: spec(table('main', 'default')) }, endpoint);
    return plan({ ...object, spec: { ...object.spec, aiGateway: spec(after) }, generation: 2 }, { endpoint, ...(check && { inferenceTableSchema: check }) });
  };

  it.each<[string, unknown, SchemaCheck, AiGatewayConfig | undefined, RegExp]>([
    ['a typo in the catalog of a working table', table('nosuchcatalog', 'default'), { fullName: 'nosuchcatalog.default', exists: false, message: "Catalog 'nosuchcatalog' does not exist." }, logging,
      /schema nosuchcatalog\.default, which does not exist.*Catalog 'nosuchcatalog' does not exist.*correct spec\.aiGateway\.inferenceTables, or create the catalog and schema.*Nothing was sent/],
    ['a typo in the schema of a working table', table('main', 'typo'), { fullName: 'main.typo', exists: false, message: "Schema 'main.typo' does not exist." }, logging, /main\.typo/],
    ['a new table in a missing schema', table('ml', 'nope'), { fullName: 'ml.nope', exists: false, message: "Schema 'ml.nope' does not exist." }, undefined, /ml\.nope/],
  ])('%s: Rejected, nothing sent, logging left as it is', (_, after, check, observed, message) => {
    const p = edited(after, check, observed);
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'AiGatewaySynced')).toMatchObject({ status: 'False', reason: 'Rejected', message: expect.stringMatching(message) });
    expect(reasons(p)).toContain('Warning AiGatewayRejected');
    expect(p.status.settings?.aiGateway?.inSync).toBe(false);
  });

  it('the rejection stands on the next reconcile without a new read; fixing the typo is Applied with no table move', () => {
    const endpoint = endpointWith({ ai_gateway: logging });
    const object = settledWith({ aiGateway: spec(table('main', 'default')) }, endpoint);
    const typo = { ...object, spec: { ...object.spec, aiGateway: spec(table('nosuchcatalog', 'default')) }, generation: 2 };
    const rejected = plan(typo, { endpoint, inferenceTableSchema: { fullName: 'nosuchcatalog.default', exists: false, message: 'no' } });
    const again = plan({ ...typo, status: rejected.status }, { endpoint });
    expect(again.action.type).toBe('none');
    expect(conditionOf(again, 'AiGatewaySynced')).toMatchObject({ reason: 'Rejected' });
    const fixed = plan({ ...typo, spec: object.spec, generation: 3, status: again.status }, { endpoint });
    expect(fixed.action.type).toBe('none');
    expect(conditionOf(fixed, 'AiGatewaySynced')).toMatchObject({ status: 'True', reason: 'Applied' });
  });

  it('a move cut short (the disable step landed, then the spec got a typo): the old place is kept and the rejection says logging is off', () => {
    const first = edited(table('ml', 'serving'), { fullName: 'ml.serving', exists: true });
    // The disable step switches the table off where it logs: Databricks keeps main.default, the place to return to.
    const disabled = applyAiGateway(ENDPOINT, logging, (first.action as { body: AiGatewayConfig }).body, everySchema);
    expect(disabled?.inference_table_config).toEqual({ enabled: false, catalog_name: 'main', schema_name: 'default', table_name_prefix: ENDPOINT });
    const typo = edited(table('ml', 'servng'), { fullName: 'ml.servng', exists: false, message: "Schema 'ml.servng' does not exist." }, disabled);
    expect(typo.action.type).toBe('none');
    const condition = conditionOf(typo, 'AiGatewaySynced');
    expect(condition).toMatchObject({ status: 'False', reason: 'Rejected', message: expect.stringMatching(/inference logging is off: the table at main\.default\.llama-chat\* is disabled/) });
    expect(condition?.message).not.toMatch(/left as it is/);
  });

  it.each<[string, SchemaCheck | undefined]>([
    ['the schema exists', { fullName: 'ml.serving', exists: true }],
    ['the schema could not be read (403, 5xx): Databricks refuses the enable step itself if it must', undefined],
    ['a read of another place (the spec changed since): it says nothing of this one', { fullName: 'main.typo', exists: false, message: 'no' }],
  ])('%s: the move goes ahead, disabled where it is for one step first', (_, check) => {
    const p = edited(table('ml', 'serving'), check);
    expect(p.action).toMatchObject({ type: 'putAiGateway', body: { inference_table_config: { enabled: false, catalog_name: 'main', schema_name: 'default' } } });
  });
});
