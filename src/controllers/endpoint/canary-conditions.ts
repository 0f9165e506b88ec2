// What a canary and the conditions say of each other: a running or aborted canary changes Ready and Synced
// (withCanaryConditions), and a failed rollout of the canary's config changes status.canary (withRolloutFailure).
import { EndpointReadyReason as ReadyReason, EndpointSyncedReason as SyncedReason } from '../../api/v1alpha1/index.js';
import { type Condition, findCondition, setCondition } from '../../kube/conditions.js';
import type { CanaryStanding, CanaryStatus } from './canary.js';
import type { PlanInput } from './plan-types.js';

/** The conditions with what the canary of the spec's version changes in them: aborted, or running. */
export function withCanaryConditions(conditions: Condition[], canary: Pick<PlanInput, 'canaryAborted' | 'canaryInProgress'>, generation: number, now: Date): Condition[] {
  if (canary.canaryAborted) return withCanaryAborted(conditions, canary.canaryAborted, generation, now);
  if (canary.canaryInProgress) return withCanaryInProgress(conditions, canary.canaryInProgress, generation, now);
  return conditions;
}

/**
 * While a step serves, the planner finds the served config in sync with the step's, but the spec's version does
 * not serve all traffic yet: a Ready that would be True is False CanaryInProgress (Reconciling follows), so
 * kubectl wait, Flux and helm --wait do not count the version bump as done, and Synced says how far the spec is
 * applied. A Ready that is False already (a step rolling out, waiting for capacity) says more and stays.
 */
function withCanaryInProgress(conditions: Condition[], canary: CanaryStanding, generation: number, now: Date): Condition[] {
  if (findCondition(conditions, 'Ready')?.status !== 'True') return conditions;
  let list = setCondition(conditions, { type: 'Ready', status: 'False', reason: ReadyReason.CanaryInProgress, message: canary.ready }, generation, now);
  const synced = findCondition(list, 'Synced');
  if (synced?.status === 'True') list = setCondition(list, { type: 'Synced', status: 'True', reason: synced.reason, message: canary.synced }, generation, now);
  return list;
}

/**
 * The conditions when the canary of the spec's version was aborted: the spec is not what Databricks serves and
 * will not be without a change from the user, so Synced is False CanaryAborted (Stalled follows) unless a failure
 * of its own already says more (rate limited, workspace not ready), and a Ready that would be True is False.
 */
function withCanaryAborted(conditions: Condition[], message: string, generation: number, now: Date): Condition[] {
  let list = conditions;
  if (findCondition(list, 'Synced')?.status === 'True') {
    list = setCondition(list, { type: 'Synced', status: 'False', reason: SyncedReason.CanaryAborted, message }, generation, now);
  }
  const ready = findCondition(list, 'Ready');
  if (ready?.status === 'True') {
    list = setCondition(list, { type: 'Ready', status: 'False', reason: ReadyReason.CanaryAborted, message: `${ready.message}; ${message}` }, generation, now);
  }
  return list;
}

/**
 * Failures of a step's (or a rollback's) rollout that only a spec change or a new requested-at ends: the rollout failed
 * (failed-rollout.ts), or Databricks refused its update (failures.ts).
 */
const FAILED_FOR_GOOD: ReadonlySet<string> = new Set([SyncedReason.UpdateFailed, SyncedReason.CapacityRetriesExhausted, SyncedReason.InvalidSpec]);

/** The rollback of an aborted canary (the old version alone), as Synced names it when it fails (failed-rollout.ts). */
export const rollbackLabel = (canary: Pick<CanaryStatus, 'fromVersion' | 'toVersion'>): string =>
  `the rollback to version ${canary.fromVersion} alone (the canary of version ${canary.toVersion} was aborted)`;

/** What a RollbackFailed message adds to the abort's own: the abort's reason stays in front of it. */
const rollbackFailedPart = (canary: Pick<CanaryStatus, 'fromVersion'>): string => `; the rollback to version ${canary.fromVersion} alone failed: `;

/** A RollbackFailed canary as the abort it was (its message without the failure), to be planned and retried as one. */
export function beforeRollbackFailure(canary: CanaryStatus): CanaryStatus {
  const at = canary.message?.indexOf(rollbackFailedPart(canary)) ?? -1;
  return { ...canary, phase: 'Aborted', ...(at >= 0 && { message: canary.message?.slice(0, at) }) };
}

/**
 * status.canary when Databricks failed to roll out the config of its step (or of its promotion): a failure that waits
 * for a spec change or requested-at makes it StepFailed, with what Synced says (why, and how to retry); a step
 * retried for GPU capacity stays Progressing and says what Ready does (the attempt, the next retry). Otherwise it
 * read "rolling out step 1" beside an UpdateFailed. The next reconcile plans from the step again (asBeforeFailure).
 * The rollback of an abort that fails so makes it RollbackFailed: "all traffic back to version 3" was no longer true.
 */
export function withRolloutFailure(canary: CanaryStatus, conditions: readonly Condition[] | undefined): CanaryStatus {
  const synced = findCondition(conditions, 'Synced');
  const failedForGood = synced?.status === 'False' && FAILED_FOR_GOOD.has(synced.reason);
  const rollbackFailed = synced?.status === 'False' && FAILED_FOR_GOOD.has(synced.reason) && synced.message.startsWith(`${rollbackLabel(canary)} failed: `);
  if (canary.phase === 'Aborted' && synced && rollbackFailed) {
    const why = synced.message.slice(`${rollbackLabel(canary)} failed: `.length);
    return { ...canary, phase: 'RollbackFailed', message: `${canary.message ?? 'aborted'}${rollbackFailedPart(canary)}${why}` };
  }
  if (canary.phase !== 'Progressing' && canary.phase !== 'Promoting') return canary;
  const what = canary.phase === 'Promoting' ? `the promotion (100 % to version ${canary.toVersion})` : `step ${canary.step} (${canary.share} % to version ${canary.toVersion})`;
  if (failedForGood) return { ...canary, phase: 'StepFailed', message: `${what}: ${synced.message}` };
  const ready = findCondition(conditions, 'Ready');
  if (ready?.status === 'False' && ready.reason === ReadyReason.WaitingForCapacity) return { ...canary, message: `${what}: ${ready.message}` };
  return canary;
}
