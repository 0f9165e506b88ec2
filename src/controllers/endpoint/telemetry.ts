// The telemetry part: spec.telemetry ↔ the endpoint's telemetry_config, set with PATCH /telemetry-config (the given
// object replaces the previous one; a body without it removes it). Not sent with the create, like the AI Gateway and
// the notifications: a telemetry config Databricks refuses (a table it cannot make) fails its own condition, not the
// create. Only what the spec sets is compared: Databricks may fill in more (the profile made from table_names, the
// inference table's name, its default sampling), and comparing that would send the PATCH again at every look.
// Databricks consumes table_names (and the features) to make a new profile and shows only that profile's ID (the
// Databricks CLI's own test server does so, and its commit 99278023d6 says it): what it does not show is compared with
// what the operator last sent and Databricks took (status.settings.telemetry.sent), and the profile it applied for it.
// Pure.
import type { SettingsStatus, Telemetry } from '../../api/v1alpha1/index.js';
import { TELEMETRY_FEATURES, type ServingEndpointDetailed, type TelemetryConfig, type UnityCatalogTableNames } from '../../databricks/api-types.js';
import type { Plan } from './plan-types.js';
import { type PartContext, type PartPlan, type PartPlanner, appliedText, decidePart, sameList, sortedUnique } from './settings-part.js';

type TelemetryStatus = NonNullable<SettingsStatus['telemetry']>;

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

/** status.settings.telemetry.sent of a config: as status keeps host-facing text (one visible line, bounded). */
const sentText = (config: TelemetryConfig): string => appliedText(describeTelemetry(config));

/**
 * Whether Databricks applied what the spec asks for when it was last sent, as far as it shows: `sent` is the spec's
 * config as the operator sent it and Databricks took it, and the endpoint still has the profile it applied then (the
 * first one shown after it when its answer named none).
 */
function tookWhatWasSent(desired: TelemetryConfig, observed: TelemetryConfig | undefined, record: TelemetryStatus | undefined): boolean {
  const shown = observed?.telemetry_profile_id;
  return record?.sent === sentText(desired) && shown !== undefined && (record.profileId === undefined || record.profileId === appliedText(shown));
}

/** How the endpoint's telemetry config compares with the spec, in what the spec sets. */
interface TelemetryComparison {
  /** what differs (none: the spec removes the config) */
  diffs: string[];
  /** what the spec sets that Databricks keeps to the profile it shows and this object never sent ("tables", "features") */
  uncompared: string[];
}

/**
 * How the endpoint's telemetry config differs from the spec, in what the spec sets (none: the spec removes it).
 * Tables and features Databricks does not show (it keeps them to the profile it made) count as applied when it took
 * them last time and still applies that profile (`record`, status.settings.telemetry). An observer sent nothing: what
 * a profile it did not make was made from cannot be known, so those are not compared (`uncompared`), neither matching
 * nor differing.
 */
function compareTelemetry(spec: Telemetry | undefined, observed: TelemetryConfig | undefined, record: TelemetryStatus | undefined, observing: boolean): TelemetryComparison {
  const desired = telemetryBody(spec).telemetry_config;
  if (!desired) return { diffs: hasTelemetry(observed) ? [`${describeTelemetry(observed)} → none`] : [], uncompared: [] };
  const diffs: string[] = [];
  const uncompared: string[] = [];
  if (desired.telemetry_profile_id !== undefined && desired.telemetry_profile_id !== observed?.telemetry_profile_id) {
    diffs.push(`profile ${observed?.telemetry_profile_id ?? 'none'} → ${desired.telemetry_profile_id}`);
  }
  const took = tookWhatWasSent(desired, observed, record);
  const shown = observed?.telemetry_profile_id;
  // A profile this object made (its record) was made from what it sent: that is known, whatever the mode.
  const unknowable = !took && observing && shown !== undefined && record?.profileId !== appliedText(shown);
  const tablesShown = TABLES.some(([, wire]) => observed?.table_names?.[wire] !== undefined);
  if (desired.table_names && !tablesShown && unknowable) uncompared.push('tables');
  else if (desired.table_names && !tablesShown && !took) {
    // Databricks shows the profile, not the tables it was made from: this one was not made from the spec's.
    const tables = TABLES.flatMap(([, wire, word]) => (desired.table_names?.[wire] !== undefined ? [`${word} ${desired.table_names[wire]}`] : []));
    diffs.push(`profile ${observed?.telemetry_profile_id ?? 'none'} → one made from ${tables.join(', ')}`);
  }
  for (const [, wire, word] of desired.table_names && tablesShown ? TABLES : []) {
    const wanted = desired.table_names?.[wire];
    const shown = observed?.table_names?.[wire];
    if (wanted !== undefined && !sameTable(wanted, shown)) diffs.push(`${word} table ${shown ?? 'none'} → ${wanted}`);
  }
  const wantedFeatures = knownFeatures(desired.enabled_telemetry_features);
  const shownFeatures = knownFeatures(observed?.enabled_telemetry_features);
  const featuresShown = observed?.enabled_telemetry_features !== undefined;
  const featuresDiffer = wantedFeatures === 'all' ? shownFeatures !== 'all' : shownFeatures === 'all' || !sameList(wantedFeatures, shownFeatures);
  if (featuresDiffer && !featuresShown && unknowable) uncompared.push('features');
  else if (featuresDiffer && (featuresShown || !took)) {
    diffs.push(`features ${describeFeatures(shownFeatures)} → ${describeFeatures(wantedFeatures)}`);
  }
  const sampling = desired.inference_table_config?.sampling_fraction;
  const shownSampling = observed?.inference_table_config?.sampling_fraction;
  if (sampling !== undefined && sampling !== shownSampling) diffs.push(`sampling ${shownSampling ?? 'default'} → ${sampling}`);
  return { diffs, uncompared };
}

