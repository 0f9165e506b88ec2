// The API server's clock, as far as its answers prove it. metadata.creationTimestamp is stamped by the API
// server's clock, so a decision about "the second an object was created" must be made on that clock, not on
// ours: the two may disagree by more than the margin such a decision allows.
//
// Every answer carries a Date header (whole seconds, the server's clock when it answered). An answer dated D
// that arrived here at local time r was made when the server's clock read at least D, and before r: so the
// server's clock is at least D - r ahead of ours (a negative bound: at most that far behind). The best bound
// of recent answers is kept; the bound is tight (to a round trip) once an answer comes just after the server's
// second turned, which a few seconds of traffic provide.

/** Bounds older than this are dropped, so a clock stepped back (NTP) is followed within twice this time. */
const SAMPLE_LIFETIME_MS = 5 * 60_000;

export class ApiserverClock {
  /** best bound (server − local, ms) of the current and the previous period, and when the current began */
  private current: number | undefined;
  private previous: number | undefined;
  private periodStart: number;

  /** `monotonic`: local milliseconds that never jump (performance.now by default). */
  constructor(private readonly monotonic: () => number = () => performance.timeOrigin + performance.now()) {
    this.periodStart = monotonic();
  }

  /** An answer dated `date` (HTTP Date header) arrived just now. */
  observe(date: string | undefined): void {
    if (date === undefined) return;
    const serverMs = Date.parse(date);
    if (Number.isNaN(serverMs)) return;
    const now = this.rotate();
    const bound = serverMs - now;
    if (this.current === undefined || bound > this.current) this.current = bound;
  }

  /** The earliest the API server's clock can read now (epoch ms); undefined before any dated answer. */
  lowerBound(): number | undefined {
    const now = this.rotate();
    const bounds = [this.current, this.previous].filter((b): b is number => b !== undefined);
    return bounds.length === 0 ? undefined : now + Math.max(...bounds);
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
