// Two operators sharing the cluster by --label-selector (the chart's labelSelector, "for sharding across several
// releases"): every shard sees every DatabricksWorkspace, but only its own endpoint objects. A workspace being
// deleted must wait for the endpoint objects of every shard that use it, not only for those its shard sees
// (session 11: the shard without users released the finalizer, and the other shard's endpoint could no longer
// delete its Databricks endpoint: "DatabricksWorkspace … not found"). Likewise the ownership rules must see every
// shard's objects: a tenant picks its shard just by labelling its own objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, type OperatorProcess, TEST_PAT, condition, endpointManifest, isReady, startE2E, startOperator } from './harness.js';
import { attemptName } from '../support/attempt.js';
import { applyOk, ensureNamespace, eventually, kubectlOk, uniqueNamespace } from '../support/cluster.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
const served = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] };

let e2e: E2E;
let teamB: string;
const shards: OperatorProcess[] = [];

beforeAll(async () => {
  teamB = uniqueNamespace('e2e-shard-b');
  await ensureNamespace(teamB);
  // Made outside the operator; a tenant of one shard adopts it.
  e2e = await startE2E({ prefix: 'e2e-shard', startOperator: false, scenario: { endpoints: [{ name: 'shared-ep', config: served }] } });
  await e2e.kubectl(['create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
  const namespaces = `${e2e.namespace},${teamB}`;
  for (const shard of ['a', 'b']) {
    shards.push(
      startOperator({
        namespace: e2e.namespace,
        emulatorUrl: e2e.emulator.url,
        name: `${e2e.namespace}-shard-${shard}`,
        args: [`--label-selector=shard=${shard}`, `--namespaces=${namespaces}`, `--default-workspace-namespaces=${namespaces}`],
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(shards.map((s) => s.stop()));
  await e2e?.stop();
});

/** Whether the shard logged that the deletion of a workspace waits for this endpoint object. */
const waitingFor = (shard: OperatorProcess, endpoint: string) =>
  shard.logs().split('\n').some((line) => line.includes('deletion waits for 1 endpoint object(s) that use this workspace') && line.includes(endpoint));

describe('sharding with --label-selector', () => {
  it("a workspace being deleted waits for another shard's endpoint objects; it goes once they are gone", async (context) => {
    // Names of this attempt's own: a retry would find the first attempt's workspace and endpoint deleted, their
    // deletion in the call log and the shards' waiting in their logs.
    const workspaceName = attemptName(context, 'prod');
    const endpoint = attemptName(context, 'sharded');
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: workspaceName },
      spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    });
    await e2e.apply(endpointManifest(endpoint, { workspaceRef: { name: workspaceName }, deletionPolicy: 'Delete' }, { labels: { shard: 'a' } }));
    await e2e.waitUntil('pte', endpoint, isReady, 90_000);

    await e2e.kubectl(['delete', 'dbws', workspaceName, '--wait=false']);
    // Evidence that both shards looked at the deletion (each says what it waits for), or that one let it go.
    const workspace = await eventually(
      async () => {
        const current = await e2e.get<{ metadata: { deletionTimestamp?: string; finalizers?: string[] } }>('dbws', workspaceName);
        if (current !== undefined && !shards.every((shard) => waitingFor(shard, endpoint))) throw new Error('both shards have not yet looked at the deletion');
        return current;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(workspace?.metadata.deletionTimestamp).toBeDefined();
    expect(workspace?.metadata.finalizers).toContain('serving.ptoperator.io/workspace');

    // The endpoint's own shard still has the workspace's credentials: its Databricks endpoint is deleted.
    await e2e.kubectl(['delete', 'pte', endpoint, '--timeout=60s']);
    expect((await e2e.mutations(endpoint)).filter((m) => m.method === 'DELETE' && m.status === 200)).toHaveLength(1);
    await eventually(
      async () => {
        if ((await e2e.get('dbws', workspaceName)) !== undefined) throw new Error('the workspace is still there');
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(condition(workspace as Record<string, unknown>, 'Ready')?.status).toBe('True');
  });
});

describe('ownership across shards', () => {
  it("an endpoint adopted by an object of one shard is not adopted (nor deleted) by an object of another shard", async () => {
    const adopt = { 'ptoperator.io/adopt': 'true' };
    await applyOk(endpointManifest('importer', { endpointName: 'shared-ep', throughput: { chunks: { min: 0, max: 1 } } }, { labels: { shard: 'a' }, annotations: adopt }), { namespace: teamB });
    const importer = await eventually(async () => {
      const o = JSON.parse(await kubectlOk(['-n', teamB, 'get', 'pte', 'importer', '-o', 'json'])) as Record<string, unknown>;
      if (!isReady(o)) throw new Error(`importer not adopted yet: ${JSON.stringify(o['status'])}`);
      return o;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    expect((importer['status'] as { adoption?: { endpointId?: string } }).adoption?.endpointId).toBeDefined();
    const before = await e2e.mutations('shared-ep');

    // Another tenant's object, labelled for the other shard, whose operator's cache does not hold the importer.
    await e2e.apply(endpointManifest('steal', { endpointName: 'shared-ep', deletionPolicy: 'Delete' }, { labels: { shard: 'b' }, annotations: adopt }));
    const steal = await e2e.waitUntil('pte', 'steal', (o) => condition(o, 'Synced') !== undefined);
    expect(condition(steal, 'Synced')).toMatchObject({ status: 'False', reason: 'NotOwned' });
    expect(condition(steal, 'Synced')?.message).toContain('belongs to an object of another namespace, which adopted it and still exists');
    // another tenant's objects are not named to this one (docs/security.md)
    expect(condition(steal, 'Synced')?.message).not.toMatch(new RegExp(`${teamB}|importer`));
    expect((steal['status'] as { adoption?: unknown }).adoption).toBeUndefined();

    // Deleting it (deletionPolicy Delete) leaves the endpoint and its adopter alone.
    await e2e.kubectl(['delete', 'pte', 'steal', '--timeout=60s']);
    expect(await e2e.mutations('shared-ep')).toEqual(before);
    const after = JSON.parse(await kubectlOk(['-n', teamB, 'get', 'pte', 'importer', '-o', 'json'])) as Record<string, unknown>;
    expect(isReady(after)).toBe(true);
  });
});
