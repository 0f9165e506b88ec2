// A Terraform user moves provisioned-throughput endpoints to the operator (docs/concepts.md, "From Terraform" and
// "Importing existing endpoints"): endpoints made as the Terraform provider makes them (databricks_model_serving with
// a served entity of its own name, a route to it, scale_to_zero_enabled and workload_type as the provider sends them,
// route_optimized, every AI Gateway part, a telemetry_config block, description and budget policy; databricks_model_serving_provisioned_throughput;
// databricks_permissions), then the docs' commands in order: a DatabricksWorkspace, `pt-operator import --workspace`,
// `kubectl apply`. Every value Terraform set must be kept exactly, through the apply and through the first change;
// what the spec has no field for must survive too; drift is corrected or reported as the docs say.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { eventually, repoRoot, run } from '../support/cluster.js';
import { condition, databricksRequest, type E2E, editOutOfBand, emulatorCalls, isReady, startE2E, TEST_PAT } from './harness.js';

const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';

/** What the provider's Create sends for a databricks_model_serving resource (its schema defaults filled in). */
const TF_CHAT = {
  name: 'tf-chat',
  description: 'support chat, managed by Terraform',
  budget_policy_id: 'budget-policy-7',
  route_optimized: true,
  config: {
    served_entities: [
      {
        name: 'llama',
        entity_name: LLAMA,
        entity_version: '3',
        min_provisioned_throughput: 980,
        max_provisioned_throughput: 1960,
        scale_to_zero_enabled: true,
        workload_type: 'CPU',
        instance_profile_arn: 'arn:aws:iam::123456789012:instance-profile/genai-serving',
      },
    ],
    traffic_config: { routes: [{ served_model_name: 'llama', traffic_percentage: 100 }] },
  },
  tags: [{ key: 'team', value: 'genai' }, { key: 'env', value: 'prod' }],
  ai_gateway: {
    usage_tracking_config: { enabled: true },
    inference_table_config: { enabled: true, catalog_name: 'main', schema_name: 'default', table_name_prefix: 'tf_chat' },
    guardrails: {
      input: { safety: true, pii: { behavior: 'BLOCK' }, valid_topics: ['support'], invalid_keywords: ['password'] },
      output: { pii: { behavior: 'MASK' } },
    },
    rate_limits: [
      { renewal_period: 'minute', key: 'user', principal: 'alice@example.com', calls: 100 },
      { renewal_period: 'minute', key: 'endpoint', tokens: 100000 },
    ],
  },
  // A telemetry_config block (newer provider versions): the create carries it.
  telemetry_config: {
    table_names: { logs_table: 'main.default.tf_chat_logs', traces_table: 'main.default.tf_chat_traces' },
    enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS', 'TELEMETRY_FEATURE_TRACES'],
  },
};
const TF_NOTIFICATIONS = { on_update_success: ['ops@example.com'], on_update_failure: ['oncall@example.com'] };

/** databricks_model_serving_provisioned_throughput: POST /serving-endpoints/pt. */
const TF_MAVERICK = {
  name: 'tf-maverick',
  budget_policy_id: 'budget-policy-7',
  config: {
    served_entities: [{ name: 'maverick', entity_name: 'system.ai.llama-4-maverick', entity_version: '1', provisioned_model_units: 50 }],
    traffic_config: { routes: [{ served_entity_name: 'maverick', traffic_percentage: 100 }] },
  },
  tags: [{ key: 'team', value: 'genai' }],
  ai_gateway: { usage_tracking_config: { enabled: true } },
};

/**
 * databricks_model_serving (the generic API) serving a model-unit model, as its docs allow, with environment variables on
 * the entity: the model-unit API (/serving-endpoints/pt) has no field for them.
 */
const TF_UNITS_WITH_ENV = {
  name: 'tf-units-env',
  config: {
    served_entities: [
      { name: 'maverick', entity_name: 'system.ai.llama-4-maverick', entity_version: '1', provisioned_model_units: 50, environment_vars: { LOG_LEVEL: 'debug', API_KEY: '{{secrets/genai/api_key}}' } },
    ],
  },
};

