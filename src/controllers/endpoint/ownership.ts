// Ownership rules (docs/security.md): which Databricks endpoint belongs to which object, when an
// object may take one over, and which tags the operator may change. Pure: no I/O, no clock.
import { MAX_TAG_VALUE_LENGTH, OWNER_TAG_PREFIX } from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import { workspaceIdentity } from './workspace-move.js';

export const OwnerTag = {
  uid: `${OWNER_TAG_PREFIX}owner-uid`,
  object: `${OWNER_TAG_PREFIX}owner`,
} as const;

export interface Owner {
  uid: string;
  namespace: string;
  name: string;
}

export interface Tag {
  key: string;
  value: string;
}

/**
 * Tags the operator puts on every endpoint it creates, so that it recognises it after a crash. The UID tag decides
 * (ownershipOf); the object tag names the object for people and keeps its whole namespace (at most 63 characters), but
 * a long name (up to 253 with spec.endpointName) is cut to the tag value bound spec.tags keeps to: the object is
 * found by its UID (tenancy.ts presence).
 */
export const ownerTags = (owner: Owner): Record<string, string> => ({
  [OwnerTag.uid]: owner.uid,
  [OwnerTag.object]: `${owner.namespace}.${owner.name}`.slice(0, MAX_TAG_VALUE_LENGTH),
});

/**
 * Whether the object holds the endpoint. `ownerTagsPending`: held by its status record alone, owner tags to be written;
 * `restoreOwnerTags`: held by status.endpointId, so the tags were removed out of band and are drift to restore now
 * (an adoption's wait for the endpoint's next change, adoption.ts).
 */
export type Ownership = { kind: 'ours'; ownerTagsPending: boolean; restoreOwnerTags?: true } | { kind: 'unowned' } | { kind: 'otherObject'; owner: string };

/** What status.adoption records: the endpoint an object took over, by Databricks ID. */
export interface AdoptionRecord {
  endpointId: string;
  /** The UID of the object that adopted; absent in records made before it was kept. */
  uid?: string | undefined;
  /** The owner-UID tag the endpoint carried when adopted, if any. */
  fromUid?: string | undefined;
}

/** What an object's status records of the endpoint it holds: status.adoption and status.endpointId, made at status.workspaceHost. */
export interface HeldRecord {
  adoption?: AdoptionRecord | undefined;
  endpointId?: string | undefined;
  workspaceHost?: string | undefined;
}

/**
 * The records that hold an endpoint in `workspace` (the host the object acts in now): those made there. An ID is
 * unique within one Databricks workspace only, and a tenant may control every answer its own host gives (an ID of
 * its choosing included), so an ID seen at one host never holds an endpoint at another. A record without a host
 * (status written before status.workspaceHost existed) may have been made anywhere: it holds nothing, and the object
 * holds its endpoint by its owner-UID tag alone, the operator's own write where the endpoint lives; the first such
 * observation records the host (plan.ts recordObservedEndpoint).
 */
export function recordsIn(held: HeldRecord | undefined, workspace: string | undefined): HeldRecord {
  const here = workspaceIdentity(workspace);
  return held?.workspaceHost !== undefined && here !== undefined && held.workspaceHost === here ? held : {};
}

/** The status records an endpoint this object created or adopted (until then, an adopt annotation has work to do). */
export const holdsAnEndpoint = (held: HeldRecord): boolean => held.endpointId !== undefined || held.adoption !== undefined;

/**
 * An endpoint is this object's when its owner tags name the object's UID; when the object adopted exactly this
 * endpoint (same Databricks ID, status.adoption) and the tags name no other live object; or when it carries no owner
 * tag at all and status.endpointId is its ID: the object created (or adopted) it and someone removed the tags since
 * (they are drift, written back), unless it came with an adoption record of another object's (adoptedByThis). A record counts only in the workspace it was made in (`workspace`: the host the
 * object acts in now; recordsIn): IDs are Databricks' own within one workspace, so a same-named endpoint made again
 * never matches, but a tenant's own host may answer any ID. Tags written by someone for another object always win
 * over status.endpointId (only adoption takes those over), and tags of a live object over any record, so two objects
 * never both act on one endpoint.
 */
