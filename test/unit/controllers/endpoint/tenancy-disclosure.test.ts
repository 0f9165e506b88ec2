// What an object's status may say about the other objects that claim or hold its endpoint name. A tenant reads its own
// namespace only; the operator reads every watched namespace. Its NotOwned message named the rival as
// "namespace.name" whatever its namespace, so a tenant learnt another tenant's namespaces and object names, which
// its RBAC does not let it list, just by creating an object with a guessed endpoint name on a shared host
// (kubectl get pte probe -o jsonpath='{.status.conditions}': "claimed in this workspace by team-b.fraud-scoring").
import { describe, expect, it } from 'vitest';
import { decideOwnership } from '../../../../src/controllers/endpoint/ownership.js';
import { ENDPOINT_NAME_INDEX, type TenancyOptions, endpointNameIndex, tenancyView } from '../../../../src/controllers/endpoint/tenancy.js';
import { IndexedCache, type KubeObject } from '../../../../src/kube/index.js';
import { ENDPOINT_ID, NOT_FOUND, OWNER, endpointObject, foreignEndpoint } from '../fixtures.js';

type Cached = KubeObject & { spec?: { endpointName?: string }; status?: { adoption?: { endpointId: string }; workspaceHost?: string } };
const cached = (namespace: string, name: string, uid: string, creationTimestamp: string, status?: Cached['status']): Cached => ({
  apiVersion: 'serving.ptoperator.io/v1alpha1',
  kind: 'ProvisionedThroughputEndpoint',
  metadata: { namespace, name, uid, creationTimestamp },
  spec: { endpointName: 'llama-chat' },
  ...(status && { status }),
});

function options(objects: Cached[]): TenancyOptions {
  const cache = new IndexedCache<Cached>();
  cache.addIndex(ENDPOINT_NAME_INDEX, endpointNameIndex);
  for (const o of objects) cache.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  return { endpoints: cache, identityOf: () => 'https://shared', seesAllOf: () => true, allowCrossNamespaceAdoption: false };
}

const self = { ...endpointObject(), creationTimestamp: '2026-03-01T12:00:05Z', workspaceRef: undefined, endpointName: 'llama-chat' };
const adopting = { ...self, annotations: { 'ptoperator.io/adopt': 'true' } };
const olderOf = (namespace: string) => cached(namespace, 'fraud-scoring', 'u-rival', '2026-03-01T12:00:00Z');
const holderOf = (namespace: string) => cached(namespace, 'importer', 'u-holder', '2026-03-01T12:00:09Z', { adoption: { endpointId: ENDPOINT_ID }, workspaceHost: 'https://shared' });

describe("another namespace's objects are not named in this object's status", () => {
  it('an older claimant of another namespace is "an object of another namespace"; one of this namespace keeps its name', () => {
    expect(tenancyView(options([olderOf('team-b')]), self, NOT_FOUND).olderClaimant).toBe('an object of another namespace');
    expect(tenancyView(options([olderOf(OWNER.namespace)]), self, NOT_FOUND).olderClaimant).toBe(`${OWNER.namespace}.fraud-scoring`);
  });

  it('a holder (status.adoption) of another namespace is not named either', () => {
    const view = tenancyView(options([holderOf('team-b')]), adopting, { kind: 'found', value: foreignEndpoint() });
    expect(view.recordedHolder).toBe('an object of another namespace');
    expect(tenancyView(options([holderOf(OWNER.namespace)]), adopting, { kind: 'found', value: foreignEndpoint() }).recordedHolder).toBe(`${OWNER.namespace}.importer`);
  });

  it('the NotOwned message a tenant reads names neither the namespace nor the object', () => {
    const view = tenancyView(options([holderOf('team-b')]), adopting, { kind: 'found', value: foreignEndpoint() });
    const decision = decideOwnership({
      endpoint: foreignEndpoint(),
      owner: OWNER,
      held: undefined,
      workspace: 'https://shared',
      wantsAdoption: true,
      adoptAnnotation: 'ptoperator.io/adopt',
      ...view,
    });
    expect(decision).toMatchObject({ kind: 'refuse', message: expect.stringContaining('an object of another namespace') });
    expect(JSON.stringify(decision)).not.toMatch(/team-b|importer/);
  });
});
