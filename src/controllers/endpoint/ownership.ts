// Ownership rules (docs/security.md): which Databricks endpoint belongs to which object, when an
// object may take one over, and which tags the operator may change. Pure: no I/O, no clock.
import { OWNER_TAG_PREFIX } from '../../api/v1alpha1/index.js';
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';

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

/** Tags the operator puts on every endpoint it creates, so that it recognises it after a crash. */
export const ownerTags = (owner: Owner): Record<string, string> => ({
  [OwnerTag.uid]: owner.uid,
  [OwnerTag.object]: `${owner.namespace}.${owner.name}`,
});

export type Ownership = { kind: 'ours' } | { kind: 'unowned' } | { kind: 'otherObject'; owner: string };

export function ownershipOf(endpoint: Pick<ServingEndpointDetailed, 'tags'>, owner: Owner): Ownership {
  const tags = tagMap(endpoint);
  const uid = tags[OwnerTag.uid];
  if (uid === owner.uid) return { kind: 'ours' };
  if (uid === undefined) return { kind: 'unowned' };
  return { kind: 'otherObject', owner: tags[OwnerTag.object] ?? `uid ${uid}` };
}

export const tagMap = (endpoint: Pick<ServingEndpointDetailed, 'tags'>): Record<string, string> =>
  Object.fromEntries((endpoint.tags ?? []).map((t) => [t.key, t.value ?? '']));

export const desiredTags = (specTags: Record<string, string> | undefined, owner: Owner): Record<string, string> => ({
  ...(specTags ?? {}),
  ...ownerTags(owner),
});

/** Tags to add or change, and keys to delete, to make the endpoint's tags exactly `desired`. */
export function diffTags(observed: Record<string, string>, desired: Record<string, string>): { add: Tag[]; remove: string[] } {
  const add = Object.entries(desired)
    .filter(([key, value]) => observed[key] !== value)
    .map(([key, value]) => ({ key, value }));
  const remove = Object.keys(observed).filter((key) => !(key in desired));
  return { add, remove };
}

/** What an object may do with an existing endpoint of its name. */
export type OwnershipDecision =
  | { kind: 'ours' }
  /** Leave it alone; `message` says why and how to proceed. */
  | { kind: 'refuse'; message: string }
  /** Take it over: add our tags (and nothing else); `message` is for the Adopted event. */
  | { kind: 'adopt'; message: string; add: Tag[] };

export interface OwnershipInput {
  endpoint: Pick<ServingEndpointDetailed, 'name' | 'tags'>;
  owner: Owner;
  specTags: Record<string, string> | undefined;
  /** The object carries ptoperator.io/adopt="true". */
  wantsAdoption: boolean;
  /** The annotation's name, for the advice in messages. */
  adoptAnnotation: string;
}

export function decideOwnership(input: OwnershipInput): OwnershipDecision {
  const { endpoint, owner } = input;
  const ownership = ownershipOf(endpoint, owner);
  if (ownership.kind === 'ours') return { kind: 'ours' };
  const claim =
    ownership.kind === 'otherObject'
      ? `endpoint ${endpoint.name} belongs to ${ownership.owner}, another object`
      : `endpoint ${endpoint.name} exists in Databricks but was not created by this object`;
  if (!input.wantsAdoption) {
    return {
      kind: 'refuse',
      message: `${claim}. The operator will not modify or delete it. Set annotation ${input.adoptAnnotation}="true" to take it over, or serve the spec from a new object with another spec.endpointName (it cannot be changed on this one).`,
    };
  }
  // Ours from now on: only add our tags; the next reconcile manages the rest to the spec.
  const { add } = diffTags(tagMap(endpoint), desiredTags(input.specTags, owner));
  return { kind: 'adopt', message: `${claim}; taking it over because of annotation ${input.adoptAnnotation}`, add };
}
