// Canary rollouts of a new model version: which config the planner should aim for now (both versions
// with a traffic split, the new one alone, or the old one alone after an abort), and where the canary
// stands. Pure: the caller passes the clock, the observed config and the gate's metric readings.
// Databricks switches a config (entities and routes together) only once every entity in it is ready,
// so routing traffic in the same update that adds the entity never sends traffic to one that is not.
import { type Canary, type EndpointSpec, type EndpointStatus, parseDurationMs } from '../../api/v1alpha1/index.js';
import { abortControl, afterSuccess, control, overriddenControl, unknownControl } from './canary-controls.js';
import { failedGate, type GateReading, gateWaitReason } from './canary-verdict.js';
import { beforeRollbackFailure, rollbackLabel, withRolloutFailure } from './canary-conditions.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import { isObserveOnly } from './observe-only.js';
import { type CanarySplit, describeEntity, entityNameFor, type EntityThroughput, type ObservedEntity, type ObservedServing, observeConfig, sameModel } from './desired.js';
import type { EndpointObject, Observed, Plan, PlanInput } from './plan-types.js';
import { requeueBy } from './schedule.js';
import { kubeTime } from '../../kube/time.js';

export type { GateReading } from './canary-verdict.js';
export type CanaryStatus = NonNullable<EndpointStatus['canary']>;
export type CanaryPhase = 'Progressing' | 'Paused' | 'Holding' | 'Promoting' | 'Succeeded' | 'Aborted' | 'StepFailed' | 'RollbackFailed';

export interface CanaryInput {
  spec: EndpointSpec;
  annotations: Record<string, string>;
  status: EndpointStatus;
  /** The served config (endpoint.config); undefined when there is none. */
  served: ObservedServing | undefined;
  /** A config update is in progress in Databricks. */
  updating: boolean;
  /** What that update rolls out (endpoint.pending_config), when Databricks says. */
  rollingOut?: ObservedServing | undefined;
  now: Date;
  gate?: GateReading;
}

export interface CanaryDecision {
  /** The spec the planner resolves: the old version after an abort, else the spec as it is. */
  spec: EndpointSpec;
  split?: CanarySplit;
  /** undefined: no canary (status.canary is removed). */
  status?: CanaryStatus;
  /** The config to aim for changed since the last reconcile (a step, a promotion, an abort). */
  changed: boolean;
  /** When a pause ends. */
  wakeAt?: Date;
  /** The canary of the spec's version was aborted or kept from starting: why, and how to go on (Ready and Synced say it). */
  aborted?: string;
  /** Aborted, and the old version does not serve alone yet: the rollback, as a failure of it names it. */
  rollback?: string;
  /** The canary of the spec's version runs: where it stands (Ready and Synced say it once its step serves). */
  inProgress?: CanaryStanding;
  /** The versions our endpoint serves now, for a status.canary kept as it was (withCanary). */
  servedVersions?: CanaryStatus['versions'];
  /** An abort control set, and which served version it would roll back to is not known: nothing is sent (Synced says why). */
  unresolved?: string;
}

/** What Ready and Synced say while the step of a running canary serves (withCanaryConditions). */
export interface CanaryStanding {
  ready: string;
  synced: string;
}

const inactive = (spec: EndpointSpec): CanaryDecision => ({ spec, changed: false });

/** Where the config each phase aims for is the same, the canary does not change the desired config. */
const target = (s: CanaryStatus | undefined): string =>
  !s ? 'spec' : s.phase === 'Aborted' ? 'old' : s.phase === 'Promoting' || s.phase === 'Succeeded' ? 'new' : `split:${s.share}`;

/**
 * The canary's part of a reconcile: decided on an endpoint that is this object's, and on a missing one (it is
 * created again with what the canary lets serve); otherwise status.canary stays as it was and the spec is
 * planned as it is.
 */
