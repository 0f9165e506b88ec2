// Import of existing endpoints: endpoints made outside the operator (here straight through the
// emulator's API, as a notebook would), `pt-operator import`, `kubectl apply` of its YAML, Ready —
// and zero Databricks mutations: adoption is recorded in status.adoption, not written to Databricks. The record
// must hold like the owner tags did (docs/security.md): rivals in this and another namespace, an older rival that
// gets a workspace only later, a forged status, an operator restart, and deletion.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { applyOk, ensureNamespace, eventually, kubectlOk, repoRoot, run, uniqueNamespace } from '../support/cluster.js';
import { condition, databricksRequest, type E2E, emulatorCalls, endpointManifest, isReady, startE2E, TEST_PAT } from './harness.js';

let e2e: E2E & { startOperator(extraArgs?: string[]): unknown };
let nsB: string;
let operatorArgs: string[] = [];

const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';

/** Six forms the operator expresses, two it cannot. */
const EXPRESSIBLE = {
  'chat-llama': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'chat-llama', config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] }, tags: [{ key: 'team', value: 'genai' }, { key: 'cost-center', value: '42' }] },
  },
  'embed-gte': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'embed-gte', config: { served_entities: [{ entity_name: 'system.ai.gte_large_en_v1_5', entity_version: '2', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] } },
  },
  'gpt-oss': {
    path: '/api/2.0/serving-endpoints/pt',
    body: { name: 'gpt-oss', config: { served_entities: [{ entity_name: 'system.ai.gpt-oss-120b', entity_version: '1', provisioned_model_units: 100 }] }, tags: [{ key: 'tier', value: 'gold' }] },
  },
  Team_Maverick: {
    path: '/api/2.0/serving-endpoints/pt',
    body: { name: 'Team_Maverick', config: { served_entities: [{ entity_name: 'system.ai.llama-4-maverick', entity_version: '1', provisioned_model_units: 50 }] } },
  },
  'support-bot': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'support-bot', description: 'made in a notebook', config: { served_entities: [{ entity_name: 'main.default.support_bot_llama', entity_version: '2', min_provisioned_throughput: 980, max_provisioned_throughput: 3920 }] }, tags: [{ key: 'owner', value: 'support' }] },
  },
  // Made with every endpoint setting the operator manages (the notifications follow the create: Databricks keeps
  // none given with it).
  'governed-chat': {
    path: '/api/2.0/serving-endpoints',
    body: {
      name: 'governed-chat',
      description: 'support chat, governed',
      budget_policy_id: 'budget-policy-7',
      config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] },
      ai_gateway: {
        usage_tracking_config: { enabled: true },
        inference_table_config: { enabled: true, catalog_name: 'main', schema_name: 'default', table_name_prefix: 'governed' },
        guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' } }, output: { pii: { behavior: 'MASK' } } },
        rate_limits: [
          { renewal_period: 'minute', key: 'endpoint', calls: 1000 },
          { renewal_period: 'minute', key: 'user_group', principal: 'ml-eng', tokens: 50000 },
        ],
      },
      tags: [{ key: 'on', value: 'yes' }],
    },
  },
} as const;

const GOVERNED_NOTIFICATIONS = { on_update_success: ['ops@example.com'], on_update_failure: ['oncall@example.com'] };

const INEXPRESSIBLE = {
  'ab-split': {
    path: '/api/2.0/serving-endpoints',
    body: {
      name: 'ab-split',
      config: {
        served_entities: [
          { name: 'v2', entity_name: 'main.default.support_bot_llama', entity_version: '2', min_provisioned_throughput: 0, max_provisioned_throughput: 980 },
          { name: 'v3', entity_name: 'main.default.support_bot_llama', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 },
        ],
        traffic_config: { routes: [{ served_entity_name: 'v2', traffic_percentage: 80 }, { served_entity_name: 'v3', traffic_percentage: 20 }] },
      },
    },
  },
  'cpu-classifier': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'cpu-classifier', config: { served_entities: [{ entity_name: 'main.default.support_bot_llama', entity_version: '1', workload_size: 'Small', scale_to_zero_enabled: true }] } },
  },
} as const;

interface EndpointBody {
  name: string;
  state: { config_update?: string };
  tags?: { key: string; value?: string }[];
}

const databricks = (method: string, path: string, body?: unknown) => databricksRequest(e2e.emulator.url, method, path, body);

const getEndpoint = (name: string) => databricks('GET', `/api/2.0/serving-endpoints/${name}`) as Promise<EndpointBody>;

const calls = () => emulatorCalls(e2e.emulator.url);