/**
 * databricks_model_serving serving a model-unit model with a description and route optimization: the generic create
 * takes them beside provisioned_model_units; the model-unit create (/serving-endpoints/pt) has no field for either.
 */
const TF_UNITS_GOLD = {
  name: 'tf-units-gold',
  description: 'gold tier, managed by Terraform',
  route_optimized: true,
  config: { served_entities: [{ name: 'maverick', entity_name: 'system.ai.llama-4-maverick', entity_version: '1', provisioned_model_units: 50 }] },
};

/** databricks_permissions: access_control blocks (Terraform keeps its own identity at CAN_MANAGE). */
const TF_ACL = [
  { group_name: 'support-apps', permission_level: 'CAN_QUERY' },
  { user_name: 'alice@example.com', permission_level: 'CAN_VIEW' },
];

let e2e: E2E & { startOperator(extraArgs?: string[]): unknown };
let importedFile = '';

interface EmulatorState {
  endpoints: (Record<string, unknown> & { name: string; id: string; tags?: { key: string; value?: string }[] })[];
  permissions: Record<string, { access_control_list?: { user_name?: string; group_name?: string; all_permissions: { permission_level: string; inherited?: boolean }[] }[] }>;
}

const databricks = (method: string, path: string, body?: unknown) => databricksRequest(e2e.emulator.url, method, path, body);

type Endpoint = Record<string, unknown> & { id: string; state: { config_update: string }; config?: { served_entities: Record<string, unknown>[] }; tags?: { key: string; value?: string }[] };
const getEndpoint = (name: string) => databricks('GET', `/api/2.0/serving-endpoints/${name}`) as Promise<Endpoint>;

async function directAcl(name: string): Promise<string[]> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as EmulatorState;
  return (state.permissions[name]?.access_control_list ?? [])
    .flatMap((e) => e.all_permissions.filter((p) => !p.inherited).map((p) => `${e.user_name ?? e.group_name}:${p.permission_level}`))
    .sort();
}

const editEndpointOutOfBand = (name: string, edit: Record<string, unknown>) => editOutOfBand(e2e.emulator.url, name, edit);

/** Everything Terraform set, as GET shows it: what must not change unless the user changes it. */
function terraformManaged(endpoint: Endpoint) {
  const entity = endpoint.config?.served_entities[0] ?? {};
  return {
    description: endpoint['description'],
    budget: endpoint['effective_budget_policy_id'],
    routeOptimized: endpoint['route_optimized'],
    aiGateway: endpoint['ai_gateway'],
    notifications: endpoint['email_notifications'],
    telemetry: endpoint['telemetry_config'],
    entityName: entity['name'],
    instanceProfile: entity['instance_profile_arn'],
    routes: (endpoint.config as { traffic_config?: unknown } | undefined)?.traffic_config,
    userTags: (endpoint.tags ?? []).filter((t) => !t.key.startsWith('pt-operator-')),
  };
}

const calls = () => emulatorCalls(e2e.emulator.url);
const NAMES = ['tf-chat', 'tf-maverick'];

// Each attempt (a retry too) has an emulator, namespace and operator of its own: the test changes its endpoints.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-tf', speed: 480 });
  importedFile = join(tmpdir(), `${e2e.namespace}-imported.yaml`);
  await databricks('POST', '/api/2.0/serving-endpoints', TF_CHAT);
  await databricks('POST', '/api/2.0/serving-endpoints/pt', TF_MAVERICK);
  // The provider's update of email_notifications (a real workspace does not echo create-time ones).
  await databricks('PATCH', '/api/2.0/serving-endpoints/tf-chat/notifications', { email_notifications: TF_NOTIFICATIONS });
  await eventually(
    async () => {
      for (const name of NAMES) {
        const endpoint = await getEndpoint(name);
        if (endpoint.state.config_update !== 'NOT_UPDATING') throw new Error(`${name} is ${endpoint.state.config_update}`);
      }
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  for (const name of NAMES) {
    const { id } = await getEndpoint(name);
    await databricks('PUT', `/api/2.0/permissions/serving-endpoints/${id}`, { access_control_list: [...TF_ACL, { user_name: 'emulator-user@example.com', permission_level: 'CAN_MANAGE' }] });
  }
  // The docs' steps: a DatabricksWorkspace and its Secret, then import naming it, then kubectl apply.
  await e2e.kubectl(['create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
  await e2e.apply({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'prod' }, spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'dbx-pat' } } } } });
});

