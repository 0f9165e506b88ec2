// Databricks unified auth for the three ways the operator authenticates (reference §4):
// a personal access token, OAuth M2M (service principal client credentials), and OAuth token
// federation (a JWT from a file, e.g. the pod's projected service-account token, exchanged for a
// Databricks token). Tokens are cached, refreshed 40 s before expiry, and concurrent callers share
// one in-flight refresh.
import { readFile } from 'node:fs/promises';
import {
  GRANT_TYPE_CLIENT_CREDENTIALS,
  GRANT_TYPE_TOKEN_EXCHANGE,
  OAUTH_DEFAULT_SCOPE,
  OAuthErrorBodySchema,
  OAuthTokenResponseSchema,
  OIDC_DISCOVERY_PATH,
  OIDC_TOKEN_PATH,
  OidcDiscoverySchema,
  SUBJECT_TOKEN_TYPE_JWT,
} from './api-types.js';
import { systemClock, type Clock } from './clock.js';
import { DatabricksError, MAX_ERROR_CODE, MAX_SERVER_MESSAGE, capText, classifyHttpError, parseRetryAfter, redactSecrets, requestIdFrom } from './errors.js';
import { oneLine } from './host-text.js';
import { parseHostJson } from './json-items.js';
import { normaliseHost } from './host.js';
import type { HttpResponse, HttpTransport } from './transport.js';
import { userAgent } from './transport.js';

export type AuthConfig =
  | { type: 'pat'; token: string }
  | { type: 'oauth-m2m'; clientId: string; clientSecret: string; scopes?: string }
  /** token file is read at every exchange: the kubelet rotates it */
  | { type: 'token-federation'; tokenFilePath: string; clientId?: string; scopes?: string };

/** The SDKs' auth type names, used in the User-Agent and in messages. */
export type AuthType = 'pat' | 'oauth-m2m' | 'file-oidc';

export interface CredentialsProvider {
  readonly authType: AuthType;
  /** value of the Authorization header */
  authorization(signal?: AbortSignal): Promise<string>;
  /**
   * Forget the cached token the server refused (`refused` = the Authorization value that was sent;
   * a token refreshed meanwhile by another caller is kept). True when a fresh token may be obtained.
   */
  invalidate(refused?: string): boolean;
  /** secret values in play, to scrub from any text that leaves the client */
  secrets(): string[];
}

/** Seconds before expiry at which a token counts as expired ("Azure Databricks rejects tokens that
 * expire in 30 seconds or less": the JS and Python SDKs use 40 s). */
export const TOKEN_REFRESH_MARGIN_MS = 40_000;
const TOKEN_REQUEST_TIMEOUT_MS = 30_000;
const MAX_REMEMBERED_TOKENS = 8;

class StaticTokenProvider implements CredentialsProvider {
  readonly authType = 'pat' as const;
  constructor(private readonly token: string) {}
  authorization(): Promise<string> {
    return Promise.resolve(`Bearer ${this.token}`);
  }
  invalidate(): boolean {
    return false;
  }
  secrets(): string[] {
    return [this.token];
  }
}

interface CachedToken {
  accessToken: string;
  tokenType: string;
  expiresAtMs: number;
}

interface TokenEndpointContext {
  host: string;
  transport: HttpTransport;
  clock: Clock;
}

/** Shared by M2M and federation: cache, early refresh, single flight. */
abstract class OAuthProvider implements CredentialsProvider {
  abstract readonly authType: AuthType;
  private cached: CachedToken | undefined;
  private inFlight: Promise<CachedToken> | undefined;
  // Old tokens stay redacted for a while: an error about a just-replaced token must not leak it.
  private readonly issuedTokens: string[] = [];

  constructor(protected readonly ctx: TokenEndpointContext) {}

  protected abstract requestToken(): Promise<CachedToken>;
  protected abstract staticSecrets(): string[];

  async authorization(signal?: AbortSignal): Promise<string> {
    const token = await this.token(signal);
    // The header names Bearer whatever the case of token_type (GO/JS SDKs).
    return `Bearer ${token.accessToken}`;
  }

  private fresh(token: CachedToken | undefined): token is CachedToken {
    return token !== undefined && this.ctx.clock.now() < token.expiresAtMs;
  }

