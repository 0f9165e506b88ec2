// One tenant's many objects must not starve another tenant's single one. The slow-reconcile bound (controller.ts)
// keeps each reconcile's hold on a worker short, but a first-in-first-out queue still put another namespace's key
// behind every key the first namespace had queued: 500 objects whose host answers in just under
// --slow-reconcile-after (1.5 s) delayed another namespace's update by 500 × 1.5 s / 4 workers, about 3 minutes,
// again at every poll (review r19: the e2e fairness test covers hanging calls, not a backlog of quick ones).
import { afterEach, describe, expect, it } from 'vitest';
import { Controller, type Reconcile } from '../../../src/kube/controller.js';
import { ItemExponentialRateLimiter } from '../../../src/kube/ratelimit.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { WorkQueue } from '../../../src/kube/workqueue.js';
import { FakeSource } from './fake-source.js';


const obj = (namespace: string, name: string): KubeObject => ({ metadata: { namespace, name } });

let running: Controller<KubeObject> | undefined;
afterEach(async () => {
  await running?.stop(1000);
  running = undefined;
});

describe("one namespace's backlog does not delay another namespace's key", () => {
  it('the queue takes namespaces in turn: a key of team-b added after 500 of team-a is handed out second', async () => {
    const q = new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter(5, 1000) });
    for (let i = 0; i < 500; i++) q.add(`team-a/ep-${i}`);
    q.add('team-b/ep');
    expect(q.length).toBe(501);
    const firstTwo = [await q.get(), await q.get()];
    expect(firstTwo).toContain('team-b/ep');
    // within a namespace the order stays first in, first out, and nothing is lost or handed out twice
    const rest: string[] = [];
    while (q.length > 0) rest.push((await q.get()) as string);
    const teamA = [...firstTwo, ...rest].filter((k) => k?.startsWith('team-a/'));
    expect(teamA).toEqual(Array.from({ length: 500 }, (_, i) => `team-a/ep-${i}`));
  });

  it("4 workers busy with 200 objects of team-a start team-b's one object among the next keys, not after all of team-a's", async () => {
    const started: string[] = [];
    const reconcile: Reconcile = async (key) => {
      started.push(key);
      if (key.startsWith('team-a/')) await new Promise((r) => setTimeout(r, 5));
    };
    const primary = new FakeSource<KubeObject>();
    const controller = new Controller<KubeObject>({
      name: 'fairness',
      primary,
      reconcile,
      maxConcurrentReconciles: 4,
      rateLimiter: new ItemExponentialRateLimiter(1, 1000),
      slowReconciles: { afterMs: 1500, perNamespace: 4 },
    });
    running = controller;
    for (let i = 0; i < 200; i++) primary.add(obj('team-a', `ep-${i}`));
    controller.start();
    await new Promise((r) => setTimeout(r, 20)); // team-a's reconciles are under way
    const startedWhenAdded = started.length;
    expect(startedWhenAdded).toBeLessThan(100);
    primary.add(obj('team-b', 'ep'));
    const end = Date.now() + 5000;
    while (!started.includes('team-b/ep') && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
    // the first worker to finish takes team-b's key: team-a gets at most one more start per worker before it
    // (first in, first out, it started after all of team-a's queued keys: about 180 more)
    expect(started.indexOf('team-b/ep') - startedWhenAdded).toBeLessThanOrEqual(4);
  });
});
