// Start-up without a thundering herd (issue 12): after a restart every object is queued at once, and
// reading all of them at once (780-890 GETs/s at 1,000) held back real work. An object that was settled
// when the operator stopped gets its first look at a random point of the poll interval instead, as it would
// have anyway. Anything that changed or was asked for while the operator was down (a new generation, a
// deletion, a pause removed, a requested-at, ...) is looked at at once.
import { EndpointSyncedReason } from '../../api/v1alpha1/index.js';
import { type Condition, findCondition } from '../../kube/index.js';
import { canaryControlUnhandled } from './canary-controls.js';
import { type HeldRecord, holdsAnEndpoint } from './ownership.js';
import type { EndpointObject } from './plan-types.js';
import { isPaused, newRequest, wantsAdoption } from './user-requests.js';

export interface SettledView extends Pick<EndpointObject, 'generation' | 'deleting' | 'annotations'> {
  hasSchedule: boolean;
  /** managementPolicy Observe: the adopt annotation asks for nothing (observe-only.ts). */
  observeOnly?: boolean;
  status: HeldRecord & Pick<EndpointObject['status'], 'pending' | 'lastHandledRequestedAt' | 'canary'> & { conditions?: Condition[] };
}

/**
 * Settled: Ready and Synced for the current generation (so not paused, nor waiting for a workspace or a rate
 * budget; an observed endpoint's drift counts as Synced), nothing pending, not being deleted, no schedule, and no annotation the status does not show handled.
 */
export function isSettled(object: SettledView): boolean {
  if (object.deleting || object.hasSchedule || object.status.pending !== undefined) return false;
  if (!trueForGeneration(object, 'Ready') || !(trueForGeneration(object, 'Synced') || observedDrift(object))) return false;
  return !annotationUnhandled(object);
}

const trueForGeneration = (object: SettledView, type: 'Ready' | 'Synced'): boolean => {
  const condition = findCondition(object.status.conditions, type);
  return condition?.status === 'True' && condition.observedGeneration === object.generation;
};

/** An observed endpoint that differs from its spec (observe-only.ts): a steady state, the operator changes nothing. */
const observedDrift = (object: SettledView): boolean => {
  const synced = findCondition(object.status.conditions, 'Synced');
  return synced?.reason === EndpointSyncedReason.Drifted && synced.observedGeneration === object.generation;
};

/**
 * An annotation asks for something the status does not show done. Paused: Synced is False ReconcilePaused once the
 * pause is shown, so a Synced=True object with the annotation was paused while the operator was down.
 */
const annotationUnhandled = (object: SettledView): boolean =>
  isPaused(object) ||
  newRequest(object) ||
  canaryControlUnhandled(object.annotations, object.status.canary) ||
  (wantsAdoption(object) && !holdsAnEndpoint(object.status) && object.observeOnly !== true);

export class StartupSpread {
  private readonly seen = new Set<string>();

  /** The first time this process sees `key`: how long to wait before its first look (undefined: look now). */
  firstLookDelayMs(key: string, object: SettledView, pollIntervalMs: number, random: number): number | undefined {
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    return isSettled(object) ? Math.floor(random * pollIntervalMs) : undefined;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}
