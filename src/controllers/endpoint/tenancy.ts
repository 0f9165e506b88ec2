// What the informer cache says about other endpoint objects, for the ownership rules: whether the object an
// endpoint's owner tag names still exists, and whether an older object claims the same endpoint name in the
// same Databricks workspace. Reads only the cache: no API or Databricks call. With --label-selector the rules read
// a cache of every shard's objects (claimsProjection), never only the shard's own.
import type { ServingEndpointDetailed } from '../../databricks/index.js';
import { type EventHandlers, type KubeObject, objectKey } from '../../kube/index.js';
import { type Claimant, type OwnerPresence, olderClaimant, ownershipOf, recordOf, taggedOwner } from './ownership.js';
import type { EndpointObject, Observed, TenancyView } from './plan-types.js';
import { wantsAdoption } from './user-requests.js';

type EndpointLike = KubeObject & { spec?: { endpointName?: string; workspaceRef?: { name: string }; managementPolicy?: string }; status?: { adoption?: { endpointId: string; uid?: string }; endpointId?: string; workspaceHost?: string } };

/** The endpoint name an object acts on: the informer index tenancy looks objects up by. */
export const ENDPOINT_NAME_INDEX = 'endpointName';
export const endpointNameIndex = (o: EndpointLike): string[] => [o.spec?.endpointName ?? o.metadata.name];

export interface TenancyOptions {
  /**
   * Every endpoint object of the watched namespaces, whatever the shard, with the ENDPOINT_NAME_INDEX index (a lookup
   * costs its answer, not N). Its handlers, when it has them, deliver claim fences (claim-fence.ts).
   */
  endpoints: {
    get(key: string): EndpointLike | undefined;
    byIndex(index: typeof ENDPOINT_NAME_INDEX, endpointName: string): EndpointLike[];
    addHandlers?(handlers: EventHandlers<EndpointLike>): void;
  };
  /** The normalised host an object would act in (WorkspaceConnections.identityOf). */
  identityOf(namespace: string, workspaceRef: { name: string } | undefined): string | undefined;
  /** Whether the cache holds every endpoint object of `namespace` (a watched namespace). */
  seesAllOf(namespace: string): boolean;
  allowCrossNamespaceAdoption: boolean;
}

export function tenancyView(
  options: TenancyOptions,
  object: EndpointObject & { workspaceRef: { name: string } | undefined; endpointName: string },
  endpoint: Observed<ServingEndpointDetailed>,
): TenancyView {
  const self = { uid: object.uid, namespace: object.namespace, name: object.name };
  let taggedOwnerPresence: OwnerPresence = 'unknown';
  let recorded: { holder: string; by: 'adoption' | 'creation' } | undefined;
  let needClaims = endpoint.kind === 'notFound';
  if (endpoint.kind === 'found') {
    const tagged = taggedOwner(endpoint.value);
    if (tagged) taggedOwnerPresence = presence(options, object.endpointName, tagged);
    const workspace = options.identityOf(object.namespace, object.workspaceRef);
    const ours = ownershipOf(endpoint.value, self, object.status, taggedOwnerPresence, workspace).kind === 'ours';
    if (!ours) recorded = recordedHolder(options, object, endpoint.value, workspace);
    // Adoption is a claim too: two objects may both ask to take over one endpoint.
    needClaims = !ours && wantsAdoption(object);
  }
  const claimant = needClaims ? claimedBy(options, object, adoptableFrom(options, endpoint)) : undefined;
  return {
    taggedOwnerPresence,
    recordedHolder: recorded && shownTo(object.namespace, recorded.holder),
    ...(recorded && { recordedBy: recorded.by }),
    olderClaimant: claimant && shownTo(object.namespace, claimant),
    allowCrossNamespaceAdoption: options.allowCrossNamespaceAdoption,
  };
}

/** How the status of an object of `viewer` names another object: a tenant reads its own namespace only. */
export const OTHER_NAMESPACE_OBJECT = 'an object of another namespace';

/**
 * `holder` ("namespace.name") as the status of an object of namespace `viewer` may show it: named when it is of the
 * same namespace, else only "an object of another namespace". The operator reads every watched namespace; naming
 * the rival told a tenant other tenants' namespaces and object names, which its RBAC does not let it list (a probe
 * object with a guessed endpoint name on a shared host was enough). A namespace name holds no dot, so the first dot
 * ends it.
 */
function shownTo(viewer: string, holder: string): string {
  return holder.slice(0, holder.indexOf('.')) === viewer ? holder : OTHER_NAMESPACE_OBJECT;
}

/**
 * "namespace.name" of another object whose status records this very endpoint (same name, same ID; status.adoption
 * first, then status.endpointId: it created the endpoint and its owner tags were removed since) in `workspace`, the
 * one this object acts in: it holds the endpoint whatever its age, even while being deleted, until it is gone. A record
 * made at another host holds nothing here (ownership.ts recordsIn): a tenant's own host may have answered that ID, and
 * must not block other tenants' adoption. Two spellings of one workspace (an alias, an IP) are two workspaces here, as
 * for claims; the endpoint's first change then writes its adopter's owner tags, which the other object respects.
 */
