// Captures the fixtures of the Argo CD health-check tests from real operator runs: the operator
// (as a process, under the chart's RBAC) against the emulator, on the real control plane, with
// every object saved by `kubectl get -o yaml` in the state the health checks must classify.
//
//   PT_CLUSTER_DIR=/tmp/pt-cluster-argo bash test/controlplane/up.sh
//   PT_CLUSTER_DIR=/tmp/pt-cluster-argo npx tsx deploy/argocd/test/capture-fixtures.ts
//   PT_CLUSTER_DIR=/tmp/pt-cluster-argo bash test/controlplane/down.sh
//
// It installs the CRDs and the operator RBAC exactly as the test suite's global setup does, works
// in a fresh namespace, and rewrites deploy/argocd/test/fixtures/*.yaml (only the captured ones).
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { stringify } from 'yaml';
import setupControlPlane from '../../../test/controlplane/global-setup.js';
import { eventually } from '../../../test/support/cluster.js';
import { TEST_PAT, addFaults, condition, endpointManifest, fromYaml, removeFault, startE2E, type E2E } from '../../../test/e2e/harness.js';

const fixtureDirectory = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const LLAMA = { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '3' };
const MISTRAL = { name: 'system.ai.mistral_7b_instruct_v0_2', version: '1' };
const LLAMA_70B = { name: 'system.ai.meta_llama_v3_3_70b_instruct', version: '1' };
const MPT = { name: 'system.ai.mpt_7b_instruct', version: '1' };
const DBRX = { name: 'system.ai.dbrx_instruct', version: '1' };
const GTE = { name: 'system.ai.gte_large_en_v1_5', version: '1' };
/** A PAT the emulator accepts for reads only (no CAN_MANAGE anywhere). */
const VIEWER_PAT = 'dapi0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const UNUSED_PORT_URL = 'http://127.0.0.1:9';
const CANARY = { steps: [10, 50], pause: '30m' };

type Obj = Record<string, unknown>;
const readyReason = (obj: Obj) => condition(obj, 'Ready')?.reason;
const syncedReason = (obj: Obj) => condition(obj, 'Synced')?.reason;
const generationOf = (obj: Obj) => (obj['metadata'] as { generation?: number }).generation;
const observedGenerationOf = (obj: Obj) => (obj['status'] as { observedGeneration?: number } | undefined)?.observedGeneration;
const isCurrent = (obj: Obj) => observedGenerationOf(obj) === generationOf(obj);

