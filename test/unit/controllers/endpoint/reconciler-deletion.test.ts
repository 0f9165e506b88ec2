// The endpoint reconciler's I/O shell, fast: a stub Databricks client, a fake API server for the status
// and finalizer writes, and the real StatusWriter and plan. What it must do around the plan (issue 16, 8 and 11).
import { describe, expect, it, vi } from 'vitest';
import { type Endpoint } from '../../../../src/controllers/endpoint/reconciler.js';
import { ENDPOINT_FINALIZER } from '../../../../src/controllers/resources.js';
import { DatabricksError, type ServingEndpointDetailed } from '../../../../src/databricks/index.js';
import { ENDPOINT_ID, NOW, OTHER_OWNER, SECOND, creatingEndpoint, readyEndpoint } from '../fixtures.js';
import { LATE_CREATE_MARGIN_MS } from '../../../../src/controllers/endpoint/unconfirmed-creates.js';
import { listedItem, endpoint, harness } from './reconciler-harness.js';

/** The object after `kubectl delete`: a deletion timestamp, our finalizer still on. */
function deleting(): Endpoint {
  const object = endpoint();
  return { ...object, metadata: { ...object.metadata, deletionTimestamp: NOW.toISOString() } } as Endpoint;
}

describe('endpoint reconciler: an object deleted because its CRD is being deleted (issue 11, finding 7)', () => {
  it('the CRD is going: no Databricks call at all, the finalizer is removed, a CRDDeleted Warning', async () => {
    const h = harness({ object: deleting(), crdDeleting: true });
    await h.run();
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(h.client.deleteEndpoint).not.toHaveBeenCalled();
    expect(h.patches).toEqual([{ subresource: undefined, body: [{ op: 'test', path: '/metadata/finalizers/0', value: ENDPOINT_FINALIZER }, { op: 'remove', path: '/metadata/finalizers/0' }] }]);
    expect(h.events.map((e) => e.reason)).toEqual(['CRDDeleted']);
  });

  it('a user deleted the object (the CRD stays): the endpoint is deleted in Databricks', async () => {
    const h = harness({ object: deleting(), crdDeleting: false, listed: ['llama-chat'] });
    await h.run();
    expect(h.client.deleteEndpoint).toHaveBeenCalledTimes(1);
  });

  it('a DELETE answered 200 is done: the finalizer goes in the same reconcile, no status write, no second look (issue 12)', async () => {
    const h = harness({ object: deleting(), listed: ['llama-chat'] });
    const result = await h.run();
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(1); // the ownership check before it, nothing after
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(h.client.deleteEndpoint).toHaveBeenCalledTimes(1);
    expect(h.patches).toEqual([{ subresource: undefined, body: [{ op: 'test', path: '/metadata/finalizers/0', value: ENDPOINT_FINALIZER }, { op: 'remove', path: '/metadata/finalizers/0' }] }]);
    // One Event for one transition: Deleting (the status not written) would say the same thing again.
    expect(h.events.map((e) => e.reason)).toEqual(['Deleted']);
    expect(result).toBeUndefined();
  });

  it('the finalizer removal after the DELETE is the write-back: the worker is free for the next deletion meanwhile', async () => {
    const h = harness({ object: deleting(), listed: ['llama-chat'] });
    let apiserverAnswers = () => {};
    const patch = vi.mocked(h.kube.patch);
    const fakeServer = patch.getMockImplementation()!;
    patch.mockImplementationOnce(async (...args) => {
      await new Promise<void>((resolve) => (apiserverAnswers = resolve));
      return fakeServer(...args);
    });
    const result = await h.reconcileRaw();
    expect(h.client.deleteEndpoint).toHaveBeenCalledTimes(1);
    expect(result).toHaveProperty('finishing');
    expect(h.events).toEqual([]); // told once the object is let go
    apiserverAnswers();
    await (result as { finishing: Promise<unknown> }).finishing;
    expect(h.patches).toHaveLength(1);
    expect(h.events.map((e) => e.reason)).toEqual(['Deleted']);
  });

  it('a reconcile right after the DELETE, before the cache has the finalizer removal, reads and sends nothing', async () => {
    // Seen in e2e deletion-safety: a workspace change woke the key again while the informer still held the copy
    // with our finalizer, and that reconcile looked the endpoint up again after its DELETE.
    const h = harness({ object: deleting(), listed: ['llama-chat'] });
    await h.run();
    await h.run(); // the cache still answers with the object as it was before the finalizer went
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(1); // the ownership check before the DELETE only
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(h.client.deleteEndpoint).toHaveBeenCalledTimes(1);
    expect(h.patches).toHaveLength(1);
  });

  it('a DELETE that fails keeps the finalizer, says why in status and comes back', async () => {
    const h = harness({ object: deleting(), listed: ['llama-chat'] });
    vi.mocked(h.client.deleteEndpoint).mockRejectedValueOnce(new DatabricksError({ kind: 'Transient', status: 500, message: 'DELETE failed (500)' }));
    await h.run().catch(() => undefined);
    expect(h.patches.filter((p) => p.subresource === undefined)).toEqual([]);
    expect(h.patches.filter((p) => p.subresource === 'status')).toHaveLength(1);
  });
});

