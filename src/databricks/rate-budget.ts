// Client-side rate budgets.
//
// Databricks documents one limit for the serving API: 50 create/update calls per workspace in 5 minutes
// (reference §7). The mutation budget is therefore a sliding window of N grants per W (N = 50, W = 5 min by
// default, from the operator's configuration): a burst of 50 goes out at once, as Databricks allows, and
// the 51st waits until the first leaves the window. Reads are not covered by that limit; they share a plain
// requests-per-second bucket: the Go SDK's 15/s on average, with a burst as large as the mutation window's (50),
// so that the confirming reads of 50 rollouts that end together go out together. Deletes and tag patches are
// covered by no documented limit and pass no budget at all (client.ts).
//
// The window hands out *reservations*: a caller that must wait is given a slot and told when it is; a
// caller that names itself (`holder`) finds its slot kept when it comes back, so an object requeued for
// its slot makes no call before then and is not overtaken by later arrivals.
//
// A 429 from Databricks means somebody else shares the workspace's limit (another tool, another
// operator): the window stops until Retry-After (never less than a floor), and its limit halves (at most once
// per window), then grows back by one every W / N.
//
// Budgets are keyed by normalised host and owned by the operator (RateBudgetRegistry's limits). A client
// may add its own *share* (DatabricksWorkspace.spec.rateLimits): a second window, keyed by the workspace,
// that every one of its calls must also pass. A share can only lower what that workspace sends; it never
// changes the host's budget, so one tenant cannot throttle another.
import type { Clock } from './clock.js';
import { DatabricksError } from './errors.js';

// -----------------------------------------------------------------------------------------------
// Pure window arithmetic

export interface WindowSpec {
  /** grants allowed in any window */
  limit: number;
  windowMs: number;
  /** added to the window: absorbs latency differences between our grant and the server's clock */
  marginMs: number;
}

export function windowSpec(limit: number, windowMs: number, marginMs = Math.min(2_000, windowMs / 100)): WindowSpec {
  if (!(limit >= 1) || !(windowMs > 0)) throw new RangeError(`invalid rate limit ${limit} per ${windowMs} ms`);
  return { limit: Math.floor(limit), windowMs, marginMs };
}

/**
 * The earliest slot at or after `now` for a new grant, given the slots already granted or reserved
 * (sorted ascending) and the limit in force. Slots are handed out in order, so the new one is never
 * before the last; and it is at least a window after the slot `limit` places back, so no window of
 * W + margin ever holds more than `limit` of them.
 */
export function earliestSlot(slots: readonly number[], now: number, limit: number, spanMs: number): number {
  const last = slots.length > 0 ? (slots[slots.length - 1] as number) : Number.NEGATIVE_INFINITY;
  const bound = slots.length >= limit ? (slots[slots.length - limit] as number) + spanMs : Number.NEGATIVE_INFINITY;
  return Math.max(now, last, bound);
}

/** The limit after a 429: half the limit in force (at least 1). */
export function shrunkLimit(current: number): number {
  return Math.max(1, Math.floor(current / 2));
}

/** The limit `sinceMs` after a shrink: one more every W / N, back to the configured limit. */
export function recoveredLimit(shrunk: number, configured: number, sinceMs: number, windowMs: number): number {
  const step = windowMs / configured;
  return Math.min(configured, shrunk + Math.floor(Math.max(0, sinceMs) / step));
}

/** A Retry-After is honoured, but never as less than this: "Retry-After: 0" must not become a busy loop. */
export const MIN_THROTTLE_PAUSE_MS = 1_000;

// -----------------------------------------------------------------------------------------------
// Token bucket (reads)

export interface BucketSpec {
  /** tokens the bucket can hold: the largest burst */
  capacity: number;
  /** one token refills every interval */
  refillIntervalMs: number;
}

export interface BucketState {
  /** may be negative: tokens already promised to waiting callers */
  tokens: number;
  updatedAt: number;
}

export function fullBucket(spec: BucketSpec, now: number): BucketState {
  return { tokens: spec.capacity, updatedAt: now };
}

