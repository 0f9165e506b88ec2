// The ownership rules of docs/security.md, as tables.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type OwnershipInput, CLAIM_SETTLE_MS, OwnerTag, claimSettleWaitMs, claimWinner, decideOwnership, diffTags, olderClaimant, ownershipOf, taggedOwner } from '../../../../src/controllers/endpoint/ownership.js';
import { OTHER_OWNER, OWNER, endpointOfAnotherObject, foreignEndpoint, readyEndpoint } from '../fixtures.js';

const ourTags = [
  { key: OwnerTag.uid, value: OWNER.uid },
  { key: OwnerTag.object, value: `${OWNER.namespace}.${OWNER.name}` },
];

describe('ownershipOf', () => {
  it.each([
    ['tagged with our uid', readyEndpoint(), { kind: 'ours' }],
    ['without owner tags', foreignEndpoint(), { kind: 'unowned' }],
    ['tagged by another object', endpointOfAnotherObject(), { kind: 'otherObject', owner: `${OTHER_OWNER.namespace}.${OTHER_OWNER.name}` }],
  ])('an endpoint %s', (_, endpoint, expected) => {
    expect(ownershipOf(endpoint, OWNER)).toEqual(expected);
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
  type Tenancy = Pick<OwnershipInput, 'taggedOwnerPresence' | 'allowCrossNamespaceAdoption' | 'olderClaimant'>;
  const gone: Tenancy = { taggedOwnerPresence: 'gone', allowCrossNamespaceAdoption: false, olderClaimant: undefined };
  const sameNamespaceOwner = readyEndpoint({}, { owner: { ...OTHER_OWNER, namespace: OWNER.namespace } });
  const refuse = (text: string) => ({ kind: 'refuse', message: expect.stringContaining(text) });
  const adopt = (add: object[]) => ({ kind: 'adopt', message: expect.any(String), add });

  it.each<[string, ReturnType<typeof readyEndpoint>, boolean, Partial<Tenancy>, object]>([
    ['our endpoint', readyEndpoint(), false, {}, { kind: 'ours' }],
    ['our endpoint, adopt set', readyEndpoint(), true, {}, { kind: 'ours' }],
    ['a foreign endpoint', foreignEndpoint(), false, {}, refuse('not created by this object. The operator will not modify or delete it. Set annotation ptoperator.io/adopt="true"')],
    ['a foreign endpoint, adopt set', foreignEndpoint(), true, {}, adopt([{ key: 'team', value: 'genai' }, ...ourTags])],
    ['a foreign endpoint, adopt set, an older claimant', foreignEndpoint(), true, { olderClaimant: 'ml.older' }, refuse('claimed in this workspace by ml.older')],
    ['a live owner in another namespace', endpointOfAnotherObject(), true, { taggedOwnerPresence: 'live', allowCrossNamespaceAdoption: true }, refuse('belongs to team-b.llama-copy, which still exists')],
    ['a live owner in the same namespace', sameNamespaceOwner, true, { taggedOwnerPresence: 'live' }, refuse('which still exists')],
    ['a live owner, no adopt', endpointOfAnotherObject(), false, { taggedOwnerPresence: 'live' }, refuse('which still exists')],
    ['a gone owner, no adopt', endpointOfAnotherObject(), false, {}, refuse('belongs to team-b.llama-copy, another object. The operator will not modify')],
    ['a gone owner of another namespace', endpointOfAnotherObject(), true, {}, refuse('--allow-cross-namespace-adoption')],
    ['a gone owner of another namespace, allowed', endpointOfAnotherObject(), true, { allowCrossNamespaceAdoption: true }, adopt(ourTags)],
    ['an owner of an unwatched namespace, allowed', endpointOfAnotherObject(), true, { taggedOwnerPresence: 'unknown', allowCrossNamespaceAdoption: true }, refuse('cannot tell whether that object still exists')],
    ['a gone owner of the same namespace', sameNamespaceOwner, true, {}, adopt(ourTags)],
  ])('%s (adopt %s)', (_, endpoint, wantsAdoption, tenancy, expected) => {
    expect(decideOwnership({ endpoint, owner: OWNER, specTags: { team: 'genai' }, wantsAdoption, adoptAnnotation: EndpointAnnotation.adopt, ...gone, ...tenancy })).toEqual(expected);
  });
});

describe('claimSettleWaitMs', () => {
  const now = new Date('2026-03-01T12:00:00.400Z');
  it.each([
    ['created this second: wait for the second to end, plus the margin', '2026-03-01T12:00:00Z', 600 + CLAIM_SETTLE_MS],
    ['created a second ago', '2026-03-01T11:59:59Z', CLAIM_SETTLE_MS - 400],
    ['created long ago', '2026-03-01T11:00:00Z', 0],
    ['unknown creation time', undefined, 0],
  ])('%s', (_, created, wait) => {
    expect(claimSettleWaitMs(created, now)).toBe(wait);
  });
});
