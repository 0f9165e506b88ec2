// What every client rate budget is and says (rate-budget.ts): the window of create/update calls
// (window-budget.ts) and the read rate (bucket-budget.ts) both implement Budget.

export type BudgetName = 'mutation' | 'read';

/** Where prom-client is wired; every hook is optional. */
export interface BudgetMetricsSink {
  /** a caller got its grant after waiting `waitMs` (0 when the budget had room) */
  budgetWait?(event: { host: string; budget: BudgetName; waitMs: number; queueLength: number }): void;
  /** a caller that would not wait that long was refused (and, if it named itself, given a slot) */
  budgetRejected?(event: { host: string; budget: BudgetName; retryAfterMs: number }): void;
  /** number of callers sleeping for a grant, or holding a reservation, changed */
  budgetQueueLength?(event: { host: string; budget: BudgetName; queueLength: number }): void;
  /** Databricks answered 429: the budget paused and (mutations) shrank to `limit` */
  budgetThrottled?(event: { host: string; budget: BudgetName; retryAfterMs: number; limit: number }): void;
  /** no client uses the host any more and its budgets were dropped: its series can go */
  budgetReleased?(event: { host: string }): void;
}

export interface AcquireOptions {
  signal?: AbortSignal;
  /** refuse (RateLimited, retryAfterMs set) instead of waiting longer than this; undefined = wait */
  maxWaitMs?: number;
  /** who asks (e.g. "namespace/name"): a refused holder keeps a reserved slot for when it comes back */
  holder?: string;
  /** the namespace the holder counts for: namespaces waiting for one host's window take turns (turns.ts) */
  tenant?: string;
}

/** How a holder's slot is placed in a window: in its namespace's turn, and whether it waits requeued (not asleep). */
export interface Placement {
  tenant?: string;
  /** refused and requeued for its slot: its turn may move later for another namespace's (a sleeping caller's never) */
  requeued?: boolean;
}

/** What every budget can say and do; a call passes all of its budgets (host, and the workspace's share). */
export interface Budget {
  readonly host: string;
  readonly budget: BudgetName;
  /** earliest time a grant could be made for `holder` (its own reservation if it has one) */
  earliestGrant(now: number, holder: string | undefined, tenant?: string): number;
  /** Whether a grant at `at` waits because of Databricks' 429s (a Retry-After pause, or a window it halved). */
  heldByDatabricks(now: number, at: number): boolean;
  /** commit a grant at `at` (>= earliestGrant); `holder` set = a reservation kept for that caller */
  commit(at: number, now: number, reservedFor: string | undefined, placement?: Placement): void;
  /**
   * When `tenant`, which already has its share of grants waiting here, may ask again (its waiting grants have gone
   * out then); undefined while it may wait for one more. Only budgets that keep one line for every namespace (reads) have it.
   */
  tenantShareFullUntil?(now: number, tenant: string): number | undefined;
  /** when the holder's reserved slot is, if it holds one (a turn may move later: turns.ts) */
  reservedSlot?(holder: string): number | undefined;
  /** the holder's reservation, if any, is given up (so it can be re-placed) */
  release(holder: string): void;
  /** Databricks said 429 */
  throttled(retryAfterMs: number | undefined, now: number): void;
  /** a caller was refused because of this budget */
  rejected(retryAfterMs: number): void;
  /** callers sleeping for a grant, for the queue-length gauge */
  setSleeping(delta: number): void;
  readonly stats: BudgetStats;
}

export interface BudgetStats {
  grants: number;
  totalWaitMs: number;
  queueLength: number;
  throttled: number;
  /** the limit in force now (mutations: per window; reads: per second) */
  limit: number;
}
