// spec.capacityRetry.timeout edited while a rollout waits for GPU capacity: lowered to give up sooner, it ends the
// retries (counted from the first failure) without sending the failed config again; raised once they are spent, it
// retries with a new budget, as CapacityRetriesExhausted advises.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, addFaults, condition, endpointManifest, startE2E } from './harness.js';

const SPEED = 120;
/** A rollout takes 3 s of real time; one short of capacity times out after 2 s. */
const scenario = { timing: { rolloutSeconds: 3 * SPEED, capacityTimeoutSeconds: 2 * SPEED } };

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-captimeout', scenario, speed: SPEED });
});

afterAll(async () => {
  await e2e?.stop();
});

interface CapacityStatus {
  attempts?: number;
  nextRetryTime?: string;
  exhausted?: boolean;
  retryTimeout?: string;
}
const capacityOf = (obj: Record<string, unknown> | undefined) => (obj?.['status'] as { capacity?: CapacityStatus } | undefined)?.capacity;
const generationOf = (obj: Record<string, unknown>) => (obj['metadata'] as { generation: number }).generation;
const observedGeneration = (obj: Record<string, unknown>) => (obj['status'] as { observedGeneration?: number }).observedGeneration;

describe('capacityRetry.timeout edited during a capacity outage', () => {
  it('lowered below the time spent: CapacityRetriesExhausted at once, nothing re-sent; raised again: one retry', async () => {
    const name = `cap-timeout-${Date.now() % 100_000}`; // a retried test starts over with its own endpoint
    const model = 'main.default.support_bot_llama';
    await addFaults(e2e.emulator.url, { type: 'capacity', model });
    const retry = { initialBackoff: '20s', maxBackoff: '20s' };
    await e2e.apply(endpointManifest(name, { model: { name: model, version: '1' }, capacityRetry: { ...retry, timeout: '10m' } }));
    const waiting = await e2e.waitUntil('pte', name, (o) => capacityOf(o)?.nextRetryTime !== undefined, 60_000);
    expect(capacityOf(waiting)).toMatchObject({ attempts: 1, retryTimeout: '10m' });
    const updates = async () => (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig').length;
    const before = await updates();

    // The retry is due 16-24 s after the first failure: past a 5 s budget, which is spent then.
    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { capacityRetry: { timeout: '5s' } } })]);
    const lowered = generationOf(waiting) + 1;
    const exhausted = await e2e.waitUntil('pte', name, (o) => observedGeneration(o) === lowered && condition(o, 'Synced')?.reason === 'CapacityRetriesExhausted', 15_000);
    expect(capacityOf(exhausted)).toMatchObject({ attempts: 1, exhausted: true, retryTimeout: '5s' });
    await e2e.reconciledAgain(name);
    expect(await updates(), 'the failed config was not sent again').toBe(before);

    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { capacityRetry: { timeout: '10m' } } })]);
    await e2e.waitUntil('pte', name, (o) => observedGeneration(o) === lowered + 1 && condition(o, 'Synced')?.reason === 'ReconcileSuccess', 15_000);
    await e2e.reconciledAgain(name);
    expect(await updates(), 'a raised budget retries').toBe(before + 1);
  });
});
