// Two operators sharing the cluster by --label-selector (the chart's labelSelector, "for sharding across several
// releases"): every shard sees every DatabricksWorkspace, but only its own endpoint objects. A workspace being
// deleted must wait for the endpoint objects of every shard that use it, not only for those its shard sees
// (session 11: the shard without users released the finalizer, and the other shard's endpoint could no longer
// delete its Databricks endpoint: "DatabricksWorkspace … not found").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, type OperatorProcess, TEST_PAT, condition, endpointManifest, isReady, startE2E, startOperator } from './harness.js';
import { eventually } from '../support/cluster.js';

let e2e: E2E;
const shards: OperatorProcess[] = [];

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-shard', startOperator: false });
  await e2e.kubectl(['create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${TEST_PAT}`]);
  for (const shard of ['a', 'b']) {
    shards.push(startOperator({ namespace: e2e.namespace, emulatorUrl: e2e.emulator.url, name: `${e2e.namespace}-shard-${shard}`, args: [`--label-selector=shard=${shard}`] }));
  }
});

afterAll(async () => {
  await Promise.all(shards.map((s) => s.stop()));
  await e2e?.stop();
});

const waitingForUsers = (shard: OperatorProcess) => shard.logs().includes('deletion waits for 1 endpoint object(s) that use this workspace');

describe('sharding with --label-selector', () => {
  it("a workspace being deleted waits for another shard's endpoint objects; it goes once they are gone", async () => {
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'prod' },
      spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    });
    await e2e.apply(endpointManifest('sharded', { workspaceRef: { name: 'prod' }, deletionPolicy: 'Delete' }, { labels: { shard: 'a' } }));
    await e2e.waitUntil('pte', 'sharded', isReady, 90_000);

    await e2e.kubectl(['delete', 'dbws', 'prod', '--wait=false']);
    // Evidence that both shards looked at the deletion (each says what it waits for), or that one let it go.
    const workspace = await eventually(
      async () => {
        const current = await e2e.get<{ metadata: { deletionTimestamp?: string; finalizers?: string[] } }>('dbws', 'prod');
        if (current !== undefined && !shards.every(waitingForUsers)) throw new Error('both shards have not yet looked at the deletion');
        return current;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(workspace?.metadata.deletionTimestamp).toBeDefined();
    expect(workspace?.metadata.finalizers).toContain('serving.ptoperator.io/workspace');

    // The endpoint's own shard still has the workspace's credentials: its Databricks endpoint is deleted.
    await e2e.kubectl(['delete', 'pte', 'sharded', '--timeout=60s']);
    expect((await e2e.mutations('sharded')).filter((m) => m.method === 'DELETE' && m.status === 200)).toHaveLength(1);
    await eventually(
      async () => {
        if ((await e2e.get('dbws', 'prod')) !== undefined) throw new Error('the workspace is still there');
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(condition(workspace as Record<string, unknown>, 'Ready')?.status).toBe('True');
  });
});
