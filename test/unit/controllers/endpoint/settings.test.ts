// The composition of the settings parts in a reconcile: one mutation at a time, every part reporting
// its own status, a part Databricks rejects isolated from the others and from the served config, and
// the create-only settings (budget policy, description) sent with the create and only reported after.
import { describe, expect, it } from 'vitest';
import { planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { afterPlan, endpointObject, endpointSpec, planInput, readyEndpoint } from '../fixtures.js';
import { acl, conditionOf, endpointWith, plan, reasons, settledWith } from './settings-fixtures.js';

const ALL = {
  aiGateway: { usageTracking: { enabled: true }, inferenceTables: { catalogName: 'missing', schemaName: 'default' } },
  permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' as const }],
  notifications: { onUpdateFailure: ['oncall@company.com'] },
};
const endpoint = endpointWith({});
const noAcl = { kind: 'found' as const, value: acl([]) };

describe('settings parts in one reconcile', () => {
  it('three parts to change give one mutation (the first part), and each part reports its own condition', () => {
    const object = settledWith({}, endpoint);
    const p = plan({ ...object, spec: endpointSpec(ALL), generation: 2 }, { endpoint, permissions: noAcl });
    expect(p.action.type).toBe('putAiGateway');
    for (const type of ['AiGatewaySynced', 'PermissionsSynced', 'NotificationsSynced']) {
      expect(conditionOf(p, type)).toMatchObject({ status: 'False', reason: 'Applying', observedGeneration: 2 });
    }
    expect(Object.keys(p.status.settings ?? {}).sort()).toEqual(['aiGateway', 'notifications', 'permissions']);
  });

  it('a part Databricks rejects is reported on its own condition; Ready, Synced and the next part go on', () => {
    const object = settledWith({}, endpoint);
    const edited = { ...object, spec: endpointSpec(ALL), generation: 2 };
    const first = plan(edited, { endpoint, permissions: noAcl });
    const failed = planActionFailure({ ...planInput(edited, { endpoint }), permissions: noAcl }, first, { kind: 'InvalidRequest', message: "Catalog 'missing' does not exist." });
    expect(failed.action.type).toBe('none');
    expect(conditionOf(failed, 'AiGatewaySynced')).toMatchObject({
      status: 'False',
      reason: 'Rejected',
      message: expect.stringMatching(/Catalog 'missing' does not exist.*Fix spec\.aiGateway.*requested-at/),
    });
    expect(conditionOf(failed, 'Ready')).toMatchObject({ status: 'True' });
    expect(conditionOf(failed, 'Synced')).toMatchObject({ status: 'True' });
    expect(reasons(failed)).toContain('Warning AiGatewayRejected');

    // The next reconcile does not send the rejected gateway again: the permissions get their turn.
    const next = plan({ ...edited, status: failed.status }, { endpoint, permissions: noAcl });
    expect(next.action.type).toBe('setPermissions');
    expect(conditionOf(next, 'AiGatewaySynced')).toMatchObject({ reason: 'Rejected' });
  });

  // A setting can meet a limit of the workspace too (a quota of its own): that refusal is the part's, like any other,
  // not the endpoint's: Ready and Synced stay as they were, and the part says what Databricks said.
  it('a part refused for a limit of the workspace (QuotaExceeded) is reported on its own condition, like any refusal', () => {
    const object = settledWith({}, endpoint);
    const edited = { ...object, spec: endpointSpec(ALL), generation: 2 };
    const first = plan(edited, { endpoint, permissions: noAcl });
    const failed = planActionFailure({ ...planInput(edited, { endpoint }), permissions: noAcl }, first, { kind: 'QuotaExceeded', message: 'The quota for rate limits of this workspace has been exceeded.' });
    expect(conditionOf(failed, 'AiGatewaySynced')).toMatchObject({ status: 'False', reason: 'Rejected', message: expect.stringContaining('quota for rate limits') });
    expect(conditionOf(failed, 'Ready')).toMatchObject({ status: 'True' });
    expect(conditionOf(failed, 'Synced')).toMatchObject({ status: 'True' });
  });

  it('kstatus sees a part being applied as Reconciling and a refused part as Stalled, though Ready stays True', () => {
    const object = settledWith({}, endpoint);
    const edited = { ...object, spec: endpointSpec(ALL), generation: 2 };
    const applying = plan(edited, { endpoint, permissions: noAcl });
    expect(conditionOf(applying, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Applying' });
    expect(conditionOf(applying, 'Stalled')).toBeUndefined();
    const failed = planActionFailure({ ...planInput(edited, { endpoint }), permissions: noAcl }, applying, { kind: 'InvalidRequest', message: 'no such catalog' });
    expect(conditionOf(failed, 'Stalled')).toMatchObject({ status: 'True', reason: 'Rejected' });
    expect(conditionOf(failed, 'Reconciling')).toBeUndefined();
    expect(conditionOf(failed, 'Ready')?.status).toBe('True');
  });

  it('a change Databricks accepts but never shows is sent three times, then the part stops with NotConverging', () => {
    // E.g. a workspace that would not echo e-mail notifications on GET: without a stop, a PATCH at every reconcile.
    const object = settledWith({}, endpoint);
    let current = { ...object, spec: endpointSpec({ notifications: { onUpdateFailure: ['oncall@company.com'] } }), generation: 2 };
    const sent: string[] = [];
    for (let reconcile = 0; reconcile < 5; reconcile++) {
      const p = plan(current, { endpoint });
      sent.push(p.action.type);
      current = { ...current, status: p.status };
    }
    expect(sent).toEqual(['updateNotifications', 'updateNotifications', 'updateNotifications', 'none', 'none']);
    expect(current.status.settings?.notifications).toMatchObject({ inSync: false, attempts: 3 });
    expect(current.status.conditions?.find((c) => c.type === 'NotificationsSynced')).toMatchObject({ status: 'False', reason: 'NotConverging' });
    expect(current.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'NotConverging' });
    const retried = plan({ ...current, annotations: { 'ptoperator.io/requested-at': 'again' } }, { endpoint });
    expect(retried.action.type).toBe('updateNotifications');
  });

  it('a change that was not sent (rate limited) does not count', () => {
    const object = settledWith({}, endpoint);
    const edited = { ...object, spec: endpointSpec({ notifications: { onUpdateFailure: ['oncall@company.com'] } }), generation: 2 };
    const planned = plan(edited, { endpoint });
    const limited = planActionFailure(planInput(edited, { endpoint }), planned, { kind: 'RateLimited', message: '429', retryAfterMs: 1000 });
    expect(limited.status.settings).toEqual(edited.status.settings);
  });

  it('looks whose mutation is the tag patch (refused by 503s, then made) do not count as changes of a part', () => {
    // settings-property seed 51: three tag patches refused by 503 left the notifications NotConverging, never sent.
    const object = settledWith({}, endpoint);
    let current = { ...object, spec: endpointSpec({ tags: { team: 'search' }, notifications: { onUpdateFailure: ['oncall@company.com'] } }), generation: 2 };
    for (let refused = 0; refused < 3; refused++) {
      const planned = plan(current, { endpoint });
      expect(planned.action.type).toBe('patchTags');
      current = { ...current, status: planActionFailure(planInput(current, { endpoint }), planned, { kind: 'Transient', message: 'TEMPORARILY_UNAVAILABLE: 503' }).status };
    }
    current = { ...current, status: plan(current, { endpoint }).status };
    const tagged = endpointWith({ tags: [{ key: 'team', value: 'search' }, ...(endpoint.tags ?? []).filter((t) => t.key !== 'team')] });
    const next = plan(current, { endpoint: tagged });
    expect(conditionOf(next, 'NotificationsSynced')).toMatchObject({ status: 'False', reason: 'Applying' });
    expect(next.action.type).toBe('updateNotifications');
  });

  it("a part's Events come beside the served config's transition Event, not instead of it", () => {
    const p = plan(endpointObject({ spec: { notifications: { onUpdateFailure: ['oncall@company.com'] } } }), { endpoint });
    expect(reasons(p)).toEqual(['Normal Available', 'Normal NotificationsApplying']);
  });

  it('a new requested-at token sends a rejected part again', () => {
    const object = settledWith({}, endpoint);
    const edited = { ...object, spec: endpointSpec(ALL), generation: 2 };
    const first = plan(edited, { endpoint, permissions: noAcl });
    const failed = planActionFailure({ ...planInput(edited, { endpoint }), permissions: noAcl }, first, { kind: 'InvalidRequest', message: 'no such catalog' });
    const retried = plan({ ...edited, status: failed.status, annotations: { 'ptoperator.io/requested-at': 'now' } }, { endpoint, permissions: noAcl });
    expect(retried.action.type).toBe('putAiGateway');
  });

  it('nothing is planned for the parts while a rollout of the served config is in progress', () => {
    const object = endpointObject({ spec: ALL });
    const p = plan(object, { endpoint: { ...endpoint, state: { ready: 'READY', config_update: 'IN_PROGRESS' } }, permissions: noAcl });
    expect(p.action.type).toBe('none');
    expect(p.status.settings).toBeUndefined();
  });
});

describe('budget policy and description: create-only', () => {
  it('are sent with the create of a token-band endpoint', () => {
    const p = plan(endpointObject({ spec: { budgetPolicyId: 'pol-1', description: 'chat for support' } }), { endpoint: { kind: 'notFound' } });
    expect(p.action).toMatchObject({ type: 'create', request: { body: { budget_policy_id: 'pol-1', description: 'chat for support' } } });
  });

  it('the budget policy goes with a model-unit create too', () => {
    const p = plan(endpointObject({ spec: { budgetPolicyId: 'pol-1', throughput: { modelUnits: 50 } } }), {
      endpoint: { kind: 'notFound' },
      model: { optimizable: true, model_type: 'llama', model_unit_chunk_size: 50 },
    });
    expect(p.action).toMatchObject({ type: 'create', request: { api: 'ptCreate', body: { budget_policy_id: 'pol-1' } } });
  });

  it('route optimization goes with a token-band create (route_optimized, create-only like the budget policy)', () => {
    const p = plan(endpointObject({ spec: { routeOptimized: true } }), { endpoint: { kind: 'notFound' } });
    expect(p.action).toMatchObject({ type: 'create', request: { api: 'create', body: { route_optimized: true } } });
  });

  // Terraform's databricks_model_serving creates a model-unit endpoint through the generic create, whose body takes
  // provisioned_model_units beside description and route_optimized (reference §2.1, §2.3); the model-unit create
  // (/pt) has neither field (§2.4). Such a spec was refused at admission although Terraform makes that endpoint.
  it('a model-unit endpoint with a description or route optimization is created through the generic create, with its model units', () => {
    const model = { optimizable: true, model_type: 'llama', model_unit_chunk_size: 50 };
    const spec = { throughput: { modelUnits: 50 }, burstScaling: false, description: 'gold tier', routeOptimized: true, budgetPolicyId: 'pol-1' };
    const p = plan(endpointObject({ spec }), { endpoint: { kind: 'notFound' }, model });
    expect(p.action).toMatchObject({
      type: 'create',
      request: {
        api: 'create',
        body: {
          description: 'gold tier',
          route_optimized: true,
          budget_policy_id: 'pol-1',
          config: { served_entities: [{ entity_version: '3', provisioned_model_units: 50, burst_scaling_enabled: false }] },
        },
      },
    });
    const described = plan(endpointObject({ spec: { throughput: { modelUnits: 50 }, description: 'gold tier' } }), { endpoint: { kind: 'notFound' }, model });
    expect(described.action).toMatchObject({ type: 'create', request: { api: 'create', body: { description: 'gold tier' } } });
    expect(JSON.stringify(described.action)).not.toContain('route_optimized');
  });

  it('route optimization that differs is reported NotUpdatable, never "corrected" (Terraform would re-create the endpoint)', () => {
    const optimized = endpointWith({ route_optimized: true });
    expect(conditionOf(plan(settledWith({ routeOptimized: true }, optimized), { endpoint: optimized }), 'CreationSettingsSynced')).toMatchObject({ status: 'True', reason: 'Applied' });
    const plain = endpointWith({});
    const p = plan(settledWith({ routeOptimized: true }, plain), { endpoint: plain });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'CreationSettingsSynced')).toMatchObject({ status: 'False', reason: 'NotUpdatable', message: expect.stringContaining('route optimization off → on') });
  });

  it('an endpoint with them is Applied; a description Databricks echoes as "" equals none', () => {
    const withPolicy = endpointWith({ budget_policy_id: 'pol-1', description: '' });
    const p = plan(settledWith({ budgetPolicyId: 'pol-1' }, withPolicy), { endpoint: withPolicy });
    expect(conditionOf(p, 'CreationSettingsSynced')).toMatchObject({ status: 'True', reason: 'Applied' });
  });

  // A real workspace's GET never fills budget_policy_id: it answers effective_budget_policy_id (the Databricks CLI's
  // direct engine, PR #5708, tested on a workspace; reference "Undocumented fields seen in real responses"). Compared
  // with budget_policy_id alone, CreationSettingsSynced stayed False on every endpoint created with a policy.
  it('the policy a real workspace answers as effective_budget_policy_id (its GET never fills budget_policy_id) is Applied', () => {
    const asAnswered = endpointWith({ effective_budget_policy_id: 'pol-1' });
    const p = plan(settledWith({ budgetPolicyId: 'pol-1' }, asAnswered), { endpoint: asAnswered });
    expect(conditionOf(p, 'CreationSettingsSynced')).toMatchObject({ status: 'True', reason: 'Applied' });
    const changed = plan(settledWith({ budgetPolicyId: 'pol-1' }, asAnswered), { endpoint: endpointWith({ effective_budget_policy_id: 'pol-2' }) });
    expect(conditionOf(changed, 'CreationSettingsSynced')).toMatchObject({ status: 'False', reason: 'NotUpdatable', message: expect.stringContaining('budget policy pol-2 → pol-1') });
  });

  // Found by a Terraform user's drift check: a CAN_MANAGE granted and a rate limit removed in the UI, together with a
  // throughput change, were undone after the config's restore with Normal ...Applying Events only.
  it('parts changed in Databricks together with the served config are drift: DriftDetected once the config is restored', () => {
    const spec = { permissions: ALL.permissions, notifications: ALL.notifications };
    const inSync = endpointWith({ email_notifications: { on_update_failure: ['oncall@company.com'] } });
    const granted = { kind: 'found' as const, value: acl([{ group_name: 'ml-eng', level: 'CAN_QUERY' }]) };
    let object = settledWith(spec, inSync, { permissions: granted });
    expect(conditionOf(plan(object, { endpoint: inSync, permissions: granted }), 'PermissionsSynced')?.status).toBe('True');
    const widened = { kind: 'found' as const, value: acl([{ group_name: 'ml-eng', level: 'CAN_QUERY' }, { user_name: 'mallory@company.com', level: 'CAN_MANAGE' }]) };
    const drifted = plan(object, { endpoint: { ...readyEndpoint({ max: 3920 }), email_notifications: {} }, permissions: widened });
    expect(drifted.action.type).toBe('updateConfig');
    object = afterPlan(object, drifted);
    const restored = plan(object, { endpoint: endpointWith({}), permissions: widened });
    expect(restored.action.type).toBe('setPermissions');
    expect(restored.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('revoke mallory@company.com CAN_MANAGE') }));
    expect(restored.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining('the e-mail notifications differ') }));
  });

  it('a budget policy changed in the Databricks UI is reported with a way out, never "corrected" by a call', () => {
    const withPolicy = endpointWith({ budget_policy_id: 'pol-1' });
    const object = settledWith({ budgetPolicyId: 'pol-1' }, withPolicy);
    const p = plan(object, { endpoint: endpointWith({ budget_policy_id: 'pol-2' }) });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'CreationSettingsSynced')).toMatchObject({
      status: 'False',
      reason: 'NotUpdatable',
      message: expect.stringContaining('set them in the Databricks UI, or serve the spec from a new object'),
    });
    expect(reasons(p)).toEqual(expect.arrayContaining(['Warning DriftDetected', 'Warning CreationSettingsNotUpdatable']));
  });
});

