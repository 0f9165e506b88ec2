// The emulator over real HTTP: error bodies, auth flows, request faults, the inspection API and the CLI.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../../src/emulator/auth.js';
import { startEmulator, type RunningEmulator } from '../../../src/emulator/server.js';

const PAT = 'dapi-integration-test';
/** Two more identities, neither a workspace admin: a service principal (Terraform's) and a user (the operator's). */
const TERRAFORM = { token: 'dapi-terraform', userName: '0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d' };
const OPERATOR = { token: 'dapi-operator', userName: 'pt-operator@example.com' };
const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';
let running: RunningEmulator;

beforeAll(async () => {
  running = await startEmulator({
    speed: 0, // frozen: the tests move time by hand through the inspection API
    scenario: { auth: { pats: [PAT, { token: 'dapi-viewer', readOnly: true }, TERRAFORM, OPERATOR] } },
  });
});
afterAll(async () => {
  await running.close();
});
afterEach(async () => {
  await inspect('POST', '/reset');
});

async function api(method: string, path: string, body?: unknown, token: string = PAT) {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(`${running.url}/api/2.0/serving-endpoints${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

async function inspect(method: string, path: string, body?: unknown) {
  const response = await fetch(`${running.url}/__emulator${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const createLlama = (name: string, max = 980) =>
  api('POST', '', { name, config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: max }] } });

