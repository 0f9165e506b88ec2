// The official Databricks Python SDK cannot tell the emulator from the real service in the flows we
// use: create_and_wait with provisioned throughput, get, update_config_and_wait, a 409 during an
// update, NotFound/ResourceDoesNotExist, the /pt model-unit API, model units through the generic create with a
// description and route optimization, list and delete, put_ai_gateway,
// get/set/update permissions and get_permission_levels (by endpoint ID), update_notifications, patch_telemetry_config, a
// create with a budget policy, the Unity Catalog schemas.get of an inference table's target, the tags PATCH and
// get-model-optimization-info (no SDK method: api_client.do, as SDK users call it), current_user.me() (SCIM Me: each
// credential's own identity), with PAT, OAuth M2M and token
// federation (file-oidc, against a scenario's federation policy).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../../src/emulator/auth.js';
import { startEmulator, type RunningEmulator } from '../../../src/emulator/server.js';

const run = promisify(execFile);

/** Pinned: the newest databricks-sdk on PyPI when this test was written. */
export const DATABRICKS_SDK_VERSION = '0.162.0';
const cacheDir = process.env.PT_OPERATOR_CACHE ?? join(homedir(), '.cache', 'pt-operator');
const venv = join(cacheDir, 'venv-sdk');
const python = join(venv, 'bin', 'python');
const script = join(import.meta.dirname, 'sdk', 'compat.py');

/** Creates the venv once and reuses it while it holds the pinned SDK version; otherwise builds it afresh. */
async function ensureSdkVenv(): Promise<void> {
  if ((await installedSdkVersion()) === DATABRICKS_SDK_VERSION) return;
  await run(process.env.PT_OPERATOR_PYTHON ?? 'python3', ['-m', 'venv', '--clear', venv]);
  await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `databricks-sdk==${DATABRICKS_SDK_VERSION}`], {
    timeout: 170_000,
  });
  expect(await installedSdkVersion()).toBe(DATABRICKS_SDK_VERSION);
}

async function installedSdkVersion(): Promise<string | undefined> {
  if (!existsSync(python)) return undefined;
  try {
    const { stdout } = await run(python, ['-c', 'from databricks.sdk.version import __version__; print(__version__)']);
    return stdout.trim();
  } catch {
    return undefined; // a broken venv (e.g. its Python was upgraded away): rebuild it
  }
}

interface Step {
  step: string;
  [field: string]: unknown;
}

/** The issuer, audience and subject of the scenario's one federation policy: a GitHub Actions workflow's ID token. */
const FEDERATION = { issuer: 'https://token.actions.githubusercontent.com', audience: 'databricks', subject: 'repo:acme/gitops:ref:refs/heads/main' };

