// A spec changed while Databricks rolls out the previous one: Databricks takes no config update until that rollout
// ends, so the new spec is held back, and the object says so (Synced=False WaitingForRollout, Reconciling) instead of
// Synced=True for a generation nothing was sent for: `kubectl wait --for=condition=Synced` does not return early.
// The same holds for a tag edit during the operator's own rollout (tags are sent only once it ends).
// Evidence: the object's conditions, the emulator's call log and its endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { type E2E, condition, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

const SPEED = 120;
/** A rollout takes 8 s of real time: long enough to change the spec while it runs. */
const scenario = { timing: { rolloutSeconds: 8 * SPEED } };

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-rollwait', scenario, speed: SPEED });
});

afterAll(async () => {
  await e2e?.stop();
});

const generationOf = (o: Record<string, unknown>) => (o['metadata'] as { generation: number }).generation;
const setMax = (name: string, max: number) => e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { throughput: { chunks: { min: 2, max } } } })]);

describe('a spec changed during a rollout', () => {
  it('is Synced=False WaitingForRollout until that rollout ends, then sent and Synced=True', async () => {
    const name = `rollwait-${Date.now() % 100_000}`; // a retried test starts over with its own endpoint
    await e2e.apply(endpointManifest(name));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    const updates = async () => (await emulatorCalls(e2e.emulator.url, { endpoint: name, operation: 'updateConfig' })).filter((c) => c.status === 200);

    await setMax(name, 4);
    await e2e.waitUntil('pte', name, (o) => condition(o, 'Ready')?.reason === 'Updating' && condition(o, 'Ready')?.observedGeneration === 2, 30_000);
    await setMax(name, 5);
    const waiting = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'WaitingForRollout', 30_000);
    expect(generationOf(waiting)).toBe(3);
    expect(condition(waiting, 'Synced')).toMatchObject({ status: 'False', observedGeneration: 3 });
    expect(condition(waiting, 'Synced')?.message).toMatch(/rolls out in Databricks, which takes no other config update until it finishes; the spec \(.*\) is sent then/);
    expect(condition(waiting, 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForRollout' });
    expect(condition(waiting, 'Stalled')).toBeUndefined();
    expect(await updates(), 'only generation 2 was sent').toHaveLength(1);

    const synced = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'ReconcileSuccess' && condition(o, 'Synced')?.observedGeneration === 3, 60_000);
    expect(condition(synced, 'Synced')?.status).toBe('True');
    expect(await updates(), 'generation 3 sent once the rollout ended').toHaveLength(2);
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
  });
});

const tagsOf = (name: string) => Object.fromEntries((e2e.emulator.emulator.endpoints().find((e) => e.name === name)?.tags ?? []).map((t) => [t.key, t.value]));

describe('a tag edit during the rollout of the spec', () => {
  it('is Synced=False WaitingForRollout until the rollout ends; Synced=True comes with the tags in Databricks', async (context) => {
    const name = attemptName(context, 'rollwait-tags');
    await e2e.apply(endpointManifest(name));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    const tagPatches = async () => (await emulatorCalls(e2e.emulator.url, { endpoint: name, operation: 'patchTags' })).filter((c) => c.status === 200);

    await setMax(name, 4);
    await e2e.waitUntil('pte', name, (o) => condition(o, 'Ready')?.reason === 'Updating' && condition(o, 'Ready')?.observedGeneration === 2, 30_000);
    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { tags: { commit: 'abc123' } } })]);
    const waiting = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.observedGeneration === 3, 30_000);
    expect(condition(waiting, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout' });
    expect(condition(waiting, 'Synced')?.message).toMatch(/^the tags \(commit\) wait for the rollout in progress \(version 3 at .*\) and are sent when it ends/);
    expect(condition(waiting, 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForRollout' });
    expect(condition(waiting, 'Stalled')).toBeUndefined();
    expect(await tagPatches(), 'no tag sent during the rollout').toHaveLength(0);

    // What a user (or a pipeline) waits on returns only once the tag is on the endpoint.
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Synced', '--timeout=60s']);
    expect(tagsOf(name)).toMatchObject({ commit: 'abc123' });
    expect(await tagPatches()).toHaveLength(1);
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
  });
});
