import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCredentialsProvider, workspaceConnectionFromEnv } from '../../../src/databricks/auth.js';
import { DatabricksError, MAX_SERVER_MESSAGE } from '../../../src/databricks/errors.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from '../../../src/databricks/transport.js';
import { FakeClock, flushMicrotasks } from './fake-clock.js';

describe('workspaceConnectionFromEnv', () => {
  const host = 'https://adb-1.azuredatabricks.net/';

  it('prefers a PAT, then OAuth M2M, then a token file, like the SDKs', () => {
    const all = {
      DATABRICKS_HOST: host,
      DATABRICKS_TOKEN: 'dapi-x',
      DATABRICKS_CLIENT_ID: 'id',
      DATABRICKS_CLIENT_SECRET: 'secret',
      DATABRICKS_OIDC_TOKEN_FILEPATH: '/var/run/secrets/token',
    };
    expect(workspaceConnectionFromEnv(all)).toEqual({ host: 'https://adb-1.azuredatabricks.net', auth: { type: 'pat', token: 'dapi-x' } });
    expect(workspaceConnectionFromEnv({ ...all, DATABRICKS_TOKEN: '' }).auth).toEqual({
      type: 'oauth-m2m',
      clientId: 'id',
      clientSecret: 'secret',
    });
    expect(workspaceConnectionFromEnv({ ...all, DATABRICKS_TOKEN: undefined, DATABRICKS_CLIENT_SECRET: undefined }).auth).toEqual({
      type: 'token-federation',
      tokenFilePath: '/var/run/secrets/token',
      clientId: 'id',
    });
    expect(workspaceConnectionFromEnv({ ...all, DATABRICKS_AUTH_TYPE: 'file-oidc' }).auth.type).toBe('token-federation');
  });

  it('federation without a client id (account-wide policy) sends none', () => {
    expect(workspaceConnectionFromEnv({ DATABRICKS_HOST: host, DATABRICKS_OIDC_TOKEN_FILEPATH: '/t' }).auth).toEqual({
      type: 'token-federation',
      tokenFilePath: '/t',
    });
  });

  it.each([
    [{}, /DATABRICKS_HOST is not set/],
    [{ DATABRICKS_HOST: host }, /no Databricks credentials/],
    [{ DATABRICKS_HOST: host, DATABRICKS_CLIENT_ID: 'id' }, /no Databricks credentials/],
    [{ DATABRICKS_HOST: host, DATABRICKS_TOKEN: 't', DATABRICKS_AUTH_TYPE: 'oauth-m2m' }, /its variables are not set/],
    [{ DATABRICKS_HOST: host, DATABRICKS_TOKEN: 't', DATABRICKS_AUTH_TYPE: 'azure-cli' }, /not supported/],
    [{ DATABRICKS_HOST: 'http://adb-1.azuredatabricks.net', DATABRICKS_TOKEN: 't' }, /only allowed for loopback/],
    [{ DATABRICKS_HOST: host, DATABRICKS_TOKEN: 'dapi\u0001x' }, /DATABRICKS_TOKEN holds characters not allowed in an HTTP header/],
    [{ DATABRICKS_HOST: host, DATABRICKS_CLIENT_ID: 'id', DATABRICKS_CLIENT_SECRET: 'sé' }, /DATABRICKS_CLIENT_SECRET holds characters not allowed in an HTTP header/],
  ])('refuses %j', (env, message) => {
    expect(() => workspaceConnectionFromEnv(env)).toThrow(message);
  });

  it('reports missing credentials as an Auth error', () => {
    try {
      workspaceConnectionFromEnv({ DATABRICKS_HOST: host });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DatabricksError);
      expect((err as DatabricksError).kind).toBe('Auth');
    }
  });
});

/** A transport that answers token requests from a script and records them. */
class ScriptedTransport extends HttpTransport {
  readonly sent: HttpRequest[] = [];
  constructor(private readonly answer: (req: HttpRequest, n: number) => Promise<HttpResponse> | HttpResponse) {
    super();
  }
  override async send(_origin: string, req: HttpRequest): Promise<HttpResponse> {
    this.sent.push(req);
    return this.answer(req, this.sent.length);
  }
}

const tokenAnswer = (n: number, expiresIn = 3600): HttpResponse => ({
  status: 200,
  headers: {},
  bodyText: JSON.stringify({ access_token: `access-token-number-${n}`, token_type: 'Bearer', expires_in: expiresIn }),
});

