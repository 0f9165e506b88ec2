// The endpoint reconciler's I/O shell with spec.managementPolicy: Observe: what reaches the Databricks client and the
// API server (observe-only.ts decides; the shell must read what the comparison needs, and send nothing).
import { describe, expect, it } from 'vitest';
import { type Endpoint } from '../../../../src/controllers/endpoint/reconciler.js';
import { DatabricksError } from '../../../../src/databricks/index.js';
import { NOW, readyEndpoint } from '../fixtures.js';
import { running } from './canary-fixtures.js';
import { applyMergePatch, endpoint, harness } from './reconciler-harness.js';

const MUTATIONS = ['createEndpoint', 'updateConfig', 'patchTags', 'deleteEndpoint', 'setPermissions', 'putAiGateway', 'updateNotifications', 'patchTelemetryConfig'] as const;

/** An observer with no finalizer (nothing ever made it act), comparing permissions and notifications too. */
function observer(extra: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): Endpoint {
  const base = endpoint();
  return {
    ...base,
    metadata: { ...base.metadata, finalizers: [], ...metadata },
    spec: { ...base.spec, managementPolicy: 'Observe', permissions: [{ groupName: 'ml-eng', permissionLevel: 'CAN_QUERY' }], notifications: { onUpdateSuccess: ['ml@company.com'] }, ...extra },
  } as unknown as Endpoint;
}

/** Made outside the operator: no owner tags; version 4 serves, no notifications. */
const elsewhere = () => readyEndpoint({ version: '4' }, { owner: null, tags: [{ key: 'team', value: 'genai' }] });
const acl = () => ({ object_type: 'serving-endpoint', access_control_list: [{ group_name: 'admins', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }] }] });
const mutationsSent = (client: Record<string, { mock: { calls: unknown[] } }>) => MUTATIONS.filter((m) => client[m]!.mock.calls.length > 0);

describe('endpoint reconciler, managementPolicy Observe', () => {
  it('reads the endpoint, the model and the ACL it compares, sends no change and adds no finalizer; the status says what differs', async () => {
    const h = harness({ object: observer(), getEndpoint: elsewhere, settings: { getPermissions: acl }, informerFollowsWrites: true });
    await h.run();
    expect(mutationsSent(h.client as never)).toEqual([]);
    expect(h.client.getPermissions).toHaveBeenCalledTimes(1);
    expect(h.patches.filter((p) => p.subresource !== 'status')).toEqual([]);
    const status = (h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } }).status;
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'Synced', status: 'False', reason: 'Drifted', message: expect.stringContaining('version 4 → 3') }));
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'PermissionsSynced', reason: 'Drifted' }));
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'NotificationsSynced', reason: 'Drifted' }));
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
  });

  it('a steady observed endpoint: the next look writes nothing to the API server', async () => {
    const h = harness({ object: observer(), getEndpoint: elsewhere, settings: { getPermissions: acl }, informerFollowsWrites: true });
    await h.run();
    const written = h.patches.length;
    await h.run();
    expect(h.patches.length).toBe(written);
    expect(h.client.getEndpoint).toHaveBeenCalledTimes(2);
    expect(mutationsSent(h.client as never)).toEqual([]);
  });

  it('deleting an observer that holds the finalizer (it was Full before), deletionPolicy Delete: no read, no DELETE, the finalizer goes', async () => {
    const h = harness({ object: observer({ deletionPolicy: 'Delete' }, { finalizers: ['serving.ptoperator.io/endpoint'], deletionTimestamp: NOW.toISOString() }), listed: ['llama-chat'] });
    await h.run();
    expect(mutationsSent(h.client as never)).toEqual([]);
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(h.client.listEndpoints).not.toHaveBeenCalled();
    expect(h.patches.some((p) => Array.isArray(p.body) && (p.body as { op: string }[]).some((op) => op.op === 'remove'))).toBe(true);
  });

  // Full → Observe in the middle of a canary (admission makes the same apply remove spec.canary): status.canary is
  // that canary's, and Argo CD judges it before Ready (a Paused one Suspended, an Aborted one Degraded). Observing
  // steers nothing, so no canary stands, whatever endpoint is (or is not) there.
  it.each([
    ['the endpoint is gone', () => { throw new DatabricksError({ kind: 'NotFound', status: 404, message: 'RESOURCE_DOES_NOT_EXIST' }); }],
    ['the endpoint was made again elsewhere (not this object\'s any more)', () => readyEndpoint({ version: '3' }, { owner: null, tags: [{ key: 'team', value: 'genai' }] })],
    ['the endpoint is still this object\'s', () => readyEndpoint({ version: '3' })],
  ])('Full → Observe during a canary, %s: status.canary goes', async (_, getEndpoint) => {
    const canary = running({ phase: 'Aborted', fromVersion: '2', toVersion: '3', message: 'aborted by the user: all traffic back to version 2' });
    const base = observer({}, { finalizers: ['serving.ptoperator.io/endpoint'], generation: 2 });
    const object = { ...base, status: { observedGeneration: 1, endpointId: 'ep-1', canary } } as unknown as Endpoint;
    const h = harness({ object, getEndpoint, settings: { getPermissions: acl } });
    await h.run();
    expect(mutationsSent(h.client as never)).toEqual([]);
    const patch = h.patches.find((p) => p.subresource === 'status');
    expect(patch).toBeDefined();
    expect(applyMergePatch(object.status, (patch?.body as { status: unknown }).status)?.canary).toBeUndefined();
  });
});
