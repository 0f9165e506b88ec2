// Owner tags of an adopted endpoint ride with its next change (adoption.ts), as a table over the planned actions.
import { describe, expect, it } from 'vitest';
import { withOwnerTags } from '../../../../src/controllers/endpoint/adoption.js';
import type { EndpointAction, Plan } from '../../../../src/controllers/endpoint/plan.js';
import { OWNER, ownerTagsOf } from '../fixtures.js';

const previous = { observedGeneration: 1, adoption: { endpointId: 'e1', time: '2026-03-01T12:00:00Z' } };
const planned = (action: EndpointAction): Plan => ({
  action,
  status: { ...previous, observedGeneration: 2 },
  requeue: { after: 1000 },
  events: [{ type: 'Normal', reason: 'UpdatingConfig', message: 'updating' }],
});
const update: EndpointAction = { type: 'updateConfig', request: { api: 'config', name: 'llama', body: { served_entities: [] } } as never };
const ownerTagPatch = { type: 'patchTags', name: 'llama', add: ownerTagsOf(OWNER), remove: [] };
const deferred = { action: ownerTagPatch, status: { ...previous, tagPatchGeneration: 2 }, requeue: { after: 0 }, events: [], deferred: true };

describe('withOwnerTags', () => {
  it.each<[string, EndpointAction, object]>([
    ['nothing to change: nothing is written', { type: 'none' }, planned({ type: 'none' })],
    ['a config update waits behind the owner tags', update, deferred],
    ['an AI Gateway change waits behind the owner tags', { type: 'putAiGateway', name: 'llama', body: {} } as EndpointAction, deferred],
    ['a permissions change waits behind the owner tags', { type: 'setPermissions', endpointId: 'e1', body: {} } as EndpointAction, deferred],
    ['a notifications change waits behind the owner tags', { type: 'updateNotifications', name: 'llama', body: {} } as EndpointAction, deferred],
    [
      'a tag patch carries them in the same call',
      { type: 'patchTags', name: 'llama', add: [{ key: 'team', value: 'genai' }], remove: ['old'] },
      {
        ...planned({ type: 'none' }),
        action: { type: 'patchTags', name: 'llama', add: [{ key: 'team', value: 'genai' }, ...ownerTagsOf(OWNER)], remove: ['old'] },
        status: { ...previous, observedGeneration: 2, tagPatchGeneration: 2 },
      },
    ],
    ['a delete needs no tags', { type: 'delete', name: 'llama' }, planned({ type: 'delete', name: 'llama' })],
  ])('%s', (_, action, expected) => {
    expect(withOwnerTags(planned(action), previous, OWNER, 'llama', true, 2)).toEqual(expected);
  });

  it('owner tags already written: every plan stays as it is', () => {
    expect(withOwnerTags(planned(update), previous, OWNER, 'llama', false, 2)).toEqual(planned(update));
  });

  // A host that never shows the tags: the change is not deferred a second time, so it is sent (no loop, docs/security.md rule 5).
  it.each<[string, number | undefined, object]>([
    ['no tag patch sent for this generation yet: the change waits one step', 1, deferred],
    ['a tag patch was sent for this generation: the change goes now', 2, planned(update)],
  ])('%s', (_, tagPatchGeneration, expected) => {
    expect(withOwnerTags(planned(update), { ...previous, tagPatchGeneration }, OWNER, 'llama', true, 2)).toMatchObject(expected);
  });
});
