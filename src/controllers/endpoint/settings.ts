// The endpoint settings beside the served config (AI Gateway, permissions, e-mail notifications, telemetry, and
// the create-only budget policy and description), as a list of small pure part planners. planEndpoint
// consults them once the served config is settled; each part writes its own status entry and
// condition, so a failing part never hides another, and the first part that needs a change gets the
// reconcile's one mutation. Pure: no I/O, no clock.
import { EndpointAnnotation, type EndpointSpec, type SettingsStatus } from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed, ServingEndpointPermissions } from '../../databricks/api-types.js';
import { type Condition, findCondition, setCondition } from '../../kube/conditions.js';
import { clause } from '../text.js';
import { aiGatewayPart } from './ai-gateway.js';
import { creationPart } from './creation-settings.js';
import { notificationsPart } from './notifications.js';
import { permissionsPart } from './permissions.js';
import { telemetryPart } from './telemetry.js';
import { type PartKey, type PartObserved, type PartPlan, type PartPlanner, PartReason, type SchemaCheck, type SettingsAction } from './settings-part.js';

export type { PartKey, PartObserved, SchemaCheck, SettingsAction } from './settings-part.js';

/** The parts in the order they get the reconcile's one mutation. */
export const SETTINGS_PARTS: readonly PartPlanner[] = [aiGatewayPart, permissionsPart, notificationsPart, telemetryPart, creationPart];

const WARNING_PART_REASONS = new Set<string>([PartReason.Rejected, PartReason.ObserveFailed, PartReason.NotUpdatable, PartReason.InvalidSpec, PartReason.NotConverging, PartReason.Drifted]);

const OBSERVED_REASONS = new Set<string>([PartReason.Observed, PartReason.Drifted]);

export interface SettingsInput {
  spec: EndpointSpec;
  endpoint: ServingEndpointDetailed;
  permissions: PartObserved<ServingEndpointPermissions>;
  inferenceTableSchema?: SchemaCheck;
  status: { settings?: SettingsStatus; conditions?: Condition[] };
  generation: number;
  fresh: boolean;
  /** The endpoint served this spec at an earlier look: a part that differs now was changed in Databricks (drift). */
  carriedOut: boolean;
  now: Date;
  /** Who the operator is in the workspace (SCIM Me's userName), when known (permissions.ts). */
  operatorIdentity?: string;
  /** The reconcile's one mutation goes to something else first (the tag patch): no part's change is sent in it. */
  mutationTaken?: boolean;
  /** managementPolicy Observe: every part is compared and reported (Observed, Drifted), none sent (observe-only.ts). */
  observeOnly?: boolean;
}

export interface SettingsPlan {
  settings: SettingsStatus | undefined;
  conditions: Condition[];
  action: SettingsAction | undefined;
  events: PartPlan['events'];
  /** Every part with a change to send, the one that goes first (action) and those that wait for the next reconciles. */
  changing: PartKey[];
}

/** Every part planned; the first action wins, the others wait for the next reconcile. */
export function planSettings(input: SettingsInput): SettingsPlan {
  const previous = input.status.settings ?? {};
  let conditions = [...(input.status.conditions ?? [])];
  const settings: SettingsStatus = {};
  const events: PartPlan['events'] = [];
  let action: SettingsAction | undefined;
  const changing: PartKey[] = [];
  for (const part of SETTINGS_PARTS) {
    const before = findCondition(conditions, part.conditionType);
    const rejected =
      !input.observeOnly &&
      !input.fresh &&
      before?.status === 'False' && before.reason === PartReason.Rejected && before.observedGeneration === input.generation;
    const compared = part.plan({ spec: input.spec, endpoint: input.endpoint, permissions: input.permissions, ...(input.inferenceTableSchema && { inferenceTableSchema: input.inferenceTableSchema }), previous, ...(!input.observeOnly && onlyCompared({ settings: previous, conditions }, part) && { onlyCompared: true }), fresh: input.fresh, carriedOut: input.carriedOut, rejected, ...(input.operatorIdentity && { operatorIdentity: input.operatorIdentity }), ...(input.observeOnly && { observeOnly: true }) });
    // Observed, a part sends nothing, so no change is counted (a Full object's count goes with its first look).
    const planned = input.observeOnly ? compared : convergenceGuard(part, compared, previous, input.fresh, input.mutationTaken === true || action !== undefined);
    if (planned.status) settings[part.key] = planned.status as never;
    events.push(...planned.events);
    if (planned.keepCondition) {
      // unchanged
    } else if (planned.condition) {
      const next = planned.condition.status ? 'True' : 'False';
      // How an observed part compares is told by Synced, whose Drifted message lists every part that differs, in one
      // Event per change (status-summary.ts): not once more per part.
      const toldBySynced = input.observeOnly === true && OBSERVED_REASONS.has(planned.condition.reason);
      if (!toldBySynced && (before?.status !== next || before.reason !== planned.condition.reason)) {
        const warning = !planned.condition.status && WARNING_PART_REASONS.has(planned.condition.reason);
        events.push({ type: warning ? 'Warning' : 'Normal', reason: eventReason(part, planned.condition.reason), message: planned.condition.message });
      }
      conditions = setCondition(conditions, { type: part.conditionType, status: next, reason: planned.condition.reason, message: planned.condition.message }, input.generation, input.now);
    } else {
      conditions = conditions.filter((c) => c.type !== part.conditionType);
    }
    if (planned.action && !input.observeOnly) {
      changing.push(part.key);
      action ??= planned.action;
    }
  }
  return { settings: Object.keys(settings).length > 0 ? settings : undefined, conditions, action, events, changing };
}