export function decideCanary(object: EndpointObject, endpoint: Observed<ServingEndpointDetailed>, ours: boolean, now: Date, gate?: GateReading): CanaryDecision {
  // Observe steers nothing: a canary left from Full (admission removed spec.canary with the switch) is over.
  if (isObserveOnly(object.spec)) return inactive(object.spec);
  const found = endpoint.kind === 'found' ? endpoint.value : undefined;
  if (object.deleting || !((ours && found) || endpoint.kind === 'notFound')) return { spec: object.spec, changed: false, status: object.status.canary };
  const served = observeConfig(found?.config);
  const updating = found?.state.config_update === 'IN_PROGRESS';
  const rollingOut = updating ? observeConfig(found?.pending_config) : undefined;
  const decision = planCanary({ spec: object.spec, annotations: object.annotations, status: object.status, served, updating, rollingOut, now, gate });
  return served ? { ...decision, servedVersions: observedVersions(served) } : decision;
}

/** What the planner takes from a canary decision besides the spec. */
export const canaryPlanFields = (decision: CanaryDecision): Pick<PlanInput, 'split' | 'canaryAborted' | 'canaryRollback' | 'canaryInProgress' | 'canaryUnresolved'> => ({
  ...(decision.split && { split: decision.split }),
  ...(decision.aborted && { canaryAborted: decision.aborted }),
  ...(decision.rollback && { canaryRollback: decision.rollback }),
  ...(decision.inProgress && { canaryInProgress: decision.inProgress }),
  ...(decision.unresolved && { canaryUnresolved: decision.unresolved }),
});

/**
 * status.canary when it is a canary of spec.model.name. One of another model (model.name changed since it began) is
 * over, even with no endpoint left to show it; a status written before canaries recorded their model counts as ours.
 */
export const recordedCanary = (status: EndpointStatus, spec: EndpointSpec): CanaryStatus | undefined =>
  status.canary?.model === undefined || sameModel(status.canary.model, spec.model.name) ? status.canary : undefined;

/**
 * A step whose rollout failed (StepFailed, withRolloutFailure) is planned as the step it was, a rollback that failed
 * (RollbackFailed) as the abort it was: sent again once retried.
 */
function asBeforeFailure(status: CanaryStatus | undefined, canary: Canary): CanaryStatus | undefined {
  if (status?.phase === 'StepFailed') return { ...status, phase: status.step > sortedSteps(canary).length ? 'Promoting' : 'Progressing' };
  return status?.phase === 'RollbackFailed' ? beforeRollbackFailure(status) : status;
}

export function planCanary(input: CanaryInput): CanaryDecision {
  const { spec, served } = input;
  const canary = spec.canary;
  // A canary moves traffic between versions of spec.model.name; its config names every entity by that model. Another
  // model served now (model.name changed) is no canary: the new model replaces it at once, as without spec.canary.
  if (!canary || otherModelServed(spec, served)) return inactive(spec);
  const version = spec.model.version;
  const recorded = asBeforeFailure(recordedCanary(input.status, spec), canary);
  const previous = recorded?.toVersion === version ? recorded : undefined;
  // A canary in status whose old version is the spec's: the spec's version was set back, a swap back. One of neither
  // version (stale: status restored from a backup, an earlier canary's) does not record the split that serves.
  const resumed = recorded && (previous || recorded.fromVersion === version) ? undefined : splitServing(input, canary);
  const unresolved = unresolvedAbort(input, canary, recorded);
  if (unresolved) return { spec, changed: false, status: input.status.canary, unresolved };
  if (recorded && swappingBack(input, recorded)) {
    const message = `model.version was set back to ${version}: version ${version} serves alone once that rollout lands, which ends this canary of version ${recorded.toVersion}`;
    // Aborted: the canary ended; no step of it is sent again, nor is a failure of the swap back told as one of its step.
    return { ...inactive(spec), status: { ...(input.status.canary as CanaryStatus), phase: 'Aborted', stepReachedTime: undefined, message, versions: observedVersions(served) } };
  }

  let next: CanaryStatus;
  if (!served && previous) {
    next = withoutEndpoint(input, canary, previous);
  } else if (resumed) {
    next = advance(input, canary, resumed);
  } else if (!previous || notStarted(previous)) {
    const started = begin(input, canary);
    if (!started) return inactive(spec);
    next = started;
  } else {
    next = advance(input, canary, previous);
  }
  next = { ...next, ...followedFrom(spec, next, served), versions: observedVersions(served), ...unknownControl(input.annotations, next), ...succeededMessage(canary, input.annotations, next) };
  next = { ...next, ...overriddenControl(canary, input.annotations, next) };
  return {
    ...configFor(spec, next, served),
    status: next,
    changed: target(next) !== target(previous ?? resumed),
    ...wake(canary, next),
    ...abortedBecause(input, canary, next),
    ...rollingBack(next, served, input.rollingOut),
    ...standing(canary, next),
  };
}

