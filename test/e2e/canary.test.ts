// Canary rollouts end to end: a new model.version serves beside the old one, traffic moves in steps
// with a pause at each, then the old version is removed (an abort after that rolls nothing back); a user abort and a failed metrics gate route
// everything back to the old version, which is not Ready (the spec's version does not serve), and an abort
// left set keeps the next version's canary from starting; an endpoint deleted out of band after an abort comes
// back with the old version, in one create; a mistyped model.version during a step sends nothing and setting it
// back resumes the step; a new model.name is no canary (the new model replaces both versions). Evidence: the object's status and the emulator's
// served config and call log. The tests mostly wait (pauses, rollouts), so they run at once, each on a namespace,
// emulator and operator of its own.
import { describe, expect, it, type OnTestFinishedHandler } from 'vitest';
import { type E2E, TEST_PAT, condition, endpointManifest, isReady, startE2E } from './harness.js';

const MODEL = 'main.default.support_bot_llama';

interface Canary {
  phase?: string;
  step?: number;
  share?: number;
  message?: string;
  versions?: { version: string; share: number; throughput: string }[];
}
const canaryOf = (o: Record<string, unknown>) => ((o['status'] as { canary?: Canary } | undefined)?.canary ?? {}) as Canary;
/** The spec's version is not served after an abort: Ready and Synced say so, Stalled tells generic tools. */
const abortedNotReady = (o: Record<string, unknown>) =>
  condition(o, 'Ready')?.reason === 'CanaryAborted' && condition(o, 'Synced')?.reason === 'CanaryAborted' && condition(o, 'Stalled')?.status === 'True';
const endpointId = (o: Record<string, unknown>) => (o['status'] as { endpointId?: string } | undefined)?.endpointId;
const current = (o: Record<string, unknown>) => (o['status'] as { observedGeneration?: number } | undefined)?.observedGeneration === (o['metadata'] as { generation?: number }).generation;

interface ServedEntity {
  name: string;
  entity_version: string;
}
async function servedConfig(e2e: E2E, name: string): Promise<{ entities: string[]; routes: Record<string, number> }> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as {
    endpoints: { name: string; config?: { served_entities?: ServedEntity[]; traffic_config?: { routes?: { served_entity_name: string; traffic_percentage: number }[] } } }[];
  };
  const endpoint = state.endpoints.find((e) => e.name === name);
  return {
    entities: (endpoint?.config?.served_entities ?? []).map((e) => e.entity_version),
    routes: Object.fromEntries((endpoint?.config?.traffic_config?.routes ?? []).map((r) => [r.served_entity_name, r.traffic_percentage])),
  };
}

async function updates(e2e: E2E, name: string, operation = 'updateConfig'): Promise<number> {
  const url = new URL('/__emulator/calls', e2e.emulator.url);
  url.searchParams.set('endpoint', name);
  url.searchParams.set('operation', operation);
  return ((await (await fetch(url)).json()) as { calls: unknown[] }).calls.length;
}

async function startOnVersion2(e2e: E2E, name: string, canary: Record<string, unknown>): Promise<void> {
  await e2e.apply(endpointManifest(name, { model: { name: MODEL, version: '2' }, throughput: { chunks: { min: 1, max: 2 } }, canary }));
  await e2e.waitUntil('pte', name, isReady, 60_000);
  await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '3' } } })]);
}

// Each test, and a retry of it (vitest re-runs only the body), starts from a namespace, emulator and operator of its
// own, stopped when the attempt ends; the tests run at once, so each keeps its environment in its own body.
async function environment(onTestFinished: (fn: OnTestFinishedHandler) => void): Promise<E2E> {
  const e2e = await startE2E({ prefix: 'e2e-canary', speed: 480 });
  onTestFinished(() => e2e.stop());
  return e2e;
}

