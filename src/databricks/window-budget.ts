// The budget of create/update calls: a sliding window of N grants per W with reservations, which a 429 from
// Databricks pauses (Retry-After, never less than a floor) and shrinks to half (at most once per window), growing
// back by one every W / N (rate-budget.ts has the whole picture). In the host's window, namespaces take turns
// (turns.ts).
import type { WindowHandover } from './budget-handover.js';
import type { Budget, BudgetMetricsSink, BudgetStats, Placement } from './budget-types.js';
import type { Clock } from './clock.js';
import { TurnLine } from './turns.js';

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

/** Where `value` goes in ascending `sorted` (after any equal to it). */
function sortedIndex(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as number) <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A Retry-After is honoured, but never as less than this: "Retry-After: 0" must not become a busy loop. */
export const MIN_THROTTLE_PAUSE_MS = 1_000;

/** Sliding window of create/update grants, with reservations and adaptive shrinking on 429. */
export class WindowBudget implements Budget {
  readonly budget = 'mutation' as const;
  /** granted or reserved, ascending; pruned once out of the window */
  private slots: number[] = [];
  private readonly reservations = new Map<string, number>();
  /** the reservations of callers requeued for their slot, in slot order: the line namespaces take turns in */
  private readonly turns = new TurnLine();
  /** reservations of callers sleeping in process for them: they call at that slot, whatever happens meanwhile */
  private readonly asleep = new Set<string>();
  private pausedUntil = Number.NEGATIVE_INFINITY;
  /** the namespaces whose calls the window counts, each with its latest slot: the handover record is shared among them */
  private readonly senders = new Map<string, number>();

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

  earliestGrant(now: number, holder: string | undefined, tenant?: string): number {
    this.prune(now);
    const reserved = holder === undefined ? undefined : this.reservations.get(holder);
    if (reserved !== undefined) return Math.max(now, reserved);
    // Only a caller that names itself can take a turn: its slot must be kept for it.
    return (holder !== undefined ? this.turnOf(now, tenant)?.slot : undefined) ?? this.nextSlot(now);
  }

  commit(at: number, now: number, reservedFor: string | undefined, placement: Placement = {}): void {
    if (placement.tenant !== undefined) this.senders.set(placement.tenant, Math.max(at, this.senders.get(placement.tenant) ?? at));
    const reserved = reservedFor === undefined ? undefined : this.reservations.get(reservedFor);
    if (reservedFor !== undefined && reserved !== undefined) {
      // Coming back for its own slot: the slot is already counted, where it is unless the caller is late for it.
      if (at <= now) {
        this.forgetReservation(reservedFor);
        if (now - reserved > this.spec.marginMs) this.countLateCall(reserved, now);
        this.grant(0);
      }
      return;
    }
    const turn = reservedFor === undefined ? undefined : this.turnOf(now, placement.tenant);
    if (turn !== undefined && turn.slot === at && reservedFor !== undefined) return this.takeTurn(turn.index, at, now, reservedFor, placement);
    this.slots.push(at);
    if (at > now && reservedFor !== undefined) {
      this.reservations.set(reservedFor, at);
      if (!placement.requeued) this.asleep.add(reservedFor);
      else if (placement.tenant !== undefined && this.shared) this.turns.push({ holder: reservedFor, tenant: placement.tenant });
      this.reportQueue();
    } else {
      this.grant(at - now);
    }
  }

  reservedSlot(holder: string): number | undefined {
    return this.reservations.get(holder);
  }

