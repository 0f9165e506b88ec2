// The endpoint settings beside the served config (issue 14), driven with kubectl against the real
// control plane and the emulator: AI Gateway, permissions (by endpoint ID), e-mail notifications, telemetry,
// budget policy and description are created, changed, drifted out of band and corrected, and removed;
// a part Databricks refuses is reported without hiding the others; an inference table's missing catalog is
// refused before anything is sent; and a settled endpoint causes no
// mutation over five poll intervals (counted in the emulator's call log, waiting on new GETs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { eventually } from '../support/cluster.js';
import { condition, type E2E, editOutOfBand, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-settings', speed: 480, scenario: { unityCatalog: { schemas: ['main.default', 'ml.serving'] } } });
});

afterAll(async () => {
  await e2e?.stop();
});

const NAME = 'gated';
const SP = '3f1c9f5e-0b7a-4d2e-9a51-2b8f5d0c7e11';

const gateway = {
  usageTracking: { enabled: true },
  inferenceTables: { catalogName: 'main', schemaName: 'default' },
  guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' } } },
  // alice's limit has both caps: Databricks takes one per limit, so it goes out as two (docs/emulator.md).
  rateLimits: [{ calls: 100 }, { calls: 10, tokens: 5000, key: 'user', principal: 'alice@example.com' }],
  fallback: { enabled: false },
};
const permissions = [
  { groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' },
  { userName: 'alice@example.com', permissionLevel: 'CAN_VIEW' },
];
const notifications = { onUpdateFailure: ['oncall@example.com'] };

const manifest = (spec: Record<string, unknown>) =>
  endpointManifest(NAME, { budgetPolicyId: 'budget-policy-1', description: 'support chat', ...spec });

interface EmulatorState {
  endpoints: { name: string; ai_gateway?: Record<string, unknown>; email_notifications?: Record<string, string[]>; telemetry_config?: Record<string, unknown>; effective_budget_policy_id?: string; description?: string }[];
  permissions: Record<string, { access_control_list: { user_name?: string; group_name?: string; service_principal_name?: string; all_permissions: { permission_level: string; inherited: boolean }[] }[] }>;
}

async function gatewayOf(name: string): Promise<Record<string, unknown> | undefined> {
  const body = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as EmulatorState;
  return body.endpoints.find((e) => e.name === name)?.ai_gateway;
}

async function state(): Promise<{ endpoint: EmulatorState['endpoints'][number] | undefined; acl: string[] }> {
  const body = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as EmulatorState;
  const acl = (body.permissions[NAME]?.access_control_list ?? [])
    .flatMap((e) => e.all_permissions.filter((p) => !p.inherited).map((p) => `${e.user_name ?? e.group_name ?? e.service_principal_name}:${p.permission_level}`))
    .sort();
  return { endpoint: body.endpoints.find((e) => e.name === NAME), acl };
}

const editEndpointOutOfBand = (edit: Record<string, unknown>, name = NAME) => editOutOfBand(e2e.emulator.url, name, edit);

const calls = () => emulatorCalls(e2e.emulator.url);

const PARTS = ['AiGatewaySynced', 'PermissionsSynced', 'NotificationsSynced', 'CreationSettingsSynced'];
const generationOf = (o: Record<string, unknown>) => (o['metadata'] as { generation: number }).generation;
/** Ready, and every listed part Applied for the current generation. */
const settled = (parts: string[]) => (o: Record<string, unknown>) =>
  isReady(o) && parts.every((type) => condition(o, type)?.status === 'True' && condition(o, type)?.observedGeneration === generationOf(o));

const settings = (o: Record<string, unknown>) => (o['status'] as { settings?: Record<string, { applied?: string; inSync?: boolean }> }).settings ?? {};

describe('endpoint settings', () => {
  it('are created: budget policy and description with the create, then the gateway, permissions and notifications', async () => {
    await e2e.apply(manifest({ aiGateway: gateway, permissions, notifications }));
    const obj = await e2e.waitUntil('pte', NAME, settled(PARTS), 120_000);
    expect(settings(obj)['permissions']?.applied).toBe('alice@example.com CAN_VIEW, group ml-eng CAN_QUERY');

    const { endpoint, acl } = await state();
    expect(endpoint).toMatchObject({
      effective_budget_policy_id: 'budget-policy-1',
      description: 'support chat',
      email_notifications: { on_update_failure: ['oncall@example.com'] },
      ai_gateway: { usage_tracking_config: { enabled: true }, inference_table_config: { enabled: true, catalog_name: 'main', table_name_prefix: NAME } },
    });
    expect(endpoint?.ai_gateway?.['rate_limits']).toEqual([
      { renewal_period: 'minute', key: 'endpoint', calls: 100 },
      { renewal_period: 'minute', key: 'user', principal: 'alice@example.com', calls: 10 },
      { renewal_period: 'minute', key: 'user', principal: 'alice@example.com', tokens: 5000 },
    ]);
    expect(acl).toEqual(['alice@example.com:CAN_VIEW', 'emulator-user@example.com:CAN_MANAGE', 'ml-eng:CAN_QUERY']);
    // The create carried the budget policy; the parts followed one mutation each.
    const mutations = (await e2e.mutations(NAME)).map((c) => c.operation);
    expect(mutations).toEqual(['create', 'putAiGateway', 'setPermissions', 'updateNotifications']);
  });

  it('a settled endpoint with every part causes no mutation over five poll intervals', async () => {
    const before = (await calls()).at(-1)?.seq ?? 0;
    // Evidence, not time: five more reads of the endpoint (the poll interval is 3 s) and of its ACL.
    await eventually(
      async () => {
        const since = (await calls()).filter((c) => c.seq > before && c.endpoint === NAME);
        const reads = since.filter((c) => c.operation === 'get').length;
        const aclReads = since.filter((c) => c.operation === 'getPermissions').length;
        if (reads < 5 || aclReads < 5) throw new Error(`${reads} endpoint reads and ${aclReads} ACL reads so far`);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const since = (await calls()).filter((c) => c.seq > before && c.endpoint === NAME);
    expect(since.filter((c) => c.method !== 'GET')).toEqual([]);
  });

  it('are changed by editing the spec', async () => {
    const changed = {
      aiGateway: { ...gateway, rateLimits: [{ calls: 50 }], fallback: { enabled: true } },
      permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_MANAGE' }, { servicePrincipalName: SP, permissionLevel: 'CAN_QUERY' }],
      notifications: { onUpdateSuccess: ['ml@example.com'], onUpdateFailure: ['oncall@example.com'] },
    };
    await e2e.apply(manifest(changed));
    await e2e.waitUntil('pte', NAME, (o) => generationOf(o) === 2 && settled(PARTS)(o), 60_000);
    const { endpoint, acl } = await state();
    expect(endpoint?.ai_gateway).toMatchObject({ rate_limits: [{ calls: 50, key: 'endpoint', renewal_period: 'minute' }], fallback_config: { enabled: true } });
    expect(acl).toEqual([`${SP}:CAN_QUERY`, 'emulator-user@example.com:CAN_MANAGE', 'ml-eng:CAN_MANAGE']);
    expect(endpoint?.email_notifications).toEqual({ on_update_success: ['ml@example.com'], on_update_failure: ['oncall@example.com'] });
  });

  it('drift in each part is corrected with DriftDetected Warnings', async () => {
    const before = (await calls()).at(-1)?.seq ?? 0;
    await editEndpointOutOfBand({
      ai_gateway: { usage_tracking_config: { enabled: false } },
      grant: [{ user_name: 'mallory@example.com', permission_level: 'CAN_MANAGE' }],
      email_notifications: null,
    });
    await eventually(
      async () => {
        const { endpoint, acl } = await state();
        expect(endpoint?.ai_gateway).toMatchObject({ usage_tracking_config: { enabled: true }, fallback_config: { enabled: true } });
        expect(acl).not.toContain('mallory@example.com:CAN_MANAGE');
        expect(endpoint?.email_notifications).toEqual({ on_update_success: ['ml@example.com'], on_update_failure: ['oncall@example.com'] });
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const fixes = (await calls()).filter((c) => c.seq > before && c.endpoint === NAME && c.method !== 'GET').map((c) => c.operation);
    expect(fixes.sort()).toEqual(['putAiGateway', 'setPermissions', 'updateNotifications']);
    const described = await e2e.kubectl(['describe', 'pte', NAME]);
    expect(described).toMatch(/Warning\s+DriftDetected\s+.*the AI Gateway differs from the spec/);
    expect(described).toMatch(/Warning\s+DriftDetected\s+.*the permissions differ from the spec \(revoke mallory@example.com CAN_MANAGE\)/);
    expect(described).toMatch(/Warning\s+DriftDetected\s+.*the e-mail notifications differ from the spec/);
  });

  it('a budget policy changed in the UI is reported as not updatable, without a call', async () => {
    const before = (await calls()).at(-1)?.seq ?? 0;
    await editEndpointOutOfBand({ budget_policy_id: 'budget-policy-2' });
    const obj = await e2e.waitUntil('pte', NAME, (o) => condition(o, 'CreationSettingsSynced')?.reason === 'NotUpdatable', 30_000);
    expect(condition(obj, 'CreationSettingsSynced')?.message).toMatch(/budget policy budget-policy-2 → budget-policy-1.*set them in the Databricks UI/);
    expect(isReady(obj)).toBe(true);
    expect((await calls()).filter((c) => c.seq > before && c.endpoint === NAME && c.method !== 'GET')).toEqual([]);
    await editEndpointOutOfBand({ budget_policy_id: 'budget-policy-1' });
    await e2e.waitUntil('pte', NAME, (o) => condition(o, 'CreationSettingsSynced')?.status === 'True', 30_000);
  });

  it('a gateway Databricks refuses (missing catalog) is reported on its own; the permission change still lands', async () => {
    await e2e.apply(
      manifest({
        aiGateway: { ...gateway, inferenceTables: { catalogName: 'missing', schemaName: 'default' } },
        permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_VIEW' }],
        notifications: { onUpdateSuccess: ['ml@example.com'], onUpdateFailure: ['oncall@example.com'] },
      }),
    );
    const obj = await e2e.waitUntil(
      'pte',
      NAME,
      (o) => generationOf(o) === 3 && condition(o, 'AiGatewaySynced')?.reason === 'Rejected' && condition(o, 'PermissionsSynced')?.status === 'True' && condition(o, 'PermissionsSynced')?.observedGeneration === 3,
      60_000,
    );
    expect(condition(obj, 'AiGatewaySynced')?.message).toMatch(/Catalog 'missing' does not exist.*correct spec\.aiGateway\.inferenceTables/);
    expect(isReady(obj)).toBe(true);
    // Synced stays True, but does not say the whole spec is applied: it names the part that is not.
    expect(condition(obj, 'Synced')).toMatchObject({ status: 'True', message: 'the served config and tags are applied; AiGatewaySynced is Rejected: see that condition' });
    expect((await state()).acl).toEqual(['emulator-user@example.com:CAN_MANAGE', 'ml-eng:CAN_VIEW']);
    // The missing catalog is found by reading it, before any gateway PUT: none is refused, none was sent.
    const refused = (await e2e.mutations(NAME)).filter((c) => c.operation === 'putAiGateway' && c.status === 400);
    expect(refused).toHaveLength(0);
  });

  it('are removed: the gateway turned off, the direct permissions back to the creator, the notifications cleared', async () => {
    await e2e.apply(manifest({}));
    const obj = await e2e.waitUntil(
      'pte',
      NAME,
      (o) => generationOf(o) === 4 && isReady(o) && Object.keys(settings(o)).join() === 'creation' && condition(o, 'AiGatewaySynced') === undefined,
      60_000,
    );
    expect(condition(obj, 'PermissionsSynced')).toBeUndefined();
    expect(condition(obj, 'NotificationsSynced')).toBeUndefined();
    const { endpoint, acl } = await state();
    expect(endpoint?.ai_gateway).toBeUndefined();
    expect(endpoint?.email_notifications).toBeUndefined();
    expect(acl).toEqual(['emulator-user@example.com:CAN_MANAGE']);
  });

  it('a model-unit endpoint gets its budget policy with the /pt create and its gateway afterwards', async () => {
    await e2e.apply(
      endpointManifest('units', {
        model: { name: 'system.ai.gpt-oss-120b', version: '1' },
        throughput: { modelUnits: 50 },
        budgetPolicyId: 'budget-policy-units',
        aiGateway: { usageTracking: { enabled: true } },
      }),
    );
    await e2e.waitUntil('pte', 'units', settled(['AiGatewaySynced', 'CreationSettingsSynced']), 120_000);
    expect((await e2e.mutations('units')).map((c) => c.operation)).toEqual(['createPt', 'putAiGateway']);
    const body = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as EmulatorState;
    expect(body.endpoints.find((e) => e.name === 'units')).toMatchObject({ effective_budget_policy_id: 'budget-policy-units', ai_gateway: { usage_tracking_config: { enabled: true } } });
  });

  it('a typo in the inference table catalog is refused before anything is sent: logging goes on where it was; fixing the typo is Applied with no table move', async (context) => {
    // An endpoint of this attempt's own: a retry would find the first attempt's past the generations this test counts.
    const name = attemptName(context, 'llama');
    const logging = { enabled: true, catalog_name: 'main', schema_name: 'default', table_name_prefix: name };
    await e2e.apply(endpointManifest(name, { aiGateway: { usageTracking: { enabled: true }, inferenceTables: { catalogName: 'main', schemaName: 'default' } } }));
    await e2e.waitUntil('pte', name, settled(['AiGatewaySynced']), 120_000);
    const before = (await calls()).at(-1)?.seq ?? 0;

    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { aiGateway: { inferenceTables: { catalogName: 'nosuchcatalog' } } } })]);
    const rejected = await e2e.waitUntil(
      'pte',
      name,
      (o) => condition(o, 'AiGatewaySynced')?.reason === 'Rejected' && condition(o, 'AiGatewaySynced')?.observedGeneration === generationOf(o) && generationOf(o) === 2,
      60_000,
    );
    expect(condition(rejected, 'AiGatewaySynced')).toMatchObject({ status: 'False', message: expect.stringMatching(/schema nosuchcatalog\.default, which does not exist.*correct spec\.aiGateway\.inferenceTables/) });
    expect(isReady(rejected)).toBe(true);
    const afterTypo = (await calls()).filter((c) => c.seq > before);
    expect(afterTypo.filter((c) => c.operation === 'putAiGateway')).toEqual([]);
    expect(afterTypo.filter((c) => c.operation === 'getSchema').map((c) => c.status)).toContain(404);
    expect((await gatewayOf(name))?.['inference_table_config']).toEqual(logging);

    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { aiGateway: { inferenceTables: { catalogName: 'main' } } } })]);
    await e2e.waitUntil('pte', name, (o) => generationOf(o) === 3 && settled(['AiGatewaySynced'])(o), 60_000);
    expect((await calls()).filter((c) => c.seq > before && c.operation === 'putAiGateway')).toEqual([]);
    expect((await gatewayOf(name))?.['inference_table_config']).toEqual(logging);
  });

  it('an inference table prefix removed from the spec moves the table to the endpoint name; a prefix changed out of band is put back', async (context) => {
    // An endpoint of this attempt's own: a retry would find the first attempt's past the generations this test counts.
    const name = attemptName(context, 'tf-embed');
    const table = { enabled: true, catalogName: 'main', schemaName: 'default' };
    const atPrefix = (prefix: string) => ({ enabled: true, catalog_name: 'main', schema_name: 'default', table_name_prefix: prefix });
    const gatewayIsAt = (prefix: string) => async () => expect((await gatewayOf(name))?.['inference_table_config']).toEqual(atPrefix(prefix));
    await e2e.apply(endpointManifest(name, { aiGateway: { inferenceTables: { ...table, tableNamePrefix: 'custom' } } }));
    await e2e.waitUntil('pte', name, settled(['AiGatewaySynced']), 120_000);
    await gatewayIsAt('custom')();

    const before = (await calls()).at(-1)?.seq ?? 0;
    await e2e.apply(endpointManifest(name, { aiGateway: { inferenceTables: table } }));
    const obj = await e2e.waitUntil('pte', name, (o) => generationOf(o) === 2 && settled(['AiGatewaySynced'])(o), 60_000);
    expect(settings(obj)['aiGateway']?.applied).toContain(`inference tables main.default.${name}*`);
    await gatewayIsAt(name)();
    // Disabled first, then enabled at the endpoint name: Databricks refuses to move an enabled table.
    const moves = (await calls()).filter((c) => c.seq > before && c.endpoint === name && c.method !== 'GET');
    expect(moves.map((c) => `${c.operation} ${c.status}`)).toEqual(['putAiGateway 200', 'putAiGateway 200']);

    const beforeDrift = (await calls()).at(-1)?.seq ?? 0;
    await editEndpointOutOfBand({ ai_gateway: { inference_table_config: atPrefix('sneaky') } }, name);
    await eventually(gatewayIsAt(name), { timeoutMs: 60_000, intervalMs: 500 });
    const fixes = (await calls()).filter((c) => c.seq > beforeDrift && c.endpoint === name && c.method !== 'GET');
    expect(fixes.map((c) => c.operation)).toEqual(['putAiGateway', 'putAiGateway']);
    expect(await e2e.kubectl(['describe', 'pte', name])).toMatch(new RegExp(`Warning\\s+DriftDetected\\s+.*inference tables main\\.default\\.sneaky\\* → main\\.default\\.${name}\\*`));
  });

  it('telemetry added to a settled endpoint is sent with one PATCH, then nothing at steady state; drift is put back; {} removes it', async (context) => {
    // An endpoint of this attempt's own: a retry would find the first attempt's past the generations this test counts.
    const name = attemptName(context, 'telemetered');
    const telemetryOf = async () =>
      ((await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as EmulatorState).endpoints.find((e) => e.name === name)?.telemetry_config;
    const since = async (seq: number) => (await calls()).filter((c) => c.seq > seq && c.endpoint === name);
    await e2e.apply(endpointManifest(name, {}));
    await e2e.waitUntil('pte', name, isReady, 120_000);

    const before = (await calls()).at(-1)?.seq ?? 0;
    const telemetry = { tables: { logsTable: 'main.default.logs', tracesTable: 'main.default.traces' }, features: ['TELEMETRY_FEATURE_LOGS', 'TELEMETRY_FEATURE_TRACES'], inferenceTable: { samplingFraction: 0.5 } };
    await e2e.apply(endpointManifest(name, { telemetry }));
    const obj = await e2e.waitUntil('pte', name, (o) => generationOf(o) === 2 && settled(['TelemetrySynced'])(o), 60_000);
    // Databricks shows only the profile it made from the tables (and the inference table it named): the operator
    // compares with what it sent and the profile Databricks answered with, so no second PATCH.
    const made = (await telemetryOf())?.telemetry_profile_id;
    expect(await telemetryOf()).toEqual({ telemetry_profile_id: expect.any(String), inference_table_config: { sampling_fraction: 0.5, name: 'main.default.logs_payload' } });
    expect(settings(obj)['telemetry']).toMatchObject({ inSync: true, profileId: made });
    const afterSet = (await calls()).at(-1)?.seq ?? 0;
    await eventually(
      async () => {
        const reads = (await since(afterSet)).filter((c) => c.operation === 'get').length;
        if (reads < 5) throw new Error(`${reads} endpoint reads so far`);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect((await since(before)).filter((c) => c.method !== 'GET').map((c) => `${c.operation} ${c.status}`)).toEqual(['patchTelemetryConfig 200']);

    const beforeDrift = (await calls()).at(-1)?.seq ?? 0;
    await editEndpointOutOfBand({ telemetry_config: { telemetry_profile_id: 'tp-from-the-ui' } }, name);
    // the tables are sent again: Databricks makes a new profile of them
    await eventually(async () => expect((await telemetryOf())?.telemetry_profile_id).not.toMatch(/^tp-from-the-ui$|^$/), { timeoutMs: 60_000, intervalMs: 500 });
    expect((await telemetryOf())?.telemetry_profile_id).not.toBe(made);
    expect((await since(beforeDrift)).filter((c) => c.method !== 'GET').map((c) => c.operation)).toEqual(['patchTelemetryConfig']);
    expect(await e2e.kubectl(['describe', 'pte', name])).toMatch(/Warning\s+DriftDetected\s+.*the telemetry config differs from the spec/);

    const beforeRemoval = (await calls()).at(-1)?.seq ?? 0;
    await e2e.apply(endpointManifest(name, { telemetry: {} }));
    await e2e.waitUntil('pte', name, (o) => generationOf(o) === 3 && settled(['TelemetrySynced'])(o), 60_000);
    expect(await telemetryOf()).toBeUndefined();
    expect((await since(beforeRemoval)).filter((c) => c.method !== 'GET').map((c) => c.operation)).toEqual(['patchTelemetryConfig']);
  });
});
