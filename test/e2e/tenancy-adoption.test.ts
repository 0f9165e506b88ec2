// --allow-cross-namespace-adoption: an endpoint left by a deleted object of another (watched) namespace may be
// adopted; one whose owner still exists may not, even with the flag.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { ensureNamespace, uniqueNamespace } from '../support/cluster.js';
import { condition, endpointManifest, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
const served = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] };

let e2e: Awaited<ReturnType<typeof startE2E>>;
const goneNamespace = uniqueNamespace('e2e-gone');

beforeAll(async () => {
  await ensureNamespace(goneNamespace);
  e2e = await startE2E({
    prefix: 'e2e-tenadopt',
    speed: 480,
    startOperator: false,
    scenario: {
      // Left behind by an object of a namespace the operator watches, which no longer holds it.
      endpoints: [{ name: 'inherited', config: served, tags: [{ key: 'pt-operator-owner-uid', value: '7c3e0b1a-0000-4000-8000-000000000001' }, { key: 'pt-operator-owner', value: `${goneNamespace}.old-llama` }] }],
    },
  });
  // A long poll interval, so that only the deletion itself can wake a waiting claimant promptly.
  e2e.startOperator([`--namespaces=${e2e.namespace},${goneNamespace}`, `--default-workspace-namespaces=${e2e.namespace}`, '--allow-cross-namespace-adoption=true', '--poll-interval=10m']);
});

afterAll(async () => {
  await e2e?.stop();
});

const tagsOf = async (name: string) => {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string; tags?: { key: string; value?: string }[] }[] };
  return Object.fromEntries((state.endpoints.find((e) => e.name === name)?.tags ?? []).map((t) => [t.key, t.value]));
};

describe('cross-namespace adoption, allowed by the operator flag', () => {
  it('adopts an endpoint whose owner object is gone from another watched namespace', async () => {
    await e2e.apply(endpointManifest('heir', { endpointName: 'inherited' }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    await e2e.kubectl(['wait', 'pte/heir', '--for=condition=Ready', '--timeout=90s']);
    const heir = await e2e.get<{ metadata: { uid: string } }>('pte', 'heir');
    expect((await tagsOf('inherited'))['pt-operator-owner-uid']).toBe(heir?.metadata.uid);
    expect((await e2e.mutations('inherited')).map((c) => c.operation)[0]).toBe('patchTags');
  });

  it('still never adopts from a live owner, even with the flag', async () => {
    await e2e.apply(endpointManifest('usurper', { endpointName: 'inherited' }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    const usurper = await e2e.waitUntil('pte', 'usurper', (o) => condition(o, 'Synced') !== undefined);
    expect(condition(usurper, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(condition(usurper, 'Synced')?.message).toContain('which still exists');
  });
});

describe('a claim handed over', () => {
  it('the waiting claimant takes the name as soon as the winner is deleted, not at its next poll', async (context) => {
    // Names of this attempt's own: a retry would find the name held by the first attempt's second claimant.
    const [first, second, endpointName] = ['first-claim', 'second-claim', 'handover'].map((name) => attemptName(context, name)) as [string, string, string];
    await e2e.apply(endpointManifest(first, { endpointName }));
    await e2e.kubectl(['wait', `pte/${first}`, '--for=condition=Ready', '--timeout=90s']);
    await e2e.apply(endpointManifest(second, { endpointName }));
    await e2e.waitUntil('pte', second, (o) => condition(o, 'Synced')?.reason === 'NotOwned');

    // deletionPolicy Delete: the endpoint goes, then the object; the second claimant creates it anew.
    await e2e.kubectl(['delete', 'pte', first, '--timeout=60s']);
    await e2e.kubectl(['wait', `pte/${second}`, '--for=condition=Ready', '--timeout=60s']);
    const secondObject = await e2e.get<{ metadata: { uid: string } }>('pte', second);
    expect((await tagsOf(endpointName))['pt-operator-owner-uid']).toBe(secondObject?.metadata.uid);
    expect((await e2e.mutations(endpointName)).map((c) => `${c.operation} ${c.status}`)).toEqual(['create 200', 'delete 200', 'create 200']);
  });
});
