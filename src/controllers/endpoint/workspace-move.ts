// An endpoint lives in one Databricks workspace. When the object later names another workspace (spec.workspaceRef
// is immutable, but the DatabricksWorkspace's spec.host and the default workspace's host can change), the endpoint it
// created is not there: creating it there would leave the first one serving (and billing) with nothing left to change
// or delete it. The operator stops and says so instead, until the object names the first workspace again or a new
// requested-at token asks for the create.
import { EndpointAnnotation, EndpointSyncedReason as SyncedReason } from '../../api/v1alpha1/index.js';
import { normalisedHostOrUndefined } from '../../databricks/host.js';
import type { EndpointStatus } from '../../api/v1alpha1/index.js';

/** A workspace host in its normal form (the identity status.workspaceHost records); undefined when unusable. */
export const workspaceIdentity = normalisedHostOrUndefined;

export interface WorkspaceMove {
  from: string;
  to: string;
}

/**
 * The move, when the recorded endpoint lives, or an unanswered create of it went, to another workspace than the one
 * the object names now (status.workspaceHost is set with the endpoint's ID, and by a create whose answer never came).
 * Objects whose status predates status.workspaceHost have no record: nothing to compare.
 */
export function workspaceMove(status: EndpointStatus, host: string | undefined): WorkspaceMove | undefined {
  const to = workspaceIdentity(host);
  if (!status.workspaceHost || to === undefined || to === status.workspaceHost) return undefined;
  return { from: status.workspaceHost, to };
}

/**
 * The endpoint is created or adopted at `host`: the records that go with it (status.endpointId, status.adoption)
 * hold only there (ownership.ts recordsIn). A create records it before it is sent: should its answer never come, a
 * later host change must not create a second one.
 */
export function recordWorkspace(status: EndpointStatus, host: string | undefined): void {
  const target = workspaceIdentity(host);
  if (target) status.workspaceHost = target;
  else delete status.workspaceHost;
}

export const WORKSPACE_CHANGED = SyncedReason.WorkspaceChanged;

/**
 * Why the object must not act where it names now (Synced=False WorkspaceChanged); undefined: it may. `found`: an
 * endpoint of that name is there but is not this object's by its owner tag (its records were made in the first
 * workspace and hold nothing in this one): changing it could change another tenant's endpoint.
 */
export function workspaceChanged(status: EndpointStatus, host: string | undefined, name: string, found = false): string | undefined {
  const move = workspaceMove(status, host);
  if (!move) return undefined;
  const consequence = found
    ? `the operator neither changes nor deletes it. Point the workspace's host back at ${move.from}; or, to manage the one in ${move.to} instead, ` +
      `delete the one in ${move.from}, and set the annotations ${EndpointAnnotation.adopt}="true" and ${EndpointAnnotation.requestedAt} (a new value) to adopt it`
    : `creating it there would leave the one in ${move.from} serving with nothing to manage or delete it. ` +
      `Point the workspace's host back at ${move.from}; or, to move the endpoint, ` +
      `delete it in ${move.from} and set the annotation ${EndpointAnnotation.requestedAt} to a new value to create it in ${move.to}`;
  return `${whereItLives(status, move, name, found)}: ${consequence}.`;
}

/**
 * Why a deleted object cannot delete its endpoint where it names now; undefined when that is where it lives. Never a
 * DELETE at another host than the recorded one: an endpoint found there is not this object's unless tagged for it.
 */
export function deletionElsewhere(status: EndpointStatus, host: string | undefined, name: string, found = false): string | undefined {
  const move = workspaceMove(status, host);
  if (!move) return undefined;
  return (
    `cannot delete ${whereItLives(status, move, name, found)}. Point the workspace's host back ` +
    `at ${move.from} to delete it there; or set spec.deletionPolicy to Orphan to let this object go and delete it in ${move.from} yourself.`
  );
}

const whereItLives = (status: EndpointStatus, move: WorkspaceMove, name: string, found: boolean) =>
  (status.endpointId
    ? `endpoint ${name} (id ${status.endpointId}) was created in workspace ${move.from}`
    : `endpoint ${name} may exist in workspace ${move.from} (a create was sent there and never answered)`) +
  `, but this object now names workspace ${move.to}, ${found ? "where the endpoint of that name is not this object's" : 'where it does not exist'}`;

/** The Warning of a create that replaces a recorded endpoint: gone from its workspace, or asked for in another. */
export function endpointMissingMessage(status: EndpointStatus, host: string | undefined, name: string): string | undefined {
  const move = workspaceMove(status, host);
  if (!status.endpointId && !move) return undefined;
  const why = move
    ? `is not in workspace ${move.to} (it was created, or its create sent, in ${move.from}); creating it there, as the requested-at annotation asks`
    : 'no longer exists in Databricks; creating it again';
  return `endpoint ${name}${status.endpointId ? ` (id ${status.endpointId})` : ''} ${why}`;
}
