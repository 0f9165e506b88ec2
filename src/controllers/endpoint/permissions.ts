// The permissions part: spec.permissions ↔ the endpoint's direct ACL (Permissions API, by endpoint
// ID). Authoritative like databricks_permissions: the spec is the whole set of direct permissions and
// one PUT (which replaces them) makes it so. Compared the way Terraform reads an ACL back: inherited
// entries and the admins group are not the user's, user and service-principal names are
// case-insensitive. The identity the operator acts as (asked of Databricks, SCIM Me, as the Terraform provider
// keeps the current user) is kept at CAN_MANAGE in every PUT, so the operator never locks itself out; the endpoint's
// creator (on an endpoint made by someone else, e.g. Terraform, another principal) keeps a direct CAN_MANAGE it holds,
// but is never added back once it has none: Terraform may have left it out, or it was deleted from the workspace,
// and Databricks refuses a PUT naming a principal that does not exist. A kept principal is compared only when the
// spec lists it. Pure.
import { type AccessControl, type EndpointSpec, type SettingsStatus, principalKey } from '../../api/v1alpha1/index.js';
import type { AccessControlRequest, ServingEndpointPermissions } from '../../databricks/api-types.js';
import { type PartCondition, type PartContext, type PartPlan, type PartPlanner, PartReason, appliedText, decidePart } from './settings-part.js';

const ADMINS = 'admins';

/** principal key → level, e.g. "user:alice@example.com" → CAN_QUERY */
type Acl = Map<string, { entry: AccessControlRequest; level: string }>;

function desiredAcl(list: readonly AccessControl[]): Acl {
  return new Map(
    list.map((a) => [
      principalKey(a),
      {
        entry: {
          ...(a.userName !== undefined && { user_name: a.userName }),
          ...(a.groupName !== undefined && { group_name: a.groupName }),
          ...(a.servicePrincipalName !== undefined && { service_principal_name: a.servicePrincipalName }),
          permission_level: a.permissionLevel,
        },
        level: a.permissionLevel,
      },
    ]),
  );
}

const keyOfResponse = (e: { user_name?: string; group_name?: string; service_principal_name?: string }) =>
  principalKey({ userName: e.user_name, groupName: e.group_name, servicePrincipalName: e.service_principal_name });

/** The direct entries the user controls: no inherited permissions, no admins group. */
export function observedAcl(permissions: ServingEndpointPermissions): Acl {
  const acl: Acl = new Map();
  for (const e of permissions.access_control_list ?? []) {
    if (e.group_name === ADMINS) continue;
    const direct = (e.all_permissions ?? []).filter((p) => p.inherited !== true && p.permission_level !== undefined);
    if (direct.length === 0) continue;
    // Several direct levels (seen for some object types) collapse to the strongest.
    const level = direct.map((p) => p.permission_level as string).sort((a, b) => rank(b) - rank(a))[0] as string;
    acl.set(keyOfResponse(e), { entry: { user_name: e.user_name, group_name: e.group_name, service_principal_name: e.service_principal_name, permission_level: level }, level });
  }
  return acl;
}

const RANK: Record<string, number> = { CAN_VIEW: 1, CAN_QUERY: 2, CAN_MANAGE: 3 };
const rank = (level: string) => RANK[level] ?? 0;

const label = (key: string) => key.replace(/^user:/, '').replace(/^group:/, 'group ').replace(/^servicePrincipal:/, 'service principal ');

export function describeAcl(acl: Acl): string {
  if (acl.size === 0) return 'no direct permissions';
  return [...acl.entries()]
    .map(([key, v]) => `${label(key)} ${v.level}`)
    .sort()
    .join(', ');
}

export function diffAcl(desired: Acl, observed: Acl): string[] {
  const diffs: string[] = [];
  for (const [key, want] of desired) {
    const have = observed.get(key);
    if (!have) diffs.push(`grant ${label(key)} ${want.level}`);
    else if (have.level !== want.level) diffs.push(`${label(key)} ${have.level} → ${want.level}`);
  }
  for (const [key, have] of observed) if (!desired.has(key)) diffs.push(`revoke ${label(key)} ${have.level}`);
  return diffs.sort();
}

