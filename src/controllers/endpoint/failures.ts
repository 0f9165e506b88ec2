// What a failed Databricks call (a read, or the plan's own action) means for status, Events and requeue.
import { type EndpointStatus, EndpointAnnotation, EndpointReadyReason as ReadyReason, EndpointSyncedReason as SyncedReason } from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import { type Condition, findCondition } from '../../kube/conditions.js';
import { kubeTime } from '../../kube/time.js';
import { clause } from '../text.js';
import { describeServing, observeConfig } from './desired.js';
import { PlanBuilder, endpointNameOf, isNewGeneration, progressRequeue } from './plan-builder.js';
import type { ClientBudgetWait } from '../../databricks/errors.js';
import type { CallFailure, Plan, PlanInput, Requeue } from './plan-types.js';
import { servingNow, watchingRequeue, withServing } from './preflight.js';
import { rateLimitedRequeueMs } from './requeue.js';
import { isSettingsAction, rejectSettingsAction } from './settings.js';
import { summarizeConditions } from './status-summary.js';

/**
 * Databricks refused this spec as invalid (a 400 on create or update), and neither the spec nor the
 * requested-at token changed since: sending the same request again cannot succeed.
 */
export const rejectedForThisSpec = (input: PlanInput, fresh: boolean): boolean =>
  !fresh && input.object.status.rejectedGeneration === input.object.generation;

const rejectionText = (refusal: string) => `${refusal}. Fix the spec, or set annotation ${EndpointAnnotation.requestedAt} to a new value to send it again.`;

/**
 * A spec Databricks refused (rejectedForThisSpec): it stays InvalidSpec (Stalled) with the refusal as Synced last told
 * it, Ready ends with what serves and rolls out, and the endpoint is watched like a spec preflight refuses
 * (preflight.ts); the refused config is never sent again. No endpoint (a refused create): nothing to watch.
 */
export function planRejected(input: PlanInput, plan: PlanBuilder, endpoint: ServingEndpointDetailed | undefined): Plan {
  const synced = findCondition(input.object.status.conditions as Condition[] | undefined, 'Synced');
  // Synced may have said something else since (a rate-limited read, a pause): the refusal's own words are gone then.
  const message = synced?.reason === SyncedReason.InvalidSpec ? synced.message : rejectionText(`Databricks rejected the config of generation ${input.object.generation}`);
  const serving = endpoint ? servingNow(endpoint) : '';
  return plan.blocked(SyncedReason.InvalidSpec, withServing(message, serving), message).finish({ type: 'none' }, watchingRequeue(input, plan, endpoint !== undefined));
}

/** Which budget of the host holds the change back, and what sets it: the operator's flags, or Databricks' own 429. */
function budgetWait(wait: ClientBudgetWait | undefined): string {
  if (wait?.pausedByDatabricks) return 'Databricks is throttling this host (it answered 429), so every endpoint on it waits out the pause it asked for';
  return wait?.budget === 'read'
    ? 'waiting for the read budget of this Databricks host, shared by every endpoint on it (operator flag --databricks-reads-per-second)'
    : "waiting for the create/update budget of this Databricks host, shared by every endpoint on it, namespaces taking turns (another namespace's change may take this turn, which then moves later; operator flag --databricks-mutations-per-5-minutes)";
}

/** A Databricks call failed: say why, keep Ready as it was, and come back. */
/**
 * What a refused call was about, for the grant a 403 asks for; 'rollback': the config update of an aborted canary's
 * rollback (PlanInput.canaryRollback), an endpoint call whose refusal says it is the rollback.
 */
export type RefusedOn = 'endpoint' | 'model' | 'create' | 'rollback';