export const diffTelemetry = (spec: Telemetry | undefined, observed: TelemetryConfig | undefined, record?: TelemetryStatus): string[] =>
  compareTelemetry(spec, observed, record, false).diffs;

/** What an observer's condition adds when Databricks' profile hides what the spec sets (compareTelemetry). */
const uncomparedNote = (uncompared: string[], profileId: string | undefined): string =>
  `; Databricks shows the profile, not the ${uncompared.join(' or ')} it was made from, so the spec's are not compared` +
  (profileId === undefined ? '' : ` (spec.telemetry.profileId: ${appliedText(profileId)} would compare the profile itself)`);

export const telemetryPart: PartPlanner = {
  key: 'telemetry',
  conditionType: 'TelemetrySynced',
  plan(context: PartContext): PartPlan {
    const spec = context.spec.telemetry;
    const observed = context.endpoint.telemetry_config;
    const record = context.previous.telemetry;
    const { diffs, uncompared } = compareTelemetry(spec, observed, record, context.observeOnly === true);
    const planned = decidePart({
      context,
      key: 'telemetry',
      wanted: spec !== undefined,
      what: 'the telemetry config',
      applied: describeTelemetry(observed),
      diffs,
      action: { type: 'patchTelemetryConfig', name: context.endpoint.name, body: telemetryBody(spec) },
    });
    if (planned.condition && uncompared.length > 0) {
      planned.condition = { ...planned.condition, message: planned.condition.message + uncomparedNote(uncompared, observed?.telemetry_profile_id) };
    }
    const desired = telemetryBody(spec).telemetry_config;
    if (!planned.status || !desired || record?.sent !== sentText(desired)) return planned;
    // What was sent is still what the spec asks for: kept, with the profile applied for it once it is first shown.
    // (in status as host text is: one visible line, bounded)
    const shown = observed?.telemetry_profile_id;
    const profileId = record.profileId ?? (planned.status.inSync && shown !== undefined ? appliedText(shown) : undefined);
    return { ...planned, status: { ...planned.status, sent: record.sent, ...(profileId !== undefined && { profileId }) } };
  },
};

/**
 * Databricks took a PATCH of the spec's telemetry: status records what was sent, and the profile its answer shows
 * (none shown: the first shown afterwards), which is all Databricks shows of a profile made from tables.
 */
export function withTelemetryAnswer(plan: Plan, spec: Telemetry | undefined, answered: ServingEndpointDetailed): Plan {
  const desired = telemetryBody(spec).telemetry_config;
  const part = plan.status.settings?.telemetry;
  if (!desired || !part) return plan;
  const profileId = answered.telemetry_config?.telemetry_profile_id;
  const telemetry: TelemetryStatus = { ...part, sent: sentText(desired) };
  if (profileId !== undefined) telemetry.profileId = appliedText(profileId);
  else delete telemetry.profileId;
  return { ...plan, status: { ...plan.status, settings: { ...plan.status.settings, telemetry } } };
}
