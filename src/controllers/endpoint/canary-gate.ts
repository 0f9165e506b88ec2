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
  const rules = spec.canary?.gate ?? [];
  // Only the sums the gate names are kept: a host's text may hold millions of samples.
  const sums = new Map<string, number | undefined>();
  for (const rule of rules) for (const name of [rule.metric, rule.divideBy]) if (name !== undefined) sums.set(name, undefined);
  forEachSample(
    text,
    (name) => sums.has(name),
    (s) => {
      if (s.labels[ENTITY_LABEL] === entity) sums.set(s.name, (sums.get(s.name) ?? 0) + s.value);
    },
  );
  const sum = (name: string): number | undefined => sums.get(name);
  const unknown: string[] = [];
  const noSamples = (name: string) => `no samples of ${name} with ${ENTITY_LABEL}="${entity}" in the endpoint's metrics`;
  const values = rules.map((rule) => {
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

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
// Sticky: each matches at one position only, so the label scan below never starts over.
const LABEL_NAME = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="/y;
const SEPARATOR = /\s*(?:,\s*|$)/y;

/** Sample lines of the Prometheus text format (comments and malformed lines are skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  forEachSample(text, () => true, (sample) => samples.push(sample));
  return samples;
}

/**
 * Each sample of a metric `wanted` names, in order; comments and malformed lines are skipped. The text is the host's,
 * read on the operator's one thread: no line or sample is held past its visit (8 MiB holds 2 million samples), a line
 * of another metric is passed over by its name, and every scan moves forward only, so time is linear in the text.
 */
function forEachSample(text: string, wanted: (name: string) => boolean, visit: (sample: Sample) => void): void {
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const line = text.slice(start, end).trim();
    start = end + 1;
    METRIC_NAME.lastIndex = 0;
    const name = METRIC_NAME.exec(line)?.[0];
    if (name === undefined || !wanted(name)) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels = parseLabels(match[2] ?? '');
    if (labels) visit({ name, labels, value });
  }
}

/** `a="1",b="2"` (a trailing comma allowed); undefined when malformed. */
function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  if (text.trim() === '') return labels;
  let at = 0;
  while (at < text.length) {
    LABEL_NAME.lastIndex = at;
    const name = LABEL_NAME.exec(text)?.[1];
    if (name === undefined) return undefined;
    const value = quotedValue(text, LABEL_NAME.lastIndex);
    if (!value) return undefined;
    labels[name] = value.text;
    SEPARATOR.lastIndex = value.end;
    if (!SEPARATOR.test(text)) return undefined;
    at = SEPARATOR.lastIndex;
  }
  return labels;
}

/** The value whose text starts at `start`, unescaped, and the index after its closing quote; undefined when unclosed. */
function quotedValue(text: string, start: number): { text: string; end: number } | undefined {
  const parts: string[] = [];
  let from = start;
  for (let at = start; at < text.length; at++) {
    const char = text[at];
    if (char === '"') {
      parts.push(text.slice(from, at));
      return { text: parts.join(''), end: at + 1 };
    }
    if (char === '\\' && at + 1 < text.length) {
      const escaped = text[at + 1] as string;
      parts.push(text.slice(from, at), escaped === 'n' ? '\n' : escaped);
      from = at + 2;
      at++;
    }
  }
  return undefined;
}
