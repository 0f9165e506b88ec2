// Deleting an endpoint object: what happens in Databricks (deletionPolicy, ownership, the CRD itself going).
import { EndpointAnnotation, EndpointReadyReason as ReadyReason, EndpointSyncedReason as SyncedReason } from '../../api/v1alpha1/index.js';
import { kubeTime } from '../../kube/time.js';
import { type PlanBuilder, endpointNameOf, owner, progressRequeue } from './plan-builder.js';
import type { Plan, PlanInput } from './plan-types.js';
import { planCallFailure } from './failures.js';
import { type HeldRecord, decideOwnership } from './ownership.js';
import { deletionElsewhere } from './workspace-move.js';
import { isObserveOnly } from './observe-only.js';
import { wantsAdoption } from './user-requests.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';

export function planCrdDeletion(input: PlanInput, plan: PlanBuilder): Plan {
  if (!input.object.hasFinalizer) return plan.finish({ type: 'none' }, undefined);
  const name = endpointNameOf(input.object);
  return plan
    .event(
      'Warning',
      'CRDDeleted',
      `the ProvisionedThroughputEndpoint CustomResourceDefinition is being deleted: endpoint ${name} is left running in Databricks (whatever spec.deletionPolicy says); to manage it again, re-install the CRD and create the object again with the annotation ${EndpointAnnotation.adopt}: "true" (a new object meets the endpoint as another's until it adopts it), or generate the objects with pt-operator import`,
    )
    .finish({ type: 'removeFinalizer' }, undefined);
}

