// An adopted endpoint (made by Terraform's service principal) whose spec.permissions leaves the operator out: the
// operator keeps its own grant only because it knows who it is (SCIM Me). While that read has failed (a 503, or the
// read budget at a restart with many objects: asked again a minute later), a PUT built without it revokes the
// operator's own CAN_MANAGE, and every later call is refused. The permissions wait for the identity instead.
import { describe, expect, it } from 'vitest';
import { type Endpoint } from '../../../../src/controllers/endpoint/reconciler.js';
import { readyEndpoint } from '../fixtures.js';
import { endpoint, harness } from './reconciler-harness.js';

const TF_SP = '0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d';
const OPERATOR = 'pt-operator@company.com';

const managed = { ...endpoint(), spec: { ...endpoint().spec, permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' }, { userName: 'alice@company.com', permissionLevel: 'CAN_VIEW' }] } } as unknown as Endpoint;
const direct = (entry: Record<string, string>, level: string) => ({ ...entry, all_permissions: [{ permission_level: level, inherited: false }] });
/** Terraform's hand-over: its own grant, the operator's, and the group; alice's grant is what the spec adds. */
const handedOver = () => ({
  object_type: 'serving-endpoint',
  access_control_list: [direct({ service_principal_name: TF_SP }, 'CAN_MANAGE'), direct({ user_name: OPERATOR }, 'CAN_MANAGE'), direct({ group_name: 'ml-eng' }, 'CAN_QUERY')],
});

const run = async (identity: string | undefined) => {
  const h = harness({
    object: managed,
    getEndpoint: () => ({ ...readyEndpoint(), creator: TF_SP }),
    settings: { getPermissions: handedOver },
    operatorIdentity: async () => identity,
  });
  await h.run();
  const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } } | undefined;
  return { h, permissionsSynced: status?.status.conditions.find((c) => c.type === 'PermissionsSynced') };
};

describe("the operator's identity unknown (SCIM Me failed): no permissions PUT that could revoke its own grant", () => {
  it('known: the PUT keeps the operator and the creator at CAN_MANAGE', async () => {
    const { h } = await run(OPERATOR);
    expect(h.client.setPermissions).toHaveBeenCalledTimes(1);
    const body = (h.client.setPermissions as unknown as { mock: { calls: [string, { access_control_list: object[] }][] } }).mock.calls[0]?.[1];
    expect(body?.access_control_list).toContainEqual({ user_name: OPERATOR, permission_level: 'CAN_MANAGE' });
  });

  it('unknown: nothing is sent, and PermissionsSynced says it waits for the identity', async () => {
    const { h, permissionsSynced } = await run(undefined);
    expect(h.client.setPermissions).not.toHaveBeenCalled();
    expect(permissionsSynced).toMatchObject({ status: 'False', reason: 'ObserveFailed' });
    expect(permissionsSynced?.message).toContain('SCIM Me');
  });
});