/** Continuous refill up to capacity. */
export function refill(state: BucketState, now: number, spec: BucketSpec): BucketState {
  const elapsed = Math.max(0, now - state.updatedAt);
  const tokens = Math.min(spec.capacity, state.tokens + elapsed / spec.refillIntervalMs);
  return { tokens, updatedAt: Math.max(now, state.updatedAt) };
}

/** How long a caller arriving now waits, and the state after it took its token. */
export function reserve(state: BucketState, now: number, spec: BucketSpec): { waitMs: number; next: BucketState } {
  const current = refill(state, now, spec);
  const tokens = current.tokens - 1;
  const waitMs = tokens >= 0 ? 0 : Math.ceil(-tokens * spec.refillIntervalMs);
  return { waitMs, next: { tokens, updatedAt: current.updatedAt } };
}

/** A plain requests-per-second bucket: bursts of up to `burst`, and never less than one second's worth. */
/** A bucket's rate per second, as configured: 1000 / (1000 / 15) is 14.999999999999998, and a gauge shows it. */
const bucketRate = (spec: BucketSpec): number => Math.round((1000 / spec.refillIntervalMs) * 1e6) / 1e6;

export function perSecondBucket(ratePerSecond: number, burst = 0): BucketSpec {
  if (!(ratePerSecond > 0)) throw new RangeError(`invalid rate ${ratePerSecond}/s`);
  return { capacity: Math.max(1, Math.floor(ratePerSecond), Math.floor(burst)), refillIntervalMs: 1000 / ratePerSecond };
}

// -----------------------------------------------------------------------------------------------
// Budgets

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
}

/** What every budget can say and do; a call passes all of its budgets (host, and the workspace's share). */
export interface Budget {
  readonly host: string;
  readonly budget: BudgetName;
  /** earliest time a grant could be made for `holder` (its own reservation if it has one) */
  earliestGrant(now: number, holder: string | undefined): number;
  /** Whether a grant at `at` waits because of Databricks' 429s (a Retry-After pause, or a window it halved). */
  heldByDatabricks(now: number, at: number): boolean;
  /** commit a grant at `at` (>= earliestGrant); `holder` set = a reservation kept for that caller */
  commit(at: number, now: number, reservedFor: string | undefined): void;
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

/** Sliding window of create/update grants, with reservations and adaptive shrinking on 429. */
export class WindowBudget implements Budget {
  readonly budget = 'mutation' as const;
  /** granted or reserved, ascending; pruned once out of the window */
  private slots: number[] = [];
  private readonly reservations = new Map<string, number>();
  private pausedUntil = Number.NEGATIVE_INFINITY;

  heldByDatabricks(now: number, at: number): boolean {
    return this.pausedUntil >= at || this.limitAt(now) < this.spec.limit;
  }
  private shrink: { limit: number; at: number } | undefined;
  private counters = { grants: 0, totalWaitMs: 0, throttled: 0 };
  private sleeping = 0;

  constructor(
    readonly host: string,
    private spec: WindowSpec,
    private readonly clock: Clock,
    private readonly metrics?: BudgetMetricsSink,
    /** the host's window, shared by every workspace on it (a share's window is private to one workspace) */
    readonly shared = true,
  ) {}

  get windowSpec(): WindowSpec {
    return this.spec;
  }

  reconfigure(spec: WindowSpec): void {
    this.spec = spec;
    this.shrink = undefined;
  }

  limitAt(now: number): number {
    if (!this.shrink) return this.spec.limit;
    const limit = recoveredLimit(this.shrink.limit, this.spec.limit, now - this.shrink.at, this.spec.windowMs);
    if (limit >= this.spec.limit) this.shrink = undefined;
    return limit;
  }

  earliestGrant(now: number, holder: string | undefined): number {
    this.prune(now);
    const reserved = holder === undefined ? undefined : this.reservations.get(holder);
    if (reserved !== undefined) return Math.max(now, reserved);
    return Math.max(this.pausedUntil, earliestSlot(this.slots, now, this.limitAt(now), this.spec.windowMs + this.spec.marginMs));
  }