/** `serving`: what Databricks serves, for Ready when the refusal blocks the spec (preflight.ts servingNow). */
export function planCallFailure(input: PlanInput, plan: PlanBuilder | undefined, error: CallFailure, refusedOn: RefusedOn = 'endpoint', serving = ''): Plan {
  const builder = plan ?? new PlanBuilder(input);
  switch (error.kind) {
    case 'RateLimited': {
      const after = rateLimitedRequeueMs(error, input.random);
      const when = after !== undefined ? `retrying in ${Math.ceil(after / 1000)}s` : 'retrying with backoff';
      // The operator's own budget (namespaces take turns for the host's window, each namespace's changes in the order
      // they asked): say when this change has its turn, so many endpoints waiting on one schedule window each tell
      // their time. A turn only moves later (another namespace's newcomer takes it): the time is the earliest.
      const message =
        error.fromClientBudget && error.retryAfterMs !== undefined
          ? `${budgetWait(error.clientBudget)}: ${error.message}; this change is sent at ${kubeTime(new Date(input.now.getTime() + error.retryAfterMs))}`
          : `Databricks rate limit: ${error.message}; ${when}`;
      return builder
        .synced(false, SyncedReason.RateLimited, message)
        .finish({ type: 'none' }, after !== undefined ? { after } : hostBackoff(input));
    }
    case 'Conflict':
      // An update is in progress (someone else's, or ours seen late): nothing was sent, so not Synced; look again soon.
      return builder
        .synced(false, SyncedReason.WaitingForRollout, `Databricks refused the change because another change of the endpoint is in progress (${clause(error.message)}); it is sent again once that one finishes`)
        .finish({ type: 'none' }, progressRequeue(input));
    case 'AlreadyExists':
    case 'NotFound':
      // The endpoint appeared or vanished between our read and our write: read again now.
      return builder.finish({ type: 'none' }, { after: 0 });
    case 'PermissionDenied': {
      // The credentials work (the reconciler turns a 403 the workspace's own list gets too into Auth), but not on
      // this endpoint: typically one made by Terraform or a person. Only a grant or a spec change helps; a grant is
      // seen at the next poll, a spec or requested-at change at once.
      const message = permissionDeniedMessage(input, error.message, refusedOn);
      return builder.blocked(SyncedReason.PermissionDenied, withServing(message, serving), message).finish({ type: 'none' }, { after: input.settings.pollIntervalMs });
    }
    case 'QuotaExceeded': {
      // A workspace limit (its number of serving endpoints), freed outside this object: nothing here is invalid, so
      // the same request is tried again at each poll (one object's create for all those waiting: quota-gate.ts), and
      // at once on a spec or requested-at change.
      const refused = refusedOn === 'create' ? `to create serving endpoint ${endpointNameOf(input.object)}` : `a change of serving endpoint ${endpointNameOf(input.object)}`;
      const message =
        `Databricks refused ${refused} because a limit of the workspace is reached: ${clause(error.message)}. ` +
        `Delete serving endpoints the workspace no longer needs (every endpoint in it counts, not only this operator's), or ask Databricks to raise the limit; ` +
        `the operator tries again every ${Math.round(input.settings.pollIntervalMs / 1000)}s, and at once when the spec or annotation ${EndpointAnnotation.requestedAt} changes.`;
      return builder.blocked(SyncedReason.QuotaExceeded, withServing(message, serving), message).finish({ type: 'none' }, { after: input.settings.pollIntervalMs });
    }
    case 'Auth':
      return builder
        .synced(false, SyncedReason.WorkspaceNotReady, `Databricks refused the credentials: ${error.message}`)
        .finish({ type: 'none' }, { after: input.settings.workspaceRetryMs });
    case 'InvalidRequest': {
      if (refusedOn === 'rollback' && input.canaryRollback) {
        const message = `${input.canaryRollback} failed: Databricks rejected the request: ${clause(error.message)}. Fix what it reports, then set annotation ${EndpointAnnotation.requestedAt} to a new value to retry the rollback.`;
        return builder.blocked(SyncedReason.InvalidSpec, message, message).finish({ type: 'none' }, undefined);
      }
      return builder
        .blocked(
          SyncedReason.InvalidSpec,
          `Databricks rejected the request: ${error.message}`,
          rejectionText(`Databricks rejected the request: ${clause(error.message)}`),
        )
        .finish({ type: 'none' }, undefined);
    }
    default:
      return builder.synced(false, SyncedReason.ReconcileError, error.message).finish({ type: 'none' }, hostBackoff(input));
  }
}

/**
 * The workqueue's backoff after a Databricks failure (5xx, network, timeout, a 429 without Retry-After), at most the
 * workspace retry interval: the end of an outage is seen only by trying again, and a backoff grown during a long one
 * (up to 1,000 s) left changes unsent for minutes after the host answered again. Each try is paced by the host's
 * read budget, so a shorter bound adds no load beyond it.
 */
