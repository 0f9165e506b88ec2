// Issue 12, "workspace fan-out": any change to a DatabricksWorkspace, including the periodic re-verification whose
// Ready message holds the endpoint count, re-read every endpoint of the namespace from Databricks. Now only changes
// an endpoint depends on (spec, deletion, the Ready verdict) wake them, and then at most at the read rate.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, TEST_PAT, condition, endpointManifest, isReady, startE2E } from './harness.js';

const GOOD_PAT = 'dapi5e1ec7ed0000aaaabbbbccccddddeeee';
const NAMES = Array.from({ length: 10 }, (_, i) => `fan-${i}`);
const READS_PER_SECOND = 5;

let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({
    prefix: 'e2e-ws-fanout',
    scenario: { auth: { pats: [TEST_PAT, GOOD_PAT] } },
    // No poll, no re-verification and no retry while the workspace is not Ready during the test: every reconcile
    // after a workspace change is one the change caused, and every GET seen is one it caused.
    operatorArgs: ['--poll-interval=10m', '--workspace-verify-interval=1h', '--workspace-retry-interval=10m', `--databricks-reads-per-second=${READS_PER_SECOND}`],
  });
});

afterEach(async () => {
  await e2e?.stop();
});

interface Call {
  operation: string;
  endpoint?: string;
  realTime: number;
}
async function reads(since: number): Promise<Call[]> {
  const { calls } = (await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: Call[] };
  return calls.filter((c) => c.operation === 'get' && c.endpoint !== undefined && NAMES.includes(c.endpoint) && c.realTime >= since);
}

type ReadyCondition = { type: string; status: string; reason: string; message: string; observedGeneration?: number; lastTransitionTime?: string };

/** Writes the workspace's Ready condition as its status subresource (what the workspace controller does). */
async function setWorkspaceReady(change: Partial<ReadyCondition>): Promise<void> {
  const ws = (await e2e.get<{ status: { conditions: ReadyCondition[] } }>('dbws', 'prod'))!;
  const conditions = ws.status.conditions.map((c) => (c.type === 'Ready' ? { ...c, ...change } : c));
  await e2e.kubectl(['patch', 'dbws', 'prod', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions } })]);
}

const syncedMessage = async (name: string) => condition(await e2e.get('pte', name), 'Synced')?.message ?? '';

describe('workspace changes and the endpoints that use the workspace', () => {
  it('a status-only change (the re-verification rewriting the endpoint count) causes no GET; a change of the verdict wakes each endpoint once, at the read rate', async () => {
    await e2e.kubectl(['create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${GOOD_PAT}`]);
    await e2e.apply({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { name: 'prod' },
      spec: { host: e2e.emulator.url, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
    });
    await e2e.apply(NAMES.map((name) => endpointManifest(name, { workspaceRef: { name: 'prod' } })));
    for (const name of NAMES) await e2e.waitUntil('pte', name, isReady, 120_000);
    const ready = condition(await e2e.get('dbws', 'prod'), 'Ready')!;

    // 1. What the periodic re-verification writes: the same verdict with a new count in the message.
    const statusOnlyAt = Date.now();
    await setWorkspaceReady({ message: ready.message.replace(/\d+ serving endpoint/, '1001 serving endpoint') });
    // Give a wake-up a chance to show (the old code read every endpoint within a second or two) ...
    await eventually(async () => {
      if ((await reads(statusOnlyAt)).length === 0) throw new Error('no GET');
    }, { timeoutMs: 5_000, intervalMs: 100 }).catch(() => undefined);
    // ... then a barrier on the same watch: a verdict change the endpoints must show. Events of one watch arrive in
    // order, so once they show it, anything the status-only change enqueued has been reconciled (not-Ready
    // reconciles read nothing from Databricks, so the barrier adds no GET of its own).
    await setWorkspaceReady({ status: 'False', reason: 'E2EBarrier', message: 'barrier for the fan-out test' });
    await eventually(async () => {
      const behind = [];
      for (const name of NAMES) if (!(await syncedMessage(name)).includes('E2EBarrier')) behind.push(name);
      if (behind.length > 0) throw new Error(`not yet showing the barrier: ${behind.join(', ')}`);
    }, { timeoutMs: 60_000, intervalMs: 200 });
    const afterStatusOnly = await reads(statusOnlyAt);
    console.log(`workspace-fanout: GETs after a status-only workspace change: ${afterStatusOnly.length} for ${NAMES.length} endpoints`);
    expect(afterStatusOnly.map((c) => c.endpoint)).toEqual([]);

    // 2. A real change: the workspace is Ready again. Each endpoint is read once, no faster than the read rate.
    const realChangeAt = Date.now();
    await setWorkspaceReady({ status: 'True', reason: ready.reason, message: ready.message });
    for (const name of NAMES) await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.status === 'True' && isReady(o), 60_000);
    const afterReal = await reads(realChangeAt);
    const times = afterReal.map((c) => c.realTime).sort((a, b) => a - b);
    const spreadMs = times.at(-1)! - times[0]!;
    // At the read rate the wake-ups take (N-1)/rate seconds; all at once they take a few ms. The emulator stamps a
    // GET when this process reads it, so a stall of this process (or of the operator's timers) bunches some of
    // them: the busiest second is no evidence on a loaded machine, but a stall can take away only its own length
    // from the spread, and the bound leaves half of it for that.
    const pacedMs = ((NAMES.length - 1) * 1_000) / READS_PER_SECOND;
    console.log(
      `workspace-fanout: GETs after the workspace turned Ready again: ${afterReal.length} for ${NAMES.length} endpoints over ${spreadMs} ms ` +
        `(${pacedMs} ms at the read rate of ${READS_PER_SECOND}/s)`,
    );
    expect(new Set(afterReal.map((c) => c.endpoint))).toEqual(new Set(NAMES));
    expect(afterReal).toHaveLength(NAMES.length);
    expect(spreadMs, 'first to last GET of the woken endpoints (ms)').toBeGreaterThanOrEqual(pacedMs / 2);
  });
});
