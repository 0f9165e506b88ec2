import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MERGE_PATCH, type KubeClient } from '../../../src/kube/client.js';
import { setCondition } from '../../../src/kube/conditions.js';
import { EventRecorder } from '../../../src/kube/events.js';
import { addFinalizer, removeFinalizer } from '../../../src/kube/finalizers.js';
import { StatusWriter } from '../../../src/kube/status.js';
import { CoreResources, type KubeObject } from '../../../src/kube/types.js';
import { kubectlOk } from '../../support/cluster.js';
import { adminClient, configMap, createNamespace, deleteNamespace, ensureWidgetCrd, widgetResource, type ConfigMap, type Widget } from './support.js';

let client: KubeClient;
let requests: Array<{ method: string; path: string }>;
let ns: string;

beforeAll(async () => {
  ({ client, requests } = await adminClient());
  await ensureWidgetCrd(client);
});
afterAll(async () => {
  await client.close();
});
// A namespace for each test, and for each attempt of it: the tests create objects of fixed names, which a retry
// (vitest re-runs only the body) would meet as AlreadyExists.
beforeEach(async () => {
  ns = await createNamespace(client, 'writes');
});
afterEach(async () => {
  await deleteNamespace(client, ns);
});

const newWidget = (name: string): Widget => ({
  apiVersion: `${widgetResource.group}/${widgetResource.version}`,
  kind: 'Widget',
  metadata: { name, namespace: ns },
  spec: { size: 1 },
});

describe('StatusWriter', () => {
  it('writes a changed status once, and sends no request at all when nothing changed', async () => {
    const created = await client.create(widgetResource, ns, newWidget('idle'));
    const now = new Date();
    const status = (obj: Widget) => ({
      observedGeneration: obj.metadata.generation,
      conditions: setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Available' }, obj.metadata.generation, now),
    });
    const writer = new StatusWriter(client);
    const first = await writer.write(widgetResource, created, status);
    expect(first.written).toBe(true);
    expect(first.object.status).toEqual(status(created));

    const current = await client.get<Widget>(widgetResource, ns, 'idle');
    const before = requests.length;
    const again = await writer.write(widgetResource, current, status);
    expect(again.written).toBe(false);
    expect(requests.length).toBe(before); // not even a GET
    const after = await client.get<Widget>(widgetResource, ns, 'idle');
    expect(after.metadata.resourceVersion).toBe(current.metadata.resourceVersion);
  });

  it('uses the status subresource with a merge patch: spec is untouched and removed status fields go away', async () => {
    const created = await client.create(widgetResource, ns, newWidget('subresource'));
    const writer = new StatusWriter(client);
    const { object } = await writer.write(widgetResource, created, { phase: 'A', detail: 'x' });
    const { object: updated } = await writer.write(widgetResource, { ...object, spec: { size: 99 } }, { phase: 'B' });
    expect(updated.status).toEqual({ phase: 'B' });
    expect(updated.spec).toEqual({ size: 1 });
  });

  it('on a conflict re-reads the object and writes against its latest version', async () => {
    const created = await client.create(widgetResource, ns, newWidget('conflict'));
    await client.patch(widgetResource, ns, 'conflict', { status: { theirs: 'kept' } }, MERGE_PATCH, { subresource: 'status' });
    const before = requests.length;
    const { written, object } = await new StatusWriter(client).write(widgetResource, created, (latest) => ({ ...latest.status, ours: 'set' }));
    expect(written).toBe(true);
    expect(object.status).toEqual({ theirs: 'kept', ours: 'set' });
    expect(requests.slice(before).map((r) => r.method)).toEqual(['PATCH', 'GET', 'PATCH']);
  });

  it('on a conflict with another status write does not re-send a fixed status computed from the stale copy: it says conflict (the caller re-plans)', async () => {
    const created = await client.create(widgetResource, ns, newWidget('stale'));
    await client.patch(widgetResource, ns, 'stale', { status: { phase: 'theirs' } }, MERGE_PATCH, { subresource: 'status' });
    const before = requests.length;
    const result = await new StatusWriter(client).write(widgetResource, created, { phase: 'ours, from the stale copy' });
    expect(result).toMatchObject({ written: false, conflict: true });
    expect(requests.slice(before).map((r) => r.method)).toEqual(['PATCH', 'GET']);
    expect((await client.get<Widget>(widgetResource, ns, 'stale')).status).toEqual({ phase: 'theirs' });
  });

  it('on a conflict with a metadata write (the status it was computed from still stands) writes a fixed status over it', async () => {
    const created = await client.create(widgetResource, ns, newWidget('poked'));
    const poked = await client.patch<Widget>(widgetResource, ns, 'poked', { metadata: { annotations: { poke: 'now' } } }, MERGE_PATCH);
    const result = await new StatusWriter(client).write(widgetResource, created, { phase: 'ours' });
    expect(result).toMatchObject({ written: true, writtenOver: poked.metadata.resourceVersion });
    const stored = await client.get<Widget>(widgetResource, ns, 'poked');
    expect(stored.status).toEqual({ phase: 'ours' });
    expect(stored.metadata.annotations).toEqual({ poke: 'now' });
  });

  it('an object deleted meanwhile is gone, not an error', async () => {
    const created = await client.create(widgetResource, ns, newWidget('deleted'));
    await client.delete(widgetResource, ns, 'deleted');
    await expect(new StatusWriter(client).write(widgetResource, created, { phase: 'late' })).resolves.toMatchObject({ written: false, gone: true });
  });
});

