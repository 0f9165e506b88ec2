// A canary aborted at a step whose rollback (the old version alone) Databricks fails: the split keeps serving, and the
// object says so (status.canary RollbackFailed, Synced UpdateFailed naming the rollback and how to retry it, Stalled)
// instead of "all traffic back to version 2"; nothing more is sent until requested-at retries the rollback, which then
// lands as the abort it was; and a spec set back to the old version (as the CanaryAborted message advises: a git revert
// under Argo CD, say) asks for the old version itself, so it is sent again and serves alone. Evidence: the object's
// status and the emulator's served config and call log.
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

/**
 * A canary of version 3 at its 20 % step, aborted while the next rollout of the model (the rollback to version 2
 * alone) is set to fail; a new endpoint each time, so a retried test starts over with its own.
 */
async function canaryAbortedAtStep(prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now() % 100_000}`;
  await e2e.apply(endpointManifest(name, { model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 2 } }, canary: { steps: [20], pause: '1h' } }));
  await e2e.waitUntil('pte', name, isReady, 60_000);
  await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '3' } } })]);
  await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 20, 60_000);
  await addFaults(e2e.emulator.url, { type: 'deploymentFailure', model: MODEL, attempts: 1 });
  await e2e.kubectl(['annotate', 'pte', name, 'ptoperator.io/canary=abort']);
  return name;
}

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-rollback', speed: 480 });
});

afterAll(async () => {
  await e2e?.stop();
});

describe('the rollback of an aborted canary fails', () => {
  it('says so and how to retry it, sends nothing more, and a requested-at retry lands the abort', async () => {
    const name = await canaryAbortedAtStep('rollback');
    const failed = await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'RollbackFailed' && condition(o, 'Stalled')?.status === 'True', 60_000);
    expect(canaryOf(failed).message).toMatch(/^aborted by the user: all traffic back to version 2; the rollback to version 2 alone failed: /);
    expect(canaryOf(failed).versions).toEqual([expect.objectContaining({ version: '2', share: 80 }), expect.objectContaining({ version: '3', share: 20 })]);
    expect(condition(failed, 'Synced')).toMatchObject({ status: 'False', reason: 'UpdateFailed' });
    expect(condition(failed, 'Synced')?.message).toMatch(/^the rollback to version 2 alone \(the canary of version 3 was aborted\) failed: .* set annotation ptoperator\.io\/requested-at to a new value to retry the rollback\.$/);
    expect(await routes(name)).toEqual({ 'support_bot_llama-2': 80, 'support_bot_llama-3': 20 });

    // Nothing more is sent on its own.
    const sent = (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig').length;
    await e2e.reconciledAgain(name);
    expect((await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig')).toHaveLength(sent);

    await e2e.kubectl(['annotate', 'pte', name, '--overwrite', 'ptoperator.io/requested-at=retry-1']);
    const aborted = await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'Aborted' && canaryOf(o).versions?.length === 1 && condition(o, 'Synced')?.reason === 'CanaryAborted', 60_000);
    expect(canaryOf(aborted).message).toBe('aborted by the user: all traffic back to version 2');
    expect(condition(aborted, 'Synced')?.message).toMatch(/Version 2 keeps serving\./);
    expect(await routes(name)).toEqual({ 'support_bot_llama-2': 100 });
  });

  it('model.version set back to the old version after the failed rollback sends the old version alone again, which then serves alone: Ready', async () => {
    const name = await canaryAbortedAtStep('rollrevert');
    await e2e.waitUntil('pte', name, (o) => canaryOf(o).phase === 'RollbackFailed' && condition(o, 'Stalled')?.status === 'True', 60_000);
    const sent = (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig').length;

    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '2' } } })]);
    await e2e.kubectl(['annotate', 'pte', name, 'ptoperator.io/canary-']);
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
    expect(await routes(name)).toEqual({ 'support_bot_llama-2': 100 });
    expect((await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig')).toHaveLength(sent + 1);
  });
});