/** Saves `kubectl get -o yaml` of the object, without managedFields and the client-side apply annotation. */
async function capture(e2e: E2E, kind: string, name: string, file: string, story: string): Promise<void> {
  const obj = fromYaml(await e2e.kubectl(['get', kind, name, '-o', 'yaml']));
  const metadata = obj['metadata'] as { managedFields?: unknown; annotations?: Record<string, string> };
  delete metadata.managedFields;
  if (metadata.annotations) {
    delete metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'];
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  const header = [
    `# ${story}`,
    `# Captured from a real operator run by deploy/argocd/test/capture-fixtures.ts (kubectl get ${kind} ${name} -o yaml;`,
    '# metadata.managedFields and the kubectl last-applied-configuration annotation removed).',
  ];
  writeFileSync(join(fixtureDirectory, file), `${header.join('\n')}\n${stringify(obj)}`);
  const transcript = process.env['PT_CAPTURE_TRANSCRIPT'];
  if (transcript && kind === 'pte') {
    // What a user sees for the same state: `kubectl get -o wide` and `kubectl describe` (with Events).
    const wide = await e2e.kubectl(['get', kind, name, '-o', 'wide']);
    const describe = await e2e.kubectl(['describe', kind, name]);
    appendFileSync(transcript, `### ${story}\n$ kubectl get ${kind} ${name} -o wide\n${wide}\n$ kubectl describe ${kind} ${name}\n${describe}\n`);
  }
  console.log(`captured ${file}: Ready=${readyReason(obj) ?? '-'} Synced=${syncedReason(obj) ?? '-'} generation=${generationOf(obj)} observed=${observedGenerationOf(obj) ?? '-'}`);
}

async function waitFor(e2e: E2E, kind: string, name: string, what: string, predicate: (obj: Obj) => boolean, timeoutMs = 90_000): Promise<void> {
  console.log(`waiting for ${kind}/${name}: ${what}`);
  await e2e.waitUntil(kind, name, predicate, timeoutMs);
}

async function captureWorkspaces(e2e: E2E): Promise<void> {
  const workspace = (name: string, host: string, secretName: string) => ({
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { name },
    spec: { host, auth: { token: { secretRef: { name: secretName, key: 'token' } } } },
  });
  const secret = (name: string, token: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { token } });
  await e2e.apply([
    secret('dbx-pat', TEST_PAT),
    // The emulator accepts only tokens that look like PATs (dapi...): this one is refused.
    secret('dbx-pat-revoked', 'revoked-token-0123456789'),
    secret('dbx-pat-viewer', VIEWER_PAT),
    workspace('viewer', e2e.emulator.url, 'dbx-pat-viewer'),
    workspace('prod', e2e.emulator.url, 'dbx-pat'),
    workspace('missing-secret', e2e.emulator.url, 'dbx-pat-does-not-exist'),
    workspace('wrong-token', e2e.emulator.url, 'dbx-pat-revoked'),
    workspace('unreachable', UNUSED_PORT_URL, 'dbx-pat'),
    // Token federation to a host neither trusted (--federation-trusted-hosts) nor the default workspace's.
    { apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'federated-untrusted' }, spec: { host: UNUSED_PORT_URL, auth: { tokenFederation: {} } } },
    // (workspace-invalid-spec.yaml, a plain http:// host, is no longer captured: admission refuses that host
    // now, so the operator never sees it; the file is kept from an earlier run for the health checks.)
  ]);
  const stories: [string, string, string, string][] = [
    ['prod', 'Authenticated', 'workspace-authenticated.yaml', 'A workspace whose PAT the emulator accepts.'],
    ['missing-secret', 'SecretNotFound', 'workspace-secret-not-found.yaml', 'A workspace whose auth Secret does not exist.'],
    ['wrong-token', 'AuthenticationFailed', 'workspace-authentication-failed.yaml', 'A workspace whose token the emulator refuses.'],
    ['unreachable', 'HostUnreachable', 'workspace-host-unreachable.yaml', 'A workspace whose host refuses connections (127.0.0.1:9).'],
    ['federated-untrusted', 'FederationHostNotTrusted', 'workspace-federation-host-not-trusted.yaml', "A workspace asking for token federation to a host the platform team did not trust: the operator's token is sent nowhere."],
  ];
  for (const [name, reason, file, story] of stories) {
    await waitFor(e2e, 'dbws', name, `Ready reason ${reason}`, (o) => isCurrent(o) && readyReason(o) === reason);
    await capture(e2e, 'dbws', name, file, story);
  }
}

