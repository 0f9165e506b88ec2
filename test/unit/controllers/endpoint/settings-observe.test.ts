// The settings parts of an observed endpoint (spec.managementPolicy: Observe): each part is compared as for Full, and
// its condition says Observed or Drifted; no part ever plans a change, whatever it finds.
import { describe, expect, it } from 'vitest';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { type SpecInput, endpointObject, readyEndpoint } from '../fixtures.js';
import { acl, conditionOf, plan } from './settings-fixtures.js';

/** Made outside the operator (no owner tags), serving the spec's config, with these fields. */
const elsewhere = (fields: Partial<ServingEndpointDetailed>): ServingEndpointDetailed => ({ ...readyEndpoint({}, { owner: null, tags: [{ key: 'team', value: 'genai' }] }), ...fields });
const observe = (spec: SpecInput) => endpointObject({ spec: { ...spec, managementPolicy: 'Observe' }, hasFinalizer: false });

describe('settings parts of an observed endpoint', () => {
  it.each<[string, string, SpecInput, Partial<ServingEndpointDetailed>, string]>([
    ['the AI Gateway, a table at another place (Full would disable it there first)', 'AiGatewaySynced',
      { aiGateway: { inferenceTables: { catalogName: 'main', schemaName: 'default' } } },
      { ai_gateway: { inference_table_config: { enabled: true, catalog_name: 'main', schema_name: 'default', table_name_prefix: 'custom' } } }, 'main.default.custom* → main.default.llama-chat*'],
    ['the notifications', 'NotificationsSynced', { notifications: { onUpdateSuccess: ['ml@company.com'] } }, {}, 'ml@company.com'],
    ['the telemetry', 'TelemetrySynced', { telemetry: { tables: { logsTable: 'main.obs.logs' } } }, {}, 'main.obs.logs'],
    ['the budget policy (create-only: Full says NotUpdatable)', 'CreationSettingsSynced', { budgetPolicyId: 'policy-1' }, {}, 'budget policy none → policy-1'],
  ])('%s: Drifted, saying how it differs and that nothing is changed; no action', (_, type, spec, fields, names) => {
    const p = plan(observe(spec), { endpoint: elsewhere(fields) });
    expect(p.action).toEqual({ type: 'none' });
    const part = conditionOf(p, type);
    expect(part).toMatchObject({ status: 'False', reason: 'Drifted' });
    expect(part?.message).toContain(names);
    expect(part?.message).toMatch(/; nothing is changed: managementPolicy is Observe$/);
    expect(part?.message).not.toContain('disabled where it is');
    expect(conditionOf(p, 'Synced')).toMatchObject({ status: 'False', reason: 'Drifted', message: expect.stringContaining(`${type}: `) });
  });

  it('the permissions, read and compared (the operator\'s own grant is not asked for: it does not manage them)', () => {
    const spec = { permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' as const }] };
    const differ = plan(observe(spec), { endpoint: elsewhere({}), permissions: { kind: 'found', value: acl([]) } });
    expect(differ.action).toEqual({ type: 'none' });
    expect(conditionOf(differ, 'PermissionsSynced')).toMatchObject({ status: 'False', reason: 'Drifted', message: expect.stringContaining('ml-eng') });
    const same = plan(observe(spec), { endpoint: elsewhere({}), permissions: { kind: 'found', value: acl([{ group_name: 'ml-eng', level: 'CAN_QUERY' }]) } });
    expect(conditionOf(same, 'PermissionsSynced')).toMatchObject({ status: 'True', reason: 'Observed' });
  });

  it('a part the spec does not set is not compared, and leaves no condition', () => {
    const p = plan(observe({}), { endpoint: elsewhere({ email_notifications: { on_update_success: ['x@company.com'] } }) });
    expect(conditionOf(p, 'NotificationsSynced')).toBeUndefined();
    expect(conditionOf(p, 'Synced')?.status).toBe('True');
  });
});

describe('the telemetry of an observed endpoint: Databricks shows a profile, not the tables it was made from', () => {
  const profile = { telemetry_config: { telemetry_profile_id: 'tp-7' } };
  const tables = { telemetry: { tables: { logsTable: 'main.obs.logs' } } } satisfies SpecInput;

  it('a spec of tables against an endpoint with a profile: not Drifted (nothing says they differ), and the condition says the tables are not compared and how to compare', () => {
    const p = plan(observe(tables), { endpoint: elsewhere(profile) });
    expect(p.action).toEqual({ type: 'none' });
    const part = conditionOf(p, 'TelemetrySynced');
    expect(part).toMatchObject({ status: 'True', reason: 'Observed' });
    expect(part?.message).toContain('not compared');
    expect(part?.message).toContain('spec.telemetry.profileId: tp-7');
    expect(conditionOf(p, 'Synced')?.status).toBe('True');
    expect(p.events.filter((e) => e.reason === 'Drifted')).toEqual([]);
  });

  it('features the spec narrows, not shown for the profile: not compared either; a sampling that differs is still Drifted', () => {
    const spec = { telemetry: { tables: { logsTable: 'main.obs.logs' }, features: ['TELEMETRY_FEATURE_LOGS' as const], inferenceTable: { samplingFraction: 0.5 } } } satisfies SpecInput;
    const p = plan(observe(spec), { endpoint: elsewhere({ telemetry_config: { telemetry_profile_id: 'tp-7', inference_table_config: { sampling_fraction: 1 } } }) });
    const part = conditionOf(p, 'TelemetrySynced');
    expect(part).toMatchObject({ status: 'False', reason: 'Drifted' });
    expect(part?.message).toContain('sampling 1 → 0.5');
    expect(part?.message).not.toContain('features all features →');
    expect(part?.message).not.toContain('one made from');
    expect(part?.message).toContain('not compared');
  });

  it('switched from Full: the profile it made from other tables (its record) is still shown, so the spec\'s new tables differ: Drifted', () => {
    const record = { applied: 'profile tp-7, all features', inSync: true, sent: 'logs main.obs.old, all features', profileId: 'tp-7' };
    const switched = endpointObject({ spec: { ...tables, managementPolicy: 'Observe' }, hasFinalizer: true, status: { settings: { telemetry: record } } });
    const part = conditionOf(plan(switched, { endpoint: elsewhere(profile) }), 'TelemetrySynced');
    expect(part).toMatchObject({ status: 'False', reason: 'Drifted', message: expect.stringContaining('profile tp-7 → one made from logs main.obs.logs') });
    expect(part?.message).not.toContain('not compared');
  });

  it('no telemetry at all on the endpoint: Drifted, as there is nothing the tables could have made', () => {
    const p = plan(observe(tables), { endpoint: elsewhere({}) });
    expect(conditionOf(p, 'TelemetrySynced')).toMatchObject({ status: 'False', reason: 'Drifted', message: expect.stringContaining('profile none → one made from logs main.obs.logs') });
  });

  it('a profile given by ID is compared exactly: another profile is Drifted', () => {
    const p = plan(observe({ telemetry: { profileId: 'tp-1' } }), { endpoint: elsewhere(profile) });
    expect(conditionOf(p, 'TelemetrySynced')).toMatchObject({ status: 'False', reason: 'Drifted', message: expect.stringContaining('profile tp-7 → tp-1') });
  });
});
