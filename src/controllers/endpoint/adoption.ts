// Adoption sends nothing to Databricks (issue 15: applying imported YAML makes zero mutations). The object records
// the endpoint it took over in status.adoption, which the ownership rules read (ownership.ts, tenancy.ts); the owner
// tags, the record Databricks itself keeps, are written only with the endpoint's next change. Pure.
import type { EndpointStatus } from '../../api/v1alpha1/index.js';
import { type Owner, managedTagKeys, ownerTags } from './ownership.js';
import type { EndpointAction, Plan } from './plan-types.js';
import { recordWorkspace } from './workspace-move.js';

/**
 * The adoption of `endpointId` at `host`, as status records it: the ID (also as status.endpointId, so no ID of an
 * earlier workspace stays beside it) and the workspace, the only one where the record holds (ownership.ts recordsIn);
 * the adopter's UID and the owner-UID tag the endpoint carried, so that neither a status restored onto another object
 * nor an adoption that another cluster's object has since tagged over holds it (ownership.ts adoptedByThis).
 */
export function recordAdoption(status: EndpointStatus, endpointId: string, adopter: { uid: string; fromUid: string | undefined }, host: string | undefined, time: string, specTags: Record<string, string> | undefined): void {
  status.adoption = { endpointId, time, uid: adopter.uid, ...(adopter.fromUid !== undefined && { fromUid: adopter.fromUid }) };
  status.endpointId = endpointId;
  recordWorkspace(status, host);
  status.managedTagKeys = managedTagKeys(specTags);
}

/** Actions that change the endpoint in Databricks (besides its tags). */
const changesEndpoint = (action: EndpointAction): boolean =>
  action.type === 'updateConfig' || action.type === 'putAiGateway' || action.type === 'setPermissions' || action.type === 'updateNotifications' || action.type === 'patchTelemetryConfig';

/**
 * The plan for an endpoint the object holds, with its owner tags when they are still to be written
 * (`ownerTagsPending`): a tag patch carries them in the same call; a config or settings change waits one step behind
 * a patch of the owner tags (`deferred`: status stays as it was, and the change is planned again right after). A plan
 * that changes nothing stays as it is: an adopted endpoint that serves the spec is never written to. A tag patch is
 * recorded (status.tagPatchGeneration): once one was sent for this generation, a change waits behind it no more, so a
 * host that never shows the tags gets the change all the same, never a tag patch in a loop (docs/security.md rule 5).
 */
export function withOwnerTags(plan: Plan, previous: EndpointStatus, owner: Owner, endpointName: string, ownerTagsPending: boolean, generation: number): Plan {
  const planned = ownerTagsPending ? ownerTagsFirst(plan, previous, owner, endpointName, generation) : plan;
  return planned.action.type === 'patchTags' ? { ...planned, status: { ...planned.status, tagPatchGeneration: generation } } : planned;
}

function ownerTagsFirst(plan: Plan, previous: EndpointStatus, owner: Owner, endpointName: string, generation: number): Plan {
  const owned = Object.entries(ownerTags(owner)).map(([key, value]) => ({ key, value }));
  const { action } = plan;
  if (action.type === 'patchTags') {
    const keys = new Set(owned.map((t) => t.key));
    return { ...plan, action: { ...action, add: [...action.add.filter((t) => !keys.has(t.key)), ...owned] } };
  }
  if (!changesEndpoint(action) || tagsPatchedFor(previous, generation)) return plan;
  return { action: { type: 'patchTags', name: endpointName, add: owned, remove: [] }, status: previous, requeue: { after: 0 }, events: [], deferred: true };
}

/** A tag patch was sent for this generation already: what the endpoint still lacks waits behind the other changes. */
export const tagsPatchedFor = (status: EndpointStatus, generation: number): boolean => status.tagPatchGeneration === generation;
