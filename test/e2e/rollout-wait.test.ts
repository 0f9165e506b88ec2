// A spec changed while Databricks rolls out the previous one: Databricks takes no config update until that rollout
// ends, so the new spec is held back, and the object says so (Synced=False WaitingForRollout, Reconciling) instead of
// Synced=True for a generation nothing was sent for: `kubectl wait --for=condition=Synced` does not return early.
// The same holds for a tag edit during the operator's own rollout (tags are sent only once it ends); and an update
// Databricks answers 409 (an update started there meanwhile) turns Ready to Updating with that answer, not a look later.
// Evidence: the object's conditions (every write, for the 409), the emulator's call log and its endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { eventually } from '../support/cluster.js';
import { type E2E, addFaults, condition, emulatorCalls, endpointManifest, isReady, startE2E, watchKubectl } from './harness.js';

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

describe('an update answered 409: another update started in Databricks between the read and the update', () => {
  it('the status written with the 409 says Ready=False Updating, never Available', async (context) => {
    const name = attemptName(context, 'rollwait-409');
    await e2e.apply(endpointManifest(name));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    const core = e2e.emulator.emulator;
    // The operator's config update is held 3 s on its way in; meanwhile someone starts an update in the UI.
    const [held] = await addFaults(e2e.emulator.url, { type: 'latency', ms: 3000, times: 1, match: { method: 'PUT', endpoint: name } });
    // (one line per write; a {range} template would end kubectl's watch after the first object)
    const shown = (type: string) => `${type}={.status.conditions[?(@.type=="${type}")].status}/{.status.conditions[?(@.type=="${type}")].reason}`;
    const writes = watchKubectl(e2e.namespace, ['get', 'pte', name, '--watch', '-o', `jsonpath=${shown('Ready')} ${shown('Synced')}{"\\n"}`]);

    // Drift: Ready=True until now, so the operator restores the spec with a config update (the same generation).
    core.editEndpoint(name, { entities: [{ max_provisioned_throughput: 3920 }], mode: 'instant' });
    await eventually(
      async () => {
        if (core.faults.list().find((f) => f.id === held)?.fired !== 1) throw new Error('the update has not reached the emulator yet');
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    core.editEndpoint(name, { entities: [{ max_provisioned_throughput: 4900 }], mode: 'rolling' });
    await eventually(
      async () => {
        if ((await emulatorCalls(e2e.emulator.url, { endpoint: name, operation: 'updateConfig', status: 409 })).length === 0) throw new Error('no 409 yet');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await eventually(
      async () => {
        if (!writes.text().includes('Synced=False/WaitingForRollout')) throw new Error(`the 409 is not in the status yet:\n${writes.text()}`);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const lines = writes.text().split('\n');
    const first = lines.find((l) => l.includes('Synced=False/WaitingForRollout'));
    expect(first, 'the status written with the 409').toContain('Ready=False/Updating');
    expect(lines.filter((l) => l.includes('Synced=False/WaitingForRollout') && l.includes('Ready=True'))).toEqual([]);

    // Once that update ends, the spec is restored.
    await e2e.waitUntil('pte', name, (o) => isReady(o) && (o['status'] as { served?: { maxTokensPerSecond?: number } }).served?.maxTokensPerSecond === 2940, 90_000);
  });
});
