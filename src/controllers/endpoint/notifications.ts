// The e-mail notifications part: spec.notifications ↔ the endpoint's email_notifications, set with
// PATCH /notifications (the given object replaces the previous one). Addresses are compared as sets,
// without regard to case. Not sent with the create: a real workspace does not echo create-time
// notifications on GET (reference §2.1), so they are set, and then observed, through the PATCH. Pure.
import type { Notifications } from '../../api/v1alpha1/index.js';
import type { EmailNotifications } from '../../databricks/api-types.js';
import { type PartContext, type PartPlan, type PartPlanner, decidePart, sameList } from './settings-part.js';

interface NormalNotifications {
  onUpdateSuccess: string[];
  onUpdateFailure: string[];
}

const normalList = (list: readonly string[] | undefined) => [...new Set((list ?? []).map((a) => a.toLowerCase()))].sort();

export const normalNotifications = (n: EmailNotifications | undefined): NormalNotifications => ({
  onUpdateSuccess: normalList(n?.on_update_success),
  onUpdateFailure: normalList(n?.on_update_failure),
});

export function notificationsBody(spec: Notifications | undefined): EmailNotifications {
  return {
    ...(spec?.onUpdateSuccess && spec.onUpdateSuccess.length > 0 && { on_update_success: spec.onUpdateSuccess }),
    ...(spec?.onUpdateFailure && spec.onUpdateFailure.length > 0 && { on_update_failure: spec.onUpdateFailure }),
  };
}

/** The inverse of notificationsBody, for import: spec.notifications of an endpoint's notifications (undefined: none). */
export function notificationsSpec(n: EmailNotifications | undefined): Notifications | undefined {
  const spec: Notifications = {
    ...(n?.on_update_success && n.on_update_success.length > 0 && { onUpdateSuccess: n.on_update_success }),
    ...(n?.on_update_failure && n.on_update_failure.length > 0 && { onUpdateFailure: n.on_update_failure }),
  };
  return Object.keys(spec).length > 0 ? spec : undefined;
}

const describeList = (list: string[]) => (list.length === 0 ? 'nobody' : list.join(', '));

export function describeNotifications(n: NormalNotifications): string {
  return `on success: ${describeList(n.onUpdateSuccess)}; on failure: ${describeList(n.onUpdateFailure)}`;
}

export function diffNotifications(desired: NormalNotifications, observed: NormalNotifications): string[] {
  const diffs: string[] = [];
  if (!sameList(desired.onUpdateSuccess, observed.onUpdateSuccess)) diffs.push(`on success ${describeList(observed.onUpdateSuccess)} → ${describeList(desired.onUpdateSuccess)}`);
  if (!sameList(desired.onUpdateFailure, observed.onUpdateFailure)) diffs.push(`on failure ${describeList(observed.onUpdateFailure)} → ${describeList(desired.onUpdateFailure)}`);
  return diffs;
}

export const notificationsPart: PartPlanner = {
  key: 'notifications',
  conditionType: 'NotificationsSynced',
  plan(context: PartContext): PartPlan {
    const body = notificationsBody(context.spec.notifications);
    const observed = normalNotifications(context.endpoint.email_notifications);
    return decidePart({
      context,
      key: 'notifications',
      wanted: context.spec.notifications !== undefined,
      what: 'the e-mail notifications',
      plural: true,
      applied: describeNotifications(observed),
      diffs: diffNotifications(normalNotifications(body), observed),
      action: { type: 'updateNotifications', name: context.endpoint.name, body: { email_notifications: body } },
    });
  },
};