describe('OAuth M2M token cache', () => {
  function m2m(clock: FakeClock, transport: ScriptedTransport) {
    return createCredentialsProvider(
      { type: 'oauth-m2m', clientId: 'sp-id', clientSecret: 'sp-secret-value' },
      { host: 'https://w.example', transport, clock },
    );
  }

  it('posts client_credentials with Basic auth and scope all-apis to the discovered endpoint', async () => {
    const transport = new ScriptedTransport((req, n) =>
      req.method === 'GET'
        ? { status: 200, headers: {}, bodyText: JSON.stringify({ token_endpoint: 'https://w.example/oidc/v1/token' }) }
        : tokenAnswer(n),
    );
    const provider = m2m(new FakeClock(), transport);
    expect(await provider.authorization()).toBe('Bearer access-token-number-2');
    const [discovery, token] = transport.sent;
    expect(discovery?.path).toBe('/oidc/.well-known/oauth-authorization-server');
    expect(token?.path).toBe('/oidc/v1/token');
    expect(token?.headers['authorization']).toBe(`Basic ${Buffer.from('sp-id:sp-secret-value').toString('base64')}`);
    expect(token?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(token?.body))).toEqual({ grant_type: 'client_credentials', scope: 'all-apis' });
  });

  it('refuses a discovery document that points the secret at another origin', async () => {
    const transport = new ScriptedTransport(() => ({
      status: 200,
      headers: {},
      bodyText: JSON.stringify({ token_endpoint: 'https://collector.example/token' }),
    }));
    await expect(m2m(new FakeClock(), transport).authorization()).rejects.toThrow(/another origin/);
    expect(transport.sent).toHaveLength(1);
  });

  // A plain-http origin or a value that is no URL at all escaped as a bare InvalidHostError/TypeError: no kind (so
  // retried as transient), and a message blaming the workspace's own host (session 11).
  it.each([['//evil.example/token'], ['http://evil.example/token'], ['http://[::1']])('refuses a discovery document naming %s as an Auth error about the document', async (endpoint) => {
    const transport = new ScriptedTransport(() => ({ status: 200, headers: {}, bodyText: JSON.stringify({ token_endpoint: endpoint }) }));
    const error = await m2m(new FakeClock(), transport).authorization().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabricksError);
    expect(error).toMatchObject({ kind: 'Auth', message: expect.stringContaining('OAuth discovery') });
    expect(transport.sent).toHaveLength(1);
  });

  it('shares one in-flight refresh, reuses the token until 40 s before expiry, then refreshes', async () => {
    const clock = new FakeClock();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const transport = new ScriptedTransport(async (req, n) => {
      if (req.method === 'GET') return { status: 404, headers: {}, bodyText: '' };
      await gate;
      return tokenAnswer(n);
    });
    const provider = m2m(clock, transport);
    const concurrent = Array.from({ length: 10 }, () => provider.authorization());
    await flushMicrotasks();
    release();
    const values = await Promise.all(concurrent);
    expect(new Set(values)).toEqual(new Set(['Bearer access-token-number-2']));
    expect(transport.sent.filter((r) => r.method === 'POST')).toHaveLength(1);
    // discovery 404: the documented workspace token path is used
    expect(transport.sent[1]?.path).toBe('/oidc/v1/token');

    await clock.advance(3600_000 - 40_001);
    expect(await provider.authorization()).toBe('Bearer access-token-number-2');
    await clock.advance(2);
    expect(await provider.authorization()).toBe('Bearer access-token-number-3');
  });

  it('keeps a token refreshed by another caller when a stale refusal comes in', async () => {
    const transport = new ScriptedTransport((req, n) => (req.method === 'GET' ? { status: 404, headers: {}, bodyText: '' } : tokenAnswer(n)));
    const provider = m2m(new FakeClock(), transport);
    const first = await provider.authorization();
    provider.invalidate(first);
    const second = await provider.authorization();
    provider.invalidate(first);
    expect(await provider.authorization()).toBe(second);
    expect(provider.secrets()).toEqual(expect.arrayContaining(['sp-secret-value', 'access-token-number-2', 'access-token-number-3']));
  });

  it('turns invalid_client into an Auth error that names the problem but not the secret', async () => {
    const transport = new ScriptedTransport((req) =>
      req.method === 'GET'
        ? { status: 404, headers: {}, bodyText: '' }
        : {
            status: 401,
            headers: { 'x-request-id': 'r-1' },
            bodyText: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed for sp-secret-value' }),
          },
    );
    const err = (await m2m(new FakeClock(), transport)
      .authorization()
      .catch((e: unknown) => e)) as DatabricksError;
    expect(err.kind).toBe('Auth');
    expect(err.errorCode).toBe('invalid_client');
    expect(err.requestId).toBe('r-1');
    expect(err.message).toContain('Client authentication failed for [REDACTED]');
  });
});

