// A tag edited on an endpoint whose rollout ran out of GPU capacity (a GitOps tool bumping a commit tag, say): the tag
// reaches the endpoint through the tags API, and nothing else happens: the config that failed is not sent again and
// the spent retry budget stays spent, until the served config, the budget or ptoperator.io/requested-at changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, addFaults, condition, endpointManifest, startE2E } from './harness.js';

const SPEED = 120;
/** A rollout takes 3 s of real time; one short of capacity times out after 2 s. */
const scenario = { timing: { rolloutSeconds: 3 * SPEED, capacityTimeoutSeconds: 2 * SPEED } };

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-failtags', scenario, speed: SPEED });
});

afterAll(async () => {
  await e2e?.stop();
});

const capacityOf = (obj: Record<string, unknown> | undefined) => (obj?.['status'] as { capacity?: { attempts?: number; exhausted?: boolean } } | undefined)?.capacity;

describe('a tag edit over a failed rollout', () => {
  it('patches the tag and neither re-sends the failed config nor starts the spent capacity budget over', async () => {
    const name = `tag-bump-${Date.now() % 100_000}`; // a retried test starts over with its own endpoint
    const model = 'main.default.support_bot_llama';
    await addFaults(e2e.emulator.url, { type: 'capacity', model });
    const spec = { model: { name: model, version: '1' }, capacityRetry: { initialBackoff: '1s', maxBackoff: '2s', timeout: '6s' } };
    await e2e.apply(endpointManifest(name, spec));
    const exhausted = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'CapacityRetriesExhausted', 90_000);
    const spent = capacityOf(exhausted);
    const updatesBefore = (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig').length;

    const generation = (exhausted['metadata'] as { generation: number }).generation;
    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { tags: { commit: 'abc123' } } })]);
    const tagged = await e2e.waitUntil('pte', name, (o) => (o['status'] as { observedGeneration?: number }).observedGeneration === generation + 1, 30_000);
    await e2e.reconciledAgain(name);

    const calls = await e2e.mutations(name);
    expect(calls.filter((c) => c.operation === 'patchTags' && c.status === 200).length, 'the tag went on the endpoint').toBeGreaterThanOrEqual(1);
    expect(calls.filter((c) => c.operation === 'updateConfig'), 'the failed config was not sent again').toHaveLength(updatesBefore);
    const after = await e2e.get('pte', name);
    expect(condition(after, 'Synced')).toMatchObject({ status: 'False', reason: 'CapacityRetriesExhausted', observedGeneration: generation + 1 });
    expect(capacityOf(after)).toMatchObject({ attempts: spent?.attempts, exhausted: true });
    expect(condition(tagged, 'Stalled')).toBeDefined();
  });
});