async function captureEndpoints(e2e: E2E & { startOperator(extraArgs?: string[]): unknown }): Promise<void> {
  const prod = { workspaceRef: { name: 'prod' } };
  const endpoint = (name: string, spec: Obj, metadata: Obj = {}) => endpointManifest(name, { ...prod, ...spec }, metadata);

  // Every failure and wait state at once; each endpoint uses its own model so faults hit only it.
  await e2e.apply([
    endpoint('llama-chat', { model: LLAMA }),
    endpoint('capacity-wait', { model: MISTRAL, capacityRetry: { initialBackoff: '5m', maxBackoff: '10m', timeout: '6h' } }),
    endpoint('capacity-exhausted', { model: LLAMA_70B, throughput: { chunks: { min: 1, max: 1 } }, capacityRetry: { initialBackoff: '2s', maxBackoff: '3s', timeout: '12s' } }),
    endpoint('rollout-failed', { model: MPT }),
    endpoint('chunk-mismatch', { model: LLAMA, throughput: { tokensPerSecond: { min: 0, max: 1000 } } }),
    endpoint('base-model', { model: { name: 'system.ai.meta_llama_v3_1_8b', version: '1' } }),
    endpoint('unknown-model', { model: { name: 'main.default.no_such_model', version: '1' } }),
    endpoint('taken-name', { model: LLAMA, endpointName: 'legacy-chat' }),
    endpoint('no-workspace', { model: LLAMA, workspaceRef: { name: 'unreachable' } }),
    endpoint('workspace-stalled', { model: LLAMA, workspaceRef: { name: 'missing-secret' } }),
    endpoint('throttled', { model: LLAMA }),
    endpoint('gateway-refused', { model: LLAMA, aiGateway: { inferenceTables: { catalogName: 'missing', schemaName: 'default' } } }),
    endpoint('canary', { model: LLAMA, canary: CANARY }),
    endpoint('canary-step', { model: LLAMA, canary: CANARY }),
    endpoint('create-refused', { model: LLAMA, workspaceRef: { name: 'viewer' } }),
    endpoint('model-refused', { model: DBRX }),
    endpoint('update-failed', { model: GTE }),
  ]);

  await waitFor(e2e, 'pte', 'llama-chat', 'Ready reason Creating', (o) => isCurrent(o) && readyReason(o) === 'Creating');
  await capture(e2e, 'pte', 'llama-chat', 'endpoint-creating.yaml', 'A new endpoint while Databricks rolls out its first config.');
  await waitFor(e2e, 'pte', 'llama-chat', 'Ready True', (o) => isCurrent(o) && readyReason(o) === 'Available');
  await capture(e2e, 'pte', 'llama-chat', 'endpoint-available.yaml', 'An endpoint serving its desired config.');

  await waitFor(e2e, 'pte', 'capacity-wait', 'Ready reason WaitingForCapacity with a scheduled retry', (o) =>
    isCurrent(o) && readyReason(o) === 'WaitingForCapacity' && (o['status'] as { capacity?: { nextRetryTime?: string } }).capacity?.nextRetryTime !== undefined,
  );
  await capture(e2e, 'pte', 'capacity-wait', 'endpoint-waiting-for-capacity.yaml', 'A rollout that failed for lack of GPU capacity, waiting for its next retry.');
  await waitFor(e2e, 'pte', 'capacity-exhausted', 'Synced reason CapacityRetriesExhausted', (o) => isCurrent(o) && syncedReason(o) === 'CapacityRetriesExhausted');
  await capture(e2e, 'pte', 'capacity-exhausted', 'endpoint-capacity-retries-exhausted.yaml', 'GPU capacity stayed unavailable through the whole retry budget (capacityRetry.timeout 12s).');
  await waitFor(e2e, 'pte', 'rollout-failed', 'Synced reason UpdateFailed', (o) => isCurrent(o) && syncedReason(o) === 'UpdateFailed');
  await capture(e2e, 'pte', 'rollout-failed', 'endpoint-update-failed.yaml', 'A rollout that failed for a reason other than capacity (the model container exited).');
  await waitFor(e2e, 'pte', 'chunk-mismatch', 'Synced reason InvalidSpec', (o) => isCurrent(o) && syncedReason(o) === 'InvalidSpec');
  await capture(e2e, 'pte', 'chunk-mismatch', 'endpoint-invalid-spec.yaml', 'tokensPerSecond.max 1000 is not a multiple of the model chunk size 980.');
  await waitFor(e2e, 'pte', 'base-model', 'Synced reason ModelNotOptimizable', (o) => isCurrent(o) && syncedReason(o) === 'ModelNotOptimizable');
  await capture(e2e, 'pte', 'base-model', 'endpoint-model-not-optimizable.yaml', 'A base (non-instruct) model that provisioned throughput cannot serve.');
  await waitFor(e2e, 'pte', 'unknown-model', 'Synced reason ModelNotFound', (o) => isCurrent(o) && syncedReason(o) === 'ModelNotFound');
  await capture(e2e, 'pte', 'unknown-model', 'endpoint-model-not-found.yaml', 'A model name that Unity Catalog does not know.');
  await waitFor(e2e, 'pte', 'taken-name', 'Synced reason NotOwned', (o) => isCurrent(o) && syncedReason(o) === 'NotOwned');
  await capture(e2e, 'pte', 'taken-name', 'endpoint-not-owned.yaml', 'endpointName legacy-chat exists in Databricks without our ownership tag and no adopt annotation.');
  await waitFor(e2e, 'pte', 'no-workspace', 'Synced reason WorkspaceNotReady', (o) => syncedReason(o) === 'WorkspaceNotReady');
  await capture(e2e, 'pte', 'no-workspace', 'endpoint-workspace-not-ready.yaml', "An endpoint whose DatabricksWorkspace's host refuses connections (HostUnreachable: the operator retries).");
  await waitFor(e2e, 'pte', 'workspace-stalled', 'Synced reason WorkspaceStalled', (o) => isCurrent(o) && syncedReason(o) === 'WorkspaceStalled');
  await capture(e2e, 'pte', 'workspace-stalled', 'endpoint-workspace-stalled.yaml', 'An endpoint whose DatabricksWorkspace has no Secret (SecretNotFound: it needs a person).');
  await waitFor(e2e, 'pte', 'throttled', 'Synced reason RateLimited', (o) => syncedReason(o) === 'RateLimited');
  await capture(e2e, 'pte', 'throttled', 'endpoint-rate-limited.yaml', 'Every Databricks call for this endpoint answered 429 (emulator throttle fault).');
  // A 429 pauses every endpoint of the host for its Retry-After: the states below need Databricks answering again.
  const faults = (await (await fetch(new URL('/__emulator/faults', e2e.emulator.url))).json()) as { faults: { id: string; spec: { type: string } }[] };
  for (const fault of faults.faults.filter((f) => f.spec.type === 'throttle')) await removeFault(e2e.emulator.url, fault.id);

  await waitFor(e2e, 'pte', 'gateway-refused', 'AiGatewaySynced reason Rejected', (o) => isCurrent(o) && condition(o, 'AiGatewaySynced')?.reason === 'Rejected');
  await capture(e2e, 'pte', 'gateway-refused', 'endpoint-settings-rejected.yaml', "A serving endpoint whose AI Gateway Databricks refused (inference tables in a catalog that does not exist).");

  // Permission refusals: the create (a read-only identity, whose workspace is Authenticated: its credentials work),
  // and the model of a new spec (no EXECUTE on it).
  await waitFor(e2e, 'dbws', 'viewer', 'Ready reason Authenticated', (o) => isCurrent(o) && readyReason(o) === 'Authenticated');
  await waitFor(e2e, 'pte', 'create-refused', 'Synced reason PermissionDenied', (o) => isCurrent(o) && syncedReason(o) === 'PermissionDenied');
  await capture(e2e, 'pte', 'create-refused', 'endpoint-permission-denied.yaml', "The workspace's identity may read but not create serving endpoints: Databricks answered the create with 403.");
  await waitFor(e2e, 'pte', 'model-refused', 'Ready True', (o) => isCurrent(o) && readyReason(o) === 'Available');
  await addFaults(e2e.emulator.url, {
    type: 'permissionDenied',
    message: 'User does not have EXECUTE on Model',
    match: { path: `/api/2.0/serving-endpoints/get-model-optimization-info/${DBRX.name}/2` },
  });
  await e2e.apply(endpoint('model-refused', { model: { ...DBRX, version: '2' } }));
  await waitFor(e2e, 'pte', 'model-refused', 'Synced reason PermissionDenied', (o) => isCurrent(o) && syncedReason(o) === 'PermissionDenied');
  await capture(e2e, 'pte', 'model-refused', 'endpoint-permission-denied-model.yaml', 'model.version changed 1 to 2, a version the identity may not read (403 on its optimization info): version 1 keeps serving.');

  // A rollout of an update that failed: the old config keeps serving. Then the fix, held back by a Databricks outage.
  await waitFor(e2e, 'pte', 'update-failed', 'Ready True', (o) => isCurrent(o) && readyReason(o) === 'Available');
  const [failing] = await addFaults(e2e.emulator.url, { type: 'deploymentFailure', model: GTE.name });
  await e2e.apply(endpoint('update-failed', { model: { ...GTE, version: '2' } }));
  await waitFor(e2e, 'pte', 'update-failed', 'Synced reason UpdateFailed', (o) => isCurrent(o) && syncedReason(o) === 'UpdateFailed');
  await capture(e2e, 'pte', 'update-failed', 'endpoint-update-failed-old-config-serves.yaml', 'model.version changed 1 to 2 and the rollout failed (the model container exited): version 1 keeps serving.');
  await removeFault(e2e.emulator.url, failing!);
  const [outage] = await addFaults(e2e.emulator.url, { type: 'unavailable', match: { endpoint: 'update-failed' } });
  await e2e.apply(endpoint('update-failed', { model: GTE }));
  await waitFor(e2e, 'pte', 'update-failed', 'Synced reason ReconcileError', (o) => syncedReason(o) === 'ReconcileError');
  await capture(e2e, 'pte', 'update-failed', 'endpoint-reconcile-error.yaml', 'The fix of the failed rollout (model.version back to 1) pushed while Databricks answers 503 to every call for the endpoint.');
  await removeFault(e2e.emulator.url, outage!);
  await waitFor(e2e, 'pte', 'update-failed', 'Ready True after the outage', (o) => isCurrent(o) && readyReason(o) === 'Available' && syncedReason(o) === 'ReconcileSuccess');

  // A version change with the abort control still set: the canary does not start, the old version keeps serving.
  await waitFor(e2e, 'pte', 'canary', 'Ready True', (o) => isCurrent(o) && readyReason(o) === 'Available');
  await e2e.apply(endpoint('canary', { model: { ...LLAMA, version: '2' }, canary: { ...CANARY, action: 'Abort' } }));
  await waitFor(e2e, 'pte', 'canary', 'Synced reason CanaryAborted', (o) => isCurrent(o) && syncedReason(o) === 'CanaryAborted');
  await capture(e2e, 'pte', 'canary', 'endpoint-canary-aborted.yaml', 'model.version changed 3 to 2 with spec.canary.action Abort still set: version 3 keeps serving alone.');

  // A version change with a canary: step 1 serves 10 % and pauses; the version bump is not done (Ready False).
  await waitFor(e2e, 'pte', 'canary-step', 'Ready True', (o) => isCurrent(o) && readyReason(o) === 'Available');
  await e2e.apply(endpoint('canary-step', { model: { ...LLAMA, version: '2' }, canary: CANARY }));
  await waitFor(e2e, 'pte', 'canary-step', 'Ready reason CanaryInProgress at a paused step', (o) =>
    isCurrent(o) && readyReason(o) === 'CanaryInProgress' && (o['status'] as { canary?: { phase?: string } }).canary?.phase === 'Paused',
  );
  await capture(e2e, 'pte', 'canary-step', 'endpoint-canary-paused.yaml', 'model.version changed 3 to 2 with a canary: step 1 (10 % to version 2) serves, in its 30 m pause.');

  // A version change of a Ready endpoint: the old config serves while the new one rolls out.
  await e2e.apply(endpoint('llama-chat', { model: { ...LLAMA, version: '2' } }));
  await waitFor(e2e, 'pte', 'llama-chat', 'Ready reason Updating', (o) => isCurrent(o) && readyReason(o) === 'Updating');
  await capture(e2e, 'pte', 'llama-chat', 'endpoint-updating.yaml', 'A version change (3 to 2) rolling out while version 3 still serves.');
  await waitFor(e2e, 'pte', 'llama-chat', 'Ready True again', (o) => isCurrent(o) && readyReason(o) === 'Available');

  // Paused: the operator stops acting and says so.
  await e2e.kubectl(['annotate', 'pte', 'llama-chat', 'ptoperator.io/paused=true']);
  await waitFor(e2e, 'pte', 'llama-chat', 'Synced reason ReconcilePaused', (o) => syncedReason(o) === 'ReconcilePaused');
  await capture(e2e, 'pte', 'llama-chat', 'endpoint-paused.yaml', 'A Ready endpoint with annotation ptoperator.io/paused="true".');
  await e2e.kubectl(['annotate', 'pte', 'llama-chat', 'ptoperator.io/paused-']);
  await waitFor(e2e, 'pte', 'llama-chat', 'Ready True after unpausing', (o) => isCurrent(o) && readyReason(o) === 'Available' && syncedReason(o) === 'ReconcileSuccess');

  // With the operator stopped, a spec edit stays unobserved and a new object gets no status: the
  // states Argo CD sees between a sync and the operator's next reconcile, held still to capture them.
  await e2e.operator.stop('SIGTERM');
  await e2e.apply(endpoint('llama-chat', { model: { ...LLAMA, version: '2' }, throughput: { chunks: { min: 2, max: 4 } } }));
  await e2e.apply(endpoint('brand-new', { model: LLAMA }));
  await capture(e2e, 'pte', 'llama-chat', 'endpoint-stale-generation.yaml', 'A Ready endpoint right after its throughput was edited, before the operator observed the new generation.');
  await capture(e2e, 'pte', 'brand-new', 'endpoint-no-status.yaml', 'An endpoint just created, before the operator wrote any status (the API server serves the CRD default).');
  await e2e.kubectl(['patch', 'dbws', 'prod', '--type=merge', '-p', '{"spec":{"rateLimits":{"readsPerSecond":10}}}']);
  await capture(e2e, 'dbws', 'prod', 'workspace-stale-generation.yaml', 'An Authenticated workspace right after a spec edit, before the operator observed the new generation.');
  await e2e.apply({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'brand-new' }, spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } } });
  await capture(e2e, 'dbws', 'brand-new', 'workspace-no-status.yaml', 'A workspace just created, before the operator wrote any status (the API server serves the CRD default).');
  await e2e.kubectl(['delete', 'pte', 'capacity-wait', '--wait=false']);
  await capture(e2e, 'pte', 'capacity-wait', 'endpoint-pending-deletion.yaml', 'An endpoint deleted with kubectl while the operator was stopped, so its finalizer holds it.');
  // Restarted with the default workspace allowed only to another namespace: an endpoint without workspaceRef here.
  e2e.startOperator(['--default-workspace-namespaces=some-other-namespace']);
  await waitFor(e2e, 'pte', 'llama-chat', 'the edited spec observed', (o) => isCurrent(o));
  await eventually(async () => {
    if (await e2e.get('pte', 'capacity-wait')) throw new Error('pte/capacity-wait is still there');
  });
  await e2e.apply(endpointManifest('default-refused', { model: LLAMA }));
  await waitFor(e2e, 'pte', 'default-refused', 'Synced reason DefaultWorkspaceNotAllowed', (o) => syncedReason(o) === 'DefaultWorkspaceNotAllowed');
  await capture(e2e, 'pte', 'default-refused', 'endpoint-default-workspace-not-allowed.yaml', 'An endpoint without workspaceRef in a namespace the platform team did not allow the default workspace.');
}

