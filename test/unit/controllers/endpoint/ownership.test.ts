// The ownership rules of docs/security.md, as tables.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { OwnerTag, decideOwnership, diffTags, ownershipOf } from '../../../../src/controllers/endpoint/ownership.js';
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
  it('adds changed values and removes keys that are no longer wanted', () => {
    expect(diffTags({ team: 'old', stale: 'x', keep: 'k' }, { team: 'genai', keep: 'k', new: 'n' })).toEqual({
      add: [
        { key: 'team', value: 'genai' },
        { key: 'new', value: 'n' },
      ],
      remove: ['stale'],
    });
  });
});

describe('decideOwnership', () => {
  const decide = (endpoint: ReturnType<typeof readyEndpoint>, wantsAdoption: boolean) =>
    decideOwnership({ endpoint, owner: OWNER, specTags: { team: 'genai' }, wantsAdoption, adoptAnnotation: EndpointAnnotation.adopt });

  it.each([
    ['our endpoint', readyEndpoint(), false, { kind: 'ours' }],
    ['our endpoint, adopt set', readyEndpoint(), true, { kind: 'ours' }],
    ['a foreign endpoint', foreignEndpoint(), false, { kind: 'refuse', message: expect.stringMatching(/not created by this object.*ptoperator.io\/adopt="true"/) }],
    ['another object’s endpoint', endpointOfAnotherObject(), false, { kind: 'refuse', message: expect.stringContaining('belongs to team-b.llama-copy') }],
    ['a foreign endpoint, adopt set', foreignEndpoint(), true, { kind: 'adopt', message: expect.any(String), add: [{ key: 'team', value: 'genai' }, ...ourTags] }],
  ])('%s (adopt %s)', (_, endpoint, adopt, expected) => {
    expect(decide(endpoint, adopt)).toEqual(expected);
  });
});
