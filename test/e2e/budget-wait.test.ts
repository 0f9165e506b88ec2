// Issue 12 item 2, "no reads while waiting": endpoints refused by the workspace's create/update budget are
// requeued for the slot reserved for them and make no Databricks call before it, however often they are
// reconciled meanwhile (here: label changes, each of which reconciles the object).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, condition, endpointManifest, isReady, startE2E } from './harness.js';

const NAMES = ['w-0', 'w-1', 'w-2', 'w-3', 'w-4'];
let e2e: E2E;

beforeAll(async () => {
  // Two creates/updates per 5 minutes for the whole host: three of five creates must wait minutes.
  e2e = await startE2E({ prefix: 'e2e-budget-wait', operatorArgs: ['--databricks-mutations-per-5-minutes=2'] });
});

afterAll(async () => {
  await e2e?.stop();
});

async function calls(): Promise<{ operation: string; endpoint?: string; status: number }[]> {
  return ((await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: { operation: string; endpoint?: string; status: number }[] }).calls;
}

async function reconciles(): Promise<number> {
  const url = /"url":"(http:\/\/[^"]+)".*serving \/healthz/.exec(e2e.operator.logs())?.[1];
  if (!url) throw new Error('the operator has not logged its probe URL yet');
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^controller_runtime_reconcile_total\{[^}]*controller="provisionedthroughputendpoint"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('waiting for the create/update budget', () => {
  it('objects waiting for their reserved slot are reconciled without any Databricks call', async () => {
    await e2e.apply(NAMES.map((name) => endpointManifest(name)));
    const waiting = await eventually(
      async () => {
        const objs = await Promise.all(NAMES.map(async (name) => (await e2e.get<Record<string, unknown>>('pte', name))!));
        const limited = objs.filter((o) => condition(o, 'Synced')?.reason === 'RateLimited');
        if (objs.filter(isReady).length !== 2 || limited.length !== 3) throw new Error('not yet two Ready and three waiting');
        return limited.map((o) => (o['metadata'] as { name: string }).name);
      },
      { timeoutMs: 60_000 },
    );
    const before = await calls();
    const readsOf = (log: typeof before, name: string) => log.filter((c) => c.endpoint === name && c.operation === 'get').length;
    const reconcilesBefore = await reconciles();

    // Each label change reconciles the object; three rounds for each waiting object.
    for (let round = 0; round < 3; round++) {
      for (const name of waiting) await e2e.kubectl(['label', 'pte', name, `poke=r${round}`, '--overwrite']);
    }
    await eventually(async () => {
      if ((await reconciles()) < reconcilesBefore + 3 * waiting.length) throw new Error('the operator has not reconciled the label changes yet');
    });

    const after = await calls();
    for (const name of waiting) {
      expect(readsOf(after, name), `GETs of ${name} while it waited`).toBe(readsOf(before, name));
      expect(after.filter((c) => c.endpoint === name && c.operation === 'create')).toEqual([]);
      const obj = (await e2e.get<Record<string, unknown>>('pte', name))!;
      expect(condition(obj, 'Synced')?.reason).toBe('RateLimited');
    }
  });
});