// Each attempt (a retry too) starts from namespaces, an emulator and an operator of its own: the test adopts, deletes
// and restarts as it goes, and vitest re-runs only the body.
beforeEach(async () => {
  nsB = uniqueNamespace('e2e-import-b');
  await ensureNamespace(nsB);
  e2e = await startE2E({ prefix: 'e2e-import', startOperator: false });
  // Namespace B is watched but may not use the default workspace: its objects need a DatabricksWorkspace of their own.
  operatorArgs = [`--namespaces=${e2e.namespace},${nsB}`, `--default-workspace-namespaces=${e2e.namespace}`];
  e2e.startOperator(operatorArgs);
  for (const { path, body } of [...Object.values(EXPRESSIBLE), ...Object.values(INEXPRESSIBLE)]) await databricks('POST', path, body);
  await databricks('PATCH', '/api/2.0/serving-endpoints/governed-chat/notifications', { email_notifications: GOVERNED_NOTIFICATIONS });
  await eventually(
    async () => {
      for (const name of [...Object.keys(EXPRESSIBLE), ...Object.keys(INEXPRESSIBLE)]) {
        const endpoint = await getEndpoint(name);
        if (endpoint.state.config_update !== 'NOT_UPDATING') throw new Error(`${name} is ${endpoint.state.config_update}`);
      }
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
});

afterEach(async () => {
  await e2e?.stop();
});

describe('pt-operator import', () => {
  it('imports six endpoints of different forms and settings; applying the YAML makes zero Databricks mutations, tag patches included', async () => {
    const before = await calls();
    const lastSeqBeforeImport = before.at(-1)?.seq ?? 0;

    const result = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'import', '--host', e2e.emulator.url, '--all', '--namespace', e2e.namespace], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABRICKS_TOKEN: TEST_PAT },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/not imported: ab-split: it serves 2 entities split by traffic_config/);
    expect(result.stderr).toMatch(/not imported: cpu-classifier: it is not provisioned throughput/);
    expect(result.stderr).toMatch(/imported 6 of 8 endpoints/);
    expect(result.stdout).toMatch(/^# Not imported/);

    // The import itself only read.
    const importCalls = (await calls()).filter((c) => c.seq > lastSeqBeforeImport);
    expect(importCalls.filter((c) => c.method !== 'GET')).toEqual([]);

    const objects = parseAllDocuments(result.stdout).map((d) => d.toJS() as { metadata: { name: string }; spec: Record<string, unknown> });
    const byEndpoint = Object.fromEntries(objects.map((o) => [o.spec['endpointName'] as string, o]));
    expect(Object.keys(byEndpoint).sort()).toEqual(Object.keys(EXPRESSIBLE).sort());
    expect(byEndpoint['chat-llama']?.spec).toMatchObject({ throughput: { tokensPerSecond: { min: 1960, max: 2940 } }, tags: { team: 'genai', 'cost-center': '42' } });
    expect(byEndpoint['gpt-oss']?.spec).toMatchObject({ throughput: { modelUnits: 100 }, tags: { tier: 'gold' } });
    expect(byEndpoint['Team_Maverick']?.metadata.name).toBe('team-maverick');
    // The settings are declared, not left in a comment; the tag "on: yes" is read back by kubectl as strings.
    expect(byEndpoint['governed-chat']?.spec).toMatchObject({
      description: 'support chat, governed',
      budgetPolicyId: 'budget-policy-7',
      aiGateway: {
        usageTracking: { enabled: true },
        inferenceTables: { enabled: true, catalogName: 'main', schemaName: 'default', tableNamePrefix: 'governed' },
        guardrails: { input: { safety: true, pii: { behavior: 'BLOCK' } }, output: { pii: { behavior: 'MASK' } } },
      },
      notifications: { onUpdateSuccess: ['ops@example.com'], onUpdateFailure: ['oncall@example.com'] },
      tags: { on: 'yes' },
    });
    expect(byEndpoint['support-bot']?.spec).toMatchObject({ description: 'made in a notebook' });

    // An attacker in namespace B got there first: an object older than the imported ones, asking to adopt chat-llama,
    // with a forged status.adoption, and a workspace (same host) it creates only once chat-llama is adopted. Until
    // then it has no workspace, so it claims nothing.
    const chatLlamaId = ((await databricks('GET', '/api/2.0/serving-endpoints/chat-llama')) as { id: string }).id;
    await applyOk(
      { ...endpointManifest('early-bird', { endpointName: 'chat-llama', workspaceRef: { name: 'late-ws' }, deletionPolicy: 'Delete' }, { annotations: { 'ptoperator.io/adopt': 'true' } }), status: { adoption: { endpointId: chatLlamaId, time: '2026-01-01T00:00:00Z' } } },
      { namespace: nsB },
    );
    await eventually(async () => {
      const early = JSON.parse(await kubectlOk(['-n', nsB, 'get', 'pte', 'early-bird', '-o', 'json'])) as Record<string, unknown>;
      if (condition(early, 'Synced')?.reason !== 'WorkspaceNotReady') throw new Error('early-bird not looked at yet');
      // The API server drops status on create: a tenant cannot forge an adoption.
      expect((early['status'] as { adoption?: unknown }).adoption).toBeUndefined();
    });
    const earlyCreated = Date.parse(await kubectlOk(['-n', nsB, 'get', 'pte', 'early-bird', '-o', 'jsonpath={.metadata.creationTimestamp}']));
    await eventually(async () => {
      if (Date.now() < earlyCreated + 1_000) throw new Error('still within the creation second of early-bird');
    });

    const seqBeforeApply = (await calls()).at(-1)?.seq ?? 0;
    await applyOk(result.stdout, { namespace: e2e.namespace });
    for (const object of objects) await e2e.waitUntil('pte', object.metadata.name, isReady, 90_000);

    // Settled, and looked at again after Ready (two more reads of each endpoint) without any change.
    await readEachTwiceMore();

    // Zero Databricks mutations of any kind from the apply on: no config change, no tag patch, no setting.
    const writes = (await calls()).filter((c) => c.seq > seqBeforeApply && c.method !== 'GET');
    expect(writes.map((c) => `${c.method} ${c.operation} ${c.endpoint ?? ''}`)).toEqual([]);

    // Each settings part the imported objects declare is in sync as adopted: nothing to apply.
    const governed = await e2e.get('pte', 'governed-chat');
    for (const type of ['AiGatewaySynced', 'NotificationsSynced', 'CreationSettingsSynced']) {
      expect(condition(governed, type)?.status, `governed-chat ${type}: ${condition(governed, type)?.message}`).toBe('True');
    }
    expect(condition(await e2e.get('pte', 'support-bot'), 'CreationSettingsSynced')?.status).toBe('True');

    // Ownership is in status: each object records the endpoint it adopted, by Databricks ID.
    const chat = (await e2e.get<{ status: { adoption?: { endpointId: string }; endpointId?: string } }>('pte', 'chat-llama'))?.status;
    expect(chat?.adoption?.endpointId).toBe(chatLlamaId);
    expect(chat?.endpointId).toBe(chatLlamaId);

    // User tags are exactly what they were, and no owner tag was written.
    for (const [name, { body }] of Object.entries(EXPRESSIBLE)) {
      const tags = Object.fromEntries(((await getEndpoint(name)).tags ?? []).map((t) => [t.key, t.value ?? '']));
      const original = Object.fromEntries((('tags' in body ? body.tags : []) as readonly { key: string; value: string }[]).map((t) => [t.key, t.value]));
      expect(tags, name).toEqual(original);
    }

    // Rivals for an adopted endpoint: a younger object of this namespace and one of namespace B, both asking to adopt.
    await e2e.apply(endpointManifest('sibling', { endpointName: 'chat-llama', deletionPolicy: 'Delete' }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    const sibling = await e2e.waitUntil('pte', 'sibling', (o) => condition(o, 'Synced')?.reason === 'NotOwned');
    expect(condition(sibling, 'Synced')?.message).toContain(`belongs to ${e2e.namespace}.chat-llama, which adopted it and still exists`);
    await kubectlOk(['-n', nsB, 'create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
    await applyOk(
      [
        { apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'late-ws' }, spec: { host: `${e2e.emulator.url}/`, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } } },
        endpointManifest('thief', { endpointName: 'chat-llama', workspaceRef: { name: 'late-ws' }, deletionPolicy: 'Delete' }, { annotations: { 'ptoperator.io/adopt': 'true' } }),
      ],
      { namespace: nsB },
    );
    // The early bird now claims the name on the same host and is the oldest claimant, yet the adoption holds.
    for (const name of ['early-bird', 'thief']) {
      const rival = await eventually(async () => {
        const o = JSON.parse(await kubectlOk(['-n', nsB, 'get', 'pte', name, '-o', 'json'])) as Record<string, unknown>;
        if (condition(o, 'Synced')?.reason !== 'NotOwned') throw new Error(`${nsB}/${name}: ${JSON.stringify(condition(o, 'Synced'))}`);
        return o;
      });
      // another tenant's objects are not named to this one (docs/security.md); the sibling above, of the holder's namespace, is
      expect(condition(rival, 'Synced')?.message, name).toContain('belongs to an object of another namespace, which adopted it and still exists');
      expect(condition(rival, 'Synced')?.message, name).not.toContain(`${e2e.namespace}.chat-llama`);
    }

    // An operator restart: ownership comes back from status alone; still nothing written.
    await e2e.operator.stop('SIGKILL');
    e2e.startOperator(operatorArgs);
    await readEachTwiceMore();
    for (const object of objects) expect(isReady((await e2e.get('pte', object.metadata.name)) as Record<string, unknown>), object.metadata.name).toBe(true);
    await e2e.reconciledAgain('sibling');
    expect(condition(await e2e.get('pte', 'sibling'), 'Synced')?.reason).toBe('NotOwned');

    // Deleting objects that never owned chat-llama (deletionPolicy Delete) leaves it alone; so does deleting an
    // imported object (deletionPolicy Orphan, the import's default).
    await e2e.kubectl(['delete', 'pte', 'sibling', '--timeout=30s']);
    await kubectlOk(['-n', nsB, 'delete', 'pte', 'thief', 'early-bird', '--timeout=30s']);
    await e2e.kubectl(['delete', 'pte', 'embed-gte', '--timeout=30s']);
    expect((await getEndpoint('embed-gte')).state).toBeDefined();
    expect((await calls()).filter((c) => c.seq > seqBeforeApply && c.method !== 'GET')).toEqual([]);

    // An adopted object with deletionPolicy Delete deletes its endpoint, as one that created it would.
    await e2e.kubectl(['patch', 'pte', 'gpt-oss', '--type=merge', '-p', JSON.stringify({ spec: { deletionPolicy: 'Delete' } })]);
    await e2e.kubectl(['delete', 'pte', 'gpt-oss', '--timeout=60s']);
    const after = (await calls()).filter((c) => c.seq > seqBeforeApply && c.method !== 'GET');
    expect(after.map((c) => `${c.operation} ${c.endpoint ?? ''}`)).toEqual(['delete gpt-oss']);
  });
});

/** Evidence that the operator looked at every imported endpoint again: two more reads of each. */
async function readEachTwiceMore(): Promise<void> {
  const from = (await calls()).at(-1)?.seq ?? 0;
  await eventually(
    async () => {
      const later = (await calls()).filter((c) => c.seq > from && c.operation === 'get');
      for (const name of Object.keys(EXPRESSIBLE)) {
        if (later.filter((c) => c.endpoint === name).length < 2) throw new Error(`${name} not read twice since`);
      }
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

// A workspace host chooses every name and text import prints. kubectl's YAML reader ends a line at U+2028, U+2029
// and NEL: a listed name carrying them once wrote a ClusterRoleBinding of the host's choosing into the YAML
// (finding of an attacker-controlled host). Here the real kubectl reads what import wrote.
describe('pt-operator import from a hostile workspace', () => {
  const binding = (br: string) =>
    ['', 'apiVersion: rbac.authorization.k8s.io/v1', 'kind: ClusterRoleBinding', 'metadata:', '  name: pwned', 'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}', 'subjects: [{kind: User, name: team-a-user, apiGroup: rbac.authorization.k8s.io}]', '#'].join(br);
  const BREAKS = ['\u2028', '\u2029', '\u0085'];
  const tags = BREAKS.map((br, i) => ({ key: `t${i}`, value: `v${br}kind: ClusterRoleBinding${br}x: "y"` }));
  const tagged = {
    name: 'tagged',
    state: { ready: 'READY', config_update: 'NOT_UPDATING' },
    config: { served_entities: [{ name: 'e', entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] },
    tags,
  };
  let server: Server;
  let host = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://h').pathname);
      const answer =
        path === '/api/2.0/serving-endpoints'
          ? { endpoints: [...BREAKS.map((br) => `llm-prod${binding(br)}`), 'tagged'].map((name) => ({ name })) }
          : path === '/api/2.0/serving-endpoints/tagged'
            ? tagged
            : path.startsWith('/api/2.0/serving-endpoints/get-model-optimization-info/')
              ? { optimizable: true, model_type: 'llama', throughput_chunk_size: 980 }
              : undefined;
      res.writeHead(answer ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer ?? { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'not found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
  });

  it('kubectl apply --dry-run=server of its YAML creates only the imported object, with the tag values as Databricks has them', async () => {
    const result = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'import', '--host', host, '--all', '--namespace', e2e.namespace], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABRICKS_TOKEN: TEST_PAT },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/imported 1 of 4 endpoints/);

    const applied = await kubectlOk(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], { input: result.stdout });
    const parsed = JSON.parse(applied) as { kind: string; items?: { kind: string; metadata: { name: string }; spec: { tags: Record<string, string> } }[] };
    const items = parsed.kind === 'List' ? (parsed.items ?? []) : [parsed as never];
    expect(items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual(['ProvisionedThroughputEndpoint/tagged']);
    expect(items[0]?.spec.tags).toEqual(Object.fromEntries(tags.map((t) => [t.key, t.value])));
  });
});
