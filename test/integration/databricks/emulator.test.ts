// The client against the emulator over real HTTP: every operation, every error class, Retry-After,
// unknown create outcomes, budget enforcement (checked in the emulator's call log), OAuth M2M token
// caching/refresh/expiry on the emulator's clock, token federation, and secrets kept out of errors and logs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCredentialsProvider, type AuthConfig } from '../../../src/databricks/auth.js';
import type { ClientLogger, DatabricksClient, DatabricksClientOptions } from '../../../src/databricks/client.js';
import type { DatabricksError } from '../../../src/databricks/errors.js';
import { RateBudgetRegistry } from '../../../src/databricks/rate-budget.js';
import { systemClock } from '../../../src/databricks/clock.js';
import { HttpTransport } from '../../../src/databricks/transport.js';
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../../../src/emulator/server.js';
import { FakeClock } from '../../unit/databricks/fake-clock.js';
import { maxInRollingWindow } from '../../support/time.js';
import { PAT, failure, testClient } from './support.js';

const CLIENT_ID = 'pt-operator-sp';
const CLIENT_SECRET = 'dose0123456789abcdef0123456789abcdef';
const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';
const GPT_OSS = 'system.ai.gpt-oss-120b';

const transport = new HttpTransport();
let emulator: RunningEmulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});
afterAll(() => transport.close());

async function start(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  emulator = await startEmulator(options);
  return emulator;
}

function clientFor(running: RunningEmulator, options: Partial<DatabricksClientOptions> = {}): DatabricksClient {
  // roomy unless a test is about the budget: the emulator's own 50/5 min limit is not under test here
  return testClient(running.url, transport, { budgets: new RateBudgetRegistry(systemClock, undefined, { mutationsPerWindow: 1000 }), ...options });
}


const calls = (running: RunningEmulator, filter: Parameters<RunningEmulator['emulator']['calls']['query']>[0] = {}) =>
  running.emulator.calls.query(filter).map((c) => `${c.operation} ${c.status}`);

const tokenBand = (name: string, chunks = { min: 2, max: 3 }) => ({
  name,
  config: {
    served_entities: [
      {
        entity_name: LLAMA,
        entity_version: '3',
        min_provisioned_throughput: chunks.min * 980,
        max_provisioned_throughput: chunks.max * 980,
      },
    ],
  },
  tags: [{ key: 'ptoperator.io/owner-uid', value: 'uid-1' }],
});

/** An unsigned JWT with the claims the emulator's federation policy checks. */
function jwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature-bytes').toString('base64url')}`;
}

