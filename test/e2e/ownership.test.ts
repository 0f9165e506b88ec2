// Ownership, driven with kubectl: a foreign endpoint is never touched until the user asks for
// adoption, and two objects claiming one endpoint name cannot both manage it.
import { isDeepStrictEqual } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apply, eventually } from '../support/cluster.js';
import { type E2E, condition, editOutOfBand, endpointManifest, isReady, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';

let e2e: E2E;

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the body,
// and a retry would find the endpoint its failed attempt adopted, tagged or deleted.
beforeEach(async () => {
  e2e = await startE2E({
    prefix: 'e2e-own',
    speed: 480,
    scenario: {
      // Made by someone else (a notebook, the UI): no pt-operator tags.
      endpoints: [
        {
          name: 'foreign-llama',
          config: { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] },
          tags: [{ key: 'team', value: 'data-science' }],
        },
      ],
    },
  });
});

afterEach(async () => {
  await e2e?.stop();
});

interface EmulatorEndpoint {
  name: string;
  tags?: { key: string; value?: string }[];
}

async function emulatorEndpoint(name: string): Promise<EmulatorEndpoint | undefined> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: EmulatorEndpoint[] };
  return state.endpoints.find((e) => e.name === name);
}

const tagsOf = (endpoint: EmulatorEndpoint | undefined) => Object.fromEntries((endpoint?.tags ?? []).map((t) => [t.key, t.value]));

