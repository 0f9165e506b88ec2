// Client-side rate budgets.
//
// Databricks documents one limit for the serving API: 50 create/update calls per workspace in 5 minutes
// (reference §7). The mutation budget is therefore a sliding window of N grants per W (N = 50, W = 5 min by
// default, from the operator's configuration): a burst of 50 goes out at once, as Databricks allows, and
// the 51st waits until the first leaves the window. Reads are not covered by that limit; they share a plain
// requests-per-second bucket: the Go SDK's 15/s on average, with a burst as large as the mutation window's (50),
// so that the confirming reads of 50 rollouts that end together go out together; a namespace may have one second of
// that rate waiting, no more (bucket-budget.ts), so it cannot fill the line ahead of the others. Deletes and tag patches are
// covered by no documented limit and pass no budget at all (client.ts).
//
// The window hands out *reservations*: a caller that must wait is given a slot and told when it is; a
// caller that names itself (`holder`) finds its slot kept when it comes back, so an object requeued for
// its slot makes no call before then and is not overtaken by later arrivals of its own namespace. Namespaces
// waiting for one host take turns (turns.ts): another namespace's newcomer may take a turn, which then moves later.
//
// A 429 from Databricks means somebody else shares the workspace's limit (another tool, another
// operator): the window stops until Retry-After (never less than a floor), and its limit halves (at most once
// per window), then grows back by one every W / N. Slots reserved before it move past the pause, in order.
//
// Budgets are keyed by normalised host and owned by the operator (RateBudgetRegistry's limits). A client
// may add its own *share* (DatabricksWorkspace.spec.rateLimits): a second window, keyed by the workspace,
// that every one of its calls must also pass. A share can only lower what that workspace sends; it never
// changes the host's budget, so one tenant cannot throttle another.
import type { Clock } from './clock.js';
import { DatabricksError } from './errors.js';
import type { AcquireOptions, Budget, BudgetMetricsSink, BudgetName } from './budget-types.js';
import type { BudgetHandover, WindowHandover } from './budget-handover.js';
import { BucketBudget, perSecondBucket, type BucketSpec } from './bucket-budget.js';
import { WindowBudget, windowSpec, type WindowSpec } from './window-budget.js';

export type { AcquireOptions, Budget, BudgetMetricsSink, BudgetName, BudgetStats } from './budget-types.js';
export { BucketBudget, fullBucket, perSecondBucket, refill, reserve, type BucketSpec, type BucketState } from './bucket-budget.js';
export { earliestSlot, MIN_THROTTLE_PAUSE_MS, recoveredLimit, shrunkLimit, WindowBudget, windowSpec, type WindowSpec } from './window-budget.js';

/**
 * Pass every budget of a call: one grant time that suits all of them (the latest of their earliest),
 * committed to each. Returns the time waited. A caller that would wait longer than `maxWaitMs` is refused
 * with RateLimited (`fromClientBudget`, `retryAfterMs`); if it named itself, its slot is kept for it.
 */
export async function acquireAll(budgets: readonly Budget[], clock: Clock, options: AcquireOptions = {}): Promise<number> {
  options.signal?.throwIfAborted();
  const { holder, tenant } = options;
  const now = clock.now();
  const windows = budgets.filter((b): b is WindowBudget => b instanceof WindowBudget);
  if (holder !== undefined) {
    // Windows that disagree about this holder's slot (a share added since, one pruned): place it again
    // in all of them, so the call goes out at a slot every window counted.
    const slots = windows.map((b) => b.earliestGrant(now, holder, tenant));
    if (slots.some((s) => s !== slots[0])) for (const b of windows) b.release(holder);
  }
  const { earliest, at } = grantTime(budgets, now, holder, tenant);
  const waitMs = at - now;
  if (options.maxWaitMs !== undefined && waitMs > 0 && tenant !== undefined) {
    // A namespace that already waits for its share of a read line asks again later: it cannot fill the line, up to the
    // longest wait, ahead of every other namespace's reads.
    for (const b of budgets) {
      const until = b.tenantShareFullUntil?.(now, tenant);
      if (until === undefined) continue;
      b.rejected(until - now);
      throw rateLimited(b.budget, b.host, until - now, false, false);
    }
  }
  if (options.maxWaitMs !== undefined && waitMs > options.maxWaitMs) {
    // Reserve the slot in the workspace's own share, but in the host's window only when the host is what
    // binds: a future slot there would hold back every other workspace until then.
    if (holder !== undefined) windows.forEach((b) => (!b.shared || earliest[budgets.indexOf(b)] === at) && b.commit(at, now, holder, { tenant, requeued: true }));
    budgets.forEach((b, i) => {
      if (earliest[i] === at) b.rejected(waitMs);
    });
    const limiting = budgets[earliest.indexOf(at)] ?? budgets[0];
    const paused = limiting?.heldByDatabricks(now, at) ?? false;
    throw rateLimited(limiting?.budget ?? 'mutation', limiting?.host ?? '', waitMs, holder !== undefined, paused);
  }
  for (const b of budgets) b.commit(at, now, holder, { tenant });
  if (waitMs > 0) {
    for (const b of budgets) b.setSleeping(+1);
    try {
      // A cancelled waiter keeps its grant spent: the schedule of those behind it stays valid.
      await clock.sleep(waitMs, options.signal);
    } finally {
      for (const b of budgets) b.setSleeping(-1);
    }
    // The slot this caller holds is due now: claim it.
    if (holder !== undefined) for (const b of windows) b.commit(clock.now(), clock.now(), holder);
  }
  return waitMs;
}

