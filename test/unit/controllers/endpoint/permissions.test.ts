// The permissions part planner as tables: authoritative like databricks_permissions, compared the
// way Terraform reads an ACL back (no inherited entries, no admins, names case-insensitive, the
// creator only when listed), one PUT that keeps the creator at CAN_MANAGE, and removal.
import { describe, expect, it } from 'vitest';
import { Permissions } from '../../../../src/api/v1alpha1/index.js';
import type { AccessControl } from '../../../../src/api/v1alpha1/index.js';
import { planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { MINUTE, MODEL, afterPlan, at, edited, planInput, readyEndpoint, updatingEndpoint } from '../fixtures.js';
import { CREATOR, acl, conditionOf, endpointWith, plan, reasons, settledWith } from './settings-fixtures.js';

const QUERY_ALICE = { userName: 'alice@company.com', permissionLevel: 'CAN_QUERY' as const };
const MANAGE_ML = { groupName: 'ml-eng', permissionLevel: 'CAN_MANAGE' as const };
const SP = '3f1c9f5e-0b7a-4d2e-9a51-2b8f5d0c7e11';
const VIEW_SP = { servicePrincipalName: SP, permissionLevel: 'CAN_VIEW' as const };
const endpoint = endpointWith({});
const found = (value: ReturnType<typeof acl>) => ({ kind: 'found' as const, value });

describe('permissions: what Databricks echoes is not a difference', () => {
  it.each([
    ['exact entries plus creator and inherited admins', acl([{ user_name: 'alice@company.com', level: 'CAN_QUERY' }, { group_name: 'ml-eng', level: 'CAN_MANAGE' }, { service_principal_name: SP, level: 'CAN_VIEW' }])],
    ['user and service principal names in another case', acl([{ user_name: 'Alice@Company.com', level: 'CAN_QUERY' }, { group_name: 'ml-eng', level: 'CAN_MANAGE' }, { service_principal_name: SP.toUpperCase(), level: 'CAN_VIEW' }])],
  ])('%s', (_, observed) => {
    const object = settledWith({ permissions: [QUERY_ALICE, MANAGE_ML, VIEW_SP] }, endpoint, { permissions: found(observed) });
    const p = plan(object, { endpoint, permissions: found(observed) });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'PermissionsSynced')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(p.status.settings?.permissions?.applied).toBe(`alice@company.com CAN_QUERY, group ml-eng CAN_MANAGE, service principal ${SP} CAN_VIEW`);
  });
});

describe('permissions: the spec is the whole set of direct permissions', () => {
  it.each([
    ['a missing grant', [], ['grant alice@company.com CAN_QUERY']],
    ['another level', [{ user_name: 'alice@company.com', level: 'CAN_VIEW' }], ['alice@company.com CAN_VIEW → CAN_QUERY']],
    ['a grant made in the UI', [{ user_name: 'alice@company.com', level: 'CAN_QUERY' }, { user_name: 'mallory@company.com', level: 'CAN_MANAGE' }], ['revoke mallory@company.com CAN_MANAGE']],
  ])('%s is changed with one PUT that keeps the creator at CAN_MANAGE', (_, direct, diffs) => {
    const object = settledWith({}, endpoint);
    const p = plan({ ...object, spec: { ...object.spec, permissions: [QUERY_ALICE] }, generation: 2 }, { endpoint, permissions: found(acl(direct)) });
    expect(p.action).toEqual({
      type: 'setPermissions',
      endpointId: endpoint.id,
      body: { access_control_list: [{ user_name: 'alice@company.com', permission_level: 'CAN_QUERY' }, { user_name: CREATOR, permission_level: 'CAN_MANAGE' }] },
    });
    expect(conditionOf(p, 'PermissionsSynced')?.message).toBe(`applying: ${diffs.join(', ')}`);
  });

  it('a grant made out of band after the spec was applied is revoked with a DriftDetected Warning', () => {
    const applied = found(acl([{ user_name: 'alice@company.com', level: 'CAN_QUERY' }]));
    const object = settledWith({ permissions: [QUERY_ALICE] }, endpoint, { permissions: applied });
    const p = plan(object, { endpoint, permissions: found(acl([{ user_name: 'alice@company.com', level: 'CAN_QUERY' }, { group_name: 'users', level: 'CAN_QUERY' }])) });
    expect(p.action.type).toBe('setPermissions');
    expect(reasons(p)).toContain('Warning DriftDetected');
  });

  it('removing spec.permissions leaves only the creator (and the inherited admins), then forgets the part', () => {
    const applied = found(acl([{ user_name: 'alice@company.com', level: 'CAN_QUERY' }]));
    const managed = settledWith({ permissions: [QUERY_ALICE] }, endpoint, { permissions: applied });
    const removed = { ...managed, spec: { ...managed.spec, permissions: undefined }, generation: 2 };
    const first = plan(removed, { endpoint, permissions: applied });
    expect(first.action).toEqual({ type: 'setPermissions', endpointId: endpoint.id, body: { access_control_list: [{ user_name: CREATOR, permission_level: 'CAN_MANAGE' }] } });
    const second = plan({ ...removed, status: first.status }, { endpoint, permissions: found(acl([])) });
    expect(second.action.type).toBe('none');
    expect(second.status.settings?.permissions).toBeUndefined();
  });

  it('kubectl explain (the field description, docs/configuration.md) says so: leaving the field out is not removing it', () => {
    const description = Permissions.description ?? '';
    expect(description).toMatch(/never set leaves permissions alone/i);
    expect(description).toMatch(/removing it after it was set revokes every direct permission but the creator's/i);
  });

  it('an empty list is managed too: every other direct permission is revoked', () => {
    const object = settledWith({}, endpoint);
    const p = plan({ ...object, spec: { ...object.spec, permissions: [] }, generation: 2 }, { endpoint, permissions: found(acl([{ group_name: 'users', level: 'CAN_QUERY' }])) });
    expect(p.action).toMatchObject({ type: 'setPermissions', body: { access_control_list: [{ user_name: CREATOR, permission_level: 'CAN_MANAGE' }] } });
  });

  it('a spec that would lower the creator below CAN_MANAGE is refused without a call, with a fix', () => {
    const object = settledWith({}, endpoint);
    const p = plan({ ...object, spec: { ...object.spec, permissions: [{ userName: CREATOR, permissionLevel: 'CAN_VIEW' }] }, generation: 2 }, { endpoint, permissions: found(acl([])) });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'PermissionsSynced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('must keep CAN_MANAGE') });
  });

  it('a failed read of the ACL is its own condition and sends nothing; the served config stays Ready', () => {
    const object = settledWith({ permissions: [QUERY_ALICE] }, endpoint, { permissions: found(acl([{ user_name: 'alice@company.com', level: 'CAN_QUERY' }])) });
    const p = plan(object, { endpoint, permissions: { kind: 'failed', message: 'Databricks answered 503' } });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'PermissionsSynced')).toMatchObject({ status: 'False', reason: 'ObserveFailed' });
    expect(conditionOf(p, 'Ready')?.status).toBe('True');
  });

  it('a failed read of the ACL after Databricks rejected the spec: the rejection stands, and the PUT is not sent again', () => {
    // settings-property seed 7: the 503 turned Rejected into ObserveFailed, and the next look sent the refused PUT again.
    const ghost = { groupName: 'ghost-team', permissionLevel: 'CAN_QUERY' as const };
    const before = found(acl([]));
    const object = edited(settledWith({}, endpoint), { permissions: [ghost] });
    const sent = plan(object, { endpoint, permissions: before });
    expect(sent.action.type).toBe('setPermissions');
    const refused = planActionFailure({ ...planInput(object, { endpoint }), permissions: before }, sent, { kind: 'InvalidRequest', message: 'Principal: GroupName(ghost-team) does not exist' });
    expect(conditionOf(refused, 'PermissionsSynced')).toMatchObject({ status: 'False', reason: 'Rejected' });

    const unreadable = plan(afterPlan(object, refused), { endpoint, permissions: { kind: 'failed', message: 'Databricks answered 503' } });
    expect(conditionOf(unreadable, 'PermissionsSynced')).toMatchObject({ status: 'False', reason: 'Rejected', message: expect.stringContaining('ghost-team') });
    expect(conditionOf(unreadable, 'Stalled')?.reason).toBe('Rejected');

    const next = plan(afterPlan(object, unreadable), { endpoint, permissions: before });
    expect(next.action.type).toBe('none');
    expect(reasons(next)).toEqual([]);
  });
});

