// spec.managementPolicy: Observe (observe-only.ts): the endpoint is read and reported on, never changed.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation, EndpointSpec } from '../../../../src/api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { observationsNeeded } from '../../../../src/controllers/endpoint/plan.js';
import { summarizeConditions } from '../../../../src/controllers/endpoint/status-summary.js';
import {
  HOST,
  MODEL,
  NOT_FOUND,
  NOW,
  OTHER_OWNER,
  OWNER,
  type SpecInput,
  afterPlan,
  annotated,
  condition,
  creatingEndpoint,
  edited,
  failed,
  endpointObject,
  endpointOfAnotherObject,
  failedEndpoint,
  readyEndpoint,
  reconcile,
  updatingEndpoint,
} from '../fixtures.js';
import { pollWindow, requeueAfter } from './plan-fixtures.js';

const OBSERVE: SpecInput = { managementPolicy: 'Observe' };
/** An endpoint made outside the operator (no owner tags) serving what the spec asks for. */
const terraformEndpoint = (served = {}, tags = [{ key: 'team', value: 'genai' }]) => readyEndpoint(served, { owner: null, tags });
const observer = (spec: SpecInput = {}, options: { hasFinalizer?: boolean } = {}) => endpointObject({ spec: { ...OBSERVE, ...spec }, hasFinalizer: options.hasFinalizer ?? false });
const conditionOf = (plan: { status: { conditions?: { type: string }[] } }, type: string) => plan.status.conditions?.find((c) => c.type === type);