/**
 * Whether the part's entry in status.settings was written by an observer (its condition says Observed or Drifted): it
 * records how the part compared, not that the operator managed it (settings-part.ts PartContext.onlyCompared).
 */
export function onlyCompared(status: SettingsInput['status'], part: PartPlanner): boolean {
  const condition = findCondition(status.conditions ?? [], part.conditionType);
  return status.settings?.[part.key] !== undefined && condition !== undefined && OBSERVED_REASONS.has(condition.reason);
}

/** Changes of one part that Databricks accepted without the part coming into sync, before the operator stops. */
export const MAX_UNCONVERGED_CHANGES = 3;

/**
 * Counts the changes sent for a part since it was last in sync (status.settings[part].attempts). A part
 * Databricks accepts but never shows as sent (an echo this planner does not expect) would otherwise be sent
 * at every reconcile: after MAX_UNCONVERGED_CHANGES it stops with NotConverging until the spec or
 * requested-at changes. A part whose turn has not come (another part, or the tag patch, took the mutation) is not counted.
 */
function convergenceGuard(part: PartPlanner, planned: PartPlan, previous: SettingsStatus, fresh: boolean, slotTaken: boolean): PartPlan {
  if (!planned.status || planned.status.inSync) return planned;
  const before = previous[part.key];
  const sent = before && before.inSync === false && !fresh ? (before.attempts ?? 0) : 0;
  if (!planned.action || slotTaken) return { ...planned, status: { ...planned.status, ...(sent > 0 && { attempts: sent }) } };
  if (sent >= MAX_UNCONVERGED_CHANGES) {
    const { action: _notSent, ...rest } = planned;
    return {
      ...rest,
      keepCondition: false,
      status: { ...planned.status, attempts: sent },
      condition: {
        status: false,
        reason: PartReason.NotConverging,
        message: `Databricks accepted ${sent} changes but still shows something else (${planned.status.applied}); the operator stopped sending them. Check the setting in Databricks, then set annotation ${EndpointAnnotation.requestedAt} to a new value to try again`,
      },
    };
  }
  return { ...planned, status: { ...planned.status, attempts: sent + 1 } };
}

/** e.g. AiGatewayApplied, PermissionsRejected */
const eventReason = (part: PartPlanner, reason: string) => `${part.conditionType.replace(/Synced$/, '')}${reason}`;

/** Whether this reconcile must read the endpoint's permissions (a separate GET, by endpoint ID). */
export function needsPermissions(spec: EndpointSpec, settings: SettingsStatus | undefined): boolean {
  return spec.permissions !== undefined || settings?.permissions !== undefined;
}

export const isSettingsAction = (action: { type: string }): action is SettingsAction =>
  action.type === 'putAiGateway' || action.type === 'setPermissions' || action.type === 'updateNotifications' || action.type === 'patchTelemetryConfig';

const PART_OF_ACTION: Record<SettingsAction['type'], PartPlanner> = {
  putAiGateway: aiGatewayPart,
  setPermissions: permissionsPart,
  updateNotifications: notificationsPart,
  patchTelemetryConfig: telemetryPart,
};

const HOW_TO_FIX: Record<SettingsAction['type'], string> = {
  putAiGateway: 'Fix spec.aiGateway (an inference table needs an existing catalog and schema)',
  setPermissions: 'Fix spec.permissions (every user, group and service principal must exist in the workspace)',
  updateNotifications: 'Fix spec.notifications',
  patchTelemetryConfig: 'Fix spec.telemetry (a telemetry profile must exist; tables must be full Unity Catalog names, catalog.schema.table, in a catalog and schema the operator may write to)',
};

/**
 * Databricks refused a part's change as invalid: only that part's condition says so (Rejected, for
 * this generation), so the other parts and the served config keep their own status. The part is not
 * sent again until the spec or the requested-at annotation changes.
 */
export function rejectSettingsAction(
  action: SettingsAction,
  message: string,
  status: { conditions?: Condition[] },
  generation: number,
  now: Date,
): { conditions: Condition[]; event: PartPlan['events'][number] } {
  const part = PART_OF_ACTION[action.type];
  const text = `Databricks rejected the change: ${clause(message)}. ${HOW_TO_FIX[action.type]}, or fix the cause in Databricks and set annotation ${EndpointAnnotation.requestedAt} to a new value to retry.`;
  const conditions = setCondition(status.conditions, { type: part.conditionType, status: 'False', reason: PartReason.Rejected, message: text }, generation, now);
  return { conditions, event: { type: 'Warning', reason: eventReason(part, PartReason.Rejected), message: text } };
}
