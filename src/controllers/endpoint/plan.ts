// The decision table of docs/architecture (reconcile decisions), as one pure function:
// (object, observations, clock) → (one action, next status, when to look again, events).
// The reconciler only fetches, calls planEndpoint, executes the action and writes the status.
import {
  EndpointAnnotation,
  EndpointReadyReason as ReadyReason,
  EndpointSyncedReason as SyncedReason,
} from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import { type Condition, findCondition } from '../../kube/conditions.js';
import { kubeTime } from '../../kube/time.js';
import { rolloutFailure } from './capacity.js';
import { asksNoNewAttempt, keptCapacity, pausedRetryMessage, planCapacityRetry, planFailedRollout } from './failed-rollout.js';
import { planSettings } from './settings.js';
import { heldByRollout, heldMessage, tagChanges } from './held-by-rollout.js';
import {
  type DesiredServing,
  type ObservedServing,
  createRequest,
  describeServing,
  diffServing,
  keepingUnmanagedFields,
  observeConfig,
  sameServing,
  statusFields,
  updateRequest,
} from './desired.js';
import { OwnerTag, claimedMessage, decideOwnership, desiredTags, managedTagKeys, ownershipOf, tagMap } from './ownership.js';
import { recordAdoption, tagsPatchedFor, withOwnerTags } from './adoption.js';
import { PlanBuilder, endpointNameOf, forgetServing, isNewGeneration, jittered, owner, progressRequeue, recordEndpoint } from './plan-builder.js';
import type { EndpointAction, EndpointObject, Plan, PlanInput, Requeue } from './plan-types.js';
import { planCrdDeletion, planDeletion } from './deletion.js';
import { planCallFailure, planModelReadFailure, planRejected, rejectedForThisSpec } from './failures.js';
import { WORKSPACE_CHANGED, endpointMissingMessage, recordWorkspace, workspaceChanged } from './workspace-move.js';
import { isPaused, newRequest, pauseProblem, wantsAdoption } from './user-requests.js';
import { planPreflight } from './preflight.js';
import { isObserveOnly, planObserveOnly } from './observe-only.js';
import { SPEC_APPLIED } from './status-summary.js';

export type * from './plan-types.js';
export { endpointNameOf } from './plan-builder.js';
export { planActionFailure, planCallFailure } from './failures.js';

/** Which Databricks reads the plan needs; reading nothing when paused or being orphaned. */
export function observationsNeeded(object: EndpointObject, workspaceReady: boolean): { endpoint: boolean; model: boolean } {
  if (isPaused(object) || (object.deleting && object.crdDeleting)) return { endpoint: false, model: false };
  if (object.deleting) {
    const deleteFromDatabricks = object.hasFinalizer && object.spec.deletionPolicy === 'Delete' && !isObserveOnly(object.spec) && workspaceReady;
    return { endpoint: deleteFromDatabricks, model: false };
  }
  if (!workspaceReady) return { endpoint: false, model: false };
  return { endpoint: true, model: true };
}

/**
 * The object never made Databricks act: the finalizer goes on before any call that changes Databricks, so
 * without it (and not being deleted) nothing of this object's can exist there yet.
 */
export const neverActed = (object: Pick<EndpointObject, 'hasFinalizer' | 'deleting'>): boolean => !object.hasFinalizer && !object.deleting;

/**
 * A rollout this object asked for is running and nothing was asked since (same generation, no new requested-at,
 * no schedule or canary steering it): a look only needs to know whether it still runs, which the workspace's list
 * of endpoints tells for every endpoint at once. The GET waits until the list says it no longer runs.
 */
export function onlyWatchingRollout(object: EndpointObject): boolean {
  const { status, annotations, spec } = object;
  return (
    object.hasFinalizer &&
    !object.deleting &&
    !isPaused(object) &&
    status.observedGeneration === object.generation &&
    status.state?.configUpdate === 'IN_PROGRESS' &&
    status.pending?.startTime !== undefined &&
    !newRequest(object) &&
    spec.schedule === undefined &&
    spec.canary === undefined &&
    status.canary === undefined &&
    annotations[EndpointAnnotation.canary] === undefined
  );
}

