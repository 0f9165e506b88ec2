// A Databricks outage (every API call answers 503) that lasts a while, then ends. A spec change applied during it
// fails at every reconcile (Synced=False ReconcileError); each failure doubles the key's backoff (5 ms × 2^n, up to
// 1,000 s in client-go's limiter). When the host answers again, the change must be sent within seconds, as after a
// kube-apiserver outage (apiserver-outage.test.ts), not after a backoff grown during the outage: with the default
// --databricks-timeout of 20 s a 10-minute outage left endpoints waiting about 5 more minutes, a 20-minute one up
// to 16. Evidence: the operator's own log (the failure count it backs off with) and the emulator's call log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, addFaults, condition, emulatorCalls, endpointManifest, isReady, removeFault, startE2E } from './harness.js';

/** From "the host answers again" to the held-back update sent. */
const RESUME_BOUND_MS = 10_000;
/** Failures of the key seen in the log before the outage ends: a backoff of 5 ms × 2^13 = 41 s at the workqueue's rate. */
const FAILURES = 14;

let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  // One Databricks call with its retries gives up after 2 s, so failures (and the backoff) pile up in a minute.
  e2e = await startE2E({ prefix: 'e2e-databricks-outage', speed: 480, operatorArgs: ['--databricks-timeout=2s'] });
});

afterEach(async () => {
  await e2e?.stop();
});


/** The largest failure count the operator logged for `key` ("reconcile failed; retrying with backoff"). */
function loggedFailures(key: string): number {
  let most = 0;
  for (const line of e2e.operator.logs().split('\n')) {
    if (!line.includes('retrying with backoff') || !line.includes(`"key":"${key}"`)) continue;
    const retries = /"retries":(\d+)/.exec(line)?.[1];
    if (retries !== undefined) most = Math.max(most, Number(retries));
  }
  return most;
}

describe('a Databricks outage (503 on every call) that ends', () => {
  it('a spec change held back by it is sent within seconds of the host answering again, not after a grown backoff', async () => {
    await e2e.apply(endpointManifest('steady'));
    await e2e.waitUntil('pte', 'steady', isReady, 90_000);

    const [outage] = await addFaults(e2e.emulator.url, { type: 'unavailable', rate: 1 });
    await e2e.apply(endpointManifest('steady', { throughput: { chunks: { min: 2, max: 4 } } }));
    // The failure of the new generation: a poll of the old one can meet the outage first (its Ready stays True).
    const generation = (o: Record<string, unknown>) => (o['metadata'] as { generation?: number }).generation;
    const failing = await e2e.waitUntil('pte', 'steady', (o) => condition(o, 'Synced')?.reason === 'ReconcileError' && condition(o, 'Synced')?.observedGeneration === generation(o), 30_000);
    // Honest meanwhile: the new generation is not claimed Ready.
    expect(condition(failing, 'Ready')?.status).not.toBe('True');

    const key = `${e2e.namespace}/steady`;
    await eventually(
      async () => {
        if (loggedFailures(key) < FAILURES) throw new Error(`${loggedFailures(key)} failures of ${key} logged so far`);
      },
      { timeoutMs: 150_000, intervalMs: 250 },
    );

    await removeFault(e2e.emulator.url, outage as string);
    const backAt = Date.now();
    const updatedAt = await eventually(
      async () => {
        const call = (await emulatorCalls(e2e.emulator.url)).find((c) => c.endpoint === 'steady' && c.operation === 'updateConfig' && c.status === 200 && c.realTime >= backAt);
        if (!call) throw new Error('no accepted config update of steady since the outage ended');
        return call.realTime;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    expect(updatedAt - backAt, 'config update sent after the outage ended (ms)').toBeLessThan(RESUME_BOUND_MS);
    await e2e.waitUntil('pte', 'steady', (o) => isReady(o) && condition(o, 'Synced')?.reason === 'ReconcileSuccess', 60_000);
  }, 300_000);
});
