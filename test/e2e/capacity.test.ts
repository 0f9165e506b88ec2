// GPU capacity outages, driven with kubectl: the operator waits and re-issues the desired config with
// backoff (never deleting the endpoint), gives up when the retry budget is spent, and starts over when
// the user sets a new ptoperator.io/requested-at token.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, repoRoot } from '../support/cluster.js';
import { type E2E, type OperatorProcess, addFaults, condition, emulatorCalls, endpointManifest, isReady, removeFault, startE2E, watchKubectl } from './harness.js';

const SPEED = 120;
/** A rollout takes 3 s of real time; one short of capacity times out after 2 s. */
const scenario = { timing: { rolloutSeconds: 3 * SPEED, capacityTimeoutSeconds: 2 * SPEED } };

let e2e: E2E & { startOperator(extraArgs?: string[]): OperatorProcess };

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the body,
// and a retry would find its endpoint past the outage, the emulator's capacity faults used up, the operator killed.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-cap', scenario, speed: SPEED });
});

afterEach(async () => {
  await e2e?.stop();
});

interface CapacityStatus {
  attempts?: number;
  firstFailureTime?: string;
  nextRetryTime?: string;
  lastMessage?: string;
  exhausted?: boolean;
}

const capacityOf = (obj: Record<string, unknown>) => (obj['status'] as { capacity?: CapacityStatus } | undefined)?.capacity;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('capacity outage', () => {
  it('waits for capacity with attempts counted, re-issues the config, never deletes, and recovers (kubectl get pte -w transcript)', async () => {
    const name = 'cap-outage';
    const model = 'system.ai.meta_llama_v3_1_8b_instruct';
    // The first two rollouts of this model find no GPUs; the third gets them.
    await addFaults(e2e.emulator.url, { type: 'capacity', model, attempts: 2 });
    const watch = watchKubectl(e2e.namespace, ['get', 'pte', '-w']);
    try {
      await e2e.apply(endpointManifest(name, { capacityRetry: { initialBackoff: '1s', maxBackoff: '2s', timeout: '5m' } }));

      const waiting = await e2e.waitUntil('pte', name, (o) => condition(o, 'Ready')?.reason === 'WaitingForCapacity' && (capacityOf(o)?.attempts ?? 0) >= 1);
      expect(condition(waiting, 'Ready')).toMatchObject({ status: 'False' });
      expect(condition(waiting, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
      expect(capacityOf(waiting)?.lastMessage).toMatch(/timed out|aborted/i);
      expect(capacityOf(waiting)?.firstFailureTime).toBeDefined();

      // The second failure is counted too, while the budget lasts Synced stays True.
      const second = await e2e.waitUntil('pte', name, (o) => (capacityOf(o)?.attempts ?? 0) >= 2);
      expect(condition(second, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForCapacity' });
      expect(condition(second, 'Synced')).toMatchObject({ status: 'True' });

      await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
      const ready = (await e2e.get('pte', name))!;
      const status = ready['status'] as { capacity?: unknown; served?: unknown };
      expect(status.capacity).toBeUndefined();
      expect(status.served).toMatchObject({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
      expect(condition(ready, 'Ready')).toMatchObject({ reason: 'Available' });

      const describe = await e2e.kubectl(['describe', 'pte', name]);
      expect(describe).toMatch(/Warning\s+CapacityUnavailable/);
      expect(describe).toMatch(/Normal\s+RetryingRollout/);
      expect(describe).toMatch(/Normal\s+CapacityRecovered/);

      // One create, then one re-issued config per capacity failure; never a delete.
      const calls = await e2e.mutations(name);
      expect(calls.filter((c) => c.method === 'DELETE')).toEqual([]);
      expect(calls.filter((c) => c.operation === 'create')).toHaveLength(1);
      expect(calls.filter((c) => c.operation === 'updateConfig')).toHaveLength(2);

      // Let the watch print the final row before it is stopped.
      await eventuallyText(watch.text, /\bTrue\s+True\b/);
    } finally {
      const transcript = await watch.stop();
      const directory = join(repoRoot, '.tmp', 'transcripts');
      mkdirSync(directory, { recursive: true });
      writeFileSync(join(directory, 'capacity-watch.txt'), `$ kubectl get pte -w\n${transcript}`);
    }

    const rows = watch.text().trim().split('\n');
    expect(rows[0]?.split(/\s+/)).toEqual(['NAME', 'READY', 'SYNCED', 'MODEL', 'VERSION', 'MIN-TPS', 'MAX-TPS', 'UNITS', 'STATE', 'AGE']);
    const row = (pattern: RegExp) => rows.findIndex((r) => pattern.test(r));
    // Rows of the outage: not Ready, while Databricks reports the failed or re-issued rollout.
    const outage = row(new RegExp(`^${name}\\s+False\\s+True\\s+\\S+\\s+.*\\b(UPDATE_FAILED|IN_PROGRESS)\\b`));
    const failed = row(new RegExp(`^${name}\\s+False\\s+.*\\bUPDATE_FAILED\\b`));
    const recovered = row(new RegExp(`^${name}\\s+True\\s+True\\s+${model.replaceAll('.', '\\.')}\\s+3\\s+1960\\s+2940\\s+NOT_UPDATING\\b`));
    expect(outage).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(recovered).toBeGreaterThan(failed);
    expect(rows.slice(1, recovered).every((r) => !/^\S+\s+True\s/.test(r))).toBe(true);
  });

  it('a capacity failure during a version change keeps the old version serving, then rolls the new one out', async () => {
    const name = 'cap-version';
    const backoff = { initialBackoff: '1s', maxBackoff: '2s', timeout: '5m' };
    await e2e.apply(endpointManifest(name, { capacityRetry: backoff }));
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
    await addFaults(e2e.emulator.url, { type: 'capacity', model: 'system.ai.meta_llama_v3_1_8b_instruct', attempts: 1 });
    const updatesBefore = (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig').length;
    await e2e.apply(endpointManifest(name, { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '2' }, capacityRetry: backoff }));

    const waiting = await e2e.waitUntil('pte', name, (o) => condition(o, 'Ready')?.reason === 'WaitingForCapacity' && capacityOf(o)?.attempts === 1);
    const status = waiting['status'] as { served?: { modelVersion?: string }; state?: { ready?: string } };
    // Databricks keeps serving the old version through the failed rollout; the status says so.
    expect(status.served?.modelVersion).toBe('3');
    expect(status.state?.ready).toBe('READY');
    expect(condition(waiting, 'Synced')).toMatchObject({ status: 'True' });
    expect((await e2e.kubectl(['get', 'pte', name])).split('\n')[1]).toMatch(/^cap-version\s+False\s+True\s+\S+\s+3\s/);

    await e2e.waitUntil('pte', name, (o) => isReady(o) && condition(o, 'Ready')?.observedGeneration === (o['metadata'] as { generation: number }).generation);
    const ready = (await e2e.get('pte', name))!;
    expect((ready['status'] as { served?: { modelVersion?: string } }).served?.modelVersion).toBe('2');
    expect(capacityOf(ready)).toBeUndefined();
    const calls = await e2e.mutations(name);
    // The version change, then one re-issue; still never a delete.
    expect(calls.filter((c) => c.operation === 'updateConfig')).toHaveLength(updatesBefore + 2);
    expect(calls.filter((c) => c.method === 'DELETE')).toEqual([]);
  });

  it('an exhausted budget stops retrying (CapacityRetriesExhausted) until a new requested-at token starts over', async () => {
    const name = 'cap-exhausted';
    const model = 'main.default.support_bot_llama';
    const [unlimited] = await addFaults(e2e.emulator.url, { type: 'capacity', model });
    await e2e.apply(
      endpointManifest(name, { model: { name: model, version: '1' }, capacityRetry: { initialBackoff: '1s', maxBackoff: '2s', timeout: '6s' } }),
    );

    const exhausted = await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'CapacityRetriesExhausted', 90_000);
    const spent = capacityOf(exhausted);
    expect(spent?.attempts).toBeGreaterThanOrEqual(2);
    expect(condition(exhausted, 'Synced')).toMatchObject({ status: 'False' });
    expect(condition(exhausted, 'Synced')?.message).toMatch(/ptoperator\.io\/requested-at/);
    expect(condition(exhausted, 'Ready')).toMatchObject({ status: 'False' });

    // Given up: no more config updates, although Databricks would take them.
    const updatesAtExhaustion = (await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig').length;
    await e2e.reconciledAgain(name);
    expect((await e2e.mutations(name)).filter((c) => c.operation === 'updateConfig')).toHaveLength(updatesAtExhaustion);
    const still = await e2e.get('pte', name);
    expect(condition(still, 'Synced')?.reason).toBe('CapacityRetriesExhausted');
    expect(capacityOf(still!)?.attempts).toBe(spent?.attempts);

    // The outage eases: one more rollout will fail, then capacity returns. The user asks for a new try.
    await removeFault(e2e.emulator.url, unlimited!);
    await addFaults(e2e.emulator.url, { type: 'capacity', model, attempts: 1 });
    await e2e.kubectl(['annotate', 'pte', name, '--overwrite', 'ptoperator.io/requested-at=retry-1']);

    // A fresh budget: attempts start over from 1 and Synced is True again while it lasts.
    const restarted = await e2e.waitUntil('pte', name, (o) => capacityOf(o)?.attempts === 1 && condition(o, 'Synced')?.status === 'True', 60_000);
    expect(condition(restarted, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForCapacity' });
    expect((restarted['status'] as { lastHandledRequestedAt?: string }).lastHandledRequestedAt).toBe('retry-1');

    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
    const ready = await e2e.get('pte', name);
    expect(isReady(ready!)).toBe(true);
    expect(capacityOf(ready!)).toBeUndefined();
    expect(condition(ready, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect((await e2e.mutations(name)).filter((c) => c.method === 'DELETE')).toEqual([]);
  });

  it('SIGKILL while a capacity retry is in flight: after a restart its failure counts as attempt 2, not as a retry still to send', async () => {
    const name = 'cap-kill';
    const model = 'system.ai.mistral_7b_instruct_v0_2';
    await e2e.apply(endpointManifest(name, { model: { name: model, version: '1' }, capacityRetry: { initialBackoff: '2s', maxBackoff: '4s', timeout: '5m' } }));
    await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=60s']);
    // The version change and the first retry find no GPUs; the second retry gets them.
    await addFaults(e2e.emulator.url, { type: 'capacity', model, attempts: 2 });
    await e2e.kubectl(['patch', 'pte', name, '--type=merge', '-p', JSON.stringify({ spec: { model: { name: model, version: '2' } } })]);
    await e2e.waitUntil('pte', name, (o) => capacityOf(o)?.attempts === 1 && capacityOf(o)?.nextRetryTime !== undefined);

    // The retry is held 3 s before Databricks acts on it: the operator is killed with it in flight, so status still
    // says the retry is due when the restarted operator sees that rollout fail.
    const [held] = await addFaults(e2e.emulator.url, { type: 'latency', ms: 3_000, times: 1, match: { method: 'PUT', path: `/api/2.0/serving-endpoints/${name}/config` } });
    const updates = async () => (await emulatorCalls(e2e.emulator.url, { endpoint: name, operation: 'updateConfig' })).filter((c) => c.status === 200);
    await eventually(
      async () => {
        const faults = (await (await fetch(new URL('/__emulator/faults', e2e.emulator.url))).json()) as { faults: { id: string; fired: number }[] };
        if (faults.faults.find((f) => f.id === held)?.fired !== 1) throw new Error('the retry has not been sent yet');
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await e2e.operator.stop('SIGKILL');
    await eventually(
      async () => {
        if ((await updates()).length !== 2) throw new Error('the retry has not landed');
      },
      { timeoutMs: 10_000 },
    );
    expect(capacityOf((await e2e.get('pte', name))!)?.nextRetryTime).toBeDefined();

    e2e.startOperator();
    await e2e.waitUntil('pte', name, (o) => isReady(o) && condition(o, 'Ready')?.observedGeneration === 2, 90_000);
    const described = await e2e.kubectl(['describe', 'pte', name]);
    expect(described).toMatch(/Warning\s+CapacityUnavailable\s+.*\(attempt 2\)/);
    // The version change, the retry that was in flight, one more after its backoff: nothing sent twice.
    expect(await updates()).toHaveLength(3);
  });
});

async function eventuallyText(text: () => string, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(text())) {
    if (Date.now() > deadline) throw new Error(`the watch never printed ${pattern}:\n${text()}`);
    await sleep(100);
  }
}
