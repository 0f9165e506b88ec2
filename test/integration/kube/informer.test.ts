import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MERGE_PATCH, type KubeClient } from '../../../src/kube/client.js';
import { Informer } from '../../../src/kube/informer.js';
import { CoreResources, objectKey } from '../../../src/kube/types.js';
import {
  adminClient,
  configMap,
  createNamespace,
  deleteCrd,
  deleteNamespace,
  ensureCrd,
  ensureWidgetCrd,
  eventually,
  restartApiserver,
  widgetResource,
  type ConfigMap,
  type Widget,
} from './support.js';

let client: KubeClient;
const namespaces: string[] = [];
const informers: Informer<ConfigMap>[] = [];

beforeAll(async () => {
  ({ client } = await adminClient());
});
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});
afterAll(async () => {
  await Promise.all(namespaces.map((ns) => deleteNamespace(client, ns)));
  await client.close();
});

async function namespace(prefix: string) {
  const ns = await createNamespace(client, prefix);
  namespaces.push(ns);
  return ns;
}

/** Starts an informer that records every event it delivers as "kind key data.v". */
function start(options: Partial<ConstructorParameters<typeof Informer>[1]>, watchClient: KubeClient = client) {
  const events: string[] = [];
  const informer = new Informer<ConfigMap>(watchClient, { resource: CoreResources.configMap, ...options });
  informer.addHandlers({
    add: (o) => events.push(`add ${objectKey(o)} ${o.data?.v ?? ''}`),
    update: (_old, o) => events.push(`update ${objectKey(o)} ${o.data?.v ?? ''}`),
    delete: (o) => events.push(`delete ${objectKey(o)}`),
  });
  informer.start();
  informers.push(informer);
  return { informer, events };
}

const setValue = (ns: string, name: string, v: string) =>
  client.patch(CoreResources.configMap, ns, name, { data: { v } }, MERGE_PATCH);

