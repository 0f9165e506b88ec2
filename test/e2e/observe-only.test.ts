// Observe-only endpoints (spec.managementPolicy: Observe), driven with kubectl: an endpoint made outside the
// operator (here straight through the emulator's API, as Terraform or a notebook would) is reported Ready through the
// condition, a change made to it out of band shows as Synced=False Drifted naming the difference and is left as it
// is, an object whose endpoint does not exist creates nothing, and deleting the objects leaves Databricks alone:
// from the first apply to the last deletion, the emulator's call log holds nothing but the operator's reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, condition, databricksRequest, editOutOfBand, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-observe', speed: 480 });
});

afterAll(async () => {
  await e2e?.stop();
});

const observer = (name: string, spec: Record<string, unknown> = {}) => endpointManifest(name, { managementPolicy: 'Observe', tags: { team: 'genai' }, ...spec });

interface EmulatorEndpoint {
  name: string;
  config?: { served_entities?: { entity_version?: string; max_provisioned_throughput?: number }[] };
  tags?: { key: string; value?: string }[];
}

async function emulatorEndpoint(name: string): Promise<EmulatorEndpoint | undefined> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: EmulatorEndpoint[] };
  return state.endpoints.find((e) => e.name === name);
}

describe('managementPolicy: Observe', () => {
  // The calls the test itself made (the endpoint's create) end here: every later call is the operator's.
  let sinceSeq = 0;

  it('an endpoint made elsewhere: kubectl wait --for=condition=Ready returns, Synced=True, status shows its URL and served config', async () => {
    await databricksRequest(e2e.emulator.url, 'POST', '/api/2.0/serving-endpoints', {
      name: 'made-by-terraform',
      config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
      tags: [{ key: 'team', value: 'genai' }, { key: 'managed-by', value: 'terraform' }],
    });
    sinceSeq = Math.max(0, ...(await emulatorCalls(e2e.emulator.url)).map((c) => c.seq));

    await e2e.apply(observer('made-by-terraform'));
    await e2e.kubectl(['wait', 'pte/made-by-terraform', '--for=condition=Ready', '--timeout=90s']);
    const ready = await e2e.waitUntil('pte', 'made-by-terraform', (o) => condition(o, 'Synced')?.status === 'True');
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(condition(ready, 'Synced')?.message).toContain('managementPolicy is Observe');
    const status = ready['status'] as { endpointUrl?: string; served?: { modelVersion?: string; maxTokensPerSecond?: number }; endpointId?: string };
    expect(status.endpointUrl).toMatch(/\/serving-endpoints\/made-by-terraform\/invocations$/);
    expect(status.served).toMatchObject({ modelVersion: '3', maxTokensPerSecond: 2940 });
    // No claim: an observer records no endpoint ID, and writes no owner tag.
    expect(status.endpointId).toBeUndefined();
    expect((await emulatorEndpoint('made-by-terraform'))?.tags?.map((t) => t.key).sort()).toEqual(['managed-by', 'team']);
  });

  it('a change made out of band: Synced=False Drifted names it, Ready stays True, and the endpoint is left as it is', async () => {
    await editOutOfBand(e2e.emulator.url, 'made-by-terraform', { entities: [{ max_provisioned_throughput: 4900 }], mode: 'instant' });
    const drifted = await e2e.waitUntil('pte', 'made-by-terraform', (o) => condition(o, 'Synced')?.reason === 'Drifted', 30_000);
    expect(condition(drifted, 'Synced')?.status).toBe('False');
    expect(condition(drifted, 'Synced')?.message).toContain('served config: throughput 1960-4900 → 1960-2940 tokens/s');
    expect(condition(drifted, 'Synced')?.message).toContain('nothing is changed: managementPolicy is Observe');
    expect(isReady(drifted)).toBe(true);
    // Neither on its way nor stuck: kstatus reads Ready (Current).
    expect(condition(drifted, 'Reconciling')).toBeUndefined();
    expect(condition(drifted, 'Stalled')).toBeUndefined();
    await e2e.reconciledAgain('made-by-terraform');
    expect((await emulatorEndpoint('made-by-terraform'))?.config?.served_entities?.[0]?.max_provisioned_throughput).toBe(4900);
    const described = await e2e.kubectl(['describe', 'pte', 'made-by-terraform']);
    expect(described).toMatch(/Warning\s+Drifted\s+.*differs from the spec/);
  });

  it('an endpoint that does not exist: Ready=False EndpointNotFound, and nothing is created', async () => {
    await e2e.apply(observer('not-made-yet'));
    const missing = await e2e.waitUntil('pte', 'not-made-yet', (o) => condition(o, 'Ready')?.reason === 'EndpointNotFound');
    expect(condition(missing, 'Ready')?.message).toContain('managementPolicy is Observe, so the operator does not create it');
    expect(condition(missing, 'Synced')).toMatchObject({ status: 'False', reason: 'EndpointNotFound' });
    await e2e.reconciledAgain('not-made-yet');
    expect(await emulatorEndpoint('not-made-yet')).toBeUndefined();
  });

  it('deleting the objects (deletionPolicy Delete, the default) leaves the endpoint; the operator sent nothing but reads throughout', async () => {
    await e2e.kubectl(['delete', 'pte', 'made-by-terraform', 'not-made-yet', '--wait=true', '--timeout=60s']);
    expect(await e2e.get('pte', 'made-by-terraform')).toBeUndefined();
    expect(await emulatorEndpoint('made-by-terraform')).toBeDefined();
    const operatorCalls = (await emulatorCalls(e2e.emulator.url)).filter((c) => c.seq > sinceSeq);
    expect(operatorCalls.length).toBeGreaterThan(0);
    expect(operatorCalls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)).toEqual([]);
  });
});