describe('operations', () => {
  it('reads optimization info of token-band and model-unit models, and NotFound for a missing model', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running);
    expect(await client.getModelOptimizationInfo(LLAMA, '3')).toEqual({ optimizable: true, model_type: 'llama', throughput_chunk_size: 980 });
    expect(await client.getModelOptimizationInfo(GPT_OSS, '1')).toMatchObject({ optimizable: true, model_unit_chunk_size: 50 });
    expect((await client.getModelOptimizationInfo('system.ai.meta_llama_v3_1_8b', '1')).optimizable).toBe(false);
    const missing = await failure(client.getModelOptimizationInfo('main.default.nope', '1'));
    expect(missing.kind).toBe('NotFound');
    expect(missing.errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect(running.emulator.calls.query({ operation: 'optimizationInfo' }).map((c) => c.path)).toContain(
      `/api/2.0/serving-endpoints/get-model-optimization-info/${LLAMA}/3`,
    );
  });

  it('creates, reads, lists, updates, tags and deletes a token-band endpoint', async () => {
    const running = await start({ scenario: { clock: { speed: 0 }, timing: { rolloutSeconds: 600 } } });
    const client = clientFor(running);
    expect(await client.listEndpoints()).toEqual([]);
    expect(await client.checkCredentials()).toEqual({ authType: 'pat', endpointCount: 0 });

    const created = await client.createEndpoint(tokenBand('llama-chat'));
    expect(created.state).toMatchObject({ ready: 'NOT_READY', config_update: 'IN_PROGRESS' });
    expect(created.config).toBeUndefined();
    expect(created.pending_config?.served_entities?.[0]?.state?.deployment).toBe('DEPLOYMENT_CREATING');
    expect(created.id).toMatch(/^[0-9a-f]{32}$/);

    // An update while the first rollout runs: Conflict, to be requeued.
    const busy = await failure(client.updateConfig('llama-chat', tokenBand('llama-chat', { min: 3, max: 4 }).config));
    expect(busy.kind).toBe('Conflict');
    expect(busy.status).toBe(409);

    running.emulator.advance(600_000);
    const ready = await client.getEndpoint('llama-chat');
    expect(ready.state).toMatchObject({ ready: 'READY', config_update: 'NOT_UPDATING' });
    expect(ready.config?.served_entities?.[0]).toMatchObject({ min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 });

    const updating = await client.updateConfig('llama-chat', tokenBand('llama-chat', { min: 3, max: 4 }).config);
    expect(updating.state.config_update).toBe('IN_PROGRESS');
    expect(updating.pending_config?.served_entities?.[0]?.max_provisioned_throughput).toBe(3920);

    const tags = await client.patchTags('llama-chat', { add_tags: [{ key: 'team', value: 'genai' }], delete_tags: ['nope'] });
    expect(tags.tags).toEqual(expect.arrayContaining([{ key: 'team', value: 'genai' }, { key: 'ptoperator.io/owner-uid', value: 'uid-1' }]));

    const listed = await client.listEndpoints();
    expect(listed.map((e) => e.name)).toEqual(['llama-chat']);

    await client.deleteEndpoint('llama-chat');
    expect((await failure(client.getEndpoint('llama-chat'))).kind).toBe('NotFound');
    expect((await failure(client.deleteEndpoint('llama-chat'))).kind).toBe('NotFound');
  });

  it('creates and updates a model-unit endpoint through /pt (fields under config)', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running);
    const created = await client.createPtEndpoint({
      name: 'gpt-oss',
      config: { served_entities: [{ entity_name: GPT_OSS, entity_version: '1', provisioned_model_units: 50 }] },
    });
    expect(created.pending_config?.served_entities?.[0]?.provisioned_model_units).toBe(50);
    running.emulator.advance(3_600_000);
    const updated = await client.updatePtConfig('gpt-oss', {
      config: { served_entities: [{ entity_name: GPT_OSS, entity_version: '1', provisioned_model_units: 100 }] },
    });
    expect(updated.pending_config?.served_entities?.[0]?.provisioned_model_units).toBe(100);
    expect(calls(running, { method: 'PUT' })).toEqual(['updatePtConfig 200']);
    expect(running.emulator.calls.query({ method: 'PUT' })[0]?.path).toBe('/api/2.0/serving-endpoints/pt/gpt-oss/config');
  });

  it('classifies a duplicate name as AlreadyExists and a bad config as InvalidRequest with the server message', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running);
    await client.createEndpoint(tokenBand('dup'));
    const duplicate = await failure(client.createEndpoint(tokenBand('dup')));
    expect(duplicate.kind).toBe('AlreadyExists');
    const bad = await failure(
      client.createEndpoint({
        name: 'bad',
        config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 1000 }] },
      }),
    );
    expect(bad.kind).toBe('InvalidRequest');
    expect(bad.status).toBe(400);
    expect(bad.serverMessage).toMatch(/980/);
    expect(bad.terminal).toBe(true);
    // terminal errors are not repeated
    expect(running.emulator.calls.query({ operation: 'create', endpoint: 'bad' })).toHaveLength(1);
  });
});