const hostBackoff = (input: PlanInput): Requeue => ({ backoff: true, maxMs: input.settings.workspaceRetryMs });

/**
 * The model read failed: the spec's model is not resolved, so nothing is sent for it (Plan.specUnresolved).
 * `ours`: this object's endpoint as read in this reconcile (already recorded in status); a refusal's Ready ends
 * with what it serves.
 */
export const planModelReadFailure = (input: PlanInput, plan: PlanBuilder, error: CallFailure, ours: ServingEndpointDetailed | undefined): Plan => ({
  ...planCallFailure(input, plan, error, 'model', ours ? servingNow(ours) : ''),
  specUnresolved: true,
});

function permissionDeniedMessage(input: PlanInput, refusal: string, refusedOn: RefusedOn): string {
  const { object } = input;
  const name = endpointNameOf(object);
  const identity = input.workspace.identity ?? "the operator's identity in this workspace";
  const { model } = object.spec;
  const [lacks, grant] =
    refusedOn === 'model'
      ? [`may not read model ${model.name} version ${model.version}`, `Grant that identity EXECUTE on the model (with USE CATALOG and USE SCHEMA on its catalog and schema) in Unity Catalog`]
      : refusedOn === 'create'
        ? [`may not create serving endpoint ${name}`, `Ask a workspace admin to let that identity create serving endpoints, and grant it EXECUTE on model ${model.name}`]
        : object.spec.managementPolicy === 'Observe'
          ? // (observe-only.ts: reading is all an observer does)
            [`may not read serving endpoint ${name}`, `Grant CAN_VIEW on ${name} to that identity (managementPolicy is Observe: the operator only reads it; the endpoint's Permissions in the Databricks UI, or a databricks_permissions resource in Terraform)`]
          : [`lacks a permission on serving endpoint ${name}`, `Grant CAN_MANAGE on ${name} to that identity (the endpoint's Permissions in the Databricks UI, or a databricks_permissions resource in Terraform)`];
  // A deletion can also let the object go without the grant; requested-at changes nothing for it.
  const then = object.deleting
    ? `, or set spec.deletionPolicy to Orphan to let this object go and leave the endpoint; the operator looks again every ${Math.round(input.settings.pollIntervalMs / 1000)}s.`
    : `; the operator looks again every ${Math.round(input.settings.pollIntervalMs / 1000)}s, and at once when the spec or annotation ${EndpointAnnotation.requestedAt} changes.`;
  return `${identity} ${lacks}: ${clause(refusal)}. ${grant}${then}`;
}

/**
 * A telemetry PATCH answered 404 with a message that does not name the endpoint is about something else the config
 * names (a telemetry profile that does not exist, say; Databricks' wording is not known): read as the endpoint gone,
 * it would be read and sent again at once, forever. One naming the endpoint is the endpoint gone.
 */
const telemetryTargetMissing = (action: Plan['action'], error: CallFailure): boolean =>
  action.type === 'patchTelemetryConfig' && error.kind === 'NotFound' && !error.message.includes(`'${action.name}'`) && !error.message.includes(`"${action.name}"`);

