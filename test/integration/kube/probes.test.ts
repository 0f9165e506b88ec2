import { describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { createRegistry } from '../../../src/observability/metrics.js';
import { startProbeServer } from '../../../src/observability/server.js';

describe('probe server', () => {
  it('answers /healthz, /readyz by its check, and /metrics with Node process metrics', async () => {
    const registry = createRegistry();
    new Counter({ name: 'pt_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    let ready = false;
    const server = await startProbeServer({ port: 0, registry, readyz: () => ready });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const get = (path: string) => fetch(`${server.url}${path}`);
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/readyz')).status).toBe(503);
      ready = true;
      expect((await get('/readyz')).status).toBe(200);
      const metrics = await get('/metrics');
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      const text = await metrics.text();
      expect(text).toContain('pt_test_total 3');
      expect(text).toMatch(/process_resident_memory_bytes \d+/);
      expect(text).toMatch(/nodejs_eventloop_lag_seconds/);
      expect((await get('/other')).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('reports not ready when the check throws', async () => {
    const server = await startProbeServer({
      port: 0,
      registry: createRegistry(),
      readyz: () => {
        throw new Error('broken');
      },
    });
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    } finally {
      await server.close();
    }
  });
});