describe('endpoint settings operations', () => {
  it('puts the AI Gateway, sets and merges permissions by endpoint ID, lists levels and patches notifications', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running);
    const { id } = await client.createEndpoint({ ...tokenBand('gated'), budget_policy_id: 'pol-1', description: 'support chat' });
    const gateway = await client.putAiGateway('gated', { usage_tracking_config: { enabled: true }, rate_limits: [{ calls: 5, key: 'user', renewal_period: 'minute' }] });
    expect(gateway).toMatchObject({ usage_tracking_config: { enabled: true }, rate_limits: [{ calls: 5, key: 'user', renewal_period: 'minute' }] });
    expect((await client.getEndpoint('gated')).ai_gateway).toEqual(gateway);
    const refused = await failure(client.putAiGateway('gated', { inference_table_config: { enabled: true, catalog_name: 'nowhere', schema_name: 'default' } }));
    expect([refused.kind, refused.serverMessage]).toEqual(['InvalidRequest', "Catalog 'nowhere' does not exist."]);

    const set = await client.setPermissions(id as string, { access_control_list: [{ group_name: 'ml-eng', permission_level: 'CAN_QUERY' }] });
    expect(set.access_control_list?.map((e) => e.group_name ?? e.user_name)).toEqual(['ml-eng', 'admins']);
    const merged = await client.updatePermissions(id as string, { access_control_list: [{ user_name: 'a@b.com', permission_level: 'CAN_VIEW' }] });
    expect(merged.access_control_list).toHaveLength(3);
    expect((await client.getPermissions(id as string)).object_type).toBe('serving-endpoint');
    expect((await client.getPermissionLevels(id as string)).permission_levels).toHaveLength(3);
    expect((await failure(client.getPermissions('0'.repeat(32)))).kind).toBe('NotFound');

    const notified = await client.updateNotifications('gated', { email_notifications: { on_update_success: ['ml@b.com'] } });
    expect(notified).toEqual({ name: 'gated', email_notifications: { on_update_success: ['ml@b.com'] } });
    expect(await client.getEndpoint('gated')).toMatchObject({ effective_budget_policy_id: 'pol-1', description: 'support chat', email_notifications: { on_update_success: ['ml@b.com'] } });
    expect(running.emulator.calls.query({ operation: 'setPermissions' })[0]?.path).toBe(`/api/2.0/permissions/serving-endpoints/${id}`);

    // the telemetry API takes no change while the create's rollout is in progress
    expect((await failure(client.patchTelemetryConfig('gated', { telemetry_config: { telemetry_profile_id: 'tp-1' } }))).kind).toBe('Conflict');
    running.emulator.advance(3_600_000);
    const telemetry = await client.patchTelemetryConfig('gated', { telemetry_config: { table_names: { logs_table: 'main.default.logs' } } });
    // the tables are consumed: only the profile made from them is shown (as Databricks' own CLI test server answers)
    expect(telemetry.telemetry_config).toEqual({ telemetry_profile_id: expect.any(String) });
    expect((await client.getEndpoint('gated')).telemetry_config).toEqual(telemetry.telemetry_config);
    expect((await client.patchTelemetryConfig('gated', {})).telemetry_config).toBeUndefined();
    expect((await failure(client.patchTelemetryConfig('nowhere', { telemetry_config: { telemetry_profile_id: 'tp-1' } }))).kind).toBe('NotFound');
    expect(running.emulator.calls.query({ operation: 'patchTelemetryConfig' }).map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'PATCH /api/2.0/serving-endpoints/gated/telemetry-config 409',
      'PATCH /api/2.0/serving-endpoints/gated/telemetry-config 200',
      'PATCH /api/2.0/serving-endpoints/gated/telemetry-config 200',
      'PATCH /api/2.0/serving-endpoints/nowhere/telemetry-config 404',
    ]);
  });

  it('currentUser() names who each credential stands for, as ACLs and creator name it (a service principal by application ID)', async () => {
    const sp = '6f1f3c1e-8d2a-4c51-9a57-0c1d2e3f4a5b';
    const running = await start({ scenario: { clock: { speed: 0 }, auth: { pats: [PAT], clients: [{ id: CLIENT_ID, secret: CLIENT_SECRET, userName: sp }] } } });
    const admin = clientFor(running);
    const principal = clientFor(running, { auth: { type: 'oauth-m2m', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } });
    expect((await admin.currentUser()).userName).toBe(running.emulator.scenario.workspace.creator);
    expect((await principal.currentUser()).userName).toBe(sp);
    expect((await principal.createEndpoint(tokenBand('made-by-sp'))).creator).toBe(sp);
    expect(calls(running, { operation: 'currentUser' })).toEqual(['currentUser 200', 'currentUser 200']);
  });

  it('permissions writes are not charged to the create/update window; the gateway and notifications are', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running, { budgets: new RateBudgetRegistry(systemClock, undefined, { mutationsPerWindow: 2 }), maxBudgetWaitMs: 0 });
    const { id } = await client.createEndpoint(tokenBand('budgeted'));
    await client.setPermissions(id as string, { access_control_list: [] });
    await client.updatePermissions(id as string, { access_control_list: [{ group_name: 'g', permission_level: 'CAN_VIEW' }] });
    await client.putAiGateway('budgeted', { fallback_config: { enabled: true } });
    expect((await failure(client.updateNotifications('budgeted', { email_notifications: {} }))).kind).toBe('RateLimited');
    expect(calls(running, { method: 'PATCH' })).toEqual(['updatePermissions 200']);
  });
});

