// The principals every permissions PUT keeps at CAN_MANAGE: the endpoint's creator (while it holds that grant) AND the
// identity the operator acts as (SCIM Me's userName, passed in by the reconciler), as the Terraform provider keeps the
// current user. On an endpoint made by someone else (Terraform's service principal) they differ, and a spec that leaves
// the operator out must not lock it out. As tables: the PUT's body, what counts as a difference, InvalidSpec, and the rollout-time comparison.
import { describe, expect, it } from 'vitest';
import { permissionsDifferFromRecorded, permissionsPart } from '../../../../src/controllers/endpoint/permissions.js';
import type { PartContext } from '../../../../src/controllers/endpoint/settings-part.js';
import type { AccessControl } from '../../../../src/api/v1alpha1/index.js';
import type { ServingEndpointPermissions } from '../../../../src/databricks/api-types.js';
import { endpointObject, planInput } from '../fixtures.js';
import { planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { conditionOf, endpointWith } from './settings-fixtures.js';

/** Terraform's service principal (application ID), the creator of the adopted endpoint. */
const TF_SP = '0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d';
/** The operator's identity: a user in one table, a service principal in another. */
const OPERATOR_USER = 'pt-operator@company.com';
const OPERATOR_SP = '6f1f3c1e-8d2a-4c51-9a57-0c1d2e3f4a5b';
const QUERY_APPS: AccessControl = { groupName: 'support-apps', permissionLevel: 'CAN_QUERY' };

const entry = (name: string, level = 'CAN_MANAGE') => (name.includes('@') ? { user_name: name, permission_level: level } : { service_principal_name: name, permission_level: level });

/** The ACL as GET shows it: the given direct entries and the inherited admins. */
function acl(direct: { name: string; level: string; group?: boolean }[]): ServingEndpointPermissions {
  return {
    object_id: '/serving-endpoints/e1',
    object_type: 'serving-endpoint',
    access_control_list: [
      ...direct.map((d) => ({
        ...(d.group ? { group_name: d.name } : d.name.includes('@') ? { user_name: d.name } : { service_principal_name: d.name }),
        all_permissions: [{ permission_level: d.level, inherited: false }],
      })),
      { group_name: 'admins', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true }] },
    ],
  };
}

function context(permissions: AccessControl[], observed: ServingEndpointPermissions, operatorIdentity: string | undefined, creator = TF_SP): PartContext {
  return {
    spec: endpointObject({ spec: { permissions } }).spec,
    endpoint: endpointWith({ creator }),
    permissions: { kind: 'found', value: observed },
    previous: {},
    fresh: true,
    carriedOut: false,
    rejected: false,
    ...(operatorIdentity && { operatorIdentity }),
  };
}

const handedOver = acl([
  { name: TF_SP, level: 'CAN_MANAGE' },
  { name: OPERATOR_USER, level: 'CAN_MANAGE' },
  { name: 'support-apps', level: 'CAN_QUERY', group: true },
]);

