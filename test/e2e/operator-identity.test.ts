// The Terraform hand-over of docs/concepts.md ("From Terraform"), with the identities of a real workspace: Terraform
// (a service principal) creates the endpoint and grants the operator (another identity, not a workspace admin)
// CAN_MANAGE; the operator adopts it with a spec.permissions that leaves its own identity out, as a user copying
// databricks_permissions does. Databricks refuses every call of an identity without CAN_MANAGE, so a PUT that drops
// the operator would lock it out: the operator keeps its own identity (asked of Databricks, SCIM Me) at CAN_MANAGE,
// as the Terraform provider keeps the current user.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { condition, type E2E, emulatorCalls, isReady, startE2E, TEST_PAT } from './harness.js';

const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';
/** Terraform's credential: a service principal, named by its application ID. */
const TERRAFORM = { token: 'dapi-terraform-0123456789abcdef', userName: '0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d' };
/** The operator's credential (its DatabricksWorkspace's Secret): a user, not a workspace admin. */
const OPERATOR = { token: 'dapi-operator-0123456789abcdef', userName: 'pt-operator@example.com' };
/** A person who made an endpoint in the UI before Terraform managed its permissions. */
const PERSON = { token: 'dapi-person-0123456789abcdef', userName: 'carol@example.com' };

let e2e: E2E & { startOperator(extraArgs?: string[]): unknown };

/** A call to the Databricks API as Terraform makes it (its own credential); throws on an error status. */
async function asTerraform(method: string, path: string, body?: unknown, token = TERRAFORM.token): Promise<Record<string, unknown>> {
  const response = await fetch(new URL(path, e2e.emulator.url), {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/** The endpoint's direct ACL as the emulator holds it, "principal:LEVEL" sorted. */
async function directAcl(name: string): Promise<string[]> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as {
    permissions: Record<string, { access_control_list?: { user_name?: string; group_name?: string; service_principal_name?: string; all_permissions: { permission_level: string; inherited?: boolean }[] }[] }>;
  };
  return (state.permissions[name]?.access_control_list ?? [])
    .flatMap((e) => e.all_permissions.filter((p) => !p.inherited).map((p) => `${e.user_name ?? e.group_name ?? e.service_principal_name}:${p.permission_level}`))
    .sort();
}

beforeEach(async () => {
  e2e = await startE2E({
    prefix: 'e2e-ident',
    speed: 480,
    // TEST_PAT is the workspace admin's (workspace.creator); the other two are neither admins nor each other.
    scenario: { auth: { pats: [TEST_PAT, TERRAFORM, OPERATOR, PERSON] } },
  });
  // Terraform: databricks_model_serving, then databricks_permissions granting the operator CAN_MANAGE (step 1).
  await asTerraform('POST', '/api/2.0/serving-endpoints', {
    name: 'tf-chat',
    config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
  });
  await eventually(
    async () => {
      const endpoint = (await asTerraform('GET', '/api/2.0/serving-endpoints/tf-chat')) as { state: { config_update: string } };
      if (endpoint.state.config_update !== 'NOT_UPDATING') throw new Error(`tf-chat is ${endpoint.state.config_update}`);
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const { id } = (await asTerraform('GET', '/api/2.0/serving-endpoints/tf-chat')) as { id: string };
  // The provider adds its own identity at CAN_MANAGE to every PUT it sends.
  await asTerraform('PUT', `/api/2.0/permissions/serving-endpoints/${id}`, {
    access_control_list: [
      { group_name: 'support-apps', permission_level: 'CAN_QUERY' },
      { user_name: OPERATOR.userName, permission_level: 'CAN_MANAGE' },
      { service_principal_name: TERRAFORM.userName, permission_level: 'CAN_MANAGE' },
    ],
  });
  await e2e.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'operator-pat' }, stringData: { token: OPERATOR.token } });
  await e2e.apply({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'prod' }, spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'operator-pat' } } } } });
});

afterEach(async () => {
  await e2e?.stop();
});

const endpoint = (permissions: { groupName?: string; userName?: string; servicePrincipalName?: string; permissionLevel: string }[], maxChunks = 3) => ({
  apiVersion: 'serving.ptoperator.io/v1alpha1',
  kind: 'ProvisionedThroughputEndpoint',
  metadata: { name: 'tf-chat', annotations: { 'ptoperator.io/adopt': 'true' } },
  spec: {
    workspaceRef: { name: 'prod' },
    model: { name: LLAMA, version: '3' },
    throughput: { chunks: { min: 2, max: maxChunks } },
    permissions,
    deletionPolicy: 'Orphan',
  },
});