  commit(at: number, now: number, reservedFor: string | undefined): void {
    if (reservedFor !== undefined && this.reservations.has(reservedFor)) {
      // Coming back for its own slot: the slot is already counted.
      if (at <= now) {
        this.reservations.delete(reservedFor);
        this.grant(0);
      }
      return;
    }
    this.slots.push(at);
    if (at > now && reservedFor !== undefined) {
      this.reservations.set(reservedFor, at);
      this.reportQueue();
    } else {
      this.grant(at - now);
    }
  }

  release(holder: string): void {
    const slot = this.reservations.get(holder);
    if (slot === undefined) return;
    this.reservations.delete(holder);
    const index = this.slots.lastIndexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    this.reportQueue();
  }

  throttled(retryAfterMs: number | undefined, now: number): void {
    this.prune(now);
    const pause = Math.max(retryAfterMs ?? 0, MIN_THROTTLE_PAUSE_MS);
    this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    // Halve at most once per window: a storm of 429s (each retry answered 429) is one signal, not ten.
    const current = this.limitAt(now);
    const shrunkRecently = this.shrink !== undefined && now - this.shrink.at < this.spec.windowMs;
    const limit = shrunkRecently ? current : shrunkLimit(current);
    if (!shrunkRecently) this.shrink = { limit, at: now + pause };
    this.counters.throttled += 1;
    this.metrics?.budgetThrottled?.({ host: this.host, budget: this.budget, retryAfterMs: pause, limit });
  }

  rejected(retryAfterMs: number): void {
    this.metrics?.budgetRejected?.({ host: this.host, budget: this.budget, retryAfterMs });
  }

  setSleeping(delta: number): void {
    this.sleeping += delta;
    this.reportQueue();
  }

  /** Nothing in the window, nobody waiting, no pause or shrink: a fresh budget would behave the same. */
  idleAt(now: number): boolean {
    this.prune(now);
    return this.slots.length === 0 && this.queueLength === 0 && this.pausedUntil <= now && this.limitAt(now) === this.spec.limit;
  }

  /** callers sleeping for a grant plus reservations held by requeued callers */
  get queueLength(): number {
    return this.sleeping + this.reservations.size;
  }

  get stats(): BudgetStats {
    return { ...this.counters, queueLength: this.queueLength, limit: this.limitAt(this.clock.now()) };
  }

  private grant(waitMs: number): void {
    this.counters.grants += 1;
    this.counters.totalWaitMs += Math.max(0, waitMs);
    this.metrics?.budgetWait?.({ host: this.host, budget: this.budget, waitMs: Math.max(0, waitMs), queueLength: this.queueLength });
  }

  private reportQueue(): void {
    this.metrics?.budgetQueueLength?.({ host: this.host, budget: this.budget, queueLength: this.queueLength });
  }

  /** Slots that left the window no longer constrain anything (nor do reservations never claimed). */
  private prune(now: number): void {
    const horizon = now - this.spec.windowMs - this.spec.marginMs;
    let drop = 0;
    while (drop < this.slots.length && (this.slots[drop] as number) < horizon) drop++;
    if (drop > 0) this.slots.splice(0, drop);
    for (const [holder, slot] of this.reservations) if (slot < horizon) this.reservations.delete(holder);
  }
}

/** Requests per second (reads): a token bucket with FIFO reservations. */
export class BucketBudget implements Budget {
  readonly budget = 'read' as const;
  private state: BucketState;
  private pausedUntil = Number.NEGATIVE_INFINITY;

  heldByDatabricks(_now: number, at: number): boolean {
    return this.pausedUntil >= at;
  }
  private counters = { grants: 0, totalWaitMs: 0, throttled: 0 };
  private waiting = 0;

  constructor(
    readonly host: string,
    private spec: BucketSpec,
    private readonly clock: Clock,
    private readonly metrics?: BudgetMetricsSink,
  ) {
    this.state = fullBucket(spec, clock.now());
  }

  get bucketSpec(): BucketSpec {
    return this.spec;
  }

