// Crash safety during a canary: the operator is killed (SIGKILL) while the update of a canary step is in flight, so
// Databricks carries the step out but status never says it was sent (no status.canary for the first step, the
// previous step for the second). After a restart the canary must go on from the step Databricks has: no step sent
// twice, none skipped, the old version removed at the end, Ready on the new version. Evidence: the emulator's call
// log (one update per step, as in canary.test.ts) and its served config, and the object's status.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, type OperatorProcess, addFaults, endpointManifest, isReady, startE2E } from './harness.js';

const MODEL = 'main.default.support_bot_llama';
const NAME = 'crash-canary';

let e2e: E2E & { startOperator(extraArgs?: string[]): OperatorProcess };

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-crash-canary', speed: 480 });
});

afterEach(async () => {
  await e2e?.stop();
});

interface Canary {
  phase?: string;
  step?: number;
  share?: number;
}
const canaryOf = (o: Record<string, unknown>) => ((o['status'] as { canary?: Canary } | undefined)?.canary ?? {}) as Canary;

async function updates(name = NAME): Promise<{ status: number; seq: number }[]> {
  const url = new URL('/__emulator/calls', e2e.emulator.url);
  url.searchParams.set('endpoint', name);
  url.searchParams.set('operation', 'updateConfig');
  return ((await (await fetch(url)).json()) as { calls: { status: number; seq: number }[] }).calls;
}

async function routes(name = NAME): Promise<Record<string, number>> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as {
    endpoints: { name: string; config?: { traffic_config?: { routes?: { served_entity_name: string; traffic_percentage: number }[] } }; pending_config?: unknown }[];
  };
  const endpoint = state.endpoints.find((e) => e.name === name);
  return Object.fromEntries((endpoint?.config?.traffic_config?.routes ?? []).map((r) => [r.served_entity_name, r.traffic_percentage]));
}

/** Holds the next config update 3 s before Databricks acts on it, and kills the operator while it is in flight. */
async function killDuringNextUpdate(name = NAME, trigger?: () => Promise<void>): Promise<void> {
  const before = (await updates(name)).length;
  const [id] = await addFaults(e2e.emulator.url, { type: 'latency', ms: 3_000, times: 1, match: { method: 'PUT', path: `/api/2.0/serving-endpoints/${name}/config` } });
  await trigger?.();
  await eventually(
    async () => {
      const list = (await (await fetch(new URL('/__emulator/faults', e2e.emulator.url))).json()) as { faults: { id: string; fired: number }[] };
      if (list.faults.find((f) => f.id === id)?.fired !== 1) throw new Error('the step update has not been sent yet');
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  await e2e.operator.stop('SIGKILL');
  // Databricks carries the update out although nobody hears the answer.
  await eventually(
    async () => {
      if ((await updates(name)).length !== before + 1) throw new Error('the step update has not landed');
    },
    { timeoutMs: 10_000 },
  );
}

describe('crash safety during a canary', () => {
  it('SIGKILL while the first and then the second step are in flight: each step sent once, the canary succeeds', async () => {
    await e2e.apply(endpointManifest(NAME, { model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 2 } }, canary: { steps: [10, 50], pause: '3s' } }));
    await e2e.waitUntil('pte', NAME, isReady, 60_000);

    // Step 1 (10 %): the update that starts the canary lands, status never hears of it.
    const firstKill = killDuringNextUpdate();
    await e2e.kubectl(['patch', 'pte', NAME, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '3' } } })]);
    await firstKill;
    e2e.startOperator();
    await e2e.waitUntil('pte', NAME, (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 10, 60_000);
    expect(await updates(), 'step 1 sent once').toHaveLength(1);
    expect(await routes()).toEqual({ 'support_bot_llama-2': 90, 'support_bot_llama-3': 10 });

    // Step 2 (50 %): sent when step 1's pause ends; killed in flight again.
    await killDuringNextUpdate();
    e2e.startOperator();
    await e2e.waitUntil('pte', NAME, (o) => canaryOf(o).phase === 'Succeeded' && isReady(o), 90_000);
    expect(await routes()).toEqual({ 'support_bot_llama-3': 100 });
    const sent = await updates();
    // One update per step: 10 %, 50 %, then version 3 alone; none refused, none repeated.
    expect(sent.map((c) => c.status)).toEqual([200, 200, 200]);
  }, 240_000);

  it('SIGKILL while the abort a failed metrics gate decided is in flight: the restarted operator does not send the step again', async () => {
    const name = 'crash-gate';
    const gate = [{ metric: 'request_5xx_count_total', divideBy: 'request_count_total', max: 0.05 }];
    await e2e.apply(endpointManifest(name, { model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 2 } }, canary: { steps: [10], pause: '2s', gate } }));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '3' } } })]);
    // The step serves and waits for traffic to judge.
    await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'Paused' && /waits for the metrics gate/.test((o['status'] as { canary?: { message?: string } }).canary?.message ?? ''), 60_000);
    expect(await updates(name)).toHaveLength(1);

    // The new version fails one request in five: the gate aborts, and the operator dies with the abort in flight.
    await killDuringNextUpdate(name, async () => {
      const response = await fetch(new URL(`/__emulator/endpoints/${name}/metrics`, e2e.emulator.url), {
        method: 'POST',
        body: JSON.stringify({ 'support_bot_llama-3': { request_count_total: 100, request_5xx_count_total: 20 } }),
      });
      expect(response.status).toBe(200);
    });
    // Databricks rolls the abort out: version 2 alone again.
    await eventually(
      async () => {
        if (JSON.stringify(await routes(name)) !== JSON.stringify({ 'support_bot_llama-2': 100 })) throw new Error('the abort has not rolled out');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    e2e.startOperator();
    const aborted = await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'Aborted', 60_000);
    expect((aborted['status'] as { canary?: { message?: string } }).canary?.message).toMatch(/metrics gate failed|aborted/);
    await e2e.reconciledAgain(name);
    // The failing version got no traffic again: two updates in all, the step and the abort.
    expect(await updates(name)).toHaveLength(2);
    expect(await routes(name)).toEqual({ 'support_bot_llama-2': 100 });
  }, 240_000);
});
