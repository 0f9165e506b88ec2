// A tenant names an object like another tenant's endpoint, once, and leaves it NotOwned. With cross-namespace
// adoption off it can never adopt that endpoint; before the fix it still held the name as the older claimant, so the
// other tenant, having deleted its object with Orphan (a move, a CRD re-install), could never take its endpoint back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOk, ensureNamespace, kubectlOk, uniqueNamespace } from '../support/cluster.js';
import { condition, endpointManifest, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
const served = { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] };

let e2e: Awaited<ReturnType<typeof startE2E>>;
/** The endpoint's tenant: its object that made the endpoint was deleted with deletionPolicy Orphan. */
const owners = uniqueNamespace('e2e-squat-owner');

beforeAll(async () => {
  await ensureNamespace(owners);
  e2e = await startE2E({
    prefix: 'e2e-squat',
    speed: 480,
    startOperator: false,
    scenario: {
      endpoints: [{ name: 'fraud-scoring', config: served, tags: [{ key: 'pt-operator-owner-uid', value: '7c3e0b1a-0000-4000-8000-000000000002' }, { key: 'pt-operator-owner', value: `${owners}.fraud-scoring` }] }],
    },
  });
  // Both namespaces use the default workspace (the emulator): one Databricks workspace, one name space of endpoints.
  e2e.startOperator([`--namespaces=${e2e.namespace},${owners}`, `--default-workspace-namespaces=${e2e.namespace},${owners}`]);
});

afterAll(async () => {
  await kubectlOk(['delete', 'namespace', owners, '--wait=false', '--ignore-not-found']).catch(() => undefined);
  await e2e?.stop();
});

const getInOwners = async (name: string) => JSON.parse(await kubectlOk(['--namespace', owners, 'get', 'pte', name, '-o', 'json'])) as Record<string, unknown>;

/** The owners' object once Ready or refused (NotOwned), whichever it comes to. */
async function settled(name: string, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await getInOwners(name);
    if (condition(o, 'Ready')?.status === 'True' || condition(o, 'Synced')?.reason === 'NotOwned' || Date.now() > deadline) return o;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('an object named like another namespace\'s endpoint', () => {
  it('does not keep that namespace from adopting its own endpoint back', async () => {
    // The squatter (the test's namespace), older, asks to adopt too: refused, since adoption across namespaces is off.
    await e2e.apply(endpointManifest('squat', { endpointName: 'fraud-scoring' }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    const squat = await e2e.waitUntil('pte', 'squat', (o) => condition(o, 'Synced')?.reason === 'NotOwned');
    expect(condition(squat, 'Synced')?.message).toContain('Adoption across namespaces is off');

    await applyOk(endpointManifest('fraud-scoring', {}, { annotations: { 'ptoperator.io/adopt': 'true' } }), { namespace: owners });
    const back = await settled('fraud-scoring');
    // Before: Synced=False NotOwned, "endpoint fraud-scoring is claimed in this workspace by an object of another
    // namespace, an older object".
    expect(condition(back, 'Synced')).toMatchObject({ status: 'True' });
    expect(condition(back, 'Ready')).toMatchObject({ status: 'True' });
    expect((back['status'] as { adoption?: { endpointId?: string } }).adoption?.endpointId).toBeDefined();
    expect(condition(await e2e.get('pte', 'squat'), 'Synced')?.reason).toBe('NotOwned');
  });
});