  reconfigure(spec: BucketSpec): void {
    const now = this.clock.now();
    const current = refill(this.state, now, this.spec);
    this.spec = spec;
    this.state = { tokens: Math.min(current.tokens, spec.capacity), updatedAt: now };
  }

  earliestGrant(now: number): number {
    return Math.max(this.pausedUntil, now + reserve(this.state, now, this.spec).waitMs);
  }

  commit(at: number, now: number): void {
    // Taking the token now and sleeping until `at` keeps later callers behind this one.
    this.state = reserve(this.state, now, this.spec).next;
    this.counters.grants += 1;
    this.counters.totalWaitMs += Math.max(0, at - now);
    this.metrics?.budgetWait?.({ host: this.host, budget: this.budget, waitMs: Math.max(0, at - now), queueLength: this.waiting });
  }

  release(): void {}

  throttled(retryAfterMs: number | undefined, now: number): void {
    const pause = Math.max(retryAfterMs ?? 0, MIN_THROTTLE_PAUSE_MS);
    this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    this.counters.throttled += 1;
    this.metrics?.budgetThrottled?.({ host: this.host, budget: this.budget, retryAfterMs: pause, limit: bucketRate(this.spec) });
  }

  rejected(retryAfterMs: number): void {
    this.metrics?.budgetRejected?.({ host: this.host, budget: this.budget, retryAfterMs });
  }

  setSleeping(delta: number): void {
    this.waiting += delta;
    this.metrics?.budgetQueueLength?.({ host: this.host, budget: this.budget, queueLength: this.waiting });
  }

  get stats(): BudgetStats {
    return { ...this.counters, queueLength: this.waiting, limit: bucketRate(this.spec) };
  }

  /** Full, nobody waiting, no pause: a fresh budget would behave the same. */
  idleAt(now: number): boolean {
    return this.waiting === 0 && this.pausedUntil <= now && refill(this.state, now, this.spec).tokens >= this.spec.capacity;
  }
}

/**
 * Pass every budget of a call: one grant time that suits all of them (the latest of their earliest),
 * committed to each. Returns the time waited. A caller that would wait longer than `maxWaitMs` is refused
 * with RateLimited (`fromClientBudget`, `retryAfterMs`); if it named itself, its slot is kept for it.
 */
export async function acquireAll(budgets: readonly Budget[], clock: Clock, options: AcquireOptions = {}): Promise<number> {
  options.signal?.throwIfAborted();
  const { holder } = options;
  const now = clock.now();
  const windows = budgets.filter((b): b is WindowBudget => b instanceof WindowBudget);
  if (holder !== undefined) {
    // Windows that disagree about this holder's slot (a share added since, one pruned): place it again
    // in all of them, so the call goes out at a slot every window counted.
    const slots = windows.map((b) => b.earliestGrant(now, holder));
    if (slots.some((s) => s !== slots[0])) for (const b of windows) b.release(holder);
  }
  const earliest = budgets.map((b) => b.earliestGrant(now, holder));
  const at = Math.max(now, ...earliest);
  const waitMs = at - now;
  if (options.maxWaitMs !== undefined && waitMs > options.maxWaitMs) {
    // Reserve the slot in the workspace's own share, but in the host's window only when the host is what
    // binds: a future slot there would hold back every other workspace until then.
    if (holder !== undefined) windows.forEach((b) => (!b.shared || earliest[budgets.indexOf(b)] === at) && b.commit(at, now, holder));
    budgets.forEach((b, i) => {
      if (earliest[i] === at) b.rejected(waitMs);
    });
    const limiting = budgets[earliest.indexOf(at)] ?? budgets[0];
    const paused = limiting?.heldByDatabricks(now, at) ?? false;
    throw rateLimited(limiting?.budget ?? 'mutation', limiting?.host ?? '', waitMs, holder !== undefined, paused);
  }
  for (const b of budgets) b.commit(at, now, holder);
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
    budgetWait: (event) => this.sink?.budgetWait?.(event),
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

const shareKey = (host: string, name: string): string => `${host}#${name}`;

/** How long a host's budgets outlive their last client: longer than any call a released client may still make. */
export const RELEASE_GRACE_MS = 5 * 60_000;
