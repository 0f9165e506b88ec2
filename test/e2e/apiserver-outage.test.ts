// Issue 12 item 2: "when the apiserver comes back, the work it blocked resumes within seconds". The kube-apiserver
// is killed and started again ~40 s later with the same flags (test/controlplane/restart-apiserver.sh; etcd keeps
// every object), as in an apiserver upgrade or crash: connections are refused meanwhile, so the informers' list/watch
// and every status write fail, over and over. (A SIGSTOP freeze, as in leader-pause.test.ts, only makes requests
// hang; it does not make reconciles fail fast and pile up backoff, so it is not the case that went wrong.)
// During the outage one endpoint's rollout finishes: its reconciles see it and fail to write Ready. Right after the
// apiserver answers again, a new object is applied and another object's throughput is changed. All three must be
// acted on within seconds (the emulator's call log, the Ready condition), not after a reconnect backoff of up to 30 s
// or a per-key backoff grown during the outage.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, repoRoot } from '../support/cluster.js';
import { type E2E, condition, emulatorCalls, endpointManifest, isReady, startE2E } from './harness.js';

const DOWN_SECONDS = 40;
/** From "the apiserver answers /readyz again" (or a change applied) to the blocked work done; the reconnect backoff must stay below it. */
const RESUME_BOUND_MS = 8_000;

let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  // 10-minute rollouts at 120× take 5 s: one started just before the outage finishes during it.
  e2e = await startE2E({ prefix: 'e2e-apiserver-outage' });
});

afterEach(async () => {
  await e2e?.stop();
});


const readyForGeneration = (obj: Record<string, unknown>) =>
  isReady(obj) && condition(obj, 'Ready')?.observedGeneration === (obj['metadata'] as { generation: number }).generation;

describe('a kube-apiserver outage (killed, restarted 40 s later)', () => {
  it('blocked status writes, a new object and a spec change are acted on within seconds of the apiserver coming back', async () => {
    await e2e.apply(endpointManifest('steady'));
    await e2e.waitUntil('pte', 'steady', readyForGeneration, 90_000);

    // A rollout in flight when the apiserver goes: it finishes during the outage, so the status write that says
    // Ready fails (again and again, each failure doubling the key's backoff).
    await e2e.apply(endpointManifest('rolling'));
    await eventually(
      async () => {
        if (!(await emulatorCalls(e2e.emulator.url)).some((c) => c.endpoint === 'rolling' && ['create', 'createPt'].includes(c.operation) && c.status === 200)) throw new Error('rolling not created yet');
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

    const outage = promisify(execFile)('bash', [join(repoRoot, 'test/controlplane/restart-apiserver.sh'), String(DOWN_SECONDS)], {
      env: process.env,
      timeout: 180_000,
    });
    const { stdout } = await outage;
    const backAt = Date.now();
    expect(stdout).toContain('kube-apiserver ready');

    // Right after it is back: a new object, and a throughput change of the steady one.
    await e2e.apply([endpointManifest('after'), endpointManifest('steady', { throughput: { chunks: { min: 2, max: 4 } } })]);
    const appliedAt = Date.now();

    const firstCall = async (endpoint: string, ...operations: string[]) =>
      eventually(
        async () => {
          const call = (await emulatorCalls(e2e.emulator.url)).find((c) => c.endpoint === endpoint && operations.includes(c.operation) && c.realTime >= backAt);
          if (!call) throw new Error(`no ${operations.join('/')} of ${endpoint} since the apiserver came back`);
          return call.realTime;
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      );
    const readyAt = async (name: string) => {
      await e2e.waitUntil('pte', name, readyForGeneration, 90_000);
      return Date.now();
    };
    const [createdAt, updatedAt, rollingReadyAt] = await Promise.all([firstCall('after', 'create', 'createPt'), firstCall('steady', 'updateConfig', 'updatePtConfig'), readyAt('rolling')]);

    const since = (t: number) => t - backAt;
    console.log(
      `apiserver-outage: back at 0 ms, applied at ${since(appliedAt)} ms; new object created at ${since(createdAt)} ms, ` +
        `throughput change sent at ${since(updatedAt)} ms, rollout finished during the outage seen Ready at ${since(rollingReadyAt)} ms`,
    );
    const reconnects = e2e.operator.logs().split('\n').filter((l) => l.includes('list/watch failed; retrying'));
    const delays = reconnects.map((l) => Number(/"retryInMs":(\d+)/.exec(l)?.[1] ?? NaN));
    console.log(`apiserver-outage: ${reconnects.length} reconnect attempts logged, delays ${delays.join(', ')} ms`);

    // The two changes are timed from when kubectl had applied them: the apply itself (a kubectl process against an
    // apiserver that every client is relisting from) is not the operator's latency.
    expect(createdAt - appliedAt, 'create of the object applied after the outage').toBeLessThan(RESUME_BOUND_MS);
    expect(updatedAt - appliedAt, 'PUT of the throughput changed after the outage').toBeLessThan(RESUME_BOUND_MS);
    expect(since(rollingReadyAt), 'Ready of the rollout that finished during the outage').toBeLessThan(RESUME_BOUND_MS);
    // Not a busy loop against a dead apiserver: no reconnect delay below the backoff's first step.
    expect(delays.filter((d) => !(d >= 250))).toEqual([]);
  });
});
