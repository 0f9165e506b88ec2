// spec.managementPolicy: Observe (docs/concepts.md, "Observe-only endpoints"): the operator reads an endpoint made
// elsewhere (Terraform, a notebook, another team) and reports on it, and never sends Databricks a change. Pure: the
// one gate plan.ts passes an observed object through, after the reads; what differs comes from the planners that
// would have sent it (desired.ts diffServing, the settings parts), so nothing here compares anything itself.
import {
  EndpointAnnotation,
  type EndpointSpec,
  EndpointReadyReason as ReadyReason,
  EndpointSyncedReason as SyncedReason,
} from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import type { Condition } from '../../kube/conditions.js';
import { rolloutFailure } from './capacity.js';
import { type DesiredServing, describeServing, diffServing, observeConfig } from './desired.js';
import { decideOwnership, diffTags, ownershipOf, recordsIn, tagMap } from './ownership.js';
import { type PlanBuilder, endpointNameOf, forgetServing, jittered, owner, progressRequeue, recordEndpoint } from './plan-builder.js';
import type { CallFailure, Plan, PlanInput } from './plan-types.js';
import { planModelReadFailure } from './failures.js';
import { planPreflight } from './preflight.js';
import { NOTHING_CHANGED, PartReason } from './settings-part.js';
import { SETTINGS_PARTS, planSettings } from './settings.js';

const PART_CONDITIONS: ReadonlySet<string> = new Set(SETTINGS_PARTS.map((part) => part.conditionType));

export const isObserveOnly = (spec: Pick<EndpointSpec, 'managementPolicy'>): boolean => spec.managementPolicy === 'Observe';


/**
 * Why this object may not observe the endpoint, or undefined when it may. The ownership rules decide as for an
 * adoption (docs/security.md): an endpoint another live object holds (owner tags or a status record), one tagged for
 * an object of another namespace without --allow-cross-namespace-adoption, or for an object the operator cannot see,
 * is refused, with the message a refused adoption gets and nothing more of the endpoint. Observing claims nothing, so
 * claims of the endpoint name by other objects do not matter.
 */
export function observeRefusal(input: Pick<PlanInput, 'object' | 'tenancy'> & { workspace: Pick<PlanInput['workspace'], 'host'> }, endpoint: ServingEndpointDetailed): string | undefined {
  const decision = decideOwnership({
    endpoint,
    owner: owner(input.object),
    held: input.object.status,
    workspace: input.workspace.host,
    wantsAdoption: true,
    adoptAnnotation: EndpointAnnotation.adopt,
    ...input.tenancy,
    olderClaimant: undefined,
  });
  return decision.kind === 'refuse' ? decision.message : undefined;
}

/**
 * The plan of an observed object (not being deleted, reads done): Ready says what Databricks reports, Synced whether
 * the endpoint matches the spec, and the action is always none. An absent endpoint is EndpointNotFound (nothing is
 * created); one the object may not observe is NotOwned, as for Full. A spec that cannot be compared (its model
 * missing or unreadable, `modelReadFailure`, or off the model's grid) says so in Synced; Ready is still the endpoint's.
 */
export function planObserveOnly(input: PlanInput, plan: PlanBuilder, fresh: boolean, modelReadFailure?: CallFailure): Plan {
  const { object } = input;
  const name = endpointNameOf(object);
  const poll = jittered(input.settings.pollIntervalMs, 0.1, input.random);
  forgetFullState(plan);
  const endpoint = input.endpoint.kind === 'found' ? input.endpoint.value : undefined;
  const readiness = endpoint && observedReadiness(input, endpoint);
  if (endpoint && readiness) {
    const refused = observeRefusal(input, endpoint);
    if (refused) {
      forgetServing(plan.status);
      forgetSettings(plan);
      return plan.blocked(SyncedReason.NotOwned, refused, refused).finish({ type: 'none' }, poll);
    }
    const holds = ownershipOf(endpoint, owner(object), object.status, input.tenancy.taggedOwnerPresence, input.workspace.host).kind === 'ours';
    if (!holds && replacedHere(object.status, endpoint, input.workspace.host)) forgetHeldEndpoint(plan);
    recordEndpoint(input, plan.status, endpoint, holds);
    // Whatever keeps the spec from being compared below, Ready is the endpoint's.
    plan.readyAsObserved = readiness;
  }
  if (modelReadFailure) return planModelReadFailure(input, plan, modelReadFailure, undefined);
  const preflight = planPreflight(input, plan, fresh, endpoint !== undefined);
  if ('plan' in preflight) return preflight.plan;
  if (!endpoint || !readiness) {
    forgetSettings(plan);
    const message = `endpoint ${name} does not exist in Databricks; managementPolicy is Observe, so the operator does not create it (create it where it is managed, or set managementPolicy: Full)`;
    return plan.ready(false, ReadyReason.EndpointNotFound, message).synced(false, SyncedReason.EndpointNotFound, message).finish({ type: 'none' }, poll);
  }

  const differences = observedDifferences(input, plan, endpoint, preflight.desired);
  if (differences.length === 0) plan.synced(true, SyncedReason.ReconcileSuccess, 'the endpoint matches the spec (managementPolicy is Observe: the operator only reads it)');
  else plan.synced(false, SyncedReason.Drifted, `the endpoint differs from the spec: ${differences.join('; ')}; ${NOTHING_CHANGED}`);
  plan.ready(readiness.ready, readiness.reason, readiness.message);
  return plan.finish({ type: 'none' }, readiness.rollingOut ? progressRequeue(input) : poll);
}

