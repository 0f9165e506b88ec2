import { describe, expect, it } from 'vitest';
import { RolloutWakes } from '../../../../src/controllers/endpoint/rollout-wakes.js';
import type { EndpointList, ListedSummary } from '../../../../src/controllers/endpoint/workspace-list.js';

const found = (entries: Record<string, string>): EndpointList => ({
  kind: 'found',
  value: new Map(Object.entries(entries).map(([name, configUpdate]): [string, ListedSummary] => [name, { configUpdate, tags: [] }])),
});

function wakes() {
  const woken: string[] = [];
  const w = new RolloutWakes((key) => woken.push(key));
  // two objects watching their rollouts in ml/prod (answered at 1,000), one in ml/dev
  w.watch('a/one', 'ml/prod', 'one', 1_000);
  w.watch('a/two', 'ml/prod', 'two', 1_000);
  w.watch('b/three', 'ml/dev', 'three', 1_000);
  return { w, woken };
}

describe('RolloutWakes: a list read for anyone wakes the objects whose rollout it shows ended', () => {
  it.each([
    { case: 'one ended, one still runs: only the ended one', list: found({ one: 'NOT_UPDATING', two: 'IN_PROGRESS', three: 'NOT_UPDATING' }), startedAt: 2_000, woken: ['a/one'] },
    { case: 'an update failed: woken (the look reads the outcome)', list: found({ one: 'UPDATE_FAILED', two: 'IN_PROGRESS' }), startedAt: 2_000, woken: ['a/one'] },
    { case: 'gone from the list: woken (the look tells what happened)', list: found({ two: 'IN_PROGRESS' }), startedAt: 2_000, woken: ['a/one'] },
    { case: 'all ended: both of that workspace, not the other workspace', list: found({ one: 'NOT_UPDATING', two: 'NOT_UPDATING' }), startedAt: 2_000, woken: ['a/one', 'a/two'] },
    { case: 'a list started before Databricks answered the change cannot show it: nobody', list: found({ one: 'NOT_UPDATING', two: 'NOT_UPDATING' }), startedAt: 1_000, woken: [] },
    { case: 'a failed list: nobody', list: { kind: 'failed', error: { kind: 'Transient', message: 'x' } } as unknown as EndpointList, startedAt: 2_000, woken: [] },
  ])('$case', ({ list, startedAt, woken: expected }) => {
    const { w, woken } = wakes();
    w.listed('ml/prod', list, startedAt);
    expect(woken).toEqual(expected);
  });

  it('wakes an object once; one that stopped watching is not woken', () => {
    const { w, woken } = wakes();
    w.forget('a/two');
    w.listed('ml/prod', found({ one: 'NOT_UPDATING', two: 'NOT_UPDATING' }), 2_000);
    w.listed('ml/prod', found({ one: 'NOT_UPDATING', two: 'NOT_UPDATING' }), 3_000);
    expect(woken).toEqual(['a/one']);
    expect(w.watching).toBe(1); // b/three, in the other workspace
  });

  it('watching again replaces what was watched (a new rollout, answered later)', () => {
    const { w, woken } = wakes();
    w.watch('a/one', 'ml/prod', 'one', 5_000);
    w.listed('ml/prod', found({ one: 'NOT_UPDATING', two: 'IN_PROGRESS' }), 2_000);
    expect(woken).toEqual([]);
    w.listed('ml/prod', found({ one: 'NOT_UPDATING', two: 'IN_PROGRESS' }), 6_000);
    expect(woken).toEqual(['a/one']);
  });
});