  private token(signal?: AbortSignal): Promise<CachedToken> {
    if (this.fresh(this.cached)) return Promise.resolve(this.cached);
    if (!this.inFlight) {
      this.inFlight = this.requestToken()
        .then((token) => {
          this.cached = token;
          this.issuedTokens.push(token.accessToken);
          if (this.issuedTokens.length > MAX_REMEMBERED_TOKENS) this.issuedTokens.shift();
          return token;
        })
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    if (!signal) return this.inFlight;
    // One caller giving up must not cancel the refresh the others wait for.
    return Promise.race([
      this.inFlight,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    ]);
  }

  invalidate(refused?: string): boolean {
    if (refused === undefined || refused === `Bearer ${this.cached?.accessToken ?? ''}`) this.cached = undefined;
    return true;
  }

  secrets(): string[] {
    return [...this.staticSecrets(), ...this.issuedTokens];
  }

  /** POST an x-www-form-urlencoded body to a token endpoint and read the token out of the answer. */
  protected async postForToken(tokenUrl: URL, form: URLSearchParams, headers: Record<string, string>): Promise<CachedToken> {
    const path = tokenUrl.pathname;
    const res = await this.ctx.transport.send(tokenUrl.origin, {
      method: 'POST',
      path: `${tokenUrl.pathname}${tokenUrl.search}`,
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': userAgent(this.authType),
        ...headers,
      },
      body: form.toString(),
      timeoutMs: TOKEN_REQUEST_TIMEOUT_MS,
      secrets: this.secrets(),
    });
    if (res.status < 200 || res.status >= 300) throw this.tokenError(res, path);
    let json: unknown;
    try {
      json = parseHostJson(res.bodyText);
    } catch {
      json = undefined;
    }
    const parsed = OAuthTokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new DatabricksError({
        kind: 'InvalidResponse',
        message: `POST ${path}: the token endpoint answered ${res.status} without a usable access_token/expires_in`,
        status: res.status,
        requestId: requestIdFrom(res.headers),
        method: 'POST',
        path,
        secrets: this.secrets(),
      });
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    // Refresh 40 s early, or halfway through for very short-lived tokens.
    const marginMs = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
    return {
      accessToken: parsed.data.access_token,
      tokenType: parsed.data.token_type ?? 'Bearer',
      expiresAtMs: this.ctx.clock.now() + lifetimeMs - marginMs,
    };
  }

  /** Refused credentials are Auth (never retried in a loop); 429/5xx keep their usual kinds. */
  private tokenError(res: HttpResponse, path: string): DatabricksError {
    let description = '';
    let code: string | undefined;
    try {
      const body = OAuthErrorBodySchema.parse(parseHostJson(res.bodyText));
      // The host's words, as errors.ts keeps any server's: scrubbed whole, then one short visible line.
      const hostText = (text: string, max: number) => capText(oneLine(redactSecrets(text, this.secrets())), max);
      code = body.error === undefined ? undefined : hostText(body.error, MAX_ERROR_CODE);
      description = hostText(body.error_description ?? '', MAX_SERVER_MESSAGE);
    } catch {
      // not an RFC 6749 error body: the status alone tells the story
    }
    const httpKind = classifyHttpError(res.status, undefined, description);
    const kind = res.status >= 400 && res.status < 500 && httpKind !== 'RateLimited' ? 'Auth' : httpKind;
    const retryAfter = res.headers['retry-after'];
    return new DatabricksError({
      kind,
      message: `${this.authType} token request to ${path} was refused (${res.status}${code ? ` ${code}` : ''})${
        description ? `: ${description}` : ''
      }`,
      status: res.status,
      errorCode: code,
      requestId: requestIdFrom(res.headers),
      retryAfterMs: typeof retryAfter === 'string' ? parseRetryAfter(retryAfter, this.ctx.clock.wallNow?.() ?? this.ctx.clock.now()) : undefined,
      method: 'POST',
      path,
      serverMessage: description,
      secrets: this.secrets(),
    });
  }
}

class OAuthM2MProvider extends OAuthProvider {
  readonly authType = 'oauth-m2m' as const;
  private tokenUrl: URL | undefined;

  constructor(
    ctx: TokenEndpointContext,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly scopes: string,
  ) {
    super(ctx);
  }

