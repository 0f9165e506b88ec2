// An object switched between spec.managementPolicy Full and Observe (observe-only.ts): status shows only what is true
// for the policy it has now, what ownership rests on survives the switch back, and drift is told once per change.
import { describe, expect, it } from 'vitest';
import type { EndpointStatus } from '../../../../src/api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { SlotWaits } from '../../../../src/controllers/endpoint/slot-waits.js';
import { withTelemetryAnswer } from '../../../../src/controllers/endpoint/telemetry.js';
import { ENDPOINT_ID, HOST, MODEL, NOW, OWNER, type SpecInput, afterPlan, condition, edited, endpointObject, iso, readyEndpoint, reconcile, updatingEndpoint } from '../fixtures.js';
import { CREATOR, acl, plan } from './settings-fixtures.js';

/** An ACL as the reconciler's read hands it to the permissions part. */
const found = (value: ReturnType<typeof acl>) => ({ kind: 'found' as const, value });

const OBSERVE: SpecInput = { managementPolicy: 'Observe' };
const later = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

/** What a Full object that went through a capacity wait, a refused part and an adoption leaves in its status. */
const fullStatus = (): EndpointStatus => ({
  observedGeneration: 1,
  endpointName: 'llama-chat',
  endpointId: ENDPOINT_ID,
  workspaceHost: HOST,
  adoption: { endpointId: ENDPOINT_ID, time: iso(later(-600)), uid: OWNER.uid },
  lastHandledRequestedAt: 'try-1',
  capacity: { attempts: 2, firstFailureTime: iso(later(-60)), nextRetryTime: iso(later(5)), lastMessage: 'no GPU capacity', exhausted: false, retryTimeout: '6h' },
  rejectedGeneration: 1,
  servedGeneration: 1,
  tagPatchGeneration: 1,
  managedTagKeys: ['cost', 'team'],
  settings: { notifications: { applied: 'on update success: someone@company.com', inSync: false, attempts: 2 } },
});

const NOTIFICATIONS: SpecInput = { notifications: { onUpdateSuccess: ['ml-team@company.com'] } };
/** The object's own endpoint (owner tags), its notifications differing from the spec. */
const ownEndpoint = (): ServingEndpointDetailed => ({ ...readyEndpoint({}, { owner: OWNER }), email_notifications: { on_update_success: ['someone@company.com'] } });

describe('Full → Observe: the first look shows only what is true for an observer', () => {
  const full = endpointObject({ spec: NOTIFICATIONS, status: fullStatus() });
  const observer = edited(full, { ...NOTIFICATIONS, ...OBSERVE });
  const first = reconcile(observer, { endpoint: ownEndpoint() });

  it.each<[keyof EndpointStatus, string]>([
    ['capacity', 'an observer never retries a rollout for GPU capacity'],
    ['rejectedGeneration', 'an observer sends nothing Databricks could refuse'],
    ['servedGeneration', 'an observer never restores a served config'],
    ['tagPatchGeneration', 'an observer patches no tag'],
    ['managedTagKeys', 'an observer manages no tag: a later Full takes those of its spec then'],
  ])('status.%s goes (%s)', (field) => {
    expect(first.status[field]).toBeUndefined();
  });

  it('a settings part keeps how it compares, not how often Full sent it (attempts)', () => {
    expect(first.status.settings?.notifications).toEqual({ applied: expect.any(String), inSync: false });
  });

  it.each<[keyof EndpointStatus]>([['endpointId'], ['workspaceHost'], ['adoption'], ['lastHandledRequestedAt'], ['endpointName'], ['optimization']])(
    'status.%s stays (what ownership, the workspace-move check or requested-at rest on, or still true)',
    (field) => {
      expect(first.status[field]).toBeDefined();
      if (field !== 'optimization') expect(first.status[field]).toEqual(fullStatus()[field]);
    },
  );

  it('the next look writes nothing and tells nothing (steady state)', () => {
    const second = reconcile(afterPlan(observer, first), { endpoint: ownEndpoint(), now: later(5) });
    expect(second.status).toEqual(first.status);
    expect(second.events).toEqual([]);
  });
});