describe('endpoint reconciler: an object being deleted whose spec the operator cannot read', () => {
  // Stored before a stricter rule (an upgrade), or a CRD the chart did not upgrade: zod refuses what the API server holds.
  const unreadable = (deletionPolicy?: string) => {
    const object = deleting();
    return { ...object, spec: { ...object.spec, capacityRetry: { initialBackoff: '3000000h' }, ...(deletionPolicy && { deletionPolicy }) } } as unknown as Endpoint;
  };

  it('deletionPolicy Delete (the default): the finalizer stays, nothing is sent, and Synced says how to go on', async () => {
    const h = harness({ object: unreadable() });
    await h.run();
    const client = h.client as unknown as Record<string, { mock: { calls: unknown[] } }>;
    expect(client['deleteEndpoint']?.mock.calls).toHaveLength(0);
    expect(h.patches.filter((p) => Array.isArray(p.body))).toEqual([]); // no finalizer removed: the endpoint still runs
    const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; status: string; reason: string; message: string }[] } };
    const synced = status.status.conditions.find((c) => c.type === 'Synced');
    expect(synced).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(synced?.message).toMatch(/spec\.capacityRetry\.initialBackoff/);
    expect(synced?.message).toMatch(/endpoint llama-chat is deleted in Databricks once the spec can be read: fix the field, or set spec\.deletionPolicy to Orphan \(kubectl -n ml patch pte llama-chat --type=merge -p '\{"spec":\{"deletionPolicy":"Orphan"\}\}'\)/);
  });

  it('deletionPolicy Orphan: the object goes, the endpoint stays, as asked', async () => {
    const h = harness({ object: unreadable('Orphan') });
    await h.run();
    expect(h.patches.filter((p) => Array.isArray(p.body))).toHaveLength(1);
    expect(h.events.map((e) => e.reason)).toContain('Orphaned');
  });
});

// CRD validation ratcheting lets an edit through that leaves a field the operator refuses (stored before a stricter rule)
// unchanged. kstatus (Flux, Helm 4 --wait) reads status.observedGeneration before Stalled: left at the older generation,
// the refusal reads InProgress until the tool's timeout instead of Failed.
describe('endpoint reconciler: a spec the operator cannot read, edited since the last look', () => {
  it('counts the new generation as observed (and held), so kstatus sees Stalled at once', async () => {
    const served = { type: 'Ready', status: 'True', reason: 'Available', message: 'version 3 at 1960-2940 tokens/s serves', observedGeneration: 1, lastTransitionTime: NOW.toISOString() };
    const before = endpoint({ observedGeneration: 1, conditions: [served] } as Endpoint['status']);
    const object = { ...before, metadata: { ...before.metadata, generation: 2 }, spec: { ...before.spec, capacityRetry: { initialBackoff: '3000000h' } } } as unknown as Endpoint;
    const h = harness({ object });
    await h.run();
    const stored = (await h.kube.get(undefined as never, 'ml', 'llama-chat')) as Endpoint; // what the API server holds now
    const status = stored.status as { observedGeneration?: number; conditions: { type: string; status: string; observedGeneration?: number }[] };
    expect(status.observedGeneration).toBe(2);
    // Nothing of it was sent: held, so once the spec can be read (an operator that reads it) it goes out as a new spec.
    expect(stored.status?.heldGeneration).toBe(2);
    expect(status.conditions.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', observedGeneration: 2 });
    // The older generation's Ready stays its own: kubectl wait does not take it for generation 2's.
    expect(status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 });
  });
});

