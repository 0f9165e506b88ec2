// The emulator's endpoint settings, in-process: AI Gateway PUT replaces (and {} unsets), an enabled
// inference table cannot move without being disabled first, a missing catalog is a 400; the
// Permissions API works by ID, PUT replaces and PATCH merges, admins stay inherited; notifications
// PATCH is echoed on GET; budget_policy_id and description are kept from the create; the
// gateway, notifications and telemetry count against the create/update budget, permissions do not; the telemetry
// PATCH replaces or removes the config, is echoed on GET and refuses bad bodies.
import { describe, expect, it } from 'vitest';
import { Emulator } from '../../../src/emulator/emulator.js';
import { ApiError } from '../../../src/emulator/errors.js';

const LLAMA = { entity_name: 'system.ai.meta_llama_v3_1_8b_instruct', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 };

function emulatorWithEndpoint(scenario: ConstructorParameters<typeof Emulator>[0] = {}) {
  const emulator = new Emulator({ speed: 0, ...scenario });
  const created = emulator.createEndpoint({ name: 'llama', config: { served_entities: [LLAMA] }, budget_policy_id: 'pol-1', description: 'support chat' });
  return { emulator, id: created.id as string };
}

const refused = (call: () => unknown): ApiError => {
  try {
    call();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
};

describe('emulator: AI Gateway', () => {
  it('a PUT replaces the whole gateway, filling what the server fills; {} unsets it', () => {
    const { emulator } = emulatorWithEndpoint();
    const answer = emulator.putAiGateway('llama', { guardrails: { input: { safety: true } }, inference_table_config: { enabled: true, catalog_name: 'main', schema_name: 'default' } });
    expect(answer).toEqual({
      guardrails: { input: { safety: true, pii: { behavior: 'NONE' } } },
      inference_table_config: { enabled: true, catalog_name: 'main', schema_name: 'default', table_name_prefix: 'llama' },
      usage_tracking_config: { enabled: false },
    });
    emulator.putAiGateway('llama', { fallback_config: { enabled: true } });
    expect(emulator.getEndpoint('llama').ai_gateway).toEqual({ fallback_config: { enabled: true }, usage_tracking_config: { enabled: false } });
    expect(emulator.putAiGateway('llama', {})).toEqual({});
    expect(emulator.getEndpoint('llama').ai_gateway).toBeUndefined();
  });

  it.each([
    ['a catalog that does not exist', { inference_table_config: { enabled: true, catalog_name: 'nowhere', schema_name: 'default' } }, "Catalog 'nowhere' does not exist."],
    ['a schema that does not exist', { inference_table_config: { enabled: true, catalog_name: 'main', schema_name: 'nowhere' } }, "Schema 'main.nowhere' does not exist."],
    ['an hourly rate limit', { rate_limits: [{ calls: 1, renewal_period: 'hour' }] }, "Invalid renewal_period 'hour'"],
    ['a principal with key endpoint', { rate_limits: [{ calls: 1, renewal_period: 'minute', principal: 'a@b.com' }] }, "principal cannot be specified when the key is 'endpoint'"],
    // A workspace takes one of calls or tokens per limit (a user's PUT on a real workspace, community.databricks.com
    // thread 136468, 2025-10-29: "it has to be either calls or tokens you can't have both"); the wording is a guess.
    ['a rate limit with both calls and tokens', { rate_limits: [{ calls: 1, tokens: 100, renewal_period: 'minute' }] }, 'either calls or tokens, not both'],
  ])('%s is a 400 INVALID_PARAMETER_VALUE', (_, body, message) => {
    const { emulator } = emulatorWithEndpoint();
    const error = refused(() => emulator.putAiGateway('llama', body));
    expect([error.status, error.errorCode]).toEqual([400, 'INVALID_PARAMETER_VALUE']);
    expect(error.message).toContain(message);
  });

  it('an enabled inference table moves only after it was disabled', () => {
    const { emulator } = emulatorWithEndpoint();
    emulator.putAiGateway('llama', { inference_table_config: { enabled: true, catalog_name: 'main', schema_name: 'default' } });
    const move = { inference_table_config: { enabled: true, catalog_name: 'ml', schema_name: 'serving' } };
    expect(refused(() => emulator.putAiGateway('llama', move)).message).toContain('disable the inference table first');
    emulator.putAiGateway('llama', { inference_table_config: { enabled: false, catalog_name: 'ml', schema_name: 'serving' } });
    expect(emulator.putAiGateway('llama', move).inference_table_config).toMatchObject({ enabled: true, catalog_name: 'ml' });
  });

  it('an unknown endpoint is a 404', () => {
    const { emulator } = emulatorWithEndpoint();
    expect(refused(() => emulator.putAiGateway('nope', {})).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});

describe('emulator: permissions by endpoint ID', () => {
  const direct = (acl: ReturnType<Emulator['getPermissions']>) =>
    (acl.access_control_list ?? []).map((e) => `${e.user_name ?? e.group_name ?? e.service_principal_name}:${e.all_permissions?.[0]?.permission_level}${e.all_permissions?.[0]?.inherited ? ':inherited' : ''}`).sort();

  it('starts with the creator and the inherited admins; PUT replaces, PATCH merges', () => {
    const { emulator, id } = emulatorWithEndpoint();
    expect(direct(emulator.getPermissions(id))).toEqual(['admins:CAN_MANAGE:inherited', 'emulator-user@example.com:CAN_MANAGE']);
    emulator.setPermissions(id, { access_control_list: [{ group_name: 'ml-eng', permission_level: 'CAN_QUERY' }] });
    expect(direct(emulator.getPermissions(id))).toEqual(['admins:CAN_MANAGE:inherited', 'ml-eng:CAN_QUERY']);
    emulator.updatePermissions(id, { access_control_list: [{ user_name: 'a@b.com', permission_level: 'CAN_VIEW' }, { group_name: 'ml-eng', permission_level: 'CAN_MANAGE' }] });
    expect(direct(emulator.getPermissions(id))).toEqual(['a@b.com:CAN_VIEW', 'admins:CAN_MANAGE:inherited', 'ml-eng:CAN_MANAGE']);
    expect(emulator.getPermissions(id)).toMatchObject({ object_id: `/serving-endpoints/${id}`, object_type: 'serving-endpoint' });
  });

  it.each([
    ['an unknown level', [{ group_name: 'g', permission_level: 'CAN_USE' }], 'Permission level CAN_USE is not supported'],
    ['two principals in one entry', [{ group_name: 'g', user_name: 'a@b.com', permission_level: 'CAN_VIEW' }], 'Exactly one of user_name, group_name or service_principal_name'],
    ['the admins group', [{ group_name: 'admins', permission_level: 'CAN_VIEW' }], "Cannot change permissions for group 'admins'."],
    ['a group the directory does not have', [{ group_name: 'ghosts', permission_level: 'CAN_VIEW' }], 'Principal: GroupName(ghosts) does not exist'],
  ])('%s is a 400', (_, list, message) => {
    const { emulator, id } = emulatorWithEndpoint({ scenario: { directory: { groups: ['g', 'ml-eng'] } } });
    const error = refused(() => emulator.setPermissions(id, { access_control_list: list }));
    expect([error.status, error.message]).toEqual([400, expect.stringContaining(message)]);
  });

  it("a group's entry grants its members (scenario directory.members), every identity is in the workspace's users group, and the highest level counts", () => {
    const { emulator, id } = emulatorWithEndpoint({ scenario: { directory: { groups: ['ml-eng'], members: { 'ml-eng': ['alice@example.com'] } } } });
    const levelOf = (caller: string) => emulator.accessLevel(caller, { name: 'llama' });
    expect(levelOf('alice@example.com')).toBeUndefined();
    emulator.updatePermissions(id, { access_control_list: [{ group_name: 'ml-eng', permission_level: 'CAN_MANAGE' }] });
    expect(levelOf('alice@example.com')).toBe('CAN_MANAGE');
    expect(() => emulator.authorize('alice@example.com', { endpointId: id }, 'CAN_MANAGE')).not.toThrow();
    expect(levelOf('bob@example.com')).toBeUndefined();
    // `users` exists in every workspace, whether or not directory.groups lists it.
    emulator.updatePermissions(id, { access_control_list: [{ group_name: 'users', permission_level: 'CAN_QUERY' }] });
    expect(levelOf('bob@example.com')).toBe('CAN_QUERY');
    expect(refused(() => emulator.authorize('bob@example.com', { name: 'llama' }, 'CAN_MANAGE')).status).toBe(403);
    // A lower direct entry does not hide a group's higher one.
    emulator.updatePermissions(id, { access_control_list: [{ user_name: 'alice@example.com', permission_level: 'CAN_VIEW' }] });
    expect(levelOf('alice@example.com')).toBe('CAN_MANAGE');
  });

  it('a principal deleted from the workspace leaves every ACL and is refused from then on; the creator field keeps its name', () => {
    const { emulator, id } = emulatorWithEndpoint();
    emulator.updatePermissions(id, { access_control_list: [{ user_name: 'alice@example.com', permission_level: 'CAN_VIEW' }] });
    emulator.deletePrincipal('Emulator-User@example.com');
    expect(direct(emulator.getPermissions(id))).toEqual(['admins:CAN_MANAGE:inherited', 'alice@example.com:CAN_VIEW']);
    expect(emulator.getEndpoint('llama').creator).toBe('emulator-user@example.com');
    const error = refused(() => emulator.setPermissions(id, { access_control_list: [{ user_name: 'emulator-user@example.com', permission_level: 'CAN_MANAGE' }] }));
    expect([error.status, error.message]).toEqual([400, 'Principal: UserName(emulator-user@example.com) does not exist']);
    emulator.reset();
    const again = emulator.createEndpoint({ name: 'llama', config: { served_entities: [LLAMA] } });
    expect(() => emulator.setPermissions(again.id as string, { access_control_list: [{ user_name: 'emulator-user@example.com', permission_level: 'CAN_MANAGE' }] })).not.toThrow();
  });

  it('an unknown endpoint ID is a 404, and permission levels are listed', () => {
    const { emulator, id } = emulatorWithEndpoint();
    expect(refused(() => emulator.getPermissions('0'.repeat(32))).status).toBe(404);
    expect(emulator.getPermissionLevels(id).permission_levels?.map((l) => l.permission_level)).toEqual(['CAN_MANAGE', 'CAN_QUERY', 'CAN_VIEW']);
  });
});

describe('emulator: notifications, create-only fields, budget', () => {
  it('a notifications PATCH is echoed on GET; an empty one clears them', () => {
    const { emulator } = emulatorWithEndpoint();
    expect(emulator.updateNotifications('llama', { email_notifications: { on_update_failure: ['oncall@b.com'] } })).toEqual({ name: 'llama', email_notifications: { on_update_failure: ['oncall@b.com'] } });
    expect(emulator.getEndpoint('llama').email_notifications).toEqual({ on_update_failure: ['oncall@b.com'] });
    emulator.updateNotifications('llama', { email_notifications: {} });
    expect(emulator.getEndpoint('llama').email_notifications).toBeUndefined();
  });

  // A real GET never fills budget_policy_id; it answers effective_budget_policy_id (the Databricks CLI's direct engine,
  // PR #5708, tested on a workspace; the reference's captures of real answers carry effective_budget_policy_id).
  it('the budget policy of the create is answered as effective_budget_policy_id, as a real GET answers it; description and create-time notifications as before', () => {
    const emulator = new Emulator({ speed: 0 });
    emulator.createEndpoint({ name: 'x', config: { served_entities: [LLAMA] }, budget_policy_id: 'pol-1', description: 'd', email_notifications: { on_update_failure: ['a@b.com'] } });
    expect(emulator.getEndpoint('x')).toMatchObject({ effective_budget_policy_id: 'pol-1', description: 'd' });
    expect(emulator.getEndpoint('x')).not.toHaveProperty('budget_policy_id');
    expect(emulator.getEndpoint('x').email_notifications).toBeUndefined();
  });

  // "the real backend ... always echoes the field back on GET" (the Databricks CLI's fake, libs/testserver/serving_endpoints.go,
  // which force-sends it): a client reading it, e.g. MLflow's get_endpoint(...)["description"], gets "", not a missing key.
  it('an endpoint created without a description answers description "" on create, GET and update, as a real one does', () => {
    const emulator = new Emulator({ speed: 0 });
    expect(emulator.createEndpoint({ name: 'x', config: { served_entities: [LLAMA] } })).toHaveProperty('description', '');
    expect(emulator.createPtEndpoint({ name: 'mu', config: { served_entities: [{ entity_name: 'system.ai.gpt-oss-120b', entity_version: '1', provisioned_model_units: 50 }] } })).toHaveProperty(
      'description',
      '',
    );
    emulator.advance(600_000);
    expect(emulator.getEndpoint('x')).toHaveProperty('description', '');
    expect(emulator.updateConfig('x', { served_entities: [{ ...LLAMA, max_provisioned_throughput: 1960 }] })).toHaveProperty('description', '');
  });

  it('the gateway, notifications and telemetry count against the create/update budget; permissions do not', () => {
    const { emulator, id } = emulatorWithEndpoint();
    emulator.advance(600_000);
    const used = () => emulator.budget.used(emulator.now());
    const start = used();
    emulator.putAiGateway('llama', { fallback_config: { enabled: true } });
    emulator.updateNotifications('llama', { email_notifications: {} });
    emulator.setPermissions(id, { access_control_list: [] });
    emulator.patchTelemetryConfig('llama', {});
    expect(used() - start).toBe(3);
  });
});

describe('emulator: telemetry config', () => {
  /** The endpoint's first rollout done: the telemetry API takes no change while a config update is in progress. */
  const settledEndpoint = () => {
    const made = emulatorWithEndpoint();
    made.emulator.advance(600_000);
    return made;
  };
  const TABLES = { logs_table: 'main.obs.logs', traces_table: 'main.obs.traces' };
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (err) {
      return err instanceof ApiError ? { status: err.status, code: err.errorCode } : err;
    }
    return undefined;
  };

  // As Databricks' own test server for the CLI answers (databricks/cli libs/testserver/serving_endpoints.go; its commit
  // 99278023d6: "the backend consumes table_names to provision a profile and never returns it").
  it('a PATCH with tables answers with the new profile made from them and the inference table it named, not the tables or features; GET shows the same', () => {
    const { emulator } = settledEndpoint();
    const answered = emulator.patchTelemetryConfig('llama', { telemetry_config: { table_names: TABLES, enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'], inference_table_config: { sampling_fraction: 0.5 } } });
    expect(answered).toMatchObject({ name: 'llama', id: expect.any(String) });
    expect(answered.telemetry_config).toEqual({
      telemetry_profile_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      inference_table_config: { sampling_fraction: 0.5, name: `${TABLES.logs_table}_payload` },
    });
    expect(emulator.getEndpoint('llama').telemetry_config).toEqual(answered.telemetry_config);
    // the same tables again make another profile
    const again = emulator.patchTelemetryConfig('llama', { telemetry_config: { table_names: TABLES } });
    expect(again.telemetry_config?.telemetry_profile_id).not.toBe(answered.telemetry_config?.telemetry_profile_id);
  });

  it('a PATCH with a profile shows that profile, and not the features', () => {
    const { emulator } = settledEndpoint();
    expect(emulator.patchTelemetryConfig('llama', { telemetry_config: { telemetry_profile_id: 'tp-shared', enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'] } }).telemetry_config).toEqual({ telemetry_profile_id: 'tp-shared' });
  });

  it('a PATCH replaces the config (a profile, no tables kept); one without telemetry_config removes it', () => {
    const { emulator } = settledEndpoint();
    emulator.patchTelemetryConfig('llama', { telemetry_config: { table_names: TABLES } });
    expect(emulator.patchTelemetryConfig('llama', { telemetry_config: { telemetry_profile_id: 'tp-shared' } }).telemetry_config).toEqual({ telemetry_profile_id: 'tp-shared' });
    expect(emulator.patchTelemetryConfig('llama', {})).not.toHaveProperty('telemetry_config');
    expect(emulator.getEndpoint('llama')).not.toHaveProperty('telemetry_config');
  });

  // The Databricks CLI's bundle validator: "Given neither, it discards the configuration instead of applying it."
  it('a config naming neither a profile nor a table is taken and applied nowhere: the previous one stays', () => {
    const { emulator } = settledEndpoint();
    emulator.patchTelemetryConfig('llama', { telemetry_config: { telemetry_profile_id: 'tp-1' } });
    expect(emulator.patchTelemetryConfig('llama', { telemetry_config: { enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'] } }).telemetry_config).toEqual({ telemetry_profile_id: 'tp-1' });
  });

  it.each([
    ['both a profile and tables', { telemetry_config: { telemetry_profile_id: 'tp-1', table_names: TABLES } }],
    ['a feature Databricks does not know', { telemetry_config: { telemetry_profile_id: 'tp-1', enabled_telemetry_features: ['LOGS'] } }],
    ['a sampling above 1', { telemetry_config: { telemetry_profile_id: 'tp-1', inference_table_config: { sampling_fraction: 1.5 } } }],
    ['a table name that is not catalog.schema.table', { telemetry_config: { table_names: { logs_table: 'obs.logs' } } }],
    ['a config that is not an object', { telemetry_config: 'tp-1' }],
  ])('%s: 400 INVALID_PARAMETER_VALUE, the config unchanged', (_, body) => {
    const { emulator } = settledEndpoint();
    expect(refusal(() => emulator.patchTelemetryConfig('llama', body))).toEqual({ status: 400, code: 'INVALID_PARAMETER_VALUE' });
    expect(emulator.getEndpoint('llama')).not.toHaveProperty('telemetry_config');
  });

  it('an unknown endpoint: 404 RESOURCE_DOES_NOT_EXIST', () => {
    const emulator = new Emulator({ speed: 0 });
    expect(refusal(() => emulator.patchTelemetryConfig('nope', { telemetry_config: { telemetry_profile_id: 'tp-1' } }))).toEqual({ status: 404, code: 'RESOURCE_DOES_NOT_EXIST' });
  });

  it('a create with telemetry_config keeps it (GET echoes it); the create is refused when it is bad', () => {
    const emulator = new Emulator({ speed: 0 });
    emulator.createEndpoint({ name: 'x', config: { served_entities: [LLAMA] }, telemetry_config: { telemetry_profile_id: 'tp-1' } });
    expect(emulator.getEndpoint('x').telemetry_config).toEqual({ telemetry_profile_id: 'tp-1' });
    expect(refusal(() => emulator.createEndpoint({ name: 'y', config: { served_entities: [LLAMA] }, telemetry_config: { telemetry_profile_id: 'tp-1', table_names: TABLES } }))).toEqual({ status: 400, code: 'INVALID_PARAMETER_VALUE' });
    expect(emulator.endpoints().map((e) => e.name)).toEqual(['x']);
  });

  // The Databricks CLI's PR #6106 (databricks/cli 23a5c5738f), of the real service: "Unsupported endpoint types now fail
  // when telemetry is applied; create may still succeed because it drops the field". An endpoint made without a config
  // is one (its test server names it NO_CONFIG).
  it('an endpoint made without a config: a create drops its telemetry_config, the PATCH is refused with 400', () => {
    const emulator = new Emulator({ speed: 0 });
    const created = emulator.createEndpoint({ name: 'bare', telemetry_config: { telemetry_profile_id: 'tp-1' } });
    expect(created).not.toHaveProperty('telemetry_config');
    expect(emulator.getEndpoint('bare')).not.toHaveProperty('telemetry_config');
    const error = refused(() => emulator.patchTelemetryConfig('bare', { telemetry_config: { telemetry_profile_id: 'tp-1' } }));
    expect({ status: error.status, code: error.errorCode }).toEqual({ status: 400, code: 'INVALID_PARAMETER_VALUE' });
    expect(error.message).toMatch(/not supported for endpoint type 'NO_CONFIG'/);
    expect(emulator.getEndpoint('bare')).not.toHaveProperty('telemetry_config');
    // once it has a config, the telemetry API takes it
    emulator.updateConfig('bare', { served_entities: [LLAMA] });
    emulator.advance(600_000);
    expect(emulator.patchTelemetryConfig('bare', { telemetry_config: { telemetry_profile_id: 'tp-1' } }).telemetry_config).toEqual({ telemetry_profile_id: 'tp-1' });
  });

  it('an out-of-band edit replaces the config (null removes it)', () => {
    const { emulator } = settledEndpoint();
    expect(emulator.editEndpoint('llama', { telemetry_config: { telemetry_profile_id: 'tp-ui' } }).telemetry_config).toEqual({ telemetry_profile_id: 'tp-ui' });
    expect(emulator.editEndpoint('llama', { telemetry_config: null })).not.toHaveProperty('telemetry_config');
  });

  // The Databricks CLI's PR #6106 ("the API rejects concurrent updates") and its test server's answer.
  it('a PATCH while a config update is in progress: 409 RESOURCE_CONFLICT, the config unchanged', () => {
    const { emulator } = emulatorWithEndpoint();
    expect(refused(() => emulator.patchTelemetryConfig('llama', { telemetry_config: { telemetry_profile_id: 'tp-1' } }))).toMatchObject({
      status: 409,
      errorCode: 'RESOURCE_CONFLICT',
      message: 'Endpoint llama is currently updating. Wait for the update to complete before updating its telemetry configuration.',
    });
    expect(emulator.getEndpoint('llama')).not.toHaveProperty('telemetry_config');
    emulator.advance(600_000);
    expect(emulator.patchTelemetryConfig('llama', { telemetry_config: { telemetry_profile_id: 'tp-1' } }).telemetry_config).toEqual({ telemetry_profile_id: 'tp-1' });
  });
});