/** An unsigned JWT (the emulator checks claims, not signatures) valid for an hour of real time. */
function federatedJwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: now, exp: now + 3600, ...claims })}.c2lnbmF0dXJl`;
}

/**
 * A service principal's federation policy (workload identity federation): the exchange must name the principal, and
 * the token it gets stands for that principal (its application ID is its SCIM userName).
 */
const SP_FEDERATION = { issuer: 'https://kubernetes.default.svc', audience: 'databricks', clientId: 'pt-operator-sp', userName: '6f1f3c1e-8d2a-4c51-9a57-0c1d2e3f4a5b' };

/** The PAT of every PAT run, and a second one that stands for another identity (a service principal). */
const PAT = 'dapi0123456789abcdef';
const SECOND_PAT = { token: 'dapi-terraform-0123456789', userName: '0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d' };

type AuthType = 'pat' | 'oauth-m2m' | 'file-oidc';

async function runCompat(authType: AuthType, credentials: Record<string, string>): Promise<Map<string, Step>> {
  // A clean environment: no ~/.databrickscfg, no DATABRICKS_* from the developer's shell.
  const home = mkdtempSync(join(tmpdir(), 'pt-sdk-home-'));
  if (authType === 'file-oidc') {
    const jwt = federatedJwt({ iss: FEDERATION.issuer, aud: FEDERATION.audience, sub: FEDERATION.subject });
    writeFileSync(join(home, 'id-token.jwt'), jwt, { mode: 0o600 });
    credentials = {
      ...credentials,
      DATABRICKS_OIDC_TOKEN_FILEPATH: join(home, 'id-token.jwt'),
      PT_SP_POLICY_ISSUER: SP_FEDERATION.issuer,
      PT_SP_POLICY_CLIENT_ID: SP_FEDERATION.clientId,
    };
  }
  const { stdout } = await run(python, [script, authType], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      DATABRICKS_CONFIG_FILE: join(home, 'absent.databrickscfg'),
      DATABRICKS_HOST: emulator.url,
      ...credentials,
    },
    timeout: 110_000,
  });
  const steps = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Step);
  expect(steps.at(-1)).toEqual({ done: true });
  return new Map(steps.filter((s) => s.step).map((s) => [s.step, s]));
}

let emulator: RunningEmulator;

beforeAll(async () => {
  await ensureSdkVenv();
  // 600x: a 10-minute rollout takes one real second, so the SDK waiters see IN_PROGRESS, then NOT_UPDATING.
  // PATs and OAuth clients stay the defaults; federation accepts only the one policy.
  // The PAT run's two PATs stand for two identities: the workspace creator's and a service principal's.
  emulator = await startEmulator({ speed: 600, scenario: { auth: { pats: [PAT, SECOND_PAT], federation: [FEDERATION, SP_FEDERATION] } } });
}, 180_000);

afterAll(async () => {
  await emulator?.close();
});

// Each test, and a retry of it, starts from the emulator's scenario: a failed attempt may have left the endpoints its
// script creates (a second create of the name is refused).
beforeEach(() => {
  emulator.emulator.reset();
});

describe.each([
  ['pat', { DATABRICKS_TOKEN: PAT, PT_SECOND_TOKEN: SECOND_PAT.token }],
  ['oauth-m2m', { DATABRICKS_CLIENT_ID: DEFAULT_CLIENT_ID, DATABRICKS_CLIENT_SECRET: DEFAULT_CLIENT_SECRET }],
  ['file-oidc', {}],
] as const)('databricks-sdk %s against the emulator', (authType, credentials) => {
  it('runs the endpoint lifecycle the operator relies on', { timeout: 120_000 }, async () => {
    const firstSeq = emulator.emulator.calls.query().at(-1)?.seq ?? 0;
    const steps = await runCompat(authType, credentials);
    // Who the credential stands for: the scenario's one default identity (a user: e-mail), and for the second PAT
    // a service principal, named by its application ID.
    const creator = emulator.emulator.scenario.workspace.creator;
    expect(steps.get('current_user')).toEqual({ step: 'current_user', user_name: creator, emails: [creator], active: true });
    if (authType === 'pat') expect(steps.get('current_user_second')).toEqual({ step: 'current_user_second', user_name: SECOND_PAT.userName, emails: [] });
    const llama = { name: 'meta_llama_v3_1_8b_instruct-3', units: null, deployment: 'DEPLOYMENT_READY', scale_to_zero: false };

    expect(steps.get('create_and_wait')).toMatchObject({
      ready: 'READY',
      config_update: 'NOT_UPDATING',
      config_version: 1,
      id_length: 32,
      entity: { ...llama, max: 980 },
    });
    expect(steps.get('get')).toMatchObject({ ready: 'READY', entity: { ...llama, max: 980 } });
    expect(steps.get('update_config_and_wait')).toMatchObject({ config_update: 'NOT_UPDATING', config_version: 2, entity: { max: 1960 } });
    expect(steps.get('update_during_update')).toMatchObject({ raised: 'ResourceConflict', error_code: 'RESOURCE_CONFLICT' });
    expect(steps.get('old_config_serving_during_update')).toMatchObject({ config_update: 'IN_PROGRESS', serving_max: 1960, pending_max: 2940 });
    expect(steps.get('first_update_finished')).toMatchObject({ config_version: 3, entity: { max: 2940 } });
    expect(steps.get('get_missing')).toMatchObject({
      raised: 'ResourceDoesNotExist',
      is_resource_does_not_exist: true,
      error_code: 'RESOURCE_DOES_NOT_EXIST',
    });
    expect(steps.get('create_without_scale_to_zero')).toMatchObject({ raised: 'InvalidParameterValue', message: 'scaleToZeroEnabled is undefined. Please set it to either true or false.' });
    expect(steps.get('pt_model_units')).toMatchObject({ config_version: 2, entity: { name: 'gpt-oss-120b-1', units: 100, max: null } });
    expect(steps.get('list')).toMatchObject({ names: [`sdk-${authType}`, `sdk-${authType}-units`], config_updates: ['NOT_UPDATING', 'NOT_UPDATING'] });
    expect(steps.get('get_after_delete')).toMatchObject({ raised: 'ResourceDoesNotExist' });

    // Tags: the answer and a later GET show the merged tags; a missing endpoint is ResourceDoesNotExist.
    expect(steps.get('patch_tags_add')).toEqual({ step: 'patch_tags_add', tags: [['old', 'x'], ['team', 'data science']] });
    expect(steps.get('patch_tags_change')).toEqual({ step: 'patch_tags_change', tags: [['team', 'ml']], on_get: [['team', 'ml']] });
    expect(steps.get('patch_tags_missing_endpoint')).toEqual({ step: 'patch_tags_missing_endpoint', raised: 'ResourceDoesNotExist', error_code: 'RESOURCE_DOES_NOT_EXIST' });
    // get-model-optimization-info as the reference's captures show it, for both flavours and an ineligible model.
    expect(steps.get('optimization_info_token_band')).toEqual({ step: 'optimization_info_token_band', answer: { optimizable: true, model_type: 'llama', throughput_chunk_size: 980 } });
    expect(steps.get('optimization_info_model_units')).toMatchObject({ answer: { optimizable: true, model_unit_chunk_size: 50 } });
    expect(steps.get('optimization_info_not_eligible')).toEqual({ step: 'optimization_info_not_eligible', answer: { optimizable: false } });
    expect(steps.get('optimization_info_missing_model')).toEqual({ step: 'optimization_info_missing_model', raised: 'ResourceDoesNotExist', error_code: 'RESOURCE_DOES_NOT_EXIST' });

    // The settings beside the served config: AI Gateway, permissions by endpoint ID, notifications, budget policy.
    expect(steps.get('put_ai_gateway')).toEqual({
      step: 'put_ai_gateway',
      usage_tracking: true,
      table_prefix: `sdk-${authType}`,
      input_pii: 'NONE',
      rate_limit_key: 'user',
      fallback: true,
    });
    expect(steps.get('get_ai_gateway')).toMatchObject({ usage_tracking: true, rate_limits: 1 });
    expect(steps.get('put_ai_gateway_missing_catalog')).toMatchObject({ raised: 'InvalidParameterValue', is_invalid_parameter: true, message: "Catalog 'nowhere' does not exist." });
    expect(steps.get('put_ai_gateway_two_caps')).toEqual({ step: 'put_ai_gateway_two_caps', caps: ['calls', 'tokens'] });
    expect(steps.get('put_ai_gateway_both_caps')).toMatchObject({ raised: 'InvalidParameterValue', message: expect.stringContaining('either calls or tokens') });
    expect(steps.get('get_schema')).toEqual({ step: 'get_schema', name: 'default', catalog_name: 'main', full_name: 'main.default' });
    expect(steps.get('get_schema_missing_catalog')).toEqual({ step: 'get_schema_missing_catalog', raised: 'NotFound', error_code: 'CATALOG_DOES_NOT_EXIST', message: "Catalog 'nowhere' does not exist." });
    expect(steps.get('get_schema_missing_schema')).toEqual({ step: 'get_schema_missing_schema', raised: 'NotFound', error_code: 'SCHEMA_DOES_NOT_EXIST', message: "Schema 'main.nowhere' does not exist." });
    expect(steps.get('put_ai_gateway_empty')).toMatchObject({ cleared: {}, on_get: true });
    expect(steps.get('put_ai_gateway_missing_endpoint')).toMatchObject({ raised: 'ResourceDoesNotExist' });
    expect(steps.get('get_permission_levels')).toMatchObject({ levels: ['CAN_MANAGE', 'CAN_QUERY', 'CAN_VIEW'] });
    expect(steps.get('get_permissions')).toMatchObject({ object_type: 'serving-endpoint', acl: ['admins:CAN_MANAGE:inherited', `${creator}:CAN_MANAGE`] });
    expect(steps.get('set_permissions')).toMatchObject({ acl: ['admins:CAN_MANAGE:inherited', 'ml-eng:CAN_QUERY'] });
    expect(steps.get('update_permissions')).toMatchObject({ acl: ['admins:CAN_MANAGE:inherited', 'alice@example.com:CAN_VIEW', 'ml-eng:CAN_QUERY'] });
    expect(steps.get('get_permissions_missing')).toMatchObject({ raised: 'ResourceDoesNotExist' });
    expect(steps.get('update_notifications')).toMatchObject({ name: `sdk-${authType}`, on_failure: ['oncall@example.com'], on_get: ['oncall@example.com'] });
    expect(steps.get('patch_telemetry_config')).toEqual({
      step: 'patch_telemetry_config',
      name: `sdk-${authType}`,
      tables_shown: false,
      features_shown: false,
      inference_table: 'main.default.logs_payload',
      sampling: 0.5,
      profile_on_get: true,
    });
    expect(steps.get('patch_telemetry_config_both')).toMatchObject({ raised: 'InvalidParameterValue', error_code: 'INVALID_PARAMETER_VALUE' });
    expect(steps.get('patch_telemetry_config_missing_endpoint')).toMatchObject({ raised: 'ResourceDoesNotExist', error_code: 'RESOURCE_DOES_NOT_EXIST' });
    expect(steps.get('patch_telemetry_config_removed')).toMatchObject({ answered: true, on_get: true });
    expect(steps.get('canary_split')).toEqual({ step: 'canary_split', routes: [['v2', 90], ['v3', 10]], versions: ['2', '3'] });
    expect(steps.get('export_metrics')).toEqual({
      step: 'export_metrics',
      errors: ['request_5xx_count_total{served_entity_name="v2"} 0', 'request_5xx_count_total{served_entity_name="v3"} 0'],
    });
    // as a real GET answers it: the effective policy, budget_policy_id never filled
    expect(steps.get('create_with_budget_policy')).toMatchObject({ budget_policy_id: null, effective_budget_policy_id: 'budget-policy-1', description: 'chat for the support team' });
    expect(steps.get('create_model_units_generic')).toEqual({ step: 'create_model_units_generic', units: 50, description: 'gold tier', route_optimized: true, has_endpoint_url: true });

    // What reached the server: one create per flavour, the refused update, and the auth flow used.
    const calls = emulator.emulator.calls.query({ afterSeq: firstSeq });
    const byOperation = (op: string) => calls.filter((c) => c.operation === op);
    expect(byOperation('create').map((c) => [c.endpoint, c.status])).toEqual([[`sdk-${authType}`, 200], [`sdk-${authType}-cpu`, 400], [`sdk-${authType}-budget`, 200], [`sdk-${authType}-gold`, 200]]);
    expect(byOperation('putAiGateway').map((c) => c.status)).toEqual([200, 400, 200, 400, 200, 404]);
    expect(byOperation('setPermissions').map((c) => [c.endpoint, c.status])).toEqual([[`sdk-${authType}`, 200]]);
    expect(byOperation('updatePermissions').map((c) => [c.endpoint, c.status])).toEqual([[`sdk-${authType}`, 200]]);
    expect(byOperation('updateNotifications').map((c) => c.status)).toEqual([200]);
    expect(byOperation('createPt').map((c) => [c.endpoint, c.status])).toEqual([[`sdk-${authType}-units`, 200]]);
    expect(byOperation('updateConfig').map((c) => c.status)).toEqual([200, 200, 409, 200]);
    expect(byOperation('exportMetrics').map((c) => c.status)).toEqual([200]);
    expect(byOperation('getSchema').map((c) => [c.path, c.status])).toEqual([
      ['/api/2.1/unity-catalog/schemas/main.default', 200],
      ['/api/2.1/unity-catalog/schemas/nowhere.default', 404],
      ['/api/2.1/unity-catalog/schemas/main.nowhere', 404],
    ]);
    expect(byOperation('updatePtConfig').map((c) => c.status)).toEqual([200]);
    expect(byOperation('delete')).toHaveLength(4);
    expect(byOperation('patchTags').map((c) => [c.endpoint, c.status])).toEqual([[`sdk-${authType}`, 200], [`sdk-${authType}`, 200], ['sdk-missing-endpoint', 404]]);
    expect(byOperation('optimizationInfo').map((c) => c.status)).toEqual([200, 200, 200, 404]);
    const tokenCalls = byOperation('token');
    if (authType === 'pat') expect(tokenCalls).toHaveLength(0);
    else expect(tokenCalls.length).toBeGreaterThan(0);
    if (authType === 'file-oidc') {
      // An ID token no federation policy accepts: the SDK raises from the exchange, with OAuth's error code first.
      expect(steps.get('federation_refused')).toMatchObject({ raised: 'ValueError', message: expect.stringMatching(/^invalid_grant: No federation policy matches/) });
      // A service principal's policy: refused without client_id, accepted when the SDK is given the principal's id.
      expect(steps.get('federation_sp_policy_without_client_id')).toMatchObject({ raised: 'ValueError', message: expect.stringMatching(/^invalid_grant: /) });
      expect(steps.get('federation_sp_policy_with_client_id')).toEqual({ step: 'federation_sp_policy_with_client_id', raised: null, user_name: SP_FEDERATION.userName });
      expect(tokenCalls.filter((c) => c.status === 400)).toHaveLength(2);
      expect(tokenCalls.filter((c) => c.status !== 400).every((c) => c.status === 200)).toBe(true);
    } else {
      expect(tokenCalls.every((c) => c.status === 200)).toBe(true);
    }
    expect(calls.filter((c) => c.status === 401 || c.status === 403)).toEqual([]);
  });
});
