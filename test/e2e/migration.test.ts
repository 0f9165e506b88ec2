// Moving to another cluster, and restores (docs/concepts.md): the Databricks endpoints outlive the cluster, its
// objects come back with new UIDs (a Velero restore with or without status, an Argo CD sync from Git), and the old
// cluster may still run a while. The endpoints' owner tags stand for the old cluster's objects, written through the
// emulator's admin API: one API server cannot hold two objects of one namespace and name.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normaliseHost } from '../../src/databricks/host.js';
import { eventually } from '../support/cluster.js';
import { type E2E, condition, editOutOfBand, endpointManifest, isReady, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
// What endpointManifest's spec (chunks 2-3 of 980 tokens/s) asks for: adopting it needs no change.
const SERVED = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] };
const OLD_UID = { restored: '0f0e0d0c-0000-4000-8000-00000000000a', gitops: '0f0e0d0c-0000-4000-8000-00000000000b', deleted: '0f0e0d0c-0000-4000-8000-00000000000c' };
const FINALIZER = 'serving.ptoperator.io/endpoint';

let e2e: E2E & { startOperator(extraArgs?: string[]): unknown };

interface EmulatorEndpoint {
  name: string;
  id: string;
  tags?: { key: string; value?: string }[];
}

async function emulatorEndpoint(name: string): Promise<EmulatorEndpoint | undefined> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: EmulatorEndpoint[] };
  return state.endpoints.find((e) => e.name === name);
}

const tagsOf = (endpoint: EmulatorEndpoint | undefined) => Object.fromEntries((endpoint?.tags ?? []).map((t) => [t.key, t.value]));

/** Owner tags as an operator in another cluster writes them, for its object `name` of this namespace. */
async function tagForAnotherCluster(name: string, uid: string): Promise<void> {
  await editOutOfBand(e2e.emulator.url, name, { tags: { add: [{ key: 'pt-operator-owner-uid', value: uid }, { key: 'pt-operator-owner', value: `${e2e.namespace}.${name}` }] } });
}

