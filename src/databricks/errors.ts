// Every failure of a Databricks call is classified here, once. Callers branch on `error.kind`.
// Facts: reference §3 (error body, SDK status/error_code mapping, retried messages).
import { ApiErrorBodySchema, type ApiErrorBody } from './api-types.js';
import { oneLine } from './host-text.js';
import { parseHostJson } from './json-items.js';

/**
 * - NotFound: the endpoint/model does not exist (404, RESOURCE_DOES_NOT_EXIST).
 * - Conflict: an update is in progress (409, RESOURCE_CONFLICT): requeue, do not change the spec.
 * - AlreadyExists: create of a name that exists (RESOURCE_ALREADY_EXISTS, or 400/409 saying so).
 * - InvalidRequest: terminal until the spec changes; the server message is kept verbatim. An ACL naming a principal
 *   the workspace does not have is one, whatever its code (RESOURCE_DOES_NOT_EXIST too).
 * - QuotaExceeded: a workspace limit is reached (its number of serving endpoints): not the request's fault, and
 *   freed outside it (an endpoint deleted, a higher quota), so the same request can succeed later without a change.
 * - Auth: credentials refused (401) or not configured; never retried in a loop.
 * - PermissionDenied: 403. Databricks answers so both when the caller lacks a permission on the object (no
 *   CAN_MANAGE on an endpoint) and for an unknown PAT ("Invalid access token."): a caller that needs to tell them
 *   apart checks whether the same credentials can still list the workspace's endpoints.
 * - RateLimited: 429 or the client's own budget; `retryAfterMs` says when to come back.
 * - Transient: 503, other 5xx, network failures and timeouts: retry with backoff.
 * - InvalidResponse: a 2xx body that does not fit the schema (a server or proxy we do not understand).
 */
export const ERROR_KINDS = [
  'NotFound',
  'Conflict',
  'AlreadyExists',
  'InvalidRequest',
  'QuotaExceeded',
  'Auth',
  'PermissionDenied',
  'RateLimited',
  'Transient',
  'InvalidResponse',
] as const;
export type DatabricksErrorKind = (typeof ERROR_KINDS)[number];

export interface DatabricksErrorInit {
  kind: DatabricksErrorKind;
  message: string;
  status?: number;
  errorCode?: string;
  requestId?: string;
  retryAfterMs?: number;
  method?: string;
  /** request path without query; endpoint and model names are not secrets */
  path?: string;
  /** the server's own message, verbatim (after redaction) */
  serverMessage?: string;
  /** true when a network failure happened after the request may have reached the server */
  requestMaybeSent?: boolean;
  /** set by the client's own rate budget (nothing was sent) */
  fromClientBudget?: boolean;
  /** with fromClientBudget: which budget held the call back, and whether a 429 from Databricks had paused it */
  clientBudget?: ClientBudgetWait;
  /**
   * a create that may still be carried out: sent, no answer, and not found by name afterwards. The server may act on
   * it later (a request it holds), so the caller must neither send it again nor treat the endpoint as absent for a while
   */
  createOutcomeUnknown?: boolean;
  /** secret values known to the caller, scrubbed from every text field */
  secrets?: readonly string[];
}

export interface ClientBudgetWait {
  budget: 'mutation' | 'read';
  /** the budget waits out a Retry-After pause Databricks asked for (a 429), not its own limit */
  pausedByDatabricks: boolean;
}

export class DatabricksError extends Error {
  override readonly name = 'DatabricksError';
  readonly kind: DatabricksErrorKind;
  readonly status: number | undefined;
  readonly errorCode: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly serverMessage: string | undefined;
  readonly requestMaybeSent: boolean;
  readonly fromClientBudget: boolean;
  readonly clientBudget: ClientBudgetWait | undefined;
  readonly createOutcomeUnknown: boolean;

  constructor(init: DatabricksErrorInit) {
    const secrets = init.secrets ?? [];
    // Every text may hold a host's words and reaches conditions, Events and logs: scrubbed, then one visible line.
    super(oneLine(redactSecrets(init.message, secrets)));
    this.kind = init.kind;
    this.status = init.status;
    this.errorCode = init.errorCode === undefined ? undefined : oneLine(redactSecrets(init.errorCode, secrets));
    // the host's text too (a header it chose): scrubbed and short, as it reaches logs
    this.requestId = init.requestId === undefined ? undefined : capText(oneLine(redactSecrets(init.requestId, secrets)), MAX_REQUEST_ID);
    this.retryAfterMs = init.retryAfterMs;
    this.method = init.method;
    this.path = init.path === undefined ? undefined : redactSecrets(init.path, secrets);
    this.serverMessage = init.serverMessage === undefined ? undefined : oneLine(redactSecrets(init.serverMessage, secrets));
    this.requestMaybeSent = init.requestMaybeSent ?? false;
    this.fromClientBudget = init.fromClientBudget ?? false;
    this.clientBudget = init.clientBudget;
    this.createOutcomeUnknown = init.createOutcomeUnknown ?? false;
  }