/**
 * The time a call can go out at in every budget, and each budget's earliest. A turn in a host's line (turns.ts) is a
 * slot another caller held: it is taken only where the call goes out then. A window whose turn for this caller is
 * earlier than another budget allows counts the call at its own next free slot instead, and the time is agreed again.
 */
function grantTime(budgets: readonly Budget[], now: number, holder: string | undefined, tenant: string | undefined): { earliest: number[]; at: number } {
  const earliest = budgets.map((b) => b.earliestGrant(now, holder, tenant));
  let at = Math.max(now, ...earliest);
  for (let changed = tenant !== undefined; changed; ) {
    changed = false;
    budgets.forEach((b, i) => {
      if ((earliest[i] as number) >= at) return;
      const next = b.earliestGrant(now, holder);
      if (next === earliest[i]) return;
      earliest[i] = next;
      at = Math.max(at, next);
      changed = true;
    });
  }
  return { earliest, at };
}

function rateLimited(budget: BudgetName, host: string, waitMs: number, reserved: boolean, pausedByDatabricks: boolean): DatabricksError {
  const next = `${reserved ? 'slot reserved' : 'next slot'} in ${Math.ceil(waitMs / 1000)}s`;
  return new DatabricksError({
    kind: 'RateLimited',
    message: pausedByDatabricks
      ? `Databricks answered 429 on ${host}: its ${budget} calls wait out the pause it asked for (Retry-After) and the smaller window that follows it, which recovers over the next minutes: ${next} (nothing sent meanwhile)`
      : `${budget} budget of ${host} is spent: ${next} (client-side limit, nothing sent)`,
    retryAfterMs: waitMs,
    fromClientBudget: true,
    clientBudget: { budget, pausedByDatabricks },
  });
}

// -----------------------------------------------------------------------------------------------
// Limits and the registry

/** Limits of a host (operator configuration) or of one workspace's share (DatabricksWorkspace.spec.rateLimits). */
export interface RateLimits {
  /** create/update calls per window; default 50 */
  mutationsPerWindow?: number;
  /** DatabricksWorkspace.spec.rateLimits spelling: create/update calls per 5 minutes */
  mutationsPer5Minutes?: number;
  /** default 5 minutes */
  mutationWindowMs?: number;
  /** reads per second; default 15 (the Go SDK's default) */
  readsPerSecond?: number;
  /** reads that may go out at once after a quiet spell (the host's only; a share bursts its own rate); default 50 */
  readBurst?: number;
}

export const DEFAULT_RATE_LIMITS = {
  mutationsPerWindow: 50,
  mutationWindowMs: 5 * 60 * 1000,
  readsPerSecond: 15,
  readBurst: 50,
} as const;

export interface ResolvedLimits {
  mutation: WindowSpec;
  read: BucketSpec;
}

export function resolveLimits(limits: RateLimits = {}): ResolvedLimits {
  const mutations = limits.mutationsPerWindow ?? limits.mutationsPer5Minutes ?? DEFAULT_RATE_LIMITS.mutationsPerWindow;
  const windowMs = limits.mutationWindowMs ?? DEFAULT_RATE_LIMITS.mutationWindowMs;
  return {
    mutation: windowSpec(mutations, windowMs),
    read: perSecondBucket(limits.readsPerSecond ?? DEFAULT_RATE_LIMITS.readsPerSecond, limits.readBurst ?? DEFAULT_RATE_LIMITS.readBurst),
  };
}

export interface WorkspaceBudgets {
  mutation: Budget[];
  read: Budget[];
}