/** What a failed action means for the plan that asked for it. */
export function planActionFailure(input: PlanInput, planned: Plan, error: CallFailure): Plan {
  if (isSettingsAction(planned.action) && (error.kind === 'InvalidRequest' || error.kind === 'QuotaExceeded' || telemetryTargetMissing(planned.action, error))) {
    // Only the part that was refused says so; the served config and the other parts keep their status. (A limit of
    // the workspace met by a setting, say a rate limit above what it allows, is the setting's to change.)
    const rejected = rejectSettingsAction(planned.action, error.message, planned.status, input.object.generation, input.now);
    const conditions = summarizeConditions(rejected.conditions, input.object.generation, input.now, planned.status.observedGeneration);
    return { ...planned, action: { type: 'none' }, status: { ...planned.status, conditions }, events: [rejected.event], requeue: { after: 0 } };
  }
  const previous = input.object.status;
  const builder = new PlanBuilder({ ...input, object: { ...input.object, status: planned.status } }, previous.conditions);
  // A settings change that was not sent (429, 5xx) does not count as sent.
  if (isSettingsAction(planned.action)) restore(builder.status, previous, 'settings');
  // Synced is compared with what was written before, not with the plan that was not carried out, so a
  // retry that fails like the last one changes neither the status nor the Events.
  builder.keep(previous, 'Synced');
  // The tags were not applied: keep managing the keys applied before (a key removed from the spec stays due).
  restore(builder.status, previous, 'managedTagKeys');
  // Nor does a refused tag patch count as sent (adoption.ts): the next reconcile patches the tags again, not the config.
  restore(builder.status, previous, 'tagPatchGeneration');
  // Refused for want of a permission or of room in the workspace (its quota of endpoints): a person must act.
  const needsPerson = error.kind === 'PermissionDenied' || error.kind === 'QuotaExceeded';
  if (needsPerson) {
    // The spec counts as handled too (kstatus reads Stalled only for the current observedGeneration), but not as
    // rejected: it is sent again at the next poll, when a grant (or room) may have come. A new spec is held (plan.ts
    // handleRequest): once granted it goes out as the user's; a drift restore stays one. A requested-at token stays
    // unhandled, so its retry is made after the grant.
    if (isNewGeneration(input)) builder.status.heldGeneration = input.object.generation;
    restore(builder.status, previous, 'lastHandledRequestedAt');
  } else if (error.kind !== 'InvalidRequest') {
    // Nothing of a held spec went out: it stays held (a 5xx, a 429 or a 409 of its first send after the grant).
    restore(builder.status, previous, 'heldGeneration');
  }
  if (planned.action.type === 'create' || planned.action.type === 'updateConfig') {
    // The action did not happen: forget the pending config we announced for it.
    restore(builder.status, previous, 'pending');
    // A create whose answer never came may still happen where it was sent: keep that workspace (workspace-move.ts).
    if (!error.outcomeUnknown) restore(builder.status, previous, 'workspaceHost');
    if (error.kind === 'InvalidRequest') {
      // A rejected request is handled: it is not sent again until the spec or the requested-at token changes.
      builder.status.rejectedGeneration = input.object.generation;
    } else if (!needsPerson) {
      // Nor was the new spec or requested-at token that asked for it carried out: keep them unhandled, so the
      // next reconcile sends the config again instead of settling on an older failure.
      restore(builder.status, previous, 'observedGeneration');
      restore(builder.status, previous, 'lastHandledRequestedAt');
      // Nothing was sent, so Ready keeps what it said before instead of announcing a rollout; but a 409 is Databricks
      // saying a config update runs now: Ready says so at once, as the next look will, not the Available it said.
      // Nor does it keep an Available of this generation: this look found the spec not served (the endpoint gone, or
      // its config changed in Databricks), which is what Ready now says as the plan had it.
      if (error.kind === 'Conflict' && planned.action.type === 'updateConfig') conflictReady(input, builder);
      else if (!servedThisGeneration(previous, input.object.generation)) builder.keep(previous, 'Ready');
    }
    if (planned.status.capacity && previous.capacity?.nextRetryTime) {
      // Keep the retry due, so the next reconcile re-issues it.
      builder.status.capacity = { ...planned.status.capacity, nextRetryTime: previous.capacity.nextRetryTime };
    }
  }
  const refusedOn = planned.action.type === 'create' ? 'create' : planned.action.type === 'updateConfig' && input.canaryRollback ? 'rollback' : 'endpoint';
  return planCallFailure(input, builder, error, refusedOn);
}

/** The status last written called this generation's spec served (Ready=True). */
function servedThisGeneration(previous: EndpointStatus, generation: number): boolean {
  const ready = findCondition(previous.conditions as Condition[] | undefined, 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === generation;
}

/** Ready after a 409 to a config update: another update rolls out (what, the answer does not say), and what still serves. */
function conflictReady(input: PlanInput, builder: PlanBuilder): void {
  const served = input.endpoint.kind === 'found' ? observeConfig(input.endpoint.value.config) : undefined;
  const serves = served ? `; ${describeServing(served)} still serves` : '';
  const message = `another config update of the endpoint is in progress in Databricks (it answered 409)${serves}; the spec is sent once that update finishes`;
  builder.ready(false, served ? ReadyReason.Updating : ReadyReason.Creating, message);
}

function restore<K extends keyof EndpointStatus>(status: EndpointStatus, previous: EndpointStatus, key: K): void {
  if (previous[key] === undefined) delete status[key];
  else status[key] = previous[key];
}
