// The emulator's metrics export uses the names Databricks documents, and the canary gate reads them.
import { describe, expect, it } from 'vitest';
import { EndpointSpec } from '../../../src/api/v1alpha1/index.js';
import { gateValues, parseSamples } from '../../../src/controllers/endpoint/canary-gate.js';
import { renderMetrics } from '../../../src/emulator/metrics.js';

describe('renderMetrics', () => {
  const text = renderMetrics(['llama-2', 'llama-3'], { 'llama-3': { request_count_total: 100, request_5xx_count_total: 4, request_latency_ms_sum: 25_000, request_latency_ms_count: 100 } });

  it('reports the documented gauges and the request_latency_ms histogram, per served entity', () => {
    const names = new Set(parseSamples(text).map((s) => s.name));
    expect([...names].sort()).toEqual([
      'cpu_usage_percentage',
      'mem_usage_percentage',
      'provisioned_concurrent_requests_total',
      'request_4xx_count_total',
      'request_5xx_count_total',
      'request_count_total',
      'request_latency_ms_bucket',
      'request_latency_ms_count',
      'request_latency_ms_sum',
    ]);
    expect(text).toContain('# TYPE request_latency_ms histogram');
    expect(text).toContain('request_latency_ms_bucket{served_entity_name="llama-3",le="+Inf"} 100');
    expect(text).toContain('request_5xx_count_total{served_entity_name="llama-2"} 0');
  });

  it('a canary gate computes an error ratio and an average latency from them', () => {
    const spec = EndpointSpec.parse({
      model: { name: 'main.default.llama', version: '3' },
      throughput: { chunks: { min: 1, max: 1 } },
      canary: {
        steps: [10],
        pause: '1m',
        gate: [
          { metric: 'request_5xx_count_total', divideBy: 'request_count_total', max: 0.05 },
          { metric: 'request_latency_ms_sum', divideBy: 'request_latency_ms_count', max: 500 },
        ],
      },
    });
    expect(gateValues(text, spec)).toEqual({ ok: true, values: [0.04, 250] });
  });
});