/** A Velero restore with status restore on: the object, its finalizer, and the old cluster's status. */
async function restoreWithStatus(name: string, oldUid: string): Promise<void> {
  const endpoint = await emulatorEndpoint(name);
  await e2e.apply(endpointManifest(name, {}, { finalizers: [FINALIZER] }));
  const status = {
    endpointId: endpoint?.id,
    workspaceHost: normaliseHost(e2e.emulator.url),
    adoption: { endpointId: endpoint?.id, time: '2026-01-01T00:00:00Z', uid: oldUid },
    conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: 'restored', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  };
  await e2e.kubectl(['patch', 'pte', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

const notOwned = (o: Record<string, unknown>) => condition(o, 'Synced')?.reason === 'NotOwned';

/**
 * The move: the old cluster's objects own the endpoints (its operator stopped: step 1 of the procedure); the new
 * cluster gets them back, before its operator runs, by a Velero restore with status (`restored`) and an Argo CD sync
 * (gitops, no status). Then its operator starts, and each object is NotOwned.
 */
async function moveToThisCluster(restored: readonly ('restored' | 'deleted')[]): Promise<void> {
  for (const name of [...restored, 'gitops'] as const) await tagForAnotherCluster(name, OLD_UID[name]);
  for (const name of restored) await restoreWithStatus(name, OLD_UID[name]);
  await e2e.apply(endpointManifest('gitops'));
  e2e.startOperator();
  for (const name of [...restored, 'gitops']) await e2e.waitUntil('pte', name, notOwned);
}

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the
// body, and a retry would find the objects its failed attempt restored, adopted or deleted, and its operator running.
beforeEach(async () => {
  e2e = await startE2E({
    prefix: 'e2e-move',
    speed: 480,
    startOperator: false,
    scenario: { endpoints: ['restored', 'gitops', 'deleted', 'blue'].map((name) => ({ name, config: SERVED })) },
  });
});

afterEach(async () => {
  await e2e?.stop();
});

describe('moving to another cluster, and restores', () => {
  it('objects restored (with their status) or synced from Git into a new cluster are NotOwned, say why, and send nothing; deleting one leaves its endpoint', async () => {
    await moveToThisCluster(['restored', 'deleted']);

    for (const name of ['restored', 'gitops'] as const) {
      const obj = await e2e.waitUntil('pte', name, notOwned);
      const uid = (obj['metadata'] as { uid: string }).uid;
      const message = condition(obj, 'Synced')?.message ?? '';
      expect(message).toContain(`endpoint ${name} is tagged for an earlier object of this namespace and name (UID ${OLD_UID[name]}), not this one (UID ${uid})`);
      expect(message).toContain('make sure no other cluster still manages it');
      expect(message).toContain('ptoperator.io/adopt="true"');
      expect(condition(obj, 'Ready')?.status).toBe('False');
      expect(await e2e.kubectl(['describe', 'pte', name])).toMatch(/Warning\s+NotOwned/);
    }

    // A restored object deleted by mistake (deletionPolicy Delete, the finalizer restored too): its record was made
    // by the old object, so the endpoint is not its own and stays.
    await e2e.kubectl(['delete', 'pte', 'deleted', '--timeout=60s']);
    expect(await e2e.get('pte', 'deleted')).toBeUndefined();
    expect(await emulatorEndpoint('deleted')).toBeDefined();

    await e2e.reconciledAgain('restored', 'gitops');
    expect(await e2e.mutations()).toEqual([]);
  });

  it('kubectl annotate pte --all --overwrite ptoperator.io/adopt=true takes every endpoint of the namespace over: Ready, with no Databricks call', async () => {
    await moveToThisCluster(['restored']);
    await e2e.kubectl(['annotate', 'pte', '--all', '--overwrite', 'ptoperator.io/adopt=true']);
    for (const name of ['restored', 'gitops'] as const) {
      const obj = await e2e.waitUntil('pte', name, (o) => isReady(o) && condition(o, 'Synced')?.reason === 'ReconcileSuccess');
      const uid = (obj['metadata'] as { uid: string }).uid;
      expect((obj['status'] as { adoption?: unknown }).adoption).toMatchObject({ endpointId: (await emulatorEndpoint(name))?.id, uid, fromUid: OLD_UID[name] });
      expect(await e2e.kubectl(['describe', 'pte', name])).toMatch(/Normal\s+Adopted/);
    }
    await e2e.reconciledAgain('restored', 'gitops');
    expect(await e2e.mutations()).toEqual([]);

    // The owner tags follow with the next change, in the same tag patch.
    await e2e.kubectl(['patch', 'pte', 'gitops', '--type=merge', '-p', JSON.stringify({ spec: { tags: { team: 'ml' } } })]);
    const uid = ((await e2e.get('pte', 'gitops')) as { metadata: { uid: string } }).metadata.uid;
    const tagged = { team: 'ml', 'pt-operator-owner-uid': uid, 'pt-operator-owner': `${e2e.namespace}.gitops` };
    await eventually(async () => expect(tagsOf(await emulatorEndpoint('gitops'))).toEqual(tagged), { timeoutMs: 30_000, intervalMs: 250 });
    await e2e.reconciledAgain('gitops');
    expect((await e2e.mutations()).map((c) => `${c.operation} ${c.status}`)).toEqual(['patchTags 200']);
  });

  it("blue/green: once the new cluster's object adopted and tagged the endpoint, the old cluster's object lets go, and its Delete leaves the endpoint", async () => {
    // This cluster plays the old one: 'blue' adopted its endpoint (imported, untagged).
    e2e.startOperator();
    await e2e.apply(endpointManifest('blue', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    await e2e.waitUntil('pte', 'blue', (o) => isReady(o) && (o['status'] as { adoption?: unknown }).adoption !== undefined);
    // Its adopt annotation removed since. The new cluster's object adopts the endpoint and writes its tags with its first
    // change, while this operator still runs (the procedure stops it first).
    await e2e.kubectl(['annotate', 'pte', 'blue', 'ptoperator.io/adopt-']);
    const before = (await e2e.mutations('blue')).length;
    await tagForAnotherCluster('blue', '0f0e0d0c-0000-4000-8000-0000000000ff');

    const old = await e2e.waitUntil('pte', 'blue', notOwned);
    expect(condition(old, 'Synced')?.message).toContain('UID 0f0e0d0c-0000-4000-8000-0000000000ff');
    await e2e.reconciledAgain('blue');
    expect((await e2e.mutations('blue')).slice(before)).toEqual([]);

    await e2e.kubectl(['delete', 'pte', 'blue', '--timeout=60s']);
    expect(await e2e.get('pte', 'blue')).toBeUndefined();
    expect(await emulatorEndpoint('blue')).toBeDefined();
    expect((await e2e.mutations('blue')).slice(before)).toEqual([]);
  });
});