function recordedHolder(options: TenancyOptions, object: Parameters<typeof tenancyView>[1], endpoint: ServingEndpointDetailed, workspace: string | undefined): { holder: string; by: 'adoption' | 'creation' } | undefined {
  let found: { holder: string; by: 'adoption' | 'creation' } | undefined;
  for (const other of options.endpoints.byIndex(ENDPOINT_NAME_INDEX, object.endpointName)) {
    const { uid, namespace = '', name } = other.metadata;
    const by = uid === object.uid ? undefined : recordOf(endpoint, other.status, workspace, uid);
    if (by === 'adoption') return { holder: `${namespace}.${name}`, by };
    if (by === 'creation') found ??= { holder: `${namespace}.${name}`, by };
  }
  return found;
}

/**
 * Whether the object the owner tags name is in the cache: by its UID among the objects acting on this endpoint name
 * (the object tag may hold a shortened name, ownership.ts ownerTags), else by the namespace and name the tag shows.
 */
function presence(options: TenancyOptions, endpointName: string, tagged: { uid: string; namespace: string; name: string }): OwnerPresence {
  const byName = options.endpoints.get(`${tagged.namespace}/${tagged.name}`);
  const live = byName?.metadata.uid === tagged.uid || options.endpoints.byIndex(ENDPOINT_NAME_INDEX, endpointName).some((o) => o.metadata.uid === tagged.uid);
  if (live) return 'live';
  return options.seesAllOf(tagged.namespace) ? 'gone' : 'unknown';
}

/**
 * The only namespace whose objects may adopt `endpoint`, when it is tagged for an object of that namespace and
 * adoption across namespaces is off (decideOwnership); undefined when any namespace's may (or it is not there yet).
 */
function adoptableFrom(options: TenancyOptions, endpoint: Observed<ServingEndpointDetailed>): string | undefined {
  if (endpoint.kind !== 'found' || options.allowCrossNamespaceAdoption) return undefined;
  return taggedOwner(endpoint.value)?.namespace;
}

/**
 * The older object that claims this object's endpoint name in its workspace. For an endpoint only one namespace may
 * adopt (`onlyNamespace`), objects of other namespaces claim nothing: they can never take it, and an object a tenant
 * once named like another tenant's endpoint would keep that tenant from ever taking its own endpoint back.
 */
function claimedBy(options: TenancyOptions, object: Parameters<typeof tenancyView>[1], onlyNamespace: string | undefined): string | undefined {
  const identity = options.identityOf(object.namespace, object.workspaceRef);
  if (identity === undefined) return undefined;
  const rivals: Claimant[] = [];
  for (const other of options.endpoints.byIndex(ENDPOINT_NAME_INDEX, object.endpointName)) {
    const { uid, namespace = '', name, creationTimestamp, deletionTimestamp } = other.metadata;
    if (uid === object.uid || uid === undefined || deletionTimestamp !== undefined || creationTimestamp === undefined) continue;
    // An observer never creates nor adopts the endpoint (observe-only.ts): it claims nothing.
    if (other.spec?.managementPolicy === 'Observe') continue;
    if (onlyNamespace !== undefined && namespace !== onlyNamespace) continue;
    if (options.identityOf(namespace, other.spec?.workspaceRef) !== identity) continue;
    rivals.push({ uid, namespace, name, creationTimestamp });
  }
  // Without a creation time (never so for a stored object) this object counts as the youngest.
  const creationTimestamp = object.creationTimestamp ?? '9999-12-31T23:59:59Z';
  return olderClaimant({ uid: object.uid, namespace: object.namespace, name: object.name, creationTimestamp }, rivals);
}

/**
 * What a claims cache keeps of an endpoint object: only the fields the rules above read (and the finalizers, which
 * carry claim fences; the resourceVersion the informer compares). A sharded operator watches every shard's objects
 * for these rules alone: 10,000 of them must stay cheap.
 */
export function claimsProjection<T extends KubeObject>(obj: T): T {
  const o = obj as T & EndpointLike;
  const { namespace, name, uid, resourceVersion, creationTimestamp, deletionTimestamp, finalizers } = o.metadata;
  const spec = o.spec ?? {};
  const held = definedOnly({ adoption: o.status?.adoption && definedOnly({ endpointId: o.status.adoption.endpointId, uid: o.status.adoption.uid }), endpointId: o.status?.endpointId, workspaceHost: o.status?.workspaceHost });
  const projected: EndpointLike = {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: definedOnly({ namespace, name, uid, resourceVersion, creationTimestamp, deletionTimestamp, finalizers }) as EndpointLike['metadata'],
    spec: definedOnly({ endpointName: spec.endpointName, workspaceRef: spec.workspaceRef && { name: spec.workspaceRef.name }, managementPolicy: spec.managementPolicy }),
    ...(Object.keys(held).length > 0 && { status: held }),
  };
  return projected as T;
}

const definedOnly = <R extends Record<string, unknown>>(record: R): R => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as R;

/**
 * The other objects that claim the endpoint name of `leaving`, once it is being deleted: they may win now, so they
 * are looked at as soon as it is gone instead of at their next poll. Nothing for objects that are not leaving.
 */
export function claimantsToWake(leaving: EndpointLike, sameName: (endpointName: string) => readonly EndpointLike[]): string[] {
  if (leaving.metadata.deletionTimestamp === undefined) return [];
  return sameName(endpointNameIndex(leaving)[0] as string)
    .filter((o) => o.metadata.uid !== leaving.metadata.uid && o.metadata.deletionTimestamp === undefined)
    .map((o) => objectKey(o));
}
