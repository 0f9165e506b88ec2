// When a new object may decide whether it is the oldest claimant of its endpoint name (ownership.ts, docs/security.md
// rule 6). creationTimestamp has one-second resolution, so every object stamped in the same second must be in the
// informer cache first. Two ways to know it:
// - time: the API server's clock is past the end of the creation second plus a margin for commit and watch delivery
//   (CLAIM_DELIVERY_MARGIN_MS);
// - a fence: past the end of the second plus a margin for the commit alone (CLAIM_COMMIT_MARGIN_MS), the object's
//   own finalizer (the write that goes on before any create anyway) reaches the cache. The watch delivers in
//   resourceVersion order, so every object committed before that write has been delivered by then: the watch's own
//   lag, the larger and less predictable part of the margin, is measured rather than assumed (issue 12 item 1: a
//   create waited 1-2 s for it).
import { type KubeObject, hasFinalizer } from '../../kube/index.js';
import { ENDPOINT_FINALIZER } from '../resources.js';
import { CLAIM_DELIVERY_MARGIN_MS, claimSettleWaitMs } from './ownership.js';

/** Between being stamped and being committed to etcd (no admission webhooks on our CRDs): the fence covers the rest. */
export const CLAIM_COMMIT_MARGIN_MS = 500;

export interface ClaimWaits {
  /** until the commit margin has passed: no read, no write before then */
  commitInMs: number;
  /** until claims are known by time alone; 0 = known, no fence needed */
  settledInMs: number;
}

export function claimWaits(creationTimestamp: string | undefined, apiserverNow: number | undefined, localNow: number): ClaimWaits {
  return {
    commitInMs: claimSettleWaitMs(creationTimestamp, apiserverNow, localNow, CLAIM_COMMIT_MARGIN_MS),
    settledInMs: claimSettleWaitMs(creationTimestamp, apiserverNow, localNow, CLAIM_DELIVERY_MARGIN_MS),
  };
}

/**
 * The fences this process wrote: an object's finalizer added (after the commit margin) only to learn when the
 * cache holds every earlier claimant. Kept in memory for the second or two until time alone settles the claims;
 * after a restart an object simply waits that out.
 */
export class ClaimFences {
  private readonly fences = new Map<string, { passed: boolean; acted: boolean }>();

  /** The finalizer was written as `key`'s fence; nothing was sent to Databricks for it. */
  wrote(key: string): void {
    this.fences.set(key, { passed: false, acted: false });
  }

  /** `key`'s object sent Databricks a change (or tried to): its finalizer now guards more than a fence. */
  acted(key: string): void {
    const fence = this.fences.get(key);
    if (fence) fence.acted = true;
  }

  /** The informer delivered `object`: true when this delivery passes its fence (the reconcile can decide now). */
  delivered(key: string, object: KubeObject): boolean {
    const fence = this.fences.get(key);
    if (!fence || fence.passed || !hasFinalizer(object, ENDPOINT_FINALIZER)) return false;
    fence.passed = true;
    return true;
  }

  /** Whether `key`'s claims are known by its fence: the informer's own copy holds the finalizer we wrote. */
  passed(key: string, cached: KubeObject | undefined): boolean {
    return (cached !== undefined && this.delivered(key, cached)) || this.fences.get(key)?.passed === true;
  }

  /** The finalizer is only a fence: the object never made Databricks act (so the workspace's list can stand in for its GET). */
  onlyFence(key: string): boolean {
    return this.fences.get(key)?.acted === false;
  }

  /** Claims are known by time alone now: the fence is no longer needed, only what it says until the object acts. */
  settled(key: string): void {
    if (!this.onlyFence(key)) this.fences.delete(key);
  }

  forget(key: string): void {
    this.fences.delete(key);
  }
}

/**
 * New objects whose wait for claims was computed on a loose bound of the API server's clock: once a probe burst
 * (ClockProbe) has tightened it, those still waiting are woken instead of waiting out what the loose bound made them
 * wait. Only those still waiting: an object whose own requeue ended the wait first would be reconciled once more,
 * and one stalled on a refused change would send one more refused call.
 */
export class ClockWaits {
  private readonly waiting = new Set<string>();

  /** `tighten`: starts a burst if the bound is loose; resolves when it ends, undefined when nothing is to be done. */
  constructor(
    private readonly tighten: (() => Promise<void> | undefined) | undefined,
    private readonly wake: (key: string) => void,
  ) {}

  /** `key` waits on a time computed on the bound (several reconciles may ask in one wait: it is woken once). */
  wait(key: string): void {
    const burst = this.tighten?.();
    if (!burst) return;
    this.waiting.add(key);
    const wakeIfWaiting = () => {
      if (this.waiting.delete(key)) this.wake(key);
    };
    // a burst that failed leaves the bound as it was: the wake is still harmless
    void burst.then(wakeIfWaiting, wakeIfWaiting);
  }

  /** `key`'s claims are known (by time or by its fence): it waits no more. */
  done(key: string): void {
    this.waiting.delete(key);
  }
}
