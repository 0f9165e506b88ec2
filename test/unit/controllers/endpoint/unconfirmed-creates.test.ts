import { describe, expect, it } from 'vitest';
import { LATE_CREATE_MARGIN_MS, UnconfirmedCreates } from '../../../../src/controllers/endpoint/unconfirmed-creates.js';

const DEADLINE_MS = 20_000;
const WINDOW_MS = DEADLINE_MS + LATE_CREATE_MARGIN_MS;
const STARTED = 1_000_000;
const deleting = { deleting: true, hasFinalizer: true, status: {} };

describe('UnconfirmedCreates: until when a create of an object may still land', () => {
  it.each([
    ['a deletion, finalizer, no endpoint ID: the previous process may have sent one', deleting, STARTED + WINDOW_MS],
    ['not being deleted: a new create finds a late one by name', { ...deleting, deleting: false }, undefined],
    // Recorded endpoints count too: deleted out of band, each is created again, and that create may be the one left unanswered.
    ['a recorded endpoint ID (created again if deleted out of band)', { ...deleting, status: { endpointId: 'abc' } }, STARTED + WINDOW_MS],
    ['an adopted endpoint (created again if deleted out of band)', { ...deleting, status: { adoption: { endpointId: 'abc' } } }, STARTED + WINDOW_MS],
    ['no finalizer: nothing was ever sent', { ...deleting, hasFinalizer: false }, undefined],
  ])('after a restart, %s', (_, object, expected) => {
    const creates = new UnconfirmedCreates(DEADLINE_MS);
    creates.started(STARTED);
    creates.started(STARTED + 5_000); // only the first reconcile counts
    expect(creates.landsBy('ns/a', object)).toBe(expected);
  });

  it('a create this process saw go unanswered: from then, for deletions and new creates alike, until forgotten', () => {
    const creates = new UnconfirmedCreates(DEADLINE_MS);
    creates.started(STARTED);
    creates.unanswered('ns/a', STARTED + 60_000);
    expect(creates.landsBy('ns/a', { ...deleting, deleting: false })).toBe(STARTED + 60_000 + WINDOW_MS);
    expect(creates.landsBy('ns/a', deleting)).toBe(STARTED + 60_000 + WINDOW_MS);
    expect(creates.landsBy('ns/b', { ...deleting, deleting: false })).toBeUndefined();
    creates.forget('ns/a');
    expect(creates.landsBy('ns/a', { ...deleting, deleting: false })).toBeUndefined();
  });
});
