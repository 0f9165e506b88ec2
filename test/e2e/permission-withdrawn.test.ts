// A permission withdrawn from the operator's identity and granted again. What happened meanwhile keeps its meaning:
// a config someone changed in Databricks while the operator could not read the endpoint is drift (a DriftDetected
// Warning, restored with one update), not the user's change; a spec applied meanwhile is the user's change, sent
// once at the grant. Before status.heldGeneration, any grant made the current spec look new: the drift went unreported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptName } from '../support/attempt.js';
import { type E2E, addFaults, condition, editOutOfBand, endpointManifest, isReady, removeFault, startE2E } from './harness.js';

const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
const DENIED = 'User does not have Can View permission on serving endpoint.';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-withdrawn', speed: 480 });
});

afterAll(async () => {
  await e2e?.stop();
});

const updates = async (name: string) => (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig');

/** Events of the object with this reason, as `kubectl get events` lists them. */
async function events(name: string, reason: string): Promise<string[]> {
  const out = await e2e.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name},reason=${reason}`, '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
  return out.split('\n').filter((line) => line !== '');
}

/** Every call on the endpoint refused 403 from now on: the operator's grant is withdrawn. */
async function withdraw(name: string): Promise<string> {
  const [id] = await addFaults(e2e.emulator.url, { type: 'permissionDenied', message: DENIED, match: { endpoint: name } });
  await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'PermissionDenied', 30_000);
  return id as string;
}

describe('a permission withdrawn and granted again', () => {
  it('a config changed in Databricks meanwhile is drift: a DriftDetected Warning and one update restore the spec', async (context) => {
    const name = attemptName(context, 'withdrawn-drift');
    await e2e.apply(endpointManifest(name));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    const updatesBefore = (await updates(name)).length;

    const fault = await withdraw(name);
    expect(condition(await e2e.get('pte', name), 'Stalled')?.status).toBe('True');
    await editOutOfBand(e2e.emulator.url, name, { entities: [{ max_provisioned_throughput: 4900 }], mode: 'instant' });
    await removeFault(e2e.emulator.url, fault);

    const restored = await e2e.waitUntil('pte', name, (o) => isReady(o) && condition(o, 'Synced')?.status === 'True', 60_000);
    expect((restored['status'] as { served?: { maxTokensPerSecond?: number } }).served?.maxTokensPerSecond).toBe(2940);
    expect(await events(name, 'DriftDetected')).toEqual([expect.stringContaining('differs from the spec')]);
    expect((await updates(name)).length - updatesBefore).toBe(1);
  });

  it('a spec applied meanwhile is counted as observed (Stalled), then sent once at the grant as the user\'s change, no DriftDetected', async (context) => {
    const name = attemptName(context, 'withdrawn-spec');
    await e2e.apply(endpointManifest(name));
    await e2e.waitUntil('pte', name, isReady, 60_000);
    const updatesBefore = (await updates(name)).length;

    const fault = await withdraw(name);
    await e2e.apply(endpointManifest(name, { model: { name: MODEL, version: '2' } }));
    const held = await e2e.waitUntil('pte', name, (o) => (o['status'] as { observedGeneration?: number }).observedGeneration === 2, 30_000);
    expect(condition(held, 'Stalled')?.status).toBe('True');
    expect((held['status'] as { heldGeneration?: number }).heldGeneration).toBe(2);
    expect((await updates(name)).length).toBe(updatesBefore);
    await removeFault(e2e.emulator.url, fault);

    const served = await e2e.waitUntil('pte', name, (o) => isReady(o) && (o['status'] as { served?: { modelVersion?: string } }).served?.modelVersion === '2', 60_000);
    expect((served['status'] as { heldGeneration?: number }).heldGeneration).toBeUndefined();
    expect(await events(name, 'DriftDetected')).toEqual([]);
    expect((await updates(name)).length - updatesBefore).toBe(1);
  });
});