describe("a token endpoint's refusal, as the host chose it", () => {
  it('keeps at most 1000 characters of its error_description and 64 of its error code, scrubbed before the cut', async () => {
    const secret = 'sp-secret-value';
    const description = `${'x'.repeat(995)}${secret}${'y'.repeat(1_000_000)}`;
    const transport = new ScriptedTransport((req) =>
      req.method === 'GET'
        ? { status: 404, headers: {}, bodyText: '' }
        : { status: 401, headers: {}, bodyText: JSON.stringify({ error: 'e'.repeat(100_000), error_description: description }) },
    );
    const provider = createCredentialsProvider({ type: 'oauth-m2m', clientId: 'sp-id', clientSecret: secret }, { host: 'https://w.example', transport, clock: new FakeClock() });
    const err = (await provider.authorization().catch((e: unknown) => e)) as DatabricksError;
    expect(err.kind).toBe('Auth');
    // The message reaches conditions, Events and every log line about the workspace: a host must not make it 1 MB.
    expect(err.message.length).toBeLessThan(1300);
    expect(err.serverMessage?.length).toBeLessThanOrEqual(MAX_SERVER_MESSAGE + 1);
    expect(err.errorCode?.length).toBeLessThanOrEqual(65);
    expect(err.message).not.toContain(secret.slice(0, 5));
  });
});

describe('an OAuth discovery document, as the host chose it', () => {
  it('names a token endpoint on another origin in at most a few hundred characters', async () => {
    const transport = new ScriptedTransport(() => ({ status: 200, headers: {}, bodyText: JSON.stringify({ token_endpoint: `https://${'a'.repeat(1_000_000)}.example/token` }) }));
    const provider = createCredentialsProvider({ type: 'oauth-m2m', clientId: 'sp-id', clientSecret: 'sp-secret-value' }, { host: 'https://w.example', transport, clock: new FakeClock() });
    const err = (await provider.authorization().catch((e: unknown) => e)) as DatabricksError;
    expect(err.kind).toBe('Auth');
    expect(err.message).toMatch(/another origin/);
    // The message reaches the workspace's condition and every log line about it.
    expect(err.message.length).toBeLessThan(MAX_SERVER_MESSAGE + 200);
  });
});