describe('permissions: the creator (holding the CAN_MANAGE Databricks gave it at create) and the operator keep CAN_MANAGE in every PUT', () => {
  const apps = { group_name: 'support-apps', permission_level: 'CAN_QUERY' };
  it.each([
    ['operator is a user, spec leaves it out', [QUERY_APPS], OPERATOR_USER, TF_SP, [apps, entry(OPERATOR_USER), entry(TF_SP)]],
    ['operator is a service principal', [QUERY_APPS], OPERATOR_SP, TF_SP, [apps, entry(OPERATOR_SP), entry(TF_SP)]],
    ['operator listed at CAN_MANAGE: sent once, as listed', [QUERY_APPS, { userName: OPERATOR_USER, permissionLevel: 'CAN_MANAGE' as const }], OPERATOR_USER, TF_SP, [apps, entry(OPERATOR_USER), entry(TF_SP)]],
    ['operator is the creator: one entry', [QUERY_APPS], OPERATOR_USER, OPERATOR_USER, [apps, entry(OPERATOR_USER)]],
    ['operator identity in another case than the creator: one entry', [QUERY_APPS], 'PT-Operator@Company.com', OPERATOR_USER, [apps, entry('PT-Operator@Company.com')]],
    ['no operator identity given: the creator alone (the reconciler plans none while SCIM Me fails: reconciler-identity-unknown.test.ts)', [QUERY_APPS], undefined, TF_SP, [apps, entry(TF_SP)]],
  ] as const)('%s', (_, spec, operator, creator, body) => {
    const p = permissionsPart.plan(context([...spec], acl([{ name: 'alice@company.com', level: 'CAN_VIEW' }, { name: creator, level: 'CAN_MANAGE' }]), operator, creator));
    const sorted = (list: readonly object[]) => list.map((e) => JSON.stringify(e)).sort();
    expect(p.action?.type).toBe('setPermissions');
    expect(sorted((p.action as { body: { access_control_list: object[] } }).body.access_control_list)).toEqual(sorted(body));
  });

  it('an ACL holding the spec, the creator and the operator is in sync: nothing sent, neither kept principal shown as applied', () => {
    const p = permissionsPart.plan(context([QUERY_APPS], handedOver, OPERATOR_USER));
    expect(p.action).toBeUndefined();
    expect(p.condition).toMatchObject({ status: true, reason: 'Applied' });
    expect(p.status?.applied).toBe('group support-apps CAN_QUERY');
  });

  it('without the operator known, its grant reads as one to revoke (the lockout the identity prevents)', () => {
    const p = permissionsPart.plan(context([QUERY_APPS], handedOver, undefined));
    expect(p.condition?.message).toBe(`applying: revoke ${OPERATOR_USER} CAN_MANAGE`);
  });
});

// A creator that holds no direct grant any more: Terraform's databricks_permissions replaced the ACL without it (the
// provider keeps only its own identity), or the principal was deleted from the workspace, and Databricks dropped its
// entries. Adding it back would widen the ACL Terraform set, or name a principal Databricks refuses ("Principal: ...
// does not exist"), a refusal no edit of spec.permissions could cure.
describe('permissions: a creator without a direct CAN_MANAGE grant is not added back', () => {
  const withoutCreator = acl([
    { name: OPERATOR_USER, level: 'CAN_MANAGE' },
    { name: 'support-apps', level: 'CAN_QUERY', group: true },
  ]);
  const alice: AccessControl = { userName: 'alice@company.com', permissionLevel: 'CAN_VIEW' };

  it('a change of the spec sends a PUT without the creator', () => {
    const p = permissionsPart.plan(context([QUERY_APPS, alice], withoutCreator, OPERATOR_USER));
    expect(p.action?.type).toBe('setPermissions');
    const names = (p.action as { body: { access_control_list: { user_name?: string; service_principal_name?: string; group_name?: string }[] } }).body.access_control_list.map(
      (e) => e.user_name ?? e.service_principal_name ?? e.group_name,
    );
    expect(names.sort()).toEqual(['alice@company.com', OPERATOR_USER, 'support-apps'].sort());
  });

  it('the spec may list the creator at any level then: it is an ordinary entry, not InvalidSpec', () => {
    const p = permissionsPart.plan(context([QUERY_APPS, { servicePrincipalName: TF_SP, permissionLevel: 'CAN_QUERY' }], withoutCreator, OPERATOR_USER));
    expect(p.condition).toMatchObject({ status: false, reason: 'Applying', message: `applying: grant service principal ${TF_SP} CAN_QUERY` });
  });

  it('a creator that still holds CAN_MANAGE keeps it', () => {
    const p = permissionsPart.plan(context([QUERY_APPS, alice], handedOver, OPERATOR_USER));
    expect((p.action as { body: { access_control_list: object[] } }).body.access_control_list).toContainEqual(entry(TF_SP));
  });
});

