// The telemetry part planner: only what the spec sets is compared (Databricks' echo may add a profile, a table name,
// the features in full), one PATCH for a difference, {} and the field's removal take the config away.
import { describe, expect, it } from 'vitest';
import type { Telemetry } from '../../../../src/api/v1alpha1/index.js';
import { diffTelemetry, telemetryBody, telemetrySpec, withTelemetryAnswer } from '../../../../src/controllers/endpoint/telemetry.js';
import type { TelemetryConfig } from '../../../../src/databricks/api-types.js';
import { afterPlan, at, edited, readyEndpoint, updatingEndpoint } from '../fixtures.js';
import { conditionOf, endpointWith, plan, reasons, settledWith } from './settings-fixtures.js';

const ALL = ['TELEMETRY_FEATURE_INFERENCE_TABLE', 'TELEMETRY_FEATURE_LOGS', 'TELEMETRY_FEATURE_METRICS', 'TELEMETRY_FEATURE_TRACES'];
const tables: Telemetry = { tables: { logsTable: 'main.obs.logs', tracesTable: 'main.obs.traces' } };

describe('telemetry: what is compared', () => {
  it.each<[string, Telemetry | undefined, TelemetryConfig | undefined]>([
    ['the same profile', { profileId: 'tp-1' }, { telemetry_profile_id: 'tp-1' }],
    ['a profile shown with the tables it was made from', { profileId: 'tp-1' }, { telemetry_profile_id: 'tp-1', table_names: { logs_table: 'main.obs.logs' } }],
    ['tables shown with the profile made from them', tables, { telemetry_profile_id: 'tp-9', table_names: { logs_table: 'main.obs.logs', traces_table: 'main.obs.traces' } }],
    ['tables shown in lower case', { tables: { logsTable: 'Main.Obs.Logs' } }, { table_names: { logs_table: 'main.obs.logs' } }],
    ['tables the spec does not name', { tables: { logsTable: 'main.obs.logs' } }, { table_names: { logs_table: 'main.obs.logs', metrics_table: 'main.obs.metrics' } }],
    ['no features and every feature listed', { profileId: 'tp-1' }, { telemetry_profile_id: 'tp-1', enabled_telemetry_features: ALL }],
    ['every feature and none listed', { profileId: 'tp-1', features: ALL as Telemetry['features'] }, { telemetry_profile_id: 'tp-1' }],
    ['features in another order', { profileId: 'tp-1', features: ['TELEMETRY_FEATURE_TRACES', 'TELEMETRY_FEATURE_LOGS'] }, { telemetry_profile_id: 'tp-1', enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS', 'TELEMETRY_FEATURE_TRACES'] }],
    ['a sampling the spec leaves to Databricks', { profileId: 'tp-1' }, { telemetry_profile_id: 'tp-1', inference_table_config: { sampling_fraction: 1, name: 'main.obs.chat_payload' } }],
    ['the same sampling', { profileId: 'tp-1', inferenceTable: { samplingFraction: 0.25 } }, { telemetry_profile_id: 'tp-1', inference_table_config: { sampling_fraction: 0.25 } }],
    ['{} and no config', {}, undefined],
    ['{} and a config naming no profile (Databricks applies none)', {}, { enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'] }],
    ['removed and no config', undefined, undefined],
  ])('%s: in sync', (_, spec, observed) => {
    expect(diffTelemetry(spec, observed)).toEqual([]);
  });

  it.each<[string, Telemetry | undefined, TelemetryConfig | undefined, string[]]>([
    ['no config yet', { profileId: 'tp-1' }, undefined, ['profile none → tp-1']],
    ['another profile', { profileId: 'tp-1' }, { telemetry_profile_id: 'tp-2' }, ['profile tp-2 → tp-1']],
    ['another logs table', tables, { table_names: { logs_table: 'main.old.logs', traces_table: 'main.obs.traces' } }, ['logs table main.old.logs → main.obs.logs']],
    ['a table missing', tables, { table_names: { logs_table: 'main.obs.logs' } }, ['traces table none → main.obs.traces']],
    ['fewer features than the spec', { profileId: 'tp-1', features: ['TELEMETRY_FEATURE_LOGS', 'TELEMETRY_FEATURE_TRACES'] }, { telemetry_profile_id: 'tp-1', enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'] }, ['features logs → logs, traces']],
    ['some features where the spec wants all', { profileId: 'tp-1' }, { telemetry_profile_id: 'tp-1', enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'] }, ['features logs → all features']],
    ['all features where the spec wants some', { profileId: 'tp-1', features: ['TELEMETRY_FEATURE_LOGS'] }, { telemetry_profile_id: 'tp-1' }, ['features all features → logs']],
    ['another sampling', { profileId: 'tp-1', inferenceTable: { samplingFraction: 0.5 } }, { telemetry_profile_id: 'tp-1', inference_table_config: { sampling_fraction: 1 } }, ['sampling 1 → 0.5']],
    ['a config where the spec says {}', {}, { telemetry_profile_id: 'tp-1' }, ['profile tp-1, all features → none']],
    ['a config after the field was removed', undefined, { table_names: { logs_table: 'main.obs.logs' } }, ['logs main.obs.logs, all features → none']],
  ])('%s: %j', (_, spec, observed, diffs) => {
    expect(diffTelemetry(spec, observed)).toEqual(diffs);
  });
});

describe('telemetry: bodies and import', () => {
  it.each<[string, Telemetry | undefined, object]>([
    ['a profile', { profileId: 'tp-1' }, { telemetry_config: { telemetry_profile_id: 'tp-1' } }],
    [
      'tables, features and sampling',
      { ...tables, features: ['TELEMETRY_FEATURE_LOGS'], inferenceTable: { samplingFraction: 0.1 } },
      { telemetry_config: { table_names: { logs_table: 'main.obs.logs', traces_table: 'main.obs.traces' }, enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'], inference_table_config: { sampling_fraction: 0.1 } } },
    ],
    ['an empty feature list (all of them)', { profileId: 'tp-1', features: [] }, { telemetry_config: { telemetry_profile_id: 'tp-1' } }],
    ['{}: removal', {}, {}],
    ['no field: removal', undefined, {}],
  ])('PATCH body for %s', (_, spec, body) => {
    expect(telemetryBody(spec)).toEqual(body);
  });

  it.each<[string, TelemetryConfig | undefined, Telemetry | undefined]>([
    ['none', undefined, undefined],
    ['a config naming no profile', { enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'] }, undefined],
    ['a profile', { telemetry_profile_id: 'tp-1', enabled_telemetry_features: ALL }, { profileId: 'tp-1' }],
    [
      'tables with the profile made from them: the tables',
      { telemetry_profile_id: 'tp-9', table_names: { logs_table: 'main.obs.logs' }, enabled_telemetry_features: ['TELEMETRY_FEATURE_LOGS'], inference_table_config: { name: 'main.obs.chat_payload', sampling_fraction: 0.5 } },
      { tables: { logsTable: 'main.obs.logs' }, features: ['TELEMETRY_FEATURE_LOGS'], inferenceTable: { samplingFraction: 0.5 } },
    ],
  ])('spec.telemetry of %s', (_, config, spec) => {
    expect(telemetrySpec(config)).toEqual(spec);
    // What import writes is in sync with what it was read from: applying it sends nothing.
    if (spec) expect(diffTelemetry(spec, config)).toEqual([]);
  });
});

describe('telemetry part', () => {
  const echoed: TelemetryConfig = { telemetry_profile_id: 'tp-9', table_names: { logs_table: 'main.obs.logs', traces_table: 'main.obs.traces' } };

  it('an endpoint showing the spec (and the profile Databricks made): nothing to send, TelemetrySynced=True', () => {
    const endpoint = endpointWith({ telemetry_config: echoed });
    const p = plan(settledWith({ telemetry: tables }, endpoint), { endpoint });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'TelemetrySynced')).toMatchObject({ status: 'True', reason: 'Applied', message: 'the telemetry config matches the spec: profile tp-9, logs main.obs.logs, traces main.obs.traces, all features' });
  });

  it('a spec without telemetry leaves the endpoint\'s alone: no PATCH, no condition', () => {
    const endpoint = endpointWith({ telemetry_config: echoed });
    const p = plan(settledWith({}, endpoint), { endpoint });
    expect(p.action.type).toBe('none');
    expect(conditionOf(p, 'TelemetrySynced')).toBeUndefined();
    expect(p.status.settings?.telemetry).toBeUndefined();
  });

  it('telemetry added to the spec is sent with one PATCH of the whole config', () => {
    const endpoint = endpointWith({});
    const object = settledWith({}, endpoint);
    const p = plan({ ...object, spec: { ...object.spec, telemetry: tables }, generation: 2 }, { endpoint });
    expect(p.action).toEqual({ type: 'patchTelemetryConfig', name: 'llama-chat', body: { telemetry_config: { table_names: { logs_table: 'main.obs.logs', traces_table: 'main.obs.traces' } } } });
    expect(conditionOf(p, 'TelemetrySynced')).toMatchObject({ status: 'False', reason: 'Applying' });
  });

  it('a config changed in Databricks is drift: Warning DriftDetected and the spec restored', () => {
    const endpoint = endpointWith({ telemetry_config: echoed });
    const object = settledWith({ telemetry: tables }, endpoint);
    const drifted = endpointWith({ telemetry_config: { telemetry_profile_id: 'tp-other' } });
    const p = plan(object, { endpoint: drifted });
    expect(p.action.type).toBe('patchTelemetryConfig');
    expect(reasons(p)).toContain('Warning DriftDetected');
  });

  it('{} removes a config the operator never managed (an adopted endpoint\'s), with a PATCH without telemetry_config', () => {
    const endpoint = endpointWith({ telemetry_config: echoed });
    const object = settledWith({}, endpoint);
    const p = plan({ ...object, spec: { ...object.spec, telemetry: {} }, generation: 2 }, { endpoint });
    expect(p.action).toEqual({ type: 'patchTelemetryConfig', name: 'llama-chat', body: {} });
  });

  it('removing spec.telemetry after it was managed removes the config, then forgets the part', () => {
    const endpoint = endpointWith({ telemetry_config: echoed });
    const managed = settledWith({ telemetry: tables }, endpoint);
    const removed = { ...managed, spec: { ...managed.spec, telemetry: undefined }, generation: 2 };
    const first = plan(removed, { endpoint });
    expect(first.action).toEqual({ type: 'patchTelemetryConfig', name: 'llama-chat', body: {} });
    const second = plan({ ...removed, status: first.status }, { endpoint: endpointWith({}) });
    expect(second.action.type).toBe('none');
    expect(second.status.settings).toBeUndefined();
    expect(conditionOf(second, 'TelemetrySynced')).toBeUndefined();
  });

  it('telemetry changed with the throughput in one edit is sent after the rollout, without a DriftDetected', () => {
    let object = edited(settledWith({ telemetry: tables }, endpointWith({ telemetry_config: echoed })), {
      telemetry: { profileId: 'tp-shared' },
      throughput: { chunks: { min: 2, max: 4 } },
    });
    const sent = plan(object, { endpoint: endpointWith({ telemetry_config: echoed }), now: at(-20 * 60_000) });
    expect(sent.action.type).toBe('updateConfig');
    object = afterPlan(object, sent);
    const during = plan(object, { endpoint: { ...updatingEndpoint({}, { max: 3920 }), telemetry_config: echoed }, now: at(-10 * 60_000) });
    expect(during.action.type).toBe('none');
    object = afterPlan(object, during);
    const landed = plan(object, { endpoint: { ...readyEndpoint({ max: 3920 }), telemetry_config: echoed } });
    expect(landed.action).toEqual({ type: 'patchTelemetryConfig', name: 'llama-chat', body: { telemetry_config: { telemetry_profile_id: 'tp-shared' } } });
    expect([...reasons(sent), ...reasons(during), ...reasons(landed)]).not.toContain('Warning DriftDetected');
  });
});

// Databricks consumes table_names (and the features) to make a new profile and shows only that profile's ID, and the
// inference table it made (the Databricks CLI's test server, libs/testserver/serving_endpoints.go, and its commit
// 99278023d6: "the backend consumes table_names to provision a profile and never returns it"). Compared with what GET
// shows, a spec of tables was never in sync: a PATCH at every look, a new profile each time, NotConverging after three.
describe('telemetry part: Databricks shows only the profile it made from the tables', () => {
  const made = (id: string): TelemetryConfig => ({ telemetry_profile_id: id, inference_table_config: { name: 'main.obs.logs_payload', sampling_fraction: 1 } });
  const withFeatures: Telemetry = { ...tables, features: ['TELEMETRY_FEATURE_LOGS', 'TELEMETRY_FEATURE_TRACES'] };

  /** The spec's telemetry sent once and answered with `answer`; then a look at `shown`. */
  function afterPatch(spec: Telemetry, answer: TelemetryConfig | undefined, shown: TelemetryConfig | undefined) {
    const object = settledWith({}, endpointWith({}));
    const changed = { ...object, spec: { ...object.spec, telemetry: spec }, generation: 2 };
    const sent = plan(changed, { endpoint: endpointWith({}) });
    expect(sent.action.type).toBe('patchTelemetryConfig');
    const answered = withTelemetryAnswer(sent, spec, endpointWith({ ...(answer && { telemetry_config: answer }) }));
    return plan(afterPlan(changed, answered), { endpoint: endpointWith({ ...(shown && { telemetry_config: shown }) }) });
  }

  it.each<[string, Telemetry]>([
    ['tables', tables],
    ['tables and some features', withFeatures],
    ['a profile and some features', { profileId: 'tp-shared', features: ['TELEMETRY_FEATURE_LOGS'] }],
  ])('%s, once sent and answered with the profile made: in sync at the next look, nothing sent again', (_, spec) => {
    const profile = spec.profileId ?? 'b1946ac9-2c1f-4f1d-9c64-3a0c1c7b1a11';
    const next = afterPatch(spec, made(profile), made(profile));
    expect(next.action.type).toBe('none');
    expect(conditionOf(next, 'TelemetrySynced')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(next.status.settings?.telemetry).toMatchObject({ inSync: true, profileId: profile });
  });

  it('an answer without the profile: the profile first shown after the PATCH is taken as the one made', () => {
    const next = afterPatch(tables, undefined, made('p-1'));
    expect(next.action.type).toBe('none');
    expect(next.status.settings?.telemetry).toMatchObject({ inSync: true, profileId: 'p-1' });
  });

  it('a profile ID a hostile host makes huge is kept in status as one bounded line', () => {
    const huge = `p\n${'x'.repeat(100_000)}`;
    const next = afterPatch(tables, undefined, made(huge));
    expect(next.status.settings?.telemetry?.profileId?.length).toBeLessThanOrEqual(32_768);
    expect(next.status.settings?.telemetry?.profileId).not.toContain('\n');
  });

  it('another profile applied in Databricks afterwards is drift: the tables are sent again', () => {
    const next = afterPatch(tables, made('p-1'), made('p-other'));
    expect(next.action).toEqual({ type: 'patchTelemetryConfig', name: 'llama-chat', body: telemetryBody(tables) });
    expect(conditionOf(next, 'TelemetrySynced')).toMatchObject({ status: 'False', reason: 'Applying' });
    expect(conditionOf(next, 'TelemetrySynced')?.message).toContain('p-other');
  });

  it('tables changed in the spec are sent, though Databricks shows no tables to compare them with', () => {
    const object = settledWith({ telemetry: tables }, endpointWith({ telemetry_config: made('p-1') }), {}, undefined);
    const recorded = { ...object, status: { ...object.status, settings: { telemetry: { applied: 'profile p-1', inSync: true, sent: 'logs main.obs.logs, traces main.obs.traces, all features', profileId: 'p-1' } } } };
    const moved = { ...recorded, spec: { ...recorded.spec, telemetry: { tables: { logsTable: 'main.obs2.logs' } } }, generation: 2 };
    expect(plan(moved, { endpoint: endpointWith({ telemetry_config: made('p-1') }) }).action.type).toBe('patchTelemetryConfig');
  });

  it('a PATCH that failed records nothing: the tables are sent again at the next look', () => {
    const object = settledWith({}, endpointWith({}));
    const changed = { ...object, spec: { ...object.spec, telemetry: tables }, generation: 2 };
    const sent = plan(changed, { endpoint: endpointWith({}) });
    // not answered (refused, or no answer): no withTelemetryAnswer
    const next = plan(afterPlan(changed, sent), { endpoint: endpointWith({ telemetry_config: made('p-old') }) });
    expect(next.action.type).toBe('patchTelemetryConfig');
  });
});