describe('token federation', () => {
  it('exchanges the current file content with the documented RFC 8693 parameters, re-reading the file each time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pt-fed-unit-'));
    try {
      const file = join(dir, 'token');
      await writeFile(file, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln\n');
      const clock = new FakeClock();
      const transport = new ScriptedTransport((_req, n) => tokenAnswer(n, 600));
      const provider = createCredentialsProvider(
        { type: 'token-federation', tokenFilePath: file, clientId: 'sp-app-id' },
        { host: 'https://w.example', transport, clock },
      );
      expect(await provider.authorization()).toBe('Bearer access-token-number-1');
      const [exchange] = transport.sent;
      expect(exchange?.path).toBe('/oidc/v1/token');
      expect(exchange?.headers['authorization']).toBeUndefined();
      expect(Object.fromEntries(new URLSearchParams(exchange?.body))).toEqual({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        scope: 'all-apis',
        client_id: 'sp-app-id',
      });
      await writeFile(file, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiIn0.c2ln');
      await clock.advance(600_000 - 40_000);
      expect(await provider.authorization()).toBe('Bearer access-token-number-2');
      expect(new URLSearchParams(transport.sent[1]?.body).get('subject_token')).toBe('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiIn0.c2ln');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a slow token endpoint and the call deadline (--databricks-timeout, issue 16 finding 11)', () => {
  it('OAuth discovery and token requests count against the call deadline, not a 30 s timeout of their own', async () => {
    const { DatabricksClient } = await import('../../../src/databricks/client.js');
    const { RateBudgetRegistry } = await import('../../../src/databricks/rate-budget.js');
    // The token endpoint never answers (until the test ends).
    const hang = new ScriptedTransport(() => new Promise<HttpResponse>(() => {}));
    const client = new DatabricksClient({
      host: 'https://adb-1.azuredatabricks.net',
      auth: { type: 'oauth-m2m', clientId: 'sp', clientSecret: 'secret-value' },
      transport: hang,
      retryDeadlineMs: 300,
      requestTimeoutMs: 300,
      budgets: new RateBudgetRegistry({ now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }),
    });
    const started = Date.now();
    const error = await client.getEndpoint('llama-chat').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(DatabricksError);
    expect((error as DatabricksError).message).toMatch(/no OAuth token within the call's deadline/);
  });
});

describe('an OAuth M2M token refresh that fails (the service principal secret revoked, the token endpoint down)', () => {
  const SECRET = 'sp-secret-revoked-0123456789';
  const LIST = '/api/2.0/serving-endpoints';

  async function clientWithExpiredToken(refresh: (req: HttpRequest) => HttpResponse) {
    const { DatabricksClient } = await import('../../../src/databricks/client.js');
    const { RateBudgetRegistry } = await import('../../../src/databricks/rate-budget.js');
    const clock = new FakeClock();
    let tokens = 0;
    const transport = new ScriptedTransport((req) => {
      if (req.path === '/oidc/.well-known/oauth-authorization-server') return { status: 404, headers: {}, bodyText: '' };
      if (req.path === '/oidc/v1/token') return ++tokens === 1 ? tokenAnswer(1, 600) : refresh(req);
      return { status: 200, headers: {}, bodyText: JSON.stringify({ endpoints: [] }) };
    });
    const logged: string[] = [];
    const logger = { debug: (obj: object, msg: string) => logged.push(JSON.stringify({ ...obj, msg })), warn: (obj: object, msg: string) => logged.push(JSON.stringify({ ...obj, msg })) };
    const client = new DatabricksClient({
      host: 'https://w.example',
      auth: { type: 'oauth-m2m', clientId: 'sp-id', clientSecret: SECRET },
      transport,
      clock,
      budgets: new RateBudgetRegistry(clock),
      logger,
      retryDeadlineMs: 5_000,
      random: () => 0,
    });
    await client.listEndpoints();
    // the token's 600 s are over: the next call must refresh it first
    await clock.advance(600_000);
    const sentBefore = transport.sent.length;
    const failed = client.listEndpoints().then(
      () => undefined,
      (err: unknown) => err as DatabricksError,
    );
    // the retries' backoff runs on the fake clock
    for (let i = 0; i < 10; i++) await clock.advance(1_000);
    return { error: await failed, after: transport.sent.slice(sentBefore), logged };
  }

  it('refused (invalid_client): one Auth error naming the refusal, the expired token never sent, the secret nowhere', async () => {
    const { error, after, logged } = await clientWithExpiredToken(() => ({
      status: 401,
      headers: {},
      bodyText: JSON.stringify({ error: 'invalid_client', error_description: `Client authentication failed (secret ${SECRET})` }),
    }));
    expect(error).toBeInstanceOf(DatabricksError);
    expect(error?.kind).toBe('Auth');
    expect(error?.errorCode).toBe('invalid_client');
    expect(error?.message).toMatch(/Client authentication failed/);
    // no retry storm, and no call with the token that ran out
    expect(after.map((r) => r.path)).toEqual(['/oidc/v1/token']);
    const basic = Buffer.from(`sp-id:${SECRET}`).toString('base64');
    const everything = JSON.stringify({ message: error?.message, json: error, stack: error?.stack, logged });
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(basic);
  });

  it('the token endpoint unavailable (503): Transient, retried within the deadline, the expired token never sent', async () => {
    const { error, after } = await clientWithExpiredToken(() => ({ status: 503, headers: {}, bodyText: '' }));
    expect(error?.kind).toBe('Transient');
    expect(after.length).toBeGreaterThan(1);
    expect(after.every((r) => r.path === '/oidc/v1/token')).toBe(true);
    expect(after.some((r) => r.path === LIST)).toBe(false);
  });
});