  protected staticSecrets(): string[] {
    return [this.clientSecret, Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')];
  }

  protected async requestToken(): Promise<CachedToken> {
    const tokenUrl = (this.tokenUrl ??= await this.discoverTokenEndpoint());
    const basic = Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64');
    const form = new URLSearchParams({ grant_type: GRANT_TYPE_CLIENT_CREDENTIALS, scope: this.scopes });
    return this.postForToken(tokenUrl, form, { authorization: `Basic ${basic}` });
  }

  /**
   * GET {host}/oidc/.well-known/oauth-authorization-server → token_endpoint. The client secret is only
   * ever sent to the workspace's own origin, whatever the document says.
   */
  private async discoverTokenEndpoint(): Promise<URL> {
    const fallback = new URL(OIDC_TOKEN_PATH, this.ctx.host);
    const res = await this.ctx.transport.send(this.ctx.host, {
      method: 'GET',
      path: OIDC_DISCOVERY_PATH,
      headers: { accept: 'application/json', 'user-agent': userAgent(this.authType) },
      timeoutMs: TOKEN_REQUEST_TIMEOUT_MS,
    });
    if (res.status === 404) return fallback;
    if (res.status < 200 || res.status >= 300) {
      const kind = res.status >= 500 || res.status === 429 ? classifyHttpError(res.status, undefined, '') : 'Auth';
      throw new DatabricksError({
        kind,
        message: `OAuth discovery at ${OIDC_DISCOVERY_PATH} failed with HTTP ${res.status}`,
        status: res.status,
        requestId: requestIdFrom(res.headers),
        method: 'GET',
        path: OIDC_DISCOVERY_PATH,
      });
    }
    let doc: unknown;
    try {
      doc = parseHostJson(res.bodyText);
    } catch {
      doc = undefined;
    }
    const parsed = OidcDiscoverySchema.safeParse(doc);
    if (!parsed.success) return fallback;
    const refuse = (why: string) =>
      new DatabricksError({ kind: 'Auth', message: `OAuth discovery ${why}; refusing to send the client secret there`, method: 'GET', path: OIDC_DISCOVERY_PATH });
    let url: URL;
    let origin: string;
    try {
      url = new URL(parsed.data.token_endpoint, this.ctx.host);
      origin = normaliseHost(url.origin);
    } catch {
      // not a URL, or an origin no workspace may have (plain http:// off loopback)
      throw refuse(`names a token endpoint that is not a usable https URL (${JSON.stringify(parsed.data.token_endpoint.slice(0, 200))})`);
    }
    if (origin !== this.ctx.host) throw refuse(`names a token endpoint on another origin (${capText(url.origin, 200)})`);
    return url;
  }
}

/**
 * OAuth token federation: RFC 8693 token exchange at the workspace token endpoint, as documented at
 * https://docs.databricks.com/aws/en/dev-tools/auth/oauth-federation-exchange
 * (and https://docs.databricks.com/en/dev-tools/auth/oauth-federation-howto.html):
 *   POST https://<workspace-host>/oidc/v1/token, form fields
 *     grant_type=urn:ietf:params:oauth:grant-type:token-exchange
 *     subject_token=<federated JWT>
 *     subject_token_type=urn:ietf:params:oauth:token-type:jwt
 *     scope=all-apis
 *     client_id=<service principal application id>   (only for a service-principal federation policy;
 *                                                     omitted for an account-wide policy)
 * No client secret and no Basic auth: the signed JWT is the credential.
 */
class TokenFederationProvider extends OAuthProvider {
  readonly authType = 'file-oidc' as const;
  private lastSubjectToken: string | undefined;

  constructor(
    ctx: TokenEndpointContext,
    private readonly tokenFilePath: string,
    private readonly clientId: string | undefined,
    private readonly scopes: string,
  ) {
    super(ctx);
  }

  protected staticSecrets(): string[] {
    return this.lastSubjectToken ? [this.lastSubjectToken] : [];
  }

  protected async requestToken(): Promise<CachedToken> {
    const subjectToken = await this.readSubjectToken();
    this.lastSubjectToken = subjectToken;
    const form = new URLSearchParams({
      grant_type: GRANT_TYPE_TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: SUBJECT_TOKEN_TYPE_JWT,
      scope: this.scopes,
    });
    if (this.clientId) form.set('client_id', this.clientId);
    return this.postForToken(new URL(OIDC_TOKEN_PATH, this.ctx.host), form, {});
  }

