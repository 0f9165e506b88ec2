// Creates refused by a workspace's quota of serving endpoints (QuotaExceeded) are tried again every poll interval,
// since room is made outside the object. Each try is a create, charged to the host's create/update budget that every
// endpoint on the host shares: 100 objects over the quota would spend 100 of its 50 calls per 5 minutes on creates
// bound to be refused. So one create at a time probes a full workspace: after a refusal, the other objects refused
// by the same quota wait for the next probe, and go once a create there succeeds, the operator deletes an endpoint
// there, or the probe is due again. An object whose spec or requested-at token changed is not held back: the user
// asked for a new try.
export interface QuotaAsk {
  generation: number;
  /** the ptoperator.io/requested-at token, if any */
  token: string | undefined;
}

export class QuotaGate {
  /** workspace → when its quota last refused a create, or a probe of it was last sent */
  private readonly full = new Map<string, number>();
  /** object key → what its refused create asked for */
  private readonly refusedAsks = new Map<string, QuotaAsk>();

  /** A create of `key` in `workspace` was refused by the quota. */
  refused(workspace: string, key: string, ask: QuotaAsk, now: number): void {
    this.full.set(workspace, now);
    this.refusedAsks.set(key, ask);
  }

  /** Room was seen in the workspace: a create there succeeded, or the operator deleted an endpoint there. */
  roomMade(workspace: string): void {
    this.full.delete(workspace);
  }

  /**
   * Milliseconds `key` waits before its create probes the workspace again; undefined: send it now (the workspace is
   * not known to be full, this object was not refused for the same ask, or the next probe is due). The first object
   * that comes when the probe is due takes it: the others wait for the next one, even before its answer (under load
   * an answer can take longer than they take to come back).
   */
  probeWaitMs(workspace: string, key: string, ask: QuotaAsk, now: number, intervalMs: number): number | undefined {
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
