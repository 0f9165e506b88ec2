// What users install, running on real nodes: `helm install` of the chart with the operator's image,
// two replicas under leader election, Pods started by the kubelet with the chart's security context,
// projected token and probes; then the demo's flow, a leader handover, a rolling upgrade, namespace
// deletion and uninstall. The Databricks emulator listens on the host loopback; the Pods reach it
// because they run with hostNetwork. One release is shared by the steps, in order.
// vitest retries a failed step once (its body only): each step checks what it changed, not totals since the
// start, and makes its change again in a form a retry can repeat (test/support/attempt.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../src/emulator/auth.js';
import type { CallRecord } from '../../src/emulator/call-log.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { attemptName, attemptOf } from '../support/attempt.js';
import { applyOk, cluster, ensureNamespace, eventually, kubectl, kubectlOk } from '../support/cluster.js';
import { exampleManifests, exampleUnityCatalog } from '../support/examples.js';
import {
  chartValues,
  execInPod,
  FEDERATION_AUDIENCE,
  followLogs,
  helm,
  installChart,
  operatorNamespace,
  operatorPods,
  podsReport,
  RELEASE,
  readyWithLeader,
} from './harness.js';

const TENANT = 'ml'; // the examples' namespace
const PAT = 'dapi0node000000000000000000000000000000';

let emulator: RunningEmulator;
/** The Databricks name of gte-embeddings, read before the demo's flow deletes it (a retry finds it gone). */
let gteEndpoint: string | undefined;

interface Endpoint {
  metadata: { name: string; generation: number };
  status?: { endpointName?: string; served?: { modelVersion?: string }; conditions?: { type: string; status: string; observedGeneration?: number }[] };
}

// The serving API's operations by what they do (provisioned-throughput endpoints have their own create/update).
const OPERATIONS = {
  create: ['create', 'createPt'],
  update: ['updateConfig', 'updatePtConfig'],
  delete: ['delete'],
  token: ['token'],
} as const;

/** The emulator's call log, optionally for one endpoint and one kind of operation. */
async function calls(filter: { endpoint?: string; operation?: keyof typeof OPERATIONS } = {}): Promise<CallRecord[]> {
  const url = new URL('/__emulator/calls', emulator.url);
  if (filter.endpoint) url.searchParams.set('endpoint', filter.endpoint);
  const body = (await (await fetch(url)).json()) as { calls: CallRecord[] };
  const wanted: readonly string[] | undefined = filter.operation ? OPERATIONS[filter.operation] : undefined;
  return body.calls.filter((call) => wanted === undefined || wanted.includes(call.operation));
}

/**
 * Databricks created the endpoint once in each of its lives: once, plus once after each time it was deleted (a retried
 * step applies the examples again after its first attempt deleted one of them). Never twice while it existed.
 */
async function expectCreatedOncePerLife(endpoint: string): Promise<void> {
  const deleted = (await calls({ endpoint, operation: 'delete' })).filter((call) => call.status === 200).length;
  expect(await calls({ endpoint, operation: 'create' }), endpoint).toHaveLength(deleted + 1);
}

async function endpoints(namespace: string): Promise<Endpoint[]> {
  return (JSON.parse(await kubectlOk(['get', 'pte', '--namespace', namespace, '-o', 'json'])) as { items: Endpoint[] }).items;
}

const readyNow = (obj: Endpoint) =>
  obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === obj.metadata.generation) ?? false;

async function allReady(namespace: string, kinds = 'pte,dbws', timeoutMs = 150_000): Promise<void> {
  await eventually(
    async () => {
      const items = (JSON.parse(await kubectlOk(['get', kinds, '--namespace', namespace, '-o', 'json'])) as { items: Endpoint[] }).items;
      const waiting = items.filter((item) => !readyNow(item)).map((item) => item.metadata.name);
      if (items.length === 0 || waiting.length > 0) throw new Error(`not Ready in ${namespace}: ${waiting.join(', ') || '(no objects)'}`);
    },
    { timeoutMs, intervalMs: 1000 },
  ).catch(async (error: unknown) => {
    throw new Error(`${String(error)}\n${(await kubectl(['get', kinds, '--namespace', namespace, '-o', 'wide'])).stdout}${await podsReport()}`);
  });
}