export function planEndpoint(input: PlanInput): Plan {
  const { object } = input;
  const plan = new PlanBuilder(input);

  // The CRD is going, so the API server deletes every object of it: nobody asked for the endpoints to go.
  if (object.deleting && object.crdDeleting) return planCrdDeletion(input, plan);

  // Paused wins over deletion too: observationsNeeded reads nothing while paused, so a delete could
  // not tell our endpoint from a missing one; the deletion proceeds once the annotation is removed.
  if (isPaused(object)) {
    const deletion = object.deleting ? '; the deletion waits until the annotation is removed' : '';
    const retryHeld = pausedRetryMessage(object);
    if (retryHeld !== undefined) plan.ready(false, ReadyReason.WaitingForCapacity, retryHeld);
    return plan
      .synced(false, SyncedReason.ReconcilePaused, `${pauseProblem(object) ?? `annotation ${EndpointAnnotation.paused}="true": the operator neither reads nor changes the endpoint`}${deletion}`)
      .finish({ type: 'none' }, undefined);
  }

  if (object.deleting) return planDeletion(input, plan);

  plan.status.endpointName = endpointNameOf(object);

  if (!input.workspace.ready) {
    // Only an admin or a new object helps a namespace refused the default workspace, only a person a workspace whose
    // credentials or spec were refused: the spec counts as handled, so kstatus sees Stalled for this generation (as
    // for a refused read below). A workspace not ready yet, or whose host is unreachable, retries.
    if (input.workspace.reason !== undefined && REFUSED_BEFORE_CARRIED_OUT.has(input.workspace.reason)) handleRequest(input, plan, true);
    return plan
      .synced(false, input.workspace.reason ?? SyncedReason.WorkspaceNotReady, input.workspace.message ?? 'the workspace is not ready')
      .finish({ type: 'none' }, { after: input.settings.workspaceRetryMs });
  }

  // Reads failed: say so and come back; Ready keeps what it last knew of this spec (status-summary.ts). A model
  // the operator may not read blocks the spec instead: status and Ready then say what the endpoint serves. A read
  // refused for want of a permission fails the same way until a grant: the spec counts as handled, as on a refused
  // action (failures.ts), so kstatus sees Stalled for this generation instead of InProgress until its timeout.
  const readFailure = input.model.kind === 'failed' ? input.model.error : input.endpoint.kind === 'failed' ? input.endpoint.error : undefined;
  if (readFailure?.kind === 'PermissionDenied') handleRequest(input, plan, true);
  if (input.model.kind === 'failed') {
    // Observe: the model serves only the comparison; the endpoint is still read and reported (observe-only.ts).
    if (isObserveOnly(object.spec) && input.endpoint.kind !== 'failed') return planObserveOnly(input, plan, false, input.model.error);
    const refused = input.model.error.kind === 'PermissionDenied' && input.endpoint.kind === 'found' ? input.endpoint.value : undefined;
    return planModelReadFailure(input, plan, input.model.error, refused && recordObservedEndpoint(input, plan, refused) ? refused : undefined);
  }
  if (input.endpoint.kind === 'failed') return planCallFailure(input, plan, input.endpoint.error);

  // From here on the plan decides on the new spec or requested-at token, so they count as handled.
  // Not before: a request met by a workspace outage or a failed read must still be acted on later.
  const { requested, newGeneration, fresh } = handleRequest(input, plan);
  // Observe: from here on the observed endpoint is only compared, never changed (observe-only.ts).
  if (isObserveOnly(object.spec)) return planObserveOnly(input, plan, fresh);

  const ours = input.endpoint.kind === 'found' && recordObservedEndpoint(input, plan, input.endpoint.value);

  const preflight = planPreflight(input, plan, fresh, ours);
  if ('plan' in preflight) return preflight.plan;
  const desired = preflight.desired;

  const rejected = rejectedForThisSpec(input, fresh);
  if (input.endpoint.kind !== 'found') {
    if (rejected) return planRejected(input, plan, undefined);
    const moved = requested ? undefined : workspaceChanged(object.status, input.workspace.host, endpointNameOf(object));
    if (moved) return plan.blocked(WORKSPACE_CHANGED, moved, moved).finish({ type: 'none' }, undefined);
    const claimant = input.tenancy.olderClaimant;
    // The older claimant creates it; once it exists, its owner tags tell this object why it must wait.
    if (claimant !== undefined) return planRefused(plan, claimedMessage(`endpoint ${endpointNameOf(object)}`, claimant), { after: input.settings.pollIntervalMs });
    // The reconciler looks only once claims of the name made in the same second are known (claim-fence.ts).
    return planCreate(input, plan, desired);
  }
  return planExisting(input, plan, input.endpoint.value, desired, { fresh, newGeneration, newRequest: requested });
}

