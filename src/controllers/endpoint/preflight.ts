// A spec the operator cannot carry out (a missing or ineligible model, a throughput off the model's grid, bad
// durations): nothing is sent to Databricks, but the endpoint the object names keeps serving and rolling out.
// Its status still tells what Databricks reports, and the endpoint is still looked at: a rollout that finishes,
// drift or an out-of-band delete while the bad spec is pending must show in kubectl.
import { type EndpointSpec, EndpointSyncedReason as SyncedReason, parseDurationMs } from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import { type DesiredServing, describeServing, modelNotFoundMessage, observeConfig, withSplit } from './desired.js';
import { type PlanBuilder, forgetServing, jittered, progressRequeue } from './plan-builder.js';
import type { Plan, PlanInput, Requeue } from './plan-types.js';
import { clause } from '../text.js';
import { resolveWithAppliedChunkSizes } from './chunk-sizes.js';
import { invalidWindowThroughput } from './schedule.js';

/**
 * `ours`: the endpoint read in this reconcile is this object's (its status was just recorded from that read).
 * Either the desired config, or the plan that says why the spec cannot be applied.
 */
export function planPreflight(input: PlanInput, plan: PlanBuilder, fresh: boolean, ours: boolean): { desired: DesiredServing } | { plan: Plan } {
  const { spec } = input.object;
  const endpoint = input.endpoint.kind === 'found' ? input.endpoint.value : undefined;
  if (input.endpoint.kind === 'notFound') forgetServing(plan.status);
  const serving = ours && endpoint ? servingNow(endpoint) : '';
  const refuse = (reason: string, message: string, retry: Requeue) =>
    plan.blocked(reason, `the spec cannot be applied: ${withServing(message, serving)}`, message).finishUnresolved(watchingRequeue(input, plan, ours) ?? retry);

  // The model may be registered later, outside Kubernetes: look again at the poll interval.
  if (input.model.kind !== 'found') return { plan: refuse(SyncedReason.ModelNotFound, modelNotFoundMessage(spec.model.name, spec.model.version), { after: input.settings.pollIntervalMs }) };

  const { resolution: resolved, optimization, changed, readIn } = resolveWithAppliedChunkSizes({ spec, info: input.model.value, recorded: input.object.status.optimization, fresh, endpoint, split: input.split });
  const resolution = invalidWindowThroughput(spec, readIn, input.unscheduledThroughput) ?? resolved; // every window, so a bad one is refused before it opens
  plan.status.optimization = optimization;
  if (changed) plan.event('Warning', 'ChunkSizeChanged', changed);
  if (!resolution.ok) {
    const retry = resolution.reason === 'ModelNotOptimizable' ? { after: input.settings.pollIntervalMs } : undefined;
    return { plan: refuse(resolution.reason, resolution.message, retry) };
  }
  const invalidDuration = checkDurations(spec) ?? input.specProblem;
  if (invalidDuration) return { plan: refuse(SyncedReason.InvalidSpec, invalidDuration, undefined) };
  if (input.canaryUnresolved) return { plan: refuse(SyncedReason.CanaryAborted, input.canaryUnresolved, undefined) };
  return { desired: withSplit(resolution.desired, input.split) };
}

/**
 * When an endpoint of this object exists, it is looked at as if the spec were applied: a rollout in progress at
 * the progress pace (its end is seen through the workspace's list), a settled one at the poll interval. No
 * endpoint of ours: undefined (nothing to watch; the refusal's own retry, if any, applies).
 */
export function watchingRequeue(input: PlanInput, plan: PlanBuilder, ours: boolean): Requeue | undefined {
  if (!ours) return undefined;
  if (plan.status.state?.configUpdate === 'IN_PROGRESS') return progressRequeue(input, plan.status.pending?.startTime);
  return jittered(input.settings.pollIntervalMs, 0.1, input.random);
}

/** A refusal, then what Databricks serves (servingNow) as a sentence of its own. */
export const withServing = (message: string, serving: string): string => (serving ? `${clause(message)}.${serving}` : message);

/** What Databricks serves and rolls out now, as the read of this reconcile says: the bad spec changed nothing there. */
export function servingNow(endpoint: ServingEndpointDetailed): string {
  const served = observeConfig(endpoint.config);
  const pending = endpoint.state.config_update === 'IN_PROGRESS' ? observeConfig(endpoint.pending_config) : undefined;
  if (pending) {
    return served
      ? ` Databricks is rolling out ${describeServing(pending)}; ${describeServing(served)} still serves.`
      : ` Databricks is creating the endpoint with ${describeServing(pending)}.`;
  }
  return served?.entityVersion !== undefined ? ` Databricks still serves ${describeServing(served)}.` : '';
}


function checkDurations(spec: EndpointSpec): string | undefined {
  const { initialBackoff, maxBackoff } = spec.capacityRetry;
  const initialMs = parseDurationMs(initialBackoff);
  if (initialMs <= 0) return 'capacityRetry.initialBackoff must be greater than 0';
  if (parseDurationMs(maxBackoff) < initialMs) return `capacityRetry.maxBackoff (${maxBackoff}) must be at least capacityRetry.initialBackoff (${initialBackoff})`;
  return undefined;
}
