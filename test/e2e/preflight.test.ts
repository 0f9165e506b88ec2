// Preflight, driven with kubectl: a spec Databricks cannot serve is refused before any mutation, with a
// message that says how to fix it, and fixing the spec leads to Ready. Model-unit models go through /pt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, condition, endpointManifest, startE2E } from './harness.js';

const SPEED = 120;
const INSTRUCT = 'system.ai.meta_llama_v3_1_8b_instruct';

let e2e: E2E;

beforeAll(async () => {
  // Rollouts take one real second.
  e2e = await startE2E({ prefix: 'e2e-pre', scenario: { timing: { rolloutSeconds: SPEED } }, speed: SPEED });
});

afterAll(async () => {
  await e2e?.stop();
});

/** Waits for the refusal, then for evidence of further reconciles of it, and checks nothing was mutated. */
async function expectRefused(name: string, reason: string, fix: RegExp): Promise<Record<string, unknown>> {
  const refused = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === reason);
  expect(condition(refused, 'Synced')).toMatchObject({ status: 'False' });
  expect(condition(refused, 'Synced')?.message).toMatch(fix);
  expect(condition(refused, 'Ready')).toMatchObject({ status: 'False' });
  expect(condition(refused, 'Ready')?.message).toMatch(fix);
  await e2e.reconciledAgain(name);
  expect(await e2e.mutations(name)).toEqual([]);
  const later = await e2e.get('pte', name);
  expect(condition(later, 'Synced')?.reason).toBe(reason);
  // The user sees why in kubectl describe, too.
  expect(await e2e.kubectl(['describe', 'pte', name])).toMatch(new RegExp(`Warning\\s+${reason}`));
  return refused;
}

async function expectReadyAfterFix(name: string, spec: Record<string, unknown>): Promise<Record<string, unknown>> {
  await e2e.apply(endpointManifest(name, spec));
  await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
  const ready = (await e2e.get('pte', name))!;
  expect(condition(ready, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
  const creates = (await e2e.mutations(name)).filter((c) => c.operation === 'create' || c.operation === 'createPt');
  expect(creates).toHaveLength(1);
  return ready['status'] as Record<string, unknown>;
}

describe('preflight', () => {
  it('a model that is not optimizable: ModelNotOptimizable, how to make it eligible, no mutation; a PT model then goes Ready', async () => {
    const name = 'pre-base-model';
    await e2e.apply(endpointManifest(name, { model: { name: 'system.ai.meta_llama_v3_1_8b', version: '1' } }));
    await expectRefused(name, 'ModelNotOptimizable', /MLflow 2\.11.*llm\/v1\/chat.*Marketplace/s);

    const status = await expectReadyAfterFix(name, { model: { name: INSTRUCT, version: '3' } });
    expect(status['served']).toMatchObject({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
  });

  it('a missing model: ModelNotFound, check spec.model, no mutation; the right name then goes Ready', async () => {
    const name = 'pre-missing-model';
    await e2e.apply(endpointManifest(name, { model: { name: 'main.default.no_such_model', version: '1' } }));
    const refused = await expectRefused(name, 'ModelNotFound', /main\.default\.no_such_model version 1 was not found in Unity Catalog\. Check spec\.model/);
    expect(condition(refused, 'Synced')?.message).toMatch(/register the model/);

    await expectReadyAfterFix(name, { model: { name: 'main.default.support_bot_llama', version: '2' } });
  });

  it('tokensPerSecond not a multiple of the chunk size: InvalidSpec naming the nearest multiples, no mutation; fixed, it goes Ready', async () => {
    const name = 'pre-chunk-mismatch';
    await e2e.apply(endpointManifest(name, { throughput: { tokensPerSecond: { min: 980, max: 2000 } } }));
    const refused = await expectRefused(name, 'InvalidSpec', /tokensPerSecond\.max 2000 is not a multiple of the model's chunk size 980 tokens\/s: use 1960 or 2940/);
    expect((refused['status'] as Record<string, unknown>)['optimization']).toEqual({ modelType: 'llama', chunkSize: 980 });

    const status = await expectReadyAfterFix(name, { throughput: { tokensPerSecond: { min: 980, max: 1960 } } });
    expect(status['served']).toMatchObject({ minTokensPerSecond: 980, maxTokensPerSecond: 1960 });
  });

  it('the wrong throughput form for the model is InvalidSpec with no mutation: modelUnits on a token-band model, chunks on a model-unit model', async () => {
    await e2e.apply([
      endpointManifest('pre-units-on-band', { throughput: { modelUnits: 50 } }),
      endpointManifest('pre-chunks-on-units', { model: { name: 'system.ai.gpt-oss-120b', version: '1' } }),
    ]);
    await expectRefused('pre-units-on-band', 'InvalidSpec', /provisioned in tokens per second .*use throughput\.chunks or throughput\.tokensPerSecond instead of throughput\.modelUnits/);
    await expectRefused('pre-chunks-on-units', 'InvalidSpec', /provisioned in model units .*use throughput\.modelUnits/);
  });

  it('a model-unit model with modelUnits goes Ready through the /pt API, with units in status and kubectl get', async () => {
    const name = 'pre-gpt-oss';
    const status = await expectReadyAfterFix(name, { model: { name: 'system.ai.gpt-oss-120b', version: '1' }, throughput: { modelUnits: 100 } });
    expect(status['served']).toMatchObject({ modelVersion: '1', modelUnits: 100 });
    expect(status['optimization']).toEqual({ modelType: 'gpt_oss', modelUnitChunkSize: 50 });

    const calls = await e2e.mutations(name);
    expect(calls.map((c) => c.operation)).toContain('createPt');
    expect(calls.filter((c) => c.operation === 'create')).toEqual([]);
    expect(calls.find((c) => c.operation === 'createPt')).toMatchObject({ method: 'POST', status: 200 });

    const row = (await e2e.kubectl(['get', 'pte', name])).trim().split('\n')[1];
    expect(row).toMatch(/^pre-gpt-oss\s+True\s+True\s+system\.ai\.gpt-oss-120b\s+1\s+100\s+NOT_UPDATING\s/);
  });
});