/**
 * No config serves (the endpoint was deleted out of band, or is being created again): it is created with what the
 * canary lets serve, in one create, never more of the new version than the canary had reached. Aborted (or kept
 * from starting): the old version; promoted: the new one; a running step: the old version alone, and the canary
 * starts again at step 1 once it serves (the step's pause and the gate's samples went with the endpoint).
 */
function withoutEndpoint(input: CanaryInput, canary: Canary, previous: CanaryStatus): CanaryStatus {
  if (notStarted(previous) && control(canary, input.annotations) === 'Abort') return previous;
  const first = sortedSteps(canary)[0] as number;
  // A canary kept from starting starts now, as the control asks (Promote: the new version alone, in this create).
  const next = advance(input, canary, notStarted(previous) ? { ...previous, phase: 'Progressing', step: 1, share: first } : previous);
  if (next.phase !== 'Progressing') return next;
  return { ...next, step: 1, share: first, stepReachedTime: undefined, message: `the endpoint is missing: creating it again with version ${next.fromVersion} alone; the canary starts again at step 1 (${first} %) once it serves` };
}

/** Where a running canary stands, for Ready and Synced: its step serves, but the spec's version does not serve all traffic. */
function standing(canary: Canary, status: CanaryStatus): Pick<CanaryDecision, 'inProgress'> {
  if (status.phase === 'Aborted' || status.phase === 'Succeeded') return {};
  const { toVersion: to, fromVersion: from, share, step } = status;
  const rest = share < 100 ? `; version ${from} serves the other ${100 - share} %` : '';
  const steps = sortedSteps(canary).length;
  return {
    inProgress: {
      ready: `canary of version ${to}: ${status.message ?? status.phase}${rest}`,
      synced: `the spec is applied up to the canary's current step (step ${Math.min(step, steps)} of ${steps}: ${share} % to version ${to}); version ${to} serves all traffic once the canary succeeds`,
    },
  };
}

/** Why the spec's version does not serve after an abort, and what the user can change to go on. */
function abortedBecause(input: CanaryInput, canary: Canary, status: CanaryStatus): Pick<CanaryDecision, 'aborted'> {
  if (status.phase !== 'Aborted') return {};
  const { fromVersion: from, toVersion: to } = status;
  const abortSet = control(canary, input.annotations) === 'Abort';
  if (notStarted(status)) {
    return { aborted: `the canary of version ${to} did not start: ${abortControl(input.annotations)} is set. Version ${from} keeps serving. Remove it to start the canary, or set model.version back to "${from}".` };
  }
  const removeFirst = abortSet ? ` (remove ${abortControl(input.annotations)} first, or it will not start)` : '';
  const serving = oldAlone(status, input.served) ? `Version ${from} keeps serving.` : `Version ${from} serves alone once the rollback lands.`;
  return { aborted: `the canary of version ${to} was aborted (${status.message ?? 'aborted'}). ${serving} Set model.version back to "${from}", or to another version to start a new canary${removeFirst}.` };
}

/**
 * The old version serves alone: the rollback of an abort is done (or was never needed). Without an endpoint there is no
 * rollback: it is created with the old version alone (withoutEndpoint).
 */