  /** Read at every exchange: the projected service-account token rotates. */
  private async readSubjectToken(): Promise<string> {
    let text: string;
    try {
      text = await readFile(this.tokenFilePath, 'utf8');
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'unknown error';
      throw new DatabricksError({
        kind: 'Auth',
        message: `cannot read the federated token file ${this.tokenFilePath} (${code})`,
      });
    }
    const token = text.trim();
    if (token === '') {
      throw new DatabricksError({ kind: 'Auth', message: `the federated token file ${this.tokenFilePath} is empty` });
    }
    return token;
  }
}

export interface CredentialsContext {
  /** normalised workspace host */
  host: string;
  transport: HttpTransport;
  clock?: Clock;
}

export function createCredentialsProvider(auth: AuthConfig, ctx: CredentialsContext): CredentialsProvider {
  const endpointCtx = { host: ctx.host, transport: ctx.transport, clock: ctx.clock ?? systemClock };
  switch (auth.type) {
    case 'pat':
      if (auth.token.trim() === '') throw configError('the personal access token is empty');
      return new StaticTokenProvider(auth.token.trim());
    case 'oauth-m2m':
      if (auth.clientId.trim() === '' || auth.clientSecret.trim() === '') {
        throw configError('OAuth M2M needs both a client id and a client secret');
      }
      return new OAuthM2MProvider(endpointCtx, auth.clientId.trim(), auth.clientSecret.trim(), auth.scopes ?? OAUTH_DEFAULT_SCOPE);
    case 'token-federation':
      if (auth.tokenFilePath.trim() === '') throw configError('token federation needs the path of a token file');
      return new TokenFederationProvider(
        endpointCtx,
        auth.tokenFilePath,
        auth.clientId?.trim() || undefined,
        auth.scopes ?? OAUTH_DEFAULT_SCOPE,
      );
  }
}

/**
 * Whether a credential holds characters an HTTP header cannot carry (control or non-ASCII ones): it was stored with
 * more than itself. Sent anyway, the HTTP client refuses the header and it looks like an unreachable host.
 */
export function unfitForHeader(value: string): boolean {
  return /[^\x20-\x7e]/.test(value);
}

function configError(message: string): DatabricksError {
  return new DatabricksError({ kind: 'Auth', message, errorCode: 'CREDENTIALS_NOT_CONFIGURED' });
}

export interface WorkspaceConnection {
  host: string;
  auth: AuthConfig;
}

/**
 * The default workspace from the Databricks environment variables, in the SDKs' order: PAT, then
 * OAuth M2M, then a token file (DATABRICKS_AUTH_TYPE forces one: pat, oauth-m2m, file-oidc).
 */
export function workspaceConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): WorkspaceConnection {
  const rawHost = env['DATABRICKS_HOST']?.trim();
  if (!rawHost) throw configError('DATABRICKS_HOST is not set');
  const host = normaliseHost(rawHost);
  const forced = env['DATABRICKS_AUTH_TYPE']?.trim();
  const token = env['DATABRICKS_TOKEN']?.trim();
  const clientId = env['DATABRICKS_CLIENT_ID']?.trim();
  const clientSecret = env['DATABRICKS_CLIENT_SECRET']?.trim();
  const tokenFile = env['DATABRICKS_OIDC_TOKEN_FILEPATH']?.trim();
  for (const [name, value] of [['DATABRICKS_TOKEN', token], ['DATABRICKS_CLIENT_ID', clientId], ['DATABRICKS_CLIENT_SECRET', clientSecret]] as const) {
    if (value && unfitForHeader(value)) throw configError(`${name} holds characters not allowed in an HTTP header (control or non-ASCII characters); set the credential alone`);
  }

  const candidates: { type: AuthType; auth: AuthConfig | undefined }[] = [
    { type: 'pat', auth: token ? { type: 'pat', token } : undefined },
    {
      type: 'oauth-m2m',
      auth: clientId && clientSecret ? { type: 'oauth-m2m', clientId, clientSecret } : undefined,
    },
    {
      type: 'file-oidc',
      auth: tokenFile
        ? { type: 'token-federation', tokenFilePath: tokenFile, ...(clientId ? { clientId } : {}) }
        : undefined,
    },
  ];
  if (forced) {
    const chosen = candidates.find((c) => c.type === forced);
    if (!chosen) throw configError(`DATABRICKS_AUTH_TYPE=${forced} is not supported (pat, oauth-m2m, file-oidc)`);
    if (!chosen.auth) throw configError(`DATABRICKS_AUTH_TYPE=${forced} but its variables are not set`);
    return { host, auth: chosen.auth };
  }
  const first = candidates.find((c) => c.auth !== undefined);
  if (!first?.auth) {
    throw configError(
      'no Databricks credentials in the environment: set DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET, or DATABRICKS_OIDC_TOKEN_FILEPATH',
    );
  }
  return { host, auth: first.auth };
}
