// Pure retry decisions: which failures are retried, and after how long (reference §3.4).
import { type DatabricksError, isUntrustedCertificate, PROXY_CREDENTIALS_REFUSED } from './errors.js';

export interface BackoffOptions {
  /** first delay before jitter */
  initialDelayMs: number;
  /** cap of one delay */
  maxDelayMs: number;
  multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2 };

/**
 * Exponential backoff with "equal jitter": half of the step is fixed, half random, so retries of many
 * callers spread out but every retry still waits at least half the step. `attempt` counts from 0.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const step = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** Math.max(0, attempt));
  return Math.round(step / 2 + random() * (step / 2));
}

/** What the client does with a failed attempt. */
export type RetryDecision =
  | { action: 'retry'; delayMs: number }
  /** a create may have reached the server: read the endpoint by name before anything else */
  | { action: 'resolve-by-get' }
  | { action: 'fail' };

export interface RetryContext {
  /** GET, PUT, DELETE, PATCH tags: repeating them has the same effect as doing them once */
  idempotent: boolean;
  /** 0 for the first failure */
  attempt: number;
  /** time left before the overall deadline */
  remainingMs: number;
  backoff?: BackoffOptions;
  random?: () => number;
  /** the delay never goes below this (e.g. the next free slot of the rate budget) */
  minDelayMs?: number;
  /** time a new attempt needs at least; a retry that would leave less before the deadline is not made */
  minAttemptMs?: number;
}

/** Retry-After wins when the server sent one (429 / 503); otherwise jittered exponential backoff. */
function delayFor(error: DatabricksError, ctx: RetryContext): number {
  const backoff = backoffDelayMs(ctx.attempt, ctx.backoff, ctx.random);
  const base = error.retryAfterMs ?? backoff;
  return Math.max(base, ctx.minDelayMs ?? 0);
}

export function decideRetry(error: DatabricksError, ctx: RetryContext): RetryDecision {
  const retryIfTimeAllows = (): RetryDecision => {
    const delayMs = delayFor(error, ctx);
    // A last attempt squeezed into the deadline's final milliseconds would only time out and hide the real error.
    return delayMs + (ctx.minAttemptMs ?? 0) < ctx.remainingMs ? { action: 'retry', delayMs } : { action: 'fail' };
  };
  switch (error.kind) {
    case 'RateLimited':
      // The client's own budget refused without sending: the caller asked not to wait.
      return error.fromClientBudget ? { action: 'fail' } : retryIfTimeAllows();
    case 'Transient': {
      // The proxy refused the credentials the environment gave it: the same again until the process restarts.
      if (error.errorCode === PROXY_CREDENTIALS_REFUSED) return { action: 'fail' };
      // No trusted CA signed the certificate: the same again until --ca-bundle's file changes (the caller tries later).
      if (isUntrustedCertificate(error.errorCode)) return { action: 'fail' };
      // 429/503 say "not processed": safe to repeat even a create.
      if (error.status === 503) return retryIfTimeAllows();
      const outcomeUnknown = error.status !== undefined || error.requestMaybeSent;
      if (ctx.idempotent || !outcomeUnknown) return retryIfTimeAllows();
      return { action: 'resolve-by-get' };
    }
    default:
      // NotFound, Conflict, AlreadyExists, InvalidRequest, QuotaExceeded, Auth, InvalidResponse: repeating cannot help now.
      return { action: 'fail' };
  }
}