const oldAlone = (status: CanaryStatus, served: ObservedServing | undefined): boolean =>
  served === undefined || (served.entityCount === 1 && served.entityVersion === status.fromVersion);

/**
 * An abort whose rollback has not landed: what the rollback is, for the message of a failure of it and of the wait for
 * a step still rolling out (it lands first: Databricks takes no update meanwhile, and the rollback follows it).
 */
function rollingBack(status: CanaryStatus, served: ObservedServing | undefined, rollingOut: ObservedServing | undefined): Pick<CanaryDecision, 'rollback'> {
  if (status.phase !== 'Aborted' || notStarted(status)) return {};
  if (oldAlone(status, served) && (rollingOut === undefined || oldAlone(status, rollingOut))) return {};
  return { rollback: rollbackLabel(status) };
}

const otherModelServed = (spec: EndpointSpec, served: ObservedServing | undefined): boolean =>
  (served?.entities ?? []).some((e) => e.entityName !== undefined && !sameModel(e.entityName, spec.model.name));

/** A canary the abort control kept from starting (step 0): it starts once the control is removed. */
const notStarted = (status: CanaryStatus): boolean => status.phase === 'Aborted' && status.step === 0;

/**
 * The canary of the spec's version, from one other version serving alone, settled (a new endpoint is simply
 * created), as the control left set asks: Abort keeps it from starting (the served version keeps serving; with the
 * split of an earlier canary still serving, its old version alone), Promote goes straight to the new version alone,
 * Hold starts it and holds it at the first step.
 */
function begin(input: CanaryInput, canary: Canary): CanaryStatus | undefined {
  const { served } = input;
  const version = input.spec.model.version;
  if (!served || input.updating || served.entities.some((e) => e.entityVersion === version)) return undefined;
  const from = served.entityCount === 1 ? served.entities[0] : control(canary, input.annotations) === 'Abort' ? abortedCanaryFrom(input, served) : undefined;
  const base = canaryFrom(from, input.spec.model.name, version);
  if (!base) return undefined;
  const steps = sortedSteps(canary);
  switch (control(canary, input.annotations)) {
    case 'Abort':
      return { ...base, phase: 'Aborted', step: 0, share: 0, message: `not started: ${abortControl(input.annotations)} is set, so version ${base.fromVersion} ${served.entityCount === 1 ? 'keeps serving alone' : 'serves alone once the rollback lands'}; remove it to start a canary of version ${version}` };
    case 'Promote':
      return { ...base, phase: 'Promoting', step: steps.length + 1, share: 100, message: `promoted by the user before it started: moving all traffic to version ${version} and removing version ${base.fromVersion}` };
    default:
      return { ...base, phase: 'Progressing', step: 1, share: steps[0] as number, message: `rolling out step 1: ${steps[0]} % of the traffic to version ${version}` };
  }
}

/**
 * The old version of the canary in status while its split still serves (its rollback failed, or was not sent yet): with
 * an abort control set, a new version starts from it, so the abort is carried out (that version alone) and the new
 * version gets no traffic, instead of replacing the split at once as a third version does without a control.
 */
function abortedCanaryFrom(input: CanaryInput, served: ObservedServing): ObservedEntity | undefined {
  const recorded = recordedCanary(input.status, input.spec);
  return recorded && served.entityCount === 2 ? served.entities.find((e) => e.entityVersion === recorded.fromVersion) : undefined;
}

/**
 * A step of the spec's version serves beside one other version, settled, and status.canary does not record it (it was
 * lost, an operator before this one dropped it on a refused edit, or it is stale: another canary's): the canary goes
 * on from that step instead of swapping to the new version alone. Its pause counts from now; when that step began is
 * not known.
 */