describe('finalizers', () => {
  it('adding and removing ours never clobbers another controller’s finalizer, even from a stale copy', async () => {
    const created = await client.create<ConfigMap>(CoreResources.configMap, ns, configMap(ns, 'fin'));
    // another controller adds its finalizer after we read the object, so our copy is stale
    await kubectlOk(['-n', ns, 'patch', 'configmap', 'fin', '--type=json', '-p', '[{"op":"add","path":"/metadata/finalizers","value":["example.com/theirs"]}]']);
    const withOurs = await addFinalizer(client, CoreResources.configMap, created, 'ptoperator.io/ours');
    expect(withOurs.metadata.finalizers).toEqual(['example.com/theirs', 'ptoperator.io/ours']);

    // and another one is inserted in front, shifting the index of ours in the live object
    await kubectlOk(['-n', ns, 'patch', 'configmap', 'fin', '--type=json', '-p', '[{"op":"add","path":"/metadata/finalizers/0","value":"example.com/first"}]']);
    const removed = await removeFinalizer(client, CoreResources.configMap, withOurs, 'ptoperator.io/ours');
    expect(removed.metadata.finalizers).toEqual(['example.com/first', 'example.com/theirs']);
    const live = await client.get<ConfigMap>(CoreResources.configMap, ns, 'fin');
    expect(live.metadata.finalizers).toEqual(['example.com/first', 'example.com/theirs']);
    await client.patch(CoreResources.configMap, ns, 'fin', { metadata: { finalizers: null } }, MERGE_PATCH);
  });

  it('removing our finalizer from an object being deleted lets it go, and a vanished object counts as done', async () => {
    const created = await client.create<ConfigMap>(CoreResources.configMap, ns, configMap(ns, 'going'));
    const withOurs = await addFinalizer(client, CoreResources.configMap, created, 'ptoperator.io/ours');
    await client.delete(CoreResources.configMap, ns, 'going');
    const deleting = await client.get<ConfigMap>(CoreResources.configMap, ns, 'going');
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    await removeFinalizer(client, CoreResources.configMap, deleting, 'ptoperator.io/ours');
    await expect(client.get(CoreResources.configMap, ns, 'going')).rejects.toMatchObject({ statusCode: 404 });
    await expect(removeFinalizer(client, CoreResources.configMap, withOurs, 'ptoperator.io/ours')).resolves.toBeDefined();
  });
});

describe('EventRecorder', () => {
  it('aggregates repeats into one Event that kubectl describe shows as (x5 over …)', async () => {
    const target = await client.create<ConfigMap>(CoreResources.configMap, ns, configMap(ns, 'noisy'));
    // the repeats are spread over the last 10 minutes
    let clock = Date.now() - 600_000;
    const recorder = new EventRecorder(client, { component: 'pt-operator', instance: 'test-pod', now: () => new Date(clock) });
    // two workers hitting the same error at once still make one series
    await Promise.all([
      recorder.record(target, 'Warning', 'ReconcileError', 'workspace unreachable'),
      recorder.record(target, 'Warning', 'ReconcileError', 'workspace unreachable'),
    ]);
    for (let i = 0; i < 3; i++) {
      clock += 200_000;
      await recorder.record(target, 'Warning', 'ReconcileError', 'workspace unreachable');
    }
    await recorder.record(target, 'Normal', 'Created', 'created it');
    type Ev = KubeObject & { count: number; reason: string; involvedObject: { uid: string }; reportingComponent: string };
    const list = await client.list<Ev>(CoreResources.event, { namespace: ns, fieldSelector: `involvedObject.uid=${target.metadata.uid}` });
    const byReason = Object.fromEntries(list.items.map((e) => [e.reason, e]));
    expect(list.items).toHaveLength(2);
    expect(byReason.ReconcileError?.count).toBe(5);
    expect(byReason.ReconcileError?.reportingComponent).toBe('pt-operator');
    const describe = await kubectlOk(['-n', ns, 'describe', 'configmap', 'noisy']);
    expect(describe).toMatch(/Warning\s+ReconcileError\s+\S+ \(x5 over 10m\)\s+pt-operator\s+workspace unreachable/);
  });
});
