// The e-mail notifications part planner: sets compared without order or case, one PATCH, removal.
import { describe, expect, it } from 'vitest';
import { afterPlan, at, edited, readyEndpoint, updatingEndpoint } from '../fixtures.js';
import { conditionOf, endpointWith, plan, reasons, settledWith } from './settings-fixtures.js';

const spec = { onUpdateSuccess: ['ml-team@company.com'], onUpdateFailure: ['oncall@company.com', 'ml-team@company.com'] };

describe('notifications', () => {
  it.each([
    ['the same lists', { on_update_success: ['ml-team@company.com'], on_update_failure: ['oncall@company.com', 'ml-team@company.com'] }],
    ['another order and case', { on_update_success: ['ML-Team@company.com'], on_update_failure: ['ml-team@company.com', 'oncall@company.com'] }],
  ])('%s: nothing to send', (_, echoed) => {
    const endpoint = endpointWith({ email_notifications: echoed });
    const p = plan(settledWith({ notifications: spec }, endpoint), { endpoint });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'NotificationsSynced')).toMatchObject({ status: 'True', reason: 'Applied' });
  });

  it('missing notifications are set with one PATCH of the whole object', () => {
    const endpoint = endpointWith({});
    const object = settledWith({}, endpoint);
    const p = plan({ ...object, spec: { ...object.spec, notifications: spec }, generation: 2 }, { endpoint });
    expect(p.action).toEqual({
      type: 'updateNotifications',
      name: 'llama-chat',
      body: { email_notifications: { on_update_success: spec.onUpdateSuccess, on_update_failure: spec.onUpdateFailure } },
    });
  });

  // A user who changes the addresses and the throughput in one apply: the PATCH follows the rollout. The Warning told
  // them someone had changed the notifications in Databricks, when it was their own edit.
  it('notifications changed with the throughput in one edit are sent after the rollout without a DriftDetected', () => {
    const echoed = { on_update_success: ['ml-team@company.com'], on_update_failure: ['oncall@company.com', 'ml-team@company.com'] };
    let object = edited(settledWith({ notifications: spec }, endpointWith({ email_notifications: echoed })), {
      notifications: { ...spec, onUpdateSuccess: ['release@company.com'] },
      throughput: { chunks: { min: 2, max: 4 } },
    });
    const sent = plan(object, { endpoint: endpointWith({ email_notifications: echoed }), now: at(-20 * 60_000) });
    expect(sent.action.type).toBe('updateConfig');
    object = afterPlan(object, sent);
    const during = plan(object, { endpoint: { ...updatingEndpoint({}, { max: 3920 }), email_notifications: echoed }, now: at(-10 * 60_000) });
    object = afterPlan(object, during);
    const landed = plan(object, { endpoint: { ...readyEndpoint({ max: 3920 }), email_notifications: echoed } });
    expect(landed.action.type).toBe('updateNotifications');
    expect([...reasons(sent), ...reasons(during), ...reasons(landed)]).not.toContain('Warning DriftDetected');
  });

  it('removing spec.notifications clears them (PATCH with an empty object), then forgets the part', () => {
    const endpoint = endpointWith({ email_notifications: { on_update_success: ['ml-team@company.com'] } });
    const managed = settledWith({ notifications: { onUpdateSuccess: ['ml-team@company.com'] } }, endpoint);
    const removed = { ...managed, spec: { ...managed.spec, notifications: undefined }, generation: 2 };
    const first = plan(removed, { endpoint });
    expect(first.action).toEqual({ type: 'updateNotifications', name: 'llama-chat', body: { email_notifications: {} } });
    const second = plan({ ...removed, status: first.status }, { endpoint: endpointWith({}) });
    expect(second.action.type).toBe('none');
    expect(second.status.settings).toBeUndefined();
  });
});