function splitServing(input: CanaryInput, canary: Canary): CanaryStatus | undefined {
  const { served } = input;
  const version = input.spec.model.version;
  if (!served || served.entityCount !== 2 || input.updating) return undefined;
  const to = served.entities.find((e) => e.entityVersion === version);
  const step = sortedSteps(canary).indexOf(to?.share ?? -1) + 1;
  const base = canaryFrom(served.entities.find((e) => e.entityVersion !== version), input.spec.model.name, version);
  if (!to || step === 0 || !base) return undefined;
  return { ...base, phase: 'Progressing', step, share: to.share, message: `rolling out step ${step}: ${to.share} % of the traffic to version ${version}` };
}

/**
 * The spec's version was set back to the old one of a canary in status that did not succeed, and Databricks serves it
 * beside that canary's new version (or rolls one out): the canary stays in status until the spec's version serves
 * alone, so a look while the swap back rolls out, or after it failed, still knows which split it is (an abort control
 * left set must not take it for a split status lost). The new version alone is a new canary's start (begin).
 */
function swappingBack(input: CanaryInput, recorded: CanaryStatus): boolean {
  if (recorded.fromVersion !== input.spec.model.version || recorded.phase === 'Succeeded') return false;
  const has = (config: ObservedServing | undefined, version: string) => config?.entities.some((e) => e.entityVersion === version) ?? false;
  return has(input.served, recorded.fromVersion) && (has(input.served, recorded.toVersion) || has(input.rollingOut, recorded.toVersion));
}

/**
 * An abort control, and the version to roll back to is not known: Databricks serves (settled) what status.canary does
 * not record, because it was lost (reset, restored from a backup, re-applied without status) or is stale. Rolling back
 * is only ever to the old version of the canary status records, while Databricks still serves it; the version served
 * beside the spec's is no such evidence (after a swap back it is the version the user left). So nothing is sent, and
 * Synced says why. Not here: the canary in status aborted already or over (the new version alone: advance), one version
 * serving (begin keeps the canary from starting), a swap back (the spec's version alone is asked), and the canary in
 * status whose split serves beside a new version (begin carries out its abort).
 */
function unresolvedAbort(input: CanaryInput, canary: Canary, recorded: CanaryStatus | undefined): string | undefined {
  const { served } = input;
  const version = input.spec.model.version;
  if (control(canary, input.annotations) !== 'Abort' || !served || input.updating) return undefined;
  const serves = (v: string) => served.entities.some((e) => e.entityVersion === v);
  if (recorded?.toVersion === version) {
    if (recorded.phase === 'Aborted' || recorded.phase === 'Succeeded' || serves(recorded.fromVersion)) return undefined;
    if (served.entityCount === 1 && serves(version)) return undefined;
  } else if (served.entityCount < 2 || recorded?.fromVersion === version || (!serves(version) && abortedCanaryFrom(input, served))) {
    return undefined;
  }
  const versions = served.entities.map((e) => `version ${e.entityVersion ?? '?'} (${e.share} %)`).join(' and ');
  const record = recorded?.toVersion === version ? `records the canary of version ${version} from version ${recorded.fromVersion}, which Databricks no longer serves` : `records no canary of version ${version}`;
  return `${abortControl(input.annotations)} is set, but which version to roll back to is not known: Databricks serves ${versions}, and status.canary ${record} (lost or stale). Nothing is sent; set model.version to the version that is to serve, then remove the control`;
}

/** A succeeded canary's message: what serves, and what a control set now does (afterSuccess). */
function succeededMessage(canary: Canary, annotations: Record<string, string>, status: CanaryStatus): Pick<CanaryStatus, 'message'> {
  if (status.phase !== 'Succeeded') return {};
  const note = afterSuccess(canary, annotations, status);
  return { message: `version ${status.toVersion} serves all traffic; version ${status.fromVersion} was removed${note ? `; ${note}` : ''}` };
}

/** A canary's versions: from the served entity `from` (its name and throughput, to serve on beside) to `version`. */
function canaryFrom(from: ObservedEntity | undefined, model: string, version: string): Pick<CanaryStatus, 'model' | 'fromVersion' | 'toVersion' | 'from'> | undefined {
  if (!from?.name || !from.entityVersion) return undefined;
  return {
    model,
    fromVersion: from.entityVersion,
    toVersion: version,
    from: definedOnly({ entityName: from.name, minTokensPerSecond: from.minTokensPerSecond, maxTokensPerSecond: from.maxTokensPerSecond, modelUnits: from.modelUnits }),
  };
}