describe("an adopted endpoint whose spec.permissions leaves out the operator's own identity", () => {
  it('keeps the operator at CAN_MANAGE in the PUT, says PermissionsSynced=True, and a later change still lands', { timeout: 150_000 }, async () => {
    // databricks_permissions copied without the operator's grant (Terraform's own identity is the creator).
    const terraformDone = (await emulatorCalls(e2e.emulator.url)).at(-1)?.seq ?? 0;
    await e2e.apply(endpoint([{ groupName: 'support-apps', permissionLevel: 'CAN_QUERY' }, { userName: 'alice@example.com', permissionLevel: 'CAN_VIEW' }]));
    const synced = await e2e.waitUntil('pte', 'tf-chat', (o) => condition(o, 'PermissionsSynced')?.status === 'True' && condition(o, 'Synced')?.status === 'True', 90_000);
    expect(condition(synced, 'PermissionsSynced')?.reason).toBe('Applied');
    // The PUT the emulator received replaced the ACL: the spec's entries, the creator (Terraform) and the operator.
    expect(await directAcl('tf-chat')).toEqual(['0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d:CAN_MANAGE', 'alice@example.com:CAN_VIEW', 'pt-operator@example.com:CAN_MANAGE', 'support-apps:CAN_QUERY'].sort());

    // A later change of the served config and of the permissions: both sent and accepted, nothing refused.
    await e2e.apply(endpoint([{ groupName: 'support-apps', permissionLevel: 'CAN_QUERY' }], 4));
    await e2e.waitUntil(
      'pte',
      'tf-chat',
      (o) => isReady(o) && condition(o, 'PermissionsSynced')?.status === 'True' && condition(o, 'Synced')?.observedGeneration === (o['metadata'] as { generation: number }).generation && condition(o, 'Synced')?.status === 'True',
      90_000,
    );
    expect(await directAcl('tf-chat')).toEqual(['0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d:CAN_MANAGE', 'pt-operator@example.com:CAN_MANAGE', 'support-apps:CAN_QUERY'].sort());
    const calls = await emulatorCalls(e2e.emulator.url, { endpoint: 'tf-chat', afterSeq: terraformDone });
    expect(calls.filter((c) => c.operation === 'updateConfig').map((c) => c.status)).toEqual([200]);
    expect(calls.filter((c) => c.operation === 'setPermissions').map((c) => c.status)).toEqual([200, 200]);
    expect(calls.filter((c) => c.status === 403)).toEqual([]);
    // The workspace shows who the operator is there, the principal to grant; asked once for this credential (SCIM Me).
    expect(((await e2e.get<{ status: { identity?: string } }>('dbws', 'prod'))?.status.identity)).toBe(OPERATOR.userName);
    // One per credential: this workspace's, and the default workspace's, asked once the operator leads.
    expect((await emulatorCalls(e2e.emulator.url, { operation: 'currentUser' })).length).toBe(2);
  });
});

describe('an adopted endpoint whose creator Terraform left out of its ACL', () => {
  it("never grants the creator CAN_MANAGE again: the operator's PUT replaces Terraform's ACL with the spec's", { timeout: 150_000 }, async () => {
    // A person made the endpoint in the UI; Terraform's databricks_permissions then replaced its ACL, keeping only
    // Terraform's own identity at CAN_MANAGE (as the provider does), the operator's grant (step 1) and the spec's grants.
    await asTerraform('POST', '/api/2.0/serving-endpoints', { name: 'ui-chat', config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] } }, PERSON.token);
    await eventually(
      async () => {
        const made = (await asTerraform('GET', '/api/2.0/serving-endpoints/ui-chat', undefined, PERSON.token)) as { state: { config_update: string } };
        if (made.state.config_update !== 'NOT_UPDATING') throw new Error(`ui-chat is ${made.state.config_update}`);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const { id } = (await asTerraform('GET', '/api/2.0/serving-endpoints/ui-chat', undefined, PERSON.token)) as { id: string };
    // Terraform's PUT, sent here with the workspace admin's credential (which may set any endpoint's ACL).
    await asTerraform(
      'PUT',
      `/api/2.0/permissions/serving-endpoints/${id}`,
      {
        access_control_list: [
          { group_name: 'support-apps', permission_level: 'CAN_QUERY' },
          { service_principal_name: TERRAFORM.userName, permission_level: 'CAN_MANAGE' },
          { user_name: OPERATOR.userName, permission_level: 'CAN_MANAGE' },
        ],
      },
      TEST_PAT,
    );
    expect(await directAcl('ui-chat')).not.toContain(`${PERSON.userName}:CAN_MANAGE`);

    // Adopted with databricks_permissions copied, and one more grant: the PUT carries the spec and the operator.
    const object = endpoint([{ groupName: 'support-apps', permissionLevel: 'CAN_QUERY' }, { servicePrincipalName: TERRAFORM.userName, permissionLevel: 'CAN_MANAGE' }, { userName: 'alice@example.com', permissionLevel: 'CAN_VIEW' }]);
    await e2e.apply({ ...object, metadata: { ...object.metadata, name: 'ui-chat' } });
    const synced = await e2e.waitUntil('pte', 'ui-chat', (o) => condition(o, 'PermissionsSynced')?.status === 'True', 90_000);
    expect(condition(synced, 'PermissionsSynced')?.reason).toBe('Applied');
    expect(await directAcl('ui-chat')).toEqual([`${TERRAFORM.userName}:CAN_MANAGE`, 'alice@example.com:CAN_VIEW', `${OPERATOR.userName}:CAN_MANAGE`, 'support-apps:CAN_QUERY'].sort());
  });
});

