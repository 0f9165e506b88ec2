// The ownership rules of docs/security.md, as tables.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation, MAX_TAG_VALUE_LENGTH } from '../../../../src/api/v1alpha1/index.js';
import { type HeldRecord, type OwnerPresence, type OwnershipInput, CLAIM_DELIVERY_MARGIN_MS, OwnerTag, UNMEASURED_CLOCK_SKEW_MS, claimSettleWaitMs, claimWinner, decideOwnership, diffTags, olderClaimant, ownerTags, ownershipOf, taggedOwner } from '../../../../src/controllers/endpoint/ownership.js';
import { ENDPOINT_ID, HOST, OTHER_OWNER, OWNER, endpointOfAnotherObject, foreignEndpoint, readyEndpoint } from '../fixtures.js';

const TENANT_HOST = 'https://tenant-owned.example.com';

describe('ownershipOf', () => {
  // Records made in the workspace the object acts in (HOST below): status.workspaceHost says where.
  const adopted: HeldRecord = { adoption: { endpointId: ENDPOINT_ID }, workspaceHost: HOST };
  // status.endpointId: the endpoint this object created (or adopted) and last saw; Databricks assigns the ID.
  const created: HeldRecord = { endpointId: ENDPOINT_ID, workspaceHost: HOST };
  it.each<[string, ReturnType<typeof readyEndpoint>, HeldRecord, OwnerPresence, object]>([
    ['tagged with our uid', readyEndpoint(), {}, 'gone', { kind: 'ours', ownerTagsPending: false }],
    ['tagged with our uid, and adopted', readyEndpoint(), adopted, 'gone', { kind: 'ours', ownerTagsPending: false }],
    ['without owner tags', foreignEndpoint(), {}, 'gone', { kind: 'unowned' }],
    ['without owner tags, adopted (status.adoption)', foreignEndpoint(), adopted, 'gone', { kind: 'ours', ownerTagsPending: true }],
    ['without owner tags, adopted, but made again (another ID)', { ...foreignEndpoint(), id: 'another-id' }, adopted, 'gone', { kind: 'unowned' }],
    ['without an ID, adopted', { ...foreignEndpoint(), id: undefined }, adopted, 'gone', { kind: 'unowned' }],
    ['tagged by another object', endpointOfAnotherObject(), {}, 'gone', { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
    ['tagged by a gone object, adopted from it', endpointOfAnotherObject(), adopted, 'gone', { kind: 'ours', ownerTagsPending: true }],
    ['tagged by an object out of sight, adopted from it', endpointOfAnotherObject(), adopted, 'unknown', { kind: 'ours', ownerTagsPending: true }],
    ['tagged by a live object, whatever this object recorded', endpointOfAnotherObject(), adopted, 'live', { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
    ['whose owner tags were removed out of band, status.endpointId its ID: the tags are due now', foreignEndpoint(), created, 'gone', { kind: 'ours', ownerTagsPending: true, restoreOwnerTags: true }],
    ['without owner tags, adopted, status.endpointId its ID too: the tags wait for the next change', foreignEndpoint(), { ...adopted, endpointId: ENDPOINT_ID }, 'gone', { kind: 'ours', ownerTagsPending: true }],
    ['without owner tags, status.endpointId another ID (made again)', { ...foreignEndpoint(), id: 'another-id' }, created, 'gone', { kind: 'unowned' }],
    ['without an ID, status.endpointId set', { ...foreignEndpoint(), id: undefined }, created, 'gone', { kind: 'unowned' }],
    ['tagged by a gone object, status.endpointId its ID (only adoption takes over a tagged endpoint)', endpointOfAnotherObject(), created, 'gone', { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
    ['tagged by a live object, status.endpointId its ID', endpointOfAnotherObject(), created, 'live', { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
  ])('an endpoint %s', (_, endpoint, held, presence, expected) => {
    expect(ownershipOf(endpoint, OWNER, held, presence, HOST)).toEqual(expected);
  });

  // An ID is unique within one workspace only, and a tenant's own host answers whatever ID it likes: a record holds
  // only in the workspace it was made in (docs/security.md, ownership).
  it.each<[string, ReturnType<typeof readyEndpoint>, HeldRecord, string | undefined, object]>([
    ['status.endpointId recorded at another host (a tenant-controlled one)', foreignEndpoint(), { ...created, workspaceHost: TENANT_HOST }, HOST, { kind: 'unowned' }],
    ['status.adoption recorded at another host', foreignEndpoint(), { ...adopted, workspaceHost: TENANT_HOST }, HOST, { kind: 'unowned' }],
    ['status.adoption recorded at another host, tagged by a gone object', endpointOfAnotherObject(), { ...adopted, workspaceHost: TENANT_HOST }, HOST, { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
    ['a bare status.endpointId, no host recorded (status from before status.workspaceHost)', foreignEndpoint(), { endpointId: ENDPOINT_ID }, HOST, { kind: 'unowned' }],
    ['a bare status.adoption, no host recorded', foreignEndpoint(), { adoption: { endpointId: ENDPOINT_ID } }, HOST, { kind: 'unowned' }],
    ['tagged with our uid, no host recorded: the tag, written at this host, holds', readyEndpoint(), {}, HOST, { kind: 'ours', ownerTagsPending: false }],
    ['tagged with our uid, records of another host', readyEndpoint(), { ...created, workspaceHost: TENANT_HOST }, HOST, { kind: 'ours', ownerTagsPending: false }],
    ['recorded at this host, acting under another spelling of it (case, default port, trailing slash)', foreignEndpoint(), created, `${HOST.toUpperCase().replace('HTTPS', 'https')}:443/`, { kind: 'ours', ownerTagsPending: true, restoreOwnerTags: true }],
    ['recorded at this host, no usable host now', foreignEndpoint(), created, undefined, { kind: 'unowned' }],
  ])('an endpoint found with %s', (_, endpoint, held, workspace, expected) => {
    expect(ownershipOf(endpoint, OWNER, held, 'gone', workspace)).toEqual(expected);
  });

  // A Velero restore with status restore on (or a copy of the YAML with its status) gives a new object, with a new
  // UID, the status.adoption of the old one. The endpoint's tags name the old object, gone from this cluster but
  // perhaps still managed by the old cluster's operator: a record another object made takes nothing over.
  const earlierSelf = readyEndpoint({}, { owner: { ...OWNER, uid: OTHER_OWNER.uid } });
  it.each<[string, ReturnType<typeof readyEndpoint>, HeldRecord, object]>([
    ['tagged for an earlier object of this name, status.adoption restored from it (its UID)', earlierSelf, { ...adopted, adoption: { endpointId: ENDPOINT_ID, uid: OTHER_OWNER.uid } }, { kind: 'otherObject', owner: `${OWNER.namespace}.${OWNER.name}` }],
    ['without owner tags, status.adoption restored from an earlier object (its UID)', foreignEndpoint(), { ...adopted, adoption: { endpointId: ENDPOINT_ID, uid: OTHER_OWNER.uid } }, { kind: 'unowned' }],
    // status.adoption always comes with status.endpointId (recordAdoption): an adopted endpoint that never changed
    // since carries no owner tags, and the restored ID took it over, writing this object's owner tags at once.
    ['without owner tags, status.adoption and status.endpointId restored from an earlier object', foreignEndpoint(), { ...adopted, endpointId: ENDPOINT_ID, adoption: { endpointId: ENDPOINT_ID, uid: OTHER_OWNER.uid } }, { kind: 'unowned' }],
    ['tagged for an earlier object of this name, adopted by this object (its UID) from that one', earlierSelf, { ...adopted, adoption: { endpointId: ENDPOINT_ID, uid: OWNER.uid, fromUid: OTHER_OWNER.uid } }, { kind: 'ours', ownerTagsPending: true }],
  ])('an endpoint %s', (_, endpoint, held, expected) => {
    expect(ownershipOf(endpoint, OWNER, held, 'gone', HOST)).toEqual(expected);
  });

  // Blue/green: this (old) cluster's object adopted the endpoint; the new cluster's object adopted it too and wrote
  // its owner tags with its first change. Its UID is unknown here ('gone'), yet these tags were written after this
  // adoption, by an operator that took the endpoint over: this object must let go, and its Delete must not delete it.
  it.each<[string, ReturnType<typeof readyEndpoint>, HeldRecord, object]>([
    ['adopted untagged, since tagged for an object this cluster does not know', endpointOfAnotherObject(), { ...adopted, adoption: { endpointId: ENDPOINT_ID, uid: OWNER.uid } }, { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
    ['adopted from an earlier object, since tagged for a third one', readyEndpoint({}, { owner: { ...OTHER_OWNER, uid: 'uid-of-the-new-cluster' } }), { ...adopted, adoption: { endpointId: ENDPOINT_ID, uid: OWNER.uid, fromUid: OTHER_OWNER.uid } }, { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
    ['adopted from an earlier object, its tags removed since', foreignEndpoint(), { ...adopted, adoption: { endpointId: ENDPOINT_ID, uid: OWNER.uid, fromUid: OTHER_OWNER.uid } }, { kind: 'ours', ownerTagsPending: true }],
  ])('an endpoint %s', (_, endpoint, held, expected) => {
    expect(ownershipOf(endpoint, OWNER, held, 'gone', HOST)).toEqual(expected);
  });
});

describe('diffTags', () => {
  it.each([
    ['adds changed values, removes a managed key no longer wanted, leaves a foreign key', { team: 'old', stale: 'x', keep: 'k', 'cost-center': '42' }, ['team', 'stale', 'keep'], { add: [{ key: 'team', value: 'genai' }, { key: 'new', value: 'n' }], remove: ['stale'] }],
    ['a managed key already gone is not removed again', { team: 'genai', keep: 'k', new: 'n' }, ['stale'], { add: [], remove: [] }],
    ['nothing managed yet: nothing removed', { team: 'genai', keep: 'k', new: 'n', extra: '1' }, [], { add: [], remove: [] }],
  ])('%s', (_, observed, managed, expected) => {
    expect(diffTags(observed, { team: 'genai', keep: 'k', new: 'n' }, managed)).toEqual(expected);
  });
});

describe('ownerTags', () => {
  // A name of 253 characters (allowed with spec.endpointName) in a namespace of 63: "namespace.name" is 317 long.
  const longest = { uid: 'u', namespace: 'n'.repeat(63), name: 'x'.repeat(253) };

  it('fit the tag value bound the CRD keeps to, keeping the whole namespace and as much of the name as fits', () => {
    const value = ownerTags(longest)[OwnerTag.object] ?? '';
    expect(value.length).toBe(MAX_TAG_VALUE_LENGTH);
    expect(value.startsWith(`${longest.namespace}.xxx`)).toBe(true);
    expect(taggedOwner(readyEndpoint({}, { owner: longest }))?.namespace).toBe(longest.namespace);
  });

  it('name an object of an ordinary name in full', () => {
    expect(ownerTags(OWNER)[OwnerTag.object]).toBe(`${OWNER.namespace}.${OWNER.name}`);
  });
});

describe('taggedOwner', () => {
  it.each([
    ['both owner tags', readyEndpoint(), OWNER],
    ['no owner tags', foreignEndpoint(), undefined],
    ['a dotted object name', readyEndpoint({}, { tags: [{ key: OwnerTag.uid, value: 'u' }, { key: OwnerTag.object, value: 'ns.a.b' }] }), { uid: 'u', namespace: 'ns', name: 'a.b' }],
    ['a uid without the object tag', readyEndpoint({}, { tags: [{ key: OwnerTag.uid, value: 'u' }] }), undefined],
  ])('%s', (_, endpoint, expected) => {
    expect(taggedOwner(endpoint)).toEqual(expected);
  });
});

describe('claimWinner', () => {
  const a = { uid: 'bbbb', namespace: 'a', name: 'x', creationTimestamp: '2026-03-01T12:00:00Z' };
  const b = { uid: 'aaaa', namespace: 'b', name: 'x', creationTimestamp: '2026-03-01T12:00:01Z' };
  const c = { uid: 'aaaa-0', namespace: 'c', name: 'x', creationTimestamp: '2026-03-01T12:00:00Z' };
  it.each([
    ['the older object', [b, a], a],
    ['the same second: the smaller UID', [a, c], c],
    ['in any order', [c, b, a], c],
    ['alone', [b], b],
    ['nobody', [], undefined],
  ])('%s wins', (_, claimants, winner) => {
    expect(claimWinner(claimants)).toEqual(winner);
  });

  it('olderClaimant names the winner only when it is someone else', () => {
    expect(olderClaimant(b, [a])).toBe('a.x');
    expect(olderClaimant(a, [b])).toBeUndefined();
  });
});

describe('decideOwnership', () => {
  type Tenancy = Pick<OwnershipInput, 'taggedOwnerPresence' | 'allowCrossNamespaceAdoption' | 'olderClaimant' | 'recordedHolder' | 'recordedBy' | 'held' | 'workspace'>;
  const gone: Tenancy = { taggedOwnerPresence: 'gone', allowCrossNamespaceAdoption: false, olderClaimant: undefined, recordedHolder: undefined, held: {}, workspace: HOST };
  const sameNamespaceOwner = readyEndpoint({}, { owner: { ...OTHER_OWNER, namespace: OWNER.namespace } });
  const refuse = (text: string) => ({ kind: 'refuse', message: expect.stringContaining(text) });
  // Adoption records the endpoint's ID; it carries no tags to write (they go with the next change).
  const adopt = { kind: 'adopt', message: expect.stringContaining('nothing is changed in Databricks'), endpointId: ENDPOINT_ID };
  const adopted = { held: { adoption: { endpointId: ENDPOINT_ID }, workspaceHost: HOST } };

  it.each<[string, ReturnType<typeof readyEndpoint>, boolean, Partial<Tenancy>, object]>([
    ['our endpoint', readyEndpoint(), false, {}, { kind: 'ours', ownerTagsPending: false }],
    ['our endpoint, adopt set', readyEndpoint(), true, {}, { kind: 'ours', ownerTagsPending: false }],
    ['a foreign endpoint', foreignEndpoint(), false, {}, refuse('not created by this object. The operator will not modify or delete it. Set annotation ptoperator.io/adopt="true"')],
    ['a foreign endpoint, adopt set', foreignEndpoint(), true, {}, adopt],
    ['a foreign endpoint this object adopted', foreignEndpoint(), true, adopted, { kind: 'ours', ownerTagsPending: true }],
    ['a foreign endpoint this object adopted, adopt removed since', foreignEndpoint(), false, adopted, { kind: 'ours', ownerTagsPending: true }],
    ['a foreign endpoint, adopt set, an older claimant', foreignEndpoint(), true, { olderClaimant: 'ml.older' }, refuse('claimed in this workspace by ml.older')],
    ['a foreign endpoint another live object adopted', foreignEndpoint(), true, { recordedHolder: 'team-b.importer' }, refuse('belongs to team-b.importer, which adopted it and still exists')],
    ['a foreign endpoint another live object adopted, no adopt', foreignEndpoint(), false, { recordedHolder: 'ml.importer' }, refuse('which adopted it and still exists')],
    ['an endpoint this object created, its owner tags removed out of band (status.endpointId)', foreignEndpoint(), false, { held: { endpointId: ENDPOINT_ID, workspaceHost: HOST } }, { kind: 'ours', ownerTagsPending: true, restoreOwnerTags: true }],
    ["an endpoint whose ID this object recorded at another host (a tenant's own)", foreignEndpoint(), false, { held: { endpointId: ENDPOINT_ID, workspaceHost: TENANT_HOST } }, refuse('not created by this object')],
    ['an endpoint this object recorded as adopted at another host, adopt set: adopted again here, as any', foreignEndpoint(), true, { held: { adoption: { endpointId: ENDPOINT_ID }, workspaceHost: TENANT_HOST } }, adopt],
    ['a foreign endpoint another live object created (its status.endpointId)', foreignEndpoint(), true, { recordedHolder: 'team-b.maker', recordedBy: 'creation' }, refuse('belongs to team-b.maker, which created it and still exists')],
    ['a foreign endpoint without an ID, adopt set', { ...foreignEndpoint(), id: undefined }, true, {}, refuse('returned no ID')],
    ['a live owner in another namespace', endpointOfAnotherObject(), true, { taggedOwnerPresence: 'live', allowCrossNamespaceAdoption: true }, refuse('belongs to team-b.llama-copy, which still exists')],
    ['a live owner in the same namespace', sameNamespaceOwner, true, { taggedOwnerPresence: 'live' }, refuse('which still exists')],
    ['a live owner, no adopt', endpointOfAnotherObject(), false, { taggedOwnerPresence: 'live' }, refuse('which still exists')],
    ['a live owner, and this object recorded it as adopted', endpointOfAnotherObject(), true, { taggedOwnerPresence: 'live', ...adopted }, refuse('which still exists')],
    ['a gone owner, no adopt', endpointOfAnotherObject(), false, {}, refuse('belongs to team-b.llama-copy, another object. The operator will not modify')],
    ['a gone owner of another namespace', endpointOfAnotherObject(), true, {}, refuse('--allow-cross-namespace-adoption')],
    ['a gone owner of another namespace, allowed', endpointOfAnotherObject(), true, { allowCrossNamespaceAdoption: true }, adopt],
    ['an owner of an unwatched namespace, allowed', endpointOfAnotherObject(), true, { taggedOwnerPresence: 'unknown', allowCrossNamespaceAdoption: true }, refuse('cannot tell whether that object still exists')],
    ['a gone owner of the same namespace', sameNamespaceOwner, true, {}, adopt],
  ])('%s (adopt %s)', (_, endpoint, wantsAdoption, tenancy, expected) => {
    expect(decideOwnership({ endpoint, owner: OWNER, wantsAdoption, adoptAnnotation: EndpointAnnotation.adopt, ...gone, ...tenancy })).toEqual(expected);
  });

  // Deleted and applied again, restored by Velero, or applied in a new cluster: the endpoint's tags name this very
  // namespace and name with the UID of the earlier object. "belongs to ml.llama-chat, another object" names the
  // reader's own object; the message must say it is an earlier object of this name and what to check before adopting.
  const earlierSelf = readyEndpoint({}, { owner: { ...OWNER, uid: OTHER_OWNER.uid } });
  it('an endpoint tagged for an earlier object of this namespace and name: the refusal says so, and how to take it over safely', () => {
    const decision = decideOwnership({ endpoint: earlierSelf, owner: OWNER, wantsAdoption: false, adoptAnnotation: EndpointAnnotation.adopt, ...gone });
    expect(decision.kind).toBe('refuse');
    const message = decision.kind === 'refuse' ? decision.message : '';
    expect(message).not.toContain('another object');
    expect(message).toContain(`an earlier object of this namespace and name (UID ${OTHER_OWNER.uid}), not this one (UID ${OWNER.uid})`);
    expect(message).toMatch(/re-created|restored|another cluster/);
    expect(message).toContain('no other cluster');
    expect(message).toContain('ptoperator.io/adopt="true"');
  });
  // Blue/green (concepts.md): this, the old cluster's object, adopted the endpoint; the new cluster's object of the same
  // namespace and name adopted it too and tagged it. It is no earlier object, nothing here was re-created or restored,
  // and the advice to adopt would take the endpoint back from the cluster that now manages it.
  it('an endpoint this object adopted, tagged since by a later object of this namespace and name: the refusal says it was taken over', () => {
    const taggedSince = readyEndpoint({}, { owner: { ...OWNER, uid: 'uid-of-the-new-cluster' } });
    const held = { adoption: { endpointId: ENDPOINT_ID, uid: OWNER.uid }, endpointId: ENDPOINT_ID, workspaceHost: HOST };
    const decision = decideOwnership({ endpoint: taggedSince, owner: OWNER, wantsAdoption: false, adoptAnnotation: EndpointAnnotation.adopt, ...gone, held });
    expect(decision.kind).toBe('refuse');
    const message = decision.kind === 'refuse' ? decision.message : '';
    expect(message).not.toContain('earlier object');
    expect(message).not.toMatch(/this object was re-created/);
    expect(message).toContain('(UID uid-of-the-new-cluster) since this object adopted it');
  });
  it('an endpoint tagged for an earlier object of this namespace and name, adopt set: adopted, and the Adopted event says from whom', () => {
    const decision = decideOwnership({ endpoint: earlierSelf, owner: OWNER, wantsAdoption: true, adoptAnnotation: EndpointAnnotation.adopt, ...gone });
    expect(decision).toEqual({ ...adopt, message: expect.stringContaining(`an earlier object of this namespace and name (UID ${OTHER_OWNER.uid})`) });
  });
});

describe('claimSettleWaitMs', () => {
  const at = (iso: string) => Date.parse(iso);
  // Our clock and the API server's agree unless a row says otherwise.
  const now = at('2026-03-01T12:00:00.400Z');
  it.each([
    ['created this second: until the second ends, plus the delivery margin', '2026-03-01T12:00:00Z', now, now, 600 + CLAIM_DELIVERY_MARGIN_MS],
    ['created a second ago: the margin is partly gone', '2026-03-01T11:59:59Z', now, now, CLAIM_DELIVERY_MARGIN_MS - 400],
    ['created long ago: no wait', '2026-03-01T11:00:00Z', now, now, 0],
    ['unknown creation time: no wait', undefined, now, now, 0],
    // The API server's clock decides, not ours: a server 5 s behind us stamped "12:00:00" just now.
    ['the API server is 5 s behind our clock', '2026-03-01T11:59:55Z', now - 5_000, now, 600 + CLAIM_DELIVERY_MARGIN_MS],
    ['the API server is 5 s ahead of our clock', '2026-03-01T12:00:05Z', now + 5_000, now, 600 + CLAIM_DELIVERY_MARGIN_MS],
    ['its clock not measured yet: ours, taken to be ahead by the assumed skew', '2026-03-01T12:00:00Z', undefined, now, 600 + CLAIM_DELIVERY_MARGIN_MS + UNMEASURED_CLOCK_SKEW_MS],
  ])('%s', (_, created, apiserverNow, localNow, wait) => {
    expect(claimSettleWaitMs(created, apiserverNow, localNow)).toBe(wait);
  });
});
