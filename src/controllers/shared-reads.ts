// Reads that many reconciles need at once, made once: optimization info of a model, the endpoint list of a
// workspace, whether one of our CRDs is being deleted. Concurrent callers of one key share the read in flight; an answer is kept as long as the
// caller says (a failed read is not kept, so the next caller tries again). A caller that must see what happened
// since a moment (its own create) says so (`notBefore`): it shares only a read started after it. Reads that cost
// in proportion to their answer (a list of thousands) can be spaced: such a caller then waits for the next read
// (`waitMs`) rather than starting one of its own. Answers a host chooses the size of (a tenant's own) can be
// bounded together (`KeptBound`): past it the heaviest of the group holding the most go first (one tenant's
// answers before another's), and an answer past its keep time is let go.

/** What the answers kept together may weigh, and how much each does (a list: its endpoints). */
export interface KeptBound<T> {
  weight: (value: T) => number;
  max: number;
  /** whose answer a key is (a tenant): past the bound the group that holds the most gives first; one group when not given */
  group?: (key: string) => string;
}

export interface SharedReadsOptions<T> {
  /** how far apart reads of one key start, by the last answer (waitMs); 0 when not given */
  spacingMs?: (value: T) => number;
  kept?: KeptBound<T>;
}

interface Entry<T> {
  /** the answer while it may be reused; undefined once let go (its read's start and spacing stay for waitMs) */
  kept: { value: T; weight: number } | undefined;
  startedAt: number;
  expiresAt: number;
  spacingMs: number;
}

export class SharedReads<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly loading = new Map<string, { value: Promise<T>; startedAt: number }>();

  constructor(
    private readonly now: () => number,
    private readonly options: SharedReadsOptions<T> = {},
  ) {}

  /**
   * `keepMs`: how long `value` may be reused; undefined or 0 keeps it for nobody but the callers already waiting.
   * `notBefore`: only a read started after this time will do (a read started in the same millisecond may not
   * have seen what happened then).
   */
  async get(key: string, load: () => Promise<T>, keepMs: (value: T) => number | undefined, notBefore = Number.NEGATIVE_INFINITY): Promise<T> {
    const at = this.now();
    const cached = this.entries.get(key);
    if (cached?.kept && cached.expiresAt > at && cached.startedAt > notBefore) return cached.kept.value;
    const inFlight = this.loading.get(key);
    if (inFlight && inFlight.startedAt > notBefore) return inFlight.value;
    const loaded = load();
    const loading = { value: loaded, startedAt: at };
    this.loading.set(key, loading);
    let value: T;
    try {
      value = await loaded;
    } finally {
      // a newer read for a caller that needed one may have replaced this one meanwhile
      if (this.loading.get(key) === loading) this.loading.delete(key);
    }
    const keep = keepMs(value);
    const newest = this.entries.get(key);
    if (newest && newest.startedAt > at) return value;
    if (keep !== undefined && keep > 0) {
      const weight = this.options.kept?.weight(value) ?? 0;
      this.entries.set(key, { kept: { value, weight }, startedAt: at, expiresAt: at + keep, spacingMs: this.options.spacingMs?.(value) ?? 0 });
      this.letGo();
    } else this.entries.delete(key);
    return value;
  }

  /**
   * How long a caller that needs a read started after `notBefore` should wait before asking, so that reads of
   * `key` start at least `spacingMs(last answer)` apart: 0 when a read it may share is kept or in flight, or when the
   * spacing since the last read started has passed. Callers that wait come back together and share one read.
   */
  waitMs(key: string, notBefore: number): number {
    const at = this.now();
    const cached = this.entries.get(key);
    const inFlight = this.loading.get(key);
    if ((cached?.kept && cached.expiresAt > at && cached.startedAt > notBefore) || (inFlight && inFlight.startedAt > notBefore)) return 0;
    if (!cached) return 0;
    const lastStartedAt = Math.max(cached.startedAt, inFlight?.startedAt ?? Number.NEGATIVE_INFINITY);
    return Math.max(0, lastStartedAt + cached.spacingMs - at);
  }

  /**
   * Lets go of answers past their keep time (an entry whose spacing passed too goes whole: a workspace deleted
   * leaves nothing), then, while the kept answers weigh more than the bound, of the heaviest (the oldest of equals)
   * of the group that holds the most: one tenant's many answers give way before another's one.
   */
  private letGo(): void {
    const at = this.now();
    let total = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= at) entry.kept = undefined;
      if (!entry.kept && entry.startedAt + entry.spacingMs <= at) this.entries.delete(key);
      total += entry.kept?.weight ?? 0;
    }
    const bound = this.options.kept;
    if (!bound || total <= bound.max) return;
    const groupOf = bound.group ?? (() => '');
    const held = new Map<string, number>();
    for (const [key, entry] of this.entries) if (entry.kept) held.set(groupOf(key), (held.get(groupOf(key)) ?? 0) + entry.kept.weight);
    while (total > bound.max) {
      let heaviest: { entry: Entry<T>; group: string; groupHolds: number; weight: number } | undefined;
      for (const [key, entry] of this.entries) {
        if (!entry.kept) continue;
        const group = groupOf(key);
        const groupHolds = held.get(group) ?? 0;
        const weight = entry.kept.weight;
        const before =
          !heaviest ||
          groupHolds > heaviest.groupHolds ||
          (groupHolds === heaviest.groupHolds && (weight > heaviest.weight || (weight === heaviest.weight && entry.startedAt < heaviest.entry.startedAt)));
        if (before) heaviest = { entry, group, groupHolds, weight };
      }
      if (!heaviest) return;
      total -= heaviest.weight;
      held.set(heaviest.group, heaviest.groupHolds - heaviest.weight);
      heaviest.entry.kept = undefined;
    }
  }
}
