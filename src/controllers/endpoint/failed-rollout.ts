// A rollout that failed with the desired config: retried with backoff within a budget when it failed for lack of GPU
// capacity (docs/concepts.md), otherwise reported until the served config or ptoperator.io/requested-at changes.
import { EndpointAnnotation, EndpointReadyReason as ReadyReason, EndpointSyncedReason as SyncedReason, parseDurationMs } from '../../api/v1alpha1/index.js';
import { capacityBackoffMs } from './capacity.js';
import { type DesiredServing, type ObservedServing, describeServing, diffServing, sameServing, statusFields, updateRequest } from './desired.js';
import { type Condition, findCondition } from '../../kube/conditions.js';
import { kubeTime } from '../../kube/time.js';
import { type PlanBuilder, endpointNameOf, progressRequeue } from './plan-builder.js';
import type { EndpointObject, Plan, PlanInput } from './plan-types.js';
import { newRequest } from './user-requests.js';

/**
 * A new generation that asks for no new attempt at the rollout Databricks runs or failed (`pending`): its served
 * config is that rollout's, as the generation before asked for it too (status.pending), it brings no new requested-at,
 * and it does not lengthen a spent capacity budget (only a tag, a setting or the budget otherwise changed). The failure
 * and the capacity count stand (keptCapacity): a GitOps tool bumping a tag must not re-send a config that failed, nor
 * start its budget over, and a timeout lowered to give up sooner must not retry at once.
 */
export function asksNoNewAttempt(object: EndpointObject, desired: DesiredServing, pending: ObservedServing | undefined, canaryRollback: string | undefined): boolean {
  if (pending === undefined || newRequest(object) || diffServing(desired, pending).length > 0) return false;
  if (!sameServing(object.status.pending, desired)) return false;
  // The failed rollback of an aborted canary was the operator's config, not the spec's: a spec that now asks for the
  // old version itself (as CanaryAborted advises) is a new request, though its config is the one that failed.
  if (object.status.canary?.phase === 'RollbackFailed' && canaryRollback === undefined) return false;
  const capacity = object.status.capacity;
  // Attempts an earlier version counted record no timeout: whether this generation changed it is unknown, so it is a
  // new attempt, as it was then (raising the timeout of a budget spent before an upgrade must retry).
  if (capacity?.attempts !== undefined && capacity.retryTimeout === undefined) return false;
  if (capacity?.retryTimeout === undefined || capacity.retryTimeout === object.spec.capacityRetry.timeout) return true;
  // A spent budget is tried again for a longer one (what CapacityRetriesExhausted advises); a running one goes on.
  return !(capacity.exhausted && longerBudget(object.spec.capacityRetry.timeout, capacity.retryTimeout));
}

/** Whether `timeout` allows more than `before` (0 is no limit). */
function longerBudget(timeout: string, before: string): boolean {
  const [ms, beforeMs] = [parseDurationMs(timeout), parseDurationMs(before)];
  return beforeMs !== 0 && (ms === 0 || ms > beforeMs);
}

type CapacityStatus = NonNullable<EndpointObject['status']['capacity']>;

/**
 * The capacity record a generation that asks for no new attempt (asksNoNewAttempt) goes on with: a changed timeout
 * is counted from the first failure as before, so a retry due past it is not sent: the budget is spent now.
 */
export function keptCapacity(capacity: CapacityStatus, timeout: string): CapacityStatus {
  const kept = structuredClone(capacity);
  if (kept.retryTimeout === undefined || kept.retryTimeout === timeout) return kept;
  kept.retryTimeout = timeout;
  const budgetMs = parseDurationMs(timeout);
  const { nextRetryTime, firstFailureTime } = kept;
  if (budgetMs > 0 && nextRetryTime !== undefined && firstFailureTime !== undefined && Date.parse(nextRetryTime) - Date.parse(firstFailureTime) > budgetMs) {
    kept.exhausted = true;
    delete kept.nextRetryTime;
  }
  return kept;
}

/** What keeps serving while a rollout failed (the old config; nothing on a create), as a sentence to end a message. */
/**
 * Ready's message while the object is paused during a capacity retry wait: the pause holds the retry (no look comes
 * while paused), so "Next retry at" a time would be wrong once it passed. Undefined when no retry waits, or when
 * Ready tells of an older generation (the status summary then says the new spec is held).
 */
export function pausedRetryMessage(object: EndpointObject): string | undefined {
  const capacity = object.status.capacity;
  const ready = findCondition(object.status.conditions as Condition[] | undefined, 'Ready');
  if (!capacity?.nextRetryTime || capacity.exhausted || ready?.reason !== ReadyReason.WaitingForCapacity || ready.observedGeneration !== object.generation) return undefined;
  return `GPU capacity unavailable (attempt ${capacity.attempts}): ${capacity.lastMessage}. The retry (due at ${capacity.nextRetryTime}) waits until annotation ${EndpointAnnotation.paused} is removed.`;
}

const stillServes = (served: ObservedServing | undefined) => (served ? ` ${describeServing(served)} still serves.` : '');

