// The endpoint reconciler's I/O shell, fast: a stub Databricks client, a fake API server for the status
// and finalizer writes, and the real StatusWriter and plan. What it must do around the plan (issue 16, 8 and 11).
import type { vi } from 'vitest';
import { describe, expect, it } from 'vitest';
import { type Endpoint } from '../../../../src/controllers/endpoint/reconciler.js';
import { UNMEASURED_CLOCK_SKEW_MS } from '../../../../src/controllers/endpoint/ownership.js';
import { ENDPOINT_FINALIZER } from '../../../../src/controllers/resources.js';
import { DatabricksError } from '../../../../src/databricks/index.js';
import { readyEndpoint } from '../fixtures.js';
import { KEY, endpoint, harness } from './reconciler-harness.js';

describe('endpoint reconciler (I/O shell)', () => {
  // CI, session 16 (e2e permission): an object adopted and stalled on a refused change was reconciled twice more by the
  // end of a probe burst asked for while it waited, long after its own requeue had ended the wait: two more refused calls.
  describe('the wake once the bound on the API server clock is tight (ClockProbe)', () => {
    const fresh = { ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [], creationTimestamp: '2026-03-01T12:00:00Z' } } as Endpoint;
    const absent = () => {
      throw new DatabricksError({ kind: 'NotFound', message: 'no such endpoint', status: 404 });
    };
    const probeBurst = () => {
      let tight!: () => void;
      const burst = new Promise<void>((resolve) => (tight = resolve));
      return { burst, tight: async () => (tight(), await burst, await Promise.resolve()) };
    };

    it('wakes a key that still waits for the claims of its name, once, however many of its reconciles asked', async () => {
      const { burst, tight } = probeBurst();
      const woken: string[] = [];
      const h = harness({ object: fresh, getEndpoint: absent, apiserverNow: Date.parse('2026-03-01T12:00:00.400Z'), clockWanted: () => burst, wake: (key) => woken.push(key) });
      await h.run(); // its creation
      await h.run(); // its workspace's verdict, in the same wait
      await tight();
      expect(woken).toEqual([KEY]);
      expect(h.client.createEndpoint).not.toHaveBeenCalled();
    });

    it('does not wake a key whose wait ended first: each extra reconcile of an object stalled on a refused change is one more refused call', async () => {
      const { burst, tight } = probeBurst();
      const woken: string[] = [];
      let apiserverNow = Date.parse('2026-03-01T12:00:00.400Z');
      const h = harness({ object: fresh, getEndpoint: absent, listed: [], apiserverNow: () => apiserverNow, clockWanted: () => burst, wake: (key) => woken.push(key) });
      await h.run();
      apiserverNow = Date.parse('2026-03-01T12:00:02Z'); // its requeue came first: its claims are known by time
      await h.run();
      expect(h.client.createEndpoint).toHaveBeenCalledTimes(1);
      await tight();
      expect(woken).toEqual([]);
    });
  });
});

describe('endpoint reconciler (I/O shell)', () => {
  describe('a new object past the commit margin: its finalizer is a fence for the claims of its name (claim-fence.ts)', () => {
    const created = '2026-03-01T12:00:00Z';
    const fresh = { ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [], creationTimestamp: created } } as Endpoint;
    const withFinalizer = { ...fresh, metadata: { ...fresh.metadata, finalizers: [ENDPOINT_FINALIZER], resourceVersion: '11' } } as Endpoint;
    const absent = () => {
      throw new DatabricksError({ kind: 'NotFound', message: 'no such endpoint', status: 404 });
    };
    // 1.6 s after the start of the creation second: past the commit margin (0.5 s), not the delivery margin (1 s)
    const apiserverNow = Date.parse('2026-03-01T12:00:01.600Z');

    it('writes only the finalizer, no create, no status, no Event; its delivery wakes the key, which then creates', async () => {
      let cached: Endpoint = fresh;
      const woken: string[] = [];
      const h = harness({ object: fresh, current: () => cached, getEndpoint: absent, listed: [], apiserverNow, wake: (key) => woken.push(key) });
      expect(await h.run()).toEqual({ requeueAfterMs: 400 });
      expect(h.patches.map((p) => p.subresource)).toEqual([undefined]); // the finalizer, nothing else
      expect(h.client.createEndpoint).not.toHaveBeenCalled();
      expect(h.events).toEqual([]);
      // a look before the fence comes back (a resync): still nothing
      expect(await h.run()).toEqual({ requeueAfterMs: 400 });
      expect(h.client.createEndpoint).not.toHaveBeenCalled();
      expect(h.patches).toHaveLength(1);
      // the informer delivers the object with our finalizer: every earlier claimant is in the cache now
      cached = withFinalizer;
      for (const handler of h.handlers) handler.update?.(fresh, withFinalizer);
      expect(woken).toEqual([KEY]);
      await h.run();
      expect(h.client.createEndpoint).toHaveBeenCalledTimes(1);
      expect(h.events.map((e) => e.reason)).toEqual(['CreatingEndpoint']);
      // the finalizer was a fence only: the workspace's list stood in for the GET before the create
      expect(h.client.getEndpoint).not.toHaveBeenCalled();
    });

    it('the fence passes when a look finds it in the cache, even without the wake', async () => {
      let cached: Endpoint = fresh;
      const h = harness({ object: fresh, current: () => cached, getEndpoint: absent, listed: [], apiserverNow });
      await h.run();
      cached = withFinalizer;
      await h.run();
      expect(h.client.createEndpoint).toHaveBeenCalledTimes(1);
    });

    it('a fenced object woken only after the delivery margin still knows it never acted: the list, not a GET, before its create', async () => {
      let cached: Endpoint = fresh;
      // the API server's clock unmeasured: ours, less the assumed skew, stands in (and moves on)
      let at = apiserverNow + UNMEASURED_CLOCK_SKEW_MS;
      const h = harness({ object: fresh, current: () => cached, getEndpoint: absent, listed: [], now: () => new Date(at) });
      expect(await h.run()).toEqual({ requeueAfterMs: 400 }); // the fence
      expect(h.patches).toHaveLength(1);
      cached = withFinalizer;
      at += 1_000; // a busy queue: the woken reconcile runs once claims are settled by time anyway
      await h.run();
      expect(h.client.createEndpoint).toHaveBeenCalledTimes(1);
      expect(h.client.getEndpoint).not.toHaveBeenCalled();
    });

    it('a finalizer this process did not write as a fence (a restart) proves nothing: it waits for the delivery margin, no Databricks call', async () => {
      const h = harness({ object: withFinalizer, getEndpoint: absent, listed: [], apiserverNow });
      expect(await h.run()).toEqual({ requeueAfterMs: 400 });
      expect(h.client.createEndpoint).not.toHaveBeenCalled();
      expect(h.patches).toEqual([]);
    });

    it('an object that would not act (the endpoint exists and is not ours) gets no fence and no finalizer', async () => {
      const h = harness({ object: fresh, getEndpoint: () => readyEndpoint({}, { owner: null }), listed: ['llama-chat'], apiserverNow });
      expect(await h.run()).toEqual({ requeueAfterMs: 400 });
      expect(h.patches).toEqual([]);
      expect(h.events).toEqual([]);
    });
  });
});