describe('endpoint reconciler: the ownership check before a DELETE reads the workspace list (issue 12 item 1)', () => {
  const listing = (h: ReturnType<typeof harness>, ...items: ServingEndpointDetailed[]) =>
    vi.mocked(h.client.listEndpoints).mockImplementation(async () => [{ name: 'someone-else' }, ...items.map(listedItem)] as never);

  it('ours in the list: DELETE sent with no GET, and the reconciles of many deletions share one list', async () => {
    let at = NOW.getTime();
    const h = harness({ object: deleting(), now: () => new Date(at) });
    listing(h, readyEndpoint());
    // The informer delivers the deletions (of what would be many objects) before their reconciles run.
    for (const handler of h.handlers) handler.update?.(endpoint(), deleting());
    at += 1;
    await Promise.all([h.run(), h.run(), h.run()]);
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(1);
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(h.client.deleteEndpoint).toHaveBeenCalledWith('llama-chat', expect.anything());
  });

  it("another object's endpoint in the list (its owner tags): NotOwned, no DELETE, the finalizer goes", async () => {
    const h = harness({ object: deleting() });
    listing(h, readyEndpoint({}, { owner: OTHER_OWNER }));
    await h.run();
    expect(h.client.deleteEndpoint).not.toHaveBeenCalled();
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(h.events.map((e) => e.reason)).toEqual(['NotOwned']);
    expect(h.patches.map((p) => p.subresource)).toEqual([undefined]);
  });

  it('the name is not in the list, long after start-up: gone from Databricks, no DELETE, the finalizer goes', async () => {
    let at = NOW.getTime();
    let cached = endpoint();
    const h = harness({ object: cached, current: () => cached, now: () => new Date(at) });
    await h.run(); // the first reconcile of this process, before the object was deleted
    at += 20 * SECOND + LATE_CREATE_MARGIN_MS + 1;
    // (a resourceVersion past the status write of that reconcile)
    cached = { ...deleting(), metadata: { ...deleting().metadata, resourceVersion: '99' }, status: { endpointId: ENDPOINT_ID } } as Endpoint;
    h.events.length = 0;
    listing(h);
    await h.run();
    expect(h.client.deleteEndpoint).not.toHaveBeenCalled();
    expect(h.events.map((e) => e.reason)).toEqual(['Deleted']);
  });

  it('a create that went unanswered is not sent again while it may still land', async () => {
    let at = NOW.getTime();
    const absent = () => {
      throw new DatabricksError({ kind: 'NotFound', status: 404, message: 'RESOURCE_DOES_NOT_EXIST' });
    };
    const h = harness({ object: endpoint(), now: () => new Date(at), getEndpoint: absent });
    vi.mocked(h.client.createEndpoint).mockRejectedValue(new DatabricksError({ kind: 'Transient', message: 'create of endpoint llama-chat sent but not answered', createOutcomeUnknown: true }));
    await h.run().catch(() => undefined);
    at += 2 * SECOND;
    const window = 20 * SECOND + LATE_CREATE_MARGIN_MS;
    expect(await h.run()).toEqual({ requeueAfterMs: window - 2 * SECOND + 1 });
    expect(h.client.createEndpoint).toHaveBeenCalledTimes(1);
    at += window;
    await h.run().catch(() => undefined);
    expect(h.client.createEndpoint).toHaveBeenCalledTimes(2);
  });

  it('just after start-up, no endpoint ID (a previous process may have left a create unanswered): the finalizer stays until a list read after it can no longer land', async () => {
    let at = NOW.getTime();
    const h = harness({ object: deleting(), now: () => new Date(at) });
    listing(h);
    const waiting = await h.run();
    expect(h.events.map((e) => e.reason)).toEqual(['Deleting']);
    expect(h.patches.map((p) => p.subresource)).toEqual(['status']); // Ready False Deleting, the finalizer kept
    const window = 20 * SECOND + LATE_CREATE_MARGIN_MS;
    expect(waiting).toEqual({ requeueAfterMs: window + 1 });
    at += window + 1;
    await h.run();
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(2);
    expect(h.client.deleteEndpoint).not.toHaveBeenCalled();
    expect(h.events.map((e) => e.reason)).toEqual(['Deleting', 'Deleted']);
    expect(h.patches.map((p) => p.subresource)).toEqual(['status', undefined]);
  });

  it.each([
    ['an endpoint ID', { endpointId: ENDPOINT_ID }],
    ['an adoption record', { adoption: { endpointId: ENDPOINT_ID, time: NOW.toISOString() } }],
  ])('just after start-up, %s recorded but the name not in the list (deleted out of band: the previous process may have re-created it and died before the answer): the finalizer stays until that create can no longer land', async (_, status) => {
    let at = NOW.getTime();
    const h = harness({ object: { ...deleting(), status } as Endpoint, now: () => new Date(at) });
    listing(h);
    const window = 20 * SECOND + LATE_CREATE_MARGIN_MS;
    expect(await h.run()).toEqual({ requeueAfterMs: window + 1 });
    expect(h.events.map((e) => e.reason)).toEqual(['Deleting']);
    at += window + 1;
    await h.run();
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(2);
    expect(h.client.deleteEndpoint).not.toHaveBeenCalled();
    expect(h.events.map((e) => e.reason)).toEqual(['Deleting', 'Deleted']);
  });

  it('a list read before the deletion was seen is not trusted: someone may have re-created the name since, so it lists again', async () => {
    let at = NOW.getTime();
    const gone = { ...deleting(), metadata: { ...deleting().metadata, resourceVersion: '99' } } as Endpoint;
    let current = { ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [] } } as Endpoint;
    const h = harness({ current: () => current, now: () => new Date(at), listed: [] });
    // A new object's reconcile reads the list (the name is free) and its create fails (nothing answered)...
    vi.mocked(h.client.createEndpoint).mockRejectedValue(new DatabricksError({ kind: 'Transient', status: 503, message: 'unavailable' }));
    await h.run().catch(() => undefined);
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(1);
    // ...someone else makes an endpoint of that name, and 100 ms later (that list is kept for 1 s) the informer
    // delivers the object's deletion.
    vi.mocked(h.client.listEndpoints).mockImplementation(async () => [listedItem(readyEndpoint({}, { owner: OTHER_OWNER }))] as never);
    at += 100;
    current = gone;
    for (const handler of h.handlers) handler.update?.(endpoint(), gone);
    at += 1;
    await h.run();
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(2);
    expect(h.client.deleteEndpoint).not.toHaveBeenCalled();
    expect(h.events.map((e) => e.reason)).toContain('NotOwned');
  });

  it('deleted while our create was in flight: a list read before Databricks answered the create is not trusted', async () => {
    let at = NOW.getTime();
    const gone = { ...deleting(), metadata: { ...deleting().metadata, resourceVersion: '99' } } as Endpoint;
    let current = { ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [] } } as Endpoint;
    const h = harness({ current: () => current, now: () => new Date(at), listed: [] });
    vi.mocked(h.client.createEndpoint).mockImplementation(async () => {
      // While the create is in flight the informer delivers the deletion, and another deletion's reconcile reads
      // the workspace's list, which cannot show our endpoint yet...
      at += 10;
      current = gone;
      for (const handler of h.handlers) handler.update?.(endpoint(), gone);
      at += 5;
      await h.run('ml/another');
      // ...then Databricks answers the create.
      at += 5;
      vi.mocked(h.client.listEndpoints).mockImplementation(async () => [listedItem(readyEndpoint())] as never);
      return creatingEndpoint();
    });
    await h.run().catch(() => undefined);
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(2);
    at += 1;
    await h.run();
    expect(h.client.listEndpoints).toHaveBeenCalledTimes(3);
    expect(h.client.deleteEndpoint).toHaveBeenCalledWith('llama-chat', expect.anything());
  });

  it('a failed list falls back to the GET', async () => {
    const h = harness({ object: deleting() });
    vi.mocked(h.client.listEndpoints).mockRejectedValueOnce(new DatabricksError({ kind: 'Transient', message: 'list failed', status: 503 }));
    await h.run();
    expect(h.client.getEndpoint).toHaveBeenCalledTimes(1);
    expect(h.client.deleteEndpoint).toHaveBeenCalledTimes(1);
  });
});