// The ACL is not read while the spec's own config rolls out: Synced says the permissions wait (held-by-rollout.ts)
// when the spec differs from what status.settings recorded. It must not say so of permissions whose PUT will not
// come: one the creator's level blocks (InvalidSpec until the spec is fixed), or a creator entry the spec adds or
// drops (the creator keeps CAN_MANAGE in every PUT, so nothing changes in Databricks).
describe('permissions during the spec\'s own rollout', () => {
  const V4 = { name: MODEL, version: '4' };
  const rolling = () => updatingEndpoint({ version: '3' }, { version: '4' });
  /** Settled with `before`, then version 4 sent, then an edit to `after` (and a new capacityRetry) while 4 rolls out. */
  function duringRollout(before: AccessControl[], after: AccessControl[], observed: ReturnType<typeof acl>) {
    let object = settledWith({ permissions: before }, readyEndpoint(), { permissions: found(observed) });
    object = edited(object, { model: V4, permissions: before });
    object = afterPlan(object, plan(object, { endpoint: readyEndpoint(), permissions: found(observed), now: at(-20 * MINUTE) }));
    object = edited(object, { model: V4, permissions: after, capacityRetry: { timeout: '2h' } });
    const during = plan(object, { endpoint: rolling(), now: at(-10 * MINUTE) });
    const ended = plan(afterPlan(object, during), { endpoint: readyEndpoint({ version: '4' }), permissions: found(observed) });
    return { during, ended };
  }

  it.each([
    ['the creator listed without CAN_MANAGE (blocked: InvalidSpec)', [{ userName: CREATOR, permissionLevel: 'CAN_QUERY' as const }], [{ userName: CREATOR, permissionLevel: 'CAN_QUERY' as const }]],
    ['the creator entry dropped from the spec', [QUERY_ALICE, { userName: CREATOR, permissionLevel: 'CAN_MANAGE' as const }], [QUERY_ALICE]],
    ['the creator entry added to the spec', [QUERY_ALICE], [QUERY_ALICE, { userName: CREATOR, permissionLevel: 'CAN_MANAGE' as const }]],
  ])('%s: nothing is sent when the rollout ends, so Synced does not wait for it', (_, before, after) => {
    const { during, ended } = duringRollout(before, after, acl([{ user_name: 'alice@company.com', level: 'CAN_QUERY' }]));
    expect(ended.action).toEqual({ type: 'none' });
    expect(conditionOf(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  });

  it('a grant added meanwhile waits for the rollout and is sent when it ends', () => {
    const { during, ended } = duringRollout([QUERY_ALICE], [QUERY_ALICE, MANAGE_ML], acl([{ user_name: 'alice@company.com', level: 'CAN_QUERY' }]));
    expect(conditionOf(during, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout', message: expect.stringMatching(/^the permissions wait for the rollout/) });
    expect(ended.action.type).toBe('setPermissions');
  });
});
