// The endpoint reconciler's I/O shell, fast: a stub Databricks client, a fake API server for the status
// and finalizer writes, and the real StatusWriter and plan. What it must do around the plan (issue 16, 8 and 11).
import { describe, expect, it, vi } from 'vitest';
import { type Endpoint } from '../../../../src/controllers/endpoint/reconciler.js';
import { NOW, SECOND, creatingEndpoint } from '../fixtures.js';
import { KEY, endpoint, harness } from './reconciler-harness.js';

describe('endpoint reconciler (I/O shell)', () => {
  describe('a look at a rollout of ours that still runs (issue 12: reads within the budget)', () => {
    const rollingOut = () =>
      endpoint({ observedGeneration: 1, state: { ready: 'NOT_READY', configUpdate: 'IN_PROGRESS' }, pending: { modelVersion: '3', startTime: new Date(NOW.getTime() - 4 * SECOND).toISOString() } });
    const list = (configUpdate: string) => async () => [{ name: 'llama-chat', state: { config_update: configUpdate } }, { name: 'other', state: { config_update: 'NOT_UPDATING' } }];

    it('the workspace list says it still runs: no GET, no write, looked at again after half its age (±25 %)', async () => {
      const h = harness({ object: rollingOut() });
      (h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>).mockImplementation(list('IN_PROGRESS'));
      const result = (await h.run()) as { requeueAfterMs: number };
      expect(h.client.getEndpoint).not.toHaveBeenCalled();
      expect(h.patches).toEqual([]);
      expect(h.events).toEqual([]);
      // age 4 s → 2 s, jitter at random 0.5: exactly 2 s
      expect(result.requeueAfterMs).toBe(2 * SECOND);
    });

    it('the first look after our create does not trust a list read before Databricks answered it: it lists again, no GET', async () => {
      const h = harness({ object: { ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [] } } as Endpoint });
      vi.mocked(h.client.createEndpoint).mockResolvedValue(creatingEndpoint());
      const lists = h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>;
      lists.mockResolvedValueOnce([]).mockImplementation(list('IN_PROGRESS'));
      await h.run(); // the list (without the name) stands in for the GET before the create
      expect(h.client.createEndpoint).toHaveBeenCalledTimes(1);
      const look = (await h.run()) as { requeueAfterMs: number };
      // The list kept from before the create could not show the endpoint: a new one says the rollout runs.
      expect(lists).toHaveBeenCalledTimes(2);
      expect(h.client.getEndpoint).not.toHaveBeenCalled();
      expect(look.requeueAfterMs).toBeGreaterThan(0);
    });

    it("in a workspace of 10,000 endpoints the look waits for the workspace's next list, 5 s after the last, and shares it", async () => {
      let at = NOW.getTime();
      const h = harness({ object: { ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [] } } as Endpoint, now: () => new Date(at), informerFollowsWrites: true });
      vi.mocked(h.client.createEndpoint).mockResolvedValue(creatingEndpoint());
      const others = Array.from({ length: 10_000 }, (_, i) => ({ name: `team-${i}`, state: { config_update: 'NOT_UPDATING' } }));
      const lists = h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>;
      lists.mockResolvedValueOnce(others).mockResolvedValue([...others, { name: 'llama-chat', state: { config_update: 'IN_PROGRESS' } }]);
      await h.run(); // the list (without the name) stands in for the GET before the create
      expect(h.client.createEndpoint).toHaveBeenCalledTimes(1);
      at += 250; // the first look
      const early = (await h.run()) as { requeueAfterMs: number };
      // That list was read before Databricks answered the create, but a new one of 10,000 waits its turn.
      expect(lists).toHaveBeenCalledTimes(1);
      expect(h.client.getEndpoint).not.toHaveBeenCalled();
      expect(early.requeueAfterMs).toBe(5_000 - 250);
      at += early.requeueAfterMs;
      const look = (await h.run()) as { requeueAfterMs: number };
      expect(lists).toHaveBeenCalledTimes(2);
      expect(h.client.getEndpoint).not.toHaveBeenCalled();
      expect(look.requeueAfterMs).toBeGreaterThan(0);
    });

    it("a list another object's look reads wakes the objects whose rollout it shows ended, with no read of their own", async () => {
      let at = NOW.getTime();
      const woken: string[] = [];
      const h = harness({ object: rollingOut(), now: () => new Date(at), wake: (key) => woken.push(key) });
      const lists = h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>;
      lists.mockImplementation(list('IN_PROGRESS'));
      await h.run(KEY); // still runs: KEY waits (2 s at its age)
      expect(woken).toEqual([]);
      lists.mockImplementation(list('NOT_UPDATING'));
      at += 1_500; // the kept list has expired: the next look at any object of the workspace reads a new one
      await h.run('ml/another');
      expect(lists).toHaveBeenCalledTimes(2);
      expect(woken).toEqual([KEY]);
      // the woken look shares that list (no list of its own) and reads the outcome
      await h.run(KEY);
      expect(lists).toHaveBeenCalledTimes(2);
      expect(h.client.getEndpoint).toHaveBeenCalledTimes(2);
    });

    it('a list that shows the rollout still running wakes nobody', async () => {
      let at = NOW.getTime();
      const woken: string[] = [];
      const h = harness({ object: rollingOut(), now: () => new Date(at), wake: (key) => woken.push(key) });
      (h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>).mockImplementation(list('IN_PROGRESS'));
      await h.run(KEY);
      at += 1_500;
      await h.run('ml/another');
      expect(h.client.listEndpoints).toHaveBeenCalledTimes(2);
      expect(woken).toEqual([]);
    });

    it('the list says it no longer runs: the GET reads the outcome', async () => {
      const h = harness({ object: rollingOut() });
      (h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>).mockImplementation(list('NOT_UPDATING'));
      await h.run();
      expect(h.client.getEndpoint).toHaveBeenCalledTimes(1);
    });

    it('a new spec during the rollout is read and acted on at once, whatever the list says', async () => {
      const edited = { ...rollingOut(), metadata: { ...rollingOut().metadata, generation: 2 } } as Endpoint;
      const h = harness({ object: edited });
      (h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>).mockImplementation(list('IN_PROGRESS'));
      await h.run();
      expect(h.client.listEndpoints).not.toHaveBeenCalled();
      expect(h.client.getEndpoint).toHaveBeenCalledTimes(1);
    });
  });
});
