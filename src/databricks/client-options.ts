// What a DatabricksClient is given (client.ts) and what each call may add: options, metric and log sinks.
import type { AuthConfig, CredentialsProvider } from './auth.js';
import type { Clock } from './clock.js';
import type { DatabricksErrorKind } from './errors.js';
import type { BudgetMetricsSink, RateBudgetRegistry, RateLimits } from './rate-budget.js';
import type { BackoffOptions } from './retry-policy.js';
import type { HttpTransport } from './transport.js';

/** Counters and timings for the lead's prom-client wiring; every hook is optional. */
export interface DatabricksMetricsSink extends BudgetMetricsSink {
  /** one HTTP attempt finished (`outcome` is 'ok' or the error kind) */
  request?(event: {
    host: string;
    operation: string;
    method: string;
    status: number | undefined;
    outcome: 'ok' | DatabricksErrorKind;
    durationMs: number;
    attempt: number;
  }): void;
  /** an attempt failed and will be repeated after `delayMs` */
  retry?(event: { host: string; operation: string; attempt: number; delayMs: number; kind: DatabricksErrorKind }): void;
}

/** pino-compatible subset. Everything logged is already redacted. */
export interface ClientLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DatabricksClientOptions {
  /** workspace URL; https://, or http:// on loopback only */
  host: string;
  auth: AuthConfig | CredentialsProvider;
  /**
   * This client's own share of its host's budget (DatabricksWorkspace.spec.rateLimits): it can only lower
   * what this client sends. The host's budget itself comes from the registry (operator configuration).
   */
  rateLimits?: RateLimits;
  /** clients with the same key share one share (the workspace's "namespace/name"); default: this client alone */
  budgetShareKey?: string;
  /** deadline of one HTTP attempt; default 60 s (the SDKs' http timeout) */
  requestTimeoutMs?: number;
  /** deadline of a call including its retries; default 2 minutes */
  retryDeadlineMs?: number;
  /**
   * refuse (RateLimited, `fromClientBudget`, `retryAfterMs`) rather than wait longer than this for the
   * rate budget; default: wait as long as the call's deadline allows
   */
  maxBudgetWaitMs?: number;
  backoff?: BackoffOptions;
  transport?: HttpTransport;
  budgets?: RateBudgetRegistry;
  clock?: Clock;
  metrics?: DatabricksMetricsSink;
  logger?: ClientLogger;
  random?: () => number;
  /**
   * Asked right before each request that changes something (POST, PUT, PATCH, DELETE) goes out, after any wait for
   * a budget or a token: false refuses it unsent (MutationFencedError). The operator answers whether its leadership
   * lease is still valid, so a replica resumed after a pause never acts beside the new leader.
   */
  mayMutate?: () => boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** overrides the client's retryDeadlineMs for this call */
  deadlineMs?: number;
  /** overrides the client's maxBudgetWaitMs for this call */
  maxBudgetWaitMs?: number;
  /**
   * who calls (e.g. the object's "namespace/name"): when the budget refuses it, a slot is reserved for it
   * and `retryAfterMs` says when; coming back then, it gets that slot
   */
  budgetHolder?: string;
  /**
   * the caller's namespace: namespaces waiting for one host's create/update window take turns (turns.ts), and each
   * holds at most its share of the host's read line (bucket-budget.ts)
   */
  budgetTenant?: string;
}
