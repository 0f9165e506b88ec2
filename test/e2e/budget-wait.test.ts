// Issue 12 item 2, "no reads while waiting": endpoints refused by the workspace's create/update budget are
// requeued for the slot reserved for them and make no Databricks call before it, however often they are
// reconciled meanwhile (here: label changes, each of which reconciles the object).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { condition, type E2E, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

const NAMES = ['w-0', 'w-1', 'w-2', 'w-3', 'w-4'];
let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  // Two creates/updates per 5 minutes for the whole host: three of five creates must wait minutes.
  e2e = await startE2E({ prefix: 'e2e-budget-wait', operatorArgs: ['--databricks-mutations-per-5-minutes=2'] });
});

afterEach(async () => {
  await e2e?.stop();
});

const calls = () => emulatorCalls(e2e.emulator.url);

/** Reconciles of one object so far: the distinct reconcile IDs on its lines of the operator's (debug) log. */
function reconcilesOf(name: string): number {
  const key = `"key":"${e2e.namespace}/${name}"`;
  const ids = e2e.operator.logs().split('\n').filter((line) => line.includes(key)).map((line) => /"reconcileID":"([^"]+)"/.exec(line)?.[1]);
  return new Set(ids.filter((id) => id !== undefined)).size;
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
    const reconcilesBefore = new Map(waiting.map((name) => [name, reconcilesOf(name)]));

    // Each label change reconciles the object; three rounds for each waiting object, each round seen in the
    // operator's log before the next (changes queued together would be one reconcile).
    for (let round = 0; round < 3; round++) {
      for (const name of waiting) await e2e.kubectl(['label', 'pte', name, `poke=r${round}`, '--overwrite']);
      await eventually(async () => {
        const behind = waiting.filter((name) => reconcilesOf(name) < (reconcilesBefore.get(name) ?? 0) + round + 1);
        if (behind.length > 0) throw new Error(`no reconcile of ${behind.join(', ')} for label round ${round} in the operator log`);
      }, { intervalMs: 100 });
    }

    const after = await calls();
    for (const name of waiting) {
      expect(readsOf(after, name), `GETs of ${name} while it waited`).toBe(readsOf(before, name));
      expect(after.filter((c) => c.endpoint === name && c.operation === 'create')).toEqual([]);
      const obj = (await e2e.get<Record<string, unknown>>('pte', name))!;
      expect(condition(obj, 'Synced')?.reason).toBe('RateLimited');
    }
  });
});
