// tenancyView reads the informer cache for the ownership rules: owner presence and rival claims.
// Another namespace's rival is named only "an object of another namespace" (tenancy-disclosure.test.ts): the cases below tell
// holders apart by recordedBy and by which of them is found at all.
import { describe, expect, it } from 'vitest';
import { ENDPOINT_NAME_INDEX, OTHER_NAMESPACE_OBJECT, type TenancyOptions, claimantsToWake, claimsProjection, endpointNameIndex, tenancyView } from '../../../../src/controllers/endpoint/tenancy.js';
import { WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import { IndexedCache, type KubeObject } from '../../../../src/kube/index.js';
import { ENDPOINT_ID, NOT_FOUND, OTHER_OWNER, OWNER, endpointObject, endpointOfAnotherObject, foreignEndpoint, readyEndpoint } from '../fixtures.js';

type Cached = KubeObject & { spec?: { endpointName?: string; workspaceRef?: { name: string }; managementPolicy?: string }; status?: { adoption?: { endpointId: string; uid?: string }; endpointId?: string; workspaceHost?: string } };
const cached = (namespace: string, name: string, uid: string, creationTimestamp: string, spec: Cached['spec'] = {}, deleting = false): Cached => ({
  apiVersion: 'serving.ptoperator.io/v1alpha1',
  kind: 'ProvisionedThroughputEndpoint',
  metadata: { namespace, name, uid, creationTimestamp, ...(deleting && { deletionTimestamp: creationTimestamp }) },
  spec,
});

/** The informer's cache as the operator builds it: indexed by the endpoint name each object acts on. */
function cacheOf(objects: Cached[]): IndexedCache<Cached> {
  const cache = new IndexedCache<Cached>();
  cache.addIndex(ENDPOINT_NAME_INDEX, endpointNameIndex);
  for (const o of objects) cache.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  return cache;
}

function options(objects: Cached[], hosts: Record<string, string | undefined> = {}, seesAll = true): TenancyOptions {
  return {
    endpoints: cacheOf(objects),
    identityOf: (namespace, ref) => (ref ? hosts[`${namespace}/${ref.name}`] : hosts[`${namespace}/`] ?? 'https://default'),
    seesAllOf: () => seesAll,
    allowCrossNamespaceAdoption: false,
  };
}

const self = { ...endpointObject(), creationTimestamp: '2026-03-01T12:00:05Z', workspaceRef: undefined, endpointName: 'llama-chat' };
const found = <T>(value: T) => ({ kind: 'found' as const, value });

describe('tenancyView', () => {
  it.each([
    ['the tagged owner is in the cache with its UID', [cached(OTHER_OWNER.namespace, OTHER_OWNER.name, OTHER_OWNER.uid, '2026-03-01T11:00:00Z')], true, 'live'],
    ['the same name with another UID (recreated)', [cached(OTHER_OWNER.namespace, OTHER_OWNER.name, 'new-uid', '2026-03-01T11:00:00Z')], true, 'gone'],
    ['not in the cache, namespace watched', [], true, 'gone'],
    ['not in the cache, namespace not watched', [], false, 'unknown'],
  ])('%s → %s', (_, objects, seesAll, presence) => {
    expect(tenancyView(options(objects, {}, seesAll), self, found(endpointOfAnotherObject())).taggedOwnerPresence).toBe(presence);
  });

  it('the tagged owner, a name longer than the owner tag holds, is in the cache with its UID → live', () => {
    const long = { uid: 'long-uid', namespace: 'n'.repeat(63), name: 'x'.repeat(253) };
    const endpoint = readyEndpoint({}, { owner: long });
    const objects = [cached(long.namespace, long.name, long.uid, '2026-03-01T11:00:00Z', { endpointName: self.endpointName })];
    expect(tenancyView(options(objects), self, found(endpoint)).taggedOwnerPresence).toBe('live');
  });

  it.each([
    ['an older object of another namespace on the same host', [cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat' })], OTHER_NAMESPACE_OBJECT],
    ['a younger object', [cached('team-b', 'x', 'u1', '2026-03-01T12:00:09Z', { endpointName: 'llama-chat' })], undefined],
    ['an older object being deleted', [cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat' }, true)], undefined],
    ['an older object with another endpoint name', [cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'other' })], undefined],
    ['an older object on another host', [cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat', workspaceRef: { name: 'ws' } })], undefined],
    ['an older object named like the endpoint', [cached('team-b', 'llama-chat', 'u1', '2026-03-01T12:00:00Z')], OTHER_NAMESPACE_OBJECT],
    // An observer never creates nor adopts (observe-only.ts): it cannot keep a Full object from the name.
    ['an older observer (managementPolicy Observe)', [cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat', managementPolicy: 'Observe' })], undefined],
  ])('no endpoint yet, %s → claimant %s', (_, objects, claimant) => {
    const view = tenancyView(options([...objects, cached(OWNER.namespace, OWNER.name, OWNER.uid, self.creationTimestamp)], { 'team-b/ws': 'https://elsewhere' }), self, NOT_FOUND);
    expect(view.olderClaimant).toBe(claimant);
  });

  it('an existing endpoint is claimed only when this object asks to adopt it', () => {
    const rival = [cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat' })];
    expect(tenancyView(options(rival), self, found(foreignEndpoint())).olderClaimant).toBeUndefined();
    const adopting = { ...self, annotations: { 'ptoperator.io/adopt': 'true' } };
    expect(tenancyView(options(rival), adopting, found(foreignEndpoint())).olderClaimant).toBe(OTHER_NAMESPACE_OBJECT);
    // any spelling that adopts is a claim too: otherwise "True" adopted without asking who claimed first
    const shouting = { ...self, annotations: { 'ptoperator.io/adopt': ' True ' } };
    expect(tenancyView(options(rival), shouting, found(foreignEndpoint())).olderClaimant).toBe(OTHER_NAMESPACE_OBJECT);
  });
});

describe('tenancyView: an endpoint adopted by another object (status.adoption)', () => {
  // Recorded in the workspace `self` acts in (options' identityOf: https://default).
  const holder = (overrides: Partial<Cached['metadata']> = {}, spec: Cached['spec'] = { endpointName: 'llama-chat' }, endpointId = ENDPOINT_ID, workspaceHost: string | undefined = 'https://default'): Cached => ({
    ...cached('team-b', 'importer', 'u-holder', '2026-03-01T12:00:09Z', spec),
    status: { adoption: { endpointId }, ...(workspaceHost && { workspaceHost }) },
    ...(Object.keys(overrides).length > 0 && { metadata: { ...cached('team-b', 'importer', 'u-holder', '2026-03-01T12:00:09Z').metadata, ...overrides } }),
  });
  const adopting = { ...self, annotations: { 'ptoperator.io/adopt': 'true' } };
  it.each([
    ['a younger object of another namespace holds it', [holder()], OTHER_NAMESPACE_OBJECT],
    ['the holder is being deleted (it may still delete the endpoint)', [holder({ deletionTimestamp: '2026-03-01T13:00:00Z' })], OTHER_NAMESPACE_OBJECT],
    ['the holder recorded another endpoint ID', [holder({}, { endpointName: 'llama-chat' }, 'f00d')], undefined],
    // The record says where it was made (status.workspaceHost): what the holder's workspace names now does not matter.
    ['the holder\'s workspace names another host now, the record made here', [holder({}, { endpointName: 'llama-chat', workspaceRef: { name: 'ws' } })], OTHER_NAMESPACE_OBJECT],
    ['the holder\'s workspace is not known, the record made here', [holder({}, { endpointName: 'llama-chat', workspaceRef: { name: 'gone' } })], OTHER_NAMESPACE_OBJECT],
    // An ID is unique within one workspace only, and a tenant's own host answers any ID it likes: a record made at
    // another host (another spelling of one workspace included) holds nothing here.
    ["the holder recorded the ID at another host (a tenant's own)", [holder({}, { endpointName: 'llama-chat' }, ENDPOINT_ID, 'https://tenant-owned.example.com')], undefined],
    ['the holder recorded the ID with no host (status from before status.workspaceHost)', [holder({}, { endpointName: 'llama-chat' }, ENDPOINT_ID, '')], undefined],
    ['nobody holds it', [], undefined],
  ])('%s → %s', (_, objects, holderName) => {
    const view = tenancyView(options(objects, { 'team-b/ws': 'https://elsewhere' }), adopting, found(foreignEndpoint()));
    expect(view.recordedHolder).toBe(holderName);
  });

  it('an object whose status.endpointId is this endpoint (it created it; its owner tags removed since) holds it too: recorded by creation', () => {
    const maker: Cached = { ...cached('team-b', 'maker', 'u-maker', '2026-03-01T12:00:09Z', { endpointName: 'llama-chat' }), status: { endpointId: ENDPOINT_ID, workspaceHost: 'https://default' } };
    for (const objects of [[maker], [claimsProjection(maker)]]) {
      expect(tenancyView(options(objects), adopting, found(foreignEndpoint()))).toMatchObject({ recordedHolder: OTHER_NAMESPACE_OBJECT, recordedBy: 'creation' });
    }
    expect(tenancyView(options([holder()]), adopting, found(foreignEndpoint()))).toMatchObject({ recordedHolder: OTHER_NAMESPACE_OBJECT, recordedBy: 'adoption' });
    const madeAgain = { ...maker, status: { endpointId: 'f00d', workspaceHost: 'https://default' } };
    expect(tenancyView(options([madeAgain]), adopting, found(foreignEndpoint())).recordedHolder).toBeUndefined();
    // Its ID seen at the tenant's own host: no hold on the endpoint of that ID here, through the projection too.
    const forged: Cached = { ...maker, status: { endpointId: ENDPOINT_ID, workspaceHost: 'https://tenant-owned.example.com' } };
    for (const objects of [[forged], [claimsProjection(forged)]]) expect(tenancyView(options(objects), adopting, found(foreignEndpoint())).recordedHolder).toBeUndefined();
  });

  // A status restored onto a new object (Velero with status restore: new UID) holds nothing for that object
  // (ownership.ts adoptedByThis): it is NotOwned, and must not make every other object's adoption wait for it either.
  it('an object whose status.adoption was made by another object (a restored status) holds nothing for others either', () => {
    const restored: Cached = { ...holder(), status: { adoption: { endpointId: ENDPOINT_ID, uid: 'u-earlier-object' }, endpointId: ENDPOINT_ID, workspaceHost: 'https://default' } };
    for (const objects of [[restored], [claimsProjection(restored)]]) expect(tenancyView(options(objects), adopting, found(foreignEndpoint())).recordedHolder).toBeUndefined();
    const own: Cached = { ...restored, status: { ...restored.status, adoption: { endpointId: ENDPOINT_ID, uid: 'u-holder' } } };
    for (const objects of [[own], [claimsProjection(own)]]) expect(tenancyView(options(objects), adopting, found(foreignEndpoint())).recordedHolder).toBe(OTHER_NAMESPACE_OBJECT);
  });

  it('this object holds it itself: no holder, no claim check', () => {
    const mine = { ...adopting, status: { adoption: { endpointId: ENDPOINT_ID, time: '2026-03-01T12:00:10Z' }, workspaceHost: 'https://default' } };
    const view = tenancyView(options([cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat' })]), mine, found(foreignEndpoint()));
    expect(view).toMatchObject({ recordedHolder: undefined, olderClaimant: undefined });
  });
});

describe('claimantsToWake', () => {
  const winner = cached('ml', 'a', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'shared' });
  const leaving = { ...winner, metadata: { ...winner.metadata, deletionTimestamp: '2026-03-01T13:00:00Z' } };
  const others = [
    cached('team-b', 'b', 'u2', '2026-03-01T12:00:01Z', { endpointName: 'shared' }),
    cached('ml', 'shared', 'u3', '2026-03-01T12:00:02Z'),
    cached('ml', 'c', 'u4', '2026-03-01T12:00:03Z', { endpointName: 'other' }),
    cached('ml', 'd', 'u5', '2026-03-01T12:00:04Z', { endpointName: 'shared' }, true),
  ];
  it('wakes the live objects that claim the same name, once the object is being deleted', () => {
    const cache = cacheOf([leaving, ...others]);
    expect(claimantsToWake(leaving, (name) => cache.byIndex(ENDPOINT_NAME_INDEX, name))).toEqual(['team-b/b', 'ml/shared']);
  });
  it('wakes nobody for an object that is not leaving', () => {
    expect(claimantsToWake(winner, () => { throw new Error('listed every endpoint for an object that is not being deleted'); })).toEqual([]);
  });
});

describe('claimsProjection: what a sharded operator keeps of every shard\'s objects for these rules', () => {
  const full = {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'ProvisionedThroughputEndpoint',
    metadata: {
      namespace: 'team-b',
      name: 'importer',
      uid: 'u-holder',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2026-03-01T12:00:09Z',
      deletionTimestamp: '2026-03-01T13:00:00Z',
      finalizers: ['serving.ptoperator.io/endpoint'],
      labels: { shard: 'x' },
      annotations: { 'ptoperator.io/adopt': 'true', note: 'x'.repeat(1000) },
      managedFields: [{ manager: 'kubectl' }],
    },
    spec: { endpointName: 'llama-chat', workspaceRef: { name: 'ws' }, model: { name: 'm', version: '1' }, tags: { a: 'b' } },
    status: { adoption: { endpointId: ENDPOINT_ID, time: '2026-03-01T12:00:10Z' }, workspaceHost: 'https://default', conditions: [{ type: 'Ready', status: 'True' }], endpointUrl: 'https://x' },
  } as unknown as Cached;

  it('keeps only the fields the rules read (and the fence, and the resourceVersion)', () => {
    expect(claimsProjection(full)).toEqual({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'ProvisionedThroughputEndpoint',
      metadata: {
        namespace: 'team-b',
        name: 'importer',
        uid: 'u-holder',
        resourceVersion: '42',
        creationTimestamp: '2026-03-01T12:00:09Z',
        deletionTimestamp: '2026-03-01T13:00:00Z',
        finalizers: ['serving.ptoperator.io/endpoint'],
      },
      spec: { endpointName: 'llama-chat', workspaceRef: { name: 'ws' } },
      status: { adoption: { endpointId: ENDPOINT_ID }, workspaceHost: 'https://default' },
    });
    expect(claimsProjection(cached('ml', 'a', 'u1', '2026-03-01T12:00:00Z'))).toEqual(cached('ml', 'a', 'u1', '2026-03-01T12:00:00Z'));
  });

  it('the rules answer the same from the projection', () => {
    const adopting = { ...self, annotations: { 'ptoperator.io/adopt': 'true' } };
    const holder = { ...full, metadata: { ...full.metadata, deletionTimestamp: undefined } } as Cached;
    const hosts = { 'team-b/ws': 'https://default' };
    for (const objects of [[holder], [claimsProjection(holder)]]) {
      expect(tenancyView(options(objects, hosts), adopting, found(foreignEndpoint())).recordedHolder).toBe(OTHER_NAMESPACE_OBJECT);
    }
    const rival = cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat' });
    expect(tenancyView(options([claimsProjection(rival)]), self, NOT_FOUND).olderClaimant).toBe(OTHER_NAMESPACE_OBJECT);
    const observer = cached('team-b', 'x', 'u1', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat', managementPolicy: 'Observe' });
    expect(tenancyView(options([claimsProjection(observer)]), self, NOT_FOUND).olderClaimant).toBeUndefined();
  });
});

describe('tenancyView: an older object claims only while its workspace can act there', () => {
  const HOST = 'https://adb-1.azuredatabricks.net';
  const squat = (ready: { status: string; reason: string } | undefined) => ({
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'DatabricksWorkspace',
    metadata: { namespace: 'team-a', name: 'squat', generation: 1 },
    spec: { host: HOST, auth: { token: { secretRef: { name: 'pat', key: 'token' } } } },
    ...(ready && { status: { conditions: [{ type: 'Ready', message: 'm', observedGeneration: 1, lastTransitionTime: '2026-03-01T12:00:00Z', ...ready }] } }),
  });
  it.each([
    ['authenticated', { status: 'True', reason: 'Authenticated' }, OTHER_NAMESPACE_OBJECT],
    ['not verified yet', undefined, OTHER_NAMESPACE_OBJECT],
    ['its credentials refused', { status: 'False', reason: 'AuthenticationFailed' }, undefined],
    ['its Secret missing', { status: 'False', reason: 'SecretNotFound' }, undefined],
  ])('the older object\'s workspace %s', (_, ready, claimant) => {
    const connections = new WorkspaceConnections({
      workspaces: { get: (key) => (key === 'team-a/squat' ? (squat(ready) as never) : undefined) },
      secrets: { get: () => undefined },
      defaultConnection: { host: HOST, auth: { type: 'pat', token: 'dapi-default' } },
      federationTokenFile: '/nonexistent',
      defaultWorkspaceNamespaces: ['ml'],
      federationTrustedHosts: [],
      client: {},
    });
    const older = cached('team-a', 'prod-llm', 'u-squat', '2026-03-01T12:00:00Z', { endpointName: 'llama-chat', workspaceRef: { name: 'squat' } });
    const view = tenancyView(
      { ...options([older]), identityOf: (namespace, ref) => connections.identityOf(namespace, ref) },
      self,
      NOT_FOUND,
    );
    expect(view.olderClaimant).toBe(claimant);
  });
});

describe('tenancyView: only an object that could adopt the endpoint claims it', () => {
  // The endpoint is tagged for team-b/llama-copy, deleted since (Orphan, a CRD re-install, a move to a new object):
  // team-b may take it back with ptoperator.io/adopt; with --allow-cross-namespace-adoption off, no other namespace may.
  const adopt = { 'ptoperator.io/adopt': 'true' };
  const returning = {
    ...endpointObject({ owner: { uid: 'u-b-new', namespace: OTHER_OWNER.namespace, name: OTHER_OWNER.name } }),
    creationTimestamp: '2026-03-01T12:00:05Z',
    workspaceRef: undefined,
    endpointName: 'llama-chat',
    annotations: adopt,
  };
  const squatter = cached('team-a', 'llama-chat', 'u-squat', '2026-03-01T11:00:00Z');

  it('an older object of a namespace that may not adopt it does not hold the name against the owner\'s namespace', () => {
    // Before: team-a's object, created once with the name and left NotOwned, kept team-b from ever taking its own
    // endpoint back ("claimed in this workspace by an object of another namespace"), though team-a could never adopt it.
    const view = tenancyView(options([squatter]), returning, found(endpointOfAnotherObject()));
    expect(view.taggedOwnerPresence).toBe('gone');
    expect(view.olderClaimant).toBeUndefined();
  });

  it('it still claims when the admin allows adoption across namespaces, and an older object of the owner\'s namespace always does', () => {
    const crossAllowed = { ...options([squatter]), allowCrossNamespaceAdoption: true };
    expect(tenancyView(crossAllowed, returning, found(endpointOfAnotherObject())).olderClaimant).toBe(OTHER_NAMESPACE_OBJECT);
    const sibling = cached(OTHER_OWNER.namespace, 'older-sibling', 'u-sib', '2026-03-01T11:00:00Z', { endpointName: 'llama-chat' });
    expect(tenancyView(options([sibling]), returning, found(endpointOfAnotherObject())).olderClaimant).toBe(`${OTHER_OWNER.namespace}.older-sibling`);
  });

  it('an endpoint made outside the operator (no owner tag) is claimed by the older object of any namespace, as before', () => {
    const outsider = { ...returning, namespace: 'ml' };
    expect(tenancyView(options([squatter]), outsider, found(foreignEndpoint())).olderClaimant).toBe(OTHER_NAMESPACE_OBJECT);
  });
});