/**
 * A create or config update that Databricks accepted: the status it leaves is the one its answer (the endpoint,
 * rolling out) plans, with its ID, URL, state and pending config, so the first look at the rollout writes nothing
 * while it still runs (issue 12 item 5: three writes from apply to Ready). The action's Events stay; the answer
 * adds none. Should the answer not be ours or plan another action, the status stays as the action planned it.
 */
export function withActionAnswer(input: PlanInput, plan: Plan, answered: ServingEndpointDetailed): Plan {
  if (plan.action.type !== 'create' && plan.action.type !== 'updateConfig') return plan;
  if (ownershipOf(answered, owner(input.object), plan.status, input.tenancy.taggedOwnerPresence, input.workspace.host).kind !== 'ours') return plan;
  const after = planEndpoint({
    ...input,
    object: { ...input.object, hasFinalizer: true, status: plan.status },
    endpoint: { kind: 'found', value: answered },
    desiredChanged: false,
  });
  if (after.action.type !== 'none') return plan;
  return { ...plan, status: after.status, requeue: after.requeue };
}

function planCreate(input: PlanInput, plan: PlanBuilder, desired: DesiredServing): Plan {
  const { object } = input;
  const name = endpointNameOf(object);
  const missing = endpointMissingMessage(object.status, input.workspace.host, name);
  if (missing) plan.event('Warning', 'EndpointMissing', missing);
  delete plan.status.endpointId;
  recordWorkspace(plan.status, input.workspace.host);
  delete plan.status.adoption;
  delete plan.status.served;
  delete plan.status.servedGeneration;
  delete plan.status.state;
  plan.status.pending = { ...statusFields(desired), startTime: kubeTime(input.now) };
  plan.status.managedTagKeys = managedTagKeys(object.spec.tags);
  return plan
    .ready(false, ReadyReason.Creating, `creating endpoint ${name} with ${describeServing(desired)}`)
    .synced(true, SyncedReason.ReconcileSuccess, `create of endpoint ${name} requested`)
    .event('Normal', 'CreatingEndpoint', `creating endpoint ${name} with ${describeServing(desired)}`)
    .finish({ type: 'create', request: createRequest(name, desired, desiredTags(object.spec.tags, owner(object)), object.spec) }, progressRequeue(input, kubeTime(input.now)));
}

function planExisting(
  input: PlanInput,
  plan: PlanBuilder,
  endpoint: ServingEndpointDetailed,
  desired: DesiredServing,
  { fresh, newGeneration, newRequest }: { fresh: boolean; newGeneration: boolean; newRequest: boolean },
): Plan {
  const { object } = input;
  const name = endpoint.name;
  const host = input.workspace.host;
  const ownership = decideOwnership({ endpoint, owner: owner(object), held: object.status, workspace: host, wantsAdoption: wantsAdoption(object), adoptAnnotation: EndpointAnnotation.adopt, ...input.tenancy });
  // Not ours by its tag, and the records were made in another workspace: a move, stopped like a create there
  // (an annotation left from an import is no request to adopt here), until requested-at asks.
  const moved = ownership.kind === 'ours' || newRequest ? undefined : workspaceChanged(object.status, host, name, true);
  if (moved) return plan.blocked(WORKSPACE_CHANGED, moved, moved).finish({ type: 'none' }, undefined);
  // Looked at again every poll interval: the endpoint holding the name may be deleted, or an older claimant go.
  if (ownership.kind === 'refuse') {
    if (ownership.replaced) forgetServing(plan.status);
    return planRefused(plan, ownership.message, jittered(input.settings.pollIntervalMs, 0.1, input.random));
  }
  if (ownership.kind === 'adopt') {
    // Recorded, not written to Databricks (adoption.ts); the next step manages the endpoint like any other.
    recordAdoption(plan.status, ownership.endpointId, { uid: object.uid, fromUid: tagMap(endpoint)[OwnerTag.uid] }, host, kubeTime(input.now), object.spec.tags);
    return plan
      .synced(true, SyncedReason.ReconcileSuccess, `adopting endpoint ${name}`)
      .event('Normal', 'Adopted', ownership.message)
      .finish({ type: 'adopt', name }, { after: 0 });
  }
  // Owner tags of an adoption wait for a change; those removed out of band (held by status.endpointId) are drift now.
  const planned = planOwned(input, plan, endpoint, desired, fresh, newGeneration, ownership.ownerTagsPending && !ownership.restoreOwnerTags);
  return withOwnerTags(planned, object.status, owner(object), name, ownership.ownerTagsPending, object.generation);
}

