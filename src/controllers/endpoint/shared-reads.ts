// Databricks reads that many reconciles need at once, made once: optimization info of a model, and the endpoint
// names of a workspace. Concurrent callers of one key share the read in flight; an answer is kept as long as the
// caller says (a failed read is not kept, so the next caller tries again).
export class SharedReads<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  private readonly loading = new Map<string, Promise<T>>();

  constructor(private readonly now: () => number) {}

  /** `keepMs`: how long `value` may be reused; undefined or 0 keeps it for nobody but the callers already waiting. */
  async get(key: string, load: () => Promise<T>, keepMs: (value: T) => number | undefined): Promise<T> {
    const at = this.now();
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > at) return cached.value;
    const inFlight = this.loading.get(key);
    if (inFlight) return inFlight;
    const loaded = load();
    this.loading.set(key, loaded);
    let value: T;
    try {
      value = await loaded;
    } finally {
      this.loading.delete(key);
    }
    const keep = keepMs(value);
    if (keep !== undefined && keep > 0) this.entries.set(key, { value, expiresAt: at + keep });
    else this.entries.delete(key);
    return value;
  }
}
