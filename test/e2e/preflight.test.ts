// Preflight, driven with kubectl: a spec Databricks cannot serve is refused before any mutation, with a
// message that says how to fix it, and fixing the spec leads to Ready. Model-unit models go through /pt.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EndpointStatus } from '../../src/api/v1alpha1/index.js';
import { eventually } from '../support/cluster.js';
import { type E2E, condition, endpointManifest, startE2E } from './harness.js';

const SPEED = 120;
const INSTRUCT = 'system.ai.meta_llama_v3_1_8b_instruct';

let e2e: E2E;

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  // Rollouts take one real second.
  e2e = await startE2E({ prefix: 'e2e-pre', scenario: { timing: { rolloutSeconds: SPEED } }, speed: SPEED });
});

afterEach(async () => {
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

/** GETs of one endpoint in the emulator's call log after `afterSeq`, and the log's last seq. */
async function endpointGets(endpoint: string, afterSeq = 0): Promise<{ gets: number; lastSeq: number }> {
  const url = new URL('/__emulator/calls', e2e.emulator.url);
  url.searchParams.set('endpoint', endpoint);
  const { calls } = (await (await fetch(url)).json()) as { calls: { seq: number; operation: string }[] };
  return { gets: calls.filter((c) => c.seq > afterSeq && c.operation === 'get').length, lastSeq: Math.max(afterSeq, ...calls.map((c) => c.seq)) };
}
const statusOf = (o: Record<string, unknown> | undefined) => (o?.['status'] ?? {}) as EndpointStatus;
const patch = (name: string, throughput: Record<string, unknown>) => e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { throughput } })]);

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

  // A new tenant's slip: the model exists, the version does not (yet). The message names the version; fixing it is enough.
  it('a version the model does not have: ModelNotFound naming it, no mutation; an existing version then goes Ready', async () => {
    const name = 'pre-missing-version';
    await e2e.apply(endpointManifest(name, { model: { name: INSTRUCT, version: '99' } }));
    await expectRefused(name, 'ModelNotFound', new RegExp(`model ${INSTRUCT.replaceAll('.', '\\.')} version 99 was not found in Unity Catalog\\. Check spec\\.model`));

    const status = await expectReadyAfterFix(name, { model: { name: INSTRUCT, version: '3' } });
    expect(status['served']).toMatchObject({ modelVersion: '3' });
  });

  // README's {min: 2, max: 3} written under tokensPerSecond: the message gives the chunks it would be, and applying
  // exactly what it says serves them.
  it('chunk counts written as tokensPerSecond: InvalidSpec offering throughput.chunks with those numbers, no mutation; applied as said, it goes Ready', async () => {
    const name = 'pre-chunks-as-tps';
    await e2e.apply(endpointManifest(name, { throughput: { tokensPerSecond: { min: 2, max: 3 } } }));
    const refused = await expectRefused(name, 'InvalidSpec', /use 0 or 980; if 2 and 3 are chunks, write throughput\.chunks: \{min: 2, max: 3\} \(1960-2940 tokens\/s\)/);
    const said = /write throughput\.chunks: (\{min: \d+, max: \d+\})/.exec(condition(refused, 'Synced')?.message ?? '')?.[1] ?? '';
    const chunks = JSON.parse(said.replace(/(\w+):/g, '"$1":')) as { min: number; max: number };

    const status = await expectReadyAfterFix(name, { throughput: { chunks } });
    expect(status['served']).toMatchObject({ minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
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

  it('a bad spec while a rollout runs: nothing is sent, but status follows the endpoint and shows the rollout finished', async () => {
    const name = 'pre-during-rollout';
    await e2e.apply(endpointManifest(name, { throughput: { tokensPerSecond: { min: 0, max: 980 } } }));
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
    // The emulator's clock stands still: the rollout below runs until the test moves it on.
    const clock = e2e.emulator.emulator.clock;
    clock.setSpeed(0);
    try {
      await patch(name, { tokensPerSecond: null, chunks: { min: 0, max: 3 } });
      await e2e.waitUntil('pte', name, (o) => statusOf(o).pending?.maxTokensPerSecond === 2940 && statusOf(o).state?.configUpdate === 'IN_PROGRESS');
      // 1000 is not a multiple of the chunk size 980.
      await patch(name, { chunks: null, tokensPerSecond: { min: 0, max: 1000 } });
      const refused = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'InvalidSpec');
      expect(condition(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
      expect(condition(refused, 'Ready')?.message).toContain('Databricks is rolling out version 3 at 0-2940 tokens/s; version 3 at 0-980 tokens/s still serves.');

      const { lastSeq } = await endpointGets(name);
      clock.advance(SPEED * 60_000); // well past the rollout's end
      const finished = await e2e.waitUntil('pte', name, (o) => statusOf(o).state?.configUpdate === 'NOT_UPDATING');
      const status = statusOf(finished);
      expect(status.served).toMatchObject({ modelVersion: '3', minTokensPerSecond: 0, maxTokensPerSecond: 2940 });
      expect(status.pending).toBeUndefined();
      // The current generation still cannot be applied (Stalled, so kubectl wait --for=condition=Ready does not
      // return), but Ready no longer claims a rollout that finished.
      expect(condition(finished, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec', observedGeneration: (finished['metadata'] as { generation: number }).generation });
      expect(condition(finished, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
      expect(condition(finished, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
      expect(condition(finished, 'Ready')?.message).toMatch(/Databricks still serves version 3 at 0-2940 tokens\/s\.$/);
      const row = (await e2e.kubectl(['get', 'pte', name])).trim().split('\n')[1];
      expect(row).toMatch(/\s0\s+2940\s+NOT_UPDATING\s/);

      // Still looked at every poll interval (one GET each), and never a change for the bad spec.
      const seen = await endpointGets(name, lastSeq);
      await eventually(async () => {
        const later = await endpointGets(name, lastSeq);
        if (later.gets < seen.gets + 2) throw new Error(`${later.gets - seen.gets} GETs of ${name} since its status showed the rollout finished`);
      }, { timeoutMs: 20_000, intervalMs: 250 });
      expect((await e2e.mutations(name)).map((c) => c.operation)).toEqual(['create', 'updateConfig']);
    } finally {
      clock.setSpeed(SPEED);
    }
  });
});
