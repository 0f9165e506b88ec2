// The telemetry part: spec.telemetry ↔ the endpoint's telemetry_config, set with PATCH /telemetry-config (the given
// object replaces the previous one; a body without it removes it). Not sent with the create, like the AI Gateway and
// the notifications: a telemetry config Databricks refuses (a table it cannot make) fails its own condition, not the
// create. Only what the spec sets is compared: Databricks may fill in more (the profile made from table_names, the
// inference table's name, its default sampling), and comparing that would send the PATCH again at every look. Pure.
import type { Telemetry } from '../../api/v1alpha1/index.js';
import { TELEMETRY_FEATURES, type TelemetryConfig, type UnityCatalogTableNames } from '../../databricks/api-types.js';
import { type PartContext, type PartPlan, type PartPlanner, decidePart, sameList, sortedUnique } from './settings-part.js';

const TABLES = [
  ['logsTable', 'logs_table', 'logs'],
  ['tracesTable', 'traces_table', 'traces'],
  ['metricsTable', 'metrics_table', 'metrics'],
  ['annotationsTable', 'annotations_table', 'annotations'],
] as const satisfies readonly (readonly [keyof NonNullable<Telemetry['tables']>, keyof UnityCatalogTableNames, string])[];

/** Whether a telemetry config names a profile: one that names none is discarded by Databricks (no config at all). */
export function hasTelemetry(config: TelemetryConfig | undefined): config is TelemetryConfig {
  return config?.telemetry_profile_id !== undefined || TABLES.some(([, wire]) => config?.table_names?.[wire] !== undefined);
}

/** The PATCH body for a spec (undefined, or {}: remove the telemetry config). */
export function telemetryBody(spec: Telemetry | undefined): { telemetry_config?: TelemetryConfig } {
  if (!spec || (spec.profileId === undefined && spec.tables === undefined)) return {};
  const tables: UnityCatalogTableNames = {};
  for (const [field, wire] of TABLES) if (spec.tables?.[field] !== undefined) tables[wire] = spec.tables[field];
  return {
    telemetry_config: {
      ...(spec.profileId !== undefined ? { telemetry_profile_id: spec.profileId } : { table_names: tables }),
      ...(spec.features && spec.features.length > 0 && { enabled_telemetry_features: spec.features }),
      ...(spec.inferenceTable && { inference_table_config: { sampling_fraction: spec.inferenceTable.samplingFraction } }),
    },
  };
}

/**
 * The inverse of telemetryBody, for import: spec.telemetry of an endpoint's telemetry config (undefined: none). Table
 * names when Databricks shows them (what the config was made from), else the profile; the features unless they are
 * all of them; the sampling when shown.
 */
export function telemetrySpec(config: TelemetryConfig | undefined): Telemetry | undefined {
  if (!hasTelemetry(config)) return undefined;
  const tables: NonNullable<Telemetry['tables']> = {};
  for (const [field, wire] of TABLES) if (config.table_names?.[wire] !== undefined) tables[field] = config.table_names[wire];
  const features = knownFeatures(config.enabled_telemetry_features);
  const sampling = config.inference_table_config?.sampling_fraction;
  return {
    ...(Object.keys(tables).length > 0 ? { tables } : { profileId: config.telemetry_profile_id as string }),
    ...(features !== 'all' && { features }),
    ...(sampling !== undefined && { inferenceTable: { samplingFraction: sampling } }),
  };
}

type Feature = (typeof TELEMETRY_FEATURES)[number];

/** Empty, omitted or every known one: 'all' (Databricks' default), so an echo of either form matches. */
function knownFeatures(list: readonly string[] | undefined): Feature[] | 'all' {
  const features = sortedUnique(list);
  if (features.length === 0 || TELEMETRY_FEATURES.every((f) => features.includes(f))) return 'all';
  return features as Feature[];
}

const describeFeatures = (features: Feature[] | 'all') => (features === 'all' ? 'all features' : features.map((f) => f.replace(/^TELEMETRY_FEATURE_/, '').toLowerCase()).join(', '));

/** e.g. "profile tp-1, all features" or "logs main.obs.logs, traces main.obs.traces, logs, traces, sampling 0.5" or "none". */
export function describeTelemetry(config: TelemetryConfig | undefined): string {
  if (!hasTelemetry(config)) return 'none';
  const tables = TABLES.flatMap(([, wire, word]) => (config.table_names?.[wire] !== undefined ? [`${word} ${config.table_names[wire]}`] : []));
  const sampling = config.inference_table_config?.sampling_fraction;
  return [
    ...(config.telemetry_profile_id !== undefined ? [`profile ${config.telemetry_profile_id}`] : []),
    ...tables,
    describeFeatures(knownFeatures(config.enabled_telemetry_features)),
    ...(sampling !== undefined ? [`sampling ${sampling}`] : []),
  ].join(', ');
}

/** Unity Catalog keeps names in lower case: a table named Main.Obs.Logs is shown as main.obs.logs. */
const sameTable = (a: string | undefined, b: string | undefined) => a?.toLowerCase() === b?.toLowerCase();

/** How the endpoint's telemetry config differs from the spec's, in what the spec sets (none: the spec removes it). */
export function diffTelemetry(spec: Telemetry | undefined, observed: TelemetryConfig | undefined): string[] {
  const desired = telemetryBody(spec).telemetry_config;
  if (!desired) return hasTelemetry(observed) ? [`${describeTelemetry(observed)} → none`] : [];
  const diffs: string[] = [];
  if (desired.telemetry_profile_id !== undefined && desired.telemetry_profile_id !== observed?.telemetry_profile_id) {
    diffs.push(`profile ${observed?.telemetry_profile_id ?? 'none'} → ${desired.telemetry_profile_id}`);
  }
  for (const [, wire, word] of TABLES) {
    const wanted = desired.table_names?.[wire];
    const shown = observed?.table_names?.[wire];
    if (wanted !== undefined && !sameTable(wanted, shown)) diffs.push(`${word} table ${shown ?? 'none'} → ${wanted}`);
  }
  const wantedFeatures = knownFeatures(desired.enabled_telemetry_features);
  const shownFeatures = knownFeatures(observed?.enabled_telemetry_features);
  if (wantedFeatures === 'all' ? shownFeatures !== 'all' : shownFeatures === 'all' || !sameList(wantedFeatures, shownFeatures)) {
    diffs.push(`features ${describeFeatures(shownFeatures)} → ${describeFeatures(wantedFeatures)}`);
  }
  const sampling = desired.inference_table_config?.sampling_fraction;
  const shownSampling = observed?.inference_table_config?.sampling_fraction;
  if (sampling !== undefined && sampling !== shownSampling) diffs.push(`sampling ${shownSampling ?? 'default'} → ${sampling}`);
  return diffs;
}

export const telemetryPart: PartPlanner = {
  key: 'telemetry',
  conditionType: 'TelemetrySynced',
  plan(context: PartContext): PartPlan {
    const spec = context.spec.telemetry;
    const observed = context.endpoint.telemetry_config;
    return decidePart({
      context,
      key: 'telemetry',
      wanted: spec !== undefined,
      what: 'the telemetry config',
      applied: describeTelemetry(observed),
      diffs: diffTelemetry(spec, observed),
      action: { type: 'patchTelemetryConfig', name: context.endpoint.name, body: telemetryBody(spec) },
    });
  },
};