  release(holder: string): void {
    const slot = this.reservations.get(holder);
    if (slot === undefined) return;
    this.forgetReservation(holder);
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
    this.replaceReservations(now);
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

  /**
   * What a successor must know (budget-handover.ts): the calls sent in the window (slots due by now; a slot reserved
   * for later belongs to a caller of this process, and the successor's callers reserve their own), a pause, a shrink.
   */
  handover(now: number): WindowHandover | undefined {
    this.prune(now);
    const sent = this.slots.filter((slot) => slot <= now);
    const paused = this.pausedUntil > now;
    const shrunk = this.limitAt(now) < this.spec.limit;
    if (sent.length === 0 && !paused && !shrunk) return undefined;
    const tenants = [...this.senders.keys()].sort();
    return {
      sent,
      ...(paused && { pausedUntil: this.pausedUntil }),
      ...(shrunk && this.shrink && { shrink: { ...this.shrink } }),
      ...(tenants.length > 0 && { tenants }),
    };
  }

  /** Counts what a predecessor sent (and the pause or shrink it met) as if this window had seen it. */
  seed(handover: WindowHandover, now: number): void {
    this.slots = [...this.slots, ...handover.sent].sort((x, y) => x - y);
    if (handover.pausedUntil !== undefined) this.pausedUntil = Math.max(this.pausedUntil, handover.pausedUntil);
    if (handover.shrink && (!this.shrink || handover.shrink.limit < this.limitAt(now))) this.shrink = { ...handover.shrink };
    const latest = handover.sent.at(-1) ?? now;
    for (const tenant of handover.tenants ?? []) this.senders.set(tenant, Math.max(latest, this.senders.get(tenant) ?? latest));
    this.prune(now);
  }

  /** callers sleeping for a grant plus reservations held by requeued callers */
  get queueLength(): number {
    return this.sleeping + this.reservations.size;
  }

  get stats(): BudgetStats {
    return { ...this.counters, queueLength: this.queueLength, limit: this.limitAt(this.clock.now()) };
  }

  /**
   * After a 429, the slots reserved for callers requeued for them are no longer theirs to take: placed again in the
   * same order after the pause, under the limit in force, as new arrivals would be. A requeued caller therefore sends
   * nothing into the Retry-After Databricks asked for. (A caller sleeping in process, at most a few seconds, calls
   * at its slot anyway: its slot stays counted where it is.)
   */
  private replaceReservations(now: number): void {
    this.placeAgain([...this.reservations].filter(([holder]) => !this.asleep.has(holder)), now, false);
  }

  /**
   * A requeued caller called later than its slot by more than the margin (its queue was busy, a read before the call
   * waited): Databricks counts the call when it went out, so the window does too, and the slots reserved after it for
   * requeued callers move later where the window now needs it (never earlier: their callers come back when told).
   */
  private countLateCall(slot: number, now: number): void {
    const index = this.slots.lastIndexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    this.slots.splice(sortedIndex(this.slots, now), 0, now);
    this.placeAgain([...this.reservations].filter(([holder, at]) => at > now && !this.asleep.has(holder)), now, true);
  }

  /**
   * Places reservations of requeued callers again, in slot order (line order among equal slots: the turns keep their
   * order), each at the earliest slot the window allows after those before it; with `neverEarlier`, not before its own.
   */
  private placeAgain(reserved: [string, number][], now: number, neverEarlier: boolean): void {
    if (reserved.length === 0) return;
    for (const [, slot] of reserved) {
      const index = this.slots.lastIndexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
    }
    const inLine = new Map(this.turns.from(0).map((holder, i) => [holder, i]));
    reserved.sort((x, y) => x[1] - y[1] || (inLine.get(x[0]) ?? -1) - (inLine.get(y[0]) ?? -1));
    for (const [holder, old] of reserved) {
      const at = neverEarlier ? Math.max(old, this.nextSlot(now)) : this.nextSlot(now);
      this.slots.push(at);
      this.reservations.set(holder, at);
    }
  }

  /** The earliest slot at the end of the window: after every slot granted or reserved, and after a pause. */
  private nextSlot(now: number): number {
    return Math.max(this.pausedUntil, earliestSlot(this.slots, now, this.limitAt(now), this.spec.windowMs + this.spec.marginMs));
  }

  /** The turn a new caller of `tenant` takes in the host's line, when that is before the end of the window. */
  private turnOf(now: number, tenant: string | undefined): { index: number; slot: number } | undefined {
    if (!this.shared || tenant === undefined || this.turns.length === 0) return undefined;
    const index = this.turns.place(tenant, (holder) => (this.reservations.get(holder) ?? now) <= now);
    if (index === undefined) return undefined;
    const slot = this.reservations.get(this.turns.holderAt(index)) as number;
    // a pause after a 429 holds every slot before its end: a turn there is no earlier than the end
    return slot >= this.pausedUntil ? { index, slot } : undefined;
  }

  /**
   * `holder` takes the turn at `index` (slot `at`): that turn and every later one move one slot on, the last to a new
   * slot at the end. The slots counted stay the same plus that one, so no window holds more than the limit.
   */
  private takeTurn(index: number, at: number, now: number, holder: string, placement: Placement): void {
    const end = this.nextSlot(now);
    const later = this.turns.from(index);
    for (let i = 0; i < later.length; i++) {
      const next = later[i + 1];
      this.reservations.set(later[i] as string, next === undefined ? end : (this.reservations.get(next) as number));
    }
    this.slots.push(end);
    this.reservations.set(holder, at);
    // A caller sleeping for its slot is not in the line: nobody can take its turn.
    if (!placement.requeued) this.asleep.add(holder);
    else if (placement.tenant !== undefined) this.turns.insert(index, { holder, tenant: placement.tenant });
    this.reportQueue();
  }

  private forgetReservation(holder: string): void {
    this.reservations.delete(holder);
    this.turns.remove(holder);
    this.asleep.delete(holder);
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
    for (const [holder, slot] of this.reservations) if (slot < horizon) this.forgetReservation(holder);
    for (const [tenant, last] of this.senders) if (last < horizon) this.senders.delete(tenant);
  }
}