describe('Full → Observe → Full: what ownership rests on survives', () => {
  it('an adopted endpoint whose owner tags were never written (they wait for its next change) is still the object\'s: Full acts on it (its owner tags first), no adopt needed', () => {
    const adopted = (): ServingEndpointDetailed => readyEndpoint({ version: '4' }, { owner: null, tags: [{ key: 'team', value: 'genai' }] });
    const full = endpointObject({ status: { ...fullStatus(), managedTagKeys: ['team'] } });
    const observer = edited(full, OBSERVE);
    const observed = afterPlan(observer, reconcile(observer, { endpoint: adopted() }));
    expect(condition(observed, 'Synced')).toMatchObject({ reason: 'Drifted' });
    const back = edited(observed, {});
    const plan = reconcile(back, { endpoint: adopted() });
    expect(condition(plan, 'Synced')?.reason).not.toBe('NotOwned');
    expect(plan.action.type).toBe('patchTags');
  });

  describe('an endpoint the object created, deleted outside Kubernetes while observed', () => {
    const { adoption: _, ...created } = fullStatus();
    const observer = edited(endpointObject({ status: created }), OBSERVE);

    it('gone: the observer keeps its record (a later Full says the endpoint it created no longer exists, and creates it where it was)', () => {
      const gone = reconcile(observer, { endpoint: { kind: 'notFound' } });
      expect(gone.status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: HOST });
      const full = reconcile(edited(afterPlan(observer, gone), {}), { endpoint: { kind: 'notFound' } });
      expect(full.action.type).toBe('create');
      expect(full.events).toContainEqual(expect.objectContaining({ reason: 'EndpointMissing', message: expect.stringContaining(`(id ${ENDPOINT_ID}) no longer exists`) }));
    });

    it('made again there (another ID): the record of the one it created goes, so status names no endpoint beside the new one\'s served config; a later Full does not take the new one', () => {
      const remade = (): ServingEndpointDetailed => ({ ...readyEndpoint({}, { owner: null, tags: [{ key: 'team', value: 'genai' }] }), id: 'ffff0000ffff0000ffff0000ffff0000' });
      const seen = reconcile(observer, { endpoint: remade() });
      expect(seen.status.served).toMatchObject({ modelVersion: '3' });
      for (const field of ['endpointId', 'workspaceHost', 'adoption'] as const) expect(seen.status[field]).toBeUndefined();
      const plan = reconcile(edited(afterPlan(observer, seen), {}), { endpoint: remade() });
      expect(plan.action).toEqual({ type: 'none' });
      expect(condition(plan, 'Synced')).toMatchObject({ reason: 'NotOwned', message: expect.stringContaining('adopt') });
    });

    it('a record made in another workspace stays whatever this one holds (the object does not create a second endpoint there)', () => {
      const elsewhere = { ...created, workspaceHost: 'https://adb-99.9.azuredatabricks.net' };
      const moved = edited(endpointObject({ status: elsewhere }), OBSERVE);
      const remade = { ...readyEndpoint({}, { owner: null, tags: [{ key: 'team', value: 'genai' }] }), id: 'ffff0000ffff0000ffff0000ffff0000' };
      expect(reconcile(moved, { endpoint: remade }).status).toMatchObject({ endpointId: ENDPOINT_ID, workspaceHost: elsewhere.workspaceHost });
    });
  });
});

describe('an observer whose endpoint is deleted outside Kubernetes, then made again there', () => {
  const observer = endpointObject({ spec: OBSERVE, hasFinalizer: false });
  const elsewhere = (id: string): ServingEndpointDetailed => ({ ...readyEndpoint({}, { owner: null, tags: [{ key: 'team', value: 'genai' }] }), id });

  it('gone: nothing of it is left in status (no served config, state or URL for kubectl get pte to show); back: shown again', () => {
    const seen = afterPlan(observer, reconcile(observer, { endpoint: elsewhere('a1') }));
    expect(seen.status.served).toBeDefined();
    const gone = reconcile(seen, { endpoint: { kind: 'notFound' }, now: later(5) });
    for (const field of ['served', 'state', 'endpointUrl', 'pending', 'endpointId'] as const) expect(gone.status[field]).toBeUndefined();
    expect(condition(gone, 'Ready')).toMatchObject({ status: 'False', reason: 'EndpointNotFound' });
    // What served is gone: kubectl describe says so as a Warning, as Full's EndpointMissing does.
    expect(gone.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'EndpointNotFound' })]);
    const back = reconcile(afterPlan(seen, gone), { endpoint: elsewhere('b2'), now: later(10) });
    expect(condition(back, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(back.status.served).toMatchObject({ modelVersion: '3' });
    expect(back.status.endpointId).toBeUndefined();
  });
});

