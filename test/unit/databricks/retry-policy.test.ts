import { describe, expect, it } from 'vitest';
import { DatabricksError, type DatabricksErrorInit } from '../../../src/databricks/errors.js';
import { DEFAULT_BACKOFF, backoffDelayMs, decideRetry } from '../../../src/databricks/retry-policy.js';

const err = (init: Omit<DatabricksErrorInit, 'message'>): DatabricksError => new DatabricksError({ message: 'x', ...init });
const ctx = { idempotent: true, attempt: 0, remainingMs: 60_000, random: () => 0.5 };

describe('backoffDelayMs', () => {
  it('grows exponentially, stays within [step/2, step] and is capped', () => {
    const steps = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000];
    steps.forEach((step, attempt) => {
      expect(backoffDelayMs(attempt, DEFAULT_BACKOFF, () => 0)).toBe(step / 2);
      expect(backoffDelayMs(attempt, DEFAULT_BACKOFF, () => 0.999_999)).toBeLessThanOrEqual(step);
      expect(backoffDelayMs(attempt, DEFAULT_BACKOFF, () => 0.999_999)).toBeGreaterThan(step * 0.99);
    });
  });

  it('spreads callers that fail at the same moment', () => {
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelayMs(3)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('decideRetry', () => {
  it('honours Retry-After of a 429 and of a 503, even for a create', () => {
    expect(decideRetry(err({ kind: 'RateLimited', status: 429, retryAfterMs: 7000 }), { ...ctx, idempotent: false })).toEqual({
      action: 'retry',
      delayMs: 7000,
    });
    expect(decideRetry(err({ kind: 'Transient', status: 503, retryAfterMs: 3000 }), { ...ctx, idempotent: false })).toEqual({
      action: 'retry',
      delayMs: 3000,
    });
  });

  it('backs off exponentially without Retry-After', () => {
    expect(decideRetry(err({ kind: 'Transient', status: 503 }), { ...ctx, attempt: 2 })).toEqual({ action: 'retry', delayMs: 3000 });
  });

  it('gives up when the delay would pass the overall deadline', () => {
    expect(decideRetry(err({ kind: 'RateLimited', status: 429, retryAfterMs: 61_000 }), ctx)).toEqual({ action: 'fail' });
  });

  it('does not start an attempt that would have almost no time left', () => {
    const unavailable = err({ kind: 'Transient', status: 503, retryAfterMs: 1000 });
    expect(decideRetry(unavailable, { ...ctx, remainingMs: 1200, minAttemptMs: 250 })).toEqual({ action: 'fail' });
    expect(decideRetry(unavailable, { ...ctx, remainingMs: 1300, minAttemptMs: 250 })).toEqual({ action: 'retry', delayMs: 1000 });
  });

  it('retries network errors of idempotent calls only', () => {
    const reset = err({ kind: 'Transient', requestMaybeSent: true });
    expect(decideRetry(reset, ctx).action).toBe('retry');
    expect(decideRetry(reset, { ...ctx, idempotent: false })).toEqual({ action: 'resolve-by-get' });
  });

  it("does not repeat a call whose forward proxy refused the environment's credentials (407); other proxy refusals are retried", () => {
    expect(decideRetry(err({ kind: 'Transient', requestMaybeSent: false, errorCode: 'PROXY_CREDENTIALS_REFUSED' }), ctx)).toEqual({ action: 'fail' });
    expect(decideRetry(err({ kind: 'Transient', requestMaybeSent: false, errorCode: 'PROXY_REFUSED' }), { ...ctx, idempotent: false }).action).toBe('retry');
  });

  // The trusted CAs change only with the --ca-bundle file: repeating the call for 20 s held back the condition that
  // says how to fix it (the object is tried again after --workspace-retry-interval, and at once when the file changes).
  it.each(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT'])(
    'does not repeat a call refused for an untrusted certificate (%s): the same CAs would refuse it again',
    (code) => {
      expect(decideRetry(err({ kind: 'Transient', requestMaybeSent: false, errorCode: code }), ctx)).toEqual({ action: 'fail' });
    },
  );

  it('repeats a create whose connection was refused (nothing was sent)', () => {
    expect(decideRetry(err({ kind: 'Transient', requestMaybeSent: false }), { ...ctx, idempotent: false }).action).toBe('retry');
  });

  it('treats a 500/502/504 answer to a create as an unknown outcome', () => {
    expect(decideRetry(err({ kind: 'Transient', status: 502 }), { ...ctx, idempotent: false })).toEqual({ action: 'resolve-by-get' });
  });

  it.each(['NotFound', 'Conflict', 'AlreadyExists', 'InvalidRequest', 'Auth', 'InvalidResponse'] as const)(
    'never repeats %s',
    (kind) => {
      expect(decideRetry(err({ kind, status: 400 }), ctx)).toEqual({ action: 'fail' });
    },
  );

  it('does not wait on its own for a budget refusal the caller asked to fail fast', () => {
    expect(decideRetry(err({ kind: 'RateLimited', retryAfterMs: 5000, fromClientBudget: true }), ctx)).toEqual({ action: 'fail' });
  });
});
