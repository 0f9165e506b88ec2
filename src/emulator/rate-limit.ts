// The documented per-workspace limit on create/update operations ("50 in 5 minutes"), as a rolling
// window over the virtual clock.

export interface MutationBudgetOptions {
  limit: number;
  windowMs: number;
}

export type BudgetDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export class MutationBudget {
  readonly limit: number;
  readonly windowMs: number;
  #admitted: number[] = [];

  constructor(options: MutationBudgetOptions) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
  }

  /** Admits one operation at `now` if the window has room; otherwise says when the oldest one leaves it. */
  tryConsume(now: number): BudgetDecision {
    this.#forget(now);
    if (this.#admitted.length >= this.limit) {
      const oldest = this.#admitted[0] ?? now;
      return { allowed: false, retryAfterMs: Math.max(1, oldest + this.windowMs - now) };
    }
    this.#admitted.push(now);
    return { allowed: true };
  }

  used(now: number): number {
    this.#forget(now);
    return this.#admitted.length;
  }

  reset(): void {
    this.#admitted = [];
  }

  #forget(now: number): void {
    while (this.#admitted.length > 0 && (this.#admitted[0] ?? now) <= now - this.windowMs) this.#admitted.shift();
  }
}
