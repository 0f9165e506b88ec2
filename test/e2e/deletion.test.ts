// Deletion, driven with kubectl: deletionPolicy Delete removes the Databricks endpoint before the
// object goes; Orphan lets the object go and leaves the endpoint serving.
// (Objects are deleted, never namespaces: this control plane has no namespace controller.)
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { condition, type E2E, emulatorCalls, endpointManifest, isReady, startE2E, TEST_PAT } from './harness.js';

let e2e: E2E;

// Each test, and a retry of it, starts from a namespace, emulator and operator of its own: vitest re-runs only the body
// (and a retry would find the endpoint its failed attempt created, deleted or left being deleted).
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-del', speed: 480 });
});

afterEach(async () => {
  await e2e?.stop();
});

async function emulatorHas(name: string): Promise<boolean> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: { name: string }[] };
  return state.endpoints.some((e) => e.name === name);
}


/** The emulator's calls (reads too) after a sequence number. */
const callsAfter = (seq: number) => emulatorCalls(e2e.emulator.url, { afterSeq: seq });

const lastCallSeq = async (): Promise<number> => Math.max(0, ...(await callsAfter(0)).map((c) => c.seq));

async function waitGone(name: string): Promise<void> {
  await eventually(
    async () => {
      if ((await e2e.get('pte', name)) !== undefined) throw new Error(`pte/${name} still exists`);
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

async function eventReasons(name: string): Promise<string[]> {
  const list = JSON.parse(await e2e.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])) as { items: { reason: string }[] };
  return list.items.map((e) => e.reason);
}

describe('deletion', () => {
  it('deletionPolicy Delete deletes the endpoint in Databricks, then the object disappears', async () => {
    await e2e.apply(endpointManifest('delete-me', { deletionPolicy: 'Delete' }));
    await e2e.kubectl(['wait', 'pte/delete-me', '--for=condition=Ready', '--timeout=90s']);
    expect(await emulatorHas('delete-me')).toBe(true);
    const before = await lastCallSeq();

    await e2e.kubectl(['delete', 'pte', 'delete-me', '--wait=false']);
    await waitGone('delete-me');

    expect(await emulatorHas('delete-me')).toBe(false);
    const deletes = (await e2e.mutations('delete-me')).filter((c) => c.operation === 'delete');
    expect(deletes.length).toBeGreaterThanOrEqual(1);
    expect(deletes[0]).toMatchObject({ method: 'DELETE', path: '/api/2.0/serving-endpoints/delete-me', status: 200 });
    expect(await eventReasons('delete-me')).toContain('Deleted');
    // The ownership check before the DELETE read the workspace's list (shared by every deletion), not a GET of it.
    const since = await callsAfter(before);
    expect(since.filter((c) => c.operation === 'get' && c.endpoint === 'delete-me')).toEqual([]);
    expect(since.findIndex((c) => c.operation === 'list')).toBeLessThan(since.findIndex((c) => c.operation === 'delete' && c.endpoint === 'delete-me'));
  });

  it('deletionPolicy Orphan lets the object go and leaves the endpoint serving in Databricks', async () => {
    await e2e.apply(endpointManifest('keep-me', { deletionPolicy: 'Orphan' }));
    await e2e.kubectl(['wait', 'pte/keep-me', '--for=condition=Ready', '--timeout=90s']);

    await e2e.kubectl(['delete', 'pte', 'keep-me', '--wait=false']);
    await waitGone('keep-me');

    expect(await emulatorHas('keep-me')).toBe(true);
    expect((await e2e.mutations('keep-me')).map((c) => c.operation)).not.toContain('delete');
    expect(await eventReasons('keep-me')).toContain('Orphaned');
  });

  it('an object deleted while Databricks is still creating its endpoint still removes the endpoint', async () => {
    await e2e.apply(endpointManifest('short-lived'));
    await e2e.waitUntil('pte', 'short-lived', (o) => (o['status'] as { state?: { configUpdate?: string } } | undefined)?.state?.configUpdate === 'IN_PROGRESS');

    await e2e.kubectl(['delete', 'pte', 'short-lived', '--wait=false']);
    await waitGone('short-lived');

    expect(await emulatorHas('short-lived')).toBe(false);
    expect((await e2e.mutations('short-lived')).map((c) => c.operation)).toEqual(expect.arrayContaining(['create', 'delete']));
  });

  // A tenant changes its mind mid-rollout: the update still rolls out in Databricks when the object is deleted.
  it('an object deleted while an update of its endpoint rolls out still removes the endpoint; with Orphan it leaves it', async () => {
    await e2e.apply([endpointManifest('mid-update'), endpointManifest('mid-update-kept', { deletionPolicy: 'Orphan' })]);
    await e2e.kubectl(['wait', 'pte/mid-update', 'pte/mid-update-kept', '--for=condition=Ready', '--timeout=90s']);
    await e2e.apply([
      endpointManifest('mid-update', { throughput: { chunks: { min: 2, max: 4 } } }),
      endpointManifest('mid-update-kept', { deletionPolicy: 'Orphan', throughput: { chunks: { min: 2, max: 4 } } }),
    ]);
    for (const name of ['mid-update', 'mid-update-kept']) {
      await e2e.waitUntil('pte', name, (o) => condition(o, 'Ready')?.reason === 'Updating');
    }

    await e2e.kubectl(['delete', 'pte', 'mid-update', 'mid-update-kept', '--wait=false']);
    await waitGone('mid-update');
    await waitGone('mid-update-kept');

    expect(await emulatorHas('mid-update')).toBe(false);
    expect((await e2e.mutations('mid-update')).map((c) => c.operation)).toEqual(['create', 'updateConfig', 'delete']);
    expect(await emulatorHas('mid-update-kept')).toBe(true);
    expect((await e2e.mutations('mid-update-kept')).map((c) => c.operation)).toEqual(['create', 'updateConfig']);
    expect(await eventReasons('mid-update-kept')).toContain('Orphaned');
  });

  it('an endpoint deleted behind the operator\'s back is created again, with an EndpointMissing Warning', async () => {
    await e2e.apply(endpointManifest('vanishing'));
    await e2e.kubectl(['wait', 'pte/vanishing', '--for=condition=Ready', '--timeout=90s']);
    const firstId = ((await e2e.get('pte', 'vanishing')) as { status: { endpointId: string } }).status.endpointId;

    // Someone deletes it with their own token.
    const response = await fetch(new URL('/api/2.0/serving-endpoints/vanishing', e2e.emulator.url), { method: 'DELETE', headers: { Authorization: `Bearer ${TEST_PAT}` } });
    expect(response.status).toBe(200);

    const back = await e2e.waitUntil('pte', 'vanishing', (o) => {
      const id = (o['status'] as { endpointId?: string }).endpointId;
      return isReady(o) && id !== undefined && id !== firstId;
    }, 60_000);
    expect(await emulatorHas('vanishing')).toBe(true);
    expect((await e2e.mutations('vanishing')).map((c) => c.operation)).toEqual(['create', 'delete', 'create']);
    expect(condition(back, 'Synced')?.reason).toBe('ReconcileSuccess');
    expect(await e2e.kubectl(['describe', 'pte', 'vanishing'])).toMatch(/Warning\s+EndpointMissing/);
  });

  it('deletionPolicy Delete on an endpoint that is already gone lets the object go', async () => {
    await e2e.apply(endpointManifest('already-gone', { deletionPolicy: 'Delete' }));
    await e2e.kubectl(['wait', 'pte/already-gone', '--for=condition=Ready', '--timeout=90s']);
    // Paused, so the operator cannot re-create it before the object is deleted.
    await e2e.kubectl(['annotate', 'pte', 'already-gone', 'ptoperator.io/paused=true']);
    await e2e.waitUntil('pte', 'already-gone', (o) => condition(o, 'Synced')?.reason === 'ReconcilePaused');
    const response = await fetch(new URL('/api/2.0/serving-endpoints/already-gone', e2e.emulator.url), { method: 'DELETE', headers: { Authorization: `Bearer ${TEST_PAT}` } });
    expect(response.status).toBe(200);
    const before = await e2e.mutations('already-gone');

    await e2e.kubectl(['delete', 'pte', 'already-gone', '--wait=false']);
    await e2e.kubectl(['annotate', 'pte', 'already-gone', 'ptoperator.io/paused-']);
    await waitGone('already-gone');
    expect(await emulatorHas('already-gone')).toBe(false);
    expect(await e2e.mutations('already-gone')).toEqual(before);
    expect(await eventReasons('already-gone')).toContain('Deleted');
  });

  it('a paused object being deleted keeps its endpoint and finalizer until the annotation is removed', async () => {
    await e2e.apply(endpointManifest('paused-delete'));
    await e2e.kubectl(['wait', 'pte/paused-delete', '--for=condition=Ready', '--timeout=90s']);
    await e2e.kubectl(['annotate', 'pte', 'paused-delete', 'ptoperator.io/paused=true']);
    await e2e.waitUntil('pte', 'paused-delete', (o) => condition(o, 'Synced')?.reason === 'ReconcilePaused');

    await e2e.kubectl(['delete', 'pte', 'paused-delete', '--wait=false']);
    const waiting = await e2e.waitUntil('pte', 'paused-delete', (o) => /deletion waits/.test(condition(o, 'Synced')?.message ?? ''));
    expect((waiting['metadata'] as { deletionTimestamp?: string }).deletionTimestamp).toBeDefined();
    await e2e.reconciledAgain('paused-delete');
    expect(await e2e.get('pte', 'paused-delete')).toBeDefined();
    expect(await emulatorHas('paused-delete')).toBe(true);
    expect((await e2e.mutations('paused-delete')).map((c) => c.operation)).not.toContain('delete');

    await e2e.kubectl(['annotate', 'pte', 'paused-delete', 'ptoperator.io/paused-']);
    await waitGone('paused-delete');
    expect(await emulatorHas('paused-delete')).toBe(false);
  });
});