describe('retries against injected faults', () => {
  it('honours Retry-After of a 429 and retries a 503', async () => {
    const running = await start({ scenario: { clock: { speed: 1 } } });
    running.emulator.addFault({ type: 'throttle', times: 1, retryAfterSeconds: 1 });
    running.emulator.addFault({ type: 'unavailable', times: 1, match: { method: 'GET' } });
    const client = clientFor(running);
    const started = Date.now();
    await client.createEndpoint(tokenBand('throttled'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    await client.getEndpoint('throttled');
    expect(calls(running)).toEqual(['create 429', 'create 200', 'get 503', 'get 200']);
  });

  it('gives a RateLimited error with retryAfterMs when 429s outlast the deadline', async () => {
    const running = await start();
    running.emulator.addFault({ type: 'throttle', retryAfterSeconds: 30, match: { method: 'PUT' } });
    const err = await failure(clientFor(running, { retryDeadlineMs: 2000 }).updateConfig('x', {}));
    expect(err.kind).toBe('RateLimited');
    expect(err.retryAfterMs).toBe(30_000);
    expect(calls(running)).toEqual(['updateConfig 429']);
  });

  it('a create whose connection dropped and that is not found by name afterwards: not posted again, its outcome reported unknown', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    running.emulator.addFault({ type: 'drop', times: 1, match: { method: 'POST' } });
    const err = await failure(clientFor(running).createEndpoint(tokenBand('dropped')));
    expect(err).toMatchObject({ kind: 'Transient', createOutcomeUnknown: true });
    expect(calls(running)).toEqual(['create 0', 'get 404']);
  });

  it('a create that timed out with the whole call deadline: the read by name still gets its own deadline', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    // --databricks-timeout sets both: the POST's timeout spends the call's whole deadline.
    running.emulator.addFault({ type: 'latency', ms: 600, times: 1, match: { method: 'POST' } });
    const err = await failure(clientFor(running, { requestTimeoutMs: 200, retryDeadlineMs: 200 }).createEndpoint(tokenBand('late')));
    expect(err).toMatchObject({ kind: 'Transient', createOutcomeUnknown: true, message: expect.stringContaining('no endpoint of that name yet') });
    expect(calls(running, { operation: 'get' })).toEqual(['get 404']);
    expect(calls(running, { operation: 'create' })).toEqual([]); // still held: nothing posted again
  });

  it('returns the endpoint that a timed-out create did make, without posting again', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    // The create is carried out after 300 ms, but the client gave up at 150 ms. The first GET is slow
    // too (times out at 300 ms); the retried GET comes after a backoff of at least 300 ms and finds it.
    running.emulator.addFault({ type: 'latency', ms: 300, times: 1, match: { method: 'POST' } });
    running.emulator.addFault({ type: 'latency', ms: 1000, times: 1, match: { method: 'GET' } });
    const client = clientFor(running, { requestTimeoutMs: 150, backoff: { initialDelayMs: 600, maxDelayMs: 1000, multiplier: 2 } });
    const endpoint = await client.createEndpoint(tokenBand('slow'));
    expect(endpoint.name).toBe('slow');
    expect(running.emulator.calls.query({ operation: 'create' })).toHaveLength(1);
    expect(running.emulator.calls.query({ operation: 'get', status: 404 })).toHaveLength(0);
  });
});