describe("Terraform's service principal deleted from the workspace after the hand-over", () => {
  it('the permissions, tags, notifications and config of the next change all land: no PUT names the deleted creator', { timeout: 150_000 }, async () => {
    const generationOf = (o: Record<string, unknown>) => (o['metadata'] as { generation: number }).generation;
    const object = endpoint([{ groupName: 'support-apps', permissionLevel: 'CAN_QUERY' }]);
    await e2e.apply({ ...object, spec: { ...object.spec, tags: { team: 'genai' } } });
    await e2e.waitUntil('pte', 'tf-chat', (o) => isReady(o) && condition(o, 'PermissionsSynced')?.status === 'True', 90_000);

    // The Terraform pipeline is decommissioned: its service principal, the endpoint's creator, leaves the workspace.
    const deleted = await fetch(new URL(`/__emulator/principals/${TERRAFORM.userName}`, e2e.emulator.url), { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    const handedOver = (await emulatorCalls(e2e.emulator.url)).at(-1)?.seq ?? 0;

    const changed = endpoint([{ groupName: 'support-apps', permissionLevel: 'CAN_QUERY' }, { userName: 'alice@example.com', permissionLevel: 'CAN_VIEW' }], 4);
    await e2e.apply({ ...changed, spec: { ...changed.spec, tags: { team: 'genai', env: 'prod' }, notifications: { onUpdateFailure: ['oncall@example.com'] } } });
    const done = await e2e.waitUntil(
      'pte',
      'tf-chat',
      (o) =>
        isReady(o) &&
        condition(o, 'Synced')?.observedGeneration === generationOf(o) &&
        ['PermissionsSynced', 'NotificationsSynced'].every((type) => condition(o, type)?.status === 'True' && condition(o, type)?.observedGeneration === generationOf(o)),
      90_000,
    );
    expect(condition(done, 'Synced')?.status).toBe('True');
    expect(await directAcl('tf-chat')).toEqual(['alice@example.com:CAN_VIEW', `${OPERATOR.userName}:CAN_MANAGE`, 'support-apps:CAN_QUERY'].sort());
    const calls = await emulatorCalls(e2e.emulator.url, { endpoint: 'tf-chat', afterSeq: handedOver });
    expect(calls.filter((c) => c.method !== 'GET' && c.status !== 200)).toEqual([]);
    const tags = ((await asTerraform('GET', '/api/2.0/serving-endpoints/tf-chat', undefined, TEST_PAT)) as { tags?: { key: string; value?: string }[] }).tags ?? [];
    expect(tags).toContainEqual({ key: 'env', value: 'prod' });
  });
});

describe("the default workspace's identity (it has no object to show it in)", () => {
  it("is in the operator's log once it leads: whom to grant CAN_MANAGE before adopting endpoints there", { timeout: 60_000 }, async () => {
    const line = await eventually(async () => {
      const found = e2e.operator
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; identity?: string; host?: string })
        .find((l) => l.msg?.startsWith('default workspace: the operator acts as this identity'));
      if (!found) throw new Error("no default workspace identity in the operator's log yet");
      return found;
    });
    // TEST_PAT (the operator's DATABRICKS_TOKEN here) is the workspace admin's, who created the workspace.
    expect(line).toMatchObject({ identity: e2e.emulator.emulator.scenario.workspace.creator, host: e2e.emulator.url });
    expect(e2e.operator.logs()).not.toContain(TEST_PAT);
  });
});
