// The workqueue's retry limiter is the one piece of state every key shares: controller-runtime's overall token bucket
// (10 retries a second, bursts of 100). A tenant whose objects fail at once (its own Databricks host answering 503 to
// 300 objects) took the bucket 200 retries into debt, and another namespace's object that failed once then waited
// 20 s for its retry instead of 5 ms; failing on, at more than 10 a second (300 objects retried every
// --workspace-retry-interval), the debt grew without end, and an unbounded backoff of another tenant's object with it.
import { afterEach, describe, expect, it } from 'vitest';
import { Controller, type Reconcile } from '../../../src/kube/controller.js';
import { NamespaceBucketRateLimiter, defaultControllerRateLimiter } from '../../../src/kube/ratelimit.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { FakeSource } from './fake-source.js';


let running: Controller<KubeObject> | undefined;
afterEach(async () => {
  await running?.stop(1000);
  running = undefined;
});

describe("one namespace's failures do not slow another namespace's retries", () => {
  it('after 500 failures of team-a, the first failure of team-b is retried after 5 ms; team-a waits its own turn', () => {
    const limiter = defaultControllerRateLimiter();
    for (let i = 0; i < 500; i++) limiter.when(`team-a/ep-${i}`);
    expect(limiter.when('team-b/ep')).toBe(5);
    // team-a's own storm is still paced: 400 retries over its burst, at 10 a second
    expect(limiter.when('team-a/ep-500')).toBeGreaterThanOrEqual(39_000);
  });

  it("300 objects of team-a failing once do not hold back team-b's retry (the controller's default limiter)", async () => {
    const failedOnce = new Set<string>();
    let teamBDoneAt: number | undefined;
    const reconcile: Reconcile = (key) => {
      if (!failedOnce.has(key)) {
        failedOnce.add(key);
        return Promise.reject(new Error('503 from the workspace host'));
      }
      if (key === 'team-b/ep') teamBDoneAt = Date.now();
      return Promise.resolve();
    };
    const primary = new FakeSource<KubeObject>();
    const controller = new Controller<KubeObject>({ name: 'retry-fairness', primary, reconcile, maxConcurrentReconciles: 4 });
    running = controller;
    for (let i = 0; i < 300; i++) primary.add({ metadata: { namespace: 'team-a', name: `ep-${i}` } });
    controller.start();
    const allFailed = Date.now() + 2000;
    while (failedOnce.size < 300 && Date.now() < allFailed) await new Promise((r) => setTimeout(r, 2));
    expect(failedOnce.size).toBe(300);
    const teamBAdded = Date.now();
    primary.add({ metadata: { namespace: 'team-b', name: 'ep' } });
    while (teamBDoneAt === undefined && Date.now() < teamBAdded + 2000) await new Promise((r) => setTimeout(r, 5));
    // before: about 20 s (200 retries of team-a ahead of it in the shared bucket, 10 a second)
    expect(teamBDoneAt, 'team-b retried').toBeDefined();
    expect((teamBDoneAt as number) - teamBAdded).toBeLessThan(1000);
  });

  it('keeps a bucket only for namespaces that failed lately: a refilled one is dropped when another namespace comes', () => {
    let now = 0;
    const limiter = new NamespaceBucketRateLimiter(10, 100, () => now);
    // a namespace failing once every 0.1 s: the last one's bucket has refilled (one token, at 10 a second) when the next comes
    for (let i = 0; i < 1000; i++) {
      limiter.when(`tenant-${i}/ep`);
      now += 100;
    }
    expect(limiter.size).toBe(1);
    for (let i = 0; i < 150; i++) limiter.when('busy/ep');
    now += 1_000;
    limiter.when('other/ep');
    expect(limiter.size).toBe(2); // busy still owes: kept, with its debt
    expect(limiter.when('busy/ep')).toBeGreaterThan(0);
    now += 60_000;
    limiter.when('third/ep');
    expect(limiter.size).toBe(1);
  });
});