describe.concurrent('canary rollout', () => {
  it('steps 10 → 50 → 100 % with a pause at each, then removes the old version', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await startOnVersion2(e2e, 'canary-ok', { steps: [10, 50], pause: '3s' });

    const first = await e2e.waitUntil('pte', 'canary-ok', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 10, 60_000);
    expect(canaryOf(first).versions).toEqual([
      { version: '2', share: 90, throughput: '980-1960 tokens/s' },
      { version: '3', share: 10, throughput: '980-1960 tokens/s' },
    ]);
    expect(canaryOf(first).message).toMatch(/step 1 \(10 %\) serves; pausing until/);
    // 90 % still goes to version 2: the version bump is not done for kubectl wait, Flux or helm --wait.
    expect(condition(first, 'Ready')).toMatchObject({ status: 'False', reason: 'CanaryInProgress' });
    expect(condition(first, 'Ready')?.message).toMatch(/^canary of version 3: step 1 \(10 %\) serves; pausing until \S+; version 2 serves the other 90 %$/);
    expect(condition(first, 'Reconciling')).toMatchObject({ status: 'True', reason: 'CanaryInProgress' });
    expect(condition(first, 'Synced')).toMatchObject({ status: 'True', message: expect.stringMatching(/^the spec is applied up to the canary's current step \(step 1 of 2: 10 % to version 3\)/) });
    expect(await servedConfig(e2e, 'canary-ok')).toEqual({ entities: ['2', '3'], routes: { 'support_bot_llama-2': 90, 'support_bot_llama-3': 10 } });

    await e2e.waitUntil('pte', 'canary-ok', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 50, 60_000);
    expect(await servedConfig(e2e, 'canary-ok')).toEqual({ entities: ['2', '3'], routes: { 'support_bot_llama-2': 50, 'support_bot_llama-3': 50 } });

    const done = await e2e.waitUntil('pte', 'canary-ok', (o) => canaryOf(o).phase === 'Succeeded' && isReady(o), 60_000);
    expect(canaryOf(done).message).toBe('version 3 serves all traffic; version 2 was removed');
    expect(condition(done, 'Reconciling')).toBeUndefined();
    expect(await servedConfig(e2e, 'canary-ok')).toEqual({ entities: ['3'], routes: { 'support_bot_llama-3': 100 } });
    // One update per step: 10 %, 50 %, then version 3 alone.
    expect(await updates(e2e, 'canary-ok')).toBe(3);

    // An abort once the canary succeeded rolls nothing back (version 2 is gone: that would be a new rollout of it).
    const before = (await e2e.mutations('canary-ok')).length;
    await e2e.kubectl(['annotate', 'pte', 'canary-ok', 'ptoperator.io/canary=abort']);
    const noted = await e2e.waitUntil('pte', 'canary-ok', (o) => /does nothing: the canary of version 3 already succeeded/.test(canaryOf(o).message ?? ''), 60_000);
    expect(canaryOf(noted).message).toMatch(/nothing to abort \(to go back, set model.version to "2"\)/);
    await e2e.reconciledAgain('canary-ok');
    const after = await e2e.get('pte', 'canary-ok');
    expect(after && canaryOf(after).phase).toBe('Succeeded');
    expect(after && isReady(after)).toBe(true);
    expect(await e2e.mutations('canary-ok')).toHaveLength(before);
    expect(await servedConfig(e2e, 'canary-ok')).toEqual({ entities: ['3'], routes: { 'support_bot_llama-3': 100 } });
  });

  it('a mistyped model.version during a step sends nothing; setting it back resumes the step, not 100 % at once', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await startOnVersion2(e2e, 'canary-typo', { steps: [10, 50], pause: '15s' });
    const step1 = await e2e.waitUntil('pte', 'canary-typo', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 10, 60_000);
    const reachedAt = (step1['status'] as { canary: { stepReachedTime?: string } }).canary.stepReachedTime;
    expect(reachedAt).toBeDefined();
    expect(await updates(e2e, 'canary-typo')).toBe(1);

    // A version the catalog does not have (it has 1 to 3): refused before any call, the canary as it stood.
    await e2e.kubectl(['patch', 'pte', 'canary-typo', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '99' } } })]);
    const typo = await e2e.waitUntil('pte', 'canary-typo', (o) => current(o) && condition(o, 'Synced')?.reason === 'ModelNotFound', 60_000);
    expect(canaryOf(typo)).toMatchObject({ phase: 'Paused', step: 1, share: 10, versions: [{ version: '2', share: 90 }, { version: '3', share: 10 }] });
    expect(condition(typo, 'Ready')?.message).toMatch(/Databricks still serves version 2 at 980-1960 tokens\/s \(90 %\) and version 3 at 980-1960 tokens\/s \(10 %\)\.$/);
    expect(await updates(e2e, 'canary-typo')).toBe(1);

    // Back to the canary's version: the step goes on where it was, its pause counting from when it began.
    await e2e.kubectl(['patch', 'pte', 'canary-typo', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '3' } } })]);
    const resumed = await e2e.waitUntil('pte', 'canary-typo', (o) => current(o) && condition(o, 'Ready')?.reason === 'CanaryInProgress', 60_000);
    expect(canaryOf(resumed)).toMatchObject({ phase: 'Paused', step: 1, share: 10 });
    expect((resumed['status'] as { canary: { stepReachedTime?: string } }).canary.stepReachedTime).toBe(reachedAt);
    expect(await updates(e2e, 'canary-typo')).toBe(1);
    expect(await servedConfig(e2e, 'canary-typo')).toEqual({ entities: ['2', '3'], routes: { 'support_bot_llama-2': 90, 'support_bot_llama-3': 10 } });

    // Step 2 comes next, with its own pause: the second update is 50 %, not version 3 alone.
    await e2e.waitUntil('pte', 'canary-typo', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 50, 60_000);
    expect(await updates(e2e, 'canary-typo')).toBe(2);
    expect(await servedConfig(e2e, 'canary-typo')).toEqual({ entities: ['2', '3'], routes: { 'support_bot_llama-2': 50, 'support_bot_llama-3': 50 } });
    await e2e.waitUntil('pte', 'canary-typo', (o) => canaryOf(o).phase === 'Succeeded' && isReady(o), 60_000);
    expect(await updates(e2e, 'canary-typo')).toBe(3);
  });

  it('a new model.name during a step is no canary: the new model replaces both versions in one update, the old version never under the new name', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await startOnVersion2(e2e, 'canary-rename', { steps: [10, 50], pause: '10m' });
    await e2e.waitUntil('pte', 'canary-rename', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 10, 60_000);
    expect(await updates(e2e, 'canary-rename')).toBe(1);

    // Another model that has a version 2 too: a split would have served it as the "old version".
    const other = 'system.ai.meta_llama_v3_1_8b_instruct';
    await e2e.kubectl(['patch', 'pte', 'canary-rename', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: other, version: '3' } } })]);
    const done = await e2e.waitUntil('pte', 'canary-rename', (o) => current(o) && isReady(o), 60_000);
    expect((done['status'] as { canary?: unknown }).canary).toBeUndefined();
    const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string; config?: { served_entities?: { entity_name: string; entity_version: string }[] } }[] };
    const entities = state.endpoints.find((e) => e.name === 'canary-rename')?.config?.served_entities ?? [];
    expect(entities.map((e) => `${e.entity_name}/${e.entity_version}`)).toEqual([`${other}/3`]);
    expect(await updates(e2e, 'canary-rename')).toBe(2);
  });

  it('model units: steps to 100 % through the /pt config API and removes the old entity', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    const GPT_OSS = 'system.ai.gpt-oss-120b';
    await e2e.apply(endpointManifest('canary-units', { model: { name: GPT_OSS, version: '1' }, throughput: { modelUnits: 50 }, canary: { steps: [25], pause: '3s' } }));
    await e2e.waitUntil('pte', 'canary-units', isReady, 60_000);
    await e2e.kubectl(['patch', 'pte', 'canary-units', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: GPT_OSS, version: '2' }, throughput: { modelUnits: 100 } } })]);

    const step = await e2e.waitUntil('pte', 'canary-units', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 25, 60_000);
    // Each version keeps its own throughput: the old one as it served, the new one the spec's.
    expect(canaryOf(step).versions).toEqual([
      { version: '1', share: 75, throughput: '50 model units' },
      { version: '2', share: 25, throughput: '100 model units' },
    ]);
    expect(await servedConfig(e2e, 'canary-units')).toEqual({ entities: ['1', '2'], routes: { 'gpt-oss-120b-1': 75, 'gpt-oss-120b-2': 25 } });

    const done = await e2e.waitUntil('pte', 'canary-units', (o) => canaryOf(o).phase === 'Succeeded' && isReady(o), 60_000);
    expect(canaryOf(done).message).toBe('version 2 serves all traffic; version 1 was removed');
    expect(await servedConfig(e2e, 'canary-units')).toEqual({ entities: ['2'], routes: { 'gpt-oss-120b-2': 100 } });
    // Model-unit configs go through PUT /serving-endpoints/pt/{name}/config: one update for 25 %, one for version 2 alone.
    expect(await updates(e2e, 'canary-units', 'updatePtConfig')).toBe(2);
    expect(await updates(e2e, 'canary-units')).toBe(0);
  });

  it('an abort by annotation routes all traffic back to the old version and removes the new one', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await startOnVersion2(e2e, 'canary-abort', { steps: [20], pause: '1h' });
    await e2e.waitUntil('pte', 'canary-abort', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 20, 60_000);
    expect((await servedConfig(e2e, 'canary-abort')).routes).toEqual({ 'support_bot_llama-2': 80, 'support_bot_llama-3': 20 });

    await e2e.kubectl(['annotate', 'pte', 'canary-abort', 'ptoperator.io/canary=abort']);
    const aborted = await e2e.waitUntil('pte', 'canary-abort', (o) => canaryOf(o).phase === 'Aborted' && abortedNotReady(o) && canaryOf(o).versions?.length === 1, 60_000);
    expect(canaryOf(aborted).message).toBe('aborted by the user: all traffic back to version 2');
    expect(condition(aborted, 'Synced')?.message).toMatch(/Set model.version back to "2", or to another version to start a new canary \(remove annotation ptoperator.io\/canary=abort first/);
    expect(await servedConfig(e2e, 'canary-abort')).toEqual({ entities: ['2'], routes: { 'support_bot_llama-2': 100 } });
    expect(await updates(e2e, 'canary-abort')).toBe(2);

    // The annotation is left in place and another version comes (1; the emulator's catalog has 1 to 3): its canary
    // does not start, nothing is sent.
    await e2e.kubectl(['patch', 'pte', 'canary-abort', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '1' } } })]);
    const held = await e2e.waitUntil('pte', 'canary-abort', (o) => current(o) && canaryOf(o).phase === 'Aborted' && canaryOf(o).step === 0 && abortedNotReady(o), 60_000);
    expect(condition(held, 'Synced')?.message).toMatch(/the canary of version 1 did not start: annotation ptoperator.io\/canary=abort is set\. Version 2 keeps serving\. Remove it to start the canary/);
    // Evidence instead of a pause: two more reconciles of it, and still nothing sent.
    await e2e.reconciledAgain('canary-abort');
    expect(await servedConfig(e2e, 'canary-abort')).toEqual({ entities: ['2'], routes: { 'support_bot_llama-2': 100 } });
    expect(await updates(e2e, 'canary-abort')).toBe(2);

    // Back to the version that serves: Ready again, still without an update.
    await e2e.kubectl(['patch', 'pte', 'canary-abort', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: MODEL, version: '2' } } })]);
    await e2e.waitUntil('pte', 'canary-abort', (o) => current(o) && isReady(o) && condition(o, 'Stalled') === undefined, 60_000);
    expect(await updates(e2e, 'canary-abort')).toBe(2);
  });

  it('an endpoint deleted out of band after an abort is created again with the old version, in one create', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await startOnVersion2(e2e, 'canary-gone', { steps: [10, 50], pause: '1h' });
    await e2e.waitUntil('pte', 'canary-gone', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 10, 60_000);
    await e2e.kubectl(['annotate', 'pte', 'canary-gone', 'ptoperator.io/canary=abort']);
    const aborted = await e2e.waitUntil('pte', 'canary-gone', (o) => canaryOf(o).phase === 'Aborted' && abortedNotReady(o) && canaryOf(o).versions?.length === 1, 60_000);
    const before = (await e2e.mutations('canary-gone')).length;

    const response = await fetch(new URL('/api/2.0/serving-endpoints/canary-gone', e2e.emulator.url), { method: 'DELETE', headers: { Authorization: `Bearer ${TEST_PAT}` } });
    expect(response.status).toBe(200);

    // Back in a new endpoint, with version 2 serving alone, and the status says so.
    const back = await e2e.waitUntil('pte', 'canary-gone', (o) => endpointId(o) !== endpointId(aborted) && abortedNotReady(o) && canaryOf(o).versions?.length === 1, 60_000);
    expect(canaryOf(back)).toMatchObject({ phase: 'Aborted', versions: [{ version: '2', share: 100 }] });
    expect(condition(back, 'Synced')?.message).toMatch(/Version 2 keeps serving/);
    expect(await servedConfig(e2e, 'canary-gone')).toEqual({ entities: ['2'], routes: { 'support_bot_llama-2': 100 } });
    // One create, with version 2: version 3, which the user rejected, got no traffic.
    expect((await e2e.mutations('canary-gone')).slice(before).map((c) => c.operation)).toEqual(['delete', 'create']);
    expect(await e2e.kubectl(['describe', 'pte', 'canary-gone'])).toMatch(/creating endpoint canary-gone with version 2 /);
  });

  it('spec.canary.action Hold keeps a step past its pause; Promote then goes to 100 % at once', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await startOnVersion2(e2e, 'canary-hold', { steps: [25, 75], pause: '1s', action: 'Hold' });
    const held = await e2e.waitUntil('pte', 'canary-hold', (o) => canaryOf(o).phase === 'Holding' && canaryOf(o).share === 25, 60_000);
    expect(canaryOf(held).message).toBe('held at step 1 (25 %) by the user');
    expect((await servedConfig(e2e, 'canary-hold')).routes).toEqual({ 'support_bot_llama-2': 75, 'support_bot_llama-3': 25 });

    await e2e.kubectl(['patch', 'pte', 'canary-hold', '--type=merge', '-p', JSON.stringify({ spec: { canary: { action: 'Promote' } } })]);
    await e2e.waitUntil('pte', 'canary-hold', (o) => canaryOf(o).phase === 'Succeeded' && isReady(o), 60_000);
    expect(await servedConfig(e2e, 'canary-hold')).toEqual({ entities: ['3'], routes: { 'support_bot_llama-3': 100 } });
    // The 75 % step was skipped: one update for 25 %, one for version 3 alone.
    expect(await updates(e2e, 'canary-hold')).toBe(2);
  });

  it('a failed metrics gate aborts the canary', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await startOnVersion2(e2e, 'canary-gate', {
      steps: [10],
      pause: '2s',
      gate: [{ metric: 'request_5xx_count_total', divideBy: 'request_count_total', max: 0.05 }],
    });
    // Past its 2 s pause the step still waits: with no traffic yet the gate has no evidence to advance on.
    const waiting = await e2e.waitUntil('pte', 'canary-gate', (o) => canaryOf(o).phase === 'Paused' && canaryOf(o).share === 10 && /waits for the metrics gate/.test(canaryOf(o).message ?? ''), 60_000);
    expect(canaryOf(waiting).message).toMatch(/request_count_total of support_bot_llama-3 is 0 \(no traffic to judge yet\)/);
    // The new version fails one request in five.
    const response = await fetch(new URL('/__emulator/endpoints/canary-gate/metrics', e2e.emulator.url), {
      method: 'POST',
      body: JSON.stringify({ 'support_bot_llama-3': { request_count_total: 100, request_5xx_count_total: 20 } }),
    });
    expect(response.status).toBe(200);

    const aborted = await e2e.waitUntil('pte', 'canary-gate', (o) => canaryOf(o).phase === 'Aborted' && abortedNotReady(o) && canaryOf(o).versions?.length === 1, 60_000);
    expect(condition(aborted, 'Ready')?.message).toMatch(/^version 2 at 980-1960 tokens\/s serves; the canary of version 3 was aborted \(the metrics gate failed at step 1/);
    expect(canaryOf(aborted).message).toBe('the metrics gate failed at step 1: request_5xx_count_total / request_count_total = 0.2 > 0.05; all traffic back to version 2');
    expect(await servedConfig(e2e, 'canary-gate')).toEqual({ entities: ['2'], routes: { 'support_bot_llama-2': 100 } });
  });
});
