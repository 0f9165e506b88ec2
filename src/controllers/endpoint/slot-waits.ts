// Objects waiting for the slot their workspace's rate budget reserved for them. Until the slot, a
// reconcile of that object (a resync, an unrelated status event) makes no Databricks call at all: it only
// requeues for the slot. Under the old budget, 50 creates waiting for it cost 1,285 GETs (issue 12).
export interface SlotWait {
  /** the spec generation that asked for the mutation: a new spec may not need one */
  generation: number;
  /** epoch ms of the reserved slot */
  until: number;
  /** where the budget has the slot now: a turn moves later when another namespace's change takes it */
  slotNow?: () => number | undefined;
  /** gives the slot back to the budget: nothing will be sent at it, and counted it would hold back other objects */
  release?: () => void;
}

export class SlotWaits {
  private readonly waits = new Map<string, SlotWait>();

  record(key: string, wait: SlotWait): void {
    this.waits.set(key, wait);
  }

  /**
   * Milliseconds until the object's slot when it should keep waiting without reading anything; undefined
   * when it should reconcile normally (no wait, slot reached, spec changed, being deleted: a delete is
   * not charged to the create/update window, or paused or observed: status says so at once, and nothing is sent at the slot).
   */
  remainingMs(key: string, object: { generation: number; deleting: boolean; paused: boolean; observeOnly?: boolean }, now: number): number | undefined {
    const wait = this.waits.get(key);
    if (!wait) return undefined;
    // A slot that moved later is waited for too; one no longer held (claimed, given up) is the one recorded.
    const until = Math.max(wait.until, wait.slotNow?.() ?? wait.until);
    const sendsNothing = object.deleting || object.paused || object.observeOnly === true;
    if (sendsNothing || object.generation !== wait.generation || now >= until) {
      this.waits.delete(key);
      // A new spec may still need a create/update, in the same place in line; a deletion, a pause or managementPolicy
      // Observe sends none then.
      if (sendsNothing) wait.release?.();
      return undefined;
    }
    return until - now;
  }

  forget(key: string): void {
    this.waits.delete(key);
  }

  /** The object is gone: its slot goes back to the budget. */
  release(key: string): void {
    this.waits.get(key)?.release?.();
    this.waits.delete(key);
  }

  get size(): number {
    return this.waits.size;
  }
}
