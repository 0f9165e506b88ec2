// How fresh a workspace's list must be for each look, and what a list keeps of each endpoint (workspace-list.ts).
import { describe, expect, it } from 'vitest';
import { ListFreshness, asListed, summarizeList } from '../../../../src/controllers/endpoint/workspace-list.js';
import { ownershipOf } from '../../../../src/controllers/endpoint/ownership.js';
import { OTHER_OWNER, OWNER, readyEndpoint } from '../fixtures.js';

const KEY = 'ml/llama-chat';

describe('ListFreshness: the moment a look needs a list read after', () => {
  const clock = (start = 1_000) => {
    const c = { at: start, now: () => c.at };
    return c;
  };

  it('a watched rollout needs a list read after Databricks answered its change; none answered in this process: any list', () => {
    const c = clock();
    const f = new ListFreshness(c.now);
    expect(f.listAfter(KEY, { watching: true, deleting: false })).toBe(Number.NEGATIVE_INFINITY);
    f.answered(KEY);
    c.at += 500;
    expect(f.listAfter(KEY, { watching: true, deleting: false })).toBe(1_000);
  });

  it('a look no list answers gets none, and forgets the answer: it mattered only while the rollout was watched', () => {
    const c = clock();
    const f = new ListFreshness(c.now);
    f.answered(KEY);
    expect(f.listAfter(KEY, { watching: false, deleting: false })).toBeUndefined();
    expect(f.listAfter(KEY, { watching: true, deleting: false })).toBe(Number.NEGATIVE_INFINITY);
  });

  it('a deletion needs a list read after the informer delivered it (the first delivery counts)', () => {
    const c = clock();
    const f = new ListFreshness(c.now);
    f.deletionSeen(KEY);
    c.at = 1_200;
    f.deletionSeen(KEY); // a relist delivers it again
    c.at = 1_500;
    expect(f.listAfter(KEY, { watching: false, deleting: true })).toBe(1_000);
  });

  it('...and after our create answered later than that (sent before the deletion was seen), however many looks since', () => {
    const c = clock();
    const f = new ListFreshness(c.now);
    f.deletionSeen(KEY);
    c.at = 1_300;
    f.answered(KEY);
    c.at = 1_400;
    expect(f.listAfter(KEY, { watching: false, deleting: true })).toBe(1_300);
    c.at = 9_000;
    expect(f.listAfter(KEY, { watching: false, deleting: true })).toBe(1_300);
  });

  it('a deletion the informer did not report counts as seen at its first look', () => {
    const c = clock(4_000);
    const f = new ListFreshness(c.now);
    expect(f.listAfter(KEY, { watching: false, deleting: true })).toBe(4_000);
    c.at = 5_000;
    expect(f.listAfter(KEY, { watching: false, deleting: true })).toBe(4_000);
  });

  it('forget drops both, for an object gone from the cache (a new object of that name starts afresh)', () => {
    const c = clock();
    const f = new ListFreshness(c.now);
    f.deletionSeen(KEY);
    f.answered(KEY);
    f.forget(KEY);
    c.at = 2_000;
    expect(f.listAfter(KEY, { watching: true, deleting: false })).toBe(Number.NEGATIVE_INFINITY);
    expect(f.listAfter(KEY, { watching: false, deleting: true })).toBe(2_000);
  });
});

describe('summarizeList: what a list keeps of each endpoint', () => {
  const listed = (e: ReturnType<typeof readyEndpoint>) => ({ name: e.name, id: e.id, state: e.state, tags: e.tags });

  it('the rollout state, the ID and the owner tags only (the user tags are not kept)', () => {
    const endpoint = readyEndpoint();
    const summary = summarizeList([listed(endpoint)]).get(endpoint.name);
    expect(summary?.configUpdate).toBe('NOT_UPDATING');
    expect(summary?.id).toBe(endpoint.id);
    expect(summary?.tags?.map((t) => t.key).sort()).toEqual(['pt-operator-owner', 'pt-operator-owner-uid']);
  });

  it('decides ownership as the GET would: ours, another object\'s, or nobody\'s', () => {
    for (const [endpoint, kind] of [
      [readyEndpoint(), 'ours'],
      [readyEndpoint({}, { owner: OTHER_OWNER }), 'otherObject'],
      [readyEndpoint({}, { owner: null }), 'unowned'],
    ] as const) {
      const summary = summarizeList([listed(endpoint)]).get(endpoint.name);
      expect(ownershipOf(asListed(endpoint.name, summary!), OWNER, {}, 'unknown', undefined).kind).toBe(kind);
      expect(ownershipOf(endpoint, OWNER, {}, 'unknown', undefined).kind).toBe(kind);
    }
  });
});