/**
 * Under spec.schedule the old version follows the schedule (configFor), so status.canary.from follows what it serves: the
 * status stays true, and a schedule removed mid-canary leaves the old version as it serves rather than sending it back
 * to the throughput of when the canary started (a window's, at night). Without a schedule `from` stays as it started,
 * so a change made to the old version in Databricks is put back.
 */
function followedFrom(spec: EndpointSpec, status: CanaryStatus, served: ObservedServing | undefined): Partial<Pick<CanaryStatus, 'from'>> {
  const entity = spec.schedule && served?.entities.find((e) => e.name === status.from.entityName && e.entityVersion === status.fromVersion);
  const from = canaryFrom(entity || undefined, spec.model.name, status.toVersion)?.from;
  return from ? { from } : {};
}

function advance(input: CanaryInput, canary: Canary, current: CanaryStatus): CanaryStatus {
  const { served, now } = input;
  const asked = control(canary, input.annotations);
  if (current.phase === 'Aborted' || current.phase === 'Succeeded') return current;
  const newAlone = !!served && served.entityCount === 1 && served.entityVersion === current.toVersion && !input.updating;
  // The old version serves nowhere any more: the canary is over, whatever status says (it may be stale, restored from a
  // backup). An abort now would be a whole new rollout of the old version; a change of model.version is for that.
  if (asked === 'Abort' && newAlone) return { ...current, phase: 'Succeeded', share: 100, step: Math.max(current.step, sortedSteps(canary).length + 1), stepReachedTime: undefined };
  if (asked === 'Abort') return { ...current, phase: 'Aborted', message: `aborted by the user: all traffic back to version ${current.fromVersion}`, stepReachedTime: undefined };
  if (current.phase === 'Promoting' || asked === 'Promote') {
    if (newAlone) return { ...current, phase: 'Succeeded', share: 100 };
    const why = current.phase === 'Promoting' ? 'after the last step' : 'promoted by the user';
    return { ...current, phase: 'Promoting', share: 100, step: sortedSteps(canary).length + 1, message: `${why}: moving all traffic to version ${current.toVersion} and removing version ${current.fromVersion}` };
  }

  const undone = undoneStep(input, canary, current);
  if (undone) return undone;
  const ahead = sentAhead(input, canary, current);
  if (ahead) return advance(input, canary, ahead);

  const newEntity = served?.entities.find((e) => e.entityVersion === current.toVersion);
  const reached = !!served && !input.updating && served.entityCount === 2 && newEntity?.share === current.share;
  if (!reached) {
    return { ...current, phase: 'Progressing', stepReachedTime: undefined, message: `rolling out step ${current.step}: ${current.share} % of the traffic to version ${current.toVersion}` };
  }
  const reachedAt = current.stepReachedTime ?? kubeTime(now);

  const failed = failedGate(canary, input.gate);
  if (failed) return { ...current, phase: 'Aborted', stepReachedTime: undefined, message: `the metrics gate failed at step ${current.step}: ${failed}; all traffic back to version ${current.fromVersion}` };
  if (asked === 'Hold') return { ...current, phase: 'Holding', stepReachedTime: reachedAt, message: `held at step ${current.step} (${current.share} %) by the user` };

  const pauseEnds = Date.parse(reachedAt) + parseDurationMs(canary.pause);
  if (now.getTime() < pauseEnds) {
    return { ...current, phase: 'Paused', stepReachedTime: reachedAt, message: `step ${current.step} (${current.share} %) serves; pausing until ${kubeTime(new Date(pauseEnds))}` };
  }
  // A gate advances only on evidence: an entry without a value (mislabelled samples, no traffic yet) waits like an
  // unreadable export; the user can still Promote.
  const gateWait = canary.gate && canary.gate.length > 0 ? gateWaitReason(input.gate) : undefined;
  if (gateWait) {
    return { ...current, phase: 'Paused', stepReachedTime: reachedAt, message: `step ${current.step} waits for the metrics gate: ${gateWait}` };
  }
  const steps = sortedSteps(canary);
  const next = nextStepIndex(steps, current.share);
  if (next < 0) {
    return { ...current, phase: 'Promoting', step: steps.length + 1, share: 100, stepReachedTime: undefined, message: `after the last step: moving all traffic to version ${current.toVersion} and removing version ${current.fromVersion}` };
  }
  const share = steps[next] as number;
  return { ...current, phase: 'Progressing', step: next + 1, share, stepReachedTime: undefined, message: `rolling out step ${next + 1}: ${share} % of the traffic to version ${current.toVersion}` };
}

