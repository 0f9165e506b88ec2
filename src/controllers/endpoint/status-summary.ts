// What the planned Ready and Synced conditions mean for tools that do not know this kind, and for
// `kubectl describe`: derived after planning, never decided inside it.
//  - kstatus (cli-utils; Flux health checks, Helm 4 --wait, kpt) reads only Reconciling, Stalled and
//    status.observedGeneration: Reconciling=True while the operator works toward the spec, Stalled=True
//    when it cannot get there without a change from the user. Both are "abnormal-true" conditions and
//    are removed when False, as kstatus recommends.
//  - Ready is never missing once the operator has looked at the object (Unknown with Synced's reason), and never
//    speaks for an older generation while the current one is held back (docs/troubleshooting.md).
//  - One Event per transition: the action's own Event, or else one for the condition that changed.
import { EndpointReadyReason as ReadyReason, EndpointSyncedReason as SyncedReason } from '../../api/v1alpha1/index.js';
import { type Condition, findCondition, setAbnormalTrue, setCondition } from '../../kube/conditions.js';
import type { PlannedEvent } from './plan-types.js';

/** Synced reasons that retrying cannot fix: only a spec change or a new requested-at annotation does. */
export const STALLED_REASONS: ReadonlySet<string> = new Set([
  SyncedReason.InvalidSpec,
  SyncedReason.ModelNotOptimizable,
  SyncedReason.ModelNotFound,
  SyncedReason.NotOwned,
  SyncedReason.PermissionDenied,
  SyncedReason.QuotaExceeded,
  SyncedReason.DefaultWorkspaceNotAllowed,
  SyncedReason.WorkspaceStalled,
  SyncedReason.UpdateFailed,
  SyncedReason.CapacityRetriesExhausted,
  SyncedReason.CanaryAborted,
  SyncedReason.WorkspaceChanged,
]);

const WARNING_REASONS: ReadonlySet<string> = new Set([
  ...STALLED_REASONS,
  ReadyReason.WaitingForCapacity,
  SyncedReason.ReconcileError,
  SyncedReason.WorkspaceNotReady,
  SyncedReason.RateLimited,
  SyncedReason.Drifted,
  // An observed endpoint gone (or not made yet): what the object reports on does not exist, as Full's EndpointMissing.
  SyncedReason.EndpointNotFound,
]);

type Conditions = Condition[] | undefined;

/** Synced reasons under which nothing of the current spec reached Databricks: the operator waits or was stopped. */
const WAITING_REASONS: ReadonlySet<string> = new Set([
  SyncedReason.RateLimited,
  SyncedReason.WaitingForRollout,
  SyncedReason.WorkspaceNotReady,
  SyncedReason.ReconcileError,
  SyncedReason.ReconcilePaused,
  SyncedReason.DefaultWorkspaceNotAllowed,
  SyncedReason.WorkspaceStalled,
]);

/** Reasons of the settings parts' conditions (settings.ts) that need the user: refused, or not changeable. */
const STALLED_PART_REASONS: ReadonlySet<string> = new Set(['Rejected', 'InvalidSpec', 'NotUpdatable', 'NotConverging']);

/** The settings parts (AiGatewaySynced, PermissionsSynced, ...) that are not in sync. */
const partsNotInSync = (list: Condition[]) => list.filter((c) => c.type !== 'Synced' && c.type.endsWith('Synced') && c.status === 'False');
const partNotInSync = (list: Condition[]) => partsNotInSync(list)[0];

/** Synced's message for a served config and tags that match the spec (plan.ts). */
export const SPEC_APPLIED = 'the spec is applied';
const CONFIG_APPLIED = 'the served config and tags are applied';

/**
 * Synced stays True while a settings part is sent or refused (the part has its own condition), but says the spec is
 * applied only once every part is: otherwise it names those that are not, so `kubectl describe` does not contradict them.
 */
function withPartsInSynced(list: Condition[], now: Date): Condition[] {
  const synced = findCondition(list, 'Synced');
  if (synced?.status !== 'True' || !(synced.message === SPEC_APPLIED || synced.message.startsWith(`${CONFIG_APPLIED}; `))) return list;
  const parts = partsNotInSync(list);
  const message = parts.length === 0 ? SPEC_APPLIED : `${CONFIG_APPLIED}; ${parts.map((p) => `${p.type} is ${p.reason}`).join(', ')}: see ${parts.length === 1 ? 'that condition' : 'those conditions'}`;
  return message === synced.message ? list : setCondition(list, { ...synced, message }, synced.observedGeneration, now);
}

/**
 * What waits, in a Ready held back. A deletion bumps metadata.generation (the API server does, with the deletion
 * timestamp, on an object with a finalizer) though no spec was edited: what waits then is the deletion.
 */
const waits = (generation: number, deleting: boolean) => (deleting ? 'the deletion waits: ' : `generation ${generation} waits: `);

/**
 * What came of the last generation the operator handled, for the Ready of a newer one held back. Only a Ready=True
 * says that spec serves: its rollout may have failed or still run, or its endpoint may never have been created. A
 * Ready already held back for this generation keeps what it said (its text before "generation N waits: ").
 */
function handledBefore(known: Condition | undefined, generation: number, waiting: string): string | undefined {
  if (!known || known.observedGeneration === undefined) return undefined;
  if (known.observedGeneration < generation) {
    return known.status === 'True'
      ? `the endpoint still serves the spec of generation ${known.observedGeneration}`
      : `generation ${known.observedGeneration} did not become Ready (${known.reason})`;
  }
  const at = known.status === 'Unknown' ? known.message.indexOf(`; ${waiting}`) : -1;
  return at > 0 ? known.message.slice(0, at) : undefined;
}