// status.settings.<part>.applied says what Databricks shows, in the host's own words: a profile ID, table names, e-mail
// addresses, principals. A host (a tenant's DatabricksWorkspace pointed at a server it runs) chooses them: like the
// other values a host chooses that status keeps (docs/security.md, server error text), they are one line of visible
// characters and bounded, or `kubectl get -o yaml` and `describe` show terminal escapes and line breaks of its
// choosing, and megabytes of them make every status write of the object fail at the API server's size limit.
describe('a hostile host\'s echo in status.settings: one line of visible characters, bounded', () => {
  const HOSTILE = `x\u001b[31mFAKE\u2028y\n${'z'.repeat(2_000_000)}`;
  const MAX_APPLIED = 32_768;
  it.each<[string, 'telemetry' | 'notifications' | 'permissions', Parameters<typeof endpointSpec>[0], Parameters<typeof endpointWith>[0], boolean]>([
    ['a telemetry profile ID', 'telemetry', { telemetry: { profileId: 'tp-1' } }, { telemetry_config: { telemetry_profile_id: HOSTILE } }, false],
    ['a telemetry table name', 'telemetry', { telemetry: { tables: { logsTable: 'main.obs.logs' } } }, { telemetry_config: { table_names: { logs_table: HOSTILE } } }, false],
    ['telemetry features', 'telemetry', { telemetry: { profileId: 'tp-1' } }, { telemetry_config: { telemetry_profile_id: 'tp-1', enabled_telemetry_features: Array.from({ length: 100_000 }, (_, i) => `F\u001b${i}`) } }, false],
    ['a notification address', 'notifications', { notifications: { onUpdateFailure: ['oncall@company.com'] } }, { email_notifications: { on_update_failure: [HOSTILE] } }, false],
    ['a principal', 'permissions', { permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' as const }] }, {}, true],
  ])('%s', (_, part, spec, fields, viaAcl) => {
    const shown = endpointWith(fields);
    const permissions = { kind: 'found' as const, value: acl(viaAcl ? [{ group_name: HOSTILE, level: 'CAN_QUERY' }] : []) };
    const p = plan({ ...settledWith({}, shown), spec: endpointSpec(spec), generation: 2 }, { endpoint: shown, permissions });
    const applied = p.status.settings?.[part]?.applied ?? '';
    expect(applied).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
    // what the host sent, escaped (line breaks as a space)
    expect(applied).toMatch(fields.telemetry_config?.enabled_telemetry_features ? /f\\u001b0, / : /x\\u001b\[31mFAKE y /i);
    expect(applied.length).toBeLessThanOrEqual(MAX_APPLIED);
  });
});