/** Refusals that need a person: met at a generation's first look, they count it as handled though nothing of it was sent. */
const REFUSED_BEFORE_CARRIED_OUT: ReadonlySet<string> = new Set([SyncedReason.PermissionDenied, SyncedReason.DefaultWorkspaceNotAllowed, SyncedReason.WorkspaceStalled]);

/**
 * The spec and requested-at token count as handled from here on. A new spec or a requested-at token starts over: fresh
 * retry budget, failures of older attempts forgotten. `refused`: this look meets a refusal that needs a person
 * (REFUSED_BEFORE_CARRIED_OUT). One that meets a new generation holds it (status.heldGeneration): handled, so kstatus
 * sees Stalled, yet the look after the grant (an allowance, a fix) still treats it as new, its config no drift. One
 * that meets a generation already carried out held nothing back: its end re-sends nothing Databricks refused and
 * restarts no spent capacity budget, unless a new requested-at token asks for it.
 */
function handleRequest(input: PlanInput, plan: PlanBuilder, refused = false): { requested: boolean; newGeneration: boolean; fresh: boolean } {
  const { object } = input;
  const requestedAt = object.annotations[EndpointAnnotation.requestedAt];
  const requested = newRequest(object);
  const newGeneration = isNewGeneration(input);
  const fresh = requested || newGeneration;
  if (fresh) {
    delete plan.status.capacity;
    delete plan.status.rejectedGeneration;
  }
  if (refused && newGeneration) plan.status.heldGeneration = object.generation;
  else delete plan.status.heldGeneration;
  // A refused requested-at token stays unhandled: the look after the grant carries it out.
  if (requestedAt !== undefined && !(refused && requested)) plan.status.lastHandledRequestedAt = requestedAt;
  plan.status.observedGeneration = object.generation;
  return { requested, newGeneration, fresh };
}