  /** Retrying the same call later can succeed without a spec change. */
  get retryable(): boolean {
    return this.kind === 'RateLimited' || this.kind === 'Transient' || this.kind === 'Conflict';
  }

  /** Only a spec (or credential) change can fix it. */
  get terminal(): boolean {
    return this.kind === 'InvalidRequest' || this.kind === 'Auth' || this.kind === 'PermissionDenied';
  }

  /** What loggers and status writers see: only safe, already-redacted fields (no stack, no cause). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      status: this.status,
      errorCode: this.errorCode,
      requestId: this.requestId,
      retryAfterMs: this.retryAfterMs,
      method: this.method,
      path: this.path,
    };
  }
}

export const isDatabricksError = (err: unknown): err is DatabricksError => err instanceof DatabricksError;

/**
 * A request that would change something at Databricks, not sent because the client's `mayMutate` said no (the
 * process may no longer act: its leadership lease ran out). Not a DatabricksError: nothing happened at Databricks and
 * there is nothing to record; the caller's work ends, and whoever acts now makes the change.
 */
export class MutationFencedError extends Error {
  override readonly name = 'MutationFencedError';
  constructor(method: string, path: string) {
    super(`${method} ${path} not sent: this process may no longer change anything at Databricks`);
  }
}

/** The classifier the controller uses: the kind of any thrown value (non-client errors count as Transient). */
export function errorKindOf(err: unknown): DatabricksErrorKind {
  return err instanceof DatabricksError ? err.kind : 'Transient';
}

// ---------------------------------------------------------------------------------------------
// Classification of HTTP answers

const NOT_FOUND_CODES = new Set(['RESOURCE_DOES_NOT_EXIST', 'NOT_FOUND', 'ENDPOINT_NOT_FOUND']);
const ALREADY_EXISTS_CODES = new Set(['RESOURCE_ALREADY_EXISTS', 'ALREADY_EXISTS']);
const CONFLICT_CODES = new Set(['RESOURCE_CONFLICT', 'ABORTED']);
const RATE_LIMIT_CODES = new Set(['REQUEST_LIMIT_EXCEEDED', 'RESOURCE_EXHAUSTED', 'TOO_MANY_REQUESTS']);
const TRANSIENT_CODES = new Set(['TEMPORARILY_UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL_ERROR']);
const AUTH_CODES = new Set(['UNAUTHENTICATED', 'UNAUTHORIZED']);
// A workspace limit such as its number of serving endpoints. Databricks documents no code for it (the emulator's
// QUOTA_EXCEEDED is a guess, docs/emulator.md), so the message is read too.
const QUOTA_CODES = new Set(['QUOTA_EXCEEDED', 'RESOURCE_LIMIT_EXCEEDED']);
const QUOTA_MESSAGES = /\bquota\b.*\b(reached|exceeded)\b|\bnumber of (serving )?endpoints\b.*\b(reached|exceeded)\b/i;

// Messages the GO/PY SDKs treat as retryable whatever the status (reference §3.4).
const RATE_LIMIT_MESSAGES = /REQUEST_LIMIT_EXCEEDED|RPC token bucket limit has been exceeded/;
const TRANSIENT_MESSAGES =
  /Please try again later or try a faster operation|worker environment|ClusterNotReadyException|Timed out after |deadline exceeded/i;
const ALREADY_EXISTS_MESSAGE = /already exists/i;
// An ACL naming a user, group or service principal the workspace does not have (deleted, or misspelt): the request is
// wrong, whatever code it came with; RESOURCE_DOES_NOT_EXIST (seen for it) would read as the endpoint gone.
const MISSING_PRINCIPAL_MESSAGE = /\bPrincipal: (UserName|GroupName|ServicePrincipalName)\(.*\) does not exist/;

/** Decide the kind from what the server said. Pure: status, parsed error_code and message. */
export function classifyHttpError(status: number, errorCode: string | undefined, message: string): DatabricksErrorKind {
  if (status === 401) return 'Auth';
  if (status === 403) return 'PermissionDenied';
  if (status === 429) return 'RateLimited';
  if (status < 500 && MISSING_PRINCIPAL_MESSAGE.test(message)) return 'InvalidRequest';
  if (errorCode !== undefined) {
    if (ALREADY_EXISTS_CODES.has(errorCode)) return 'AlreadyExists';
    if (NOT_FOUND_CODES.has(errorCode)) return 'NotFound';
    if (CONFLICT_CODES.has(errorCode)) return 'Conflict';
    if (RATE_LIMIT_CODES.has(errorCode)) return 'RateLimited';
    if (AUTH_CODES.has(errorCode) && status < 500) return 'Auth';
    if (errorCode === 'PERMISSION_DENIED' && status < 500) return 'PermissionDenied';
  }
  if (RATE_LIMIT_MESSAGES.test(message)) return 'RateLimited';
  if (status === 404) return 'NotFound';
  if (status === 409) return ALREADY_EXISTS_MESSAGE.test(message) ? 'AlreadyExists' : 'Conflict';
  // The duplicate-name code of create is unverified (400 or 409, reference §3.3): read the message too.
  if (status === 400 && ALREADY_EXISTS_MESSAGE.test(message)) return 'AlreadyExists';
  if (status === 400 && ((errorCode !== undefined && QUOTA_CODES.has(errorCode)) || QUOTA_MESSAGES.test(message))) return 'QuotaExceeded';
  if (status === 408 || status === 499) return 'Transient';
  if (status === 501) return 'InvalidRequest';
  if (status >= 500) return 'Transient';
  if (errorCode !== undefined && TRANSIENT_CODES.has(errorCode)) return 'Transient';
  if (TRANSIENT_MESSAGES.test(message)) return 'Transient';
  return 'InvalidRequest';
}

/** Header names that carry a request id, most specific first. */
export const REQUEST_ID_HEADERS = ['x-request-id', 'x-databricks-request-id', 'x-databricks-org-request-id'] as const;

export type HeaderBag = Record<string, string | string[] | undefined>;

function headerValue(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function requestIdFrom(headers: HeaderBag, body?: ApiErrorBody): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const value = headerValue(headers, name);
    if (value) return value;
  }
  for (const detail of body?.details ?? []) {
    const id = (detail as Record<string, unknown>)['request_id'];
    if (typeof id === 'string' && id !== '') return id;
  }
  return undefined;
}

