// Workspace authentication as in reference §4: PAT bearer tokens, OAuth M2M (client credentials with
// HTTP Basic client auth, scope all-apis, expiring tokens) and token federation (RFC 8693 exchange of
// a JWT). Token expiry runs on the virtual clock. Tokens and secrets are never logged or echoed.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  GRANT_TYPE_CLIENT_CREDENTIALS,
  GRANT_TYPE_TOKEN_EXCHANGE,
  OAUTH_DEFAULT_SCOPE,
  SUBJECT_TOKEN_TYPE_JWT,
  type OAuthErrorBody,
  type OAuthTokenResponse,
  type OidcDiscovery,
} from '../databricks/api-types.js';
import type { VirtualClock } from './clock.js';
import { ApiError } from './errors.js';
import { type AuthPolicy, type AuthRotation, DEFAULT_CREATOR } from './scenario.js';

/** Accepted when a scenario lists no clients (documented in docs/emulator.md). */
export const DEFAULT_CLIENT_ID = 'pt-emulator-client';
export const DEFAULT_CLIENT_SECRET = 'pt-emulator-secret';
/** Real PATs start with this; with no scenario list, any bearer token with it is accepted. */
export const DEFAULT_PAT_PREFIX = 'dapi';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface Principal {
  kind: 'pat' | 'oauth-m2m' | 'federation';
  readOnly: boolean;
  /** the identity the credential stands for (scenario.ts UserNameSchema) */
  userName: string;
}

export type TokenResult =
  | { status: 200; body: OAuthTokenResponse }
  | { status: 400 | 401; body: OAuthErrorBody & { error: string; error_description: string } };

interface IssuedToken {
  expiresAt: number;
  principal: Principal;
}

export class AuthService {
  #policy: AuthPolicy;
  readonly #clock: VirtualClock;
  readonly #issued = new Map<string, IssuedToken>();

  /** the identity of a credential whose scenario entry names none */
  readonly #defaultUser: string;

  constructor(policy: AuthPolicy, clock: VirtualClock, defaultUser = DEFAULT_CREATOR) {
    this.#policy = policy;
    this.#clock = clock;
    this.#defaultUser = defaultUser;
  }

  /** The caller of an API request, from its Authorization header; throws 401/403 otherwise. */
  authenticate(authorization: string | undefined): Principal {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (token === undefined) {
      throw new ApiError(401, 'UNAUTHENTICATED', 'Credential was not sent or was of an unsupported type for this API.');
    }
    const issued = this.#issued.get(token);
    if (issued) {
      // Like Databricks, whose tokens carry their own expiry: every later use is the same 401, never an unknown token's 403.
      if (issued.expiresAt <= this.#clock.now()) {
        throw new ApiError(401, 'UNAUTHENTICATED', 'The access token has expired. Request a new token and try again.');
      }
      return issued.principal;
    }
    const pat = this.#findPat(token);
    if (pat) return pat;
    // As real workspaces answer it (databricks-sdk-go issues #873, #917, #1046): a numeric error_code.
    throw new ApiError(403, 403, 'Invalid access token.');
  }

  /**
   * GET /.well-known/databricks-config: newer SDKs (Python 0.162) find the OIDC discovery URL here and
   * cannot do OAuth M2M without it (field names from the SDK's HostMetadata parser).
   */
  hostMetadata(baseUrl: string, workspaceId: string): { oidc_endpoint: string; workspace_id: string } {
    return { oidc_endpoint: `${baseUrl}/oidc`, workspace_id: workspaceId };
  }

  discovery(baseUrl: string): OidcDiscovery {
    return {
      issuer: `${baseUrl}/oidc`,
      authorization_endpoint: `${baseUrl}/oidc/v1/authorize`,
      token_endpoint: `${baseUrl}/oidc/v1/token`,
    };
  }

  /** POST /oidc/v1/token with a form body. */
  token(form: URLSearchParams, authorization: string | undefined): TokenResult {
    const grantType = form.get('grant_type');
    const scope = form.get('scope') ?? OAUTH_DEFAULT_SCOPE;
    if (!scope.split(/\s+/).includes(OAUTH_DEFAULT_SCOPE)) {
      return oauthError(400, 'invalid_scope', `The requested scope is not supported; request '${OAUTH_DEFAULT_SCOPE}'.`);
    }
    if (grantType === GRANT_TYPE_CLIENT_CREDENTIALS) {
      const client = this.#findClient(authorization, form);
      if (!client) return oauthError(401, 'invalid_client', 'Client authentication failed.');
      return this.#issue({ kind: 'oauth-m2m', readOnly: client.readOnly, userName: client.userName ?? this.#defaultUser });
    }
    if (grantType === GRANT_TYPE_TOKEN_EXCHANGE) {
      if (form.get('subject_token_type') !== SUBJECT_TOKEN_TYPE_JWT) {
        return oauthError(400, 'invalid_request', `subject_token_type must be ${SUBJECT_TOKEN_TYPE_JWT}.`);
      }
      const verdict = this.#judgeFederatedJwt(form.get('subject_token') ?? '', form.get('client_id') ?? undefined);
      if ('problem' in verdict) return oauthError(400, 'invalid_grant', verdict.problem);
      return this.#issue({ kind: 'federation', readOnly: false, userName: verdict.userName ?? this.#defaultUser }, true);
    }
    return oauthError(400, 'unsupported_grant_type', `Grant type ${JSON.stringify(grantType ?? '')} is not supported.`);
  }