/** The config Databricks serves once it settles: the one rolling out while an update runs, else the served one. */
const landing = (input: CanaryInput): ObservedServing | undefined => (input.updating ? input.rollingOut : input.served);

/**
 * Databricks serves (or rolls out) what this status sends next: the next step's split, or after the last step the
 * new version alone. A predecessor sent it and did not live to write status (killed, or its Lease lost, with the
 * update in flight). The canary goes on from there; sending the current step again moved traffic back and rolled
 * out twice more (e2e/crash-canary). Only the very next config counts, so drift to any other split is still corrected.
 */
function sentAhead(input: CanaryInput, canary: Canary, current: CanaryStatus): CanaryStatus | undefined {
  const config = landing(input);
  if (!config || current.phase === 'Aborted') return undefined;
  const steps = sortedSteps(canary);
  const index = nextStepIndex(steps, current.share);
  if (index < 0) {
    const newAlone = config.entityCount === 1 && config.entityVersion === current.toVersion;
    return newAlone ? { ...current, phase: 'Promoting', step: steps.length + 1, share: 100, stepReachedTime: undefined } : undefined;
  }
  const next = steps[index] as number;
  const { entities } = config;
  const split = config.entityCount === 2 && entities.some((e) => e.entityVersion === current.fromVersion) && entities.find((e) => e.entityVersion === current.toVersion)?.share === next;
  return split ? { ...current, phase: 'Progressing', step: index + 1, share: next, stepReachedTime: undefined } : undefined;
}

/**
 * The index of the step after `share`: the first above the share that serves, so steps edited during the canary never
 * skip one nor repeat the share that serves; -1 after the last.
 */
const nextStepIndex = (steps: readonly number[], share: number): number => steps.findIndex((s) => s > share);

/**
 * A gated step had served (status has when) and Databricks serves, or rolls out, the old version alone: the abort a
 * predecessor's gate decided and that predecessor did not live to record. Sending the step again gave the failing
 * version traffic again, until the gate failed once more (e2e/crash-canary). Without a gate only the user aborts,
 * and the control stays set, so there a step undone out of band is still put back.
 */
function undoneStep(input: CanaryInput, canary: Canary, current: CanaryStatus): CanaryStatus | undefined {
  const config = landing(input);
  if (!canary.gate?.length || current.stepReachedTime === undefined || !config) return undefined;
  if (config.entityCount !== 1 || config.entityVersion !== current.fromVersion) return undefined;
  const message = `version ${current.fromVersion} serves alone although step ${current.step} (${current.share} %) had served: the canary was aborted before status said so (by its metrics gate, with the operator stopped before it wrote status, or by a change in Databricks); all traffic stays on version ${current.fromVersion}`;
  return { ...current, phase: 'Aborted', stepReachedTime: undefined, message };
}

/**
 * The spec and split the planner aims for in this phase; a running step without a served config: the old version alone.
 * The old version keeps the throughput it served before the canary, unless spec.schedule steers the throughput (`spec`
 * has the schedule's throughput of now): then it follows the schedule as the new version does, so a window that opens
 * during a canary, or after an abort, reaches the version that serves most of the traffic.
 */