/** Parse an error body: JSON per the schema, else the `"CODE: message"` text form, else nothing. */
export function parseErrorBody(text: string): ApiErrorBody | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    const parsed = ApiErrorBodySchema.safeParse(parseHostJson(trimmed));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: fall through to the text form
  }
  const match = /^([A-Z_]+): (.*)$/s.exec(trimmed);
  if (match) return { error_code: match[1], message: match[2] };
  return { message: capText(trimmed, 500) };
}

/** Longest request ID kept (real ones are a UUID or two). */
const MAX_REQUEST_ID = 128;

/** Longest error code kept (real ones are a few words in capitals). */
export const MAX_ERROR_CODE = 64;

/** Longest server message kept in an error (and so in status and Events). */
export const MAX_SERVER_MESSAGE = 1000;

/** At most `max` characters and an ellipsis when cut; a surrogate pair is never cut in two. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}…`;
}

/** RetryInfo detail: {"@type": ".../google.rpc.RetryInfo", "retry_delay": "1.5s"} */
function retryDelayFromDetails(body: ApiErrorBody | undefined): number | undefined {
  for (const detail of body?.details ?? []) {
    if (!detail['@type']?.endsWith('google.rpc.RetryInfo')) continue;
    const delay = (detail as Record<string, unknown>)['retry_delay'];
    if (typeof delay === 'string') {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(delay);
      // capped as Retry-After is: a host's delay of days (or of 400 digits, Infinity) paused its budget that long
      if (match) return Math.min(Math.round(Number(match[1]) * 1000), MAX_RETRY_AFTER_MS);
    }
  }
  return undefined;
}

export interface HttpErrorInput {
  status: number;
  headers: HeaderBag;
  bodyText: string;
  method: string;
  path: string;
  /** the wall clock (an HTTP-date Retry-After is a wall time) */
  nowMs: number;
  secrets?: readonly string[];
}