  /**
   * A platform team's rotation: only the PATs and clients listed are accepted from now on (a PAT left out is answered
   * as an unknown one, 403). OAuth tokens already issued stay valid until they expire, as Databricks' do.
   */
  rotate(change: AuthRotation): void {
    this.#policy = { ...this.#policy, ...(change.pats && { pats: change.pats }), ...(change.clients && { clients: change.clients }) };
  }

  /** Forgets issued OAuth tokens (they expire anyway; used by tests that want a clean slate). */
  clearTokens(): void {
    this.#issued.clear();
  }

  #issue(principal: Principal, exchanged = false): TokenResult {
    const lifetimeSeconds = this.#policy.tokenLifetimeSeconds;
    this.#forgetLongExpired();
    const accessToken = randomBytes(32).toString('base64url');
    this.#issued.set(accessToken, { expiresAt: this.#clock.now() + lifetimeSeconds * 1000, principal });
    // expires_in is in real seconds at the current clock speed, so a client's own timer agrees with us.
    const body: OAuthTokenResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.#clock.toClientSeconds(lifetimeSeconds),
      scope: OAUTH_DEFAULT_SCOPE,
    };
    if (exchanged) body.issued_token_type = ACCESS_TOKEN_TYPE;
    return { status: 200, body };
  }

  /** Bounds memory: a token expired for a day is unlikely to be sent again (if it is, it is answered as unknown). */
  #forgetLongExpired(): void {
    const horizon = this.#clock.now() - 24 * 3600_000;
    for (const [token, issued] of this.#issued) if (issued.expiresAt <= horizon) this.#issued.delete(token);
  }

  #findPat(token: string): Principal | undefined {
    const pats = this.#policy.pats;
    if (pats === undefined) return token.startsWith(DEFAULT_PAT_PREFIX) ? { kind: 'pat', readOnly: false, userName: this.#defaultUser } : undefined;
    for (const pat of pats) {
      const entry = typeof pat === 'string' ? { token: pat, readOnly: false, userName: undefined } : pat;
      if (safeEqual(entry.token, token)) return { kind: 'pat', readOnly: entry.readOnly, userName: entry.userName ?? this.#defaultUser };
    }
    return undefined;
  }

  #findClient(authorization: string | undefined, form: URLSearchParams): { readOnly: boolean; userName?: string | undefined } | undefined {
    const candidates = basicCredentials(authorization) ?? formCredentials(form);
    const clients = this.#policy.clients ?? [{ id: DEFAULT_CLIENT_ID, secret: DEFAULT_CLIENT_SECRET, readOnly: false }];
    const client = clients.find((c) => candidates.some((p) => c.id === p.id && safeEqual(c.secret, p.secret)));
    return client ? { readOnly: client.readOnly, userName: client.userName } : undefined;
  }

  /**
   * Why a federated JWT is refused, or the identity of the policy that accepts it (none: the default identity).
   * Signatures are not checked (no IdP keys offline).
   */
  #judgeFederatedJwt(jwt: string, clientId: string | undefined): { problem: string } | { userName?: string | undefined } {
    const claims = decodeJwtClaims(jwt);
    if (!claims) return { problem: 'The subject_token is not a well-formed JWT.' };
    const { iss, sub, aud, exp } = claims;
    if (typeof iss !== 'string' || typeof sub !== 'string') return { problem: 'The subject_token must carry iss and sub claims.' };
    // The JWT comes from a real identity provider, so its expiry is judged on real time, not virtual.
    if (typeof exp !== 'number' || exp * 1000 <= Date.now()) return { problem: 'The subject_token has expired.' };
    const policies = this.#policy.federation;
    if (policies === undefined) return {};
    const audiences = Array.isArray(aud) ? aud : [aud];
    // A service principal's policy applies only to an exchange naming that service principal (client_id); an
    // account-wide policy (no clientId) to any exchange.
    const allowed = policies.find(
      (p) =>
        p.issuer === iss &&
        (p.subject === undefined || p.subject === sub) &&
        (p.audience === undefined || audiences.includes(p.audience)) &&
        (p.clientId === undefined || p.clientId === clientId),
    );
    return allowed
      ? { userName: allowed.userName }
      : { problem: 'No federation policy matches the issuer, audience and subject of the subject_token (and the client_id, for a service principal policy).' };
  }
}

function oauthError(status: 400 | 401, error: string, description: string): TokenResult {
  return { status, body: { error, error_description: description } };
}

type ClientCredentials = { id: string; secret: string };

/** Candidate credentials from a Basic header: as sent, and form-decoded (RFC 6749 §2.3.1, which Go applies and Python's requests does not). */
function basicCredentials(authorization: string | undefined): ClientCredentials[] | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return [];
  const raw = { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  return [raw, { id: decodeFormPart(raw.id), secret: decodeFormPart(raw.secret) }];
}

function decodeFormPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

function formCredentials(form: URLSearchParams): ClientCredentials[] {
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id !== null && secret !== null ? [{ id, secret }] : [];
}

function safeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function decodeJwtClaims(jwt: string): Record<string, unknown> | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
