// A canary aborted at a step whose rollback Databricks fails (RollbackFailed), then its spec set back to the old
// version, as the CanaryAborted message advises (a git revert under Argo CD, say): the spec now asks for the old version
// itself, so it is sent again and serves alone; the endpoint becomes Ready. Evidence: the emulator's routes and calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, addFaults, condition, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E;

const MODEL = 'main.default.support_bot_llama';

interface Canary {
  phase?: string;
  share?: number;
  message?: string;
  versions?: { version: string; share: number }[];
}
const canaryOf = (o: Record<string, unknown>) => ((o['status'] as { canary?: Canary } | undefined)?.canary ?? {}) as Canary;

async function routes(name: string): Promise<Record<string, number>> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as {
    endpoints: { name: string; config?: { traffic_config?: { routes?: { served_entity_name: string; traffic_percentage: number }[] } } }[];
  };
  const endpoint = state.endpoints.find((e) => e.name === name);
  return Object.fromEntries((endpoint?.config?.traffic_config?.routes ?? []).map((r) => [r.served_entity_name, r.traffic_percentage]));
}

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-rollrevert', speed: 480 });
});

afterAll(async () => {
  await e2e?.stop();
});

describe('model.version set back after the rollback of an aborted canary failed', () => {
  it('sends the old version alone again, which then serves alone: Ready', async () => {
    const name = `rollrevert-${Date.now() % 100_000}`; // a retried test starts over with its own endpoint
    await e2e.apply(endpointManifest(name, { model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 2 } }, canary: { steps: [20], pause: '1h' } }));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '3' } } })]);
    await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 20, 60_000);

    // The next rollout of the model (the rollback to version 2 alone) fails to deploy.
    await addFaults(e2e.emulator.url, { type: 'deploymentFailure', model: MODEL, attempts: 1 });
    await e2e.kubectl(['annotate', 'pte', name, 'ptoperator.io/canary=abort']);
    await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'RollbackFailed' && condition(o, 'Stalled')?.status === 'True', 60_000);
    const sent = (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig').length;

    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '2' } } })]);
    await e2e.kubectl(['annotate', 'pte', name, 'ptoperator.io/canary-']);
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
    expect(await routes(name)).toEqual({ 'support_bot_llama-2': 100 });
    expect((await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig')).toHaveLength(sent + 1);
  });
});