/** The endpoint is this object's: bring it to the spec. */
function planOwned(
  input: PlanInput,
  plan: PlanBuilder,
  endpoint: ServingEndpointDetailed,
  desired: DesiredServing,
  fresh: boolean,
  newGeneration: boolean,
  ownerTagsWait: boolean,
): Plan {
  desired = keepingUnmanagedFields(desired, endpoint.config); // the entity's own name, environment variables, instance profile
  const { object } = input;
  const name = endpoint.name;
  const served = observeConfig(endpoint.config);
  if (served) served.burstScaling ??= plan.status.served?.burstScaling;
  const pending = observeConfig(endpoint.pending_config, object.spec.model.version);
  const update = endpoint.state.config_update;
  const failure = rolloutFailure(endpoint, input.settings.capacityPatterns);
  // A new generation that changes only tags or settings is no new attempt at the rollout that runs or failed: its
  // capacity count stands, and so does its failure.
  const sameAttempt = fresh && (update === 'IN_PROGRESS' || failure !== undefined) && asksNoNewAttempt(object, desired, pending, input.canaryRollback);
  if (sameAttempt && object.status.capacity) plan.status.capacity = keptCapacity(object.status.capacity, object.spec.capacityRetry.timeout);
  // Drift is a config the spec does not ask for and that no rollout we requested or already watched
  // explains; a spec edited during our own rollout is not drift when that rollout lands.
  const isDrift = (config: ObservedServing) =>
    !newGeneration && diffServing(desired, config).length > 0 && !sameServing(object.status.pending, config);
  // Ready leaves True while drift is restored: status.servedGeneration keeps that this generation had served, so the
  // tags and settings changed with it are drift too once the restore lands (servedBefore). Written only here, with
  // the Updating status, so no object's status changes just to record it.
  const keepServedGeneration = () => {
    if (servedBefore(object)) plan.status.servedGeneration = object.generation;
  };

  // Refused by Databricks: nothing is sent again, whatever rolls out meanwhile; the endpoint is still watched.
  const rejected = rejectedForThisSpec(input, fresh);
  if (update === 'IN_PROGRESS') {
    if (rejected) return planRejected(input, plan, endpoint);
    if (pending && isDrift(pending)) {
      keepServedGeneration();
      plan.event('Warning', 'DriftDetected', `Databricks is rolling out a config that differs from the spec (${diffServing(desired, pending).join(', ')}); the spec is restored once it finishes`);
    }
    const waitingForCapacity = (plan.status.capacity?.attempts ?? 0) > 0;
    const target = pending ?? desired;
    // A rollout of another config (an older spec's, or one made outside the operator): the spec waits for it, since
    // Databricks takes no config update meanwhile. Nothing of it was sent, so Synced says it is held back (Reconciling).
    const heldBack = pending !== undefined && diffServing(desired, pending).length > 0;
    // What waits: the spec's config, or the rollback of an aborted canary (the spec asks for the aborted version).
    const next = input.canaryRollback ?? `the spec (${describeServing(desired)})`;
    const waits = heldBack ? `; ${next} is sent once that rollout finishes` : '';
    const message = served
      ? `Databricks is rolling out ${describeServing(target)}; ${describeServing(served)} still serves${waits}`
      : `Databricks is creating the endpoint with ${describeServing(target)}${waits}`;
    const reason = waitingForCapacity ? ReadyReason.WaitingForCapacity : served ? ReadyReason.Updating : ReadyReason.Creating;
    plan.ready(false, reason, waitingForCapacity ? `${message} (capacity retry ${plan.status.capacity?.attempts})` : message);
    if (heldBack) {
      plan.synced(false, SyncedReason.WaitingForRollout, `${describeServing(target)} rolls out in Databricks, which takes no other config update until it finishes; ${next} is sent then`);
      return plan.finish({ type: 'none' }, progressRequeue(input));
    }
    // The spec's own config rolls out. A generation that changed only tags or settings (or a look that found it so
    // already) has nothing sent until it ends (held-by-rollout.ts): Synced waits too, not to tell a kubectl wait it is done.
    // A generation that sent its config too is Synced; its message names what follows the rollout.
    const held = heldByRollout(input, endpoint, fresh, ownerTagsWait);
    if (held.length > 0 && (newGeneration || waitsForRollout(object))) plan.synced(false, SyncedReason.WaitingForRollout, heldMessage(held, describeServing(target)));
    else plan.synced(true, SyncedReason.ReconcileSuccess, withHeld('waiting for the rollout to finish', held, describeServing(target)));
    return plan.finish({ type: 'none' }, progressRequeue(input));
  }

  const diffs = diffServing(desired, served);

  if (diffs.length === 0) return planInSync(input, plan, endpoint, served as ObservedServing, fresh, ownerTagsWait);

  // A failure counts against this spec only if the config that failed is the one we want now;
  // the failure of an older rollout is simply superseded by sending the desired config.
  const failedDesiredConfig = failure !== undefined && (!fresh || sameAttempt) && (pending === undefined || diffServing(desired, pending).length === 0);
  // Refused by Databricks (400): whatever failed before, a retry of it (a capacity retry too) is not sent again.
  if (rejected) return planRejected(input, plan, endpoint);
  if (failure && failedDesiredConfig) {
    const failed = failure.capacity ? planCapacityRetry(input, plan, desired, failure.message, served, endpoint.pending_config?.start_time) : planFailedRollout(plan, failure.message, served, input.canaryRollback);
    return failed.action.type === 'none' ? withSpecTags(failed, object, endpoint, ownerTagsWait) : failed;
  }

  // Spec changed, drift, or a new attempt after a failure: send the whole desired config.
  const what = diffs.join(', ');
  if (served && !failure && isDrift(served)) {
    keepServedGeneration();
    plan.event('Warning', 'DriftDetected', `Databricks serves a config that differs from the spec (${what}); restoring the spec`);
  }
  plan.status.pending = { ...statusFields(desired), startTime: kubeTime(input.now) };
  const message = served
    ? `updating: ${what}; ${describeServing(served)} still serves`
    : `updating: ${what}`;
  return plan
    .ready(false, served ? ReadyReason.Updating : ReadyReason.Creating, message)
    .synced(true, SyncedReason.ReconcileSuccess, withHeld('config update requested', heldByRollout(input, endpoint, fresh, ownerTagsWait), describeServing(desired)))
    .event('Normal', 'UpdatingConfig', `updating endpoint ${name}: ${what}`)
    .finish({ type: 'updateConfig', request: updateRequest(name, desired) }, progressRequeue(input, kubeTime(input.now)));
}

