// The e-mail notifications part planner: sets compared without order or case, one PATCH, removal.
import { describe, expect, it } from 'vitest';
import { conditionOf, endpointWith, plan, settledWith } from './settings-fixtures.js';

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