afterEach(async () => {
  await e2e?.stop();
  await rm(importedFile, { force: true });
});

/** `pt-operator import --host ... --all --namespace ml --workspace prod > imported.yaml`, as the docs run it (from the sources, as import.test.ts: a fresh clone has no dist/). */
async function importAll(): Promise<{ objects: { metadata: { name: string }; spec: Record<string, unknown> }[]; stderr: string }> {
  const result = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'import', '--host', e2e.emulator.url, '--all', '--namespace', e2e.namespace, '--workspace', 'prod'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABRICKS_TOKEN: TEST_PAT },
  });
  expect(result.exitCode, result.stderr).toBe(0);
  await writeFile(importedFile, result.stdout);
  const objects = parseAllDocuments(await readFile(importedFile, 'utf8')).map((d) => d.toJS() as { metadata: { name: string }; spec: Record<string, unknown> });
  return { objects, stderr: result.stderr };
}

describe('from Terraform to the operator', () => {
  it('import and apply keep every value Terraform set, with zero mutations; the first change keeps what the spec has no field for', async () => {
    const before = Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, terraformManaged(await getEndpoint(name))] as const)));
    const aclBefore = Object.fromEntries(await Promise.all(NAMES.map(async (name) => [name, await directAcl(name)] as const)));

    const { objects, stderr } = await importAll();
    expect(stderr).toMatch(/imported 2 of 2 endpoints/);
    const byName = Object.fromEntries(objects.map((o) => [o.spec['endpointName'] as string, o]));
    expect(byName['tf-chat']?.spec).toMatchObject({
      workspaceRef: { name: 'prod' },
      model: { name: LLAMA, version: '3' },
      throughput: { tokensPerSecond: { min: 980, max: 1960 } },
      tags: { team: 'genai', env: 'prod' },
      description: TF_CHAT.description,
      budgetPolicyId: 'budget-policy-7',
      routeOptimized: true,
      aiGateway: {
        usageTracking: { enabled: true },
        inferenceTables: { enabled: true, catalogName: 'main', schemaName: 'default', tableNamePrefix: 'tf_chat' },
        guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' }, validTopics: ['support'], invalidKeywords: ['password'] }, output: { pii: { behavior: 'MASK' } } },
      },
      notifications: { onUpdateSuccess: ['ops@example.com'], onUpdateFailure: ['oncall@example.com'] },
      // Databricks shows the profile it made from Terraform's tables, not the tables: import declares that profile
      telemetry: { profileId: ((await getEndpoint('tf-chat'))['telemetry_config'] as { telemetry_profile_id?: string } | undefined)?.telemetry_profile_id },
    });
    expect(byName['tf-maverick']?.spec).toMatchObject({ throughput: { modelUnits: 50 }, budgetPolicyId: 'budget-policy-7', aiGateway: { usageTracking: { enabled: true } } });

    const seqBeforeApply = (await calls()).at(-1)?.seq ?? 0;
    await e2e.kubectl(['apply', '-f', importedFile]);
    for (const object of objects) await e2e.waitUntil('pte', object.metadata.name, isReady, 90_000);
    // databricks_permissions becomes spec.permissions (import does not read them): the same list, nothing to change.
    const permissions = TF_ACL.map((a) => ({ ...('group_name' in a ? { groupName: a.group_name } : { userName: a.user_name }), permissionLevel: a.permission_level }));
    for (const object of objects) await e2e.kubectl(['patch', 'pte', object.metadata.name, '--type=merge', '-p', JSON.stringify({ spec: { permissions } })]);
    for (const object of objects) {
      await e2e.waitUntil('pte', object.metadata.name, (o) => condition(o, 'PermissionsSynced')?.status === 'True' && condition(o, 'PermissionsSynced')?.observedGeneration === (o['metadata'] as { generation: number }).generation);
    }
    await e2e.reconciledAgain(...objects.map((o) => o.metadata.name));
    expect((await calls()).filter((c) => c.seq > seqBeforeApply && c.method !== 'GET').map((c) => `${c.operation} ${c.endpoint ?? ''}`)).toEqual([]);
    for (const object of objects) {
      const obj = await e2e.get(`pte`, object.metadata.name);
      for (const type of ['AiGatewaySynced', 'PermissionsSynced', 'CreationSettingsSynced']) expect(condition(obj, type)?.status, `${object.metadata.name} ${type}`).toBe('True');
    }
    expect(condition(await e2e.get('pte', 'tf-chat'), 'TelemetrySynced')?.status).toBe('True');

    // The first change: more throughput on both. One config update each (and the owner tags), nothing else changed.
    await e2e.kubectl(['patch', 'pte', 'tf-chat', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { tokensPerSecond: { min: 980, max: 2940 } } } })]);
    await e2e.kubectl(['patch', 'pte', 'tf-maverick', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { modelUnits: 100 } } })]);
    await e2e.waitUntil('pte', 'tf-chat', (o) => isReady(o) && (o['status'] as { served?: { maxTokensPerSecond?: number } }).served?.maxTokensPerSecond === 2940, 90_000);
    await e2e.waitUntil('pte', 'tf-maverick', (o) => isReady(o) && (o['status'] as { served?: { modelUnits?: number } }).served?.modelUnits === 100, 90_000);
    await e2e.reconciledAgain('tf-chat', 'tf-maverick');
    const writes = (await calls()).filter((c) => c.seq > seqBeforeApply && c.method !== 'GET').map((c) => `${c.operation} ${c.endpoint ?? ''}`);
    expect(writes.filter((w) => w.endsWith('tf-chat'))).toEqual(['patchTags tf-chat', 'updateConfig tf-chat']);
    expect(writes.filter((w) => w.endsWith('tf-maverick'))).toEqual(['patchTags tf-maverick', 'updatePtConfig tf-maverick']);
    for (const name of NAMES) {
      expect(terraformManaged(await getEndpoint(name)), name).toEqual(before[name]);
      expect(await directAcl(name), name).toEqual(aclBefore[name]);
    }
    const entity = (await getEndpoint('tf-chat')).config?.served_entities[0];
    expect(entity).toMatchObject({ name: 'llama', min_provisioned_throughput: 980, max_provisioned_throughput: 2940 });
  });

  it('drift made outside the operator is corrected (served config, AI Gateway, permissions, notifications) or reported (budget policy)', async () => {
    const { objects } = await importAll();
    await e2e.kubectl(['apply', '-f', importedFile]);
    for (const object of objects) await e2e.waitUntil('pte', object.metadata.name, isReady, 90_000);
    const permissions = TF_ACL.map((a) => ({ ...('group_name' in a ? { groupName: a.group_name } : { userName: a.user_name }), permissionLevel: a.permission_level }));
    await e2e.kubectl(['patch', 'pte', 'tf-chat', '--type=merge', '-p', JSON.stringify({ spec: { permissions } })]);
    await e2e.waitUntil('pte', 'tf-chat', (o) => condition(o, 'PermissionsSynced')?.status === 'True');
    const before = terraformManaged(await getEndpoint('tf-chat'));
    const aclBefore = await directAcl('tf-chat');

    // Someone clicks in the UI: another throughput, a rate limit removed, a grant added, the notifications cleared.
    await editEndpointOutOfBand('tf-chat', {
      entities: [{ name: 'llama', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }],
      ai_gateway: { ...TF_CHAT.ai_gateway, rate_limits: [TF_CHAT.ai_gateway.rate_limits[1]] },
      grant: [{ user_name: 'mallory@example.com', permission_level: 'CAN_MANAGE' }],
      email_notifications: null,
    });
    await eventually(
      async () => {
        const endpoint = await getEndpoint('tf-chat');
        expect(endpoint.config?.served_entities[0]).toMatchObject({ name: 'llama', min_provisioned_throughput: 980, max_provisioned_throughput: 1960 });
        expect(terraformManaged(endpoint)).toEqual(before);
        expect(await directAcl('tf-chat')).toEqual(aclBefore);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const described = await e2e.kubectl(['describe', 'pte', 'tf-chat']);
    expect(described).toMatch(/Warning\s+DriftDetected/);
    expect(described).toMatch(/DriftDetected\s+.*the AI Gateway differs from the spec/);
    expect(described).toMatch(/DriftDetected\s+.*the permissions differ from the spec \(revoke mallory@example.com CAN_MANAGE\)/);
    expect(described).toMatch(/DriftDetected\s+.*the e-mail notifications differ from the spec/);

    // The model units of the provisioned-throughput resource, changed in the UI: restored through the model-unit API.
    await editEndpointOutOfBand('tf-maverick', { entities: [{ name: 'maverick', provisioned_model_units: 100 }] });
    await eventually(
      async () => expect((await getEndpoint('tf-maverick')).config?.served_entities[0]).toMatchObject({ name: 'maverick', provisioned_model_units: 50 }),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    expect(await e2e.kubectl(['describe', 'pte', 'tf-maverick'])).toMatch(/Warning\s+DriftDetected\s+.*model units 100 → 50/);
    expect((await e2e.mutations('tf-maverick')).map((c) => c.operation)).toContain('updatePtConfig');

    // The budget policy cannot be changed through the API: a change in the UI is reported, never "corrected".
    await editEndpointOutOfBand('tf-maverick', { budget_policy_id: 'budget-policy-other' });
    const reported = await e2e.waitUntil('pte', 'tf-maverick', (o) => condition(o, 'CreationSettingsSynced')?.reason === 'NotUpdatable');
    expect(condition(reported, 'CreationSettingsSynced')?.message).toContain('budget-policy-other');
    expect(isReady(reported)).toBe(true);
  });

  // route_optimized is ForceNew in Terraform: a route-optimized endpoint is re-created route-optimized. The operator
  // re-creates an endpoint deleted outside Kubernetes; clients of a route-optimized endpoint query its own URL.
  it('a route-optimized endpoint deleted outside Kubernetes is re-created route-optimized, with its description and budget policy, then gets its telemetry config', async () => {
    const { objects } = await importAll();
    await e2e.kubectl(['apply', '-f', importedFile]);
    for (const object of objects) await e2e.waitUntil('pte', object.metadata.name, isReady, 90_000);
    const { id } = await getEndpoint('tf-chat');
    await databricks('DELETE', '/api/2.0/serving-endpoints/tf-chat');
    await e2e.waitUntil('pte', 'tf-chat', (o) => isReady(o) && (o['status'] as { endpointId?: string }).endpointId !== id, 90_000);
    const recreated = await getEndpoint('tf-chat');
    expect(recreated.id).not.toBe(id);
    expect({ routeOptimized: recreated['route_optimized'], description: recreated['description'], budget: recreated['effective_budget_policy_id'] }).toEqual({
      routeOptimized: true,
      description: TF_CHAT.description,
      budget: 'budget-policy-7',
    });
    const created = await e2e.get('pte', 'tf-chat');
    expect(condition(created, 'CreationSettingsSynced')?.status).toBe('True');
    // Its telemetry config follows with its own PATCH: the profile import declared as spec.telemetry, which outlives
    // the endpoint it was made for.
    await e2e.waitUntil('pte', 'tf-chat', (o) => condition(o, 'TelemetrySynced')?.status === 'True', 60_000);
    const imported = ((await e2e.get('pte', 'tf-chat')) as { spec: { telemetry?: { profileId?: string } } }).spec.telemetry?.profileId;
    expect(imported).toBeDefined();
    expect((await getEndpoint('tf-chat'))['telemetry_config']).toMatchObject({ telemetry_profile_id: imported });
  });

  it('a model-unit endpoint with a description and route optimization is imported with both, and re-created with both after a deletion outside Kubernetes', async () => {
    await databricks('POST', '/api/2.0/serving-endpoints', TF_UNITS_GOLD);
    await eventually(
      async () => {
        const endpoint = await getEndpoint('tf-units-gold');
        if (endpoint.state.config_update !== 'NOT_UPDATING') throw new Error(`tf-units-gold is ${endpoint.state.config_update}`);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const { objects, stderr } = await importAll();
    expect(stderr).not.toMatch(/tf-units-gold.*(description|route_optimized)/);
    const imported = objects.find((o) => o.spec['endpointName'] === 'tf-units-gold');
    expect(imported?.spec).toMatchObject({ throughput: { modelUnits: 50 }, description: TF_UNITS_GOLD.description, routeOptimized: true });
    await e2e.kubectl(['apply', '-f', importedFile]);
    await e2e.waitUntil('pte', 'tf-units-gold', isReady, 90_000);

    const { id } = await getEndpoint('tf-units-gold');
    const seq = (await calls()).at(-1)?.seq ?? 0;
    await databricks('DELETE', '/api/2.0/serving-endpoints/tf-units-gold');
    await e2e.waitUntil('pte', 'tf-units-gold', (o) => isReady(o) && (o['status'] as { endpointId?: string }).endpointId !== id, 90_000);
    const recreated = await getEndpoint('tf-units-gold');
    expect({ units: recreated.config?.served_entities[0]?.['provisioned_model_units'], description: recreated['description'], routeOptimized: recreated['route_optimized'] }).toEqual({
      units: 50,
      description: TF_UNITS_GOLD.description,
      routeOptimized: true,
    });
    const creates = (await calls()).filter((c) => c.seq > seq && c.endpoint === 'tf-units-gold' && c.operation.startsWith('create')).map((c) => c.operation);
    expect(creates).toEqual(['create']);
    expect(condition(await e2e.get('pte', 'tf-units-gold'), 'CreationSettingsSynced')?.status).toBe('True');
  });

  it('a model-unit endpoint made with the generic API keeps its environment variables through a change of its model units', async () => {
    await databricks('POST', '/api/2.0/serving-endpoints', TF_UNITS_WITH_ENV);
    await eventually(
      async () => {
        const endpoint = await getEndpoint('tf-units-env');
        if (endpoint.state.config_update !== 'NOT_UPDATING') throw new Error(`tf-units-env is ${endpoint.state.config_update}`);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const { objects } = await importAll();
    const imported = objects.find((o) => o.spec['endpointName'] === 'tf-units-env');
    expect(imported?.spec).toMatchObject({ throughput: { modelUnits: 50 } });
    await e2e.kubectl(['apply', '-f', importedFile]);
    await e2e.waitUntil('pte', 'tf-units-env', isReady, 90_000);

    await e2e.kubectl(['patch', 'pte', 'tf-units-env', '--type=merge', '-p', JSON.stringify({ spec: { throughput: { modelUnits: 100 } } })]);
    await e2e.waitUntil('pte', 'tf-units-env', (o) => isReady(o) && (o['status'] as { served?: { modelUnits?: number } }).served?.modelUnits === 100, 90_000);
    expect((await getEndpoint('tf-units-env')).config?.served_entities[0]).toMatchObject({
      name: 'maverick',
      provisioned_model_units: 100,
      environment_vars: TF_UNITS_WITH_ENV.config.served_entities[0]?.environment_vars,
    });
  });
});