/** Turn a non-2xx answer into a classified error. */
export function errorFromHttpResponse(input: HttpErrorInput): DatabricksError {
  // Scrubbed whole, before any cap: a cap that cuts a credential short leaves a prefix no pattern recognises.
  const body = parseErrorBody(redactSecrets(input.bodyText, input.secrets));
  // The server's words end up in status conditions and Events: one visible line (escapes counted), short whatever
  // the host sends.
  const errorCode = body?.error_code === undefined ? undefined : capText(oneLine(body.error_code), MAX_ERROR_CODE);
  const serverMessage = capText(oneLine(body?.message ?? ''), MAX_SERVER_MESSAGE);
  const kind = classifyHttpError(input.status, errorCode, serverMessage);
  const retryAfterHeader = headerValue(input.headers, 'retry-after');
  const retryAfterMs =
    (retryAfterHeader === undefined ? undefined : parseRetryAfter(retryAfterHeader, input.nowMs)) ??
    retryDelayFromDetails(body);
  const codePart = errorCode ? `${errorCode}: ` : '';
  const detail = serverMessage === '' ? `HTTP ${input.status}` : `${codePart}${serverMessage}`;
  return new DatabricksError({
    kind,
    message: `${input.method} ${input.path} failed (${input.status}, ${kind}): ${detail}`,
    status: input.status,
    errorCode,
    requestId: requestIdFrom(input.headers, body),
    retryAfterMs,
    method: input.method,
    path: input.path,
    serverMessage,
    secrets: input.secrets,
  });
}

// ---------------------------------------------------------------------------------------------
// Network failures

/** OpenSSL's codes for a certificate chain that ends at no trusted CA: a private or a TLS-inspecting proxy's CA. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

// undici / Node codes raised before a byte of the request left (a TLS handshake refused included): re-sending cannot
// duplicate anything.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  ...UNTRUSTED_CERTIFICATE_CODES,
]);

/** Whether a failure's code says the certificate chain ends at no trusted CA (only --ca-bundle's file changes that). */
export const isUntrustedCertificate = (errorCode: string | undefined): boolean => errorCode !== undefined && UNTRUSTED_CERTIFICATE_CODES.has(errorCode);

/** What to do about an untrusted certificate, in every message that reports one. */
export const UNTRUSTED_CERTIFICATE_ADVICE =
  "If a TLS-inspecting proxy or a private CA signs it, trust that CA's certificate (PEM) with --ca-bundle (CA_BUNDLE; chart value caBundle); if not, check that the host is the workspace";

function errorCodeOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface NetworkErrorInput {
  err: unknown;
  method: string;
  path: string;
  /** the per-request deadline fired (as opposed to the caller cancelling) */
  timedOut: boolean;
  timeoutMs?: number;
  secrets?: readonly string[];
}

/** The error code of a proxy that refused its credentials (407): no retry can help. */
export const PROXY_CREDENTIALS_REFUSED = 'PROXY_CREDENTIALS_REFUSED';

/** undici's words when the forward proxy (HTTPS_PROXY) answers a CONNECT with anything but 200: no byte left for the host. */
const PROXY_REFUSED = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling$/;

const PROXY_ADVICE: Record<string, string> = {
  '407': 'The proxy asks for credentials: give them in HTTPS_PROXY (http://user:password@host:port)',
  '403': 'The proxy does not allow this host: ask for it to be allowed, or name it in NO_PROXY if it is reachable directly',
};

/** A failure without an HTTP answer: connection refused/reset, TLS, deadline, a proxy refusing the tunnel. Always Transient. */
export function errorFromNetworkFailure(input: NetworkErrorInput): DatabricksError {
  const proxyStatus = input.err instanceof Error ? PROXY_REFUSED.exec(input.err.message)?.[1] : undefined;
  if (proxyStatus !== undefined) {
    const advice = PROXY_ADVICE[proxyStatus] ?? 'Check the proxy named in HTTPS_PROXY (or HTTP_PROXY) and its log';
    return new DatabricksError({
      kind: 'Transient',
      message: `${input.method} ${input.path} failed: the forward proxy refused to connect to the workspace (it answered ${proxyStatus}); nothing was sent to Databricks. ${advice}`,
      // the proxy's credentials are the process environment's: until a restart, asking again is refused again
      errorCode: proxyStatus === '407' ? PROXY_CREDENTIALS_REFUSED : 'PROXY_REFUSED',
      method: input.method,
      path: input.path,
      requestMaybeSent: false,
      secrets: input.secrets,
    });
  }
  const code = errorCodeOf(input.err);
  // A library's words may quote the host (a TLS failure names every name of its certificate): scrubbed, then cut.
  const rawMessage = capText(redactSecrets(input.err instanceof Error ? input.err.message : String(input.err), input.secrets), MAX_SERVER_MESSAGE);
  const requestMaybeSent = code === undefined || !NOT_SENT_CODES.has(code);
  const what = input.timedOut
    ? `no answer within ${input.timeoutMs ?? '?'} ms`
    : isUntrustedCertificate(code)
      ? `the TLS certificate of the host (or of the https:// proxy) is not trusted; nothing was sent. ${UNTRUSTED_CERTIFICATE_ADVICE} (${code}: ${rawMessage})`
      : `network error${code ? ` ${code}` : ''}: ${rawMessage}`;
  return new DatabricksError({
    kind: 'Transient',
    message: `${input.method} ${input.path} failed: ${what}`,
    errorCode: input.timedOut ? 'CLIENT_TIMEOUT' : code,
    method: input.method,
    path: input.path,
    requestMaybeSent,
    secrets: input.secrets,
  });
}

