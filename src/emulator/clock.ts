// The emulator's virtual clock. Every time-dependent behaviour (rollouts, token expiry, rate-limit
// windows, fault windows) reads it, so a test can run a 30-minute rollout or a 6-hour retry budget in
// milliseconds: either by a speed factor (600 = ten virtual minutes per real second) or by manual advance.

export interface VirtualClockOptions {
  /** Virtual milliseconds per real millisecond; 0 freezes time (manual advance only). Default 1. */
  speed?: number;
  /** Virtual time at start, Unix ms. Default: the real time, so timestamps look real. */
  startAt?: number;
  /** Source of real time, replaceable in unit tests. */
  realNow?: () => number;
}

export class VirtualClock {
  readonly #realNow: () => number;
  #anchorReal: number;
  #anchorVirtual: number;
  #speed: number;

  constructor(options: VirtualClockOptions = {}) {
    this.#realNow = options.realNow ?? Date.now;
    this.#anchorReal = this.#realNow();
    this.#anchorVirtual = options.startAt ?? this.#anchorReal;
    this.#speed = checkSpeed(options.speed ?? 1);
  }

  /** Virtual Unix milliseconds (integer, as the API's timestamps are). */
  now(): number {
    return Math.floor(this.#anchorVirtual + (this.#realNow() - this.#anchorReal) * this.#speed);
  }

  get speed(): number {
    return this.#speed;
  }

  /** Changes the speed from now on; virtual time already elapsed is kept. */
  setSpeed(speed: number): void {
    const checked = checkSpeed(speed);
    this.#rebase();
    this.#speed = checked;
  }

  /** Jumps virtual time forward. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance the clock by ${ms} ms`);
    this.#anchorVirtual += ms;
  }

  /**
   * Real seconds a client should wait for `virtualSeconds` to pass at the current speed (at least 1,
   * as Retry-After and expires_in are integer seconds). With a frozen clock the virtual value is returned.
   */
  toClientSeconds(virtualSeconds: number): number {
    const real = this.#speed > 0 ? virtualSeconds / this.#speed : virtualSeconds;
    return Math.max(1, Math.ceil(real));
  }

  #rebase(): void {
    const virtualNow = this.now();
    this.#anchorReal = this.#realNow();
    this.#anchorVirtual = virtualNow;
  }
}

function checkSpeed(speed: number): number {
  if (!Number.isFinite(speed) || speed < 0) throw new RangeError(`clock speed must be a finite number >= 0, got ${speed}`);
  return speed;
}
