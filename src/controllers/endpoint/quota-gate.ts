// Creates refused by a workspace's quota of serving endpoints (QuotaExceeded) are tried again every poll interval,
// since room is made outside the object. Each try is a create, charged to the host's create/update budget that every
// endpoint on the host shares: 100 objects over the quota would spend 100 of its 50 calls per 5 minutes on creates
// bound to be refused. So one create at a time probes a full workspace: after a refusal, the other objects refused
// by the same quota wait for the next probe, and go once a create there succeeds, the operator deletes an endpoint
// there, or the probe is due again. An object whose spec or requested-at token changed is not held back: the user
// asked for a new try. After a start the refusals of the previous process are known from status (refusedByQuota):
// every object Synced=False is looked at at once, and each would otherwise send its create after every restart.
import { EndpointAnnotation, EndpointSyncedReason } from '../../api/v1alpha1/index.js';
import { type Condition, findCondition } from '../../kube/index.js';

export interface QuotaAsk {
  generation: number;
  /** the ptoperator.io/requested-at token, if any */
  token: string | undefined;
  /** status shows this ask refused by the quota (by a previous process, or this one) */
  refusedBefore?: boolean;
}

/** Status shows the quota refused the create this generation and requested-at token ask for. */
export function refusedByQuota(object: { generation: number; annotations: Record<string, string>; status: { conditions?: Condition[]; lastHandledRequestedAt?: string } }): boolean {
  const synced = findCondition(object.status.conditions, 'Synced');
  const token = object.annotations[EndpointAnnotation.requestedAt];
  // A refused token stays unhandled (failures.ts): one set since cannot be told from it, and is tried.
  return synced?.reason === EndpointSyncedReason.QuotaExceeded && synced.observedGeneration === object.generation && (token === undefined || token === object.status.lastHandledRequestedAt);
}

export class QuotaGate {
  /** workspace → when its quota last refused a create, or a probe of it was last sent */
  private readonly full = new Map<string, number>();
  /** object key → what its refused create asked for */
  private readonly refusedAsks = new Map<string, QuotaAsk>();
  /** workspaces whose quota this process saw refuse a create or room made: elsewhere only status tells */
  private readonly known = new Set<string>();

  /** A create of `key` in `workspace` was refused by the quota. */
  refused(workspace: string, key: string, ask: QuotaAsk, now: number): void {
    this.full.set(workspace, now);
    this.known.add(workspace);
    this.refusedAsks.set(key, { generation: ask.generation, token: ask.token });
  }

  /** Room was seen in the workspace: a create there succeeded, or the operator deleted an endpoint there. */
  roomMade(workspace: string): void {
    this.full.delete(workspace);
    this.known.add(workspace);
  }

  /**
   * Milliseconds `key` waits before its create probes the workspace again; undefined: send it now (the workspace is
   * not known to be full, this object was not refused for the same ask, or the next probe is due). The first object
   * that comes when the probe is due takes it: the others wait for the next one, even before its answer (under load
   * an answer can take longer than they take to come back).
   */
  probeWaitMs(workspace: string, key: string, ask: QuotaAsk, now: number, intervalMs: number): number | undefined {
    if (ask.refusedBefore && !this.refusedAsks.has(key)) this.refusedAsks.set(key, { generation: ask.generation, token: ask.token });
    if (ask.refusedBefore && !this.known.has(workspace) && !this.full.has(workspace)) {
      // The first look since the start at a workspace status shows full: this create probes it, the others wait.
      this.full.set(workspace, now);
      return undefined;
    }
    const probedAt = this.full.get(workspace);
    const asked = this.refusedAsks.get(key);
    if (probedAt === undefined || asked === undefined || asked.generation !== ask.generation || asked.token !== ask.token) return undefined;
    const due = probedAt + intervalMs;
    if (now < due) return due - now;
    this.full.set(workspace, now);
    return undefined;
  }

  forget(key: string): void {
    this.refusedAsks.delete(key);
  }
}