function configFor(spec: EndpointSpec, status: CanaryStatus, served: ObservedServing | undefined): Pick<CanaryDecision, 'spec' | 'split'> {
  const scheduled = spec.schedule !== undefined;
  if (status.phase === 'Aborted' || (!served && status.phase === 'Progressing')) {
    const { from } = status;
    const throughput = scheduled ? spec.throughput : from.modelUnits !== undefined ? { modelUnits: from.modelUnits } : { tokensPerSecond: { min: from.minTokensPerSecond ?? 0, max: from.maxTokensPerSecond ?? 0 } };
    return { spec: { ...spec, model: { ...spec.model, version: status.fromVersion }, throughput } };
  }
  if (status.phase === 'Promoting' || status.phase === 'Succeeded') return { spec };
  const previous: EntityThroughput & { name: string } = { name: status.from.entityName, entityVersion: status.fromVersion, ...definedOnly({ minTokensPerSecond: status.from.minTokensPerSecond, maxTokensPerSecond: status.from.maxTokensPerSecond, modelUnits: status.from.modelUnits }) };
  return { spec, split: { previous, name: entityNameFor(spec.model.name, status.toVersion), share: status.share, ...(scheduled && { previousFollowsDesired: true }) } };
}

function wake(canary: Canary, status: CanaryStatus): Pick<CanaryDecision, 'wakeAt'> {
  if (status.phase !== 'Paused' || !status.stepReachedTime) return {};
  return { wakeAt: new Date(Date.parse(status.stepReachedTime) + parseDurationMs(canary.pause)) };
}

/** The versions Databricks serves now: none while the endpoint is missing or being created. */
/** Databricks serves at most 15 entities per endpoint; a host that answers more does not grow status past that. */
const MAX_SHOWN_VERSIONS = 15;

function observedVersions(served: ObservedServing | undefined): CanaryStatus['versions'] {
  return (served?.entities ?? []).slice(0, MAX_SHOWN_VERSIONS).map((e) => ({ version: e.entityVersion ?? '', share: e.share, throughput: describeEntity(e).replace(/^version \S+ (at |with )/, '') }));
}

export const sortedSteps = (canary: Canary): number[] => [...new Set(canary.steps)].sort((a, b) => a - b);

/**
 * Whether status.canary stays as it was: the planned step was not sent; the spec could not be resolved (a mistyped
 * model.version, a model the operator may not read: nothing was sent, and setting it back resumes the canary where it
 * was); or the endpoint is missing and is not created again (the object is refused: another workspace, a rejected
 * spec, an older claimant), so the canary as it stands still holds for the endpoint wherever it is. Never for an
 * observer (the reconciler asks only for Full): nothing is sent, so no canary stands (decideCanary).
 */
export const canaryKept = (notSent: boolean, endpoint: Observed<ServingEndpointDetailed>, plan: Plan): boolean =>
  notSent || plan.specUnresolved === true || (endpoint.kind === 'notFound' && plan.action.type !== 'create');

/**
 * The plan with status.canary and a requeue no later than the end of a pause. When the canary is kept (canaryKept),
 * status keeps it as it was, with the versions Databricks serves now, so the next reconcile sends the step again.
 */
export function withCanary(plan: Plan, previous: EndpointStatus, decision: CanaryDecision, kept: boolean, now: Date): Plan {
  const status = { ...plan.status };
  const canary = kept ? keptCanary(previous.canary, decision.servedVersions) : decision.status && withRolloutFailure(decision.status, plan.status.conditions);
  if (canary) status.canary = stripUndefined(canary);
  else delete status.canary;
  return { ...plan, status, requeue: requeueBy(plan.requeue, decision.wakeAt, now) };
}

const keptCanary = (canary: CanaryStatus | undefined, servedVersions: CanaryStatus['versions']): CanaryStatus | undefined =>
  canary && servedVersions ? { ...canary, versions: servedVersions } : canary;

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function stripUndefined(status: CanaryStatus): CanaryStatus {
  return definedOnly(status);
}