async function main(): Promise<void> {
  if (!process.env.PT_CLUSTER_DIR) throw new Error('set PT_CLUSTER_DIR to a cluster started with test/controlplane/up.sh');
  mkdirSync(fixtureDirectory, { recursive: true });
  // The suite's own set-up: CRDs (server-side apply, Established) and the chart's RBAC for the operator.
  const teardown = await setupControlPlane({ provide: () => undefined } as unknown as TestProject);
  const e2e = await startE2E({
    prefix: 'argocd-fixtures',
    scenario: {
      auth: { pats: [TEST_PAT, { token: VIEWER_PAT, readOnly: true }] },
      endpoints: [
        {
          name: 'legacy-chat',
          config: { served_entities: [{ entity_name: LLAMA.name, entity_version: LLAMA.version, min_provisioned_throughput: 980, max_provisioned_throughput: 1960 }] },
        },
      ],
      faults: [
        { type: 'capacity', model: MISTRAL.name },
        { type: 'capacity', model: LLAMA_70B.name },
        { type: 'deploymentFailure', model: MPT.name },
        { type: 'throttle', retryAfterSeconds: 30, match: { endpoint: 'throttled' } },
      ],
    },
  });
  try {
    await captureWorkspaces(e2e);
    await captureEndpoints(e2e);
  } catch (error) {
    console.error(`capture failed; operator log: ${e2e.operator.logFile}`);
    throw error;
  } finally {
    await e2e.stop();
    await teardown();
  }
}

await main();