export function ownershipOf(
  endpoint: Pick<ServingEndpointDetailed, 'tags' | 'id'>,
  owner: Owner,
  held: HeldRecord | undefined,
  taggedOwnerPresence: OwnerPresence,
  workspace: string | undefined,
): Ownership {
  const tags = tagMap(endpoint);
  const uid = tags[OwnerTag.uid];
  if (uid === owner.uid) return { kind: 'ours', ownerTagsPending: false };
  const records = recordsIn(held, workspace);
  if (holdsByAdoption(endpoint, records.adoption) && (uid === undefined || taggedOwnerPresence !== 'live') && adoptedByThis(records.adoption, owner, uid)) {
    return { kind: 'ours', ownerTagsPending: true };
  }
  // An adoption record of this endpoint that did not hold above was another object's (a restored status): the
  // status.endpointId written with it holds nothing either.
  const createdHere = sameId(endpoint, records.endpointId) && !holdsByAdoption(endpoint, records.adoption);
  if (uid === undefined) return createdHere ? { kind: 'ours', ownerTagsPending: true, restoreOwnerTags: true } : { kind: 'unowned' };
  return { kind: 'otherObject', owner: tags[OwnerTag.object] ?? `uid ${uid}` };
}

/**
 * Whether the adoption record still holds over the endpoint's owner-UID tag (`taggedUid`, not this object's). It
 * must be this object's record, not an earlier object's status restored onto it (a backup restored with its status:
 * new UID, old status), and the tag must be the one the endpoint carried when adopted, or none: a tag written since
 * names an object that took the endpoint over, perhaps in another cluster, where this one cannot see it. A record
 * without a UID was made before these were kept, by the object itself as far as anyone can tell: it holds as it
 * always did (docs/upgrade.md).
 */
function adoptedByThis(adoption: AdoptionRecord | undefined, owner: Owner, taggedUid: string | undefined): boolean {
  if (adoption?.uid === undefined) return true;
  return adoption.uid === owner.uid && (taggedUid === undefined || taggedUid === adoption.fromUid);
}

/** Whether `adoption` records this very endpoint (a same-named endpoint made again has another ID). */
export const holdsByAdoption = (endpoint: Pick<ServingEndpointDetailed, 'id'>, adoption: AdoptionRecord | undefined): boolean =>
  sameId(endpoint, adoption?.endpointId);

const sameId = (endpoint: Pick<ServingEndpointDetailed, 'id'>, endpointId: string | undefined): boolean =>
  endpointId !== undefined && endpoint.id !== undefined && endpointId === endpoint.id;

/**
 * How another object's status records an endpoint it holds in `workspace` (see recordedHolder), if it does. An
 * adoption record made by another object than `holderUid` (a restored status) holds nothing, nor the ID written with it.
 */
export function recordOf(endpoint: Pick<ServingEndpointDetailed, 'id'>, held: HeldRecord | undefined, workspace: string | undefined, holderUid: string | undefined): 'adoption' | 'creation' | undefined {
  const records = recordsIn(held, workspace);
  if (holdsByAdoption(endpoint, records.adoption)) return records.adoption?.uid === undefined || records.adoption.uid === holderUid ? 'adoption' : undefined;
  return sameId(endpoint, records.endpointId) ? 'creation' : undefined;
}

export const tagMap = (endpoint: Pick<ServingEndpointDetailed, 'tags'>): Record<string, string> =>
  Object.fromEntries((endpoint.tags ?? []).map((t) => [t.key, t.value ?? '']));

export const desiredTags = (specTags: Record<string, string> | undefined, owner: Owner): Record<string, string> => ({
  ...(specTags ?? {}),
  ...ownerTags(owner),
});