describe('Informer against a real kube-apiserver', () => {
  it('lists, then follows adds, updates and deletes, scoped to its namespaces and label selector', async () => {
    const [a, b, other] = await Promise.all([namespace('inf-a'), namespace('inf-b'), namespace('inf-other')]);
    const mine = { app: 'mine' };
    await client.create(CoreResources.configMap, a, configMap(a, 'before', { v: '1' }, mine));
    const { informer, events } = start({ namespaces: [a, b], labelSelector: 'app=mine' });
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.list().map(objectKey)).toEqual([`${a}/before`]);
    expect(informer.get(`${a}/before`)).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' }); // lists omit them

    await client.create(CoreResources.configMap, b, configMap(b, 'new', { v: '1' }, mine));
    await client.create(CoreResources.configMap, b, configMap(b, 'unlabelled', { v: '1' }));
    await client.create(CoreResources.configMap, other, configMap(other, 'elsewhere', { v: '1' }, mine));
    await setValue(a, 'before', '2');
    await client.delete(CoreResources.configMap, b, 'new');

    await eventually(() => events.length >= 4, 10_000, 'four events');
    // One watch per namespace: each namespace's events come in order, the two streams in any interleaving.
    expect(events).toHaveLength(4);
    expect(events.filter((event) => event.includes(` ${a}/`))).toEqual([`add ${a}/before 1`, `update ${a}/before 2`]);
    expect(events.filter((event) => event.includes(` ${b}/`))).toEqual([`add ${b}/new 1`, `delete ${b}/new`]);
    expect(informer.get(`${a}/before`)?.data?.v).toBe('2');
    expect(informer.get(`${b}/new`)).toBeUndefined();
    expect(informer.list(other)).toEqual([]);
  });

  it('relists on 410 Gone and emits what changed meanwhile, without losing an update', async () => {
    // Widgets, a CRD: its watch cache starts when the CRD is established, so resourceVersion 1 is certainly
    // older than anything the server still has (for built-in kinds that holds only on a long-running server).
    await ensureWidgetCrd(client);
    const ns = await namespace('inf-gone');
    const widget = (name: string, v: string): Widget => ({
      apiVersion: `${widgetResource.group}/${widgetResource.version}`,
      kind: 'Widget',
      metadata: { name, namespace: ns },
      spec: { v },
    });
    const setSpec = (name: string, v: string) => client.patch(widgetResource, ns, name, { spec: { v } }, MERGE_PATCH);
    await client.create(widgetResource, ns, widget('changed', '1'));
    await client.create(widgetResource, ns, widget('deleted', '1'));
    // The first watch starts only after changes were made "while disconnected", and resumes from a
    // resourceVersion the server no longer has, as after a long outage: the server answers 410.
    let firstWatch = true;
    const outage = Object.create(client) as KubeClient;
    outage.watch = async function* (path, query, signal) {
      if (firstWatch) {
        firstWatch = false;
        await setSpec('changed', '2');
        await client.delete(widgetResource, ns, 'deleted');
        await client.create(widgetResource, ns, widget('created', '1'));
        yield* client.watch(path, { ...query, resourceVersion: '1' }, signal);
        return;
      }
      yield* client.watch(path, query, signal);
    };
    const events: string[] = [];
    const informer = new Informer<Widget>(outage, { resource: widgetResource, namespaces: [ns] });
    informers.push(informer as unknown as Informer<ConfigMap>);
    informer.addHandlers({
      add: (o) => events.push(`add ${o.metadata.name} ${String(o.spec?.v)}`),
      update: (_old, o) => events.push(`update ${o.metadata.name} ${String(o.spec?.v)}`),
      delete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    informer.start();
    await eventually(() => informer.stats.goneRelists === 1 && informer.stats.lists === 2, 15_000, 'a relist after 410');
    expect(events.slice(0, 2).sort()).toEqual(['add changed 1', 'add deleted 1']);
    expect(events.slice(2).sort()).toEqual(['add created 1', 'delete deleted', 'update changed 2']);
    await setSpec('changed', '3');
    await eventually(() => informer.get(`${ns}/changed`)?.spec?.v === '3', 10_000, 'the watch to follow on after the relist');
    expect(events).toHaveLength(6);
  });

  it('recycles a watch that stays silent, and relists periodically without spurious events', async () => {
    const ns = await namespace('inf-quiet');
    // Labelled: kube-controller-manager adds its own ConfigMap (kube-root-ca.crt) to every namespace.
    await client.create(CoreResources.configMap, ns, configMap(ns, 'steady', { v: '1' }, { app: 'mine' }));
    const { informer, events } = start({ namespaces: [ns], labelSelector: 'app=mine', quietWatchLimitMs: 1_000, resyncIntervalMs: 1_500 });
    await informer.waitForSync();
    await eventually(() => informer.stats.watchdogRecycles >= 1 && informer.stats.lists >= 2, 10_000, 'a recycle and a resync');
    expect(events).toEqual([`add ${ns}/steady 1`]);
    await setValue(ns, 'steady', '2');
    await eventually(() => informer.get(`${ns}/steady`)?.data?.v === '2', 10_000, 'the recycled watch to deliver');
    expect(informer.stats.errors).toBe(0);
  });

  it('sees a change made around an apiserver restart, and says when the apiserver answers again', async () => {
    const ns = await namespace('inf-restart');
    await client.create(CoreResources.configMap, ns, configMap(ns, 'survivor', { v: '1' }));
    await client.create(CoreResources.configMap, ns, configMap(ns, 'doomed', { v: '1' }));
    // the Manager retries the keys that failed during the outage at once when this fires (workqueue.test.ts)
    let recovered = 0;
    const { informer } = start({ namespaces: [ns], onRecovered: () => recovered++ });
    await informer.waitForSync();
    await restartApiserver();
    // made while the informer is still reconnecting (its backoff starts at 0.8 s)
    await setValue(ns, 'survivor', '2');
    await client.delete(CoreResources.configMap, ns, 'doomed');
    await client.create(CoreResources.configMap, ns, configMap(ns, 'newborn', { v: '1' }));
    await eventually(
      () => informer.get(`${ns}/survivor`)?.data?.v === '2' && !informer.get(`${ns}/doomed`) && informer.get(`${ns}/newborn`),
      60_000,
      'the informer to catch up after the restart',
    );
    expect(informer.stats.errors).toBeGreaterThan(0); // it did notice the outage
    expect(recovered).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('a resource whose CRD is missing: one clear log line, and it syncs within seconds of the CRD being installed (issue 16, 7)', async () => {
    const gizmos = { group: `missing${Date.now().toString(36)}.test.ptoperator.io`, version: 'v1', kind: 'Gizmo', plural: 'gizmos', namespaced: true };
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    let failedLists = 0;
    const informer = new Informer<ConfigMap>(client, {
      resource: gizmos,
      log,
      missingResourceRetryMs: 500,
      onStat: (stat) => void (stat === 'errors' && failedLists++),
    });
    informer.start();
    informers.push(informer);
    await eventually(() => lines.some((l) => l.msg.includes('is the CustomResourceDefinition installed')), 10_000, 'the missing-CRD log line');
    // Several retries later (an exponential backoff would be at 6 s by now): still one line, not one per retry.
    await eventually(() => failedLists >= 5, 10_000, 'five failed lists');
    expect(informer.hasSynced()).toBe(false);
    expect(lines.filter((l) => l.msg.includes('CustomResourceDefinition')).length).toBe(1);
    expect(lines.find((l) => l.msg.includes('CustomResourceDefinition'))?.msg).toContain(`gizmos.${gizmos.group}`);
    expect(lines.map((l) => l.msg).join('\n')).not.toContain('404 page not found');

    await ensureCrd(client, gizmos);
    try {
      const established = Date.now();
      await eventually(() => informer.hasSynced(), 10_000, 'the informer to sync after the CRD was installed');
      // A growing backoff would show here (up to 30 s); the retry interval is 0.5 s in this test (2 s by default).
      expect(Date.now() - established).toBeLessThan(5_000);
      expect(lines.some((l) => l.msg.includes('served now'))).toBe(true);
    } finally {
      await deleteCrd(client, gizmos);
    }
  });

  it('a CRD deleted while it watches (crds.keep=false uninstall, docs/upgrade.md): one missing-CRD line, never "served now" until it is back', async () => {
    const gizmos = { group: `deleted${Date.now().toString(36)}.test.ptoperator.io`, version: 'v1', kind: 'Gizmo', plural: 'gizmos', namespaced: true };
    const lines: { msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    let failures = 0;
    await ensureCrd(client, gizmos);
    const informer = new Informer<ConfigMap>(client, {
      resource: gizmos,
      log,
      missingResourceRetryMs: 200,
      onStat: (stat) => void (stat === 'errors' && failures++),
    });
    informer.start();
    informers.push(informer);
    await eventually(() => informer.hasSynced(), 10_000, 'the informer to sync');

    await deleteCrd(client, gizmos);
    await eventually(() => lines.some((l) => l.msg.includes('is the CustomResourceDefinition installed')), 20_000, 'the missing-CRD log line');
    await eventually(() => failures >= 5, 10_000, 'five failed watches or lists');
    const said = (text: string) => lines.filter((l) => l.msg.includes(text)).length;
    // The resource is still not served: the log must not claim it is, nor repeat the missing-CRD line at each retry.
    expect(said('served now')).toBe(0);
    expect(said('is the CustomResourceDefinition installed')).toBe(1);

    await ensureCrd(client, gizmos);
    try {
      await eventually(() => said('served now') === 1, 10_000, 'the informer to see the CRD installed again');
    } finally {
      await deleteCrd(client, gizmos);
    }
  });
});