/** Creates the Secrets the examples' workspaces name, in a namespace. */
async function workspaceSecrets(namespace: string): Promise<void> {
  await ensureNamespace(namespace);
  await applyOk(
    [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-pat' }, stringData: { token: PAT } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dbx-sp' }, stringData: { 'client-id': DEFAULT_CLIENT_ID, 'client-secret': DEFAULT_CLIENT_SECRET } },
    ],
    { namespace },
  );
}

function endpointObject(name: string, workspace: string, version = '3'): object {
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'ProvisionedThroughputEndpoint',
    metadata: { name },
    spec: {
      workspaceRef: { name: workspace },
      model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version },
      throughput: { chunks: { min: 1, max: 2 } },
      capacityRetry: { initialBackoff: '1s', maxBackoff: '4s', timeout: '5m' },
    },
  };
}

/** The Databricks endpoint name an object manages (from its status). */
async function endpointName(namespace: string, name: string): Promise<string> {
  const obj = JSON.parse(await kubectlOk(['get', 'pte', name, '--namespace', namespace, '-o', 'json'])) as Endpoint;
  if (!obj.status?.endpointName) throw new Error(`${namespace}/${name} has no status.endpointName yet`);
  return obj.status.endpointName;
}

async function setVersion(namespace: string, name: string, version: string): Promise<void> {
  await kubectlOk(['patch', 'pte', name, '--namespace', namespace, '--type', 'merge', '-p', JSON.stringify({ spec: { model: { version } } })]);
}

/**
 * Moves an object to the other of versions 2 and 3 once it is Ready for its generation (so no earlier change is
 * still on its way) and returns the new version and the updates Databricks had for its endpoint before: a retried
 * step changes the version again rather than finding its change already made.
 */
async function startVersionChange(namespace: string, name: string): Promise<{ version: string; updatesBefore: number }> {
  await waitReadyGeneration(namespace, name);
  const obj = JSON.parse(await kubectlOk(['get', 'pte', name, '--namespace', namespace, '-o', 'json'])) as Endpoint;
  const version = obj.status?.served?.modelVersion === '2' ? '3' : '2';
  const updatesBefore = (await calls({ endpoint: obj.status!.endpointName!, operation: 'update' })).length;
  await setVersion(namespace, name, version);
  return { version, updatesBefore };
}

async function waitReadyGeneration(namespace: string, name: string, timeoutMs = 120_000): Promise<void> {
  await eventually(
    async () => {
      const obj = JSON.parse(await kubectlOk(['get', 'pte', name, '--namespace', namespace, '-o', 'json'])) as Endpoint;
      if (!readyNow(obj)) throw new Error(`${name} is not Ready for generation ${obj.metadata.generation}: ${JSON.stringify(obj.status)}`);
    },
    { timeoutMs, intervalMs: 500 },
  );
}

async function waitServed(namespace: string, name: string, version: string, timeoutMs = 120_000): Promise<void> {
  await eventually(
    async () => {
      const obj = JSON.parse(await kubectlOk(['get', 'pte', name, '--namespace', namespace, '-o', 'json'])) as Endpoint;
      if (!readyNow(obj) || obj.status?.served?.modelVersion !== version) throw new Error(`${name} is not Ready on version ${version}: ${JSON.stringify(obj.status)}`);
    },
    { timeoutMs, intervalMs: 500 },
  );
}

beforeAll(async () => {
  const env = cluster();
  expect(env.nodeCount, 'the node tier needs a cluster started with up.sh --with-node').toBeGreaterThanOrEqual(2);
  emulator = await startEmulator({
    speed: 120,
    scenario: {
      auth: {
        // Only the operator's own projected token is exchanged: the apiserver issued it, for the chart's audience.
        federation: [{ issuer: env.apiserverUrl, audience: FEDERATION_AUDIENCE, subject: `system:serviceaccount:${env.operatorNamespace}:${RELEASE}` }],
      },
      unityCatalog: exampleUnityCatalog(),
    },
  });
});