/** The object named by an endpoint's owner tags. */
export function taggedOwner(endpoint: Pick<ServingEndpointDetailed, 'tags'>): { uid: string; namespace: string; name: string } | undefined {
  const tags = tagMap(endpoint);
  const uid = tags[OwnerTag.uid];
  const object = tags[OwnerTag.object] ?? '';
  // A namespace never contains a dot, so the first one separates it from the name.
  const dot = object.indexOf('.');
  if (uid === undefined || dot <= 0) return undefined;
  return { uid, namespace: object.slice(0, dot), name: object.slice(dot + 1) };
}

/**
 * Tags to add or change, and keys to delete, so that the endpoint carries `desired`. Only keys the operator
 * manages are ever deleted: those it applied before (`managed`) that are no longer wanted. Anything else on the
 * endpoint belongs to someone else (a user, a Databricks tag policy) and is left alone.
 */
export function diffTags(observed: Record<string, string>, desired: Record<string, string>, managed: readonly string[]): { add: Tag[]; remove: string[] } {
  const add = Object.entries(desired)
    .filter(([key, value]) => observed[key] !== value)
    .map(([key, value]) => ({ key, value }));
  const remove = managed.filter((key) => key in observed && !(key in desired));
  return { add, remove };
}

/** The spec tag keys the operator manages from now on (recorded in status.managedTagKeys). */
export const managedTagKeys = (specTags: Record<string, string> | undefined): string[] => Object.keys(specTags ?? {}).sort();

/** What an object may do with an existing endpoint of its name. */
export type OwnershipDecision =
  | Extract<Ownership, { kind: 'ours' }>
  /** Leave it alone; `message` says why and how to proceed. */
  /** `replaced`: this object's own endpoint is gone, and another was made under its name (refusedEndpoint). */
  | { kind: 'refuse'; message: string; replaced?: true }
  /** Take it over by recording its ID in status.adoption (no Databricks call); `message` is for the Adopted event. */
  | { kind: 'adopt'; message: string; endpointId: string };

/** Whether the object an owner tag names is still there, as far as the informer cache can tell. */
export type OwnerPresence = 'live' | 'gone' | 'unknown';

export interface OwnershipInput {
  endpoint: Pick<ServingEndpointDetailed, 'name' | 'tags' | 'id'>;
  owner: Owner;
  /** This object's status records (status.adoption, status.endpointId, status.workspaceHost). */
  held: HeldRecord | undefined;
  /** The host the object acts in now: records made elsewhere hold nothing here. */
  workspace: string | undefined;
  /** The object carries ptoperator.io/adopt="true". */
  wantsAdoption: boolean;
  /** The annotation's name, for the advice in messages. */
  adoptAnnotation: string;
  /** Presence of the object the endpoint's owner tag names (when it names one). */
  taggedOwnerPresence: OwnerPresence;
  /** Another object ("namespace.name") that still exists and whose status records this endpoint's ID. */
  recordedHolder: string | undefined;
  /** How recordedHolder's status records it: status.adoption (the default) or status.endpointId. */
  recordedBy?: 'adoption' | 'creation' | undefined;
  /** The operator flag --allow-cross-namespace-adoption. */
  allowCrossNamespaceAdoption: boolean;
  /** An older object that claims the same endpoint name in the same workspace ("namespace.name"). */
  olderClaimant: string | undefined;
}

const NEW_NAME_ADVICE = 'serve the spec from a new object with another spec.endpointName (it cannot be changed on this one)';

