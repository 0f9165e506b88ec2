import { describe, expect, it } from 'vitest';
import { AuthService, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../../src/emulator/auth.js';
import { VirtualClock } from '../../../src/emulator/clock.js';
import type { ApiError } from '../../../src/emulator/errors.js';
import { FaultEngine } from '../../../src/emulator/faults.js';
import { seededRandom } from '../../../src/emulator/rng.js';
import { parseScenario } from '../../../src/emulator/scenario.js';

const GET_ENDPOINT = { method: 'GET', path: '/api/2.0/serving-endpoints/llama', endpoint: 'llama' };

describe('request faults', () => {
  it('fire at the configured rate, identically for the same seed', () => {
    const outcomes = (seed: number) => {
      const engine = new FaultEngine(seededRandom(seed));
      engine.add({ type: 'unavailable', rate: 0.3 }, 0);
      return Array.from({ length: 200 }, () => engine.requestFaults(GET_ENDPOINT, 0).reject?.status ?? 200);
    };
    const first = outcomes(42);
    expect(outcomes(42)).toEqual(first);
    const failures = first.filter((s) => s === 503).length;
    expect(failures).toBeGreaterThan(40);
    expect(failures).toBeLessThan(80);
  });

  it('throttle answers 429 with Retry-After, a limited number of times, only on matching requests', () => {
    const engine = new FaultEngine(seededRandom(1));
    engine.add({ type: 'throttle', retryAfterSeconds: 7, times: 2, match: { method: 'PUT' } }, 0);
    expect(engine.requestFaults(GET_ENDPOINT, 0).reject).toBeUndefined();
    const put = { method: 'PUT', path: '/api/2.0/serving-endpoints/llama/config' };
    const first = engine.requestFaults(put, 0).reject as ApiError;
    expect([first.status, first.errorCode, first.headers['Retry-After']]).toEqual([429, 'REQUEST_LIMIT_EXCEEDED', '7']);
    expect(engine.requestFaults(put, 0).reject?.status).toBe(429);
    expect(engine.requestFaults(put, 0).reject).toBeUndefined();
    // The OAuth endpoints are outside the default /api/ match.
    engine.add({ type: 'drop' }, 0);
    expect(engine.requestFaults({ method: 'POST', path: '/oidc/v1/token' }, 0).drop).toBe(false);
    expect(engine.requestFaults(GET_ENDPOINT, 0).drop).toBe(true);
  });

  it('permissionDenied answers 403 PERMISSION_DENIED on the matching path only (a grant missing on one model)', () => {
    const engine = new FaultEngine(seededRandom(1));
    const modelPath = '/api/2.0/serving-endpoints/get-model-optimization-info/main.ml.secret/';
    engine.add({ type: 'permissionDenied', message: 'User does not have EXECUTE on Model', match: { path: modelPath } }, 0);
    expect(engine.requestFaults(GET_ENDPOINT, 0).reject).toBeUndefined();
    const refused = engine.requestFaults({ method: 'GET', path: `${modelPath}2` }, 0).reject as ApiError;
    expect([refused.status, refused.errorCode, refused.message]).toEqual([403, 'PERMISSION_DENIED', 'User does not have EXECUTE on Model']);
  });

  it('honour start and duration windows on the virtual clock', () => {
    const engine = new FaultEngine(seededRandom(1));
    engine.add({ type: 'latency', ms: 250, startAfterSeconds: 60, forSeconds: 60 }, 0);
    expect(engine.requestFaults(GET_ENDPOINT, 59_999).latencyMs).toBe(0);
    expect(engine.requestFaults(GET_ENDPOINT, 60_000).latencyMs).toBe(250);
    expect(engine.requestFaults(GET_ENDPOINT, 120_000).latencyMs).toBe(0);
  });
});

function jwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.signature`;
}

function authError(fn: () => unknown): [number, string | number] {
  try {
    fn();
  } catch (error) {
    return [(error as ApiError).status, (error as ApiError).errorCode];
  }
  throw new Error('expected a rejection');
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields);

/** An RFC 8693 token exchange of a JWT, as the SDKs' federation flows send it (client_id: a service principal's policy). */
const exchangeToken = (auth: AuthService, token: string, clientId?: string) =>
  auth.token(
    form({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: 'all-apis',
      ...(clientId !== undefined && { client_id: clientId }),
    }),
    undefined,
  );

describe('auth', () => {
  it('accepts any dapi… PAT by default, and only the listed ones when a scenario restricts them', () => {
    const clock = new VirtualClock({ speed: 0 });
    const open = new AuthService(parseScenario({}).auth, clock);
    expect(open.authenticate('Bearer dapi123').kind).toBe('pat');
    expect(authError(() => open.authenticate('Bearer abc'))).toEqual([403, 403]); // a real workspace's numeric code
    expect(authError(() => open.authenticate(undefined))).toEqual([401, 'UNAUTHENTICATED']);
    const strict = new AuthService(parseScenario({ auth: { pats: ['dapi-good', { token: 'dapi-viewer', readOnly: true }] } }).auth, clock);
    expect(authError(() => strict.authenticate('Bearer dapi-other'))).toEqual([403, 403]);
    expect(strict.authenticate('Bearer dapi-viewer').readOnly).toBe(true);
  });

  it('a rotation accepts only the new PATs and client secrets; tokens issued before stay valid, a list left out is kept', () => {
    const clock = new VirtualClock({ speed: 0 });
    const auth = new AuthService(parseScenario({ auth: { pats: ['dapi-old'], clients: [{ id: 'sp', secret: 'old' }] } }).auth, clock);
    const grant = form({ grant_type: 'client_credentials', scope: 'all-apis' });
    const issued = (auth.token(grant, basic('sp', 'old')).body as { access_token: string }).access_token;
    auth.rotate({ pats: ['dapi-new'] });
    expect(authError(() => auth.authenticate('Bearer dapi-old'))).toEqual([403, 403]);
    expect(auth.authenticate('Bearer dapi-new').kind).toBe('pat');
    expect(auth.token(grant, basic('sp', 'old')).status).toBe(200);
    auth.rotate({ clients: [{ id: 'sp', secret: 'new', readOnly: false }] });
    expect(auth.token(grant, basic('sp', 'old')).status).toBe(401);
    expect(auth.token(grant, basic('sp', 'new')).status).toBe(200);
    expect(auth.authenticate(`Bearer ${issued}`).kind).toBe('oauth-m2m');
    expect(auth.authenticate('Bearer dapi-new').kind).toBe('pat');
  });

  it('issues expiring M2M tokens for the default client with HTTP Basic, and refuses wrong secrets', () => {
    const clock = new VirtualClock({ speed: 0 });
    const auth = new AuthService(parseScenario({}).auth, clock);
    const grant = form({ grant_type: 'client_credentials', scope: 'all-apis' });
    const issued = auth.token(grant, basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET));
    expect(issued).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 3600, scope: 'all-apis' } });
    const token = (issued.body as { access_token: string }).access_token;
    expect(auth.authenticate(`Bearer ${token}`).kind).toBe('oauth-m2m');
    clock.advance(3600_000);
    // Every use of an expired token is the same 401 (issue 16, finding 12), not a 403 from the second on.
    for (let attempt = 0; attempt < 3; attempt++) expect(authError(() => auth.authenticate(`Bearer ${token}`))).toEqual([401, 'UNAUTHENTICATED']);
    clock.advance(60_000);
    expect(auth.token(grant, basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)).status).toBe(200);
    expect(authError(() => auth.authenticate(`Bearer ${token}`))).toEqual([401, 'UNAUTHENTICATED']);

    expect(auth.token(grant, basic(DEFAULT_CLIENT_ID, 'wrong'))).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'Client authentication failed.' },
    });
    expect(auth.token(form({ grant_type: 'password' }), basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)).body).toMatchObject({ error: 'unsupported_grant_type' });
    expect(auth.token(form({ grant_type: 'client_credentials', scope: 'sql' }), basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)).body).toMatchObject({ error: 'invalid_scope' });
  });

  it('reports expires_in in real seconds at the clock speed', () => {
    const auth = new AuthService(parseScenario({}).auth, new VirtualClock({ speed: 600 }));
    const issued = auth.token(form({ grant_type: 'client_credentials' }), basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET));
    expect(issued.body).toMatchObject({ expires_in: 6 });
  });

  it('exchanges a federated JWT that matches a policy, and refuses expired or foreign ones', () => {
    const clock = new VirtualClock({ speed: 0 });
    const policy = parseScenario({ auth: { federation: [{ issuer: 'https://token.actions.githubusercontent.com', audience: 'databricks' }] } }).auth;
    const auth = new AuthService(policy, clock);
    const exp = Math.floor(Date.now() / 1000) + 300;
    const exchange = (token: string) => exchangeToken(auth, token);
    const good = exchange(jwt({ iss: 'https://token.actions.githubusercontent.com', sub: 'repo:x', aud: 'databricks', exp }));
    expect(good).toMatchObject({ status: 200, body: { token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' } });
    expect(auth.authenticate(`Bearer ${(good.body as { access_token: string }).access_token}`).kind).toBe('federation');
    expect(exchange(jwt({ iss: 'https://evil.example', sub: 'x', aud: 'databricks', exp })).body).toMatchObject({ error: 'invalid_grant' });
    expect(exchange(jwt({ iss: 'https://token.actions.githubusercontent.com', sub: 'x', aud: 'databricks', exp: exp - 600 })).body).toMatchObject({
      error: 'invalid_grant',
      error_description: 'The subject_token has expired.',
    });
    expect(exchange('not-a-jwt').status).toBe(400);
  });

  it("matches a service principal's federation policy only for an exchange that names its client_id", () => {
    // Databricks' token exchange: client_id is the service principal's application id for workload identity
    // federation (a policy on that service principal); an exchange without it is matched against account-wide policies.
    const issuer = 'https://kubernetes.default.svc';
    const policy = parseScenario({ auth: { federation: [{ issuer, audience: 'databricks', clientId: 'sp-app-id' }] } }).auth;
    const auth = new AuthService(policy, new VirtualClock({ speed: 0 }));
    const token = jwt({ iss: issuer, sub: 'system:serviceaccount:pt-operator:pt-operator', aud: 'databricks', exp: Math.floor(Date.now() / 1000) + 300 });
    const exchange = (clientId?: string) => exchangeToken(auth, token, clientId);
    expect(exchange('sp-app-id').status).toBe(200);
    expect(exchange().body).toMatchObject({ error: 'invalid_grant' });
    expect(exchange('another-sp').body).toMatchObject({ error: 'invalid_grant' });
  });
});
