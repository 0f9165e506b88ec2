// The request loop of the Databricks client: budgets → auth → one HTTP attempt → classify → retry decision, within
// an overall deadline. The operations (client.ts) describe each call as a CallSpec; bodies.ts checks what is sent and
// what comes back.
import type { z } from 'zod';
import type { ServingEndpointDetailed } from './api-types.js';
import type { CredentialsProvider } from './auth.js';
import { parseBody } from './bodies.js';
import type { CallOptions, ClientLogger, DatabricksMetricsSink } from './client-options.js';
import type { Clock } from './clock.js';
import { startDeadline } from './deadline.js';
import { DatabricksError, errorFromHttpResponse, MutationFencedError, type DatabricksErrorKind } from './errors.js';
import { acquireAll, type BudgetName, type WorkspaceBudgets } from './rate-budget.js';
import { decideRetry, type BackoffOptions } from './retry-policy.js';
import { userAgent, type HttpResponse, type HttpTransport } from './transport.js';

export interface CallSpec<T> {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** the client budget the call passes; 'none' for calls Databricks documents no limit for (deletes, tag patches) */
  budget: BudgetName | 'none';
  idempotent: boolean;
  schema: z.ZodType<T>;
  /** for creates: find out whether a request with an unknown outcome created the endpoint */
  resolveByName?: string;
  /** the answer is text (Prometheus exposition), not JSON */
  text?: boolean;
  /** reads the JSON body instead of JSON.parse (a list read element by element, json-items.ts) */
  parseJson?: (text: string) => unknown;
}

/** a retry is only made when at least this much time is left for it */
const MIN_ATTEMPT_MS = 250;

/** What the loop works with: the client's settings, resolved (client.ts). */
export interface RequestLoopSettings {
  host: string;
  credentials: CredentialsProvider;
  budgets: WorkspaceBudgets;
  transport: HttpTransport;
  clock: Clock;
  requestTimeoutMs: number;
  retryDeadlineMs: number;
  maxBudgetWaitMs: number | undefined;
  backoff: BackoffOptions;
  random: () => number;
  metrics: DatabricksMetricsSink | undefined;
  logger: ClientLogger | undefined;
  /** the GET by name that resolves a create whose outcome is unknown */
  readByName(name: string, options: CallOptions): Promise<ServingEndpointDetailed>;
  /** whether a request that changes something may go out now (DatabricksClientOptions.mayMutate) */
  mayMutate: (() => boolean) | undefined;
}

export class RequestLoop {
  constructor(private readonly s: RequestLoopSettings) {}


  async call<T>(spec: CallSpec<T>, options: CallOptions = {}): Promise<T> {
    const started = this.s.clock.now();
    const deadlineAt = started + (options.deadlineMs ?? this.s.retryDeadlineMs);
    const maxBudgetWaitMs = options.maxBudgetWaitMs ?? this.s.maxBudgetWaitMs ?? Number.POSITIVE_INFINITY;
    let attempt = 0;
    let refreshedAfter401 = false;
    let maybeSentBefore = false;

    for (;;) {
      options.signal?.throwIfAborted();
      // Waiting for the budget counts against the deadline: past it, say when to come back instead.
      const budgetWaitLimit = Math.max(0, Math.min(maxBudgetWaitMs, deadlineAt - this.s.clock.now() - MIN_ATTEMPT_MS));
      const budgets = spec.budget === 'none' ? [] : this.s.budgets[spec.budget];
      await acquireAll(budgets, this.s.clock, { signal: options.signal, maxWaitMs: budgetWaitLimit, holder: options.budgetHolder, tenant: options.budgetTenant });
      const outcome = await this.attempt(spec, attempt, deadlineAt, options.signal);
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      // Databricks says the workspace's limit is spent (someone else shares it): the budget pauses
      // for Retry-After and shrinks, and the retry below waits for it there, not here.
      const throttled = error.kind === 'RateLimited' && !error.fromClientBudget;
      if (throttled) for (const budget of budgets) budget.throttled(error.retryAfterMs, this.s.clock.now());

      // An OAuth token refused once may just have expired early (clock skew, revocation): one fresh try.
      if (error.kind === 'Auth' && error.status === 401 && !outcome.authPhase && !refreshedAfter401) {
        refreshedAfter401 = true;
        if (this.s.credentials.invalidate(outcome.authorization)) continue;
      }
      // A repeated DELETE that finds nothing: the earlier attempt did delete it.
      if (spec.method === 'DELETE' && error.kind === 'NotFound' && maybeSentBefore) return {} as T;

      const remainingMs = deadlineAt - this.s.clock.now();
      // Failures before anything was sent (token endpoint down, ...) are safe to repeat for any call.
      const decision = decideRetry(error, {
        idempotent: spec.idempotent || outcome.authPhase,
        attempt,
        remainingMs,
        backoff: this.s.backoff,
        random: this.s.random,
        minAttemptMs: Math.min(this.s.requestTimeoutMs, MIN_ATTEMPT_MS),
      });
      maybeSentBefore ||= !outcome.authPhase && (error.status !== undefined || error.requestMaybeSent);

      if (decision.action === 'resolve-by-get' && spec.resolveByName !== undefined) {
        this.s.logger?.warn(
          { operation: spec.operation, endpoint: spec.resolveByName, error: error.toJSON() },
          'create outcome unknown: reading the endpoint by name before any new POST',
        );
        return (await this.resolveCreate(spec.resolveByName, error, options, deadlineAt)) as T;
      }
      if (decision.action !== 'retry') throw error;

      this.s.metrics?.retry?.({ host: this.s.host, operation: spec.operation, attempt, delayMs: decision.delayMs, kind: error.kind });
      this.s.logger?.debug(
        { operation: spec.operation, attempt, delayMs: decision.delayMs, error: error.toJSON() },
        'retrying Databricks call',
      );
      // A throttled call waits at its budget, which the 429 paused; a call without budgets (DELETE, tags) waits here.
      if (!throttled || budgets.length === 0) await this.s.clock.sleep(decision.delayMs, options.signal);
      attempt += 1;
    }
  }