export function decideOwnership(input: OwnershipInput): OwnershipDecision {
  const { endpoint, owner } = input;
  const ownership = ownershipOf(endpoint, owner, input.held, input.taggedOwnerPresence, input.workspace);
  if (ownership.kind === 'ours') return ownership;
  const tagged = taggedOwner(endpoint);
  const { subject, replaced } = refusedEndpoint(input);
  const refuse = (message: string): OwnershipDecision => ({ kind: 'refuse', message, ...(replaced && { replaced }) });

  if (ownership.kind === 'otherObject' && input.taggedOwnerPresence === 'live') {
    return refuse(`${subject} belongs to ${ownership.owner}, which still exists: the operator never hands it to another object, whatever its annotations. Delete that object first (with deletionPolicy Orphan to keep the endpoint), or ${NEW_NAME_ADVICE}.`);
  }
  if (input.recordedHolder !== undefined) {
    return refuse(`${subject} belongs to ${input.recordedHolder}, which ${input.recordedBy === 'creation' ? 'created' : 'adopted'} it and still exists: the operator never hands it to another object, whatever its annotations. Delete that object first (with deletionPolicy Orphan to keep the endpoint), or ${NEW_NAME_ADVICE}.`);
  }
  // Tags naming this very namespace and name with another UID: the object was deleted and applied again, restored
  // from a backup, or applied in a second cluster, whose operator may still manage the endpoint.
  const earlierSelf = tagged !== undefined && tagMap(endpoint)[OwnerTag.object] === ownerTags(owner)[OwnerTag.object];
  // This object adopted this very endpoint, and the tags name an object they did not name then (blue/green): that one
  // is the later, and took the endpoint over.
  const adoption = recordsIn(input.held, input.workspace).adoption;
  const takenOver = tagged !== undefined && holdsByAdoption(endpoint, adoption) && adoption?.uid === owner.uid && tagged.uid !== adoption.fromUid;
  let claim: string;
  if (takenOver) {
    const who = earlierSelf ? 'another object of this namespace and name' : ownership.kind === 'otherObject' ? ownership.owner : 'another object';
    claim = `${subject} is tagged for ${who} (UID ${tagged.uid}) since this object adopted it: that object, perhaps in another cluster, took it over, and its operator may manage it now`;
  } else if (earlierSelf) {
    claim = `${subject} is tagged for an earlier object of this namespace and name (UID ${tagged.uid}), not this one (UID ${owner.uid}): this object was re-created, restored from a backup, or applied in another cluster`;
  } else if (ownership.kind === 'otherObject') {
    claim = `${subject} belongs to ${ownership.owner}, another object`;
  } else {
    claim = replaced ? `${subject} was made by someone else` : `${subject} exists in Databricks but was not created by this object`;
  }
  if (!input.wantsAdoption && takenOver) {
    return refuse(
      `${claim}. The operator will not modify or delete it, and deleting this object leaves it. To take it back, first stop that operator managing it, then set annotation ${input.adoptAnnotation}="true" (nothing is changed in Databricks).`,
    );
  }
  if (!input.wantsAdoption && earlierSelf) {
    return refuse(
      `${claim}. The operator will not modify or delete it. First make sure no other cluster still manages it (there, set deletionPolicy: Orphan and delete the old object, or stop that operator), then set annotation ${input.adoptAnnotation}="true" to take it over (nothing is changed in Databricks).`,
    );
  }
  if (!input.wantsAdoption) {
    return refuse(`${claim}. The operator will not modify or delete it. Set annotation ${input.adoptAnnotation}="true" to take it over, or ${NEW_NAME_ADVICE}.`);
  }
  if (ownership.kind === 'otherObject') {
    const from = tagged?.namespace;
    if (from !== owner.namespace && !input.allowCrossNamespaceAdoption) {
      return refuse(`${claim} of namespace ${from ?? 'unknown'}. Adoption across namespaces is off: a cluster admin can start the operator with --allow-cross-namespace-adoption (chart value adoption.allowCrossNamespace), or ${NEW_NAME_ADVICE}.`);
    }
    if (input.taggedOwnerPresence !== 'gone') {
      return refuse(`${claim}, and the operator cannot tell whether that object still exists (it does not watch it): it does not adopt the endpoint. Watch that namespace, or ${NEW_NAME_ADVICE}.`);
    }
  }
  if (input.olderClaimant !== undefined) return refuse(claimedMessage(subject, input.olderClaimant));
  // The ID is what status.adoption holds on to; Databricks always returns one, but without it there is nothing to record.
  if (endpoint.id === undefined) return refuse(`${claim}, and Databricks returned no ID for it, so the operator cannot record the adoption. Try again later.`);
  return { kind: 'adopt', message: `${claim}; taking it over because of annotation ${input.adoptAnnotation} (recorded in status.adoption; nothing is changed in Databricks)`, endpointId: endpoint.id };
}

