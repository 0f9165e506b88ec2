// A rolling update replaces the leader while the workspace's create/update window is full. Databricks counts the
// calls of the last 5 minutes whichever replica sent them: the successor must know what its predecessor sent, or its
// first create meets a 429. Here the workspace allows 2 creates/updates per 5 minutes (the emulator enforces it
// in real time), the first leader sends 2 and is stopped (SIGTERM) or crashes (SIGKILL), and the successor is asked
// for a third.
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../support/cluster.js';
import { condition, endpointManifest, isReady, leaderReplicas, startE2E } from './harness.js';

const SPEED = 120;

describe("the budget's handover between leaders", () => {
  it("graceful (a rolling update): the successor counts what its predecessor sent in the window, so the third create waits for its slot, with no 429 from Databricks", async () => {
    await handOver('SIGTERM');
  });

  it('crash: the successor counts what the Lease held when the leader died (written within a quarter second of each call)', async () => {
    await handOver('SIGKILL');
  });
});

async function handOver(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  // The emulator's clock runs SPEED times faster: its window is 5 real minutes, as the operator's.
  const e2e = await startE2E({
    prefix: 'e2e-handover',
    startOperator: false,
    speed: SPEED,
    scenario: { limits: { mutationsPerWindow: 2, windowSeconds: 300 * SPEED } },
  });
  onTestFinished(() => e2e.emulator.close());
  const { replica, lease } = leaderReplicas(e2e, { prefix: 'pt-e2e-handover', args: ['--databricks-mutations-per-5-minutes=2'] });
  const creates = () => e2e.emulator.emulator.calls.query().filter((c) => c.operation === 'create');

  const first = replica('first');
  await e2e.apply(['h-0', 'h-1'].map((name) => endpointManifest(name)));
  for (const name of ['h-0', 'h-1']) await e2e.waitUntil('pte', name, isReady, 90_000);
  if (signal === 'SIGKILL') {
    // A crash loses what was not written: wait until the Lease carries both creates.
    await eventually(
      async () => {
        const record = (await lease()).metadata.annotations?.['ptoperator.io/databricks-budget'];
        const counted = record ? Object.values((JSON.parse(record) as { w: Record<string, { s: number[] }> }).w).reduce((n, w) => n + w.s.length, 0) : 0;
        if (counted < 2) throw new Error(`the Lease counts ${counted} calls`);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }
  await first.stop(signal);
  if (signal === 'SIGTERM') expect(first.exitCode, first.logs().split('\n').slice(-5).join('\n')).toBe(0);

  const successor = replica('successor');
  await e2e.apply([endpointManifest('h-2')]);
  const waiting = await eventually(
    async () => {
      const obj = await e2e.get<Record<string, unknown>>('pte', 'h-2');
      const synced = condition(obj, 'Synced');
      if (synced?.reason !== 'RateLimited') throw new Error(`h-2 Synced: ${synced?.reason ?? 'none yet'}`);
      return synced;
    },
    // after a crash the successor waits for the lease to expire (15 s)
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  // Held by the operator's own budget, not by a pause Databricks asked for.
  expect(waiting.message).toMatch(/client-side limit, nothing sent/);
  expect(creates().filter((c) => c.status === 429), successor.logs().split('\n').filter((l) => l.includes('429')).slice(0, 3).join('\n')).toEqual([]);
  expect(creates().map((c) => c.endpoint).sort()).toEqual(['h-0', 'h-1']);
}