afterAll(async () => {
  await helm(['uninstall', RELEASE, '--wait', '--ignore-not-found']);
  await emulator?.close();
});

describe('the chart on real nodes', () => {
  it('helm install runs two replicas from the image, on two nodes, one of them leader', async (context) => {
    await installChart(attemptOf(context) === 0 ? 'install' : 'install-or-upgrade', chartValues(emulator.url));
    const { pods, leader } = await readyWithLeader(2);
    // hostNetwork: each Pod has its node's address, and the scheduler put them on different nodes.
    expect(new Set(pods.map((pod) => pod.node)).size).toBe(2);
    for (const pod of pods) expect(pod.ip).toBe(pod.node);
    expect(pods.map((pod) => pod.name)).toContain(leader);
    console.log(`kubectl get pods -o wide -n ${operatorNamespace()}\n${await kubectlOk(['get', 'pods', '-o', 'wide', '--namespace', operatorNamespace()])}`);
  });

  it('runs non-root, with no capabilities and a read-only root filesystem, proven from inside the Pod', async () => {
    const [pod] = await operatorPods();
    const probe = `
      const fs = require('node:fs');
      const status = fs.readFileSync('/proc/self/status', 'utf8');
      const field = (name) => new RegExp(name + ':\\\\s*(\\\\S+)').exec(status)[1];
      const attempt = (file) => { try { fs.writeFileSync(file, 'x'); return 'written'; } catch (error) { return error.code; } };
      console.log(JSON.stringify({
        uid: process.getuid(), gid: process.getgid(),
        capEff: field('CapEff'), capPrm: field('CapPrm'), capBnd: field('CapBnd'), noNewPrivs: field('NoNewPrivs'),
        app: attempt('/app/dist/main.js'), root: attempt('/probe'), etc: attempt('/etc/probe'), tmp: attempt('/tmp/probe'),
      }));`;
    const result = await execInPod(pod!.name, ['node', '-e', probe]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      uid: 65532,
      gid: 65532,
      capEff: '0000000000000000',
      capPrm: '0000000000000000',
      capBnd: '0000000000000000',
      noNewPrivs: '1',
      app: 'EROFS',
      root: 'EROFS',
      etc: 'EROFS',
      tmp: 'written', // the chart's emptyDir
    });
  });

  it("mounts the kubelet's projected token where the chart says, for the chart's audience", async () => {
    const [pod] = await operatorPods();
    const env = cluster();
    const result = await execInPod(pod!.name, ['node', '-e', "process.stdout.write(require('node:fs').readFileSync(process.env.DATABRICKS_OIDC_TOKEN_FILEPATH, 'utf8'))"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const claims = JSON.parse(Buffer.from(result.stdout.split('.')[1]!, 'base64url').toString('utf8')) as { iss: string; aud: string[]; sub: string };
    expect(claims).toMatchObject({ iss: env.apiserverUrl, aud: [FEDERATION_AUDIENCE], sub: `system:serviceaccount:${env.operatorNamespace}:${RELEASE}` });
  });

  it("runs the demo's flow through the in-cluster operator: examples Ready, a version change, a delete", async () => {
    await workspaceSecrets(TENANT);
    await applyOk(exampleManifests(emulator.url), { namespace: TENANT });
    await allReady(TENANT);
    console.log(`kubectl get pte -n ${TENANT}\n${await kubectlOk(['get', 'pte', '--namespace', TENANT])}`);
    for (const endpoint of await endpoints(TENANT)) {
      await expectCreatedOncePerLife(endpoint.status!.endpointName!);
    }

    const change = await startVersionChange(TENANT, 'llama-chat');
    await waitServed(TENANT, 'llama-chat', change.version);
    expect(await calls({ endpoint: await endpointName(TENANT, 'llama-chat'), operation: 'update' })).toHaveLength(change.updatesBefore + 1);

    // A retry finds the object deleted by the first attempt: the name its first attempt read is kept.
    gteEndpoint ??= await endpointName(TENANT, 'gte-embeddings');
    await kubectlOk(['delete', 'pte', 'gte-embeddings', '--namespace', TENANT, '--timeout=90s', '--ignore-not-found']);
    const deletes = await calls({ endpoint: gteEndpoint, operation: 'delete' });
    expect(deletes.map((call) => call.status)).toContain(200);
  });

  it('exchanges the projected token for a Databricks token (token federation)', async () => {
    await applyOk(
      [
        { apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'federated' }, spec: { host: emulator.url, auth: { tokenFederation: { audience: FEDERATION_AUDIENCE } } } },
        endpointObject('federated-chat', 'federated'),
      ],
      { namespace: TENANT },
    );
    await allReady(TENANT);
    expect(await calls({ endpoint: await endpointName(TENANT, 'federated-chat'), operation: 'create' })).toHaveLength(1);
    // Ready and created: the emulator only exchanges a token the apiserver issued for this ServiceAccount and
    // the chart's audience (the scenario's federation policy), and the operator has no other credential there.
  });

  it('kubectl delete pod of the leader hands over to another replica with no double mutation', async () => {
    const { leader } = await readyWithLeader(2);
    const leaderLog = followLogs(leader);
    // Work in flight across the handover: a version change the leader has just seen.
    const change = await startVersionChange(TENANT, 'llama-chat');
    await kubectlOk(['delete', 'pod', leader, '--namespace', operatorNamespace(), '--wait=false']);
    await eventually(
      async () => {
        // The standby, or the Pod the ReplicaSet starts in place of the deleted one: either may win the Lease
        // once the leader releases it, as on any cluster. What matters is that the deleted leader let go.
        const holder = (await kubectlOk(['get', 'lease', 'pt-operator-leader', '--namespace', operatorNamespace(), '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
        if (holder === '' || holder === leader) throw new Error(`lease held by ${holder || 'nobody'}, waiting for a replica other than the deleted leader ${leader}`);
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(await leaderLog.ended).toMatch(/"signal":"SIGTERM".*shutdown requested|shutdown requested.*"signal":"SIGTERM"/);

    // The new leader finishes the work in flight and does what arrives after the handover, nothing twice.
    await applyOk(endpointObject('after-handover', 'prod'), { namespace: TENANT });
    await waitServed(TENANT, 'llama-chat', change.version);
    await allReady(TENANT);
    await readyWithLeader(2);
    expect(await calls({ endpoint: await endpointName(TENANT, 'after-handover'), operation: 'create' })).toHaveLength(1);
    // The change sent across the handover went out once.
    expect(await calls({ endpoint: await endpointName(TENANT, 'llama-chat'), operation: 'update' })).toHaveLength(change.updatesBefore + 1);
    for (const endpoint of await endpoints(TENANT)) {
      await expectCreatedOncePerLife(endpoint.status!.endpointName!);
    }
  });

  it('helm upgrade with a changed value rolls the Pods with SIGTERM and loses no work', async (context) => {
    const { pods: oldPods } = await readyWithLeader(2);
    const logs = oldPods.map((pod) => followLogs(pod.name));
    // Work in flight while the Pods roll: a version change Databricks takes a while (virtual 10 min) to roll out.
    const change = await startVersionChange(TENANT, 'llama-chat');
    // The attempt's number changes the Pods' template on a retry too (the same values would roll nothing).
    await installChart('upgrade', chartValues(emulator.url, { logLevel: 'debug', podAnnotations: { 'ptoperator.io/test-attempt': String(attemptOf(context)) } }));
    const { pods: newPods } = await readyWithLeader(2);
    expect(newPods.map((pod) => pod.uid).filter((uid) => oldPods.some((old) => old.uid === uid))).toEqual([]);
    for (const log of logs) {
      const text = await log.ended;
      expect(text).toMatch(/shutdown requested/);
      expect(text).toMatch(/"signal":"SIGTERM"/);
      expect(text).toMatch(/manager stopped/);
    }
    await waitServed(TENANT, 'llama-chat', change.version);
    expect(await calls({ endpoint: await endpointName(TENANT, 'llama-chat'), operation: 'update' })).toHaveLength(change.updatesBefore + 1);
  });

  // The namespace controller deletes everything at once; the DatabricksWorkspace's finalizer keeps it (and the
  // credentials it verified) until its endpoints are gone, so their finalizers can still delete them.
  it('kubectl delete namespace of a tenant completes, with its endpoints deleted in Databricks first', async (context) => {
    const tenant = attemptName(context, 'tenant-leaving');
    await workspaceSecrets(tenant);
    await applyOk(
      [
        { apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'prod' }, spec: { host: emulator.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } } },
        endpointObject('leaving-a', 'prod'),
        endpointObject('leaving-b', 'prod'),
      ],
      { namespace: tenant },
    );
    await allReady(tenant);
    const names = (await endpoints(tenant)).map((endpoint) => endpoint.status!.endpointName!);
    expect(names).toHaveLength(2);

    await kubectlOk(['delete', 'namespace', tenant, '--wait=false']);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if ((await kubectl(['get', 'namespace', tenant])).exitCode !== 0) break;
      const left = await kubectl(['get', 'pte,dbws', '--namespace', tenant, '-o', 'json']);
      const kinds = (JSON.parse(left.stdout || '{"items":[]}') as { items: { kind: string }[] }).items.map((item) => item.kind);
      // Stuck for good: the endpoints wait for a workspace that is already gone.
      if (kinds.includes('ProvisionedThroughputEndpoint') && !kinds.includes('DatabricksWorkspace')) {
        const status = await kubectl(['get', 'pte', '--namespace', tenant, '-o', 'jsonpath={range .items[*]}{.metadata.name}: {.status.conditions[?(@.type=="Ready")].message}{"\\n"}{end}']);
        throw new Error(`namespace ${tenant} cannot finish: its DatabricksWorkspace was deleted before its endpoints:\n${status.stdout}`);
      }
      if (Date.now() > deadline) throw new Error(`namespace ${tenant} still exists after 120 s; left: ${kinds.join(', ')}`);
      await new Promise((wake) => setTimeout(wake, 1000));
    }
    for (const name of names) {
      expect((await calls({ endpoint: name, operation: 'delete' })).map((call) => call.status)).toContain(200);
      const response = await fetch(new URL(`/api/2.0/serving-endpoints/${name}`, emulator.url), { headers: { authorization: `Bearer ${PAT}` } });
      expect(response.status).toBe(404);
    }
  });

  it('helm uninstall leaves the CRDs, the objects and the Databricks endpoints in place', async (context) => {
    const kept = (await endpoints(TENANT)).map((endpoint) => endpoint.status!.endpointName!);
    expect(kept.length).toBeGreaterThan(0);
    const mutationsBefore = (await calls()).filter((call) => call.method !== 'GET').length;
    // A retry may find the release already uninstalled by its first attempt.
    const result = await helm(['uninstall', RELEASE, '--wait', ...(attemptOf(context) > 0 ? ['--ignore-not-found'] : [])]);
    expect(result.exitCode, result.stderr).toBe(0);
    await eventually(
      async () => {
        if ((await operatorPods()).length > 0) throw new Error('operator Pods still exist');
      },
      { timeoutMs: 60_000 },
    );
    for (const crd of ['provisionedthroughputendpoints.serving.ptoperator.io', 'databricksworkspaces.serving.ptoperator.io']) {
      expect((await kubectl(['get', 'crd', crd])).exitCode).toBe(0);
    }
    expect((await endpoints(TENANT)).map((endpoint) => endpoint.status!.endpointName!).sort()).toEqual([...kept].sort());
    for (const name of kept) {
      const response = await fetch(new URL(`/api/2.0/serving-endpoints/${name}`, emulator.url), { headers: { authorization: `Bearer ${PAT}` } });
      expect(response.status, name).toBe(200);
    }
    expect((await calls()).filter((call) => call.method !== 'GET').length).toBe(mutationsBefore);
  });
});