/**
 * Who the endpoint is, as a refusal begins: `endpoint <name>`. When the endpoint this object holds (status.endpointId,
 * made in this workspace) is gone and another was made under its name (an ID is never reused within a workspace),
 * that comes first and once: alone, the refusal reads as if this object never had an endpoint.
 */
function refusedEndpoint(input: OwnershipInput): { subject: string; replaced: boolean } {
  const { name, id } = input.endpoint;
  const held = recordsIn(input.held, input.workspace).endpointId;
  if (held === undefined || id === undefined || id === held) return { subject: `endpoint ${name}`, replaced: false };
  const how = input.held?.adoption?.endpointId === held ? 'adopted' : 'created';
  return { subject: `endpoint ${name} (id ${held}), which this object ${how}, no longer exists: the endpoint now named ${name} (id ${id})`, replaced: true };
}

/** `subject`: the endpoint as refusedEndpoint names it, `endpoint <name>` for one this object never had. */
export const claimedMessage = (subject: string, claimant: string) =>
  `${subject} is claimed in this workspace by ${claimant}, an older object: this object sends nothing to Databricks for it. Delete one of the two objects, or ${NEW_NAME_ADVICE}.`;

/** An object that wants an endpoint name in a workspace. */
export interface Claimant {
  uid: string;
  namespace: string;
  name: string;
  /** RFC 3339, as metadata.creationTimestamp. */
  creationTimestamp: string;
}

/** Of the objects claiming one endpoint name in one workspace, the one that may create or adopt it: the oldest; UID breaks ties. */
export function claimWinner<C extends Claimant>(claimants: readonly C[]): C | undefined {
  let winner: C | undefined;
  for (const c of claimants) {
    if (!winner) winner = c;
    else {
      const byAge = Date.parse(c.creationTimestamp) - Date.parse(winner.creationTimestamp);
      if (byAge < 0 || (byAge === 0 && c.uid < winner.uid)) winner = c;
    }
  }
  return winner;
}

/** "namespace.name" of the claimant that wins over `self`, or undefined when `self` wins. */
export function olderClaimant(self: Claimant, rivals: readonly Claimant[]): string | undefined {
  const winner = claimWinner([self, ...rivals]);
  return winner && winner.uid !== self.uid ? `${winner.namespace}.${winner.name}` : undefined;
}

/**
 * Margin for an object stamped at the very end of a second to reach the cache: the API server's commit to etcd
 * and the watch delivering it. Measured on the API server's clock (ApiserverClock), so clock skew is not in it.
 */
export const CLAIM_DELIVERY_MARGIN_MS = 1_000;

/** Before any answer from the API server has bounded its clock, ours is taken to be at most this far ahead of it. */
export const UNMEASURED_CLOCK_SKEW_MS = 1_000;

/**
 * How long a new object waits before its first look, so that every object that could win a claim of its endpoint
 * name is in the cache when it decides. creationTimestamp has one-second resolution, so an object created later in
 * the same second can still be older by the UID tie-break; one created in a later second cannot win, and one
 * created earlier was delivered before this one (the watch delivers in resourceVersion order). So the wait ends
 * when the API server's clock has passed the end of the creation second plus the delivery margin.
 * `apiserverNow`: the earliest the API server's clock can read now (undefined: not measured yet; `localNow` less
 * the assumed skew stands in). A smaller `marginMs` covers the commit alone, when a fence covers the delivery
 * (claim-fence.ts).
 */
export function claimSettleWaitMs(creationTimestamp: string | undefined, apiserverNow: number | undefined, localNow: number, marginMs = CLAIM_DELIVERY_MARGIN_MS): number {
  const created = creationTimestamp === undefined ? NaN : Date.parse(creationTimestamp);
  if (Number.isNaN(created)) return 0;
  const serverNow = apiserverNow ?? localNow - UNMEASURED_CLOCK_SKEW_MS;
  return Math.max(0, Math.ceil(Math.floor(created / 1000) * 1000 + 1000 + marginMs - serverNow));
}