describe('drift of an observed endpoint: one Event per change of what differs', () => {
  const FOUR_PARTS: SpecInput = {
    ...OBSERVE,
    aiGateway: { usageTracking: { enabled: true } },
    notifications: { onUpdateSuccess: ['ml-team@company.com'] },
    telemetry: { tables: { logsTable: 'main.obs.logs' } },
    budgetPolicyId: 'policy-1',
  };
  const observer = endpointObject({ spec: FOUR_PARTS, hasFinalizer: false });
  const elsewhere = (fields: Partial<ServingEndpointDetailed> = {}): ServingEndpointDetailed => ({ ...readyEndpoint({}, { owner: null, tags: [{ key: 'team', value: 'genai' }] }), ...fields });

  it('four drifted parts on the first look: one Warning Drifted, in the words of Synced, naming all four; the next look none', () => {
    const first = reconcile(observer, { endpoint: elsewhere() });
    const synced = condition(first, 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'Drifted' });
    for (const part of ['AiGatewaySynced', 'NotificationsSynced', 'TelemetrySynced', 'CreationSettingsSynced']) expect(synced?.message).toContain(`${part}: `);
    expect(first.events).toEqual([{ type: 'Warning', reason: 'Drifted', message: synced?.message }]);
    expect(reconcile(afterPlan(observer, first), { endpoint: elsewhere(), now: later(5) }).events).toEqual([]);
  });

  it('a part comes back in line while others still differ: one new Drifted Event naming those left; all in line: one Normal Event', () => {
    const first = afterPlan(observer, reconcile(observer, { endpoint: elsewhere() }));
    const fixed = elsewhere({ email_notifications: { on_update_success: ['ml-team@company.com'] } });
    const fewer = reconcile(first, { endpoint: fixed, now: later(5) });
    const synced = condition(fewer, 'Synced');
    expect(synced?.message).not.toContain('NotificationsSynced');
    expect(fewer.events).toEqual([{ type: 'Warning', reason: 'Drifted', message: synced?.message }]);
    expect(reconcile(afterPlan(first, fewer), { endpoint: fixed, now: later(10) }).events).toEqual([]);

    const matching = endpointObject({ spec: { ...OBSERVE, ...NOTIFICATIONS }, hasFinalizer: false });
    const drifted = afterPlan(matching, reconcile(matching, { endpoint: elsewhere() }));
    const inLine = reconcile(drifted, { endpoint: fixed, now: later(5) });
    expect(condition(inLine, 'Synced')?.status).toBe('True');
    expect(inLine.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'ReconcileSuccess' })]);
  });
});

describe('a Full object waiting for its reserved budget slot, switched to Observe', () => {
  it('gives the slot back: an observer sends nothing at it', () => {
    const waits = new SlotWaits();
    const released: string[] = [];
    waits.record('ml/llama-chat', { generation: 3, until: 10_000, release: () => released.push('ml/llama-chat') });
    expect(waits.remainingMs('ml/llama-chat', { generation: 4, deleting: false, paused: false, observeOnly: true }, 1_000)).toBeUndefined();
    expect(released).toEqual(['ml/llama-chat']);
  });
});

// An observer only compares its settings parts (status.settings holds how each compares). A user who switches to Full
// and drops a part from the spec in the same edit (it was there to compare with what Terraform set) had the operator
// take the part for one it had managed and remove it: every grant but its own revoked, the AI Gateway turned off, the
// e-mail lists and the telemetry config cleared, though the operator never set them. A tag dropped so stays (the
// observer's managedTagKeys go); so does a part.
describe('Observe → Full with a settings part dropped in the same edit: the part was only compared, so it is left alone in Databricks', () => {
  const full = { ready: true, host: HOST, identity: 'the operator', principal: CREATOR };
  const terraformAcl = acl([{ group_name: 'terraform-team', level: 'CAN_MANAGE' }]);
  const cases: [string, SpecInput, Partial<ServingEndpointDetailed>, string][] = [
    ['aiGateway', { aiGateway: { usageTracking: { enabled: true } } }, { ai_gateway: { usage_tracking_config: { enabled: false }, rate_limits: [{ calls: 5, key: 'endpoint', renewal_period: 'minute' }] } }, 'AiGatewaySynced'],
    ['notifications', NOTIFICATIONS, { email_notifications: { on_update_success: ['someone@company.com'] } }, 'NotificationsSynced'],
    ['telemetry', { telemetry: { profileId: 'tp-1' } }, { telemetry_config: { telemetry_profile_id: 'tp-7' } }, 'TelemetrySynced'],
    ['permissions', { permissions: [{ groupName: 'ml-engineers', permissionLevel: 'CAN_QUERY' }] }, {}, 'PermissionsSynced'],
  ];

  it.each(cases)('%s: nothing is sent, and status no longer shows the part', (part, spec, fields, conditionType) => {
    const endpoint = (): ServingEndpointDetailed => ({ ...readyEndpoint({}, { owner: OWNER }), ...fields });
    const reads = { endpoint: endpoint(), workspace: full, permissions: found(terraformAcl) };
    const observer = endpointObject({ spec: { ...spec, ...OBSERVE } });
    const observed = afterPlan(observer, plan(observer, reads));
    expect(observed.status.settings?.[part as 'aiGateway']).toBeDefined();
    const fullAgain = plan(edited(observed, {}), { ...reads, now: later(5) });
    expect(fullAgain.action).toEqual({ type: 'none' });
    expect(fullAgain.status.settings?.[part as 'aiGateway']).toBeUndefined();
    expect(fullAgain.status.conditions?.find((c) => c.type === conditionType)).toBeUndefined();
    expect(fullAgain.events.map((e) => e.reason)).not.toContain('SettingRemoved');
  });
});