function planInSync(input: PlanInput, plan: PlanBuilder, endpoint: ServingEndpointDetailed, served: ObservedServing, fresh: boolean, ownerTagsWait: boolean): Plan {
  const { object } = input;
  const name = endpoint.name;
  const recovered = (plan.status.capacity?.attempts ?? 0) > 0;
  delete plan.status.capacity;
  delete plan.status.pending;
  delete plan.status.rejectedGeneration;
  if (recovered) plan.event('Normal', 'CapacityRecovered', `${describeServing(served)} now serves after GPU capacity became available`);

  // Drift is a difference from a spec the endpoint already served at an earlier look; until then, a tag or setting
  // that differs is the edit that came with a config change (applied once its rollout is done), not someone else's.
  const carriedOut = !fresh && servedBefore(object);
  const tags = tagChanges(object, endpoint, ownerTagsWait);
  plan.status.managedTagKeys = managedTagKeys(object.spec.tags);
  const tagsDiffer = tags.add.length + tags.remove.length > 0;
  if (tagsDiffer && carriedOut) {
    // Tags changed outside Kubernetes (not by a new spec): drift, told like served-config drift (docs/concepts.md).
    const keys = [...tags.add.map((t) => t.key), ...tags.remove];
    plan.event('Warning', 'DriftDetected', `the endpoint's tags differ from the spec (${keys.join(', ')}); restoring them`);
  }
  // The parts beside the served config (settings.ts): each reports on its own; the first change waits for the tags,
  // once per generation (adoption.ts tagsPatchedFor): tags the endpoint never shows do not hold a change back.
  const reads = { permissions: input.permissions ?? { kind: 'skipped' }, ...(input.inferenceTableSchema && { inferenceTableSchema: input.inferenceTableSchema }) } as const;
  const status = { settings: plan.status.settings, conditions: plan.status.conditions as Condition[] | undefined };
  const operatorIdentity = input.workspace.principal;
  const tagsTakeMutation = tagsDiffer && !tagsPatchedFor(object.status, object.generation);
  plan.applySettings(planSettings({ spec: object.spec, endpoint, ...reads, status, generation: object.generation, fresh, carriedOut, now: input.now, ...(operatorIdentity && { operatorIdentity }), mutationTaken: tagsTakeMutation }));
  const tagsFirst = tagsTakeMutation || (tagsDiffer && !plan.settingsAction);
  const tagAction: EndpointAction = tagsFirst ? { type: 'patchTags', name, add: tags.add, remove: tags.remove } : (plan.settingsAction ?? { type: 'none' });

  if (endpoint.state.ready !== 'READY') {
    return plan
      .ready(false, ReadyReason.NotReady, `the desired config is deployed but Databricks reports the endpoint ${endpoint.state.ready ?? 'not ready'}`)
      .synced(true, SyncedReason.ReconcileSuccess, SPEC_APPLIED)
      .finish(tagAction, progressRequeue(input));
  }
  return plan
    .ready(true, ReadyReason.Available, `${describeServing(served)} serves`)
    .synced(true, SyncedReason.ReconcileSuccess, SPEC_APPLIED)
    .finish(tagAction, settledRequeue(input, tagAction, plan.settingsAction !== undefined));
}