/**
 * The conditions with Ready filled in and Reconciling/Stalled derived from Ready and Synced.
 * Paused objects are neither reconciling nor stalled (kstatus has no "suspended"; they count as Current).
 * `observedGeneration`: the status' own, the last generation whose spec the operator carried out. `deleting`: the object
 * is being deleted.
 */
export function summarizeConditions(conditions: Conditions, generation: number, now: Date, observedGeneration?: number, deleting = false): Condition[] {
  let list = withPartsInSynced([...(conditions ?? [])], now);
  const synced = findCondition(list, 'Synced');
  const known = findCondition(list, 'Ready');
  // A new spec held back (rate limit, workspace, pause): a Ready of the older spec would call it Available.
  const held = synced?.status === 'False' && synced.observedGeneration === generation && WAITING_REASONS.has(synced.reason);
  const stale = known !== undefined && known.observedGeneration !== undefined && known.observedGeneration < generation;
  if (synced && (!known || (known.status === 'Unknown' && synced.status !== 'True') || (held && stale))) {
    // The operator has looked but could not find out (rate limited, workspace not ready, paused before the first
    // read), or could not send the new spec: Ready is Unknown and says why, following Synced while that lasts.
    // A spec held back by a person's fix (a stalled reason) counts as observed for kstatus, though none of it was sent.
    const behind = held && observedGeneration !== undefined && (observedGeneration < generation || STALLED_REASONS.has(synced.reason));
    const waiting = waits(generation, deleting);
    const before = behind ? handledBefore(known, generation, waiting) : undefined;
    const message = before ? `${before}; ${waiting}${synced.message}` : synced.message;
    list = setCondition(list, { type: 'Ready', status: 'Unknown', reason: synced.reason, message }, generation, now);
  }
  const ready = findCondition(list, 'Ready');
  // Paused, or observed and differing from the spec (managementPolicy Observe): the operator will not act, by design,
  // so the object is neither on its way nor stuck; kstatus and Argo CD follow Ready, what Databricks reports.
  const paused = synced?.status === 'False' && (synced.reason === SyncedReason.ReconcilePaused || synced.reason === SyncedReason.Drifted);
  let stalled = synced?.status === 'False' && STALLED_REASONS.has(synced.reason) ? synced : undefined;
  // A Ready UpdateFailed without a Synced saying so is an observed endpoint's own failed rollout (Full's says Synced
  // UpdateFailed too), Drifted or not: whoever manages the endpoint must act, as Argo CD's Degraded says. Not Ready's
  // fallback, which kstatus reads as InProgress until a timeout.
  if (!stalled && synced?.reason !== SyncedReason.ReconcilePaused && ready?.status === 'False' && ready.reason === ReadyReason.UpdateFailed) stalled = ready;

  let reconciling: Condition | undefined;
  if (!paused && !stalled) {
    // Ready's reason says what the operator waits for; a failing Synced says why it is not getting there.
    if (synced?.status === 'False') reconciling = synced;
    else if (ready && ready.status !== 'True') reconciling = ready;
  }
  // The served config settled: a settings part still being applied is progress, one refused needs the user.
  const part = !paused && !stalled && !reconciling ? partNotInSync(list) : undefined;
  if (part) {
    if (STALLED_PART_REASONS.has(part.reason)) stalled = part;
    else reconciling = part;
  }
  list = setAbnormalTrue(list, 'Stalled', stalled, generation, now);
  return setAbnormalTrue(list, 'Reconciling', reconciling, generation, now);
}

/**
 * The plan made again after its predecessor's status write met a conflict (the predecessor's Events were told):
 * a transition from the status it was made from (the write never landed) that the predecessor's status already
 * reached is not told twice. `told`: the conditions that plan would have written.
 */
export function withoutRetold<P extends { events: readonly PlannedEvent[]; status: { conditions?: Conditions } }>(plan: P, before: Conditions, told: Conditions): P {
  const [transition] = transitionEvents(before, plan.status.conditions, []);
  const [only] = plan.events;
  const onlyTheTransition = plan.events.length === 1 && transition !== undefined && only?.reason === transition.reason && only.message === transition.message;
  return onlyTheTransition && transitionEvents(told, plan.status.conditions, []).length === 0 ? { ...plan, events: [] } : plan;
}

/**
 * One Event for what changed between two statuses. Explicit events of the plan (an action such as
 * CreatingEndpoint, or DriftDetected) already tell the story; otherwise the condition that changed does,
 * a failing Synced first (it is the cause), then Ready, then a recovered Synced.
 */
export function transitionEvents(before: Conditions, after: Conditions, planned: readonly PlannedEvent[]): PlannedEvent[] {
  if (planned.length > 0) return [...planned];
  const changed = (type: string) => {
    const next = findCondition(after, type);
    const previous = findCondition(before, type);
    // An observed endpoint that still differs from the spec, but in other ways: what differs is the news (observe-only.ts).
    const driftChanged = next?.reason === SyncedReason.Drifted && previous?.reason === SyncedReason.Drifted && previous.message !== next.message;
    return next && (previous?.status !== next.status || previous.reason !== next.reason || driftChanged) ? next : undefined;
  };
  const synced = changed('Synced');
  const ready = changed('Ready');
  const cause = (synced?.status === 'False' ? synced : undefined) ?? ready ?? synced;
  if (!cause) return [];
  const warning = cause.status !== 'True' && WARNING_REASONS.has(cause.reason);
  return [{ type: warning ? 'Warning' : 'Normal', reason: cause.reason, message: cause.message }];
}