describe('endpoint reconciler (I/O shell)', () => {
  describe('a new object (no finalizer: it never made Databricks act) and the GET before its create (issue 12)', () => {
    const fresh = () => ({ ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [] } }) as Endpoint;
    const absent = () => {
      throw new DatabricksError({ kind: 'NotFound', message: 'no such endpoint', status: 404 });
    };

    it("the workspace's list of names, shared by the reconciles of that second, stands in for its GET when the name is not in it", async () => {
      const h = harness({ object: fresh(), getEndpoint: absent, listed: ['someone-else'] });
      await Promise.all([h.run(), h.run(), h.run()]);
      expect(h.client.listEndpoints).toHaveBeenCalledTimes(1);
      expect(h.client.getEndpoint).not.toHaveBeenCalled();
      expect(h.client.createEndpoint).toHaveBeenCalled();
      // The finalizer went on before the create.
      expect(h.patches[0]).toMatchObject({ subresource: undefined });
    });

    it('a name in the list is read with a GET: an endpoint that is not ours is refused, nothing sent, no finalizer', async () => {
      const h = harness({ object: fresh(), getEndpoint: () => readyEndpoint({}, { owner: null }), listed: ['llama-chat'] });
      await h.run();
      expect(h.client.getEndpoint).toHaveBeenCalledTimes(1);
      expect(h.client.createEndpoint).not.toHaveBeenCalled();
      expect(h.patches.filter((p) => p.subresource === undefined)).toEqual([]);
    });

    it('an object that has acted (finalizer) is always read with a GET: after a crash its endpoint may exist', async () => {
      const h = harness({ getEndpoint: absent, listed: [] });
      await h.run();
      expect(h.client.listEndpoints).not.toHaveBeenCalled();
      expect(h.client.getEndpoint).toHaveBeenCalledTimes(1);
    });

    // A list past the bound on kept lists (a host chooses its size) is let go at once; a new object's looks then read
    // the whole list again each time, however little apart, where a kept list served them for its spacing.
    it("a workspace whose list the bound let go is not listed again before its spacing: a new object's next look reads its endpoint", async () => {
      const names = ['llama-chat', ...Array.from({ length: 100 }, (_, i) => `${'x'.repeat(1 << 20)}-${i}`)]; // 100 MiB of names
      // the name is taken by an endpoint that is not ours: refused, nothing sent, the object stays new
      const h = harness({ object: fresh(), getEndpoint: () => readyEndpoint({}, { owner: null }), listed: names });
      await h.run();
      await h.run();
      expect(h.client.listEndpoints).toHaveBeenCalledTimes(1);
      expect(h.client.getEndpoint).toHaveBeenCalledTimes(2);
      expect(h.client.createEndpoint).not.toHaveBeenCalled();
    });

    it('a failed list falls back to the GET', async () => {
      const h = harness({ object: fresh(), getEndpoint: absent });
      (h.client.listEndpoints as unknown as ReturnType<typeof vi.fn>).mockRejectedValueOnce(new DatabricksError({ kind: 'Transient', message: 'list failed', status: 503 }));
      await h.run();
      expect(h.client.getEndpoint).toHaveBeenCalledTimes(1);
      expect(h.client.createEndpoint).toHaveBeenCalled();
    });
  });
});
