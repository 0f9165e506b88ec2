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
