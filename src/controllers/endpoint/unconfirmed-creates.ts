// Creates whose outcome is unknown: sent, never answered, and not found by name afterwards. Databricks may still
// carry one out (a request it holds), so for a while an object neither sends another create nor takes a list that
// lacks its endpoint as the endpoint being gone: the late endpoint would outlive a deleted object (docs/concepts.md:
// never created twice, never leaked). Known two ways: this process saw the create go unanswered (the client's
// createOutcomeUnknown), or the previous process of the operator may have sent one just before it died (a crash,
// an upgrade, a leader handover) for an object that holds our finalizer. A recorded endpoint ID (or adoption) is
// no proof against it: an endpoint deleted out of band is created again, and status records the new one only
// after Databricks answered.

/** Beyond the call deadline (--databricks-timeout), how long a create Databricks holds may still be carried out. */
export const LATE_CREATE_MARGIN_MS = 10_000;

/** What of an object tells whether a previous process could have left a create of it unanswered. */
export interface CreateTraces {
  deleting: boolean;
  hasFinalizer: boolean;
}

export class UnconfirmedCreates {
  /** key → the last moment an unanswered create of this process may land */
  private readonly unansweredUntil = new Map<string, number>();
  private startedAt: number | undefined;
  private readonly windowMs: number;

  /** `callDeadlineMs`: --databricks-timeout, the longest any create of ours was waited for. */
  constructor(callDeadlineMs: number) {
    this.windowMs = callDeadlineMs + LATE_CREATE_MARGIN_MS;
  }

  /** The first reconcile of this process (as the leader): a previous process may have died just before it. */
  started(nowMs: number): void {
    this.startedAt ??= nowMs;
  }

  /** A create of `key` went unanswered just now. */
  unanswered(key: string, nowMs: number): void {
    this.unansweredUntil.set(key, nowMs + this.windowMs);
  }

  /**
   * The last moment an unanswered create of `key` may land (possibly past: the list that decides must be read after
   * it), or undefined when there is none. The previous process counts only for a deletion (a new create after a
   * restart finds a late one by its name: AlreadyExists), and only for an object whose finalizer says it acted. The
   * wait costs only a deletion whose endpoint the list lacks, in the first window after the start.
   */
  landsBy(key: string, object: CreateTraces): number | undefined {
    const own = this.unansweredUntil.get(key);
    const previous = object.deleting && object.hasFinalizer && this.startedAt !== undefined ? this.startedAt + this.windowMs : undefined;
    if (own === undefined) return previous;
    return previous === undefined ? own : Math.max(own, previous);
  }

  forget(key: string): void {
    this.unansweredUntil.delete(key);
  }
}