describe('rate budget', () => {
  it('60 concurrent creates under the default budget: 50 go out at once, the rest a window later, never a 429', async () => {
    // The default budget (50 per 5 minutes) unchanged, on time that moves only when the test moves it:
    // the emulator's clock is frozen and the client's is a manual clock advanced by the same amounts.
    // (A scaled clock multiplies every real delay under load: 400 ms of queueing at 50x is 20 virtual
    // seconds, beyond the budget's 2 s latency margin, and the emulator rightly answered 429.)
    const running = await start({ scenario: { clock: { speed: 0 }, timing: { rolloutSeconds: 60 } } });
    const clock = new FakeClock(running.emulator.now());
    const advanceBoth = async (ms: number) => {
      running.emulator.advance(ms);
      await clock.advance(ms);
    };
    const budgets = new RateBudgetRegistry(clock);
    // Two clients of one workspace (spelled differently) share one budget.
    const a = clientFor(running, { budgets, clock, retryDeadlineMs: 3_600_000 });
    const b = clientFor(running, { budgets, clock, retryDeadlineMs: 3_600_000, host: `${running.url}/` });
    await Promise.all([a.checkCredentials(), b.checkCredentials()]);
    const names = Array.from({ length: 60 }, (_, i) => `ep-${String(i).padStart(3, '0')}`);
    const settled = Promise.all(names.map((name, i) => (i % 2 ? a : b).createEndpoint(tokenBand(name))));
    const creates = () => running.emulator.calls.query({ operation: 'create' });

    // 50 reach the emulator at once; 10 wait in the client's budget, not in the emulator.
    await vi.waitFor(() => {
      expect(creates()).toHaveLength(50);
      expect(a.budgetStats().mutation.queueLength).toBe(10);
    }, { timeout: 30_000, interval: 50 });
    // Almost a window later, nothing more was sent.
    await advanceBoth(299_000);
    expect(creates()).toHaveLength(50);
    expect(a.budgetStats().mutation.queueLength).toBe(10);
    // Past the window (and the budget's latency margin), the other 10 go out.
    await advanceBoth(5_000);
    const results = await settled;
    expect(results).toHaveLength(60);

    expect(creates()).toHaveLength(60);
    expect(creates().filter((c) => c.status !== 200)).toEqual([]);
    expect(maxInRollingWindow(creates().map((c) => c.virtualTime), 300_000)).toBeLessThanOrEqual(50);
    // the documented burst: 50 at once, the other 10 only after the window
    const first = creates()[0]?.virtualTime ?? 0;
    expect(creates().filter((c) => c.virtualTime === first)).toHaveLength(50);
    expect(creates().filter((c) => c.virtualTime >= first + 300_000)).toHaveLength(10);
    expect(a.budgetStats().mutation.grants).toBe(60);
  });

  it('fails fast with RateLimited instead of waiting, and nothing beyond the budget reaches the emulator', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running, {
      budgets: new RateBudgetRegistry(systemClock, undefined, { mutationsPerWindow: 5, mutationWindowMs: 300_000 }),
      maxBudgetWaitMs: 0,
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => client.createEndpoint(tokenBand(`nb-${i}`))));
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as DatabricksError);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect(refused).toHaveLength(3);
    for (const err of refused) {
      expect(err.kind).toBe('RateLimited');
      expect(err.fromClientBudget).toBe(true);
      expect(err.retryAfterMs).toBeGreaterThan(299_000);
    }
    expect(running.emulator.calls.query({ operation: 'create' })).toHaveLength(5);
    expect(client.mutationWaitMs()).toBeGreaterThan(299_000);
  });

  it('deletes are not charged to the create/update window', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running, { budgets: new RateBudgetRegistry(systemClock, undefined, { mutationsPerWindow: 2 }), maxBudgetWaitMs: 0 });
    await client.createEndpoint(tokenBand('d-1'));
    await client.createEndpoint(tokenBand('d-2'));
    await Promise.all([client.deleteEndpoint('d-1'), client.deleteEndpoint('d-2')]);
    expect(calls(running, { operation: 'delete' })).toEqual(['delete 200', 'delete 200']);
  });

  it('deletes and tag patches are not charged to the read rate either: Databricks documents no limit for them (issue 12)', async () => {
    // One read per second, no waiting allowed: a call charged to the read bucket past its first is refused.
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running, { budgets: new RateBudgetRegistry(systemClock, undefined, { mutationsPerWindow: 1000, readsPerSecond: 1 }), maxBudgetWaitMs: 0 });
    const names = ['r-1', 'r-2', 'r-3', 'r-4'];
    for (const name of names) await client.createEndpoint(tokenBand(name));
    const readsBefore = client.budgetStats().read.grants;
    await Promise.all(names.map((name) => client.patchTags(name, { add_tags: [{ key: 'team', value: 'genai' }] })));
    await Promise.all(names.map((name) => client.deleteEndpoint(name)));
    expect(calls(running, { operation: 'patchTags' })).toEqual(names.map(() => 'patchTags 200'));
    expect(calls(running, { operation: 'delete' })).toEqual(names.map(() => 'delete 200'));
    expect(client.budgetStats().read.grants).toBe(readsBefore);
  });
});