/** A workspace's own share of its host's budget: only ever lower. */
export interface BudgetShare {
  /** e.g. "namespace/name" of the DatabricksWorkspace */
  key: string;
  limits: RateLimits;
}

/**
 * One pair of budgets per normalised host, with the limits the operator was configured with, shared by
 * every client of that host in the process; plus the shares workspaces asked for.
 */
export class RateBudgetRegistry {
  private readonly byHost = new Map<string, { mutation: WindowBudget; read: BucketBudget }>();
  private readonly shares = new Map<string, { mutation: WindowBudget; read: BucketBudget; limits: string }>();
  private sink: BudgetMetricsSink | undefined;
  private readonly hostLimits: ResolvedLimits;
  // Budgets report through this indirection, so a sink set later (setMetrics) reaches old budgets too.
  private readonly relay: BudgetMetricsSink = {
    budgetWait: (event) => {
      this.sink?.budgetWait?.(event);
      if (event.budget === 'mutation') for (const listener of this.countedListeners) listener();
    },
    budgetRejected: (event) => this.sink?.budgetRejected?.(event),
    budgetQueueLength: (event) => this.sink?.budgetQueueLength?.(event),
    budgetThrottled: (event) => this.sink?.budgetThrottled?.(event),
    budgetReleased: (event) => this.sink?.budgetReleased?.(event),
  };
  /**
   * Clients using each host's budgets and each share (key as in byHost and shares). Tenants choose hosts and change
   * them: budgets no client uses are dropped once idle, so they and their metric series do not grow without bound.
   */
  private readonly users = new Map<string, number>();
  /** keys whose last client was released (when), dropped once their budgets are idle and RELEASE_GRACE_MS passed */
  private readonly unused = new Map<string, number>();
  /** told whenever a create/update window counts a call: what handover() says has changed */
  private readonly countedListeners = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    metrics?: BudgetMetricsSink,
    /** every host's budget: the operator's configuration, the documented Databricks limit by default */
    hostLimits: RateLimits = {},
  ) {
    this.sink = metrics;
    this.hostLimits = resolveLimits(hostLimits);
  }

  get limits(): ResolvedLimits {
    return this.hostLimits;
  }

  setMetrics(metrics: BudgetMetricsSink | undefined): void {
    this.sink = metrics;
  }

  /** `host` must already be normalised (see normaliseHost). Each call counts one client until release(). */
  forHost(host: string, share?: BudgetShare): WorkspaceBudgets {
    this.sweep();
    this.use(host);
    if (share) this.use(shareKey(host, share.key));
    let budgets = this.byHost.get(host);
    if (!budgets) {
      budgets = {
        mutation: new WindowBudget(host, this.hostLimits.mutation, this.clock, this.relay),
        read: new BucketBudget(host, this.hostLimits.read, this.clock, this.relay),
      };
      this.byHost.set(host, budgets);
    }
    const own = share ? this.shareFor(host, share) : undefined;
    return {
      mutation: own?.mutation ? [own.mutation, budgets.mutation] : [budgets.mutation],
      read: own?.read ? [own.read, budgets.read] : [budgets.read],
    };
  }

  /** A client of forHost(host, share) no longer calls: the budgets are dropped when no client uses them and idle. */
  release(host: string, shareName?: string): void {
    this.unuse(host);
    if (shareName !== undefined) this.unuse(shareKey(host, shareName));
    this.sweep();
  }

  hosts(): string[] {
    return [...this.byHost.keys()];
  }

  /** The limit each host's budgets apply now (for a gauge). */
  currentLimits(): { host: string; budget: BudgetName; limit: number }[] {
    this.sweep();
    return [...this.byHost.entries()].flatMap(([host, b]) => [
      { host, budget: 'mutation' as const, limit: b.mutation.stats.limit },
      { host, budget: 'read' as const, limit: b.read.stats.limit },
    ]);
  }

  /** Calls `listener` whenever a create/update window counts a call (so handover() changed); returns the unsubscribe. */
  onMutationCounted(listener: () => void): () => void {
    this.countedListeners.add(listener);
    return () => void this.countedListeners.delete(listener);
  }

  /** What a successor must know of every create/update window, hosts' and shares' (budget-handover.ts). */
  handover(): BudgetHandover {
    const now = this.clock.now();
    const windows: Record<string, WindowHandover> = {};
    for (const [key, budgets] of [...this.byHost, ...this.shares]) {
      const window = budgets.mutation.handover(now);
      if (window) windows[key] = window;
    }
    return { at: now, windows };
  }

  /**
   * Counts what a predecessor sent, before this process sends anything. The windows are made now, a share's with the
   * host's limits until a workspace asks for it with its own (shareFor reconfigures it), and dropped when idle as
   * released ones are, unless a client uses them by then.
   */
  seed(handover: BudgetHandover): void {
    const now = this.clock.now();
    for (const [key, window] of Object.entries(handover.windows)) {
      const at = key.indexOf(SHARE_SEPARATOR);
      const host = at < 0 ? key : key.slice(0, at);
      const budgets = at < 0 ? this.byHost : this.shares;
      if (!budgets.has(key)) {
        // (`limits`: the fingerprint shareFor compares, here the host's own; a host's entry ignores it)
        const made = {
          mutation: new WindowBudget(host, this.hostLimits.mutation, this.clock, this.relay, at < 0),
          read: new BucketBudget(host, this.hostLimits.read, this.clock, this.relay),
          limits: JSON.stringify(this.hostLimits),
        };
        budgets.set(key, made);
        if (!this.users.has(key)) this.unused.set(key, now);
      }
      budgets.get(key)?.mutation.seed(window, now);
    }
  }

  /** The share's own budgets, only where they are stricter than the host's (otherwise they add nothing). */
  private shareFor(host: string, share: BudgetShare): { mutation?: WindowBudget; read?: BucketBudget } {
    const hostLimits = this.hostLimits;
    const mutations = share.limits.mutationsPerWindow ?? share.limits.mutationsPer5Minutes;
    const windowMs = share.limits.mutationWindowMs ?? hostLimits.mutation.windowMs;
    const mutation = mutations !== undefined ? windowSpec(mutations, windowMs) : undefined;
    const read = share.limits.readsPerSecond !== undefined ? perSecondBucket(share.limits.readsPerSecond) : undefined;
    const lowerMutation = mutation !== undefined && (mutation.limit < hostLimits.mutation.limit || mutation.windowMs > hostLimits.mutation.windowMs);
    const lowerRead = read !== undefined && read.refillIntervalMs > hostLimits.read.refillIntervalMs;
    const key = shareKey(host, share.key);
    const wanted = { mutation: mutation ?? hostLimits.mutation, read: read ?? hostLimits.read };
    const fingerprint = JSON.stringify(wanted);
    let existing = this.shares.get(key);
    if (!existing) {
      existing = {
        mutation: new WindowBudget(host, wanted.mutation, this.clock, this.relay, false),
        read: new BucketBudget(host, wanted.read, this.clock, this.relay),
        limits: fingerprint,
      };
      this.shares.set(key, existing);
    } else if (existing.limits !== fingerprint) {
      existing.mutation.reconfigure(wanted.mutation);
      existing.read.reconfigure(wanted.read);
      existing.limits = fingerprint;
    }
    return { ...(lowerMutation ? { mutation: existing.mutation } : {}), ...(lowerRead ? { read: existing.read } : {}) };
  }

  private use(key: string): void {
    this.users.set(key, (this.users.get(key) ?? 0) + 1);
    this.unused.delete(key);
  }

  private unuse(key: string): void {
    const left = (this.users.get(key) ?? 0) - 1;
    if (left > 0) return void this.users.set(key, left);
    this.users.delete(key);
    this.unused.set(key, this.clock.now());
  }

  /**
   * Drops the budgets no client uses once they are idle: a fresh one would then behave the same, so a tenant
   * cannot reset a host's window (or its pause after a 429) by leaving a host and coming back.
   */
  private sweep(): void {
    if (this.unused.size === 0) return;
    const now = this.clock.now();
    for (const [key, releasedAt] of this.unused) {
      // A released client may still be in a call (a reconcile gone to the background): until the grace has passed,
      // a new client of the host must share its budgets, not get fresh ones beside them.
      if (now - releasedAt < RELEASE_GRACE_MS) continue;
      const budgets = this.byHost.get(key) ?? this.shares.get(key);
      if (budgets && !(budgets.mutation.idleAt(now) && budgets.read.idleAt(now))) continue;
      this.unused.delete(key);
      if (this.byHost.delete(key)) this.relay.budgetReleased?.({ host: key });
      else this.shares.delete(key);
    }
  }
}

const SHARE_SEPARATOR = '#';
const shareKey = (host: string, name: string): string => `${host}${SHARE_SEPARATOR}${name}`;

/** How long a host's budgets outlive their last client: longer than any call a released client may still make. */
export const RELEASE_GRACE_MS = 5 * 60_000;