/**
 * What only a Full object keeps up, which would mislead once it observes (docs/concepts.md, "Observe-only endpoints"):
 * its capacity retries, a refused request, the generation a restore or a tag patch was made for, the tag keys it may
 * change (a later Full manages those of its spec then, so a tag someone else put there while it observed stays).
 * Absent from an observer's status, so deleting them costs no write at steady state. Kept, being still true or what
 * ownership rests on (docs/security.md rules 1-7): endpointId, workspaceHost and adoption (the endpoint it created or
 * adopted stays its own; a later Full names one deleted meanwhile; only one replaced under its name goes, replacedHere), lastHandledRequestedAt and heldGeneration
 * (observing handles them too), optimization (the spec is read in those chunk sizes), served, state, pending and
 * endpointUrl (recorded from each read), settings (what each compared part shows; observe mode counts no attempts).
 * Schedule and canary state go in the reconciler (admission refuses both with Observe).
 */
function forgetFullState(plan: PlanBuilder): void {
  delete plan.status.capacity;
  delete plan.status.rejectedGeneration;
  delete plan.status.servedGeneration;
  delete plan.status.tagPatchGeneration;
  delete plan.status.managedTagKeys;
}

/**
 * The endpoint this object created or adopted in this workspace is gone and another was made under its name: IDs are
 * never reused in a workspace, so its records (endpointId, adoption) hold nothing any more and would only name a gone
 * endpoint beside this one's served config. A record made in another workspace stays (workspace-move.ts).
 */
function replacedHere(status: PlanInput['object']['status'], endpoint: ServingEndpointDetailed, host: string | undefined): boolean {
  const held = recordsIn(status, host);
  const recorded = held.endpointId ?? held.adoption?.endpointId;
  return recorded !== undefined && endpoint.id !== undefined && endpoint.id !== recorded;
}

function forgetHeldEndpoint(plan: PlanBuilder): void {
  delete plan.status.endpointId;
  delete plan.status.workspaceHost;
  delete plan.status.adoption;
}

/** No endpoint to compare (gone, or not this object's to read): no part says how it compared. */
function forgetSettings(plan: PlanBuilder): void {
  delete plan.status.settings;
  if (plan.status.conditions) plan.status.conditions = plan.status.conditions.filter((c) => !PART_CONDITIONS.has(c.type));
}

/** What Ready says of an observed endpoint: only what Databricks reports, whatever the spec asks. */
export function observedReadiness(input: Pick<PlanInput, 'settings'>, endpoint: ServingEndpointDetailed): { ready: boolean; reason: string; message: string; rollingOut: boolean } {
  const served = observeConfig(endpoint.config);
  const pending = observeConfig(endpoint.pending_config);
  if (endpoint.state.config_update === 'IN_PROGRESS') {
    const target = pending ? describeServing(pending) : 'a new config';
    return served
      ? { ready: false, reason: ReadyReason.Updating, message: `Databricks is rolling out ${target}; ${describeServing(served)} still serves`, rollingOut: true }
      : { ready: false, reason: ReadyReason.Creating, message: `Databricks is creating the endpoint with ${target}`, rollingOut: true };
  }
  const failure = rolloutFailure(endpoint, input.settings.capacityPatterns);
  if (failure) {
    const serving = served ? `; ${describeServing(served)} still serves` : '';
    return { ready: false, reason: ReadyReason.UpdateFailed, message: `the last rollout failed: ${failure.message}${serving}`, rollingOut: false };
  }
  if (endpoint.state.ready !== 'READY' || !served) {
    return { ready: false, reason: ReadyReason.NotReady, message: `Databricks reports the endpoint ${endpoint.state.ready ?? 'not ready'}`, rollingOut: false };
  }
  return { ready: true, reason: ReadyReason.Available, message: `${describeServing(served)} serves`, rollingOut: false };
}

/**
 * How the endpoint differs from the spec, as the planners that would send a change describe it: the served config
 * (the one rolling out, if any, is what it will serve), the spec's tags (others on the endpoint are not the spec's
 * business), and each settings part, whose conditions say Observed or Drifted.
 */
function observedDifferences(input: PlanInput, plan: PlanBuilder, endpoint: ServingEndpointDetailed, desired: DesiredServing): string[] {
  const { object } = input;
  const config = endpoint.state.config_update === 'IN_PROGRESS' ? (observeConfig(endpoint.pending_config, object.spec.model.version) ?? observeConfig(endpoint.config)) : observeConfig(endpoint.config);
  const served = diffServing(desired, config);
  const tags = diffTags(tagMap(endpoint), object.spec.tags ?? {}, []).add.map(({ key, value }) => `tag ${key} ${tagMap(endpoint)[key] === undefined ? 'missing' : `is not ${JSON.stringify(value)}`}`);
  const status = { settings: plan.status.settings, conditions: plan.status.conditions as Condition[] | undefined };
  const reads = { permissions: input.permissions ?? { kind: 'skipped' }, ...(input.inferenceTableSchema && { inferenceTableSchema: input.inferenceTableSchema }) } as const;
  const settings = planSettings({ spec: object.spec, endpoint, ...reads, status, generation: object.generation, fresh: false, carriedOut: false, now: input.now, observeOnly: true });
  plan.applySettings({ ...settings, action: undefined });
  const parts = settings.conditions.filter((c) => PART_CONDITIONS.has(c.type) && c.reason === PartReason.Drifted && c.status === 'False').map((c) => `${c.type}: ${c.message.slice(0, -`; ${NOTHING_CHANGED}`.length)}`);
  return [...(served.length > 0 ? [`served config: ${served.join(', ')}`] : []), ...(tags.length > 0 ? [tags.join(', ')] : []), ...parts];
}