describe('rate budget and deadlines', () => {
  it('does not wait for the budget past the call deadline: RateLimited with the time to come back', async () => {
    const running = await start({ scenario: { clock: { speed: 0 } } });
    const client = clientFor(running, { budgets: new RateBudgetRegistry(systemClock, undefined, { mutationsPerWindow: 1 }), retryDeadlineMs: 2000 });
    await client.createEndpoint(tokenBand('first'));
    const err = await failure(client.createEndpoint(tokenBand('second')));
    expect(err.kind).toBe('RateLimited');
    expect(err.fromClientBudget).toBe(true);
    expect(err.retryAfterMs).toBeGreaterThan(299_000);
    expect(running.emulator.calls.query({ operation: 'create' })).toHaveLength(1);
  });
});

describe('OAuth M2M', () => {
  const m2m: AuthConfig = { type: 'oauth-m2m', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
  const scenario = { clock: { speed: 1 }, auth: { clients: [{ id: CLIENT_ID, secret: CLIENT_SECRET }], tokenLifetimeSeconds: 3600 } };

  it('discovers the token endpoint once and shares one token fetch among concurrent callers', async () => {
    const running = await start({ scenario });
    const client = clientFor(running, { auth: m2m });
    await Promise.all(Array.from({ length: 10 }, () => client.listEndpoints()));
    await client.listEndpoints();
    expect(running.emulator.calls.query({ operation: 'oidcDiscovery' })).toHaveLength(1);
    expect(running.emulator.calls.query({ operation: 'token' })).toHaveLength(1);
    expect(running.emulator.calls.query({ operation: 'list', status: 200 })).toHaveLength(11);
    expect(client.authType).toBe('oauth-m2m');
  });

  it('refreshes 40 s before expiry by its own clock, before the server would refuse', async () => {
    const running = await start({ scenario });
    const clock = new FakeClock(Date.now());
    const client = clientFor(running, { auth: m2m, clock, budgets: new RateBudgetRegistry(clock) });
    await client.listEndpoints();
    await clock.advance(3600_000 - 41_000);
    await client.listEndpoints();
    expect(running.emulator.calls.query({ operation: 'token' })).toHaveLength(1);
    await clock.advance(2000);
    await client.listEndpoints();
    expect(calls(running, { afterSeq: 0 }).filter((c) => c !== 'oidcDiscovery 200')).toEqual([
      'token 200',
      'list 200',
      'list 200',
      'token 200',
      'list 200',
    ]);
  });

  it('gets a new token once when the server says the cached one expired (emulator clock jumped)', async () => {
    const running = await start({ scenario });
    const client = clientFor(running, { auth: m2m });
    await client.listEndpoints();
    running.emulator.advance(3601_000);
    await client.listEndpoints();
    expect(calls(running).filter((c) => c !== 'oidcDiscovery 200')).toEqual(['token 200', 'list 200', 'list 401', 'token 200', 'list 200']);
  });

  it('refuses a wrong client secret with one Auth error: no retry storm, no secret in the message', async () => {
    const running = await start({ scenario });
    const wrong = 'dose-wrong-secret-0123456789abcdef';
    const client = clientFor(running, { auth: { type: 'oauth-m2m', clientId: CLIENT_ID, clientSecret: wrong } });
    const err = await failure(client.listEndpoints());
    expect(err.kind).toBe('Auth');
    expect(err.status).toBe(401);
    expect(err.errorCode).toBe('invalid_client');
    expect(JSON.stringify({ message: err.message, stack: err.stack, json: err })).not.toContain(wrong);
    expect(calls(running)).toEqual(['oidcDiscovery 200', 'token 401']);
  });
});

describe('token federation', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pt-federation-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const policy = { issuer: 'https://kubernetes.default.svc', audience: 'databricks' };
  const claims = (sub: string, iss = policy.issuer) => ({
    iss,
    sub,
    aud: ['databricks'],
    exp: Math.floor(Date.now() / 1000) + 3600,
  });

  it('exchanges the projected token, re-reads the rotated file, and reports a refused JWT as Auth without leaking it', async () => {
    const running = await start({ scenario: { clock: { speed: 1 }, auth: { federation: [policy], tokenLifetimeSeconds: 600 } } });
    const tokenFile = join(dir, 'token');
    const first = jwt(claims('system:serviceaccount:pt-system:pt-operator'));
    await writeFile(tokenFile, `${first}\n`);
    const provider = createCredentialsProvider(
      { type: 'token-federation', tokenFilePath: tokenFile, clientId: CLIENT_ID },
      { host: running.url, transport },
    );
    const lines: string[] = [];
    const logger: ClientLogger = {
      debug: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
      warn: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
    };
    const client = clientFor(running, { auth: provider, logger });
    expect(await client.checkCredentials()).toEqual({ authType: 'file-oidc', endpointCount: 0 });
    expect(calls(running)).toEqual(['token 200', 'list 200']);

    // The kubelet rotates the file to a token the policy refuses; the Databricks token expires.
    const rotated = jwt(claims('system:serviceaccount:pt-system:pt-operator', 'https://evil.example'));
    await writeFile(tokenFile, rotated);
    const issued = provider.secrets();
    running.emulator.advance(601_000);
    const err = await failure(client.listEndpoints());
    expect(err.kind).toBe('Auth');
    expect(err.errorCode).toBe('invalid_grant');
    expect(calls(running)).toEqual(['token 200', 'list 200', 'list 401', 'token 400']);
    const everything = JSON.stringify({ message: err.message, stack: err.stack, json: err, lines });
    for (const secret of [first, rotated, ...issued]) expect(everything).not.toContain(secret);
  });

  it('reports a missing token file as Auth', async () => {
    const running = await start();
    const client = clientFor(running, { auth: { type: 'token-federation', tokenFilePath: join(dir, 'absent') } });
    const err = await failure(client.listEndpoints());
    expect(err.kind).toBe('Auth');
    expect(err.message).toMatch(/cannot read the federated token file .*absent \(ENOENT\)/);
    expect(calls(running)).toEqual([]);
  });
});

describe('secrets', () => {
  it('never appear in errors or logs, through refusals, retries and server messages', async () => {
    const running = await start({ scenario: { clock: { speed: 1 }, auth: { pats: ['dapi-only-this-one-0000000000000000'] } } });
    const lines: string[] = [];
    const logger: ClientLogger = {
      debug: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
      warn: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
    };
    const refused = await failure(clientFor(running, { logger }).listEndpoints());
    // an unknown PAT is a 403, as in Databricks: the operator tells it from a missing permission by the list
    expect(refused.kind).toBe('PermissionDenied');
    expect(refused.status).toBe(403);

    running.emulator.addFault({ type: 'unavailable', times: 2 });
    const good = 'dapi-only-this-one-0000000000000000';
    await clientFor(running, { logger, auth: { type: 'pat', token: good } }).listEndpoints();
    expect(lines.length).toBeGreaterThanOrEqual(2);

    const everything = JSON.stringify({ refused: [refused.message, refused.stack, refused], lines });
    expect(everything).not.toContain(PAT);
    expect(everything).not.toContain(good);
    expect(calls(running)).toEqual(['list 403', 'list 503', 'list 503', 'list 200']);
  });
});