/**
 * A failed rollout (UpdateFailed, a capacity wait or an exhausted budget) holds back the served config, not the tags:
 * a plan that sends nothing patches those the spec asks for, so a tag added meanwhile is not missing for hours.
 */
function withSpecTags(planned: Plan, object: EndpointObject, endpoint: ServingEndpointDetailed, ownerTagsWait: boolean): Plan {
  const { add, remove } = tagChanges(object, endpoint, ownerTagsWait);
  const status = { ...planned.status, managedTagKeys: managedTagKeys(object.spec.tags) };
  if (add.length + remove.length === 0) return { ...planned, status };
  return { ...planned, status, action: { type: 'patchTags', name: endpoint.name, add, remove } };
}

/**
 * Ready reasons of a look that found the served config in sync (planInSync) though not Ready: a canary's step serving
 * (for days, perhaps), an aborted canary, an endpoint Databricks reports not ready.
 */
const IN_SYNC_NOT_READY: ReadonlySet<string> = new Set([ReadyReason.NotReady, ReadyReason.CanaryInProgress, ReadyReason.CanaryAborted]);

/** Synced's message, and what of the spec waits for the rollout of `rollout` (tags, settings), if anything does. */
const withHeld = (message: string, held: ReturnType<typeof heldByRollout>, rollout: string) => (held.length > 0 ? `${message}; ${heldMessage(held, rollout)}` : message);

/** An earlier look of this generation said that what it asks for waits for a rollout (Synced WaitingForRollout). */
function waitsForRollout(object: EndpointObject): boolean {
  const synced = findCondition(object.status.conditions as Condition[] | undefined, 'Synced');
  return synced?.status === 'False' && synced.reason === SyncedReason.WaitingForRollout && synced.observedGeneration === object.generation;
}

/**
 * An earlier look found the endpoint serving this generation's config: its tags and settings were due then. Recorded in
 * status.servedGeneration, which outlives the restore of a served config changed in Databricks (Ready is Updating
 * meanwhile), so tags and settings changed together with it are drift too; Ready alone is read for a status written
 * before that field.
 */
function servedBefore(object: EndpointObject): boolean {
  if (object.status.servedGeneration === object.generation) return true;
  const ready = findCondition(object.status.conditions as Condition[] | undefined, 'Ready');
  return ready?.observedGeneration === object.generation && (ready.status === 'True' || IN_SYNC_NOT_READY.has(ready.reason));
}

/**
 * When an endpoint that serves the spec is looked at again. A tag patch is confirmed by its response: unless a
 * settings change waits behind it, come back at the poll interval, so a Databricks tag policy that reverts a tag
 * the spec sets costs one patch per interval instead of a loop.
 */
function settledRequeue(input: PlanInput, action: EndpointAction, settingsWaiting: boolean): Requeue {
  if (action.type === 'patchTags') return settingsWaiting ? { after: 0 } : jittered(input.settings.pollIntervalMs, 0.1, input.random);
  return action.type === 'none' ? jittered(input.settings.pollIntervalMs, 0.1, input.random) : progressRequeue(input);
}

/** Not this object's endpoint (or not yet): say why, send nothing. */
function planRefused(plan: PlanBuilder, message: string, requeue: Requeue): Plan {
  return plan.blocked(SyncedReason.NotOwned, message, message).finish({ type: 'none' }, requeue);
}

/** Records what Databricks reports of the endpoint in status, if it is this object's; says whether it was. */
function recordObservedEndpoint(input: PlanInput, plan: PlanBuilder, endpoint: ServingEndpointDetailed): boolean {
  if (ownershipOf(endpoint, owner(input.object), input.object.status, input.tenancy.taggedOwnerPresence, input.workspace.host).kind !== 'ours') return false;
  recordEndpoint(input, plan.status, endpoint, true);
  return true;
}