  /**
   * A create without an answer: the endpoint if the GET by name finds it. Otherwise the create is NOT sent again:
   * the server may still carry out the one it holds (a second POST would not tell the caller it did), so the
   * caller gets `createOutcomeUnknown` and waits before deciding the endpoint is absent. The GET gets at least one
   * request's timeout: the create's deadline may be spent already (a POST that timed out spent all of it).
   */
  private async resolveCreate(name: string, unanswered: DatabricksError, options: CallOptions, deadlineAt: number): Promise<ServingEndpointDetailed> {
    let why: string;
    try {
      return await this.s.readByName(name, { ...options, deadlineMs: Math.max(deadlineAt - this.s.clock.now(), this.s.requestTimeoutMs) });
    } catch (err) {
      if (!(err instanceof DatabricksError)) throw err;
      why = err.kind === 'NotFound' ? 'no endpoint of that name yet' : `reading it by name failed too: ${err.message}`;
    }
    throw new DatabricksError({
      kind: 'Transient',
      message: `create of endpoint ${name} sent but not answered (${unanswered.message}); ${why}: Databricks may still carry it out`,
      status: unanswered.status,
      method: unanswered.method,
      path: unanswered.path,
      requestMaybeSent: true,
      createOutcomeUnknown: true,
    });
  }

  private async attempt<T>(
    spec: CallSpec<T>,
    attempt: number,
    deadlineAt: number,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; value: T } | { ok: false; error: DatabricksError; authPhase: boolean; authorization?: string }> {
    let authorization: string;
    // Getting a token (OAuth discovery and token requests) counts against the call's deadline, so a call never
    // takes longer than --databricks-timeout even when the token endpoint is slow.
    const authBudgetMs = Math.max(1, deadlineAt - this.s.clock.now());
    const authDeadline = startDeadline(authBudgetMs, signal);
    try {
      authorization = await this.s.credentials.authorization(authDeadline.signal);
    } catch (err) {
      if (err instanceof DatabricksError) return { ok: false, error: err, authPhase: true };
      if (authDeadline.timedOut && !signal?.aborted) {
        const message = `no OAuth token within the call's deadline (${Math.ceil(authBudgetMs / 1000)}s): the token endpoint of ${this.s.host} did not answer in time`;
        return { ok: false, error: new DatabricksError({ kind: 'Transient', message }), authPhase: true };
      }
      throw err;
    } finally {
      authDeadline.release();
    }
    const headers: Record<string, string> = {
      accept: spec.text ? 'text/plain' : 'application/json',
      authorization,
      'user-agent': userAgent(this.s.credentials.authType),
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    // Asked last, with nothing awaited before the send: the waits above (budget, token, backoff) may have outlasted
    // the right to act, e.g. in a process paused past its lease whose timers all come due at once on resume.
    if (spec.method !== 'GET' && this.s.mayMutate?.() === false) throw new MutationFencedError(spec.method, spec.path);
    const timeoutMs = Math.max(1, Math.min(this.s.requestTimeoutMs, deadlineAt - this.s.clock.now()));
    const secrets = this.s.credentials.secrets();
    const started = this.s.clock.now();
    let res: HttpResponse;
    try {
      res = await this.s.transport.send(this.s.host, {
        method: spec.method,
        path: spec.path,
        headers,
        body,
        timeoutMs,
        signal,
        secrets,
      });
    } catch (err) {
      if (!(err instanceof DatabricksError)) throw err;
      this.recordAttempt(spec, attempt, undefined, err.kind, started);
      return { ok: false, error: err, authPhase: false, authorization };
    }
    if (res.status >= 200 && res.status < 300) {
      const parsed = parseBody(res, spec, secrets);
      this.recordAttempt(spec, attempt, res.status, parsed.ok ? 'ok' : parsed.error.kind, started);
      return parsed.ok ? parsed : { ...parsed, authPhase: false, authorization };
    }
    const error = errorFromHttpResponse({
      status: res.status,
      headers: res.headers,
      bodyText: res.bodyText,
      method: spec.method,
      path: spec.path,
      nowMs: this.s.clock.wallNow?.() ?? this.s.clock.now(),
      secrets,
    });
    this.recordAttempt(spec, attempt, res.status, error.kind, started);
    return { ok: false, error, authPhase: false, authorization };
  }

  private recordAttempt(
    spec: CallSpec<unknown>,
    attempt: number,
    status: number | undefined,
    outcome: 'ok' | DatabricksErrorKind,
    started: number,
  ): void {
    this.s.metrics?.request?.({
      host: this.s.host,
      operation: spec.operation,
      method: spec.method,
      status,
      outcome,
      durationMs: this.s.clock.now() - started,
      attempt,
    });
  }
}