describe('observe-only: what Ready and Synced say', () => {
  it('an endpoint made elsewhere that matches the spec: Ready True, Synced True, its URL and state in status, no claim recorded, looked at again at the poll interval', () => {
    const plan = reconcile(observer(), { endpoint: terraformEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available', message: 'version 3 at 1960-2940 tokens/s serves' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess', message: expect.stringContaining('managementPolicy is Observe') });
    expect(plan.status.endpointUrl).toBe(`${HOST}/serving-endpoints/llama-chat/invocations`);
    expect(plan.status.served).toMatchObject({ modelVersion: '3' });
    // status.endpointId is a claim the ownership rules read: an observer makes none.
    expect(plan.status.endpointId).toBeUndefined();
    expect(plan.status.adoption).toBeUndefined();
    expect(requeueAfter(plan)).toBeGreaterThanOrEqual(pollWindow[0]);
    expect(requeueAfter(plan)).toBeLessThanOrEqual(pollWindow[1]);
  });

  it.each([
    ['matching', { ...terraformEndpoint(), email_notifications: { on_update_success: ['ml-team@company.com'] } }],
    ['differing in config and a settings part', { ...terraformEndpoint({ version: '4' }), email_notifications: { on_update_success: ['someone@company.com'] } }],
  ])('a steady state (%s) writes nothing: the second look plans the status the first wrote, and no Event', (state, endpoint) => {
    const object = observer({ notifications: { onUpdateSuccess: ['ml-team@company.com'] } });
    const first = reconcile(object, { endpoint });
    expect(condition(first, 'Synced')?.status).toBe(state === 'matching' ? 'True' : 'False');
    const second = reconcile(afterPlan(object, first), { endpoint, now: new Date(NOW.getTime() + 300_000) });
    expect(second.status).toEqual(first.status);
    expect(second.events).toEqual([]);
  });

  it.each<[string, ServingEndpointDetailed, string, string]>([
    ['a rollout in progress', updatingEndpoint({ version: '3' }, { version: '4' }), 'Updating', 'Databricks is rolling out version 4'],
    ['an endpoint being created', creatingEndpoint(), 'Creating', 'Databricks is creating the endpoint'],
    ['a failed rollout', failedEndpoint({ version: '3' }, { version: '4' }), 'UpdateFailed', 'the last rollout failed: DEPLOYMENT_ABORTED'],
    ['an endpoint Databricks reports not ready', { ...terraformEndpoint(), state: { ready: 'NOT_READY', config_update: 'NOT_UPDATING' } }, 'NotReady', 'Databricks reports the endpoint NOT_READY'],
  ])('%s: Ready False %s, from what Databricks reports, nothing sent', (_, body, reason, message) => {
    const endpoint = { ...body, tags: [{ key: 'team', value: 'genai' }] };
    const plan = reconcile(observer(), { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason, message: expect.stringContaining(message) });
  });

  it('no endpoint: Ready and Synced False EndpointNotFound, saying nothing is created; looked at again at the poll interval', () => {
    const plan = reconcile(observer(), { endpoint: NOT_FOUND });
    expect(plan.action).toEqual({ type: 'none' });
    for (const type of ['Ready', 'Synced'] as const) {
      expect(condition(plan, type)).toMatchObject({ status: 'False', reason: 'EndpointNotFound', message: expect.stringContaining('managementPolicy is Observe, so the operator does not create it') });
    }
    expect(requeueAfter(plan)).toBeGreaterThanOrEqual(pollWindow[0]);
  });

  it.each<[string, ServingEndpointDetailed | typeof NOT_FOUND]>([
    ['deleted', NOT_FOUND],
    ['taken over by another live object', endpointOfAnotherObject()],
  ])('an endpoint observed with its settings, then %s: no part condition or settings status is left to say it matched', (_, later) => {
    const object = observer({ notifications: { onUpdateSuccess: ['ml-team@company.com'] } });
    const endpoint = { ...terraformEndpoint(), email_notifications: { on_update_success: ['ml-team@company.com'] } };
    const seen = afterPlan(object, reconcile(object, { endpoint }));
    expect(conditionOf(seen, 'NotificationsSynced')).toMatchObject({ reason: 'Observed' });
    const gone = reconcile(seen, { endpoint: later, tenancy: { taggedOwnerPresence: 'live' } });
    expect(conditionOf(gone, 'NotificationsSynced')).toBeUndefined();
    expect(gone.status.settings).toBeUndefined();
  });

  it('an endpoint that differs: Synced False Drifted naming each difference as the planners describe it; Ready still says what Databricks reports', () => {
    const plan = reconcile(observer({ tags: { team: 'genai', cost: 'a1' } }), { endpoint: terraformEndpoint({ version: '4', min: 980, max: 1960 }) });
    expect(plan.action).toEqual({ type: 'none' });
    const synced = condition(plan, 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'Drifted' });
    expect(synced?.message).toContain('served config: version 4 → 3, throughput 980-1960 → 1960-2940 tokens/s');
    expect(synced?.message).toContain('tag cost missing');
    expect(synced?.message).toMatch(/nothing is changed: managementPolicy is Observe$/);
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(plan.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'Drifted' })]);
  });

  it('a drifted observed endpoint is neither Reconciling nor Stalled (kstatus follows Ready: Current), as a paused one', () => {
    const plan = reconcile(observer(), { endpoint: terraformEndpoint({ version: '4' }) });
    const types = (plan.status.conditions ?? []).map((c) => c.type);
    expect(types).not.toContain('Reconciling');
    expect(types).not.toContain('Stalled');
    // summarizeConditions is idempotent on it
    expect(summarizeConditions(plan.status.conditions as never, 1, NOW, 1).map((c) => c.type).sort()).toEqual(types.sort());
  });

  it('tags on the endpoint the spec does not name are no difference (they are not the spec\'s business)', () => {
    const plan = reconcile(observer(), { endpoint: terraformEndpoint({}, [{ key: 'team', value: 'genai' }, { key: 'owner', value: 'terraform' }]) });
    expect(condition(plan, 'Synced')?.status).toBe('True');
  });

  it('a settings part that differs: its condition is Drifted, Synced names it, and nothing is sent', () => {
    const notifications = { onUpdateSuccess: ['ml-team@company.com'] };
    const endpoint = { ...terraformEndpoint(), email_notifications: { on_update_success: ['someone@company.com'] } };
    const plan = reconcile(observer({ notifications }), { endpoint });
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditionOf(plan, 'NotificationsSynced')).toMatchObject({ status: 'False', reason: 'Drifted', message: expect.stringContaining('nothing is changed: managementPolicy is Observe') });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'Drifted', message: expect.stringContaining('NotificationsSynced: ') });
    const same = reconcile(observer({ notifications }), { endpoint: { ...terraformEndpoint(), email_notifications: { on_update_success: ['ml-team@company.com'] } } });
    expect(conditionOf(same, 'NotificationsSynced')).toMatchObject({ status: 'True', reason: 'Observed' });
    expect(condition(same, 'Synced')?.status).toBe('True');
  });
});