describe('Observe → Full with spec.permissions dropped, the observer\'s last read of the ACL having failed', () => {
  it('the grants are left alone: the observer never managed them', () => {
    const full = { ready: true, host: HOST, identity: 'the operator', principal: CREATOR };
    const reads = { endpoint: readyEndpoint({}, { owner: OWNER }), workspace: full, permissions: found(acl([{ group_name: 'terraform-team', level: 'CAN_MANAGE' }])) };
    const observer = endpointObject({ spec: { permissions: [{ groupName: 'ml-engineers', permissionLevel: 'CAN_QUERY' }], ...OBSERVE } });
    const observed = afterPlan(observer, plan(observer, reads));
    const unreadable = afterPlan(observed, plan(observed, { ...reads, permissions: { kind: 'failed', message: '503 from Databricks' }, now: later(5) }));
    expect(unreadable.status.conditions?.find((c) => c.type === 'PermissionsSynced')?.reason).toBe('ObserveFailed');
    const fullAgain = plan(edited(unreadable, {}), { ...reads, now: later(10) });
    expect(fullAgain.action).toEqual({ type: 'none' });
    expect(fullAgain.status.settings?.permissions).toBeUndefined();
  });
});

describe('Full → Observe → Full with spec.telemetry tables', () => {
  it('the profile Databricks made of the tables the operator sent is still known as its own: nothing is sent again', () => {
    const TELEMETRY: SpecInput = { telemetry: { tables: { logsTable: 'main.obs.logs' } } };
    const made = (): ServingEndpointDetailed => ({ ...readyEndpoint({}, { owner: OWNER }), telemetry_config: { telemetry_profile_id: 'tp-9' } });
    const object = endpointObject({ spec: TELEMETRY });
    const sending = plan(object, { endpoint: readyEndpoint({}, { owner: OWNER }) });
    expect(sending.action.type).toBe('patchTelemetryConfig');
    const sent = afterPlan(object, withTelemetryAnswer(sending, object.spec.telemetry, made()));
    const settled = afterPlan(sent, plan(sent, { endpoint: made(), now: later(1) }));
    expect(settled.status.settings?.telemetry).toMatchObject({ inSync: true, profileId: 'tp-9' });
    const observer = edited(settled, { ...TELEMETRY, ...OBSERVE });
    const observed = afterPlan(observer, plan(observer, { endpoint: made(), now: later(2) }));
    const fullAgain = plan(edited(observed, TELEMETRY), { endpoint: made(), now: later(3) });
    expect(fullAgain.action).toEqual({ type: 'none' });
    expect(fullAgain.status.settings?.telemetry).toMatchObject({ inSync: true, profileId: 'tp-9' });
  });
});

describe('Observe → Full with a new model.version, then spec.permissions dropped while it rolls out', () => {
  it('Synced does not say the permissions wait for the rollout: none will be sent when it ends', () => {
    const full = { ready: true, host: HOST, identity: 'the operator', principal: CREATOR };
    const terraformAcl = found(acl([{ group_name: 'terraform-team', level: 'CAN_MANAGE' }]));
    const PERMISSIONS: SpecInput = { permissions: [{ groupName: 'ml-engineers', permissionLevel: 'CAN_QUERY' }] };
    const V4: SpecInput = { model: { name: MODEL, version: '4' } };
    const observer = endpointObject({ spec: { ...PERMISSIONS, ...OBSERVE } });
    const observed = afterPlan(observer, plan(observer, { endpoint: readyEndpoint({}, { owner: OWNER }), workspace: full, permissions: terraformAcl }));
    const object = edited(observed, { ...PERMISSIONS, ...V4 });
    const sending = plan(object, { endpoint: readyEndpoint({}, { owner: OWNER }), workspace: full, permissions: terraformAcl, now: later(1) });
    expect(sending.action.type).toBe('updateConfig');
    const dropped = edited(afterPlan(object, sending), V4);
    const during = plan(dropped, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }, { owner: OWNER }), workspace: full, now: later(2) });
    expect(condition(during, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    const ended = plan(afterPlan(dropped, during), { endpoint: readyEndpoint({ version: '4' }, { owner: OWNER }), workspace: full, permissions: terraformAcl, now: later(3) });
    expect(ended.action).toEqual({ type: 'none' });
  });
});