export const permissionsPart: PartPlanner = {
  key: 'permissions',
  conditionType: 'PermissionsSynced',
  plan(context: PartContext): PartPlan {
    const wanted = context.spec.permissions !== undefined;
    if (!wanted && (context.previous.permissions === undefined || context.onlyCompared)) return { events: [] };
    if (context.permissions.kind === 'failed') {
      // A read that failed tells nothing new of a spec Databricks rejected: the rejection stands (and is not sent again).
      if (context.rejected) return { events: [], keepCondition: true, ...(context.previous.permissions && { status: context.previous.permissions }) };
      // An observer keeps no entry through a failed read: with its condition no longer Observed or Drifted, a later
      // Full would take the entry for permissions it had managed (PartContext.onlyCompared).
      const kept = context.observeOnly ? undefined : context.previous.permissions;
      return {
        ...(kept && { status: kept }),
        condition: { status: false, reason: PartReason.ObserveFailed, message: `could not read ${context.permissions.what ?? 'the permissions'}: ${context.permissions.message}; retrying` },
        events: [],
      };
    }
    if (context.permissions.kind !== 'found' || !context.endpoint.id) return { events: [], keepCondition: true, ...(context.previous.permissions && { status: context.previous.permissions }) };

    const desired = desiredAcl(context.spec.permissions ?? []);
    const observed = observedAcl(context.permissions.value);
    const kept = keptPrincipals(creatorWithGrant(context.endpoint.creator, observed), context.operatorIdentity);
    // A kept principal has CAN_MANAGE after every PUT; it counts in the comparison only when the spec lists it.
    for (const k of kept) if (!desired.has(k.key)) observed.delete(k.key);
    const lowered = loweredPrincipal(desired, kept);
    const blocked: PartCondition | undefined = lowered
      ? {
          status: false,
          reason: PartReason.InvalidSpec,
          message: `spec.permissions gives ${lowered.name} ${desired.get(lowered.key)?.level ?? ''}, but ${lowered.name} is ${lowered.role}, which must keep CAN_MANAGE so the operator can go on managing the endpoint: set CAN_MANAGE or remove the entry`,
        }
      : undefined;

    const body = [...desired.values()].map((v) => v.entry);
    for (const k of kept) if (!desired.has(k.key)) body.push(keptEntry(k.name));
    return decidePart({
      context,
      key: 'permissions',
      wanted,
      what: 'the permissions',
      plural: true,
      applied: describeAcl(observed),
      diffs: diffAcl(desired, observed),
      action: { type: 'setPermissions', endpointId: context.endpoint.id, body: { access_control_list: body } },
      ...(blocked && { blocked }),
    });
  },
};

/** A principal every PUT keeps at CAN_MANAGE, and why (for InvalidSpec's message). */
interface Kept {
  name: string;
  key: string;
  role: string;
}

/**
 * The endpoint's creator and the identity the operator acts as (undefined when not given: the creator alone; the
 * reconciler plans no permissions while the identity is unknown), one entry when they are the same principal.
 */
function keptPrincipals(creator: string | undefined, operatorIdentity: string | undefined): Kept[] {
  const kept: Kept[] = [];
  if (operatorIdentity) kept.push({ name: operatorIdentity, key: keyOfPrincipal(operatorIdentity), role: 'the identity the operator acts as in this workspace' });
  if (creator && !kept.some((k) => k.key === keyOfPrincipal(creator))) kept.push({ name: creator, key: keyOfPrincipal(creator), role: "the endpoint's creator" });
  return kept;
}

/** The endpoint's creator when the ACL read holds its direct CAN_MANAGE (the grant Databricks gives at create), else none. */
function creatorWithGrant(creator: string | undefined, observed: Acl): string | undefined {
  return creator !== undefined && observed.get(keyOfPrincipal(creator))?.level === 'CAN_MANAGE' ? creator : undefined;
}

/** A kept principal the spec lists below CAN_MANAGE: refused (InvalidSpec), nothing is sent until it is fixed. */
const loweredPrincipal = (desired: Acl, kept: readonly Kept[]): Kept | undefined =>
  kept.find((k) => {
    const listed = desired.get(k.key);
    return listed !== undefined && listed.level !== 'CAN_MANAGE';
  });

/**
 * For a look that reads no ACL (a rollout in progress): whether spec.permissions asks for a PUT, judged by the ACL last
 * read (status.settings.permissions, which holds a kept principal only when the spec listed it then). Never managed and
 * not asked for: no. A spec that lowers a kept principal sends nothing (InvalidSpec); and the kept principals have
 * CAN_MANAGE after every PUT, so listing them or not changes nothing in Databricks: the recorded ACL is compared with
 * and without each of them.
 */
export function permissionsDifferFromRecorded(
  spec: Pick<EndpointSpec, 'permissions'>,
  recorded: SettingsStatus['permissions'],
  creator: string | undefined,
  operatorIdentity?: string,
): boolean {
  if (spec.permissions === undefined && recorded === undefined) return false;
  const desired = desiredAcl(spec.permissions ?? []);
  const kept = keptPrincipals(creator, operatorIdentity);
  if (loweredPrincipal(desired, kept)) return false;
  // every combination of the kept principals present or absent (two at most: four)
  let forms: Acl[] = [new Map(desired)];
  for (const k of kept) {
    forms = forms.flatMap((form) => {
      const without: Acl = new Map(form);
      without.delete(k.key);
      return [new Map(form).set(k.key, { entry: keptEntry(k.name), level: 'CAN_MANAGE' }), without];
    });
  }
  return forms.every((form) => recorded?.applied !== appliedText(describeAcl(form)));
}

/** A kept principal's entry at CAN_MANAGE, as every PUT carries it. */
const keptEntry = (name: string): AccessControlRequest => ({
  ...(name.includes('@') ? { user_name: name } : { service_principal_name: name }),
  permission_level: 'CAN_MANAGE',
});

/** Databricks names a user by e-mail and a service principal by its application ID (SCIM Me's userName, an endpoint's creator). */
const keyOfPrincipal = (name: string) => (name.includes('@') ? principalKey({ userName: name }) : principalKey({ servicePrincipalName: name }));