// ---------------------------------------------------------------------------------------------
// Retry-After

/** The longest pause a host may ask for (Retry-After, RetryInfo): a window's pause never ends later than this from now. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * `Retry-After: <seconds>` or `Retry-After: <HTTP-date>` → milliseconds from now (never negative,
 * capped at one hour). Undefined when unparseable.
 */
export function parseRetryAfter(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return Math.min(Math.round(Number(trimmed) * 1000), MAX_RETRY_AFTER_MS);
  }
  // Only date-looking values: Date.parse accepts oddities like "1" as a year.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

// ---------------------------------------------------------------------------------------------
// Redaction

const REDACTED = '[REDACTED]';

// Shapes of secrets that may show up in text we did not write (server messages, library errors).
const SECRET_PATTERNS: readonly { pattern: RegExp; replacement: string }[] = [
  { pattern: /\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, replacement: `$1 ${REDACTED}` },
  // Databricks PATs and OAuth client secrets, also glued to other text or cut short by a length cap
  { pattern: /(dapi|dose)[0-9a-f]{16,}(-\d+)?/gi, replacement: REDACTED },
  // key=value / "key": "value" forms of form bodies and JSON
  {
    pattern: /("?(?:access_token|refresh_token|id_token|client_secret|subject_token|token|password)"?\s*[:=]\s*"?)([^"&\s,}]+)/gi,
    replacement: `$1${REDACTED}`,
  },
];

/** Scrub known secret values and secret-looking strings from a text. */
export function redactSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of knownSecrets) {
    // Short values would redact innocent words; real credentials are long.
    if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  }
  for (const { pattern, replacement } of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return redactJwts(out);
}

/**
 * JWTs (federation subject tokens, OAuth access tokens): `eyJ<header>.<payload>.<signature>`, the header starting at
 * a word boundary. Found by scanning, in linear time and without copying the text apart: a regular expression looking
 * for the dots after every "eyJ" backtracks over the rest of the text each time, and a host's "eyJ-eyJ-…" body then
 * blocked the process for hours.
 */
function redactJwts(text: string): string {
  let out = '';
  let copied = 0;
  for (let at = text.indexOf('eyJ'); at >= 0; at = text.indexOf('eyJ', copied)) {
    // the run of token characters around it (letters, digits, "_", "-", "."), never back past what is copied
    let start = at;
    while (start > copied && isTokenChar(text.charCodeAt(start - 1))) start--;
    let end = at + 3;
    while (end < text.length && isTokenChar(text.charCodeAt(end))) end++;
    out += text.slice(copied, start) + redactJwtsInRun(text.slice(start, end));
    copied = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

const isTokenChar = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 /* _ */ || c === 45 /* - */ || c === 46; /* . */

/**
 * The JWTs of one run, segment (between dots) by segment: a segment holding a header (an "eyJ" at its start or after
 * a "-") followed by a non-empty segment and one more is a JWT from the header to that third segment's end.
 */
function redactJwtsInRun(run: string): string {
  const dotOrEnd = (from: number) => {
    const dot = run.indexOf('.', from);
    return dot < 0 ? run.length : dot;
  };
  let out = '';
  let copied = 0;
  let header = run.indexOf('eyJ');
  for (let segment = 0; segment <= run.length && header >= 0; ) {
    const segmentEnd = dotOrEnd(segment);
    if (header < segment) header = run.indexOf('eyJ', segment);
    while (header >= 0 && header + 3 <= segmentEnd && header !== segment && run.charCodeAt(header - 1) !== 45) header = run.indexOf('eyJ', header + 1);
    if (header >= 0 && header + 3 <= segmentEnd && segmentEnd < run.length) {
      const payloadEnd = dotOrEnd(segmentEnd + 1);
      if (payloadEnd > segmentEnd + 1 && payloadEnd < run.length) {
        const signatureEnd = dotOrEnd(payloadEnd + 1);
        out += run.slice(copied, header) + REDACTED;
        copied = signatureEnd;
        segment = signatureEnd + 1;
        continue;
      }
    }
    segment = segmentEnd + 1;
  }
  return out + run.slice(copied);
}