// What kubectl shows of objects whose endpoint or policy changes under them: an observer whose endpoint is deleted and
// made again outside Kubernetes, and an object switched Full → Observe → Full.
describe('managementPolicy switched, endpoints deleted and made again: kubectl shows only what is true', () => {
  const entity = (version: string) => ({ entity_name: LLAMA, entity_version: version, min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 });
  const createElsewhere = (name: string, fields: Record<string, unknown> = {}) =>
    databricksRequest(e2e.emulator.url, 'POST', '/api/2.0/serving-endpoints', { name, config: { served_entities: [entity('3')] }, tags: [{ key: 'team', value: 'genai' }], ...fields });
  const eventCounts = async (name: string) => {
    const list = JSON.parse(await e2e.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])) as { items: { reason: string; message: string; count?: number; series?: { count: number } }[] };
    const counts: Record<string, number> = {};
    for (const event of list.items) counts[event.reason] = (counts[event.reason] ?? 0) + (event.series?.count ?? event.count ?? 1);
    return { counts, items: list.items };
  };
  const status = (object: Record<string, unknown>) => object['status'] as Record<string, unknown>;

  it('settings parts that differ on the first look: one Warning Drifted, in the words of Synced, naming every part; none per part', async () => {
    await createElsewhere('parts-differ', { email_notifications: { on_update_success: ['someone@company.com'] } });
    await e2e.apply(observer('parts-differ', { notifications: { onUpdateSuccess: ['ml-team@company.com'] }, description: 'chat for the support team', aiGateway: { usageTracking: { enabled: true } } }));
    const drifted = await e2e.waitUntil('pte', 'parts-differ', (o) => condition(o, 'Synced')?.reason === 'Drifted');
    const message = condition(drifted, 'Synced')?.message ?? '';
    for (const part of ['NotificationsSynced', 'CreationSettingsSynced', 'AiGatewaySynced']) expect(message).toContain(`${part}: `);
    await e2e.reconciledAgain('parts-differ');
    const { counts, items } = await eventCounts('parts-differ');
    // Available too, when the endpoint made elsewhere finished its creation after the first look.
    const { Available: _created, ...others } = counts;
    expect(others).toEqual({ Drifted: 1 });
    expect(items.find((e) => e.reason === 'Drifted')?.message).toBe(message);
  });

  it('an observed endpoint deleted outside Kubernetes: kubectl get pte shows no version, throughput or state of it; made again there: shown again', async () => {
    await createElsewhere('made-twice');
    await e2e.apply(observer('made-twice'));
    await e2e.waitUntil('pte', 'made-twice', (o) => isReady(o) && condition(o, 'Synced')?.status === 'True');
    await databricksRequest(e2e.emulator.url, 'DELETE', '/api/2.0/serving-endpoints/made-twice');
    const gone = await e2e.waitUntil('pte', 'made-twice', (o) => condition(o, 'Ready')?.reason === 'EndpointNotFound', 30_000);
    for (const field of ['served', 'state', 'endpointUrl', 'pending']) expect(status(gone)[field]).toBeUndefined();
    const row = (await e2e.kubectl(['get', 'pte', 'made-twice', '--no-headers'])).trim().split(/\s+/);
    // NAME READY SYNCED MODEL, then AGE: VERSION, MIN-TPS, MAX-TPS, UNITS and STATE are empty (kubectl prints nothing).
    expect(row).toEqual(['made-twice', 'False', 'False', LLAMA, expect.stringMatching(/^\d+s$/)]);

    await createElsewhere('made-twice');
    const back = await e2e.waitUntil('pte', 'made-twice', (o) => isReady(o), 30_000);
    expect(status(back)['served']).toMatchObject({ modelVersion: '3', maxTokensPerSecond: 2940 });
    expect(status(back)['endpointId']).toBeUndefined();
  });

  // An observer compares spec.permissions with the ACL Terraform set; switched to Full with the field dropped in the same
  // edit, the operator took the part for one it had managed and revoked every grant but its own.
  it('Observe → Full with spec.permissions dropped in the same edit: the grants made elsewhere stay, and no permissions PUT is sent', async () => {
    await createElsewhere('grants-kept');
    await editOutOfBand(e2e.emulator.url, 'grants-kept', { grant: [{ group_name: 'terraform-team', permission_level: 'CAN_MANAGE' }] });
    const manifest = (spec: Record<string, unknown>) => endpointManifest('grants-kept', { tags: { team: 'genai' }, ...spec }, { annotations: { 'ptoperator.io/adopt': 'true' } });
    await e2e.apply(manifest({ managementPolicy: 'Observe', permissions: [{ groupName: 'ml-engineers', permissionLevel: 'CAN_QUERY' }] }));
    await e2e.waitUntil('pte', 'grants-kept', (o) => condition(o, 'PermissionsSynced')?.reason === 'Drifted');
    const sinceFull = Math.max(0, ...(await emulatorCalls(e2e.emulator.url)).map((c) => c.seq));

    await e2e.apply(manifest({}));
    await e2e.waitUntil('pte', 'grants-kept', (o) => (o['metadata'] as { generation?: number }).generation === status(o)['observedGeneration'] && isReady(o) && condition(o, 'Synced')?.status === 'True');
    // The first Full look may only record the adoption; the looks after it plan the settings.
    await e2e.reconciledAgain('grants-kept');
    const full = await e2e.waitUntil('pte', 'grants-kept', (o) => condition(o, 'PermissionsSynced')?.reason !== 'Drifted');
    expect(condition(full, 'PermissionsSynced')).toBeUndefined();
    const puts = (await emulatorCalls(e2e.emulator.url)).filter((c) => c.seq > sinceFull && c.method !== 'GET' && c.path.includes('/permissions/'));
    expect(puts.map((c) => `${c.method} ${c.path}`)).toEqual([]);
    const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { permissions: Record<string, { access_control_list: { group_name?: string; all_permissions: { permission_level: string; inherited: boolean }[] }[] }> };
    const direct = state.permissions['grants-kept']?.access_control_list.filter((e) => e.group_name === 'terraform-team').flatMap((e) => e.all_permissions.filter((p) => !p.inherited).map((p) => p.permission_level));
    expect(direct).toEqual(['CAN_MANAGE']);
  });

  it('Full → Observe → Full: the observer drops what only Full keeps (status.managedTagKeys) and keeps its claim; back to Full, the operator restores the spec without adopt', async () => {
    const full = (spec: Record<string, unknown> = {}) => endpointManifest('switched', { tags: { team: 'genai' }, ...spec });
    await e2e.apply(full());
    const created = await e2e.waitUntil('pte', 'switched', (o) => isReady(o), 60_000);
    const endpointId = status(created)['endpointId'];
    expect(endpointId).toEqual(expect.any(String));
    expect(status(created)['managedTagKeys']).toEqual(['team']);
    const sinceSwitch = Math.max(0, ...(await emulatorCalls(e2e.emulator.url)).map((c) => c.seq));

    await e2e.apply(full({ managementPolicy: 'Observe' }));
    const observed = await e2e.waitUntil('pte', 'switched', (o) => (condition(o, 'Synced')?.message ?? '').includes('managementPolicy is Observe'));
    expect(isReady(observed)).toBe(true);
    expect(status(observed)['managedTagKeys']).toBeUndefined();
    expect(status(observed)['endpointId']).toBe(endpointId);
    await editOutOfBand(e2e.emulator.url, 'switched', { entities: [{ max_provisioned_throughput: 4900 }], mode: 'instant' });
    await e2e.waitUntil('pte', 'switched', (o) => condition(o, 'Synced')?.reason === 'Drifted', 30_000);
    const observerCalls = (await emulatorCalls(e2e.emulator.url)).filter((c) => c.seq > sinceSwitch && c.path.includes('/switched'));
    expect(observerCalls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)).toEqual([]);

    await e2e.apply(full());
    const restored = await e2e.waitUntil('pte', 'switched', (o) => isReady(o) && (status(o)['served'] as { maxTokensPerSecond?: number } | undefined)?.maxTokensPerSecond === 2940, 60_000);
    expect(condition(restored, 'Synced')?.reason).toBe('ReconcileSuccess');
    expect(status(restored)['endpointId']).toBe(endpointId);
    expect(status(restored)['managedTagKeys']).toEqual(['team']);
  });
  it('observed again, its endpoint deleted and made again outside Kubernetes: a Warning says it is gone; made again (another ID), kubectl get pte -o wide names no gone endpoint, and Full does not take the new one without adopt', async () => {
    const full = (spec: Record<string, unknown> = {}) => endpointManifest('switched', { tags: { team: 'genai' }, ...spec });
    const before = await e2e.get('pte', 'switched');
    const endpointId = status(before as Record<string, unknown>)['endpointId'] as string;
    await e2e.apply(full({ managementPolicy: 'Observe' }));
    await e2e.waitUntil('pte', 'switched', (o) => (condition(o, 'Synced')?.message ?? '').includes('managementPolicy is Observe'));
    await databricksRequest(e2e.emulator.url, 'DELETE', '/api/2.0/serving-endpoints/switched');
    const gone = await e2e.waitUntil('pte', 'switched', (o) => condition(o, 'Ready')?.reason === 'EndpointNotFound', 30_000);
    // The record stays while nothing else has the name: a later Full would say the endpoint it created is gone.
    expect(status(gone)['endpointId']).toBe(endpointId);
    expect(await e2e.kubectl(['describe', 'pte', 'switched'])).toMatch(/Warning\s+EndpointNotFound\s+.*does not exist in Databricks/);

    await createElsewhere('switched');
    const remade = await e2e.waitUntil('pte', 'switched', (o) => isReady(o), 30_000);
    expect(status(remade)['endpointId']).toBeUndefined();
    expect(await e2e.kubectl(['get', 'pte', 'switched', '-o', 'wide'])).not.toContain(endpointId);
    const sinceFull = Math.max(0, ...(await emulatorCalls(e2e.emulator.url)).map((c) => c.seq));
    await e2e.apply(full());
    const refused = await e2e.waitUntil('pte', 'switched', (o) => condition(o, 'Synced')?.reason === 'NotOwned', 30_000);
    expect(condition(refused, 'Synced')?.message).toContain('ptoperator.io/adopt');
    await e2e.reconciledAgain('switched');
    const calls = (await emulatorCalls(e2e.emulator.url)).filter((c) => c.seq > sinceFull && c.path.includes('/switched'));
    expect(calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)).toEqual([]);
  });
});