export function planDeletion(input: PlanInput, plan: PlanBuilder): Plan {
  const { object } = input;
  const name = endpointNameOf(object);
  if (!object.hasFinalizer) return plan.finish({ type: 'none' }, undefined);
  // Observe: the endpoint was never this object's to delete, whatever deletionPolicy says (observe-only.ts). The
  // finalizer is there only if the object managed the endpoint before (Full) or fenced a claim: no call to let it go.
  if (isObserveOnly(object.spec)) {
    return plan.event('Normal', 'Orphaned', `managementPolicy Observe: endpoint ${name} is left in Databricks untouched`).finish({ type: 'removeFinalizer' }, undefined);
  }
  if (object.spec.deletionPolicy === 'Orphan') {
    return plan
      .event('Normal', 'Orphaned', `deletionPolicy Orphan: endpoint ${name} is left running in Databricks`)
      .finish({ type: 'removeFinalizer' }, undefined);
  }
  if (!input.workspace.ready && input.workspace.credentialsLost) {
    // Typically a namespace deletion seen after a restart: its Secret cannot be created again there, so the way
    // out is Orphan, and the endpoint is the user's to delete (named, with its host). The Synced transition warns.
    const host = input.workspace.host ?? 'its workspace';
    return plan
      .synced(
        false,
        SyncedReason.WorkspaceNotReady,
        `cannot delete endpoint ${name} at ${host}: ${input.workspace.message}. If namespace ${object.namespace} is being deleted, the Secret cannot be created again: set spec.deletionPolicy to Orphan (kubectl -n ${object.namespace} patch pte ${object.name} --type=merge -p '{"spec":{"deletionPolicy":"Orphan"}}') to let this object go, and delete endpoint ${name} at ${host} yourself. Otherwise re-create the Secret and the endpoint is deleted`,
      )
      .finish({ type: 'none' }, { after: input.settings.workspaceRetryMs });
  }
  if (!input.workspace.ready) {
    // spec.workspaceRef cannot be set any more; what can be done is allowing the namespace again, or Orphan.
    const why =
      input.workspace.reason === SyncedReason.DefaultWorkspaceNotAllowed
        ? `namespace ${object.namespace} may no longer use the default workspace. Ask the cluster admin to allow it again, or set spec.deletionPolicy to Orphan to leave the endpoint in Databricks`
        : (input.workspace.message ?? 'the workspace is not ready');
    return plan
      .synced(
        false,
        input.workspace.reason ?? SyncedReason.WorkspaceNotReady,
        input.workspace.reason === SyncedReason.DefaultWorkspaceNotAllowed
          ? `cannot delete endpoint ${name}: ${why}`
          : `cannot delete endpoint ${name} in Databricks: ${why}. Once the workspace is ready the endpoint is deleted; to let this object go and leave the endpoint running instead, set spec.deletionPolicy to Orphan`,
      )
      .finish({ type: 'none' }, { after: input.settings.workspaceRetryMs });
  }
  const observed = input.endpoint;
  if (observed.kind === 'failed') return planCallFailure(input, plan, observed.error);
  if (observed.kind !== 'found') {
    const until = input.createMayLandUntil;
    if (until !== undefined && until.getTime() > input.now.getTime()) {
      // Databricks may still carry out a create nobody heard the answer to: letting the object go now would leave
      // that endpoint running with nobody to delete it. The workspace's list is read again once it cannot land.
      return plan
        .ready(
          false,
          ReadyReason.Deleting,
          `waiting until ${kubeTime(until)} before letting this object go: a create of endpoint ${name} was sent and not answered (operator restart or timeout), and Databricks may still carry it out; if it does, the endpoint is deleted`,
        )
        .synced(true, SyncedReason.ReconcileSuccess, 'waiting for the outcome of an unanswered create')
        .finish({ type: 'none' }, { after: until.getTime() - input.now.getTime() + 1 });
    }
    const elsewhere = deletionElsewhere(object.status, input.workspace.host, name);
    if (elsewhere) return plan.synced(false, SyncedReason.WorkspaceChanged, elsewhere).finish({ type: 'none' }, undefined);
    return plan.event('Normal', 'Deleted', `endpoint ${name} is gone from Databricks`).finish({ type: 'removeFinalizer' }, undefined);
  }
  // An adopted endpoint (status.adoption) is deleted like a created one, and so is one whose owner tags were removed
  // out of band (status.endpointId, ownership.ts); one that is not this object's never is.
  const ownership = decideOwnership({ endpoint: observed.value, owner: owner(object), held: object.status, workspace: input.workspace.host, wantsAdoption: wantsAdoption(object), adoptAnnotation: EndpointAnnotation.adopt, ...input.tenancy });
  if (ownership.kind !== 'ours' && !(ownership.kind === 'adopt' && adoptedBeforeHostsWereRecorded(object.status, observed.value))) {
    // Its records were made in another workspace: the endpoint it holds lives there, so it is not let go as if gone.
    const moved = deletionElsewhere(object.status, input.workspace.host, name, true);
    if (moved) return plan.synced(false, SyncedReason.WorkspaceChanged, moved).finish({ type: 'none' }, undefined);
    return plan
      .event('Warning', 'NotOwned', `endpoint ${name} was not created by this object; leaving it in Databricks`)
      .finish({ type: 'removeFinalizer' }, undefined);
  }
  return plan
    .ready(false, ReadyReason.Deleting, `deleting endpoint ${name}`)
    .synced(true, SyncedReason.ReconcileSuccess, 'delete requested')
    // A DELETE answered 200 removes the finalizer in the same reconcile (reconciler.ts), so this requeue is only
    // for a delete that was not answered: timed from the deletion, not from a rollout that may have ended long ago.
    .finish({ type: 'delete', name }, progressRequeue(input, object.deletionTimestamp ?? kubeTime(input.now)));
}

/**
 * An adoption an earlier release recorded without status.workspaceHost, of this very endpoint: the record alone holds
 * nothing (ownership.ts recordsIn), but with ptoperator.io/adopt still set the next look adopts it again with no call
 * (docs/upgrade.md). A deletion that comes first deletes it as after that look, rather than leaving it running.
 */
function adoptedBeforeHostsWereRecorded(status: HeldRecord | undefined, endpoint: Pick<ServingEndpointDetailed, 'id'>): boolean {
  return status?.workspaceHost === undefined && endpoint.id !== undefined && status?.adoption?.endpointId === endpoint.id;
}