/** `failedStartedAt`: when the rollout that failed began (Databricks' pending_config.start_time). */
export function planCapacityRetry(
  input: PlanInput,
  plan: PlanBuilder,
  desired: DesiredServing,
  failureMessage: string,
  served: ObservedServing | undefined,
  failedStartedAt: number | undefined,
): Plan {
  const { spec } = input.object;
  const now = input.now.getTime();
  const capacity = { ...(plan.status.capacity ?? {}) };
  // A failed rollout other than the one counted last (by its start, in Databricks' own clock) is a retry sent by a
  // reconcile whose status never landed (a kill, an API server outage): its failure is the next one, counted with
  // its backoff, not a retry still to send.
  const failedRollout = failedStartedAt === undefined ? undefined : kubeTime(new Date(failedStartedAt));
  if (capacity.nextRetryTime !== undefined && capacity.lastFailedRolloutStart !== undefined && failedRollout !== undefined && failedRollout !== capacity.lastFailedRolloutStart) {
    delete capacity.nextRetryTime;
  }
  const budgetMs = parseDurationMs(spec.capacityRetry.timeout);
  const name = endpointNameOf(input.object);

  if (capacity.exhausted) return planCapacityExhausted(plan, capacity.attempts ?? 0, spec.capacityRetry.timeout, failureMessage, served, input.canaryRollback);

  if (capacity.nextRetryTime === undefined) {
    // A failure we have not scheduled a retry for yet: count it.
    capacity.attempts = (capacity.attempts ?? 0) + 1;
    capacity.firstFailureTime ??= kubeTime(input.now);
    capacity.lastMessage = failureMessage;
    capacity.retryTimeout = spec.capacityRetry.timeout;
    if (failedRollout !== undefined) capacity.lastFailedRolloutStart = failedRollout;
    const delay = capacityBackoffMs(
      capacity.attempts,
      parseDurationMs(spec.capacityRetry.initialBackoff),
      parseDurationMs(spec.capacityRetry.maxBackoff),
      input.random,
    );
    const elapsed = now - Date.parse(capacity.firstFailureTime);
    if (budgetMs > 0 && elapsed + delay > budgetMs) {
      plan.status.capacity = { ...capacity, exhausted: true };
      delete plan.status.capacity.nextRetryTime;
      return planCapacityExhausted(plan, capacity.attempts, spec.capacityRetry.timeout, failureMessage, served, input.canaryRollback);
    }
    capacity.nextRetryTime = kubeTime(new Date(now + delay));
    plan.status.capacity = capacity;
    plan.event('Warning', 'CapacityUnavailable', `rollout failed for lack of GPU capacity (attempt ${capacity.attempts}): ${failureMessage}; retrying at ${capacity.nextRetryTime}`);
  }

  const retryAt = Date.parse(capacity.nextRetryTime as string);
  plan.status.capacity = capacity;
  if (now < retryAt) {
    return plan
      .ready(false, ReadyReason.WaitingForCapacity, `GPU capacity unavailable (attempt ${capacity.attempts}): ${failureMessage}. Next retry at ${capacity.nextRetryTime}.${stillServes(served)}`)
      .synced(true, SyncedReason.ReconcileSuccess, 'waiting to retry the rollout')
      .finish({ type: 'none' }, { after: retryAt - now });
  }

  // Time to try again: re-issue the desired config. Never delete the endpoint: that would give up a
  // GPU allocation that may still be progressing.
  delete capacity.nextRetryTime;
  plan.status.capacity = capacity;
  plan.status.pending = { ...statusFields(desired), startTime: kubeTime(input.now) };
  return plan
    .ready(false, ReadyReason.WaitingForCapacity, `retrying the rollout of ${describeServing(desired)} after ${capacity.attempts} capacity failure(s)${served ? `; ${describeServing(served)} still serves` : ''}`)
    .synced(true, SyncedReason.ReconcileSuccess, 'capacity retry issued')
    .event('Normal', 'RetryingRollout', `re-issuing the config of endpoint ${name} (capacity retry ${capacity.attempts})`)
    .finish({ type: 'updateConfig', request: updateRequest(name, desired) }, progressRequeue(input, kubeTime(input.now)));
}

/**
 * `rollback`: the failed config is a canary's rollback after its abort (PlanInput.canaryRollback): its served config is
 * not the user's to change, so the message names the rollback and how to retry it.
 */
function planCapacityExhausted(plan: PlanBuilder, attempts: number, budget: string, failureMessage: string, served: ObservedServing | undefined, rollback?: string): Plan {
  const exhausted = `GPU capacity stayed unavailable through ${attempts} attempt(s) within the ${budget} retry budget (last: ${failureMessage}).${stillServes(served)}`;
  const message = rollback
    ? `${rollback} failed: ${exhausted} Raise spec.capacityRetry.timeout, or set annotation ${EndpointAnnotation.requestedAt} to a new value to retry the rollback; your Databricks account team can help with capacity.`
    : `${exhausted} Change the served config (model or throughput), raise spec.capacityRetry.timeout, or set annotation ${EndpointAnnotation.requestedAt} to a new value to try again; your Databricks account team can help with capacity.`;
  return plan
    .blocked(SyncedReason.CapacityRetriesExhausted, message, message)
    .finish({ type: 'none' }, undefined);
}

/** `rollback`: as for planCapacityExhausted. */
export function planFailedRollout(plan: PlanBuilder, failureMessage: string, served: ObservedServing | undefined, rollback?: string): Plan {
  const message = rollback
    ? `${rollback} failed: ${failureMessage}.${stillServes(served)} Fix what Databricks reports, then set annotation ${EndpointAnnotation.requestedAt} to a new value to retry the rollback.`
    : `the rollout failed: ${failureMessage}.${stillServes(served)} Fix the model or the served config (model or throughput), or set annotation ${EndpointAnnotation.requestedAt} to a new value to retry.`;
  return plan
    .blocked(SyncedReason.UpdateFailed, message, message)
    .finish({ type: 'none' }, undefined);
}
