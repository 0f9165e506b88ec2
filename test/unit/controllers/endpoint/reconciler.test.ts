// The endpoint reconciler's I/O shell, fast: a stub Databricks client, a fake API server for the status
// and finalizer writes, and the real StatusWriter and plan. What it must do around the plan (issue 16, 8 and 11).
import { describe, expect, it, vi } from 'vitest';
import { type Endpoint, capacityFailuresCounted, timeToReady } from '../../../../src/controllers/endpoint/reconciler.js';
import { CLAIM_COMMIT_MARGIN_MS } from '../../../../src/controllers/endpoint/claim-fence.js';
import { DatabricksError } from '../../../../src/databricks/index.js';
import { BoundedBackoffError, KubeApiError } from '../../../../src/kube/index.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ENDPOINT_ID, MODEL, NOW, SECOND, readyEndpoint, updatingEndpoint } from '../fixtures.js';
import { KEY, endpoint, harness, conflict } from './reconciler-harness.js';

const notFound = () => {
  throw new KubeApiError(404, 'NotFound', 'provisionedthroughputendpoints "llama-chat" not found');
};

// After a restart, or while a workspace's new generation is verified, its last verdict (Ready) still stands: the
// endpoint waits for the verdict, without a WorkspaceNotReady condition or Warning Event that the next second
// takes back (session 11: every restart gave each busy endpoint a false "Secret … not found" Warning).
// pt_operator_capacity_failures_total (docs/metrics.md: rollouts that failed for lack of GPU capacity) missed the
// failure that spends the retry budget, so a budget spent on its first failure never showed (session 11).
describe('capacityFailuresCounted: every capacity failure a plan counts, also the last one', () => {
  it.each([
    ['the first failure, retried later', undefined, { attempts: 1, nextRetryTime: '2026-03-01T12:01:00Z' }, 1],
    ['the first failure, which spends the budget', undefined, { attempts: 1, exhausted: true }, 1],
    ['a later failure that spends it', { attempts: 2, nextRetryTime: '2026-03-01T12:01:00Z' }, { attempts: 3, exhausted: true }, 1],
    ['waiting for the retry', { attempts: 2, nextRetryTime: '2026-03-01T12:01:00Z' }, { attempts: 2, nextRetryTime: '2026-03-01T12:01:00Z' }, 0],
    ['recovered (capacity cleared)', { attempts: 2 }, undefined, 0],
  ])('%s → %i', (_, before, after, counted) => {
    expect(capacityFailuresCounted({ ...(before && { capacity: before }) }, { ...(after && { capacity: after }) })).toBe(counted);
  });
});

// pt_operator_endpoint_time_to_ready_seconds is documented as how long rollouts take (docs/metrics.md). It observed
// every Ready False → True, rollout or not: an endpoint serving for a month that Databricks reported not ready for a
// minute observed 30 days (from its creationTimestamp, no rollout being known), an observed endpoint that appeared
// observed its object's age, and an adopted one its first look: the quantiles the docs suggest read these as rollouts.
describe('timeToReady: only a rollout that ends Ready is observed', () => {
  const MONTH_AGO = new Date(NOW.getTime() - 30 * 24 * 3600 * SECOND).toISOString();
  const TEN_MINUTES_AGO = new Date(NOW.getTime() - 600 * SECOND).toISOString();
  const ready = (status: 'True' | 'False', reason: string) => ({ conditions: [{ type: 'Ready', status, reason, message: '', lastTransitionTime: MONTH_AGO }] });
  const object = (status: Endpoint['status']) => {
    const o = endpoint(status);
    o.metadata.creationTimestamp = MONTH_AGO;
    return o;
  };
  const available = { ...ready('True', 'Available'), served: { modelUnits: 4 } } as unknown as Endpoint['status'];
  it.each([
    ['a create that serves', 600, { ...ready('False', 'Creating'), pending: { startTime: TEN_MINUTES_AGO } }],
    ['an update that serves', 600, { ...ready('False', 'Updating'), pending: { startTime: TEN_MINUTES_AGO } }],
    ['a capacity retry that serves', 600, { ...ready('False', 'WaitingForCapacity'), pending: { startTime: TEN_MINUTES_AGO } }],
    ['a rollout whose start is not known (from creationTimestamp)', 30 * 24 * 3600, ready('False', 'Creating')],
    ['Databricks reported a serving endpoint not ready for a while', undefined, ready('False', 'NotReady')],
    ['an observed endpoint that appeared', undefined, ready('False', 'EndpointNotFound')],
    ['an endpoint adopted already serving (its first look)', undefined, {}],
    ['already Ready', undefined, ready('True', 'Available')],
  ])('%s → %s s', (_, seconds, before) => {
    const observed = timeToReady(object(before as Endpoint['status']), available, NOW);
    expect(observed?.seconds).toBe(seconds);
  });
});

