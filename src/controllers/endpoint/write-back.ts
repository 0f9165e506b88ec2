// The end of a reconcile: the status written back, Events told, metrics counted, the requeue the plan asks for; and,
// after a DELETE, the finalizer released. It runs behind the worker ({ finishing }), so the API server's write latency
// does not pace the Databricks work.
import { BoundedBackoffError, type Condition, findCondition, type Logger, removeFinalizer } from '../../kube/index.js';
import { EndpointReadyReason as ReadyReason } from '../../api/v1alpha1/index.js';
import type { OperatorMetrics } from '../metrics.js';
import { ENDPOINT_FINALIZER, EndpointResource } from '../resources.js';
import type { OurWrites } from './our-writes.js';
import type { Plan } from './plan.js';
import type { Endpoint, EndpointReconcilerOptions } from './reconciler.js';
import type { SlotWaits } from './slot-waits.js';

export interface WriteBackContext {
  options: Pick<EndpointReconcilerOptions, 'kube' | 'statusWriter' | 'events' | 'metrics'>;
  writes: OurWrites;
  slotWaits: SlotWaits;
  now: () => Date;
}

export async function writeBack(
  { options, writes, slotWaits, now }: WriteBackContext,
  plan: Plan,
  latest: Endpoint,
  key: string,
  current: Endpoint,
  log: Logger,
  signal: AbortSignal,
): Promise<{ requeueAfterMs?: number } | void> {
  const result = await options.statusWriter.write<Endpoint>(EndpointResource, latest, plan.status, signal);
  if (result.gone) {
    // Deleted while we reconciled it (no finalizer of ours held it): nothing left to report on.
    log.debug({ action: plan.action.type }, 'object deleted during the reconcile; status not written');
    return;
  }
  if (result.conflict) {
    // Its status was written by someone else since we read it (a conflict with a spec or metadata write is retried
    // by the writer): what was done is told by the Events, and the status is planned again from the latest object
    // instead of overwriting theirs with one computed from the stale copy.
    recordEvents(options, latest, plan);
    writes.conflicted(key, plan.status.conditions as Condition[] | undefined);
    // The status that says why it waits was not written: plan (and write) again now, slot or not.
    slotWaits.forget(key);
    log.debug({ action: plan.action.type }, 'status conflict; planning again from the latest object');
    return { requeueAfterMs: 1 };
  }
  // every version before our write is stale: the one read, the one acted on, the one a conflict's retry wrote over
  writes.remember(key, current, result.written ? result.object : latest, latest.metadata.resourceVersion, result.writtenOver);
  recordEvents(options, result.object, plan);
  observeMetrics(options.metrics, current, plan, now());

  if (plan.requeue === undefined) return;
  if ('backoff' in plan.requeue) {
    // Status says why; throwing hands the key to the workqueue's per-key exponential backoff (bounded when the plan says).
    const message = findCondition(plan.status.conditions as Condition[] | undefined, 'Synced')?.message ?? 'reconcile failed';
    throw plan.requeue.maxMs === undefined ? new Error(message) : new BoundedBackoffError(message, Math.max(plan.requeue.maxMs, 1));
  }
  return { requeueAfterMs: Math.max(plan.requeue.after, 1) };
}

/** After the DELETE: the finalizer goes, and one Event tells it (the plan's Ready → Deleting would say it again). */
export async function release(
  { options, writes }: WriteBackContext,
  key: string,
  current: Endpoint,
  deleting: Endpoint,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  const released = await removeFinalizer(options.kube, EndpointResource, deleting, ENDPOINT_FINALIZER, signal);
  writes.remember(key, current, released);
  void options.events.record(released, 'Normal', 'Deleted', `endpoint ${name} deleted in Databricks`);
}

/**
 * Events are sent, not awaited: they are not part of the object's state, the recorder never throws (it logs),
 * and awaiting them one by one kept every reconcile waiting for 2-4 more apiserver round trips (issue 12).
 */
export function recordEvents(options: Pick<EndpointReconcilerOptions, 'events'>, obj: Endpoint, plan: Plan): void {
  for (const event of plan.events) void options.events.record(obj, event.type, event.reason, event.message);
}

/**
 * Capacity failures a plan counted: each one raises status.capacity.attempts, also the one that spends the retry
 * budget (which gets CapacityRetriesExhausted, not a CapacityUnavailable Event, so counting Events missed it).
 */
export function capacityFailuresCounted(before: Endpoint['status'], after: Endpoint['status']): number {
  return Math.max(0, (after?.capacity?.attempts ?? 0) - (before?.capacity?.attempts ?? 0));
}

function observeMetrics(metrics: OperatorMetrics, before: Endpoint, plan: Plan, now: Date): void {
  const namespace = before.metadata.namespace ?? '';
  const failures = capacityFailuresCounted(before.status, plan.status);
  if (failures > 0) metrics.capacityFailures.inc({ namespace }, failures);
  for (const event of plan.events) {
    if (event.reason === 'RetryingRollout') metrics.capacityRetries.inc({ namespace });
  }
  const observed = timeToReady(before, plan.status, now);
  if (observed) metrics.timeToReady.observe({ flavour: observed.flavour }, observed.seconds);
}

/**
 * Ready reasons of a rollout under way. Ready=False for another reason (Databricks reports a serving endpoint not
 * ready, an observed endpoint not there yet) or none (an endpoint adopted while it serves) ends no rollout.
 */
const ROLLING_OUT: ReadonlySet<string> = new Set([ReadyReason.Creating, ReadyReason.Updating, ReadyReason.WaitingForCapacity, ReadyReason.CanaryInProgress]);

/** What pt_operator_endpoint_time_to_ready_seconds observes when a plan makes the endpoint Ready: a rollout's length. */
export function timeToReady(before: Endpoint, after: Endpoint['status'], now: Date): { flavour: 'modelUnits' | 'tokenBand'; seconds: number } | undefined {
  const was = findCondition(before.status?.conditions as Condition[] | undefined, 'Ready');
  const isReady = findCondition(after?.conditions as Condition[] | undefined, 'Ready')?.status === 'True';
  const since = before.status?.pending?.startTime ?? before.metadata.creationTimestamp;
  if (!was || was.status === 'True' || !ROLLING_OUT.has(was.reason) || !isReady || !since) return undefined;
  const flavour = after?.served?.modelUnits !== undefined ? 'modelUnits' : 'tokenBand';
  return { flavour, seconds: Math.max(0, now.getTime() - Date.parse(since)) / 1000 };
}
