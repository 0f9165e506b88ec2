// Rate limits, driven with kubectl: several endpoints of one workspace stay within its mutation budget,
// a storm of 429s ends converged without a false Ready, and a tiny workspace budget is absorbed.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServingEndpointDetailed } from '../../src/databricks/api-types.js';
import { kubectl } from '../support/cluster.js';
import { type E2E, addFaults, condition, endpointManifest, isReady, removeFault, startE2E } from './harness.js';

const SPEED = 120;
const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
const NAMES = ['rl-a', 'rl-b', 'rl-c', 'rl-d', 'rl-e'];

interface CallRecord {
  method: string;
  operation: string;
  endpoint?: string;
  status: number;
  fault?: string;
}

async function emulatorCalls(e2e: E2E): Promise<CallRecord[]> {
  const response = await fetch(new URL('/__emulator/calls', e2e.emulator.url));
  return ((await response.json()) as { calls: CallRecord[] }).calls;
}

async function emulatorState(e2e: E2E): Promise<{ endpoints: ServingEndpointDetailed[]; budget: { used: number; limit: number } }> {
  const response = await fetch(new URL('/__emulator/state', e2e.emulator.url));
  return (await response.json()) as { endpoints: ServingEndpointDetailed[]; budget: { used: number; limit: number } };
}

/** 429s the workspace's mutation budget gave (not injected by a throttle fault). */
const budgetRejections = (calls: CallRecord[]) => calls.filter((c) => c.status === 429 && c.fault === undefined);

async function listEndpoints(e2e: E2E): Promise<Record<string, unknown>[]> {
  return (JSON.parse(await e2e.kubectl(['get', 'pte', '-o', 'json'])) as { items: Record<string, unknown>[] }).items;
}

async function waitAllReady(e2e: E2E, check: (obj: Record<string, unknown>) => boolean = () => true, timeoutMs = 90_000): Promise<void> {
  for (const name of NAMES) await e2e.waitUntil('pte', name, (o) => isReady(o) && check(o), timeoutMs);
}

const served = (obj: Record<string, unknown>) => (obj['status'] as { served?: { modelVersion?: string; maxTokensPerSecond?: number } } | undefined)?.served;
const generationOf = (obj: Record<string, unknown>) => (obj['metadata'] as { generation: number }).generation;
const nameOf = (obj: Record<string, unknown>) => (obj['metadata'] as { name: string }).name;

