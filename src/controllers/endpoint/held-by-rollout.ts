// What of a spec besides the served config waits for a rollout of the operator's own. Tags and the settings parts
// (settings.ts) are sent only once the served config is settled (plan.ts planInSync), so an edit of them alone, made
// while the spec's config rolls out, reaches Databricks only when that rollout ends: until then Synced says so
// (WaitingForRollout), as it does for a config held behind a rollout. Pure.
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import type { Condition } from '../../kube/conditions.js';
import { type Tag, desiredTags, diffTags, managedTagKeys, tagMap } from './ownership.js';
import { permissionsDifferFromRecorded, permissionsPart } from './permissions.js';
import { owner } from './plan-builder.js';
import type { EndpointObject, PlanInput } from './plan-types.js';
import { type PartKey, onlyCompared, planSettings } from './settings.js';

/** The tags to add and remove so that the endpoint carries the spec's (and the owner tags, unless an adoption's wait). */
export function tagChanges(object: EndpointObject, endpoint: ServingEndpointDetailed, ownerTagsWait: boolean): { add: Tag[]; remove: string[] } {
  // Objects from before status.managedTagKeys existed: their endpoints carry only spec and owner tags.
  const managed = object.status.managedTagKeys ?? managedTagKeys(object.spec.tags);
  // Owner tags an adoption has not written yet are no drift: they go with the next change (adoption.ts).
  const wanted = ownerTagsWait ? { ...object.spec.tags } : desiredTags(object.spec.tags, owner(object));
  return diffTags(tagMap(endpoint), wanted, managed);
}

/** One thing held back, as a message names it. */
interface Held {
  what: string;
  plural: boolean;
}

const PARTS: Record<Exclude<PartKey, 'creation'>, Held> = {
  aiGateway: { what: 'the AI Gateway', plural: false },
  permissions: { what: 'the permissions', plural: true },
  notifications: { what: 'the e-mail notifications', plural: true },
  telemetry: { what: 'the telemetry config', plural: false },
};

/**
 * What the endpoint, read during the rollout, lacks of the spec besides the served config: tags to add or remove, and
 * the settings parts with a change to send (as planSettings would find it settled). The ACL is not read during a
 * rollout: the spec's permissions are compared with those last read (status.settings). Budget policy and description
 * are never sent after the create, so they never wait.
 */
export function heldByRollout(input: PlanInput, endpoint: ServingEndpointDetailed, fresh: boolean, ownerTagsWait: boolean): Held[] {
  const { object } = input;
  const held: Held[] = [];
  const tags = tagChanges(object, endpoint, ownerTagsWait);
  const keys = [...new Set([...tags.add.map((t) => t.key), ...tags.remove])].sort();
  if (keys.length > 0) held.push({ what: `the tags (${keys.join(', ')})`, plural: true });
  const status = { settings: object.status.settings, conditions: object.status.conditions as Condition[] | undefined };
  const { changing } = planSettings({
    spec: object.spec,
    endpoint,
    permissions: { kind: 'skipped' },
    status,
    generation: object.generation,
    fresh,
    carriedOut: false,
    now: input.now,
    ...(input.workspace.principal && { operatorIdentity: input.workspace.principal }),
  });
  const parts = new Set<PartKey>(changing);
  // Permissions an observer only compared are left alone once the spec drops them (PartContext.onlyCompared).
  const leftAlone = object.spec.permissions === undefined && onlyCompared(status, permissionsPart);
  if (!leftAlone && permissionsDifferFromRecorded(object.spec, object.status.settings?.permissions, endpoint.creator, input.workspace.principal)) parts.add('permissions');
  for (const [key, part] of Object.entries(PARTS) as [PartKey, Held][]) if (parts.has(key)) held.push(part);
  return held;
}

/** Synced's message while `held` waits for the rollout of `rollout` (a served config, described). */
export function heldMessage(held: readonly Held[], rollout: string): string {
  const names = held.map((h) => h.what);
  const list = names.length === 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
  const plural = held.length > 1 || held.some((h) => h.plural);
  return `${list} ${plural ? 'wait' : 'waits'} for the rollout in progress (${rollout}) and ${plural ? 'are' : 'is'} sent when it ends: the operator changes nothing beside the served config while it rolls out`;
}