describe('permissions: a spec that lowers a kept principal is InvalidSpec, naming it, and sends nothing', () => {
  it.each([
    ['the operator (a user)', { userName: OPERATOR_USER, permissionLevel: 'CAN_QUERY' as const }, OPERATOR_USER, 'the identity the operator acts as'],
    ['the operator (a service principal)', { servicePrincipalName: OPERATOR_SP, permissionLevel: 'CAN_VIEW' as const }, OPERATOR_SP, 'the identity the operator acts as'],
    ['the creator', { servicePrincipalName: TF_SP, permissionLevel: 'CAN_QUERY' as const }, TF_SP, "the endpoint's creator"],
  ])('%s', (_, lowered, name, role) => {
    const operator = name === OPERATOR_SP ? OPERATOR_SP : OPERATOR_USER;
    const p = permissionsPart.plan(context([QUERY_APPS, lowered], handedOver, operator));
    expect(p.action).toBeUndefined();
    expect(p.condition).toMatchObject({ status: false, reason: 'InvalidSpec' });
    expect(p.condition?.message).toContain(`gives ${name} ${lowered.permissionLevel}`);
    expect(p.condition?.message).toContain(role);
    expect(p.condition?.message).toContain('set CAN_MANAGE or remove the entry');
  });
});

describe('permissionsDifferFromRecorded (a rollout in progress: no ACL read) treats the creator and the operator alike', () => {
  const recorded = (applied: string) => ({ applied, inSync: true });
  it.each([
    ['the spec as recorded', [QUERY_APPS], 'group support-apps CAN_QUERY', false],
    ['the spec now lists the operator at CAN_MANAGE', [QUERY_APPS, { userName: OPERATOR_USER, permissionLevel: 'CAN_MANAGE' as const }], 'group support-apps CAN_QUERY', false],
    ['the spec now drops the operator it listed', [QUERY_APPS], `group support-apps CAN_QUERY, ${OPERATOR_USER} CAN_MANAGE`, false],
    ['the spec lists both kept principals, recorded without them', [QUERY_APPS, { userName: OPERATOR_USER, permissionLevel: 'CAN_MANAGE' as const }, { servicePrincipalName: TF_SP, permissionLevel: 'CAN_MANAGE' as const }], 'group support-apps CAN_QUERY', false],
    ['the spec lowers the operator (InvalidSpec: nothing to send)', [QUERY_APPS, { userName: OPERATOR_USER, permissionLevel: 'CAN_VIEW' as const }], 'group support-apps CAN_QUERY', false],
    ['a new grant', [QUERY_APPS, { userName: 'alice@company.com', permissionLevel: 'CAN_VIEW' as const }], 'group support-apps CAN_QUERY', true],
  ])('%s: %s', (_, spec, applied, differs) => {
    expect(permissionsDifferFromRecorded({ permissions: spec }, recorded(applied), TF_SP, OPERATOR_USER)).toBe(differs);
  });

  it('without the operator known, listing it is a change (as before the operator asked)', () => {
    expect(permissionsDifferFromRecorded({ permissions: [QUERY_APPS, { userName: OPERATOR_USER, permissionLevel: 'CAN_MANAGE' }] }, recorded('group support-apps CAN_QUERY'), TF_SP)).toBe(true);
  });
});

describe('the plan passes the workspace principal to the permissions', () => {
  it("the PUT of a settled adopted endpoint keeps the operator's identity the reconciler learnt", () => {
    const endpoint = endpointWith({ creator: TF_SP });
    const object = endpointObject({ spec: { permissions: [QUERY_APPS] } });
    const base = planInput(object, { endpoint });
    // A settled object (one look at the served config first), then the permissions part.
    let current = object;
    let last;
    for (let i = 0; i < 3; i++) {
      last = planEndpoint({ ...planInput(current, { endpoint }), workspace: { ...base.workspace, principal: OPERATOR_USER }, permissions: { kind: 'found', value: acl([{ name: TF_SP, level: 'CAN_MANAGE' }, { name: OPERATOR_USER, level: 'CAN_MANAGE' }]) } });
      if (last.action.type === 'setPermissions') break;
      current = { ...current, status: last.status } as typeof current;
    }
    expect(last?.action).toMatchObject({ type: 'setPermissions', body: { access_control_list: expect.arrayContaining([entry(OPERATOR_USER), entry(TF_SP)]) as unknown } });
    expect(conditionOf(last as NonNullable<typeof last>, 'PermissionsSynced')?.message).toBe('applying: grant group support-apps CAN_QUERY');
  });
});
