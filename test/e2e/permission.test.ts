// An endpoint made outside the operator (Terraform, a person) on which the operator's identity lacks CAN_MANAGE:
// the endpoint says so and stalls; the workspace, whose credentials work, stays Ready and is not verified again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, type OperatorProcess, TEST_PAT, condition, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
/** Reads, but may change nothing (no CAN_MANAGE on any endpoint). */
const VIEWER_PAT = 'dapi0f1e2d3c4b5a69788796a5b4c3d2e1f0';

let e2e: E2E & { startOperator(): OperatorProcess };

beforeAll(async () => {
  e2e = await startE2E({
    prefix: 'e2e-perm',
    scenario: {
      auth: { pats: [TEST_PAT, { token: VIEWER_PAT, readOnly: true }] },
      endpoints: [{ name: 'tf-made', config: { served_entities: [{ entity_name: MODEL, entity_version: '2', min_provisioned_throughput: 980, max_provisioned_throughput: 980 }] } }],
    },
    // A long poll interval: every call after the first comes from a reconcile this test asks for.
    operatorArgs: ['--poll-interval=10m'],
  });
});

afterAll(async () => {
  await e2e?.stop();
});

/** Times the workspace was verified (its reconciler logs one line each). */
const verifications = (name: string) =>
  e2e.operator
    .logs()
    .split('\n')
    .filter((line) => line.includes('"msg":"workspace verified"') && line.includes(`"key":"${e2e.namespace}/${name}"`)).length;

describe('an adopted endpoint on which the operator may not act', () => {
  it('stalls with PermissionDenied naming the identity, the endpoint and the fix; no retry storm, the workspace stays Ready', async () => {
    // applied, not created: a retried attempt finds it there
    await e2e.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'viewer-pat' }, stringData: { token: VIEWER_PAT } });
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'ws2' },
      spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'viewer-pat' } } } },
    });
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'ProvisionedThroughputEndpoint',
      metadata: { name: 'tf-made', annotations: { 'ptoperator.io/adopt': 'true' } },
      spec: {
        workspaceRef: { name: 'ws2' },
        model: { name: MODEL, version: '2' },
        throughput: { tokensPerSecond: { min: 980, max: 1960 } },
        deletionPolicy: 'Orphan',
      },
    });

    const denied = await e2e.waitUntil('pte', 'tf-made', (o) => condition(o, 'Synced')?.reason === 'PermissionDenied');
    const synced = condition(denied, 'Synced');
    expect(synced?.status).toBe('False');
    expect(synced?.message).toContain('viewer-pat');
    expect(synced?.message).toContain('CAN_MANAGE');
    expect(synced?.message).toContain('tf-made');
    expect(synced?.message).toContain('databricks_permissions');
    // kstatus (Argo CD, Flux): Failed, not InProgress forever.
    expect(condition(denied, 'Stalled')?.status).toBe('True');
    expect(condition(denied, 'Reconciling')).toBeUndefined();

    const ws = await e2e.get('dbws', 'ws2');
    expect(condition(ws, 'Ready')).toMatchObject({ status: 'True', reason: 'Authenticated' });
    const verifiedBefore = verifications('ws2');
    const refusedBefore = (await e2e.mutations('tf-made')).length;

    await e2e.reconciledAgain('tf-made');
    // Only the two reconciles asked for sent anything, one refused call each; the workspace was not verified again
    // for them. A poke that lands while the previous reconcile writes its status makes that write meet a conflict:
    // the status is written over the poke, nothing is planned or sent again for it (CI, session 13: 4 calls). The
    // end of a probe of the API server's clock asked for while the object was new wakes it only if it still waits
    // (CI, session 16: 3 calls; claim-fence.ts ClockWaits).
    const refused = await e2e.mutations('tf-made');
    expect(refused.every((c) => c.status === 403)).toBe(true);
    expect(refused.length - refusedBefore).toBeLessThanOrEqual(2);
    expect(verifications('ws2')).toBe(verifiedBefore);
    expect(condition(await e2e.get('dbws', 'ws2'), 'Ready')?.status).toBe('True');
  });
});
