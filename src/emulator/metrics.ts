// GET /api/2.0/serving-endpoints/{name}/metrics: endpoint health metrics in the Prometheus text
// format, one sample per metric and served entity (label served_entity_name). Databricks documents the
// export (latency, request rate, error rate, CPU/GPU/memory usage) but not every metric name; the names
// here follow its metric descriptions and are the emulator's own. Values are 0 until a test sets them
// through the inspection API (POST /__emulator/endpoints/{name}/metrics).

/** Metrics every served entity reports, with their type and help text. */
export const EMULATED_METRICS: Record<string, { type: 'counter' | 'gauge'; help: string }> = {
  request_count_total: { type: 'counter', help: 'Requests served.' },
  request_4xx_count_total: { type: 'counter', help: 'Requests answered with a 4xx status.' },
  request_5xx_count_total: { type: 'counter', help: 'Requests answered with a 5xx status.' },
  request_latency_ms_p50: { type: 'gauge', help: 'Median round-trip latency in milliseconds.' },
  request_latency_ms_p99: { type: 'gauge', help: '99th percentile round-trip latency in milliseconds.' },
};

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(entities: readonly string[], values: Record<string, Record<string, number>>): string {
  const names = new Set([...Object.keys(EMULATED_METRICS), ...Object.values(values).flatMap((m) => Object.keys(m))]);
  const lines: string[] = [];
  for (const name of names) {
    const known = EMULATED_METRICS[name];
    if (known) lines.push(`# HELP ${name} ${known.help}`, `# TYPE ${name} ${known.type}`);
    for (const entity of entities) lines.push(`${name}{served_entity_name="${escapeLabel(entity)}"} ${values[entity]?.[name] ?? 0}`);
  }
  return `${lines.join('\n')}\n`;
}
