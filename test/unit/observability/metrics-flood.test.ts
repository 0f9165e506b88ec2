// /metrics is served without authentication by default (--metrics-secure=false): anyone who reaches the port may
// scrape in a tight loop. Rendering the registry is CPU on the operator's only thread, the one its reconciles run
// on: a render per request lets such a client take that thread. Renders are shared instead, and so bounded.
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS_REUSE_FACTOR, METRICS_REUSE_MS, startProbeServer } from '../../../src/observability/server.js';

afterEach(() => vi.useRealTimers());

function registryWithCounter() {
  const registry = new Registry();
  const reconciles = new Counter({ name: 'reconciles_total', help: 'reconciles', registers: [registry] });
  const render = vi.spyOn(registry, 'metrics');
  return { registry, reconciles, render };
}

describe('/metrics under a flood of scrapes', () => {
  it('answers 100 concurrent scrapes with one render, each with the whole text', async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // a loaded machine may take longer than the reuse to connect them all
    const { registry, reconciles, render } = registryWithCounter();
    reconciles.inc(7);
    const server = await startProbeServer({ port: 0, registry });
    try {
      const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(`${server.url}/metrics`)));
      const texts = await Promise.all(answers.map((a) => a.text()));
      expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
      for (const text of texts) expect(text).toContain('reconciles_total 7');
      expect(render).toHaveBeenCalledTimes(1);
    } finally {
      await server.close();
    }
  });

  it('renders at most once per METRICS_REUSE_MS for a client that scrapes in a loop; a later scrape sees new values', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { registry, reconciles, render } = registryWithCounter();
    const server = await startProbeServer({ port: 0, registry });
    try {
      for (let i = 0; i < 50; i += 1) expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
      expect(render).toHaveBeenCalledTimes(1);
      reconciles.inc();
      vi.advanceTimersByTime(METRICS_REUSE_MS);
      expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('reconciles_total 1');
      expect(render).toHaveBeenCalledTimes(2);
    } finally {
      await server.close();
    }
  });

  it('serves a slow render again for METRICS_REUSE_FACTOR times as long as it took: a flood renders a fifth of the time at most', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { registry, render } = registryWithCounter();
    render.mockImplementation(async () => {
      vi.advanceTimersByTime(500); // a registry of many objects
      return 'reconciles_total 0\n';
    });
    const server = await startProbeServer({ port: 0, registry });
    try {
      await fetch(`${server.url}/metrics`);
      vi.advanceTimersByTime(METRICS_REUSE_FACTOR * 500 - 1);
      await fetch(`${server.url}/metrics`);
      expect(render).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(1);
      await fetch(`${server.url}/metrics`);
      expect(render).toHaveBeenCalledTimes(2);
    } finally {
      await server.close();
    }
  });

  it('does not keep a render that failed: the next scrape renders again', async () => {
    const { registry, render } = registryWithCounter();
    render.mockRejectedValueOnce(new Error('a collect callback threw'));
    const server = await startProbeServer({ port: 0, registry });
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
