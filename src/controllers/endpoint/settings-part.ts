// What a part planner of the endpoint settings is, and the skeleton they share (see settings.ts).
import type { EndpointSpec, SettingsStatus } from '../../api/v1alpha1/index.js';
import type {
  AiGatewayConfig,
  PermissionsRequest,
  ServingEndpointDetailed,
  PatchTelemetryConfigRequest,
  ServingEndpointPermissions,
  UpdateNotificationsRequest,
} from '../../databricks/api-types.js';
import { shortLine } from '../../databricks/host-text.js';

export type SettingsAction =
  | { type: 'putAiGateway'; name: string; body: AiGatewayConfig }
  | { type: 'setPermissions'; endpointId: string; body: PermissionsRequest }
  | { type: 'updateNotifications'; name: string; body: UpdateNotificationsRequest }
  | { type: 'patchTelemetryConfig'; name: string; body: PatchTelemetryConfigRequest };

export type PartKey = keyof SettingsStatus;

/** `what` could not be read (default: the part itself, e.g. the permissions), and why. */
export type PartObserved<T> = { kind: 'found'; value: T } | { kind: 'failed'; message: string; what?: string } | { kind: 'skipped' };

/** What the reconciler's read of the schema ai-gateway.ts inferenceTableTarget names found; a failed read (403, 5xx) gives none. */
export interface SchemaCheck {
  /** "catalog.schema" */
  fullName: string;
  exists: boolean;
  /** Databricks' answer when it does not exist */
  message?: string;
}

/** What every part planner sees. */
export interface PartContext {
  spec: EndpointSpec;
  endpoint: ServingEndpointDetailed;
  permissions: PartObserved<ServingEndpointPermissions>;
  /** The schema an inference table is to be enabled in, when the reconciler read it (ai-gateway.ts). */
  inferenceTableSchema?: SchemaCheck;
  /** status.settings before this reconcile */
  previous: SettingsStatus;
  /** a new spec generation or requested-at token: earlier rejections no longer count */
  fresh: boolean;
  /** the endpoint served this spec at an earlier look: a difference now is drift, not the spec's own change */
  carriedOut: boolean;
  /** The part's condition was a rejection by Databricks of this very spec (and nothing asked to retry). */
  rejected: boolean;
  /** Who the operator is in the workspace (SCIM Me's userName), when known: the permissions keep it at CAN_MANAGE. */
  operatorIdentity?: string;
  /** managementPolicy Observe: the part is compared and reported, never sent (observe-only.ts). */
  observeOnly?: boolean;
  /**
   * The part's entry in `previous` was written by an observer (managementPolicy Observe before this look): the operator
   * never managed the part, so a spec that does not set it leaves it alone in Databricks rather than remove it, as a
   * tag dropped from the spec while observing stays. (What the entry records of what was sent, telemetry's, stays true.)
   */
  onlyCompared?: boolean;
}

export interface PartCondition {
  status: boolean;
  reason: string;
  message: string;
}

/** One part's decision. `status` and `condition` undefined: the operator does not manage the part. */
export interface PartPlan {
  status?: NonNullable<SettingsStatus[PartKey]>;
  condition?: PartCondition;
  /** leave the part's condition as it is (a rejection stands until the spec changes) */
  keepCondition?: boolean;
  action?: SettingsAction;
  /** Warning DriftDetected and the like; condition transitions add their own Events */
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
}

export interface PartPlanner {
  key: PartKey;
  conditionType: string;
  plan(context: PartContext): PartPlan;
}

export const PartReason = {
  Applied: 'Applied',
  Applying: 'Applying',
  Rejected: 'Rejected',
  ObserveFailed: 'ObserveFailed',
  NotUpdatable: 'NotUpdatable',
  NotConverging: 'NotConverging',
  InvalidSpec: 'InvalidSpec',
  /** managementPolicy Observe: the part matches the spec, as read (nothing was applied). */
  Observed: 'Observed',
  /** managementPolicy Observe: the part differs from the spec, and nothing is sent to change it. */
  Drifted: 'Drifted',
} as const;

/** The common skeleton: unmanaged, rejected, in sync (or forgotten after removal), or one change to send. */
export function decidePart(options: {
  context: PartContext;
  key: PartKey;
  /** the user asks for the part (false: it was managed and is being removed) */
  wanted: boolean;
  what: string;
  /** `what` names several things ("the permissions"): its verbs agree */
  plural?: boolean;
  applied: string;
  diffs: string[];
  action: SettingsAction | undefined;
  /** a problem that forbids sending anything (the message says how to fix it) */
  blocked?: PartCondition;
}): PartPlan {
  const { context, key, wanted, what, diffs, action } = options;
  const applied = appliedText(options.applied);
  const [matches, differs] = options.plural ? ['match', 'differ'] : ['matches', 'differs'];
  const previous = context.previous[key];
  const events: PartPlan['events'] = [];
  if (!wanted && (previous === undefined || context.observeOnly || context.onlyCompared)) return { events };
  if (context.observeOnly) return observedPart(what, applied, diffs, [matches, differs]);
  if (diffs.length === 0) {
    // Removed and gone from Databricks: forget the part; otherwise report it in sync.
    if (!wanted) return { events: [{ type: 'Normal', reason: 'SettingRemoved', message: `${what}: removed as the spec no longer sets it` }] };
    return { status: { applied, inSync: true }, condition: { status: true, reason: PartReason.Applied, message: `${what} ${matches} the spec: ${applied}` }, events };
  }
  const status = { applied, inSync: false };
  if (wanted && previous?.inSync === true && context.carriedOut) {
    const restoring = options.blocked || context.rejected ? '' : '; restoring the spec';
    events.push({ type: 'Warning', reason: 'DriftDetected', message: `${what} ${differs} from the spec (${diffs.join(', ')})${restoring}` });
  }
  if (options.blocked) return { status, condition: options.blocked, events };
  if (context.rejected) return { status, keepCondition: true, events };
  return { status, condition: { status: false, reason: PartReason.Applying, message: `${wanted ? 'applying' : 'removing'}: ${diffs.join(', ')}` }, action, events };
}

/**
 * status.settings.<part>.applied is in the host's words (a profile ID, table names, addresses, principals), which a
 * host chooses: one line of visible characters, as the other values it chooses that status keeps, of at most a
 * condition message's length (more than any spec describes to), so it cannot grow the status past what the API server
 * stores (docs/security.md, server error text).
 */
export const MAX_APPLIED = 32_768;
export const appliedText = (text: string): string => shortLine(text, MAX_APPLIED);

/** How every message about an observed endpoint's difference from the spec ends (observe-only.ts). */
export const NOTHING_CHANGED = 'nothing is changed: managementPolicy is Observe';

/** A part of an observed endpoint: how it compares with the spec, and nothing to send (observe-only.ts). */
function observedPart(what: string, applied: string, diffs: string[], [matches, differs]: [string, string]): PartPlan {
  if (diffs.length === 0) return { status: { applied, inSync: true }, condition: { status: true, reason: PartReason.Observed, message: `${what} ${matches} the spec: ${applied}` }, events: [] };
  const message = `${what} ${differs} from the spec (${diffs.join(', ')}); ${NOTHING_CHANGED}`;
  return { status: { applied, inSync: false }, condition: { status: false, reason: PartReason.Drifted, message }, events: [] };
}

export const sortedUnique = (values: readonly string[] | undefined): string[] => [...new Set(values ?? [])].sort();

export const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