describe('endpoint reconciler: a workspace whose verdict is being renewed', () => {
  it('the Secret is read before the workspace is used (once, by the connections): no false "not found"', async () => {
    const order: string[] = [];
    const h = harness({
      credentialsRead: async () => void order.push('read'),
      workspace: () => {
        order.push('resolve');
        return { name: 'ml/prod', ready: true, host: 'https://adb-1.azuredatabricks.net', client: h.client };
      },
    });
    await h.run();
    expect(order.slice(0, 2)).toEqual(['read', 'resolve']);
  });

  it('a workspace being verified again: no status write, no Event, no Databricks call; back when it is decided', async () => {
    const h = harness({ workspace: () => ({ name: 'ml/prod', ready: false, pending: true, message: 'DatabricksWorkspace ml/prod is being verified again' }) });
    const result = await h.run();
    expect(h.patches.filter((p) => p.subresource === 'status')).toEqual([]);
    expect(h.events).toEqual([]);
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(result).toMatchObject({ requeueAfterMs: 30 * SECOND });
  });
});

describe('endpoint reconciler (I/O shell)', () => {
  it('credentials refused on an endpoint call: the workspace is verified again at once (its Secret may have been rotated)', async () => {
    const h = harness({
      getEndpoint: () => {
        throw new DatabricksError({ kind: 'Auth', status: 401, message: 'GET /api/2.0/serving-endpoints/llama-chat failed (401, Auth): token expired' });
      },
    });
    await h.run();
    expect(h.refused).toEqual(['ml/prod']);
    const healthy = harness();
    await healthy.run();
    expect(healthy.refused).toEqual([]);
  });

  it('a 403 on the endpoint while the workspace list works: PermissionDenied on this endpoint, the workspace left alone', async () => {
    const h = harness({
      listed: ['llama-chat'],
      getEndpoint: () => {
        throw new DatabricksError({ kind: 'PermissionDenied', status: 403, message: 'GET /api/2.0/serving-endpoints/llama-chat failed (403, PermissionDenied): no CAN_VIEW' });
      },
    });
    expect(await h.run()).toEqual({ requeueAfterMs: 300 * SECOND });
    expect(h.refused).toEqual([]);
    const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; reason: string }[] } };
    expect(status.status.conditions.find((c) => c.type === 'Synced')?.reason).toBe('PermissionDenied');
  });

  it('a 403 the workspace list gets too (an unknown or revoked PAT): the credentials, as a 401', async () => {
    const h = harness({
      getEndpoint: () => {
        throw new DatabricksError({ kind: 'PermissionDenied', status: 403, message: 'GET /api/2.0/serving-endpoints/llama-chat failed (403, PermissionDenied): Invalid access token.' });
      },
    });
    vi.mocked(h.client.listEndpoints).mockRejectedValue(new DatabricksError({ kind: 'PermissionDenied', status: 403, message: 'Invalid access token.' }));
    expect(await h.run()).toEqual({ requeueAfterMs: 30 * SECOND });
    expect(h.refused).toEqual(['ml/prod']);
    const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; reason: string }[] } };
    expect(status.status.conditions.find((c) => c.type === 'Synced')?.reason).toBe('WorkspaceNotReady');
  });

  // e2e (default-workspace-rotation): a PAT revoked less than a second after a list that worked. The 403 was judged
  // by that list, kept from before the revocation: "grant CAN_MANAGE on the endpoint" (Stalled, PermissionDenied),
  // and no re-reading of the credentials, so the rotated PAT was not used until the poll interval.
  it('a 403 judged by a list read after it, not one kept from before the credentials were revoked', async () => {
    let revoked = false;
    const h = harness({
      listed: ['llama-chat'],
      getEndpoint: () => {
        throw new DatabricksError({ kind: 'PermissionDenied', status: 403, message: revoked ? 'Invalid access token.' : 'no CAN_VIEW' });
      },
    });
    await h.run();
    expect(h.refused).toEqual([]);
    revoked = true;
    vi.mocked(h.client.listEndpoints).mockRejectedValue(new DatabricksError({ kind: 'PermissionDenied', status: 403, message: 'Invalid access token.' }));
    expect(await h.run()).toEqual({ requeueAfterMs: 30 * SECOND });
    expect(h.refused).toEqual(['ml/prod']);
    const status = h.patches.filter((p) => p.subresource === 'status').at(-1)?.body as { status: { conditions: { type: string; reason: string }[] } };
    expect(status.status.conditions.find((c) => c.type === 'Synced')?.reason).toBe('WorkspaceNotReady');
  });

  it('writes the planned status once and polls at the settled interval', async () => {
    const h = harness();
    const result = await h.run();
    expect(h.patches.filter((p) => p.subresource === 'status')).toHaveLength(1);
    expect(h.events.map((e) => e.reason)).toEqual(['Available']);
    expect(result).toEqual({ requeueAfterMs: expect.any(Number) });
  });

  it('an object deleted while it was reconciled is not a failure (no throw, no backoff, no requeue)', async () => {
    const h = harness({ statusPatch: notFound });
    await expect(h.run()).resolves.toBeUndefined();
  });

  it("a status conflict with someone else's status plans again from the latest object instead of overwriting theirs", async () => {
    const object = endpoint();
    const h = harness({ object, conflictWith: { ...object, metadata: { ...object.metadata, resourceVersion: '99' }, status: { endpointId: ENDPOINT_ID } } as Endpoint });
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 1 });
    expect(h.patches.filter((p) => p.subresource === 'status')).toHaveLength(1);
  });

  it('a status write that keeps meeting conflicts gives up after a few tries: the key goes to the workqueue backoff', async () => {
    const h = harness({ statusPatch: conflict });
    await expect(h.run()).rejects.toThrow(/has been modified/);
    expect(h.patches.filter((p) => p.subresource === 'status')).toHaveLength(5);
  });

  const settled = { observedGeneration: 1, endpointId: ENDPOINT_ID, conditions: [
    { type: 'Ready', status: 'True', reason: 'Available', message: 'serving', observedGeneration: 1, lastTransitionTime: NOW.toISOString() },
    { type: 'Synced', status: 'True', reason: 'ReconcileSuccess', message: 'the spec is applied', observedGeneration: 1, lastTransitionTime: NOW.toISOString() },
  ] } as Endpoint['status'];
  /** Version 4 asked for (generation 2) of an endpoint serving version 3. */
  const editedObject = () => {
    const base = endpoint(settled);
    return { ...base, metadata: { ...base.metadata, generation: 2 }, spec: { ...base.spec, model: { name: MODEL, version: '4' } } } as Endpoint;
  };
  /** `object` with someone else's write on top: a new resourceVersion, and what they changed. */
  const theirs = (object: Endpoint, change: Partial<Endpoint>) =>
    ({ ...object, ...change, metadata: { ...object.metadata, ...change.metadata, resourceVersion: '99' } }) as Endpoint;

  // CI (session 13, permission.test.ts): a poke (an annotation) that landed while a refused call's status was written
  // made that write meet a conflict; the plan made again from scratch sent the refused call once more (4 refused calls
  // for 2 pokes).
  it('a status conflict with a metadata write: the status is written over it, and nothing is sent again', async () => {
    const object = editedObject();
    const poked = theirs(object, { metadata: { ...object.metadata, annotations: { 'serving.ptoperator.io/requested-at': 'poke' } } });
    const h = harness({
      object,
      conflictWith: poked,
      informerFollowsWrites: true,
      updateConfig: () => {
        throw new DatabricksError({ kind: 'PermissionDenied', status: 403, message: 'PUT /api/2.0/serving-endpoints/llama-chat/config failed (403, PermissionDenied): no CAN_MANAGE' });
      },
    });
    const first = await h.run();
    expect(first).not.toEqual({ requeueAfterMs: 1 });
    const statusWrites = h.patches.filter((p) => p.subresource === 'status');
    expect(statusWrites).toHaveLength(2);
    // written over their version: their annotation stays, our status is there
    expect(h.kube.get).toHaveBeenCalledTimes(1);
    expect((statusWrites[1]?.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toBe('99');
    expect(h.client.updateConfig).toHaveBeenCalledTimes(1);
    expect(h.events.map((e) => e.reason)).toEqual(['PermissionDenied']);
  });

  it('the version a conflict was written over, delivered late by the cache, is not planned from', async () => {
    const object = editedObject();
    const poked = theirs(object, { metadata: { ...object.metadata, annotations: { 'serving.ptoperator.io/requested-at': 'poke' } } });
    let cache = object;
    const h = harness({
      object,
      conflictWith: poked,
      current: () => cache,
      updateConfig: () => {
        throw new DatabricksError({ kind: 'PermissionDenied', status: 403, message: 'PUT /api/2.0/serving-endpoints/llama-chat/config failed (403, PermissionDenied): no CAN_MANAGE' });
      },
    });
    await h.run();
    // the informer delivers their version (without our status) before ours
    cache = poked;
    for (const handler of h.handlers) handler.update?.(object, poked);
    await h.run();
    const synced = (h.patches.at(-1)?.body as { status?: { conditions?: { type: string; reason: string }[] } }).status?.conditions?.find((c) => c.type === 'Synced');
    expect(synced?.reason ?? 'PermissionDenied').toBe('PermissionDenied');
    expect(h.events.map((e) => e.reason)).toEqual(['PermissionDenied']);
  });

  // CI (session 13): a create whose status write met a conflict told "CreatingEndpoint", then the plan made again
  // from the latest object (no status yet) told the same transition once more as "Creating".
  it('a status conflict with another status write: the plan made again tells no transition the Event of the action already told', async () => {
    const object = editedObject();
    const h = harness({
      object,
      conflictWith: theirs(object, { status: { ...settled, message: 'someone else' } as Endpoint['status'] }),
      getEndpoint: () => (vi.mocked(h.client.updateConfig).mock.calls.length === 0 ? readyEndpoint() : updatingEndpoint({}, { version: '4' })),
      updateConfig: () => updatingEndpoint({}, { version: '4' }),
    });
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 1 });
    await h.run();
    expect(h.client.updateConfig).toHaveBeenCalledTimes(1);
    expect(h.events.map((e) => e.reason)).toEqual(['UpdatingConfig']);
  });

  /** The update our own budget refuses, with a slot reserved 60 s out. */
  const budgetSpent = () => {
    throw new DatabricksError({ kind: 'RateLimited', message: 'mutation budget spent: slot reserved in 60s', retryAfterMs: 60 * SECOND, fromClientBudget: true });
  };
  /** The object with a new model version: it needs an update. */
  const versionChanged = () => ({ ...endpoint(), spec: { ...endpoint().spec, model: { name: MODEL, version: '4' } } }) as unknown as Endpoint;
  /** An object whose update the budget refused once, now waiting for its slot; `show` changes what the cache holds. */
  async function waitingForSlot() {
    const changed = versionChanged();
    let cached = changed;
    const h = harness({ object: changed, current: () => cached, updateConfig: budgetSpent });
    await h.run();
    return { h, changed, show: (next: Endpoint) => void (cached = next) };
  }

  it('a rate-limited update records RateLimited and comes back after Retry-After (+10 % jitter at random 0.5), without throwing', async () => {
    const h = harness({
      object: versionChanged(),
      updateConfig: () => {
        throw new DatabricksError({ kind: 'RateLimited', status: 429, message: '429 REQUEST_LIMIT_EXCEEDED', retryAfterMs: 7 * SECOND });
      },
    });
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 7.7 * SECOND });
    const status = h.patches.find((p) => p.subresource === 'status')?.body as { status: { conditions: { type: string; reason: string }[] } };
    expect(status.status.conditions).toContainEqual(expect.objectContaining({ type: 'Synced', reason: 'RateLimited' }));
    expect(h.events.map((e) => e.reason)).toEqual(['RateLimited']);
  });

  it('concurrent reconciles of one model share one optimization-info read', async () => {
    const h = harness();
    await Promise.all([h.run(), h.run(), h.run()]);
    expect(h.client.getModelOptimizationInfo).toHaveBeenCalledTimes(1);
  });

  it('an update refused by our own budget waits for its reserved slot: until then a reconcile reads nothing', async () => {
    const h = harness({
      object: versionChanged(),
      updateConfig: budgetSpent,
    });
    const first = await h.run();
    expect(first).toEqual({ requeueAfterMs: expect.any(Number) });
    expect((first as { requeueAfterMs: number }).requeueAfterMs).toBeGreaterThan(60 * SECOND);
    // the refused call named the object, so the budget keeps the slot for it
    expect(h.client.updateConfig).toHaveBeenCalledWith('llama-chat', expect.anything(), expect.objectContaining({ budgetHolder: KEY }));
    const reads = vi.mocked(h.client.getEndpoint).mock.calls.length;
    const writes = h.patches.length;
    // a resync or an event before the slot: no Databricks call, no write, back at the slot
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 60 * SECOND + 1 });
    expect(vi.mocked(h.client.getEndpoint).mock.calls.length).toBe(reads);
    expect(h.patches.length).toBe(writes);
  });

  // Namespaces take turns for a host's window (src/databricks/turns.ts): another namespace's newcomer may take this
  // object's turn, which moves later. Coming back at the slot it was first told, it read the endpoint, was refused
  // again by the budget and rewrote its status: a GET and a write per turn taken.
  it("a turn moved later for another namespace's change: back at the first slot it still reads nothing, and waits for the new one", async () => {
    let clock = NOW.getTime();
    let slot = clock + 60 * SECOND;
    const h = harness({
      object: versionChanged(),
      now: () => new Date(clock),
      reservedSlot: () => slot,
      updateConfig: budgetSpent,
    });
    await h.run();
    // the refused call named the object and its namespace: its turn is counted among the namespace's
    expect(h.client.updateConfig).toHaveBeenCalledWith('llama-chat', expect.anything(), expect.objectContaining({ budgetHolder: KEY, budgetTenant: 'ml' }));
    const reads = vi.mocked(h.client.getEndpoint).mock.calls.length;
    const writes = h.patches.length;
    slot += 30 * SECOND;
    clock += 60 * SECOND;
    await expect(h.run()).resolves.toEqual({ requeueAfterMs: 30 * SECOND + 1 });
    expect(vi.mocked(h.client.getEndpoint).mock.calls.length).toBe(reads);
    expect(h.patches.length).toBe(writes);
    expect(h.client.updateConfig).toHaveBeenCalledTimes(1);
    // at the new slot it reconciles: the update is sent
    clock += 30 * SECOND;
    await h.run();
    expect(h.client.updateConfig).toHaveBeenCalledTimes(2);
  });

  // kubectl annotate ptoperator.io/paused=true while a change waits for its slot: Synced went on saying "this change
  // is sent at <slot>" for up to the budget's 5-minute window, though the pause means nothing will be sent then.
  it('a pause set while an update waits for its reserved slot is reported at once (ReconcilePaused), still with no Databricks call', async () => {
    const { h, changed, show } = await waitingForSlot();
    const reads = vi.mocked(h.client.getEndpoint).mock.calls.length;
    show({ ...changed, metadata: { ...changed.metadata, resourceVersion: '99', annotations: { 'ptoperator.io/paused': 'true' } } } as Endpoint);
    await h.run();
    const written = h.patches.filter((p) => p.subresource === 'status').at(-1)?.body as { status: { conditions: { type: string; reason: string }[] } };
    expect(written.status.conditions).toContainEqual(expect.objectContaining({ type: 'Synced', reason: 'ReconcilePaused' }));
    expect(vi.mocked(h.client.getEndpoint).mock.calls.length).toBe(reads);
    expect(h.client.updateConfig).toHaveBeenCalledTimes(1);
  });

  // A tenant deletes (or pauses) objects that wait for their slots: the budget went on counting their slots, which
  // nobody would use, so other objects' creates waited up to a window longer than Databricks' limit needs.
  it.each([
    ['deleted', { metadata: { deletionTimestamp: NOW.toISOString() } }],
    ['paused', { metadata: { annotations: { 'ptoperator.io/paused': 'true' } } }],
  ])('an object %s while it waits for its reserved slot gives the slot back; a new spec keeps it', async (_, change) => {
    const { h, changed, show } = await waitingForSlot();
    const respecced = { ...changed, spec: { ...changed.spec, model: { name: MODEL, version: '5' } }, metadata: { ...changed.metadata, generation: 3, resourceVersion: '98' } } as Endpoint;
    show(respecced);
    await h.run();
    expect(h.client.releaseReservation).not.toHaveBeenCalled();
    show({ ...respecced, metadata: { ...respecced.metadata, ...change.metadata, resourceVersion: '99' } } as Endpoint);
    await h.run();
    expect(h.client.releaseReservation).toHaveBeenCalledWith(KEY);
  });

  it('a new object makes no read and no write until claims of its name made in its creation second are known (issue 11 finding 3)', async () => {
    // Created in the second the API server's clock is in now: 400 ms into it.
    const fresh = { ...endpoint(), metadata: { ...endpoint().metadata, finalizers: [], creationTimestamp: '2026-03-01T12:00:00Z' } } as Endpoint;
    const clockWanted: string[] = [];
    const h = harness({ object: fresh, getEndpoint: () => { throw new DatabricksError({ kind: 'NotFound', message: 'no such endpoint', status: 404 }); }, apiserverNow: Date.parse('2026-03-01T12:00:00.400Z'), clockWanted: () => void clockWanted.push(KEY) });
    expect(await h.run()).toEqual({ requeueAfterMs: 600 + CLAIM_COMMIT_MARGIN_MS });
    // its wait was computed on the API server's clock: the bound is asked to be tight, and the key woken when it is
    expect(clockWanted).toEqual([KEY]);
    expect(h.client.getEndpoint).not.toHaveBeenCalled();
    expect(h.client.listEndpoints).not.toHaveBeenCalled();
    expect(h.patches).toEqual([]);
    expect(h.events).toEqual([]);

    // Once the API server's clock is past that second and the margin, it looks and creates, with one Event.
    const later = harness({ object: fresh, getEndpoint: () => { throw new DatabricksError({ kind: 'NotFound', message: 'no such endpoint', status: 404 }); }, apiserverNow: Date.parse('2026-03-01T12:00:02Z'), clockWanted: () => void clockWanted.push(KEY) });
    await later.run();
    // its claims are known by time alone: the clock is not wanted any more
    expect(clockWanted).toEqual([KEY]);
    expect(later.client.createEndpoint).toHaveBeenCalledTimes(1);
    expect(later.events.map((e) => e.reason)).toEqual(['CreatingEndpoint']);
  });

  it('a transient read failure hands the key to the workqueue backoff with the Synced message', async () => {
    const h = harness({
      getEndpoint: () => {
        throw new DatabricksError({ kind: 'Transient', status: 503, message: '503 TEMPORARILY_UNAVAILABLE' });
      },
    });
    await expect(h.run()).rejects.toThrow('503 TEMPORARILY_UNAVAILABLE');
    // bounded by the workspace retry interval: the end of a long outage is seen within it (e2e/databricks-outage)
    await expect(h.run()).rejects.toBeInstanceOf(BoundedBackoffError);
  });

  it('info-level log lines carry the generation they acted on (docs/troubleshooting.md)', async () => {
    const h = harness({ object: versionChanged() });
    await h.run();
    expect(h.logLines.find((l) => l['msg'] === 'acting on Databricks')).toMatchObject({ level: 30, generation: 1, action: 'updateConfig' });
  });
});