describe('serving-endpoints API over HTTP', () => {
  it('parses JSON whatever the Content-Type says, and tolerates unknown fields', async () => {
    const response = await fetch(`${running.url}/api/2.0/serving-endpoints`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${PAT}`, 'Context-Type': 'text/json', 'Content-Type': 'text/plain' },
      body: JSON.stringify({ name: 'doc-sample', future_field: 1, config: { served_entities: [{ entity_name: LLAMA, entity_version: 3, max_provisioned_throughput: 1960 }] } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as { pending_config: { served_entities: { entity_version: string }[] } };
    expect(body.pending_config.served_entities[0]?.entity_version).toBe('3');
  });

  it('always answers errors with error_code and message', async () => {
    await createLlama('llama');
    const cases = [
      [await api('GET', '/missing'), 404, 'RESOURCE_DOES_NOT_EXIST'],
      [await api('GET', '', undefined, ''), 401, 'UNAUTHENTICATED'],
      [await api('GET', '', undefined, 'dapi-unknown'), 403, 403],
      [await api('DELETE', '/llama', undefined, 'dapi-viewer'), 403, 'PERMISSION_DENIED'],
      [await api('POST', '', { name: 'bad.name' }), 400, 'INVALID_PARAMETER_VALUE'],
      [await createLlama('llama'), 409, 'RESOURCE_ALREADY_EXISTS'],
      [await api('PUT', '/llama/config', { served_entities: [{ entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 1960 }] }), 409, 'RESOURCE_CONFLICT'],
      [await api('GET', '/llama/openapi'), 404, 'ENDPOINT_NOT_FOUND'],
    ] as const;
    for (const [response, status, errorCode] of cases) {
      expect({ status: response.status, error_code: response.body.error_code }).toEqual({ status, error_code: errorCode });
      expect(typeof response.body.message).toBe('string');
      expect(String(response.body.message).length).toBeGreaterThan(0);
    }
    // Reading is fine for a read-only token.
    expect((await api('GET', '/llama', undefined, 'dapi-viewer')).status).toBe(200);
  });

  it('names a path it has no API for as a workspace does, without the /api/2.x prefix', async () => {
    // Real answers quoted by the Databricks CLI and MLflow users: a GET of /api/2.0/unity-catalog/domains (or
    // /api/2.1/...) is "No API found for 'GET /unity-catalog/domains'".
    expect((await api('GET', '/llama/openapi')).body).toEqual({ error_code: 'ENDPOINT_NOT_FOUND', message: "No API found for 'GET /serving-endpoints/llama/openapi'" });
    // the deprecated rate-limits API, which the operator never calls (it sets rate limits in the AI Gateway)
    const rateLimits = await fetch(`${running.url}/api/2.0/serving-endpoints/llama/rate-limits`, { method: 'PUT', headers: { Authorization: `Bearer ${PAT}` }, body: '{}' });
    expect(await rateLimits.json()).toEqual({ error_code: 'ENDPOINT_NOT_FOUND', message: "No API found for 'PUT /serving-endpoints/llama/rate-limits'" });
  });

  it('refuses an unknown PAT as a real workspace does: 403 with the numeric error_code 403', async () => {
    // Captured from real workspaces (databricks-sdk-go issues #873, #917, #1046: "error_code": 403, "message":
    // "Invalid access token."). The Go SDK keeps ErrorCode "403" (PermissionDenied by status); a string code differs.
    const refused = await api('GET', '', undefined, 'dapi-unknown');
    expect({ status: refused.status, body: refused.body }).toEqual({ status: 403, body: { error_code: 403, message: 'Invalid access token.' } });
    // A known but read-only token is refused for what it may not do, with the named code.
    const readOnly = await api('DELETE', '/llama', undefined, 'dapi-viewer');
    expect({ status: readOnly.status, error_code: readOnly.body.error_code }).toEqual({ status: 403, error_code: 'PERMISSION_DENIED' });
  });

  it("answers permission_level as the caller's level, not CAN_MANAGE to a caller it refuses to let manage", async () => {
    // ServingEndpointDetailed.permission_level is "The permission level of the principal making the request" (the
    // SDKs' field doc: Java 0.141.0, Go, Python). A read-only credential was told CAN_MANAGE and then refused every
    // change with "does not have CAN_MANAGE permission"; a Java client checking getPermissionLevel() first is misled.
    await createLlama('llama');
    expect((await api('GET', '/llama')).body.permission_level).toBe('CAN_MANAGE');
    const viewer = await api('GET', '/llama', undefined, 'dapi-viewer');
    expect({ status: viewer.status, permission_level: viewer.body.permission_level }).toEqual({ status: 200, permission_level: 'CAN_VIEW' });
  });

  it('answers get-model-optimization-info with the UC name in one path segment', async () => {
    const info = await api('GET', `/get-model-optimization-info/${LLAMA}/3`);
    expect(info).toMatchObject({ status: 200, body: { optimizable: true, model_type: 'llama', throughput_chunk_size: 980 } });
  });
});

describe('current user (SCIM Me) over HTTP', () => {
  // The Databricks CLI validates a profile with GET /api/2.0/preview/scim/v2/Me (`databricks auth profiles`,
  // `auth describe`, `current-user me`, bundles); the Go SDK decodes it into iam.User.
  const me = async (token: string) => {
    const response = await fetch(`${running.url}/api/2.0/preview/scim/v2/Me`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers the caller as a SCIM user, and refuses missing or unknown credentials like every other API', async () => {
    const answer = await me(PAT);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      userName: 'emulator-user@example.com',
      active: true,
      schemas: expect.arrayContaining(['urn:ietf:params:scim:schemas:core:2.0:User']) as unknown,
    });
    expect(answer.body.id).toMatch(/^\d+$/);
    expect((await me('')).status).toBe(401);
    expect(await me('dapi-unknown')).toEqual({ status: 403, body: { error_code: 403, message: 'Invalid access token.' } });
    // Read-only credentials may read who they are.
    expect((await me('dapi-viewer')).status).toBe(200);
  });
});

describe('identities over HTTP', () => {
  const me = async (token: string) => (await (await fetch(`${running.url}/api/2.0/preview/scim/v2/Me`, { headers: { Authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>;
  const permissions = (method: string, id: string, token: string, body?: unknown) =>
    fetch(`${running.url}/api/2.0/permissions/serving-endpoints/${id}`, { method, headers: { Authorization: `Bearer ${token}` }, ...(body !== undefined && { body: JSON.stringify(body) }) });

  it("each credential is its own identity: the creator of what it creates, refused an endpoint it has no permission on (a workspace admin is not)", async () => {
    expect(await me(TERRAFORM.token)).toMatchObject({ userName: TERRAFORM.userName, emails: [] });
    expect(await me(OPERATOR.token)).toMatchObject({ userName: OPERATOR.userName, emails: [{ value: OPERATOR.userName }] });
    const created = await api('POST', '', { name: 'handed-over', config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 980 }] } }, TERRAFORM.token);
    expect(created.body.creator).toBe(TERRAFORM.userName);
    const id = created.body.id as string;
    const acl = (await (await permissions('GET', id, TERRAFORM.token)).json()) as { access_control_list: Record<string, unknown>[] };
    expect(acl.access_control_list).toContainEqual(expect.objectContaining({ service_principal_name: TERRAFORM.userName }));
    // Not the operator's endpoint yet: no read, no change.
    expect((await api('GET', '/handed-over', undefined, OPERATOR.token)).body).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    expect((await api('PATCH', '/handed-over/tags', { add_tags: [{ key: 'a', value: 'b' }] }, OPERATOR.token)).status).toBe(403);
    // Terraform grants it CAN_MANAGE: now it may; a PUT that leaves it out locks it out again.
    expect((await permissions('PATCH', id, TERRAFORM.token, { access_control_list: [{ user_name: OPERATOR.userName, permission_level: 'CAN_MANAGE' }] })).status).toBe(200);
    expect((await api('GET', '/handed-over', undefined, OPERATOR.token)).body.permission_level).toBe('CAN_MANAGE');
    expect((await permissions('PUT', id, OPERATOR.token, { access_control_list: [{ group_name: 'ml-eng', permission_level: 'CAN_QUERY' }] })).status).toBe(200);
    expect((await api('DELETE', '/handed-over', undefined, OPERATOR.token)).status).toBe(403);
    // The workspace admin (workspace.creator, the default PAT's identity) may do anything.
    expect((await api('DELETE', '/handed-over')).status).toBe(200);
  });
});

describe('OAuth over HTTP', () => {
  it('discovers the token endpoint, gets a token with Basic client auth, and calls the API with it', async () => {
    const meta = (await (await fetch(`${running.url}/.well-known/databricks-config`)).json()) as { oidc_endpoint: string };
    const discovery = (await (await fetch(`${meta.oidc_endpoint}/.well-known/oauth-authorization-server`)).json()) as { token_endpoint: string };
    expect(discovery.token_endpoint).toBe(`${running.url}/oidc/v1/token`);
    // This scenario lists no clients, so the documented default client works.
    const tokenResponse = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${DEFAULT_CLIENT_ID}:${DEFAULT_CLIENT_SECRET}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    const token = (await tokenResponse.json()) as { access_token: string; expires_in: number };
    expect(tokenResponse.status).toBe(200);
    expect((await api('GET', '', undefined, token.access_token)).status).toBe(200);

    // Expiry runs on the virtual clock.
    await inspect('POST', '/clock', { advanceSeconds: token.expires_in });
    expect((await api('GET', '', undefined, token.access_token)).status).toBe(401);

    // Tokens never reach the call log.
    const log = JSON.stringify((await inspect('GET', '/calls')).body);
    expect(log).not.toContain(token.access_token);
    expect(log).not.toContain(PAT);
  });

  it('refuses wrong client credentials with an OAuth error body', async () => {
    const response = await fetch(`${running.url}/oidc/v1/token`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${DEFAULT_CLIENT_ID}:nope`).toString('base64')}` },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
  });
});

describe('request faults injected at run time', () => {
  it('429 with Retry-After, 503, 401, added latency and dropped connections, each named in the call log', async () => {
    await inspect('POST', '/faults', { type: 'throttle', retryAfterSeconds: 3, times: 1 });
    const throttled = await api('GET', '');
    expect([throttled.status, throttled.headers.get('retry-after'), throttled.body.error_code]).toEqual([429, '3', 'REQUEST_LIMIT_EXCEEDED']);
    expect((await api('GET', '')).status).toBe(200);

    await inspect('POST', '/faults', { type: 'unavailable', times: 1 });
    expect((await api('GET', '')).body).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });

    await inspect('POST', '/faults', { type: 'unauthenticated', times: 1 });
    expect(await api('GET', '')).toMatchObject({ status: 401, body: { error_code: 'UNAUTHENTICATED' } });

    await inspect('POST', '/faults', { type: 'latency', ms: 300, times: 1 });
    const started = performance.now();
    await api('GET', '');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);

    await inspect('POST', '/faults', { type: 'drop', times: 1, match: { endpoint: 'fragile' } });
    await expect(api('GET', '/fragile')).rejects.toThrow();
    expect((await api('GET', '/fragile')).status).toBe(404);

    const calls = (await inspect('GET', '/calls')).body as { calls: { fault?: string; status: number }[] };
    expect(calls.calls.map((c) => c.fault).filter(Boolean)).toEqual(['throttle', 'unavailable', 'unauthenticated', 'latency', 'drop']);
  });

  it('enforces 50 create/update operations per 5 virtual minutes', async () => {
    for (let i = 0; i < 50; i++) expect((await api('POST', '', { name: `bulk-${i}` })).status).toBe(200);
    const over = await api('POST', '', { name: 'bulk-50' });
    expect([over.status, over.body.error_code, over.headers.get('retry-after')]).toEqual([429, 'REQUEST_LIMIT_EXCEEDED', '300']);
    await inspect('POST', '/clock', { advanceSeconds: 300 });
    expect((await api('POST', '', { name: 'bulk-50' })).status).toBe(200);
  });
});

describe('inspection API', () => {
  it('counts calls by operation, method and endpoint, and filters them', async () => {
    await createLlama('a');
    await createLlama('b');
    await api('GET', '/a');
    await api('GET', '/a');
    const all = (await inspect('GET', '/calls')).body as { counts: Record<string, Record<string, number>> };
    expect(all.counts.byOperation).toEqual({ create: 2, get: 2 });
    expect(all.counts.byMethod).toEqual({ POST: 2, GET: 2 });
    expect(all.counts.byEndpoint).toEqual({ a: 3, b: 1 });
    const onlyA = (await inspect('GET', '/calls?endpoint=a&method=GET')).body as { calls: { path: string; virtualTime: number; realTime: number }[] };
    expect(onlyA.calls.map((c) => c.path)).toEqual(['/api/2.0/serving-endpoints/a', '/api/2.0/serving-endpoints/a']);
    expect(onlyA.calls[0]?.virtualTime).toBeTypeOf('number');
  });

  it('moves the clock, edits an endpoint out of band, runs a capacity failure and shows it all in /state', async () => {
    await createLlama('llama');
    await inspect('POST', '/clock', { advanceSeconds: 600 });
    expect((await api('GET', '/llama')).body).toMatchObject({ state: { ready: 'READY', config_update: 'NOT_UPDATING' } });

    const edited = await inspect('POST', '/endpoints/llama/edit', { entities: [{ max_provisioned_throughput: 1960 }] });
    expect(edited.body).toMatchObject({ config: { config_version: 2, served_entities: [{ max_provisioned_throughput: 1960 }] } });

    await inspect('POST', '/faults', { type: 'capacity', model: LLAMA, attempts: 1 });
    await api('PUT', '/llama/config', { served_entities: [{ entity_name: LLAMA, entity_version: '3', max_provisioned_throughput: 2940 }] });
    await inspect('POST', '/clock', { advanceSeconds: 600 });
    const failed = await api('GET', '/llama');
    expect(failed.body).toMatchObject({
      state: { ready: 'READY', config_update: 'UPDATE_FAILED' },
      config: { served_entities: [{ max_provisioned_throughput: 1960 }] },
      pending_config: { served_entities: [{ state: { deployment: 'DEPLOYMENT_ABORTED' } }] },
    });
    const state = (await inspect('GET', '/state')).body as { endpoints: { name: string }[]; faults: { remaining: number }[] };
    expect(state.endpoints.map((e) => e.name)).toEqual(['llama']);
    expect(state.faults[0]?.remaining).toBe(0);
  });

  it('changes a model chunk size at run time, as Databricks does (reference §8), until a reset', async () => {
    const info = async () => (await api('GET', `/get-model-optimization-info/${LLAMA}/3`)).body;
    expect(await info()).toMatchObject({ throughput_chunk_size: 980 });
    expect(await inspect('POST', `/catalog/${LLAMA}`, { throughput_chunk_size: 19000 })).toMatchObject({ status: 200, body: { name: LLAMA, throughput_chunk_size: 19000 } });
    expect(await info()).toMatchObject({ throughput_chunk_size: 19000 });
    expect((await createLlama('old-grid', 980)).status).toBe(400);
    expect(await inspect('POST', `/catalog/${LLAMA}`, { model_unit_chunk_size: 50 })).toMatchObject({ status: 400 });
    expect(await inspect('POST', '/catalog/main.default.nope', { throughput_chunk_size: 10 })).toMatchObject({ status: 404 });
    await inspect('POST', '/reset');
    expect(await info()).toMatchObject({ throughput_chunk_size: 980 });
  });

  it('rejects malformed control requests with an error body', async () => {
    expect(await inspect('POST', '/faults', { type: 'earthquake' })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(await inspect('GET', '/nothing-here')).toMatchObject({ status: 404, body: { error_code: 'ENDPOINT_NOT_FOUND' } });
  });
});

describe('pt-operator emulator (CLI)', () => {
  it('serves until SIGTERM, then exits cleanly', { timeout: 30_000 }, async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), ['src/main.ts', 'emulator', '--port', '0', '--speed', '600'], { cwd: root });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`emulator exited early with ${code}: ${output}`)));
    });
    const list = await fetch(`${url}/api/2.0/serving-endpoints`, { headers: { Authorization: 'Bearer dapi-cli' } });
    expect(list.status).toBe(200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(output).toContain('"status":200');
    expect(output).not.toContain('dapi-cli');
  });
});
