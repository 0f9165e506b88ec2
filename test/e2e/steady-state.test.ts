// Issue 12 item 7, steady state: endpoints that are Ready cost no apiserver write and at most one Databricks
// GET each per poll interval (±10 % jitter), measured over several intervals.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, endpointManifest, isReady, startE2E } from './harness.js';

const NAMES = ['ss-0', 'ss-1', 'ss-2', 'ss-3', 'ss-4'];
const POLL_MS = 2_000;
let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-steady', operatorArgs: [`--poll-interval=${POLL_MS}ms`] });
});

afterEach(async () => {
  await e2e?.stop();
});

async function getsPerEndpoint(): Promise<Record<string, number>> {
  const { calls } = (await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: { operation: string; endpoint?: string }[] };
  const counts: Record<string, number> = Object.fromEntries(NAMES.map((n) => [n, 0]));
  for (const c of calls) if (c.operation === 'get' && c.endpoint !== undefined && c.endpoint in counts) counts[c.endpoint] = (counts[c.endpoint] ?? 0) + 1;
  return counts;
}

async function resourceVersions(): Promise<Record<string, string>> {
  const list = JSON.parse(await e2e.kubectl(['get', 'pte', '-o', 'json'])) as { items: { metadata: { name: string; resourceVersion: string } }[] };
  return Object.fromEntries(list.items.map((o) => [o.metadata.name, o.metadata.resourceVersion]));
}

async function eventWrites(): Promise<number> {
  const list = JSON.parse(await e2e.kubectl(['get', 'events', '-o', 'json'])) as { items: { count?: number }[] };
  return list.items.reduce((sum, e) => sum + (e.count ?? 1), 0);
}

describe('steady state', () => {
  it('Ready endpoints: zero apiserver writes and at most one GET each per poll interval', async () => {
    await e2e.apply(NAMES.map((name) => endpointManifest(name)));
    for (const name of NAMES) await e2e.waitUntil('pte', name, isReady, 60_000);
    // Let the last rollout's own writes land, then take the baseline.
    await eventually(async () => {
      const a = await resourceVersions();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      expect(await resourceVersions()).toEqual(a);
    });
    const versions = await resourceVersions();
    const events = await eventWrites();
    const before = await getsPerEndpoint();
    const started = Date.now();

    // Evidence that polling goes on: every endpoint read at least three more times.
    const after = await eventually(
      async () => {
        const now = await getsPerEndpoint();
        for (const name of NAMES) if ((now[name] ?? 0) - (before[name] ?? 0) < 3) throw new Error(`${name} not polled three times yet`);
        return now;
      },
      { timeoutMs: 30_000 },
    );
    const elapsed = Date.now() - started;

    for (const name of NAMES) {
      const gets = (after[name] ?? 0) - (before[name] ?? 0);
      // one GET per interval, the interval jittered by at most -10 %
      expect(gets, `GETs of ${name} in ${elapsed} ms`).toBeLessThanOrEqual(Math.floor(elapsed / (0.9 * POLL_MS)) + 1);
    }
    expect(await resourceVersions()).toEqual(versions);
    expect(await eventWrites()).toBe(events);
  });
});