describe('ownership', () => {
  it('an existing endpoint without our tags is NotOwned, named in the message, and never mutated', async () => {
    await e2e.apply(endpointManifest('foreign-llama'));
    const obj = await e2e.waitUntil('pte', 'foreign-llama', (o) => condition(o, 'Synced')?.reason === 'NotOwned');
    const synced = condition(obj, 'Synced');
    expect(synced?.status).toBe('False');
    expect(synced?.message).toMatch(/endpoint foreign-llama exists in Databricks but was not created by this object/);
    expect(synced?.message).toContain('ptoperator.io/adopt="true"');
    expect(condition(obj, 'Ready')?.status).toBe('False');
    // No finalizer either: nothing was ever done in Databricks on this object's behalf.
    expect((obj['metadata'] as { finalizers?: string[] }).finalizers ?? []).toEqual([]);

    // NotOwned schedules no further reconcile: make the operator look again, and prove it did, before checking.
    await e2e.reconciledAgain('foreign-llama');
    expect(await e2e.mutations('foreign-llama')).toEqual([]);
    expect(tagsOf(await emulatorEndpoint('foreign-llama'))).toEqual({ team: 'data-science' });

    const described = await e2e.kubectl(['describe', 'pte', 'foreign-llama']);
    expect(described).toMatch(/Warning\s+NotOwned/);
  });

  it('annotation ptoperator.io/adopt=true takes it over: owner tags patched, then managed to the spec and Ready', async () => {
    await e2e.apply(endpointManifest('foreign-llama'));
    await e2e.waitUntil('pte', 'foreign-llama', (o) => condition(o, 'Synced')?.reason === 'NotOwned');
    await e2e.kubectl(['annotate', 'pte', 'foreign-llama', 'ptoperator.io/adopt=true']);
    await e2e.kubectl(['wait', 'pte/foreign-llama', '--for=condition=Ready', '--timeout=90s']);

    const obj = (await e2e.get('pte', 'foreign-llama')) as { metadata: { uid: string }; status: Record<string, unknown> };
    expect(obj.status['served']).toMatchObject({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
    expect(condition(obj, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });

    const operations = (await e2e.mutations('foreign-llama')).map((c) => `${c.operation} ${c.status}`);
    // Adoption first tags the endpoint as ours, then brings its config to the spec; it is never re-created.
    expect(operations[0]).toBe('patchTags 200');
    expect(operations).toContain('updateConfig 200');
    expect(operations.filter((o) => o.startsWith('create') || o.startsWith('delete'))).toEqual([]);

    const tags = tagsOf(await emulatorEndpoint('foreign-llama'));
    expect(tags).toMatchObject({ 'pt-operator-owner-uid': obj.metadata.uid, 'pt-operator-owner': `${e2e.namespace}.foreign-llama` });

    const described = await e2e.kubectl(['describe', 'pte', 'foreign-llama']);
    expect(described).toMatch(/Normal\s+Adopted/);
  });

  it('two objects claiming one endpoint name: the second is NotOwned, the first stays Ready', async () => {
    await e2e.apply(endpointManifest('claim-first', { endpointName: 'shared-llama' }));
    await e2e.kubectl(['wait', 'pte/claim-first', '--for=condition=Ready', '--timeout=90s']);
    const before = await e2e.mutations('shared-llama');

    await e2e.apply(endpointManifest('claim-second', { endpointName: 'shared-llama', throughput: { chunks: { min: 1, max: 4 } } }));
    const second = await e2e.waitUntil('pte', 'claim-second', (o) => condition(o, 'Synced')?.reason === 'NotOwned');
    expect(condition(second, 'Synced')?.message).toMatch(new RegExp(`endpoint shared-llama belongs to ${e2e.namespace}\\.claim-first, which still exists`));

    await e2e.reconciledAgain('claim-second', 'claim-first');
    const first = await e2e.get('pte', 'claim-first');
    expect(first && isReady(first)).toBe(true);
    expect(condition(first, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(await e2e.mutations('shared-llama')).toEqual(before);
    expect(before.filter((c) => c.operation === 'create')).toHaveLength(1);

    // The message's advice is one a user can follow: this object's endpointName cannot be edited.
    expect(condition(second, 'Synced')?.message).toContain('from a new object with another spec.endpointName');
    const edit = await apply(endpointManifest('claim-second', { endpointName: 'shared-llama-2' }), { namespace: e2e.namespace });
    expect(edit.exitCode).not.toBe(0);
    expect(edit.stderr).toContain('endpointName is immutable');

    // The second object never owned it, so deleting it leaves the endpoint alone.
    await e2e.kubectl(['delete', 'pte', 'claim-second', '--timeout=30s']);
    expect(await e2e.get('pte', 'claim-second')).toBeUndefined();
    expect(await emulatorEndpoint('shared-llama')).toBeDefined();
    expect(await e2e.mutations('shared-llama')).toEqual(before);
    const still = await e2e.get('pte', 'claim-first');
    expect(still && isReady(still)).toBe(true);
  });

  it('two objects applied at once for one endpoint name: exactly one creates and owns it, the other is NotOwned', async () => {
    await e2e.apply([
      endpointManifest('race-a', { endpointName: 'raced-llama' }),
      endpointManifest('race-b', { endpointName: 'raced-llama' }),
    ]);
    const settled = async () => {
      const objects = await Promise.all(['race-a', 'race-b'].map((name) => e2e.get('pte', name)));
      const winner = objects.find((o) => o !== undefined && isReady(o));
      const loser = objects.find((o) => condition(o, 'Synced')?.reason === 'NotOwned');
      if (!winner || !loser) throw new Error('not settled yet');
      return { winner, loser };
    };
    const { winner, loser } = await eventually(settled, { timeoutMs: 90_000, intervalMs: 500 });
    const winnerName = (winner['metadata'] as { name: string }).name;
    // Looked at before the winner's create it is the older claimant's name it yields to; after, the owner's: both name the winner.
    expect(condition(loser, 'Synced')?.message).toMatch(new RegExp(`(belongs to|is claimed in this workspace by) ${e2e.namespace}\\.${winnerName}\\b`));
    expect(tagsOf(await emulatorEndpoint('raced-llama'))['pt-operator-owner-uid']).toBe((winner['metadata'] as { uid: string }).uid);
    const creates = (await e2e.mutations('raced-llama')).filter((c) => c.operation === 'create');
    expect(creates.filter((c) => c.status === 200)).toHaveLength(1);

    // The loser lets go without touching the endpoint; the winner keeps it.
    const before = await e2e.mutations('raced-llama');
    await e2e.kubectl(['delete', 'pte', (loser['metadata'] as { name: string }).name, '--timeout=30s']);
    expect(await emulatorEndpoint('raced-llama')).toBeDefined();
    expect(await e2e.mutations('raced-llama')).toEqual(before);
  });

  // Without spec.tags the owner tags are the only drift: they are put back all the same (else the endpoint stayed
  // untagged, and adoptable across namespaces once its object's status was lost).
  it.each([
    ['fresh', 'Fresh_Chat', { team: 'genai' }],
    ['plain', 'Plain_Chat', undefined],
  ])('an endpoint whose tags were all removed out of band is still the object that created it (%s, endpoint %s, spec.tags %o): tags restored, Ready, and Delete deletes it', async (object, endpointName, specTags) => {
    await e2e.apply(endpointManifest(object, { endpointName, ...(specTags && { tags: specTags }) }));
    await e2e.kubectl(['wait', `pte/${object}`, '--for=condition=Ready', '--timeout=90s']);
    const obj = (await e2e.get('pte', object)) as { metadata: { uid: string }; status: { endpointId?: string } };
    expect(obj.status.endpointId).toBeDefined();
    const before = (await e2e.mutations(endpointName)).length;

    // Someone strips every tag in Databricks (the UI, Terraform): no API call is logged.
    await editOutOfBand(e2e.emulator.url, endpointName, { tags: { delete: ['pt-operator-owner-uid', 'pt-operator-owner', ...Object.keys(specTags ?? {})] } });
    expect(tagsOf(await emulatorEndpoint(endpointName))).toEqual({});

    // status.endpointId is this endpoint's ID: the missing tags are drift, put back with one tag patch.
    const ownTags = { ...specTags, 'pt-operator-owner-uid': obj.metadata.uid, 'pt-operator-owner': `${e2e.namespace}.${object}` };
    await eventually(async () => {
      if (!isDeepStrictEqual(tagsOf(await emulatorEndpoint(endpointName)), ownTags)) {
        const synced = condition(await e2e.get('pte', object), 'Synced');
        throw new Error(`tags not restored yet (Synced ${synced?.reason}: ${synced?.message})`);
      }
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const restored = await e2e.waitUntil('pte', object, (o) => isReady(o) && condition(o, 'Synced')?.reason === 'ReconcileSuccess');
    expect((restored['status'] as { endpointId?: string }).endpointId).toBe(obj.status.endpointId);
    expect((await e2e.mutations(endpointName)).slice(before).map((c) => `${c.operation} ${c.status}`)).toEqual(['patchTags 200']);
    expect(await e2e.kubectl(['describe', 'pte', object])).toMatch(/Warning\s+DriftDetected\s+.*tags differ from the spec/);

    // deletionPolicy Delete deletes it: nothing is leaked.
    await e2e.kubectl(['delete', 'pte', object, '--timeout=60s']);
    expect(await emulatorEndpoint(endpointName)).toBeUndefined();
    expect((await e2e.mutations(endpointName)).slice(before).map((c) => c.operation)).toEqual(['patchTags', 'delete']);
  });

  it('an object recreated after Orphan meets its old endpoint as NotOwned; adopt takes it back with no Databricks call, and Delete then removes it', async () => {
    await e2e.apply(endpointManifest('reborn', { deletionPolicy: 'Orphan' }));
    await e2e.kubectl(['wait', 'pte/reborn', '--for=condition=Ready', '--timeout=90s']);
    await e2e.kubectl(['delete', 'pte', 'reborn', '--timeout=30s']);
    expect(await emulatorEndpoint('reborn')).toBeDefined();
    const before = await e2e.mutations('reborn');

    // Same namespace and name, but a new object (a new UID): the endpoint is not simply taken.
    await e2e.apply(endpointManifest('reborn'));
    const refused = await e2e.waitUntil('pte', 'reborn', (o) => condition(o, 'Synced')?.reason === 'NotOwned');
    const oldUidTag = tagsOf(await emulatorEndpoint('reborn'))['pt-operator-owner-uid'];
    expect(condition(refused, 'Synced')?.message).toContain(`endpoint reborn is tagged for an earlier object of this namespace and name (UID ${oldUidTag}), not this one`);
    expect(await e2e.mutations('reborn')).toEqual(before);

    // Adoption is recorded in status and sends nothing: the endpoint serves the spec, so no tag is written either.
    const oldUid = tagsOf(await emulatorEndpoint('reborn'))['pt-operator-owner-uid'];
    await e2e.kubectl(['annotate', 'pte', 'reborn', 'ptoperator.io/adopt=true']);
    const adopted = await e2e.waitUntil('pte', 'reborn', (o) => isReady(o) && condition(o, 'Synced')?.reason === 'ReconcileSuccess');
    expect((adopted['status'] as { adoption?: { endpointId: string } }).adoption?.endpointId).toBe((adopted['status'] as { endpointId?: string }).endpointId);
    expect(tagsOf(await emulatorEndpoint('reborn'))['pt-operator-owner-uid']).toBe(oldUid);
    expect((await e2e.mutations('reborn')).slice(before.length)).toEqual([]);

    // deletionPolicy Delete: the adopted endpoint is deleted like one the object created.
    await e2e.kubectl(['delete', 'pte', 'reborn', '--timeout=60s']);
    expect(await emulatorEndpoint('reborn')).toBeUndefined();
    expect((await e2e.mutations('reborn')).slice(before.length).map((c) => c.operation)).toEqual(['delete']);
  });
});
