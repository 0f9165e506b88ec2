// GET /api/2.0/serving-endpoints/{name}/metrics: endpoint health metrics in the Prometheus text format.
// The metric names and types are the ones Databricks documents for this export ("Track and export serving
// endpoint health metrics to Prometheus and Datadog", docs.databricks.com/aws/en/machine-learning/model-serving/
// metrics-export-serving-endpoint, its Datadog example configuration): gauges cpu_usage_percentage,
// mem_usage_percentage, provisioned_concurrent_requests_total, request_count_total, request_4xx_count_total,
// request_5xx_count_total (requests of the last minute), and the histogram request_latency_ms. Databricks
// does not document the labels; the emulator puts one sample per served entity under served_entity_name
// (docs/emulator.md). Values are 0 until a test sets them (POST /__emulator/endpoints/{name}/metrics).

/** Gauges every served entity reports, with their help text. */
export const EMULATED_GAUGES: Record<string, string> = {
  cpu_usage_percentage: 'Average CPU usage across the server replicas, in percent.',
  mem_usage_percentage: 'Average memory usage across the server replicas, in percent.',
  provisioned_concurrent_requests_total: 'Provisioned concurrency: parallel requests the endpoint can handle.',
  request_count_total: 'Requests served in the last minute.',
  request_4xx_count_total: 'Requests answered with a 4xx status in the last minute.',
  request_5xx_count_total: 'Requests answered with a 5xx status in the last minute.',
};

/** The documented histogram; a test sets its `_sum` and `_count` (`_bucket{le="+Inf"}` follows `_count`). */
export const LATENCY_HISTOGRAM = 'request_latency_ms';

/** Values a test may set, per served entity: the gauges, and the latency histogram's sum and count. */
export const SETTABLE_METRICS: [string, ...string[]] = [`${LATENCY_HISTOGRAM}_sum`, `${LATENCY_HISTOGRAM}_count`, ...Object.keys(EMULATED_GAUGES)];

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(entities: readonly string[], values: Record<string, Record<string, number>>): string {
  const lines: string[] = [];
  const label = (entity: string, extra = '') => `{served_entity_name="${escapeLabel(entity)}"${extra}}`;
  for (const [name, help] of Object.entries(EMULATED_GAUGES)) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const entity of entities) lines.push(`${name}${label(entity)} ${values[entity]?.[name] ?? 0}`);
  }
  lines.push(`# HELP ${LATENCY_HISTOGRAM} Round-trip latency in milliseconds.`, `# TYPE ${LATENCY_HISTOGRAM} histogram`);
  for (const entity of entities) {
    const count = values[entity]?.[`${LATENCY_HISTOGRAM}_count`] ?? 0;
    lines.push(
      `${LATENCY_HISTOGRAM}_bucket${label(entity, ',le="+Inf"')} ${count}`,
      `${LATENCY_HISTOGRAM}_sum${label(entity)} ${values[entity]?.[`${LATENCY_HISTOGRAM}_sum`] ?? 0}`,
      `${LATENCY_HISTOGRAM}_count${label(entity)} ${count}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