describe('a workspace with the documented mutation budget', () => {
  let e2e: E2E;

  // Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the
  // body, and a retry would find the endpoints its failed attempt created or changed and the storm's calls in the log.
  beforeEach(async () => {
    // The documented 50 creates/updates per 5 minutes, in the real time the operator lives in.
    e2e = await startE2E({
      prefix: 'e2e-rate',
      speed: SPEED,
      scenario: { timing: { rolloutSeconds: 2 * SPEED }, limits: { mutationsPerWindow: 50, windowSeconds: 300 * SPEED } },
      // One Databricks call (with its retries) gives up after 5 s, so a long storm reaches the status.
      operatorArgs: ['--databricks-timeout=5s'],
    });
  });

  afterEach(async () => {
    await e2e?.stop();
  });

  it('five endpoints created at once stay within the budget: no REQUEST_LIMIT_EXCEEDED, one create each', async () => {
    await e2e.apply(NAMES.map((name) => endpointManifest(name)));
    await waitAllReady(e2e);

    const calls = await emulatorCalls(e2e);
    expect(budgetRejections(calls)).toEqual([]);
    for (const name of NAMES) {
      const mutations = calls.filter((c) => c.endpoint === name && c.method !== 'GET');
      expect(mutations.map((c) => `${c.operation} ${c.status}`)).toEqual(['create 200']);
    }
    const state = await emulatorState(e2e);
    expect(state.budget.used).toBeLessThanOrEqual(state.budget.limit);
  });

  it('a 429 storm: Synced says RateLimited, Ready is never claimed for a config not served, and all converge after it', async () => {
    await e2e.apply(NAMES.map((name) => endpointManifest(name)));
    await waitAllReady(e2e);
    // Every API call is refused with 429 and Retry-After until the test ends the storm: after 15 s of real time, and
    // not before the mid-storm check below was made, however slow the machine (a storm of fixed length could end
    // before a busy machine had even applied the objects).
    const [storm] = await addFaults(e2e.emulator.url, { type: 'throttle', rate: 1, retryAfterSeconds: 2 });
    const stormStarted = Date.now();
    let stormEnds: number | undefined;
    await e2e.apply(NAMES.map((name) => endpointManifest(name, { model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 2, max: 4 } } })));

    const seenSynced = new Set<string>();
    const falseClaims: string[] = [];
    let newGenerationReady = 0;
    let staleWait: string | undefined;
    while (newGenerationReady < NAMES.length) {
      if (stormEnds !== undefined && Date.now() > stormEnds + 90_000) throw new Error(`not converged 90 s after the storm; Synced reasons seen: ${[...seenSynced].join(', ')}`);
      if (stormEnds === undefined && Date.now() > stormStarted + 120_000) throw new Error(`no RateLimited in 2 minutes of storm; Synced reasons seen: ${[...seenSynced].join(', ')}`);
      const items = await listEndpoints(e2e);
      // Read Databricks only after kubectl: a rollout only moves forward, so a Ready that
      // Databricks does not back even now was false when it was written.
      const state = await emulatorState(e2e);
      newGenerationReady = 0;
      for (const obj of items) {
        const synced = condition(obj, 'Synced');
        if (synced) seenSynced.add(synced.reason);
        const ready = condition(obj, 'Ready');
        if (ready?.status !== 'True' || ready.observedGeneration !== generationOf(obj)) continue;
        newGenerationReady += 1;
        const endpoint = state.endpoints.find((e) => e.name === nameOf(obj));
        const entity = endpoint?.config?.served_entities?.[0];
        const backed = endpoint?.state.ready === 'READY' && entity?.entity_version === '2' && entity.max_provisioned_throughput === 3920;
        if (!backed || served(obj)?.modelVersion !== '2') falseClaims.push(`${nameOf(obj)}: ${JSON.stringify(obj['status'])}`);
      }
      if (staleWait === undefined && seenSynced.has('RateLimited')) {
        // Mid-storm the new spec cannot be served: kubectl wait must not return on the older generation's Ready.
        const wait = await kubectl(['--namespace', e2e.namespace, 'wait', `pte/${NAMES[0]}`, '--for=condition=Ready', '--timeout=2s']);
        staleWait = `exit ${wait.exitCode}: ${wait.stderr.trim()}`;
      }
      if (stormEnds === undefined && staleWait !== undefined && Date.now() >= stormStarted + 15_000) {
        await removeFault(e2e.emulator.url, storm!);
        stormEnds = Date.now();
      }
      await sleep(300);
    }
    expect(falseClaims).toEqual([]);
    expect(staleWait).toMatch(/^exit 1: .*timed out waiting for the condition/);
    expect(seenSynced).toContain('RateLimited');
    // Converged only after the storm, with nothing lost and nothing sent twice.
    expect(stormEnds, 'the storm was over when all were Ready').toBeDefined();

    const calls = await emulatorCalls(e2e);
    expect(calls.filter((c) => c.fault === 'throttle').length).toBeGreaterThan(NAMES.length);
    expect(budgetRejections(calls)).toEqual([]);
    for (const name of NAMES) {
      const obj = (await e2e.get('pte', name))!;
      expect(condition(obj, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
      expect(served(obj)).toMatchObject({ modelVersion: '2', maxTokensPerSecond: 3920 });
      const accepted = calls.filter((c) => c.endpoint === name && c.method !== 'GET' && c.status === 200).map((c) => c.operation);
      expect(accepted).toEqual(['create', 'updateConfig']);
    }
    const describe = await e2e.kubectl(['describe', 'pte', NAMES[0]!]);
    expect(describe).toMatch(/Warning\s+RateLimited\s+.*rate limit/);
  });

  it('a storm that refuses only config updates: the refused update is sent again afterwards, and Ready waits for it', async () => {
    const name = NAMES[0]!;
    await e2e.apply(endpointManifest(name, { model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 2, max: 4 } } }));
    await e2e.waitUntil('pte', name, isReady, 90_000);
    // Until the test ends it: a storm of fixed length could end before a busy machine had sent the update.
    const [storm] = await addFaults(e2e.emulator.url, { type: 'throttle', rate: 1, retryAfterSeconds: 2, match: { method: 'PUT' } });
    await e2e.apply(endpointManifest(name, { model: { name: MODEL, version: '1' }, throughput: { chunks: { min: 2, max: 4 } } }));

    const refused = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'RateLimited');
    // Whatever Ready says, it does not claim the refused spec.
    const readyNow = condition(refused, 'Ready');
    expect(readyNow?.status === 'True' && readyNow.observedGeneration === generationOf(refused)).toBe(false);
    expect(served(refused)?.modelVersion).toBe('2');
    // Two more reconciles while the storm goes on still do not claim it.
    await e2e.reconciledAgain(name);
    const stillRefused = (await e2e.get('pte', name))!;
    const readyStill = condition(stillRefused, 'Ready');
    expect(readyStill?.status === 'True' && readyStill.observedGeneration === generationOf(stillRefused)).toBe(false);
    await removeFault(e2e.emulator.url, storm!);
    const stormEnds = Date.now();

    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
    expect(Date.now()).toBeGreaterThan(stormEnds);
    const ready = (await e2e.get('pte', name))!;
    expect(served(ready)).toMatchObject({ modelVersion: '1', maxTokensPerSecond: 3920 });
    const updates = (await emulatorCalls(e2e)).filter((c) => c.endpoint === name && c.operation === 'updateConfig');
    expect(updates.filter((c) => c.status === 429).length).toBeGreaterThan(0);
    // Accepted once: the refused update sent again, not twice.
    expect(updates.filter((c) => c.status === 200)).toHaveLength(1);
  });
});

describe('a workspace with a tiny mutation budget', () => {
  let e2e: E2E;

  beforeEach(async () => {
    // Three creates/updates per 8 s of real time: five creates at once cannot all pass.
    e2e = await startE2E({
      prefix: 'e2e-rate-tiny',
      speed: SPEED,
      scenario: { timing: { rolloutSeconds: 2 * SPEED }, limits: { mutationsPerWindow: 3, windowSeconds: 8 * SPEED } },
    });
  });

  afterEach(async () => {
    await e2e?.stop();
  });

  it('five endpoints still converge, each with exactly one accepted create', async () => {
    await e2e.apply(NAMES.map((name) => endpointManifest(name)));
    await waitAllReady(e2e);

    const calls = await emulatorCalls(e2e);
    // The premise: the budget did push back.
    expect(budgetRejections(calls).length).toBeGreaterThan(0);
    for (const name of NAMES) {
      const accepted = calls.filter((c) => c.endpoint === name && c.method !== 'GET' && c.status === 200).map((c) => c.operation);
      expect(accepted).toEqual(['create']);
      const obj = (await e2e.get('pte', name))!;
      expect(condition(obj, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
      expect(served(obj)).toMatchObject({ modelVersion: '3', maxTokensPerSecond: 2940 });
    }
  });
});
