// The API server's clock, as far as its answers prove it. metadata.creationTimestamp is stamped by the API
// server's clock, so a decision about "the second an object was created" must be made on that clock, not on
// ours: the two may disagree by more than the margin such a decision allows.
//
// Every answer carries a Date header (whole seconds, the server's clock when it answered). An answer dated D
// that arrived here at local time r was made when the server's clock read at least D, and before r: so the
// server's clock is at least D - r ahead of ours (a negative bound: at most that far behind). It was also made
// after the request left at s, when the server's clock read less than D + 1 s: at most D + 1 s - s ahead. The
// best bounds of recent answers are kept; the lower one is tight (to a round trip) once an answer comes just after
// the server's second turned. A few seconds of traffic provide that; at start-up, when a few requests all fall in
// one second and the bound may understate the server's clock by most of a second, ClockProbe sends a handful of
// tiny GETs spread over one second instead (issue 12: new objects wait on this bound before their first read).

/** Bounds older than this are dropped, so a clock stepped back (NTP) is followed within twice this time. */
const SAMPLE_LIFETIME_MS = 5 * 60_000;

interface OffsetBounds {
  /** the server's clock is at least this far ahead of ours (ms; negative: behind) */
  lower: number;
  /** ...and less than this far */
  upper: number;
}

export class ApiserverClock {
  /** best bounds (server − local, ms) of the current and the previous period, and when the current began */
  private current: OffsetBounds | undefined;
  private previous: OffsetBounds | undefined;
  private periodStart: number;

  /** `monotonic`: local milliseconds that never jump (performance.now by default). */
  constructor(private readonly monotonic: () => number = () => performance.timeOrigin + performance.now()) {
    this.periodStart = monotonic();
  }

  /** An answer dated `date` (HTTP Date header) arrived just now, `roundTripMs` after its request left. */
  observe(date: string | undefined, roundTripMs?: number): void {
    if (date === undefined) return;
    const serverMs = Date.parse(date);
    if (Number.isNaN(serverMs)) return;
    const now = this.rotate();
    const lower = serverMs - now;
    // without the send time (or with a wall clock stepped back meanwhile), only "before it arrived" is known
    const upper = roundTripMs === undefined || roundTripMs < 0 ? Number.POSITIVE_INFINITY : serverMs + 1_000 - (now - roundTripMs);
    this.current = this.current === undefined ? { lower, upper } : { lower: Math.max(this.current.lower, lower), upper: Math.min(this.current.upper, upper) };
  }

  /** The earliest the API server's clock can read now (epoch ms); undefined before any dated answer. */
  lowerBound(): number | undefined {
    const now = this.rotate();
    const bounds = this.bounds();
    return bounds === undefined ? undefined : now + bounds.lower;
  }

  /**
   * By how much lowerBound() may understate the API server's clock (ms): the width of what its answers allow.
   * Infinite before any answer (or with no send times); 0 when answers disagree (a clock stepped meanwhile).
   */
  uncertaintyMs(): number {
    this.rotate();
    const bounds = this.bounds();
    return bounds === undefined ? Number.POSITIVE_INFINITY : Math.max(0, bounds.upper - bounds.lower);
  }

  private bounds(): OffsetBounds | undefined {
    const kept = [this.current, this.previous].filter((b): b is OffsetBounds => b !== undefined);
    if (kept.length === 0) return undefined;
    return { lower: Math.max(...kept.map((b) => b.lower)), upper: Math.min(...kept.map((b) => b.upper)) };
  }

  private rotate(): number {
    const now = this.monotonic();
    if (now - this.periodStart >= SAMPLE_LIFETIME_MS) {
      this.previous = now - this.periodStart >= 2 * SAMPLE_LIFETIME_MS ? undefined : this.current;
      this.current = undefined;
      this.periodStart = now;
    }
    return now;
  }
}

export interface ClockProbeOptions {
  /** How far apart the probes go (default 40 ms): the bound ends that close (plus a round trip) to the truth. */
  spacingMs?: number;
  /** Probes per burst at most (default 30: a little over a second, so one falls just after the server's second turns). */
  maxProbes?: number;
  /** A burst stops once the clock is known this well (default 100 ms). */
  targetMs?: number;
  /** At most one burst in this long (default 60 s): a clock that stays loose costs a burst a minute, no more. */
  minIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  monotonic?: () => number;
}

/**
 * Tightens an ApiserverClock on demand: while its bounds are more than `targetMs` apart, sends `probe` (a tiny
 * dated GET whose answer the clock observes) every `spacingMs`, at most `maxProbes` times. Never throws: a probe
 * that fails only leaves the bound as loose (and as safe) as it was. Only the lower bound decides anything; the
 * upper one only says whether probing is worth it.
 */
export class ClockProbe {
  private running: Promise<void> | undefined;
  private lastBurst = Number.NEGATIVE_INFINITY;
  private readonly spacingMs: number;
  private readonly maxProbes: number;
  private readonly targetMs: number;
  private readonly minIntervalMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly monotonic: () => number;

  constructor(
    private readonly clock: Pick<ApiserverClock, 'uncertaintyMs'>,
    private readonly probe: () => Promise<unknown>,
    options: ClockProbeOptions = {},
  ) {
    this.spacingMs = options.spacingMs ?? 40;
    this.maxProbes = options.maxProbes ?? 30;
    this.targetMs = options.targetMs ?? 100;
    this.minIntervalMs = options.minIntervalMs ?? 60_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()));
    this.monotonic = options.monotonic ?? (() => performance.now());
  }

  /**
   * The burst under way, or a new one: settles once its answers are in (a decision made on the loose bound can be
   * made again then). Undefined when there is nothing to wait for: the clock is known well enough, or a burst ran
   * within `minIntervalMs` (the bound stays loose, and safe, until traffic tightens it).
   */
  tighten(): Promise<void> | undefined {
    if (this.running) return this.running;
    if (this.clock.uncertaintyMs() <= this.targetMs || this.monotonic() - this.lastBurst < this.minIntervalMs) return undefined;
    this.lastBurst = this.monotonic();
    this.running = this.burst().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async burst(): Promise<void> {
    const answers: Promise<unknown>[] = [];
    for (let sent = 0; sent < this.maxProbes && this.clock.uncertaintyMs() > this.targetMs; sent++) {
      if (sent > 0) await this.sleep(this.spacingMs);
      // not awaited in turn: a slow answer must not stretch the spacing (each answer is observed on arrival)
      answers.push(this.probe().catch(() => undefined));
    }
    await Promise.all(answers);
  }
}
