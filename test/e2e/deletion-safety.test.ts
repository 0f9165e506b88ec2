// Issue 11, findings 7 and 8: deletions that a user did not mean as "delete my Databricks endpoints", and
// deletions in the wrong order. Driven with kubectl against the real control plane, with
// kube-controller-manager's namespace controller doing a real namespace deletion.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installCrds } from '../controlplane/global-setup.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { applyOk, eventually, kubectl, kubectlOk, uniqueNamespace, ensureNamespace } from '../support/cluster.js';
import { TEST_PAT, condition, endpointManifest, isReady, type OperatorProcess, startOperator } from './harness.js';

const ENDPOINT_CRD = 'provisionedthroughputendpoints.serving.ptoperator.io';
const WORKSPACE_CRD = 'databricksworkspaces.serving.ptoperator.io';

function workspaceObjects(namespace: string, emulatorUrl: string): object[] {
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-pat', namespace }, stringData: { token: TEST_PAT } },
    {
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'prod', namespace },
      spec: { host: emulatorUrl, auth: { token: { secretRef: { name: 'dbx-pat' } } } },
    },
  ];
}

async function getJson(args: string[]): Promise<Record<string, unknown> | undefined> {
  const result = await kubectl([...args, '-o', 'json']);
  if (result.exitCode !== 0) {
    if (/NotFound|not found/.test(result.stderr)) return undefined;
    throw new Error(result.stderr);
  }
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function waitReady(namespace: string, names: string[]): Promise<void> {
  for (const name of names) {
    await eventually(
      async () => {
        const obj = await getJson(['get', 'pte', name, '-n', namespace]);
        if (!obj || !isReady(obj)) throw new Error(`pte/${name} is not Ready: ${JSON.stringify(obj?.['status'])}`);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }
}

const deletes = (emulator: RunningEmulator) => emulator.emulator.calls.query({ operation: 'delete' });
const endpointNames = (emulator: RunningEmulator) => emulator.emulator.calls.query({ operation: 'create' }).filter((c) => c.status === 200).map((c) => c.endpoint);

describe('deleting a namespace (finding 8): endpoints go first, with the workspace credentials, then the workspace', () => {
  // Per attempt: the test deletes its namespace (or the CRDs), so a retry needs a namespace, emulator and operator of its own.
  let namespace: string;
  let emulator: RunningEmulator;
  let operator: OperatorProcess;

  beforeEach(async () => {
    namespace = uniqueNamespace('e2e-nsdel');
    await ensureNamespace(namespace);
    emulator = await startEmulator({ speed: 120 });
    operator = startOperator({ namespace, emulatorUrl: emulator.url });
  });
  afterEach(async () => {
    await operator?.stop('SIGTERM');
    await emulator?.close();
  });

  it('kubectl delete namespace: both Databricks endpoints are deleted and the namespace finishes deleting', async () => {
    await applyOk([...workspaceObjects(namespace, emulator.url), endpointManifest('ns-a', { workspaceRef: { name: 'prod' } }), endpointManifest('ns-b', { workspaceRef: { name: 'prod' } })], { namespace });
    await waitReady(namespace, ['ns-a', 'ns-b']);

    // The namespace controller deletes everything at once: the Secret, the workspace and the endpoints.
    await kubectlOk(['delete', 'namespace', namespace, '--wait=false']);
    const gone = await eventually(
      async () => {
        const ns = await getJson(['get', 'namespace', namespace]);
        if (ns) {
          const leftovers = await kubectl(['get', 'pte,dbws', '-n', namespace, '-o', 'json']);
          const items = leftovers.exitCode === 0 ? (JSON.parse(leftovers.stdout) as { items: { kind: string; metadata: { name: string }; status?: Record<string, unknown> }[] }).items : [];
          throw new Error(
            `namespace ${namespace} still exists; left: ${items.map((i) => `${i.kind}/${i.metadata.name} ${JSON.stringify(condition(i as Record<string, unknown>, 'Synced'))}`).join('; ')}`,
          );
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(gone).toBe(true);
    const deleted = deletes(emulator);
    expect(deleted.map((c) => `${c.endpoint} ${c.status}`).sort()).toEqual(['ns-a 200', 'ns-b 200']);
    // Gone from Databricks; the DELETE's 200 was the last call for it (no look after it: issue 12).
    expect(emulator.emulator.endpoints().map((e) => e.name)).toEqual([]);
    expect(emulator.emulator.calls.query({ endpoint: 'ns-a' }).at(-1)?.operation).toBe('delete');
  });
});

describe('deleting the CRDs (finding 7): objects are released, nothing is deleted in Databricks', () => {
  // Per attempt: the test deletes its namespace (or the CRDs), so a retry needs a namespace, emulator and operator of its own.
  let namespace: string;
  let emulator: RunningEmulator;
  let operator: OperatorProcess;

  beforeEach(async () => {
    namespace = uniqueNamespace('e2e-crddel');
    await ensureNamespace(namespace);
    emulator = await startEmulator({ speed: 120 });
    // Cluster-wide, as installed: deleting a CRD deletes its objects in every namespace.
    operator = startOperator({ namespace: '', emulatorUrl: emulator.url, args: [`--default-workspace-namespaces=${namespace}`], name: namespace });
  });
  afterEach(async () => {
    await operator?.stop('SIGTERM');
    await emulator?.close();
    // Other test files need the CRDs back. Should a deletion have hung (a failed run), release what holds it.
    for (const crd of [ENDPOINT_CRD, WORKSPACE_CRD]) {
      const definition = await getJson(['get', 'crd', crd]);
      if (!(definition?.['metadata'] as { deletionTimestamp?: string } | undefined)?.deletionTimestamp) continue;
      const items = await kubectl(['get', crd, '--all-namespaces', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}']);
      for (const item of items.stdout.trim().split(/\s+/).filter(Boolean)) {
        const [ns, name] = item.split('/') as [string, string];
        await kubectl(['patch', crd, name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      }
      await kubectl(['wait', '--for=delete', `crd/${crd}`, '--timeout=60s'], { timeoutMs: 70_000 });
    }
    await installCrds();
  });

  it('kubectl delete crd (both): the CRDs go within a minute, the endpoints keep running, a Warning says why', async () => {
    await applyOk(
      [...workspaceObjects(namespace, emulator.url), endpointManifest('crd-default'), endpointManifest('crd-ws', { workspaceRef: { name: 'prod' } })],
      { namespace },
    );
    await waitReady(namespace, ['crd-default', 'crd-ws']);
    expect(endpointNames(emulator).sort()).toEqual(['crd-default', 'crd-ws']);

    const deleted = await kubectl(['delete', 'crd', ENDPOINT_CRD, WORKSPACE_CRD, '--timeout=90s'], { timeoutMs: 120_000 });
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(await getJson(['get', 'crd', ENDPOINT_CRD])).toBeUndefined();
    expect(await getJson(['get', 'crd', WORKSPACE_CRD])).toBeUndefined();

    expect(deletes(emulator)).toEqual([]);
    expect(emulator.emulator.endpoints().map((e) => e.name).sort()).toEqual(['crd-default', 'crd-ws']);
    const events = await kubectlOk(['get', 'events', '-n', namespace, '--field-selector', 'reason=CRDDeleted', '-o', 'jsonpath={range .items[*]}{.involvedObject.name} {.type}{"\\n"}{end}']);
    expect(events.trim().split('\n').sort()).toEqual(expect.arrayContaining(['crd-default Warning', 'crd-ws Warning']));
  });
});

describe('an operator restart during a namespace deletion: the Secret is gone, and the way out the object names works', () => {
  // Per attempt: the test deletes its namespace (or the CRDs), so a retry needs a namespace, emulator and operator of its own.
  let namespace: string;
  let emulator: RunningEmulator;
  let operator: OperatorProcess;

  beforeEach(async () => {
    namespace = uniqueNamespace('e2e-nsrestart');
    await ensureNamespace(namespace);
    emulator = await startEmulator({ speed: 120 });
    operator = startOperator({ namespace, emulatorUrl: emulator.url });
  });
  afterEach(async () => {
    await operator?.stop('SIGTERM');
    await emulator?.close();
  });

  it('SIGKILL, kubectl delete namespace, the Secret deleted, a restart: the object says what can be done (not "create the Secret"), warns, and deletionPolicy Orphan lets the namespace go', async () => {
    await applyOk([...workspaceObjects(namespace, emulator.url), endpointManifest('ns1', { workspaceRef: { name: 'prod' } })], { namespace });
    await waitReady(namespace, ['ns1']);
    await operator.stop('SIGKILL');

    await kubectlOk(['delete', 'namespace', namespace, '--wait=false']);
    // The namespace controller deletes the Secret (nothing holds it); the finalizers hold the workspace and ns1.
    await eventually(
      async () => {
        if (await getJson(['get', 'secret', 'dbx-pat', '-n', namespace])) throw new Error('the Secret is still there');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    operator = startOperator({ namespace, emulatorUrl: emulator.url, name: `${namespace}-restarted` });

    const stuck = await eventually(
      async () => {
        const obj = await getJson(['get', 'pte', 'ns1', '-n', namespace]);
        const synced = condition(obj, 'Synced');
        if (!synced || !/deletionPolicy/.test(synced.message) || !/Secret/.test(synced.message)) throw new Error(`ns1 does not say why it is stuck yet: ${JSON.stringify(synced)}`);
        return synced;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // What it says can be done: no "create it" in a namespace that is being terminated.
    expect(stuck).toMatchObject({ status: 'False' });
    expect(stuck.message).not.toContain('create secret');
    expect(stuck.message).toContain(`endpoint ns1 at ${emulator.url}`);
    // The Secret indeed cannot be created again.
    const recreate = await kubectl(['-n', namespace, 'create', 'secret', 'generic', 'dbx-pat', '--from-literal=token=x']);
    expect(recreate.stderr).toMatch(/being terminated/);
    // The Warning: a namespace being terminated refuses new Events too, so the operator's log carries it.
    const refusedEvents = operator
      .logs()
      .split('\n')
      .filter((line) => line.includes('"msg":"could not record event"'))
      .map((line) => JSON.parse(line) as { type: string; object: string; message: string; err: string });
    expect(refusedEvents).toContainEqual(expect.objectContaining({ type: 'Warning', object: 'ns1', message: stuck.message, err: expect.stringContaining('being terminated') }));
    // The workspace no longer claims it can be used.
    const workspace = await getJson(['get', 'dbws', 'prod', '-n', namespace]);
    expect(condition(workspace, 'Ready')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });

    // The way out the message names: Orphan, then the namespace goes.
    await kubectlOk(['-n', namespace, 'patch', 'pte', 'ns1', '--type=merge', '-p', '{"spec":{"deletionPolicy":"Orphan"}}']);
    await eventually(
      async () => {
        if (await getJson(['get', 'namespace', namespace])) throw new Error(`namespace ${namespace} still exists`);
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    // Left running, as the message said: deleting it is the user's part.
    expect(emulator.emulator.endpoints().map((e) => e.name)).toEqual(['ns1']);
    expect(deletes(emulator)).toEqual([]);
  });
});