describe('observe-only: never a Databricks mutation', () => {
  const endpoints: [string, ServingEndpointDetailed | typeof NOT_FOUND][] = [
    ['absent', NOT_FOUND],
    ['made elsewhere, matching', terraformEndpoint()],
    ['made elsewhere, another version and tags', terraformEndpoint({ version: '4' }, [])],
    ['rolling out', updatingEndpoint({ version: '3' }, { version: '4' })],
    ['failed', failedEndpoint({ version: '3' }, { version: '4' })],
    ['created by this object (Full before), drifted', readyEndpoint({ version: '4' }, { owner: OWNER, tags: [] })],
    ['another object\'s', endpointOfAnotherObject()],
  ];
  it.each(endpoints)('%s: the plan sends nothing, first look or later, with or without a new generation or requested-at', (_, endpoint) => {
    let object = observer({ aiGateway: { usageTracking: { enabled: true } }, notifications: { onUpdateSuccess: ['a@company.com'] } }, { hasFinalizer: true });
    for (let step = 0; step < 3; step++) {
      const plan = reconcile(object, { endpoint, tenancy: { taggedOwnerPresence: 'live' } });
      expect(plan.action).toEqual({ type: 'none' });
      object = step === 1 ? annotated(edited(afterPlan(object, plan), { ...OBSERVE, throughput: { chunks: { min: 1, max: 2 } } }), { [EndpointAnnotation.requestedAt]: 'x' }) : afterPlan(object, plan);
    }
  });

  it('deleting the object never reads nor deletes the endpoint, whatever deletionPolicy says: the finalizer (from Full, or a claim fence) just goes', () => {
    for (const deletionPolicy of ['Delete', 'Orphan'] as const) {
      const object = { ...observer({ deletionPolicy }, { hasFinalizer: true }), deleting: true };
      expect(observationsNeeded(object, true)).toEqual({ endpoint: false, model: false });
      const plan = reconcile(object, { endpoint: readyEndpoint({}, { owner: OWNER }) });
      expect(plan.action).toEqual({ type: 'removeFinalizer' });
    }
    expect(reconcile({ ...observer(), deleting: true }).action).toEqual({ type: 'none' });
  });

  it('admission refuses a schedule or a canary with Observe (they steer what is sent)', () => {
    const base = { model: { name: MODEL, version: '3' }, throughput: { chunks: { min: 2, max: 3 } }, managementPolicy: 'Observe' };
    expect(EndpointSpec.safeParse(base).success).toBe(true);
    expect(EndpointSpec.safeParse({ ...base, canary: { steps: [10, 50] } }).success).toBe(false);
    expect(EndpointSpec.safeParse({ ...base, managementPolicy: 'Sometimes' }).success).toBe(false);
    expect(EndpointSpec.parse({ model: base.model, throughput: base.throughput }).managementPolicy).toBe('Full');
  });
});

