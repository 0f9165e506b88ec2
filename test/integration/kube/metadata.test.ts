// KubeClient.getMetadata against the real API server: the object's metadata only (PartialObjectMetadata), what the
// CRD-deletion check reads before every DELETE of an endpoint (a CRD with its schema is tens of kilobytes).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../src/kube/client.js';
import type { ResourceType } from '../../../src/kube/types.js';
import { adminClient, createNamespace, deleteNamespace, ensureWidgetCrd, widgetResource, type Widget } from './support.js';

const crdResource: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };

let client: KubeClient;
let ns: string;

beforeAll(async () => {
  ({ client } = await adminClient());
  await ensureWidgetCrd(client);
});
afterAll(async () => {
  await client.close();
});
// A namespace for each test, and for each attempt of it: the tests create objects of fixed names, which a retry
// (vitest re-runs only the body) would meet as AlreadyExists, or still being deleted.
beforeEach(async () => {
  ns = await createNamespace(client, 'metadata');
});
afterEach(async () => {
  await deleteNamespace(client, ns);
});

describe('KubeClient.getMetadata', () => {
  it('answers with the metadata of a CRD and nothing of its spec', async () => {
    const name = `${widgetResource.plural}.${widgetResource.group}`;
    const full = await client.get<Widget>(crdResource, undefined, name);
    const meta = await client.getMetadata(crdResource, undefined, name);
    expect(meta).toMatchObject({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name, uid: full.metadata.uid } });
    expect(meta).not.toHaveProperty('spec');
    expect(meta).not.toHaveProperty('status');
    expect(JSON.stringify(meta).length).toBeLessThan(JSON.stringify(full).length);
  });

  it('carries the deletion timestamp and finalizers of a custom object, and 404s like get for a missing one', async () => {
    await client.create<Widget>(widgetResource, ns, {
      apiVersion: `${widgetResource.group}/${widgetResource.version}`,
      kind: 'Widget',
      metadata: { name: 'held', namespace: ns, finalizers: ['kubetest.ptoperator.io/hold'] },
      spec: { size: 1 },
    });
    await client.delete(widgetResource, ns, 'held');
    const meta = await client.getMetadata(widgetResource, ns, 'held');
    expect(meta.metadata.deletionTimestamp).toBeDefined();
    expect(meta.metadata.finalizers).toEqual(['kubetest.ptoperator.io/hold']);
    await client.patch(widgetResource, ns, 'held', [{ op: 'remove', path: '/metadata/finalizers' }], 'application/json-patch+json');
    await expect(client.getMetadata(widgetResource, ns, 'missing')).rejects.toMatchObject({ statusCode: 404 });
  });
});
