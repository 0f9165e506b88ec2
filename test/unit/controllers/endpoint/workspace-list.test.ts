// How fresh a workspace's list must be for each look, and what a list keeps of each endpoint (workspace-list.ts).
import { describe, expect, it } from 'vitest';
import { ListFreshness, WorkspaceLists, asListed, summarizeList, type EndpointList, type ListedSummary } from '../../../../src/controllers/endpoint/workspace-list.js';
import { listSpacingMs } from '../../../../src/controllers/endpoint/requeue.js';
import { ownershipOf } from '../../../../src/controllers/endpoint/ownership.js';
import { OTHER_OWNER, OWNER, readyEndpoint } from '../fixtures.js';
import { DEFAULT_WORKSPACE } from '../../../../src/controllers/resources.js';

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

describe('WorkspaceLists: what the kept lists of every workspace may hold together', () => {
  const ownerTags = (value = 'team-a.llama-chat') => [
    { key: 'pt-operator-owner', value },
    { key: 'pt-operator-owner-uid', value: '6b1f7f3e-8d2a-4c1e-9a57-0c1d2e3f4a5b' },
  ];
  const summary: ListedSummary = { configUpdate: 'NOT_UPDATING', tags: ownerTags() };
  /** A list of `size` endpoints as a plausible host lists them (one summary shared: what it holds is what counts). */
  const listOf = (size: number, entry = summary): EndpointList => ({ kind: 'found', value: new Map(Array.from({ length: size }, (_, i) => [`e${i}`, entry])) });
  const setup = () => {
    const c = { at: 10_000 };
    const lists = new WorkspaceLists(() => c.at);
    let loads = 0;
    const read = (workspace: string, size: number) =>
      lists.get(workspace, async () => {
        loads++;
        return listOf(size);
      });
    /** Which workspaces a look now is answered without a new read (their list is kept; a read would fail). */
    const kept = async (workspaces: Record<string, number>) => {
      const served: string[] = [];
      for (const workspace of Object.keys(workspaces)) {
        const answer = await lists.get(workspace, () => Promise.reject(new Error('not kept'))).catch(() => undefined);
        if (answer) served.push(workspace);
      }
      return served;
    };
    return { c, lists, read, kept, loads: () => loads };
  };

  it("a tenant's workspaces answering 65,000 endpoints each keep at most the bound together (5 × 32 MiB filled most of the heap)", async () => {
    const s = setup();
    const hostile = { a: 65_000, b: 65_000, c: 65_000, d: 65_000, e: 65_000 };
    for (const [workspace, size] of Object.entries(hostile)) {
      await s.read(workspace, size);
      s.c.at += 100;
    }
    expect(await s.kept(hostile)).toEqual(['e']); // the newest stays; the oldest went first
  });

  // The count alone did not bound it: 8 MiB hold 8,000 entries of 1,000-character owner tags as well (12 MiB kept each).
  it('lists are bounded by what they hold, not their count: few endpoints with long owner tags count as much', async () => {
    const s = setup();
    const long = { ...summary, tags: ownerTags('x'.repeat(1_000)) };
    const workspaces: Record<string, number> = {};
    for (let i = 0; i < 12; i++) {
      workspaces[`w${i}`] = 8_000;
      await s.lists.get(`w${i}`, async () => listOf(8_000, long));
      s.c.at += 10;
    }
    const served = await s.kept(workspaces);
    expect(served.length).toBeLessThanOrEqual(5);
    expect(served).toContain('w11');
  });

  it('the largest list goes first: small workspaces keep theirs beside a large one', async () => {
    const s = setup();
    const workspaces = { small1: 500, small2: 10_000, big1: 65_000, big2: 65_000 };
    for (const [workspace, size] of Object.entries(workspaces)) {
      await s.read(workspace, size);
      s.c.at += 100;
    }
    expect(await s.kept(workspaces)).toEqual(['small1', 'small2', 'big2']);
  });

  // Heaviest first alone let a tenant's many workspaces of 9,000 endpoints each push out another tenant's one list of
  // 10,000 (the heaviest single list): that tenant then waited for its spacing again at every look of its endpoints.
  it("a tenant's many lists go before another tenant's one list, however large: the bound is shared by namespace first", async () => {
    const s = setup();
    const workspaces: Record<string, number> = { 'quiet/prod': 10_000 };
    for (let i = 0; i < 14; i++) workspaces[`noisy/w${i}`] = 9_000;
    for (const [workspace, size] of Object.entries(workspaces)) {
      await s.read(workspace, size);
      s.c.at += 10;
    }
    const served = await s.kept(workspaces);
    expect(served).toContain('quiet/prod');
    expect(served.filter((w) => w.startsWith('noisy/')).length).toBeLessThan(14);
  });

  it("the default workspace's list is its own share: a tenant's lists do not push it out either", async () => {
    const s = setup();
    const workspaces: Record<string, number> = { [DEFAULT_WORKSPACE]: 10_000 };
    for (let i = 0; i < 14; i++) workspaces[`noisy/w${i}`] = 9_000;
    for (const [workspace, size] of Object.entries(workspaces)) {
      await s.read(workspace, size);
      s.c.at += 10;
    }
    expect(await s.kept(workspaces)).toContain(DEFAULT_WORKSPACE);
  });

  it('a workspace whose list was dropped still reads no sooner than its spacing: fewer kept lists, not more reads', async () => {
    const s = setup();
    await s.read('a', 65_000);
    s.c.at += 100;
    await s.read('b', 65_000); // drops a's list
    expect(s.lists.waitMs('a', Number.NEGATIVE_INFINITY)).toBe(listSpacingMs(65_000) - 100);
    s.c.at += listSpacingMs(65_000);
    expect(s.lists.waitMs('a', Number.NEGATIVE_INFINITY)).toBe(0);
  });

  it('the common case keeps every list for its keep time: ten workspaces of 10,000 and a few small ones', async () => {
    const s = setup();
    const workspaces: Record<string, number> = { s1: 50, s2: 300, s3: 1_000 };
    for (let i = 0; i < 10; i++) workspaces[`w${i}`] = 9_000;
    for (const [workspace, size] of Object.entries(workspaces)) await s.read(workspace, size);
    s.c.at += 900;
    expect(await s.kept(workspaces)).toEqual(Object.keys(workspaces));
  });
});