describe('endpoint reconciler: memory (issue 12 item 4)', () => {
  // The API server's answer to our status write is used until the informer cache has it, and not kept after:
  // held until the next reconcile (the next poll), it was a second copy of every endpoint.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  async function afterWrite(cacheCatchesUp: boolean, managedFields = false): Promise<boolean> {
    const h = harness({ object: endpoint(), getEndpoint: () => readyEndpoint(), managedFields });
    await h.run();
    expect(h.returned.length).toBeGreaterThan(0);
    if (cacheCatchesUp) for (const handler of h.handlers) handler.update?.(endpoint(), { ...endpoint(), metadata: { ...endpoint().metadata, resourceVersion: '99' } } as Endpoint);
    await new Promise((resolve) => setImmediate(resolve));
    vi.mocked(h.kube.patch).mockClear(); // the mock's own record of its answers
    gc();
    const kept = h.returned.some((ref) => ref.deref() !== undefined);
    return kept;
  }

  it('our written copy is released once the informer delivers the newer object', async () => {
    expect(await afterWrite(false)).toBe(true); // the control: kept while the cache is stale
    expect(await afterWrite(true)).toBe(false);
  });

  it('while the cache is stale, what is kept is a copy without the field managers\' bookkeeping, as the informer keeps', async () => {
    expect(await afterWrite(false, true)).toBe(false);
  });
});