describe('observe-only: tenancy (the ownership rules, as for an adoption)', () => {
  it('an endpoint tagged for another live object is NotOwned, and status shows nothing of it', () => {
    const plan = reconcile(observer(), { endpoint: endpointOfAnotherObject({ version: '4' }), tenancy: { taggedOwnerPresence: 'live' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(condition(plan, 'Synced')?.message).not.toContain('version 4');
    expect(plan.status.endpointUrl).toBeUndefined();
    expect(plan.status.served).toBeUndefined();
    expect(plan.status.state).toBeUndefined();
  });

  it('one another object holds by its status record, or tagged for an object of another namespace without --allow-cross-namespace-adoption, is NotOwned too', () => {
    expect(condition(reconcile(observer(), { endpoint: terraformEndpoint(), tenancy: { recordedHolder: 'ml.other', recordedBy: 'adoption' } }), 'Synced')?.reason).toBe('NotOwned');
    const tagged = readyEndpoint({}, { owner: OTHER_OWNER });
    expect(condition(reconcile(observer(), { endpoint: tagged, tenancy: { taggedOwnerPresence: 'gone' } }), 'Synced')?.reason).toBe('NotOwned');
    expect(condition(reconcile(observer(), { endpoint: tagged, tenancy: { taggedOwnerPresence: 'gone', allowCrossNamespaceAdoption: true } }), 'Synced')?.status).toBe('True');
  });

  it('an older object claiming the same name does not keep an observer from reading (observing claims nothing)', () => {
    expect(condition(reconcile(observer(), { endpoint: terraformEndpoint(), tenancy: { olderClaimant: 'ml.first' } }), 'Synced')?.status).toBe('True');
  });

  it('Observe → Full: an endpoint made elsewhere needs ptoperator.io/adopt like any other; one the object created stays its own', () => {
    const object = observer();
    const observed = afterPlan(object, reconcile(object, { endpoint: terraformEndpoint() }));
    const full = edited(observed, { managementPolicy: 'Full' });
    const refused = reconcile(full, { endpoint: terraformEndpoint() });
    expect(refused.action).toEqual({ type: 'none' });
    expect(condition(refused, 'Synced')).toMatchObject({ reason: 'NotOwned', message: expect.stringContaining(EndpointAnnotation.adopt) });
    expect(reconcile(annotated(full, { [EndpointAnnotation.adopt]: 'true' }), { endpoint: terraformEndpoint() }).action.type).toBe('adopt');
    const own = readyEndpoint({ version: '4' }, { owner: OWNER });
    expect(reconcile(edited(afterPlan(object, reconcile(object, { endpoint: own })), { managementPolicy: 'Full' }), { endpoint: own }).action.type).toBe('updateConfig');
  });

  it('Full → Observe: the owner tags stay on the endpoint and are not reported as a difference', () => {
    const plan = reconcile(observer(), { endpoint: readyEndpoint({}, { owner: OWNER }) });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True' });
    expect(plan.action).toEqual({ type: 'none' });
  });
});

describe('observe-only: Ready is what Databricks reports, even when the spec cannot be compared', () => {
  // The model read serves only the comparison of throughputs (Synced); the endpoint's readiness needs none of it.
  const cases: [string, string, NonNullable<Parameters<typeof reconcile>[1]>['model']][] = [
    ['the spec\'s model is not in Unity Catalog', 'ModelNotFound', NOT_FOUND],
    ['the operator may not read the spec\'s model', 'PermissionDenied', failed('PermissionDenied', 'User does not have EXECUTE on model')],
  ];
  it.each(cases)('%s: Synced False %s, Ready what the endpoint is (Available), nothing sent', (_, reason, model) => {
    const plan = reconcile(observer(), { endpoint: terraformEndpoint(), model });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available', message: 'version 3 at 1960-2940 tokens/s serves' });
    expect(plan.status.state).toMatchObject({ ready: 'READY' });
  });

  it.each(cases)('%s (Synced %s), and the endpoint\'s rollout failed: Ready False UpdateFailed, as Databricks reports', (_, __, model) => {
    const plan = reconcile(observer(), { endpoint: { ...failedEndpoint({ version: '3' }, { version: '4' }), tags: [{ key: 'team', value: 'genai' }] }, model });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'UpdateFailed' });
  });

  it.each(cases)('%s (Synced %s), and the endpoint is another live object\'s: nothing of the endpoint shows', (_, __, model) => {
    const plan = reconcile(observer(), { endpoint: endpointOfAnotherObject({ version: '4' }), model, tenancy: { taggedOwnerPresence: 'live' } });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')?.status).toBe('False');
    expect(JSON.stringify(plan.status.conditions)).not.toContain('version 4');
    expect(plan.status.state).toBeUndefined();
    expect(plan.status.endpointUrl).toBeUndefined();
  });
});

describe('observe-only: a failed rollout is Stalled (kstatus Failed), as Argo CD says Degraded', () => {
  // kstatus reads Reconciling and Stalled first, and Ready only when neither is set (False: InProgress, until a timeout).
  const kstatusConditions = (plan: { status: { conditions?: { type: string; status: string; reason: string }[] } }) =>
    Object.fromEntries((plan.status.conditions ?? []).filter((c) => c.type === 'Reconciling' || c.type === 'Stalled').map((c) => [c.type, `${c.status} ${c.reason}`]));
  const failedElsewhere = () => ({ ...failedEndpoint({ version: '3' }, { version: '4' }), tags: [{ key: 'team', value: 'genai' }] });

  it.each<[string, SpecInput, Record<string, string>]>([
    ['the served config matching the spec', {}, { Stalled: 'True UpdateFailed' }],
    ['the endpoint differing from the spec (Drifted)', { model: { name: MODEL, version: '5' } }, { Stalled: 'True UpdateFailed' }],
  ])('%s', (_, spec, expected) => {
    const plan = reconcile(observer(spec), { endpoint: failedElsewhere() });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'UpdateFailed' });
    expect(kstatusConditions(plan)).toEqual(expected);
  });

  it('a rollout in progress stays progress, Drifted or not (Reconciling, or kstatus falling back to Ready)', () => {
    const rolling = { ...updatingEndpoint({ version: '3' }, { version: '4' }), tags: [{ key: 'team', value: 'genai' }] };
    expect(kstatusConditions(reconcile(observer({ model: { name: MODEL, version: '4' } }), { endpoint: rolling }))).toEqual({ Reconciling: 'True Updating' });
    const drifted = reconcile(observer(), { endpoint: rolling });
    expect(condition(drifted, 'Synced')?.reason).toBe('Drifted');
    expect(kstatusConditions(drifted)).toEqual({});
    expect(condition(drifted, 'Ready')?.status).toBe('False');
  });
});

describe('observe-only: a refused read asks for what reading needs', () => {
  it('the endpoint GET refused (403): Synced PermissionDenied asks for CAN_VIEW, which reading needs, not CAN_MANAGE', () => {
    const plan = reconcile(observer(), { endpoint: failed('PermissionDenied', 'User does not have permission to view endpoint llama-chat') });
    expect(plan.action).toEqual({ type: 'none' });
    const synced = condition(plan, 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'PermissionDenied', message: expect.stringContaining('CAN_VIEW on llama-chat') });
    expect(synced?.message).not.toContain('CAN_MANAGE');
  });
});
