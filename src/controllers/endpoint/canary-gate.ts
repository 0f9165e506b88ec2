// The canary's metrics gate: reads GET /serving-endpoints/{name}/metrics (Prometheus text) and
// computes each spec.canary.gate value for the new version's entity. The sample parser is hand-written
// (see README.md in this folder): the gate needs only "name{labels} value" lines.
import type { EndpointSpec, EndpointStatus } from '../../api/v1alpha1/index.js';
import type { CallOptions, DatabricksClient } from '../../databricks/index.js';
import { recordedCanary } from './canary.js';
import type { GateReading } from './canary-verdict.js';
import { entityNameFor } from './desired.js';

/** The entity label Databricks puts on per-entity serving metrics. */
export const ENTITY_LABEL = 'served_entity_name';

/** Metrics are read only while a canary step serves and a gate is configured. */
export function gateNeeded(spec: EndpointSpec, status: EndpointStatus): boolean {
  const canary = recordedCanary(status, spec);
  return (spec.canary?.gate?.length ?? 0) > 0 && canary?.toVersion === spec.model.version && (canary.phase === 'Paused' || canary.phase === 'Holding');
}

export async function readGate(client: Pick<DatabricksClient, 'exportMetrics'>, endpoint: string, spec: EndpointSpec, options: CallOptions): Promise<GateReading> {
  let text: string;
  try {
    text = await client.exportMetrics(endpoint, options);
  } catch (err) {
    return { ok: false, message: `metrics could not be read: ${err instanceof Error ? err.message : String(err)}` };
  }
  return gateValues(text, spec);
}

/** Each gate entry's value for the new version: the metric, or metric / divideBy; undefined when absent or divided by 0. */
export function gateValues(text: string, spec: EndpointSpec): GateReading {
  const entity = entityNameFor(spec.model.name, spec.model.version);
  const samples = parseSamples(text).filter((s) => s.labels[ENTITY_LABEL] === entity);
  const sum = (name: string): number | undefined => {
    const matching = samples.filter((s) => s.name === name);
    return matching.length === 0 ? undefined : matching.reduce((total, s) => total + s.value, 0);
  };
  const unknown: string[] = [];
  const noSamples = (name: string) => `no samples of ${name} with ${ENTITY_LABEL}="${entity}" in the endpoint's metrics`;
  const values = (spec.canary?.gate ?? []).map((rule) => {
    const value = sum(rule.metric);
    if (value === undefined) unknown.push(noSamples(rule.metric));
    if (value === undefined || rule.divideBy === undefined) return value;
    const divisor = sum(rule.divideBy);
    if (divisor === undefined) unknown.push(noSamples(rule.divideBy));
    else if (divisor === 0) unknown.push(`${rule.divideBy} of ${entity} is 0 (no traffic to judge yet)`);
    return divisor === undefined || divisor === 0 ? undefined : value / divisor;
  });
  return unknown.length > 0 ? { ok: true, values, unknown: unknown.join('; ') } : { ok: true, values };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Sample lines of the Prometheus text format (comments and malformed lines are skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = SAMPLE.exec(trimmed);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(LABEL)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    }
    samples.push({ name: match[1] as string, labels, value });
  }
  return samples;
}
